//! Telegram presenter: `Answer` and announcements → HTML message texts, inline keyboards and
//! inline-mode results, all within Telegram's limits (4096 UTF-16 units a message). Pure: sends
//! nothing. This module owns HTML escaping, Telegram's length measure and the button builder;
//! the parts live in:
//! - `answer`: the HTML text of an answer (excerpts, citations, shrinking to fit);
//! - `keyboard`: the inline keyboards (follow-ups, 👍/👎, lists); their callback
//!   data is the [`Callback`] protocol of `telegram::callback`;
//! - `inline`: the results of an inline query and the message each one sends;
//! - `announcement`: the announcement of a newly added or revised policy;
//! - `split`: a clause's full text as several messages, split at paragraph, sentence or clause
//!   boundaries.

use teloxide::types::InlineKeyboardButton;

use crate::telegram::callback::Callback;
use crate::text::chars::truncate;

mod announcement;
mod answer;
mod inline;
mod keyboard;
mod split;

pub use announcement::{announcement, announcement_keyboard};
pub use answer::answer;
pub use inline::{
    INLINE_START, MAX_INLINE_RESULTS, MAX_RESULT_ID, inline_hint, inline_message, inline_results,
};
pub use keyboard::{TICKET_LABEL, keyboard, list_keyboard};
pub use split::{full_text, split_text};

/// Telegram's limit for one message text.
pub const MAX_MESSAGE: usize = 4096;

/// Longest button label, in characters (longer labels are shortened with `…`).
const MAX_LABEL: usize = 24;

/// Escapes text for Telegram's HTML parse mode (`&`, `<`, `>`; our texts put nothing in an
/// attribute, so quotes need none).
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

/// Appends `text` to `out` escaped as [`escape`] does, without a string of its own: runs
/// without `&`, `<` or `>` (most of the text) are copied whole.
pub fn push_escaped(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(at) = rest.find(['&', '<', '>']) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            _ => "&gt;",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// Length as Telegram counts it (UTF-16 code units). Measured on the HTML source, which is never
/// shorter than the text after entity parsing, so a source within the limit is always accepted.
#[must_use]
pub fn tg_len(text: &str) -> usize {
    text.encode_utf16().count()
}

fn button(label: &str, callback: &Callback) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(truncate(label, MAX_LABEL), callback.encode())
}

/// Test fixtures shared by the presenters' tests: a cited clause, an answer, callback data.
#[cfg(test)]
pub(crate) mod fixtures {
    use teloxide::types::InlineKeyboardMarkup;

    use crate::answer::{Answer, Cited, Followup, Span, Status};
    use crate::corpus::{Department, Level};

    pub(crate) fn cited(rank: usize, excerpt_len: usize) -> Cited {
        Cited {
            rank,
            score: 1.0,
            clause_id: format!("doc-{rank}"),
            doc_title: "关于<进一步>支持中小企业&个体工商户的通知".to_string(),
            doc_number: Some("豫政〔2022〕1号".to_string()),
            issuer: Some("河南省人民政府".to_string()),
            date: Some("2022-05-01".to_string()),
            level: Level::Province,
            region: "河南省".to_string(),
            section: "二、金融支持".to_string(),
            text: "全文".to_string(),
            excerpt: vec![
                Span {
                    text: "对符合条件的".to_string(),
                    hit: false,
                },
                Span {
                    text: "小微企业".to_string(),
                    hit: true,
                },
                Span {
                    text: "给予<贷款>贴息&".repeat(excerpt_len / 9 + 1),
                    hit: false,
                },
            ],
            departments: vec![Department {
                role: "责任单位".to_string(),
                name: "省财政厅".to_string(),
            }],
            sources: Vec::new(),
            validity: Some("政策发布于2022年，部分措施可能已到期，请以最新规定为准".to_string()),
        }
    }

    pub(crate) fn sample(hits: usize, excerpt_len: usize) -> Answer {
        Answer {
            question: "小微企业贷款贴息".to_string(),
            status: Status::Answered,
            intent: Some("融资贷款".to_string()),
            region: None,
            lead: "找到以下政策 <条款>：".to_string(),
            hits: (1..=hits).map(|r| cited(r, excerpt_len)).collect(),
            followups: vec![
                Followup::More,
                Followup::FullText {
                    rank: 1,
                    clause_id: "doc-1".to_string(),
                },
                Followup::FullText {
                    rank: 2,
                    clause_id: "doc-2".to_string(),
                },
                Followup::Region {
                    region: "安阳".to_string(),
                },
                Followup::Ask {
                    label: "申请条件".to_string(),
                    question: "贴息申请条件".to_string(),
                },
            ],
            continued: false,
        }
    }

    /// The callback data of every button of `keyboard`, in order.
    pub(crate) fn callback_data(keyboard: &InlineKeyboardMarkup) -> Vec<String> {
        keyboard
            .inline_keyboard
            .iter()
            .flatten()
            .filter_map(|b| match &b.kind {
                teloxide::types::InlineKeyboardButtonKind::CallbackData(d) => Some(d.clone()),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(
            escape(r#"<a href="x">&amp;</a>"#),
            r#"&lt;a href="x"&gt;&amp;amp;&lt;/a&gt;"#
        );
        // The same as teloxide's own escaping, edges and multi-byte text included.
        for text in [
            "",
            "&",
            "<>",
            "无需转义的正文",
            "《通知》<第1条>&附件&",
            "a&&b<<c>>",
            "尾&",
        ] {
            assert_eq!(escape(text), teloxide::utils::html::escape(text), "{text}");
        }
        let mut out = String::from("前缀");
        push_escaped(&mut out, "x<y");
        assert_eq!(out, "前缀x&lt;y");
    }
}
