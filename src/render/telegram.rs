//! Telegram presenter: `Answer` → HTML message text (escaped, hits in `<b>`, within Telegram's
//! 4096-character limit), the inline keyboard of follow-ups (its callback data is the
//! [`Callback`] protocol of `telegram::callback`), the announcement of a newly added policy, and
//! the splitting of a clause's full text into several messages. Pure: sends nothing.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::answer::{Answer, Cited, Followup, FullText, Status};
use crate::app::Action;
use crate::broadcast::Announcement;
use crate::telegram::callback::Callback;
use crate::text::chars::truncate;

/// Telegram's limit for one message text.
pub const MAX_MESSAGE: usize = 4096;

/// Longest button label, in characters (longer labels are shortened with `…`).
const MAX_LABEL: usize = 24;

/// Room kept free in each full-text message for the `（2/3）` page marker.
const PAGE_MARKER_ROOM: usize = 16;

/// Escapes text for Telegram's HTML parse mode.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Length as Telegram counts it (UTF-16 code units). Measured on the HTML source, which is never
/// shorter than the text after entity parsing, so a source within the limit is always accepted.
#[must_use]
pub fn tg_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The HTML text of an answer, at most [`MAX_MESSAGE`] long. `header` (raw text, e.g. where a
/// forwarded question came from) is shown first, in italics. Excerpts are shortened first, then
/// trailing citations dropped, then the lead shortened, until the text fits.
#[must_use]
pub fn answer(answer: &Answer, header: Option<&str>) -> String {
    let header = header.map(|h| format!("<i>{}</i>\n\n", escape(&truncate(h, 300))));
    let header = header.unwrap_or_default();
    let longest = answer.hits.iter().map(excerpt_chars).max().unwrap_or(0);
    let mut cap = Some(longest);
    let mut hits = answer.hits.len();
    let mut lead_cap = answer.lead.chars().count();
    loop {
        let text = assemble(answer, &header, cap, hits, lead_cap);
        if tg_len(&text) <= MAX_MESSAGE {
            return text;
        }
        // Shrink the most expendable part first: excerpts, then citations, then the lead.
        match cap {
            Some(c) if c > 20 => cap = Some(c * 3 / 4),
            Some(_) => cap = None,
            None if hits > 0 => hits -= 1,
            None => lead_cap = lead_cap * 3 / 4,
        }
    }
}

/// The inline keyboard of an answer: one button per follow-up, 全文 buttons side by side, and a
/// 👍/👎 row under answered questions. Every button carries `answer_id`, so presses on an older
/// answer are recognised. `None` when there is no button.
#[must_use]
pub fn keyboard(answer: &Answer, answer_id: u64) -> Option<InlineKeyboardMarkup> {
    let mut rows: Vec<Vec<InlineKeyboardButton>> = Vec::new();
    let mut full_texts = Vec::new();
    for (i, followup) in answer.followups.iter().enumerate() {
        let (n, kind) = (i + 1, followup.kind());
        let callback = Callback::Press(Action::Followup { answer_id, n, kind });
        let button = button(&followup.label(), &callback);
        match followup {
            Followup::FullText { .. } => full_texts.push(button),
            _ => rows.push(vec![button]),
        }
    }
    // 全文 buttons first, up to four per row.
    let full_rows: Vec<Vec<InlineKeyboardButton>> =
        full_texts.chunks(4).map(<[_]>::to_vec).collect();
    rows.splice(0..0, full_rows);
    if matches!(answer.status, Status::Answered | Status::Related) {
        let rate = |useful| Callback::Press(Action::Rate { answer_id, useful });
        rows.push(vec![
            button("👍 有用", &rate(true)),
            button("👎 没用", &rate(false)),
        ]);
    }
    (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows))
}

/// A keyboard of one button per row, e.g. /start's example questions or /topics.
#[must_use]
pub fn list_keyboard(buttons: &[(String, Callback)]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(buttons.iter().map(|(label, cb)| vec![button(label, cb)]))
}

