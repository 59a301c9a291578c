//! JSON presenter (`policybot ask --json`, eval tooling). The schema is stable; change it only
//! together with its consumers.
//!
//! ```text
//! {
//!   "question": string,                      effective question
//!   "status":   "answered" | "related" | "no_match" | "intent",
//!   "intent":   string | null,               matched intent name
//!   "hits": [{
//!     "rank": int, "score": number, "clause_id": string,
//!     "doc_title": string, "doc_number": string | null, "issuer": string | null,
//!     "date": "YYYY-MM-DD" | null, "level": "national" | "province" | "city" | "county",
//!     "region": string,                      region path, e.g. "河南省/安阳市"
//!     "section": string,                     heading path joined with " › "
//!     "text": string,                        full clause text
//!     "excerpt": string,                     plain excerpt, no highlight markers
//!     "departments": [{"role": string, "name": string}],
//!     "sources": [{"file": string, "line": int}],
//!     "validity": string | null
//!   }],
//!   "reply": string,                         the plain-text rendering
//!   "followups": [{"kind": "more" | "full_text" | "region" | "ask", "label": string, ...}]
//!                                            full_text adds rank, clause_id; region adds region;
//!                                            ask adds question
//! }
//! ```
//!
//! An invalid question (status `Invalid`) is `{"question": string, "status": "invalid",
//! "reason": string}` instead.

use serde::Serialize;

use crate::answer::{Answer, Cited, Followup, Status};
use crate::corpus::Level;

/// The answer as one line of JSON with the schema above; `reply` is the text rendering shown to
/// the user (usually `render::plain::render(answer)`). Object keys come out sorted: the views
/// declare their fields in that order and are written straight out, without a value tree.
#[must_use]
pub fn to_json(answer: &Answer, reply: &str) -> String {
    let status = match answer.status {
        Status::Answered => "answered",
        Status::Related => "related",
        Status::NoMatch => "no_match",
        Status::Intent => "intent",
        Status::Invalid => {
            return write(&InvalidView {
                question: &answer.question,
                reason: &answer.lead,
                status: "invalid",
            });
        }
    };
    write(&AnswerView {
        followups: answer.followups.iter().map(FollowupView::of).collect(),
        hits: answer.hits.iter().map(HitView::of).collect(),
        intent: answer.intent.as_deref(),
        question: &answer.question,
        reply,
        status,
    })
}

/// A view as JSON (the views hold only strings, numbers and lists: never an error).
fn write(v: &impl Serialize) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_string())
}

// Every view declares its fields in sorted order (the order in which they are written).

/// An answer.
#[derive(Serialize)]
struct AnswerView<'a> {
    followups: Vec<FollowupView<'a>>,
    hits: Vec<HitView<'a>>,
    intent: Option<&'a str>,
    question: &'a str,
    reply: &'a str,
    status: &'static str,
}

/// An invalid question.
#[derive(Serialize)]
struct InvalidView<'a> {
    question: &'a str,
    reason: &'a str,
    status: &'static str,
}

/// A cited clause.
#[derive(Serialize)]
struct HitView<'a> {
    clause_id: &'a str,
    date: Option<&'a str>,
    departments: Vec<DepartmentView<'a>>,
    doc_number: Option<&'a str>,
    doc_title: &'a str,
    excerpt: String,
    issuer: Option<&'a str>,
    level: Level,
    rank: usize,
    region: &'a str,
    score: Option<f64>,
    section: &'a str,
    sources: Vec<SourceView<'a>>,
    text: &'a str,
    validity: Option<&'a str>,
}

