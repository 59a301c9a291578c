//! The candidate collector of retrieval: every clause matching the query with its BM25 score
//! and corpus ordinal, read through the `ord` fast field opened once per segment. On a corpus
//! of a few thousand clauses and a query of dozens of weighted terms, scoring every match is
//! cheaper than tantivy's top-k pruning (block-max WAND re-sorts its term scorers at every
//! pivot); the caller keeps the best [`top`] of them, in the order `TopDocs` gives.

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// Every match as `(score, segment, doc, ord)`.
pub struct AllMatches;

/// One segment's matches.
pub struct SegmentMatches {
    segment: SegmentOrdinal,
    ords: Option<Column<u64>>,
    found: Vec<(Score, SegmentOrdinal, DocId, u64)>,
}

impl Collector for AllMatches {
    type Fruit = Vec<(Score, SegmentOrdinal, DocId, u64)>;
    type Child = SegmentMatches;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentMatches> {
        Ok(SegmentMatches {
            segment,
            ords: reader.fast_fields().u64("ord").ok(),
            found: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

impl SegmentCollector for SegmentMatches {
    type Fruit = Vec<(Score, SegmentOrdinal, DocId, u64)>;

    fn collect(&mut self, doc: DocId, score: Score) {
        if let Some(ord) = self.ords.as_ref().and_then(|c| c.first(doc)) {
            self.found.push((score, self.segment, doc, ord));
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.found
    }
}

/// The best `n` matches, best first; equal scores in document order (as `TopDocs` orders
/// them).
#[must_use]
pub fn top(
    mut all: Vec<(Score, SegmentOrdinal, DocId, u64)>,
    n: usize,
) -> Vec<(Score, SegmentOrdinal, DocId, u64)> {
    let order = |a: &(Score, SegmentOrdinal, DocId, u64),
                 b: &(Score, SegmentOrdinal, DocId, u64)| {
        b.0.total_cmp(&a.0)
            .then_with(|| (a.1, a.2).cmp(&(b.1, b.2)))
    };
    if n == 0 {
        return Vec::new();
    }
    if all.len() > n {
        all.select_nth_unstable_by(n - 1, order);
        all.truncate(n);
    }
    all.sort_unstable_by(order);
    all
}