/// The announcement of a newly added policy: a bold headline with the title, the 文号, issuer,
/// date and region lines, and its key measures; within [`MAX_MESSAGE`] (measures and title are
/// shortened when needed).
#[must_use]
pub fn announcement(a: &Announcement) -> String {
    let mut measure_cap = 200;
    loop {
        let text = announcement_text(a, measure_cap);
        if tg_len(&text) <= MAX_MESSAGE || measure_cap == 0 {
            return text;
        }
        measure_cap /= 2;
    }
}

fn announcement_text(a: &Announcement, measure_cap: usize) -> String {
    let mut out = format!("📢 <b>新政策：{}</b>\n", escape(&truncate(&a.title, 300)));
    let facts = [
        ("文号", a.doc_number.as_deref()),
        ("发文", a.issuer.as_deref()),
        ("日期", a.date.as_deref()),
        ("地区", Some(crate::answer::short_region(&a.region))),
    ];
    for (label, value) in facts {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            out.push_str(&format!("{label}：{}\n", escape(&truncate(v, 200))));
        }
    }
    if !a.measures.is_empty() && measure_cap > 0 {
        out.push_str("\n<b>主要措施</b>\n");
        for (i, m) in a.measures.iter().enumerate() {
            out.push_str(&format!(
                "{}. {}\n",
                i + 1,
                escape(&truncate(m, measure_cap))
            ));
        }
    }
    out.push_str("\n<i>点按下方按钮查看要点或全文；发送 /unsubscribe 取消订阅。</i>");
    out
}

/// The buttons under an announcement: 要点 and 全文 of its document.
#[must_use]
pub fn announcement_keyboard(doc_id: &str) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([vec![
        button("📋 要点", &Callback::DocPoints(doc_id.to_string())),
        button("📄 全文", &Callback::DocText(doc_id.to_string())),
    ]])
}

/// The full text of a clause as messages of at most [`MAX_MESSAGE`]: citation in bold first, the
/// text split on paragraph, then sentence, then clause boundaries (a hard cut only for a clause
/// longer than a whole message), and `（i/n）` markers when there is more than one.
#[must_use]
pub fn full_text(full: &FullText) -> Vec<String> {
    let header = format!("<b>{}</b>\n\n", escape(&truncate(&full.citation, 300)));
    let budget = MAX_MESSAGE - tg_len(&header) - PAGE_MARKER_ROOM;
    let chunks = split_text(&full.text, budget);
    if chunks.is_empty() {
        return vec![header.trim_end().to_string()];
    }
    let total = chunks.len();
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let body = escape(chunk.trim_matches('\n'));
            let head = if i == 0 { header.as_str() } else { "" };
            match total {
                1 => format!("{head}{body}"),
                _ => format!("{head}{body}\n（{}/{total}）", i + 1),
            }
        })
        .collect()
}

/// Splits `text` into pieces whose escaped length is at most `budget`, preferring paragraph
/// breaks, then sentence ends, then clause marks. The pieces concatenate to `text`; blank pieces
/// are dropped.
#[must_use]
pub fn split_text(text: &str, budget: usize) -> Vec<String> {
    let budget = budget.max(8);
    let mut units = Vec::new();
    cut(text, 0, budget, &mut units);
    let mut chunks: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for unit in units {
        let len = tg_len(&escape(unit));
        if current_len + len > budget && !current.is_empty() {
            chunks.push(std::mem::take(&mut current));
            current_len = 0;
        }
        current.push_str(unit);
        current_len += len;
    }
    chunks.push(current);
    chunks.retain(|c| !c.trim().is_empty());
    chunks
}

/// Boundary classes, strongest first: paragraph, sentence, clause.
const BOUNDARIES: [&[char]; 3] = [
    &['\n'],
    &['。', '！', '？', '；', '!', '?', ';'],
    &['，', '、', '：', ',', ':'],
];

/// Cuts `text` into units that each fit `budget`, using boundary class `level` and weaker ones.
fn cut<'a>(text: &'a str, level: usize, budget: usize, out: &mut Vec<&'a str>) {
    if tg_len(&escape(text)) <= budget {
        out.push(text);
        return;
    }
    let Some(marks) = BOUNDARIES.get(level) else {
        hard_cut(text, budget, out);
        return;
    };
    for piece in text.split_inclusive(*marks) {
        if tg_len(&escape(piece)) <= budget {
            out.push(piece);
        } else {
            cut(piece, level + 1, budget, out);
        }
    }
}

