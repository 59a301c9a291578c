//! The operator's review of the logs (`policybot review`, `/review`): unanswered (`no_match`),
//! weakly answered (`related`) and 👎 questions grouped by normalised question, with counts,
//! first and last seen, distinct askers, sources, the clauses answered and their 👍/👎. Renders
//! them as text, JSON, eval JSONL lines for an editor to label, and a short Telegram summary.
//! Pure: the logs come from [`crate::session::OperatorLog::logs`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use serde::Serialize;

use crate::answer::Status;
use crate::session::{ClauseRef, Logs};
use crate::text::normalize::compact;

/// One group of log entries whose questions normalise alike.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The question as last asked (or rated).
    pub question: String,
    /// The normalised form the entries were grouped by.
    pub key: String,
    /// Times nothing was found.
    pub no_match: usize,
    /// Times only weakly related clauses were found.
    pub related: usize,
    /// Unanswered entries of older versions, which did not record which of the two.
    pub unrecorded: usize,
    /// 👎 on an answer to it.
    pub down: usize,
    /// 👍 on an answer to it.
    pub up: usize,
    /// Distinct askers and raters (by salted hash).
    pub people: usize,
    /// Unanswered entries per source (`private`, `group`, `forward`).
    pub sources: BTreeMap<&'static str, usize>,
    /// First time seen (Unix seconds); `None` when only entries of unknown time.
    pub first_seen: Option<u64>,
    /// Last time seen (Unix seconds).
    pub last_seen: Option<u64>,
    /// Clauses the answers cited, most cited first.
    pub clauses: Vec<ClauseTally>,
}

/// A clause cited in the answers of an [`Item`], with the ratings of those answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClauseTally {
    /// Clause id.
    pub id: String,
    /// Title of its document.
    pub title: String,
    /// Logged answers that cited it.
    pub cited: usize,
    /// 👍 on answers citing it.
    pub up: usize,
    /// 👎 on answers citing it.
    pub down: usize,
}

impl Item {
    /// How much it needs the operator: unanswered, related and 👎 entries.
    #[must_use]
    pub fn weight(&self) -> usize {
        self.no_match + self.related + self.unrecorded + self.down
    }

    /// The counts in one line, e.g. `未找到 3 · 弱相关 1 · 👎 1 · 👍 0 · 2 人`.
    #[must_use]
    pub fn counts(&self) -> String {
        let mut parts = Vec::new();
        if self.no_match > 0 {
            parts.push(format!("未找到 {}", self.no_match));
        }
        if self.related > 0 {
            parts.push(format!("弱相关 {}", self.related));
        }
        if self.unrecorded > 0 {
            parts.push(format!("未答（旧记录）{}", self.unrecorded));
        }
        parts.push(format!("👎 {}", self.down));
        parts.push(format!("👍 {}", self.up));
        parts.push(format!("{} 人", self.people));
        parts.join(" · ")
    }

    /// A line of the eval JSONL format (`../shared/eval/README.md`) for an editor to label:
    /// `kind` empty and `gold` `[]` until labelled; the id is stable for the question.
    #[must_use]
    pub fn gold_line(&self) -> serde_json::Value {
        let cited: Vec<String> = self
            .clauses
            .iter()
            .take(3)
            .map(|c| format!("{}《{}》", c.id, c.title))
            .collect();
        let mut note = format!("review: {}", self.counts());
        if !cited.is_empty() {
            note.push_str(&format!("; cited {}", cited.join(" ")));
        }
        serde_json::json!({
            "id": stable_id(&self.key),
            "question": self.question,
            "kind": "",
            "region": null,
            "gold": [],
            "note": note,
        })
    }
}

/// `rv` and 10 hex digits of SHA-256 of the normalised question.
fn stable_id(key: &str) -> String {
    format!("rv{}", crate::digest::sha256_hex(key.as_bytes(), 10))
}

