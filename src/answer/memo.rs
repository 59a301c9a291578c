//! `ClauseMemo`: what citing a clause needs that no question changes — its folded text and
//! sentences (excerpts), the dates it states (validity notes) and the normalised sample of its
//! words a topic is inferred from — worked out on the clause's first citation and kept as long
//! as the knowledge base it belongs to.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::corpus::{Clause, Document};
use crate::text::normalize::normalize;

use super::excerpt::Folded;
use super::validity::ClauseDates;

/// The question-independent part of citing one clause.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub(super) folded: Folded,
    pub(super) dates: ClauseDates,
    /// The document title and the clause's first [`TOPIC_SAMPLE_CHARS`] characters, normalised
    /// (on first use: few answers need it).
    topic_sample: OnceLock<String>,
}

/// Characters of a clause's text in its topic sample.
const TOPIC_SAMPLE_CHARS: usize = 300;

impl Prepared {
    fn new(clause: &Clause) -> Prepared {
        Prepared {
            folded: Folded::new(&clause.text),
            dates: ClauseDates::new(clause),
            topic_sample: OnceLock::new(),
        }
    }

    /// The normalised sample of `clause` (this one's) of `doc` a topic is inferred from.
    pub(super) fn topic_sample(&self, clause: &Clause, doc: &Document) -> &str {
        self.topic_sample.get_or_init(|| {
            let sample: String = doc
                .title
                .chars()
                .chain(clause.text.chars().take(TOPIC_SAMPLE_CHARS))
                .collect();
            normalize(&sample)
        })
    }
}

/// One slot per clause of a corpus, filled on first use; shared by every thread answering.
#[derive(Debug)]
pub struct ClauseMemo {
    slots: Vec<OnceLock<Prepared>>,
}

impl ClauseMemo {
    /// A memo without slots: every clause is prepared anew.
    pub const EMPTY: ClauseMemo = ClauseMemo { slots: Vec::new() };

    /// An empty memo for a corpus of `clauses` clauses.
    #[must_use]
    pub fn new(clauses: usize) -> ClauseMemo {
        ClauseMemo {
            slots: (0..clauses).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Clause number `index` (`clause`) prepared: kept from an earlier call, or worked out now
    /// (and kept, when the memo has a slot for it).
    pub(super) fn get(&self, index: usize, clause: &Clause) -> Cow<'_, Prepared> {
        match self.slots.get(index) {
            Some(slot) => Cow::Borrowed(slot.get_or_init(|| Prepared::new(clause))),
            None => Cow::Owned(Prepared::new(clause)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_filled_once_and_out_of_range_is_computed() {
        let clause = |text: &str| Clause {
            id: "c".into(),
            doc: 0,
            kind: crate::corpus::ClauseKind::Measure,
            path: Vec::new(),
            text: text.into(),
            departments: Vec::new(),
            deadline: None,
            sources: Vec::new(),
            lines: Vec::new(),
        };
        let doc = Document {
            id: "d".into(),
            title: "关于延续实施ＬＰＲ贴息的通知".into(),
            doc_number: None,
            issuer: None,
            date: None,
            level: crate::corpus::Level::City,
            region: "河南省/安阳市".into(),
            sources: Vec::new(),
            draft: false,
            abridged: false,
            parent: None,
            validity: None,
        };
        let memo = ClauseMemo::new(1);
        let text = clause("2022年底前完成。");
        let first = memo.get(0, &text);
        let again = memo.get(0, &text);
        assert!(matches!(first, Cow::Borrowed(_)));
        assert!(std::ptr::eq(&*first, &*again), "help: the slot is kept");
        assert_eq!(
            first.topic_sample(&text, &doc),
            "关于延续实施lpr贴息的通知2022年底前完成。"
        );
        assert!(matches!(memo.get(1, &clause("2023年")), Cow::Owned(_)));
    }
}
