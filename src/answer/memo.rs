//! `ClauseMemo`: what citing a clause needs that no question changes — its folded text and
//! sentences (excerpts) and the dates it states (validity notes) — worked out on the clause's
//! first citation and kept as long as the knowledge base it belongs to.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::corpus::Clause;

use super::excerpt::Folded;
use super::validity::ClauseDates;

/// The question-independent part of citing one clause.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub(super) folded: Folded,
    pub(super) dates: ClauseDates,
}

impl Prepared {
    fn new(clause: &Clause) -> Prepared {
        Prepared {
            folded: Folded::new(&clause.text),
            dates: ClauseDates::new(clause),
        }
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
        let memo = ClauseMemo::new(1);
        let first = memo.get(0, &clause("2022年底前完成。"));
        let again = memo.get(0, &clause("2022年底前完成。"));
        assert!(matches!(first, Cow::Borrowed(_)));
        assert!(std::ptr::eq(&*first, &*again), "help: the slot is kept");
        assert!(matches!(memo.get(1, &clause("2023年")), Cow::Owned(_)));
    }
}
