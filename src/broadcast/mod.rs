//! Announcements of newly added and revised policies to subscribers. Pure; the Redis queue and
//! subscription store live in [`store`]. The parts:
//! - `announcement`: what a document's announcement says (title, 文号,
//!   issuer, date, region, its topics and most important measures; for a revision, the clauses
//!   added and removed);
//! - `measures`: which measures of a document are worth announcing, one line each (also the
//!   要点 button);
//! - [`filters`]: subscription filters (`/subscribe 融资 安阳`), whether an announcement matches
//!   them, and the subscription record.

mod announcement;
mod filters;
mod measures;
pub mod store;

pub use announcement::{ANNOUNCED_MEASURES, Announcement, Revision};
pub use filters::{FilterError, Filters, MAX_FILTERS, Subscription};
pub use measures::{MAX_KEY_POINTS, key_points};

#[cfg(test)]
pub(crate) mod fixtures {
    use super::Announcement;
    use crate::corpus::{Clause, ClauseKind};

    pub(crate) fn clause(doc: usize, kind: ClauseKind, path: &[&str], text: &str) -> Clause {
        Clause {
            id: String::new(),
            doc,
            kind,
            path: path.iter().map(ToString::to_string).collect(),
            text: text.to_string(),
            departments: Vec::new(),
            deadline: None,
            sources: Vec::new(),
            lines: Vec::new(),
        }
    }

    pub(crate) fn announcement(region: &str, title: &str, topics: &[&str]) -> Announcement {
        Announcement {
            doc_id: "d1".into(),
            title: title.into(),
            doc_number: None,
            issuer: None,
            date: None,
            region: region.into(),
            topics: topics.iter().map(ToString::to_string).collect(),
            measures: vec!["对首次贷款给予贴息。".into()],
            revision: None,
        }
    }
}
