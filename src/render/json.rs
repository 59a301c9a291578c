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
use serde_json::Value;

use crate::answer::{Answer, Cited, Followup, Status};
use crate::corpus::Level;

/// The answer as a JSON value with the schema above; `reply` is the text rendering shown to the
/// user (usually `render::plain::render(answer)`). Object keys come out sorted (a
/// [`serde_json::Map`] keeps them so), whatever the order of the view fields.
#[must_use]
pub fn to_value(answer: &Answer, reply: &str) -> Value {
    let status = match answer.status {
        Status::Answered => "answered",
        Status::Related => "related",
        Status::NoMatch => "no_match",
        Status::Intent => "intent",
        Status::Invalid => {
            return view(&InvalidView {
                question: &answer.question,
                status: "invalid",
                reason: &answer.lead,
            });
        }
    };
    view(&AnswerView {
        question: &answer.question,
        status,
        intent: answer.intent.as_deref(),
        hits: answer.hits.iter().map(HitView::of).collect(),
        reply,
        followups: answer.followups.iter().map(FollowupView::of).collect(),
    })
}

/// A view as a JSON value (the views hold only strings, numbers and lists: never an error).
fn view(v: &impl Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// An answer.
#[derive(Serialize)]
struct AnswerView<'a> {
    question: &'a str,
    status: &'static str,
    intent: Option<&'a str>,
    hits: Vec<HitView<'a>>,
    reply: &'a str,
    followups: Vec<FollowupView<'a>>,
}

/// An invalid question.
#[derive(Serialize)]
struct InvalidView<'a> {
    question: &'a str,
    status: &'static str,
    reason: &'a str,
}

/// A cited clause.
#[derive(Serialize)]
struct HitView<'a> {
    rank: usize,
    score: Option<f64>,
    clause_id: &'a str,
    doc_title: &'a str,
    doc_number: Option<&'a str>,
    issuer: Option<&'a str>,
    date: Option<&'a str>,
    level: Level,
    region: &'a str,
    section: &'a str,
    text: &'a str,
    excerpt: String,
    departments: Vec<DepartmentView<'a>>,
    sources: Vec<SourceView<'a>>,
    validity: Option<&'a str>,
}

impl<'a> HitView<'a> {
    fn of(c: &'a Cited) -> Self {
        // f32 → f64 widening shows float noise (2.3 → 2.299999952); four decimals are plenty.
        let score = (f64::from(c.score) * 10_000.0).round() / 10_000.0;
        HitView {
            rank: c.rank,
            score: score.is_finite().then_some(score),
            clause_id: &c.clause_id,
            doc_title: &c.doc_title,
            doc_number: c.doc_number.as_deref(),
            issuer: c.issuer.as_deref(),
            date: c.date.as_deref(),
            level: c.level,
            region: &c.region,
            section: &c.section,
            text: &c.text,
            excerpt: c.excerpt_text(),
            departments: c
                .departments
                .iter()
                .map(|d| DepartmentView {
                    role: &d.role,
                    name: &d.name,
                })
                .collect(),
            sources: c
                .sources
                .iter()
                .map(|s| SourceView {
                    file: &s.file,
                    line: s.line,
                })
                .collect(),
            validity: c.validity.as_deref(),
        }
    }
}

/// A responsible unit of a clause.
#[derive(Serialize)]
struct DepartmentView<'a> {
    role: &'a str,
    name: &'a str,
}

/// Where a clause is printed.
#[derive(Serialize)]
struct SourceView<'a> {
    file: &'a str,
    line: usize,
}

/// A follow-up: its kind, the label shown, and what it acts on.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum FollowupView<'a> {
    More {
        label: String,
    },
    FullText {
        label: String,
        rank: usize,
        clause_id: &'a str,
    },
    Region {
        label: String,
        region: &'a str,
    },
    Ask {
        label: String,
        question: &'a str,
    },
}

impl<'a> FollowupView<'a> {
    fn of(f: &'a Followup) -> Self {
        let label = f.label();
        match f {
            Followup::More => FollowupView::More { label },
            Followup::FullText { rank, clause_id } => FollowupView::FullText {
                label,
                rank: *rank,
                clause_id,
            },
            Followup::Region { region } => FollowupView::Region { label, region },
            Followup::Ask { question, .. } => FollowupView::Ask { label, question },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::plain;
    use serde_json::json;

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