impl<'a> HitView<'a> {
    fn of(c: &'a Cited) -> Self {
        // f32 → f64 widening shows float noise (2.3 → 2.299999952); four decimals are plenty.
        let score = (f64::from(c.score) * 10_000.0).round() / 10_000.0;
        HitView {
            clause_id: &c.clause_id,
            date: c.date.as_deref(),
            departments: c
                .departments
                .iter()
                .map(|d| DepartmentView {
                    name: &d.name,
                    role: &d.role,
                })
                .collect(),
            doc_number: c.doc_number.as_deref(),
            doc_title: &c.doc_title,
            excerpt: c.excerpt_text(),
            issuer: c.issuer.as_deref(),
            level: c.level,
            rank: c.rank,
            region: &c.region,
            score: score.is_finite().then_some(score),
            section: &c.section,
            sources: c
                .sources
                .iter()
                .map(|s| SourceView {
                    file: &s.file,
                    line: s.line,
                })
                .collect(),
            text: &c.text,
            validity: c.validity.as_deref(),
        }
    }
}

/// A responsible unit of a clause.
#[derive(Serialize)]
struct DepartmentView<'a> {
    name: &'a str,
    role: &'a str,
}

/// Where a clause is printed.
#[derive(Serialize)]
struct SourceView<'a> {
    file: &'a str,
    line: usize,
}

/// A follow-up: its kind, the label shown, and what it acts on (the fields of other kinds are
/// left out).
#[derive(Serialize)]
struct FollowupView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    clause_id: Option<&'a str>,
    kind: &'static str,
    label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    question: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rank: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
}

impl<'a> FollowupView<'a> {
    fn of(f: &'a Followup) -> Self {
        let mut view = FollowupView {
            clause_id: None,
            kind: "more",
            label: f.label(),
            question: None,
            rank: None,
            region: None,
        };
        match f {
            Followup::More => {}
            Followup::FullText { rank, clause_id } => {
                view.kind = "full_text";
                view.rank = Some(*rank);
                view.clause_id = Some(clause_id);
            }
            Followup::Region { region } => {
                view.kind = "region";
                view.region = Some(region);
            }
            Followup::Ask { question, .. } => {
                view.kind = "ask";
                view.question = Some(question);
            }
        }
        view
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::plain;
    use serde_json::{Value, json};

    /// The answer's JSON, checked to be exactly what a value tree (sorted keys) writes.
    fn to_value(a: &Answer, reply: &str) -> Value {
        let text = to_json(a, reply);
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value.to_string(), text, "help: keys out of order");
        value
    }

    fn keys(v: &Value) -> Vec<&str> {
        let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort_unstable();
        k
    }

    #[test]
    fn schema_keys_are_exactly_as_documented() {
        let a = plain::tests::sample();
        let v = to_value(&a, &plain::render(&a));
        assert_eq!(
            keys(&v),
            ["followups", "hits", "intent", "question", "reply", "status"]
        );
        let h = &v["hits"][0];
        let mut want = vec![
            "rank",
            "score",
            "clause_id",
            "doc_title",
            "doc_number",
            "issuer",
            "date",
            "level",
            "region",
            "section",
            "text",
            "excerpt",
            "departments",
            "sources",
            "validity",
        ];
        want.sort_unstable();
        assert_eq!(keys(h), want);
        assert_eq!(keys(&h["departments"][0]), ["name", "role"]);
        assert_eq!(keys(&h["sources"][0]), ["file", "line"]);
        assert_eq!(v["status"], "answered");
        assert_eq!(h["excerpt"], "承租国有房屋减免3—6个月租金。");
        assert_eq!(h["level"], "city");
        assert_eq!(h["score"], 2.5);
        let f: Vec<&Value> = v["followups"].as_array().unwrap().iter().collect();
        assert_eq!(f[0], &json!({"kind": "more", "label": "更多结果"}));
        assert_eq!(
            f[1],
            &json!({"kind": "full_text", "label": "全文 1", "rank": 1, "clause_id": "安政/二/25"})
        );
        assert_eq!(
            f[2],
            &json!({"kind": "region", "label": "只看河南", "region": "河南"})
        );
        assert_eq!(keys(f[3]), ["kind", "label", "question"]);
        assert!(v["reply"].as_str().unwrap().starts_with("找到 1 条"));
    }
}
