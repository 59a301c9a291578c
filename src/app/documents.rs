//! Documents and clauses shown outside an answer's own text: a clause's full text, the clauses
//! an answer cited (for 👍/👎 and tickets), a document's announcement, key points and full text,
//! and the citation line they all carry.

use crate::answer::{self, Followup, FullText};
use crate::broadcast::{self, Announcement, Revision};
use crate::corpus::Corpus;
use crate::index::KnowledgeBase;
use crate::session::ClauseRef;

use super::App;

impl App {
    /// The clauses an answer cited (its 全文 follow-ups), in full, as it cited them.
    pub(super) fn cited_clauses(&self, followups: &[Followup]) -> Vec<answer::Cited> {
        let kb = self.kb();
        let corpus = &kb.corpus;
        followups
            .iter()
            .filter_map(|f| match f {
                Followup::FullText { rank, clause_id } => {
                    let at = corpus.clauses.iter().position(|c| c.id == *clause_id)?;
                    answer::cite_clause(corpus, &kb.cites, at, *rank, &self.today)
                }
                _ => None,
            })
            .collect()
    }

    /// The announcement of document `doc_id` (title, 文号, issuer, date, region, key measures).
    #[must_use]
    pub fn announcement(&self, doc_id: &str) -> Option<Announcement> {
        let kb = self.kb();
        let doc = document_index(&kb, doc_id)?;
        Announcement::of(
            &kb.corpus,
            doc,
            &self.intents,
            &kb.lexicon.clause_facts.benefit,
        )
    }

    /// The 修订 announcement of the document numbered `doc_number` (文号) as revised since `old`
    /// (the corpus before an ingest): its announcement with the clauses added and removed
    /// instead of its measures. `None` when it is not in both, or no clause was added or removed.
    #[must_use]
    pub fn revision(&self, old: &Corpus, doc_number: &str) -> Option<Announcement> {
        let kb = self.kb();
        let find = |c: &Corpus| {
            c.documents
                .iter()
                .position(|d| d.doc_number.as_deref() == Some(doc_number))
        };
        let (before, after) = (find(old)?, find(&kb.corpus)?);
        let revision = Revision::between(old, before, &kb.corpus, after)?;
        let mut a = Announcement::of(
            &kb.corpus,
            after,
            &self.intents,
            &kb.lexicon.clause_facts.benefit,
        )?;
        a.revision = Some(revision);
        Some(a)
    }

    /// The key points of document `doc_id` (the 要点 button of an announcement), one per line.
    #[must_use]
    pub fn document_points(&self, doc_id: &str) -> Option<FullText> {
        let kb = self.kb();
        let doc = document_index(&kb, doc_id)?;
        let points = broadcast::key_points(&kb.corpus, doc, &kb.lexicon.clause_facts.benefit);
        let text = match points.is_empty() {
            true => "（这份文件没有分条列出的措施，请查看全文。）".to_string(),
            false => points
                .iter()
                .enumerate()
                .map(|(i, p)| format!("{}. {p}", i + 1))
                .collect::<Vec<_>>()
                .join("\n"),
        };
        Some(FullText {
            citation: format!("{} · 要点", citation(&kb.corpus.documents[doc])),
            text,
        })
    }

    /// The whole text of document `doc_id` (the 全文 button of an announcement).
    #[must_use]
    pub fn document_text(&self, doc_id: &str) -> Option<FullText> {
        let kb = self.kb();
        let doc = document_index(&kb, doc_id)?;
        let text = kb
            .corpus
            .clauses
            .iter()
            .filter(|c| c.doc == doc)
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>()
            .join("\n\n");
        Some(FullText {
            citation: citation(&kb.corpus.documents[doc]),
            text,
        })
    }
}

/// Full text and citation of a clause of `kb` by id.
pub(super) fn full_text_in(kb: &KnowledgeBase, clause_id: &str) -> Option<FullText> {
    let corpus = &kb.corpus;
    let clause = corpus.clauses.iter().find(|c| c.id == clause_id)?;
    let doc = &corpus.documents[clause.doc];
    let mut citation = citation(doc);
    if !clause.path.is_empty() {
        citation.push('\n');
        citation.push_str(&clause.path.join(" › "));
    }
    Some(FullText {
        citation,
        text: clause.text.clone(),
    })
}

/// The clauses an answer cited (its 全文 follow-ups), with their documents' titles.
pub(super) fn cited_in(kb: &KnowledgeBase, followups: &[Followup]) -> Vec<ClauseRef> {
    let corpus = &kb.corpus;
    followups
        .iter()
        .filter_map(|f| match f {
            Followup::FullText { clause_id, .. } => {
                let clause = corpus.clauses.iter().find(|c| c.id == *clause_id)?;
                Some(ClauseRef {
                    id: clause_id.clone(),
                    title: corpus.documents[clause.doc].title.clone(),
                })
            }
            _ => None,
        })
        .collect()
}

/// Position of document `doc_id` in the corpus.
fn document_index(kb: &KnowledgeBase, doc_id: &str) -> Option<usize> {
    kb.corpus.documents.iter().position(|d| d.id == doc_id)
}

/// `《title》（文号） · issuer · date`.
fn citation(doc: &crate::corpus::Document) -> String {
    let mut citation = format!("《{}》", doc.title);
    if let Some(n) = &doc.doc_number {
        citation.push_str(&format!("（{n}）"));
    }
    for part in [doc.issuer.as_deref(), doc.date.as_deref()]
        .into_iter()
        .flatten()
    {
        citation.push_str(" · ");
        citation.push_str(part);
    }
    citation
}
