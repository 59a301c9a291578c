//! What a document's announcement says: title, 文号, issuer, date, region, the policy topics it
//! is about and its most important measures; for a revision (same 文号, new text), the clauses
//! added and removed instead.

use serde::{Deserialize, Serialize};

use super::measures::{MEASURE_CHARS, top_measures};
use crate::corpus::{Clause, ClauseKind, Corpus};
use crate::intents::{IntentKind, IntentSet};
use crate::text::chars::truncate;
use crate::text::normalize::normalize;

/// Measures shown in an announcement.
pub const ANNOUNCED_MEASURES: usize = 3;

/// Distinct trigger words a document needs to be tagged with a topic (besides its best topic).
const TOPIC_MIN_TRIGGERS: usize = 3;

/// What subscribers are told about one added document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    /// Document id in the knowledge base (for the 要点 / 全文 buttons).
    pub doc_id: String,
    /// Title.
    pub title: String,
    /// 文号, if any.
    pub doc_number: Option<String>,
    /// Issuing body.
    pub issuer: Option<String>,
    /// Date printed in the document (`YYYY-MM-DD`).
    pub date: Option<String>,
    /// Region path (`河南省/安阳市`).
    pub region: String,
    /// Labels of the policy topics the document is about.
    pub topics: Vec<String>,
    /// Its most important measures, in document order (at most [`ANNOUNCED_MEASURES`]).
    pub measures: Vec<String>,
    /// For a revised document (same 文号, new text): what changed. `None` for a new document
    /// (and in entries queued before revisions were announced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<Revision>,
}

/// What a revision changed: the clauses of the new text that the old one did not have, and
/// those it dropped (a reworded clause is both), one line each, in document order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    /// Digest of the new text: each text of a document is announced once.
    pub version: String,
    /// Clauses added, one line each.
    pub added: Vec<String>,
    /// Clauses removed, one line each.
    pub removed: Vec<String>,
}

impl Revision {
    /// What document `new_doc` of `new` changed against `old_doc` of `old` (header units, which
    /// hold the title and dates, left out). `None` when no clause was added or removed.
    #[must_use]
    pub fn between(old: &Corpus, old_doc: usize, new: &Corpus, new_doc: usize) -> Option<Self> {
        let units = |corpus: &Corpus, doc: usize| -> Vec<String> {
            corpus
                .clauses
                .iter()
                .filter(|c| c.doc == doc && c.kind != ClauseKind::Header)
                .map(|c| c.text.trim().to_string())
                .collect()
        };
        let key = |text: &str| -> String { text.chars().filter(|c| !c.is_whitespace()).collect() };
        let (before, after) = (units(old, old_doc), units(new, new_doc));
        let keys = |units: &[String]| -> std::collections::HashSet<String> {
            units.iter().map(|u| key(u)).collect()
        };
        let (had, has) = (keys(&before), keys(&after));
        let line = |u: &String| truncate(&u.replace('\n', " "), MEASURE_CHARS);
        let added: Vec<String> = after
            .iter()
            .filter(|u| !had.contains(&key(u)))
            .map(line)
            .collect();
        let removed: Vec<String> = before
            .iter()
            .filter(|u| !has.contains(&key(u)))
            .map(line)
            .collect();
        if added.is_empty() && removed.is_empty() {
            return None;
        }
        let version = crate::digest::sha256_hex(after.join("\n").as_bytes(), 12);
        Some(Revision {
            version,
            added,
            removed,
        })
    }
}

impl Announcement {
    /// The announcement of document `doc` of `corpus`; topics from `intents`.
    #[must_use]
    pub fn of(
        corpus: &Corpus,
        doc: usize,
        intents: &IntentSet,
        benefit: &[String],
    ) -> Option<Announcement> {
        let d = corpus.documents.get(doc)?;
        let clauses: Vec<&Clause> = corpus.clauses.iter().filter(|c| c.doc == doc).collect();
        let text: String = std::iter::once(d.title.as_str())
            .chain(clauses.iter().map(|c| c.text.as_str()))
            .collect::<Vec<_>>()
            .join("\n");
        Some(Announcement {
            doc_id: d.id.clone(),
            title: d.title.clone(),
            doc_number: d.doc_number.clone(),
            issuer: d.issuer.clone(),
            date: d.date.clone(),
            region: d.region.clone(),
            topics: topics(&text, intents),
            measures: top_measures(&clauses, ANNOUNCED_MEASURES, benefit),
            revision: None,
        })
    }