/// The form questions are grouped by: NFKC, lower case, no whitespace or punctuation.
#[must_use]
pub fn normalise(question: &str) -> String {
    compact(question)
        .chars()
        .filter(|c| {
            !c.is_ascii_punctuation()
                && !matches!(
                    c,
                    '。' | '、'
                        | '“'
                        | '”'
                        | '‘'
                        | '’'
                        | '《'
                        | '》'
                        | '…'
                        | '—'
                        | '【'
                        | '】'
                        | '「'
                        | '」'
                )
        })
        .collect()
}

#[derive(Default)]
struct Group {
    item: Option<Item>,
    people: HashSet<String>,
    clauses: HashMap<String, ClauseTally>,
}

impl Group {
    fn item(&mut self, question: &str, key: &str) -> &mut Item {
        self.item.get_or_insert_with(|| Item {
            question: question.to_string(),
            key: key.to_string(),
            no_match: 0,
            related: 0,
            unrecorded: 0,
            down: 0,
            up: 0,
            people: 0,
            sources: BTreeMap::new(),
            first_seen: None,
            last_seen: None,
            clauses: Vec::new(),
        })
    }

    fn seen(&mut self, question: &str, key: &str, at: u64, who: Option<&String>) {
        let item = self.item(question, key);
        if at > 0 && item.last_seen.is_none_or(|last| at > last) {
            item.question = question.to_string();
        }
        if at > 0 {
            item.first_seen = Some(item.first_seen.map_or(at, |f| f.min(at)));
            item.last_seen = Some(item.last_seen.map_or(at, |l| l.max(at)));
        }
        if let Some(who) = who {
            self.people.insert(who.clone());
        }
    }

    fn cited(&mut self, clauses: &[ClauseRef], rating: Option<bool>) {
        for c in clauses {
            let tally = self
                .clauses
                .entry(c.id.clone())
                .or_insert_with(|| ClauseTally {
                    id: c.id.clone(),
                    title: c.title.clone(),
                    cited: 0,
                    up: 0,
                    down: 0,
                });
            tally.cited += 1;
            match rating {
                Some(true) => tally.up += 1,
                Some(false) => tally.down += 1,
                None => {}
            }
        }
    }
}

/// Groups `logs` (newest first) by normalised question; only groups with an unanswered,
/// related or 👎 entry are kept, the ones needing most attention first (then the latest).
#[must_use]
pub fn group(logs: &Logs) -> Vec<Item> {
    let mut groups: HashMap<String, Group> = HashMap::new();
    for e in &logs.unanswered {
        let key = normalise(&e.question);
        let g = groups.entry(key.clone()).or_default();
        g.seen(&e.question, &key, e.at, e.who.as_ref());
        g.cited(&e.clauses, None);
        let item = g.item(&e.question, &key);
        match e.status {
            Some(Status::Related) => item.related += 1,
            Some(_) => item.no_match += 1,
            None => item.unrecorded += 1,
        }
        if let Some(source) = e.source {
            *item.sources.entry(source.as_str()).or_default() += 1;
        }
    }
    for f in &logs.feedback {
        let key = normalise(&f.question);
        let g = groups.entry(key.clone()).or_default();
        g.seen(&f.question, &key, f.at, f.who.as_ref());
        g.cited(&f.clauses, Some(f.up));
        let item = g.item(&f.question, &key);
        match f.up {
            true => item.up += 1,
            false => item.down += 1,
        }
    }
    let mut items: Vec<Item> = groups
        .into_values()
        .filter_map(|g| {
            let mut item = g.item?;
            item.people = g.people.len();
            item.clauses = g.clauses.into_values().collect();
            item.clauses
                .sort_by(|a, b| b.cited.cmp(&a.cited).then_with(|| a.id.cmp(&b.id)));
            Some(item)
        })
        .filter(|item| item.weight() > 0)
        .collect();
    items.sort_by(|a, b| {
        b.weight()
            .cmp(&a.weight())
            .then_with(|| b.last_seen.cmp(&a.last_seen))
            .then_with(|| a.key.cmp(&b.key))
    });
    items
}