/// Cuts at character boundaries when no punctuation helps.
fn hard_cut<'a>(text: &'a str, budget: usize, out: &mut Vec<&'a str>) {
    let mut start = 0;
    let mut len = 0;
    for (i, c) in text.char_indices() {
        let w = tg_len(&escape(c.encode_utf8(&mut [0; 4])));
        if len + w > budget {
            out.push(&text[start..i]);
            start = i;
            len = 0;
        }
        len += w;
    }
    out.push(&text[start..]);
}

fn assemble(
    answer: &Answer,
    header: &str,
    cap: Option<usize>,
    hits: usize,
    lead_cap: usize,
) -> String {
    let mut text = header.to_string();
    text.push_str(&escape(&truncate(answer.lead.trim(), lead_cap)));
    for cited in answer.hits.iter().take(hits) {
        text.push_str("\n\n");
        text.push_str(&cited_block(cited, cap));
    }
    text
}

fn cited_block(cited: &Cited, cap: Option<usize>) -> String {
    let mut out = format!("<b>{}. {}</b>", cited.rank, escape(&cited.doc_title));
    let meta: Vec<&str> = [
        cited.doc_number.as_deref(),
        cited.issuer.as_deref(),
        cited.date.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .collect();
    if !meta.is_empty() {
        out.push('\n');
        out.push_str(&escape(&meta.join("｜")));
    }
    if !cited.section.is_empty() {
        out.push('\n');
        out.push_str(&escape(&cited.section));
    }
    if let Some(cap) = cap {
        let excerpt = excerpt_html(cited, cap);
        if !excerpt.is_empty() {
            out.push('\n');
            out.push_str(&excerpt);
        }
    }
    if !cited.departments.is_empty() {
        let names: Vec<&str> = cited.departments.iter().map(|d| d.name.as_str()).collect();
        out.push('\n');
        out.push_str(&escape(&format!("责任单位：{}", names.join("、"))));
    }
    if let Some(validity) = cited.validity.as_deref().filter(|v| !v.is_empty()) {
        out.push_str(&format!("\n<i>{}</i>", escape(validity)));
    }
    out
}

/// Excerpt with hit spans in `<b>`, cut after `cap` characters (never inside a tag or entity:
/// text is cut before escaping).
fn excerpt_html(cited: &Cited, cap: usize) -> String {
    let mut out = String::new();
    let mut left = cap;
    let total = excerpt_chars(cited);
    for span in &cited.excerpt {
        if left == 0 {
            break;
        }
        let piece: String = span.text.chars().take(left).collect();
        left -= piece.chars().count();
        if piece.is_empty() {
            continue;
        }
        match span.hit {
            true => out.push_str(&format!("<b>{}</b>", escape(&piece))),
            false => out.push_str(&escape(&piece)),
        }
    }
    if cap < total {
        out.push('…');
    }
    out
}

fn excerpt_chars(cited: &Cited) -> usize {
    cited.excerpt.iter().map(|s| s.text.chars().count()).sum()
}

fn button(label: &str, callback: &Callback) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(truncate(label, MAX_LABEL), callback.encode())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::Span;
    use crate::corpus::{Department, Level};

    fn cited(rank: usize, excerpt_len: usize) -> Cited {
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

    fn sample(hits: usize, excerpt_len: usize) -> Answer {
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
        }
    }

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(
            escape(r#"<a href="x">&amp;</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn answer_escapes_corpus_text_and_bolds_hits() {
        let html = answer(&sample(1, 20), Some("转发自 <张三>"));
        assert!(
            html.starts_with("<i>转发自 &lt;张三&gt;</i>"),
            "help: header first: {html}"
        );
        assert!(html.contains("<b>小微企业</b>"));
        assert!(html.contains("关于&lt;进一步&gt;支持中小企业&amp;个体工商户"));
        assert!(
            !html.contains("<贷款>"),
            "help: raw corpus markup leaked: {html}"
        );
    }

    #[test]
    fn long_answers_fit_one_message() {
        for (hits, len) in [(1, 10_000), (5, 2_000), (30, 400), (200, 10)] {
            let mut a = sample(hits, len);
            a.lead = "长".repeat(len);
            let html = answer(&a, Some(&"头".repeat(1000)));
            assert!(
                tg_len(&html) <= MAX_MESSAGE,
                "help: {hits} hits × {len}: {}",
                tg_len(&html)
            );
            assert_eq!(html.matches("<b>").count(), html.matches("</b>").count());
            assert!(
                !html.contains("&am…") && !html.contains("<…"),
                "help: cut inside an entity"
            );
        }
    }

    #[test]
    fn short_answers_are_not_truncated() {
        let html = answer(&sample(3, 60), None);
        assert!(!html.contains('…'), "help: {html}");
        assert_eq!(html.matches("<i>").count(), 3);
    }

    /// The callback data of every button of `keyboard`, in order.
    fn callback_data(keyboard: &InlineKeyboardMarkup) -> Vec<String> {
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

    #[test]
    fn announcement_fits_and_escapes() {
        let mut a = Announcement {
            doc_id: "dabc".into(),
            title: "关于发放<算力券>的通知".into(),
            doc_number: Some("豫工信〔2022〕9号".into()),
            issuer: Some("河南省工业和信息化厅".into()),
            date: Some("2022-05-01".into()),
            region: "河南省/安阳市".into(),
            topics: Vec::new(),
            measures: vec!["算力券：给予30%补贴。".into(), "贴息：首贷贴息。".into()],
        };
        let html = announcement(&a);
        assert!(html.contains("&lt;算力券&gt;"), "{html}");
        assert!(html.contains("文号：豫工信〔2022〕9号"), "{html}");
        assert!(html.contains("地区：安阳"), "{html}");
        assert!(html.contains("1. 算力券：给予30%补贴。\n2. 贴息"), "{html}");
        a.measures = vec!["很长的措施".repeat(2000); 3];
        assert!(tg_len(&announcement(&a)) <= MAX_MESSAGE);
        let keyboard = announcement_keyboard("dabc");
        let data = callback_data(&keyboard);
        assert_eq!(data, vec!["p:dabc", "d:dabc"]);
    }

    #[test]
    fn keyboard_has_every_followup_and_feedback() {
        let mut no_buttons = sample(1, 10);
        no_buttons.status = Status::Intent;
        no_buttons.followups.clear();
        assert_eq!(keyboard(&no_buttons, 1), None);
        let kb = keyboard(&sample(2, 10), 42).unwrap();
        let data = callback_data(&kb);
        assert_eq!(
            data,
            [
                "t:16:2", "t:16:3", "m:16:1", "r:16:4", "a:16:5", "v:16:1", "v:16:0"
            ]
        );
    }

    #[test]
    fn full_text_splits_on_sentence_boundaries() {
        let sentence = "第一条 对符合条件的小微企业给予贷款贴息<50%>。";
        let text = format!("{}\n{}", sentence.repeat(150), sentence.repeat(150));
        let full = FullText {
            citation: "豫政〔2022〕1号 二、金融支持".to_string(),
            text: text.clone(),
        };
        let messages = full_text(&full);
        assert!(messages.len() >= 3, "help: {}", messages.len());
        for (i, m) in messages.iter().enumerate() {
            assert!(
                tg_len(m) <= MAX_MESSAGE,
                "help: message {i} is {}",
                tg_len(m)
            );
            assert!(m.contains(&format!("（{}/{}）", i + 1, messages.len())));
            let body = m.rsplit_once('\n').map_or(m.as_str(), |(b, _)| b);
            assert!(
                body.ends_with("。"),
                "help: message {i} not cut at a sentence end"
            );
        }
        assert!(messages[0].starts_with("<b>豫政〔2022〕1号"));
    }

    #[test]
    fn split_text_concatenates_to_input() {
        let texts = [
            "一".repeat(10_000),
            "甲，乙、丙：".repeat(3_000),
            "A&B<C>".repeat(2_000),
            "段落。\n\n".repeat(900),
            String::new(),
        ];
        for text in texts {
            let chunks = split_text(&text, 4000);
            for c in &chunks {
                assert!(
                    tg_len(&escape(c)) <= 4000,
                    "help: chunk of {}",
                    tg_len(&escape(c))
                );
            }
            let joined: String = chunks.concat();
            assert_eq!(
                joined.trim(),
                text.trim(),
                "help: pieces must concatenate to the input"
            );
        }
    }
}
