//! The callback-data protocol of the bot's buttons, shared by the keyboards the renderer builds
//! and the handler that answers presses: one short readable string per button (`m:1a2b:1`), at
//! most [`MAX_CALLBACK_DATA`] bytes, and its parser that accepts nothing this bot did not produce.

use crate::answer::FollowupKind;
use crate::app::Action;

/// Telegram's limit for callback data, in bytes.
pub const MAX_CALLBACK_DATA: usize = 64;

/// Longest document id accepted in callback data.
const MAX_DOC_ID: usize = 40;

/// What a button press asks for. Encoded as a short readable string (`m:1a2b:1`), at most
/// [`MAX_CALLBACK_DATA`] bytes; the state it points at lives in the session, except for the
/// buttons of an announcement, which name their document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Callback {
    /// A button of an answer: 更多结果, 全文 N, 只看<地区>, a related question (`m`, `t`, `r`,
    /// `a`: follow-up `n` of answer `answer_id`), 📋 工单格式 (`k`), 👍 / 👎 (`v`).
    Press(Action),
    /// /start example question number `i` (0-based).
    Example(usize),
    /// /topics topic number `i` (0-based).
    Topic(usize),
    /// 要点 of an announced document (by document id).
    DocPoints(String),
    /// 全文 of an announced document (by document id).
    DocText(String),
}

impl Callback {
    /// The callback data string.
    #[must_use]
    pub fn encode(&self) -> String {
        match self {
            Callback::Press(Action::Followup { answer_id, n, kind }) => {
                let tag = match kind {
                    FollowupKind::More => 'm',
                    FollowupKind::FullText => 't',
                    FollowupKind::Region => 'r',
                    FollowupKind::Ask => 'a',
                };
                format!("{tag}:{}:{n}", base36(*answer_id))
            }
            Callback::Press(Action::Ticket { answer_id }) => format!("k:{}", base36(*answer_id)),
            Callback::Press(Action::Rate { answer_id, useful }) => {
                format!("v:{}:{}", base36(*answer_id), u8::from(*useful))
            }
            Callback::Example(i) => format!("e:{i}"),
            Callback::Topic(i) => format!("q:{i}"),
            Callback::DocPoints(doc) => format!("p:{doc}"),
            Callback::DocText(doc) => format!("d:{doc}"),
        }
    }

    /// Parses callback data; `None` for anything this bot did not produce.
    #[must_use]
    pub fn parse(data: &str) -> Option<Callback> {
        if data.len() > MAX_CALLBACK_DATA {
            return None;
        }
        let mut parts = data.split(':');
        let kind = parts.next()?;
        let first = parts.next()?;
        let second = parts.next();
        if parts.next().is_some() {
            return None;
        }
        let followup = |kind: FollowupKind| {
            let answer_id = u64::from_str_radix(first, 36).ok()?;
            let n = parse_number(second?)?;
            (n >= 1).then_some(Callback::Press(Action::Followup { answer_id, n, kind }))
        };
        match (kind, second) {
            ("m", _) => followup(FollowupKind::More),
            ("t", _) => followup(FollowupKind::FullText),
            ("r", _) => followup(FollowupKind::Region),
            ("a", _) => followup(FollowupKind::Ask),
            ("v", Some(flag)) => {
                let answer_id = u64::from_str_radix(first, 36).ok()?;
                let useful = match flag {
                    "1" => true,
                    "0" => false,
                    _ => return None,
                };
                Some(Callback::Press(Action::Rate { answer_id, useful }))
            }
            ("k", None) => {
                let answer_id = u64::from_str_radix(first, 36).ok()?;
                Some(Callback::Press(Action::Ticket { answer_id }))
            }
            ("e", None) => parse_number(first).map(Callback::Example),
            ("q", None) => parse_number(first).map(Callback::Topic),
            ("p", None) => doc_id(first).map(Callback::DocPoints),
            ("d", None) => doc_id(first).map(Callback::DocText),
            _ => None,
        }
    }
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn doc_id(s: &str) -> Option<String> {
    let valid = (1..=MAX_DOC_ID).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    valid.then(|| s.to_string())
}

fn parse_number(s: &str) -> Option<usize> {
    match s.len() {
        1..=4 if s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_round_trips_and_stays_short() {
        let followup =
            |answer_id, n, kind| Callback::Press(Action::Followup { answer_id, n, kind });
        let rate = |useful| {
            Callback::Press(Action::Rate {
                answer_id: 77,
                useful,
            })
        };
        let cases = [
            followup(u64::MAX, 1, FollowupKind::More),
            followup(0, 9999, FollowupKind::FullText),
            followup(12345, 3, FollowupKind::Region),
            followup(1 << 40, 12, FollowupKind::Ask),
            rate(true),
            rate(false),
            Callback::Press(Action::Ticket {
                answer_id: u64::MAX,
            }),
            Callback::Press(Action::Ticket { answer_id: 0 }),
            Callback::Example(2),
            Callback::Topic(41),
            Callback::DocPoints("d0123456789a".into()),
            Callback::DocText("d0123456789a-2".into()),
        ];
        for cb in cases {
            let data = cb.encode();
            assert!(data.len() <= MAX_CALLBACK_DATA, "help: {data}");
            assert_eq!(Callback::parse(&data), Some(cb.clone()), "help: {data}");
        }
    }

    #[test]
    fn callback_rejects_forged_data() {
        for data in [
            "",
            "m",
            "m:1",
            "m:1:0",
            "m:zzzzzzzzzzzzzzzz:1",
            "x:1:1",
            "v:1:2",
            "e:1:2",
            "q:-1",
            "m:1:1:1",
            "t:1:99999",
            "m:!:1",
            "p:",
            "d:<b>",
            "p:d1:2",
            "d:文件",
            "k",
            "k:",
            "k:1:1",
            "k:zzzzzzzzzzzzzzzz",
            "k:!",
        ] {
            assert_eq!(Callback::parse(data), None, "help: {data:?} accepted");
        }
        assert_eq!(Callback::parse(&"m:1:1".repeat(20)), None);
    }
}