/// Unix seconds as local `YYYY-MM-DD HH:MM`, or `时间不明`.
#[must_use]
pub fn when(at: Option<u64>) -> String {
    at.and_then(|s| i64::try_from(s).ok())
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map_or_else(
            || "时间不明".to_string(),
            |t| {
                t.with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            },
        )
}

/// A window like `7d` as Chinese (`最近 7 天`), or `全部`.
#[must_use]
pub fn window(since: Duration) -> String {
    let secs = since.as_secs();
    match secs {
        s if s >= ALL.as_secs() => "全部".to_string(),
        s if s % 86_400 == 0 => format!("最近 {} 天", s / 86_400),
        s if s % 3600 == 0 => format!("最近 {} 小时", s / 3600),
        s => format!("最近 {} 分钟", s.div_ceil(60)),
    }
}

/// The window `all` stands for.
pub const ALL: Duration = Duration::from_secs(u64::MAX);

/// Parses a review window: `7d`, `24h`, `90m` or `all`.
///
/// # Errors
/// Anything else (the message says what is expected).
pub fn parse_window(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("all") {
        return Ok(ALL);
    }
    let expected = || format!("expected a window like 7d, 24h, 90m or all, not {s:?}");
    let unit = match s.chars().last() {
        Some('d') => 86_400,
        Some('h') => 3600,
        Some('m') => 60,
        _ => return Err(expected()),
    };
    let n: u64 = s[..s.len() - 1].parse().map_err(|_| expected())?;
    Ok(Duration::from_secs(n.saturating_mul(unit)))
}

/// The report for a terminal: one block per item.
#[must_use]
pub fn to_text(items: &[Item], since: Duration) -> String {
    let mut out = format!("{}：{} 个待处理的问题\n", window(since), items.len());
    for (i, item) in items.iter().enumerate() {
        out.push_str(&format!(
            "{}. {}\n   {}\n   首次 {} · 最近 {}",
            i + 1,
            item.question,
            item.counts(),
            when(item.first_seen),
            when(item.last_seen)
        ));
        if !item.sources.is_empty() {
            let sources: Vec<String> = item
                .sources
                .iter()
                .map(|(s, n)| format!("{s} {n}"))
                .collect();
            out.push_str(&format!(" · 来源 {}", sources.join(", ")));
        }
        out.push('\n');
        for c in &item.clauses {
            out.push_str(&format!(
                "   · {}《{}》 引用 {} · 👍 {} · 👎 {}\n",
                c.id, c.title, c.cited, c.up, c.down
            ));
        }
    }
    out
}

