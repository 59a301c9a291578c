//! The ranking's tunable numbers in one place: candidate depth, field boosts, term weights by
//! kind and part of speech, coverage credits and the decline threshold, the score formula's
//! exponents, copy detection, the same-document decay, and the region / clause-kind prior. Each
//! was set by tuning on the labelled questions (dev, gold, dev2's even half); `retrieve` uses
//! them. Pure.

use crate::corpus::{ClauseKind, Document, Level};
use crate::places::{self as region, Relation};

/// Candidates taken from BM25 before reranking.
pub(super) const CANDIDATES: usize = 60;
/// Field boosts: title and heading path above body.
pub(super) const TITLE_BOOST: f32 = 1.4;
pub(super) const PATH_BOOST: f32 = 1.6;
pub(super) const BODY_BOOST: f32 = 1.0;
pub(super) const BIGRAM_BOOST: f32 = 1.5;
/// Weight of a single-character CJK token relative to a word.
pub(super) const CHAR_WEIGHT: f32 = 0.3;
/// Weight of a token jieba made up (HMM, not in any dictionary): often a mis-split like 上查.
pub(super) const UNKNOWN_WEIGHT: f32 = 0.4;
/// Weight of digits and Latin letters (amounts, LPR, 12366).
pub(super) const ASCII_WEIGHT: f32 = 0.8;

/// Weight of a dictionary word by its part of speech: nouns and policy terms (user dictionary
/// words carry no tag) decide what a question is about; verbs and adjectives less; time words,
/// locatives, pronouns, adverbs and particles hardly.
pub(super) fn tag_weight(tag: &str) -> f32 {
    match tag.as_bytes().first() {
        None => 1.0,
        Some(b'n' | b'j' | b'i' | b'l' | b'x') => 1.0,
        Some(b'v' | b'a') => 0.7,
        Some(_) => 0.25,
    }
}

/// Credit for a word found only in the document title, not in the clause itself.
pub(super) const TITLE_CREDIT: f32 = 0.8;
/// Credit for a compound word whose parts (not the whole word) occur, times the share of parts.
pub(super) const PART_CREDIT: f32 = 0.8;
/// Hits whose terms together decide whether the question is covered at all.
pub(super) const COVERAGE_HITS: usize = 5;
/// Below this IDF-weighted coverage of the question's content words by the best clause, decline.
pub(super) const MIN_COVERAGE: f32 = 0.42;
/// Weight, relative to its IDF, of a question word no clause contains in coverage.
pub(super) const ABSENT_SHARE: f32 = 0.7;
/// Ranked positions checked for copies (fixed, so pages stay consistent).
pub(super) const COPY_DEPTH: usize = 12;
/// Character-bigram Jaccard similarity above which two clauses count as copies.
pub(super) const COPY_SIMILARITY: f32 = 0.6;
/// Ranking: `bm25^ALPHA * (FLOOR + coverage)^BETA * prior` — term coverage of the clause
/// dominates, BM25 orders clauses that cover the question equally well.
pub(super) const ALPHA: f32 = 0.3;
pub(super) const BETA: f32 = 2.0;
pub(super) const FLOOR: f32 = 0.3;
/// Each further hit from a document already shown is scaled by this.
pub(super) const SAME_DOC_DECAY: f32 = 0.9;

/// Prior of a parent region's clause when the user switched to a region: below the region's own
/// (1.25) and above unrelated places (0.55). Fitted on the two-turn cases (0.6–1.0 tried).
const OWN_REGION_PARENT: f32 = 0.7;

/// Region, clause-kind and draft prior of a clause of `doc`: a region asked for (`region`) favours
/// its own documents, then its parents' (less so when the user switched to it, `own_region`),
/// its children's, and others' least; without one, national and provincial documents lead.
pub(super) fn prior(
    doc: &Document,
    kind: ClauseKind,
    region: Option<&str>,
    own_region: bool,
) -> f32 {
    let place = match region {
        Some(asked) => match region::relation(asked, &doc.region) {
            Relation::Same => 1.25,
            Relation::Parent if own_region => OWN_REGION_PARENT,
            Relation::Parent => 1.0,
            Relation::Child => 0.9,
            Relation::Other => 0.55,
        },
        None => match doc.level {
            Level::National | Level::Province => 1.0,
            Level::City | Level::County => 0.9,
        },
    };
    // A document's header says little of its measures; an interpretation's Q&A (解读) restates
    // the clauses a user should be cited.
    let kind = match kind {
        ClauseKind::Header => 0.7,
        ClauseKind::Faq => 0.8,
        _ => 1.0,
    };
    let draft = if doc.draft { 0.9 } else { 1.0 };
    place * kind * draft
}
