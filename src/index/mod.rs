//! The tantivy index of the corpus: schema, open (the only entry: the live generation or a
//! rebuild), build (the only writer, and the only place that registers analyzers), integrity
//! checks, retrieve with its candidate matcher, the ranking's constants and prior (`rank`), and
//! the per-clause and per-question facts ranking uses. No Telegram, no Redis.

mod build;
pub mod facts;
mod grams;
pub mod lock;
mod matcher;
pub mod open;
mod pages;
mod rank;
pub mod retrieve;
pub mod schema;
pub mod store;
mod verify;

use serde::{Deserialize, Serialize};

pub use lock::BuildLock;
pub use open::{KnowledgeBase, OpenReport, Paths};

use crate::text::spelling::Correction;

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
    /// Spans of the question read as other words (typo repair by sound).
    pub corrections: Vec<Correction>,
    /// How well the best clauses answer the question (for the answered/related decision).
    pub signals: Signals,
    /// The question asks for a date, deadline, amount, rate or count (its answer-type words):
    /// an excerpt prefers, among sentences that match as well, one that states a number.
    #[serde(default)]
    pub wants_figure: bool,
}

/// Evidence that the ranked clauses answer the question, read off the search.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    /// IDF-weighted coverage of the question's content words by the best clause (0–1).
    pub best_coverage: f32,
    /// The same by the best five clauses together (0–1).
    pub union_coverage: f32,
    /// IDF share of content words that occur in no clause at all (0–1).
    pub unknown: f32,
    /// IDF of the rarest content word missing from the best clause, relative to the rarest
    /// content word of the question (0 when the best clause has them all).
    pub missing_head: f32,
    /// Ranking score of the best clause over that of the fifth (≥ 1).
    pub margin: f32,
    /// Text of the best clause with its title (normalised), for checks by the caller.
    #[serde(skip)]
    pub best_text: String,
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
    /// The user switched to `region` after an answer ("那安阳呢", 只看…): its own documents rank
    /// before its parents' (which the earlier answer already offered).
    pub own_region: bool,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            k: 5,
            offset: 0,
            region: None,
            own_region: false,
        }
    }
}
