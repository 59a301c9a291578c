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

use serde_json::{Map, Value, json};

use crate::answer::{Answer, Cited, Followup, Status};

/// The answer as a JSON value with the schema above; `reply` is the text rendering shown to the
/// user (usually `render::plain::render(answer)`).
#[must_use]
pub fn to_value(answer: &Answer, reply: &str) -> Value {
    let status = match answer.status {
        Status::Answered => "answered",
        Status::Related => "related",
        Status::NoMatch => "no_match",
        Status::Intent => "intent",
        Status::Invalid => {
            return json!({
                "question": answer.question,
                "status": "invalid",
                "reason": answer.lead,
            });
        }
    };
    json!({
        "question": answer.question,
        "status": status,
        "intent": answer.intent,
        "hits": answer.hits.iter().map(hit).collect::<Vec<_>>(),
        "reply": reply,
        "followups": answer.followups.iter().map(followup).collect::<Vec<_>>(),
    })
}

fn hit(c: &Cited) -> Value {
    // f32 → f64 widening shows float noise (2.3 → 2.299999952); four decimals are plenty.
    let score = (f64::from(c.score) * 10_000.0).round() / 10_000.0;
    json!({
        "rank": c.rank,
        "score": if score.is_finite() { json!(score) } else { Value::Null },
        "clause_id": c.clause_id,
        "doc_title": c.doc_title,
        "doc_number": c.doc_number,
        "issuer": c.issuer,
        "date": c.date,
        "level": c.level,
        "region": c.region,
        "section": c.section,
        "text": c.text,
        "excerpt": c.excerpt_text(),
        "departments": c.departments.iter().map(|d| json!({"role": d.role, "name": d.name})).collect::<Vec<_>>(),
        "sources": c.sources.iter().map(|s| json!({"file": s.file, "line": s.line})).collect::<Vec<_>>(),
        "validity": c.validity,
    })
}

fn followup(f: &Followup) -> Value {
    let mut map = match serde_json::to_value(f) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    map.insert("label".into(), Value::String(f.label()));
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::plain;

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