/// A short summary for Telegram: the first `top` items (fewer when the text would pass
/// `max_chars` characters), each on two lines.
#[must_use]
pub fn summary(items: &[Item], since: Duration, top: usize, max_chars: usize) -> String {
    if items.is_empty() {
        return format!("{}没有未答、弱相关或 👎 的问题。", window(since));
    }
    let mut out = format!("{}待处理的问题（{} 个）：\n", window(since), items.len());
    let footer = "完整列表与导出：policybot review";
    let mut shown = 0;
    for (i, item) in items.iter().take(top).enumerate() {
        let question: String = item.question.chars().take(60).collect();
        let block = format!(
            "{}. {}\n   {} · 最近 {}\n",
            i + 1,
            question,
            item.counts(),
            when(item.last_seen)
        );
        let length = |s: &str| s.chars().count();
        if length(&out) + length(&block) + length(footer) + 20 > max_chars {
            break;
        }
        out.push_str(&block);
        shown += 1;
    }
    if shown < items.len() {
        out.push_str(&format!("……另有 {} 个。", items.len() - shown));
    }
    out.push_str(footer);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Feedback, Source, Unanswered};

    fn clause(id: &str) -> ClauseRef {
        ClauseRef {
            id: id.to_string(),
            title: "稳岗措施".to_string(),
        }
    }

    fn unanswered(q: &str, status: Status, who: &str, at: u64) -> Unanswered {
        let mut e = Unanswered::new(q, status, Source::Group, vec![clause("c1")]);
        e.who = Some(who.to_string());
        e.at = at;
        e
    }

    fn feedback(q: &str, up: bool, who: &str, at: u64) -> Feedback {
        let mut f = Feedback::new(7, up, q, vec![clause("c1"), clause("c2")]);
        f.who = Some(who.to_string());
        f.at = at;
        f
    }

    #[test]
    fn groups_by_normalised_question_with_counts_and_clauses() {
        let logs = Logs {
            unanswered: vec![
                unanswered("外卖骑手有补贴吗？", Status::NoMatch, "a", 300),
                unanswered("外卖骑手 有补贴吗", Status::Related, "b", 200),
                Unanswered::parse("外卖骑手有补贴吗"),
                unanswered("养猪场能贷款吗", Status::NoMatch, "a", 100),
            ],
            feedback: vec![
                feedback("外卖骑手有补贴吗?", false, "c", 400),
                feedback("稳岗返还怎么申请", true, "a", 50),
                feedback("稳岗返还怎么申请", false, "b", 60),
            ],
        };
        let items = group(&logs);
        assert_eq!(items.len(), 3, "help: {items:#?}");
        let rider = &items[0];
        assert_eq!(
            rider.question, "外卖骑手有补贴吗?",
            "help: the latest wording"
        );
        assert_eq!(
            (
                rider.no_match,
                rider.related,
                rider.unrecorded,
                rider.down,
                rider.up
            ),
            (1, 1, 1, 1, 0)
        );
        assert_eq!(rider.people, 3);
        assert_eq!((rider.first_seen, rider.last_seen), (Some(200), Some(400)));
        assert_eq!(rider.sources.get("group"), Some(&2));
        assert_eq!(rider.clauses[0].id, "c1");
        assert_eq!((rider.clauses[0].cited, rider.clauses[0].down), (3, 1));
        // 稳岗: one 👍 and one 👎 — listed for the 👎, with the 👍 counted.
        let stable = items.iter().find(|i| i.key == "稳岗返还怎么申请").unwrap();
        assert_eq!((stable.up, stable.down, stable.people), (1, 1, 2));
        let only_up = Logs {
            unanswered: Vec::new(),
            feedback: vec![feedback("好问题", true, "a", 1)],
        };
        assert!(group(&only_up).is_empty(), "help: 👍 alone needs no review");
    }

    #[test]
    fn gold_lines_are_unlabelled_eval_lines_with_stable_ids() {
        let logs = Logs {
            unanswered: vec![unanswered("外卖骑手有补贴吗", Status::NoMatch, "a", 1)],
            feedback: Vec::new(),
        };
        let line = group(&logs)[0].gold_line();
        assert_eq!(line["kind"], "");
        assert_eq!(line["gold"], serde_json::json!([]));
        assert_eq!(line["question"], "外卖骑手有补贴吗");
        let again = group(&logs)[0].gold_line();
        assert_eq!(line["id"], again["id"]);
        assert!(line["id"].as_str().unwrap().starts_with("rv"));
    }

    #[test]
    fn windows_parse_and_read() {
        assert_eq!(parse_window("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_window("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_window("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_window("all"), Ok(ALL));
        assert!(parse_window("7").is_err() && parse_window("xd").is_err());
        assert_eq!(window(Duration::from_secs(7 * 86_400)), "最近 7 天");
        assert_eq!(window(ALL), "全部");
    }

    #[test]
    fn summary_stays_within_its_bound() {
        let logs = Logs {
            unanswered: (0..200)
                .map(|i| {
                    unanswered(
                        &format!("问题{i}{}", "长".repeat(50)),
                        Status::NoMatch,
                        "a",
                        1,
                    )
                })
                .collect(),
            feedback: Vec::new(),
        };
        let items = group(&logs);
        let text = summary(&items, Duration::from_secs(86_400), 10, 1000);
        assert!(
            text.chars().count() <= 1000,
            "help: {}",
            text.chars().count()
        );
        assert!(text.contains("1. 问题") && text.contains("另有"), "{text}");
        assert!(summary(&[], ALL, 10, 1000).contains("没有"));
    }
}