    /// The title as `broadcast status` lists it: `修订：` first for a revision.
    #[must_use]
    pub fn label(&self) -> String {
        match &self.revision {
            Some(_) => format!("修订：{}", self.title),
            None => self.title.clone(),
        }
    }

    /// What delivery is recorded under, once per subscriber: the document id for a new
    /// document, the id and the revision's version for a revision.
    #[must_use]
    pub fn key(&self) -> String {
        match &self.revision {
            Some(r) => format!("{}-r{}", self.doc_id, r.version),
            None => self.doc_id.clone(),
        }
    }
}

/// Labels of the topics `text` is about: the best topic, plus every topic with at least
/// [`TOPIC_MIN_TRIGGERS`] distinct trigger words in the text.
fn topics(text: &str, intents: &IntentSet) -> Vec<String> {
    let text = normalize(text);
    let best = intents.best_topic(&text).map(|m| m.index);
    intents
        .intents()
        .iter()
        .enumerate()
        .filter(|(_, i)| i.kind == IntentKind::Topic)
        .filter(|(n, i)| {
            Some(*n) == best
                || i.triggers
                    .iter()
                    .filter(|t| text.contains(t.as_str()))
                    .count()
                    >= TOPIC_MIN_TRIGGERS
        })
        .map(|(_, i)| i.label.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{announcement, clause};
    use super::super::key_points;
    use super::*;
    use crate::corpus::Document;
    use crate::places::Places;

    /// A revision lists the clauses the new text added and the old one had that it dropped (a
    /// reworded clause is both), ignores whitespace and the header, and has a version of its
    /// own per text; no clause change is no revision.
    #[test]
    fn revision_lists_added_and_removed_clauses() {
        let places = Places::default();
        let notice = "关于支持小微企业发展的若干措施\n安政〔2023〕7号\n\n一、减免房租。对承租国有房屋的小微企业免除三个月租金。\n二、贷款贴息。对新增贷款给予百分之五十贴息。\n\n安阳市人民政府\n2023年3月1日\n";
        let old = crate::corpus::parse_file("v1.txt", notice, &places);
        let changed = notice
            .replace("三个月", "六个月")
            .replace("二、贷款贴息", "二、贷款 贴息")
            .replace(
                "\n\n安阳市",
                "\n三、稳岗返还。对不裁员企业返还失业保险费。\n\n安阳市",
            );
        let new = crate::corpus::parse_file("v2.txt", &changed, &places);
        let r = Revision::between(&old, 0, &new, 0).expect("a revision");
        assert_eq!(
            r.added,
            [
                "一、减免房租。对承租国有房屋的小微企业免除六个月租金。",
                "三、稳岗返还。对不裁员企业返还失业保险费。"
            ]
        );
        assert_eq!(
            r.removed,
            ["一、减免房租。对承租国有房屋的小微企业免除三个月租金。"]
        );
        assert!(Revision::between(&old, 0, &old, 0).is_none());
        let again = Revision::between(&old, 0, &new, 0).expect("a revision");
        assert_eq!(again.version, r.version);
        let mut a = announcement("河南省/安阳市", "若干措施", &[]);
        assert_eq!(
            (a.key(), a.label()),
            ("d1".to_string(), "若干措施".to_string())
        );
        a.revision = Some(r);
        assert_eq!(a.key(), format!("d1-r{}", again.version));
        assert_eq!(a.label(), "修订：若干措施");
    }

    #[test]
    fn announces_a_parsed_document() {
        let corpus = Corpus {
            documents: vec![Document {
                id: "dabc".into(),
                title: "关于发放算力券的通知".into(),
                doc_number: Some("豫工信〔2022〕9号".into()),
                issuer: Some("河南省工业和信息化厅".into()),
                date: Some("2022-05-01".into()),
                level: crate::corpus::Level::Province,
                region: "河南省".into(),
                sources: Vec::new(),
                draft: false,
                abridged: false,
                parent: None,
                validity: None,
            }],
            clauses: vec![clause(
                0,
                ClauseKind::Measure,
                &["一、算力券"],
                "对购买算力服务的中小企业给予30%补贴。",
            )],
            discards: Vec::new(),
        };
        let benefit = crate::text::test_support::benefit_units();
        let a = Announcement::of(&corpus, 0, &IntentSet::default(), &benefit).expect("document 0");
        assert_eq!(a.doc_id, "dabc");
        assert_eq!(
            a.measures,
            vec!["算力券：对购买算力服务的中小企业给予30%补贴。"]
        );
        assert!(Announcement::of(&corpus, 1, &IntentSet::default(), &benefit).is_none());
        assert_eq!(key_points(&corpus, 0, &benefit), a.measures);
    }
}
