//! The tantivy index of the corpus: schema, open (the only place that registers analyzers),
//! build (the only writer) and retrieve. No Telegram, no Redis.

pub mod lock;
pub mod open;
pub mod region;
pub mod retrieve;
pub mod schema;
pub mod store;

use serde::{Deserialize, Serialize};

pub use lock::BuildLock;
pub use open::{KnowledgeBase, OpenReport, Paths};

/// One retrieved clause.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// Index into `Corpus::clauses`.
    pub clause: usize,
    /// Final ranking score (BM25 with boosts, region and grouping adjustments).
    pub score: f32,
    /// Question terms (normalised) that occur in this clause, for highlighting.
    pub matched: Vec<String>,
}

/// The outcome of one search.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Retrieval {
    /// Ranked hits, best first (empty when declined).
    pub hits: Vec<Hit>,
    /// Content terms of the question after stop-word removal.
    pub terms: Vec<String>,
    /// Share (0–1, IDF-weighted) of the content terms covered by the best hit.
    pub coverage: f32,
    /// The region the ranking favoured (named in the question or given), e.g. `安阳市`.
    pub region: Option<String>,
    /// True when the question's content is not covered by any clause: nothing is cited.
    pub declined: bool,
}

/// Options of one search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchOptions {
    /// Number of hits wanted.
    pub k: usize,
    /// Skip this many grouped hits (paging).
    pub offset: usize,
    /// Region given explicitly (`--region`, `/region`), overriding none in the question.
    pub region: Option<String>,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            k: 5,
            offset: 0,
            region: None,
        }
    }
}
