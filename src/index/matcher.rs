//! The candidate matcher of retrieval: every clause matching a weighted term query with its
//! BM25 score and corpus ordinal, read straight from tantivy's term dictionaries, postings and
//! field norms ([`Matcher`], prepared once per index generation). The scores are bit for bit
//! those of a tantivy `BooleanQuery` of boosted `TermQuery`s (`Occur::Should`), summed in the
//! same order (tested against it), without building that query's weights and scorers for
//! every question: on a corpus of a few thousand clauses and a query of dozens of terms, their
//! setup (a 256-entry norm table and an explanation per term, a boxed scorer per term and
//! field, the buffered union) cost more than the scoring. A word's postings are decoded the
//! first time a question asks for it and kept with the generation, each document with its
//! term-frequency part of BM25 (the vocabulary bounds what is kept; a bounded number of words
//! no document holds are kept as such). The caller keeps the best [`top`].

use std::cmp::Ordering;
use std::sync::{Arc, PoisonError, RwLock};

use rustc_hash::FxHashMap;

use tantivy::columnar::Column;
use tantivy::fieldnorm::FieldNormReader;
use tantivy::index::InvertedIndexReader;
use tantivy::postings::TermInfo;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, Score, Searcher, SegmentOrdinal};

/// BM25's constants, as tantivy's `Bm25Weight` has them.
const K1: Score = 1.2;
const B: Score = 0.75;

/// A match: `(score, segment, doc, ord)`.
pub type Match = (Score, SegmentOrdinal, DocId, u64);

/// A term of the query: field, word, boost.
pub type Weighted<'q> = (Field, &'q str, Score);

/// What scoring needs of an index generation, read once.
pub struct Matcher {
    /// Kept so that the segment files the readers point into stay open.
    _searcher: Searcher,
    /// Documents in all segments, deleted ones included (BM25's `N`, as tantivy counts it).
    total_docs: u64,
    /// Live documents.
    num_docs: u64,
    /// The scored fields with the length part of BM25's term-frequency denominator by field
    /// norm id (tantivy's per-weight cache, computed once per field).
    fields: Vec<(Field, Box<[Score; 256]>)>,
    segments: Vec<Segment>,
    /// The postings of every word a question has asked for, by the position of their field in
    /// `fields`.
    kept: Vec<RwLock<Kept>>,
}

/// The words of one field asked for so far: their postings, or `None` for a word no document
/// holds (up to [`MAX_ABSENT`] of those: the words a corpus lacks are countless, the ones it
/// has are its vocabulary).
#[derive(Default)]
struct Kept {
    words: FxHashMap<Box<str>, Option<Arc<Postings>>>,
    absent: usize,
}

/// Most words no document holds that are kept per field (beyond it, they are looked up in the
/// term dictionary every time, as before any was kept).
const MAX_ABSENT: usize = 10_000;

/// A word's postings in one field, read once: its document frequency over all segments and,
/// per segment, each document holding it with its term-frequency part of BM25,
/// `tf / (tf + norm)` (the score is that times the term's weight).
struct Postings {
    doc_freq: u64,
    segments: Box<[Docs]>,
}

/// Documents of one segment holding a word, each with its term-frequency part of BM25.
type Docs = Box<[(DocId, Score)]>;

/// One segment: per document its corpus ordinal (`None`: deleted or without one), and by the
/// position of their field in [`Matcher::fields`] the inverted index and each document's
/// field norm id (read out of tantivy's columns once: a table lookup per match).
struct Segment {
    ords: Vec<Option<u64>>,
    fields: Vec<(Arc<InvertedIndexReader>, Vec<u8>)>,
}

impl Matcher {
    /// Prepares scoring of `fields` over the searcher's segments.
    ///
    /// # Errors
    /// A field is not indexed, or a segment file is unreadable.
    pub fn new(searcher: Searcher, fields: &[Field]) -> tantivy::Result<Matcher> {
        let total_docs: u64 = searcher
            .segment_readers()
            .iter()
            .map(|s| u64::from(s.max_doc()))
            .sum();
        let num_docs: u64 = searcher
            .segment_readers()
            .iter()
            .map(|s| u64::from(s.num_docs()))
            .sum();
        let mut norms = Vec::with_capacity(fields.len());
        for &field in fields {
            let mut tokens = 0u64;
            for segment in searcher.segment_readers() {
                tokens += segment.inverted_index(field)?.total_num_tokens();
            }
            let average = tokens as Score / total_docs as Score;
            let mut cache = Box::new([0.0; 256]);
            for (id, norm) in cache.iter_mut().enumerate() {
                let length = FieldNormReader::id_to_fieldnorm(id as u8);
                *norm = K1 * (1.0 - B + B * length as Score / average);
            }
            norms.push((field, cache));
        }
        let mut segments = Vec::with_capacity(searcher.segment_readers().len());
        for reader in searcher.segment_readers() {
            let docs = 0..reader.max_doc();
            let mut readers = Vec::with_capacity(fields.len());
            for &field in fields {
                let norms = reader.get_fieldnorms_reader(field)?;
                readers.push((
                    reader.inverted_index(field)?,
                    docs.clone().map(|d| norms.fieldnorm_id(d)).collect(),
                ));
            }
            let column: Option<Column<u64>> = reader.fast_fields().u64("ord").ok();
            let alive = reader.alive_bitset();
            let ords = docs
                .map(|d| {
                    let live = alive.is_none_or(|a| a.is_alive(d));
                    column.as_ref().and_then(|c| c.first(d)).filter(|_| live)
                })
                .collect();
            segments.push(Segment {
                ords,
                fields: readers,
            });
        }
        Ok(Matcher {
            kept: fields.iter().map(|_| RwLock::default()).collect(),
            _searcher: searcher,
            total_docs,
            num_docs,
            fields: norms,
            segments,
        })
    }

    /// Number of live documents.
    #[must_use]
    pub fn num_docs(&self) -> u64 {
        self.num_docs
    }

    /// Number of documents containing `word` in `field` (0 for a field not prepared).
    #[must_use]
    pub fn doc_freq(&self, field: Field, word: &str) -> u64 {
        let Some(f) = self.field(field) else {
            return 0;
        };
        self.postings(f, word).map_or(0, |p| p.doc_freq)
    }

    /// Per segment, where the postings of `word` (in the field at position `f`) are, if any.
    /// The term dictionary is keyed by the term's value bytes, for a text field the word's
    /// UTF-8 (what `InvertedIndexReader::get_term_info` looks up, without building a `Term`).
    fn term_infos<'m>(
        &'m self,
        f: usize,
        word: &'m str,
    ) -> impl Iterator<Item = Option<TermInfo>> + 'm {
        self.segments
            .iter()
            .map(move |s| s.fields[f].0.terms().get(word.as_bytes()).ok().flatten())
    }

    /// Every live document matching one of the terms, with the sum of its terms' boosted BM25
    /// scores (added in query order, as tantivy's union adds them), in segment and document
    /// order; and each term's document frequency (as [`Matcher::doc_freq`] counts it), so that
    /// the caller need not look a term up again. Terms of fields not prepared are ignored (and
    /// counted 0).
    #[must_use]
    pub fn matches(&self, query: &[Weighted<'_>]) -> (Vec<Match>, Vec<u64>) {
        let mut sums: Vec<Vec<Score>> = self
            .segments
            .iter()
            .map(|s| vec![0.0; s.ords.len()])
            .collect();
        let mut hit: Vec<Vec<bool>> = self
            .segments
            .iter()
            .map(|s| vec![false; s.ords.len()])
            .collect();
        let mut count = 0usize;
        let mut doc_freqs = vec![0; query.len()];
        for (&(field, word, boost), doc_freq) in query.iter().zip(&mut doc_freqs) {
            let Some(f) = self.field(field) else {
                continue;
            };
            let Some(postings) = self.postings(f, word) else {
                continue;
            };
            *doc_freq = postings.doc_freq;
            let weight = idf(postings.doc_freq, self.total_docs) * (1.0 + K1) * boost;
            for ((segment, sums), hit) in postings.segments.iter().zip(&mut sums).zip(&mut hit) {
                for &(doc, part) in segment.iter() {
                    sums[doc as usize] += weight * part;
                    count += usize::from(!hit[doc as usize]);
                    hit[doc as usize] = true;
                }
            }
        }
        let mut out = Vec::with_capacity(count);
        for (s, segment) in self.segments.iter().enumerate() {
            for (doc, ord) in segment.ords.iter().enumerate() {
                if let Some(ord) = ord
                    && hit[s][doc]
                {
                    out.push((sums[s][doc], s as SegmentOrdinal, doc as DocId, *ord));
                }
            }
        }
        (out, doc_freqs)
    }

    /// The postings of `word` in the field at position `f` (`None` when no document holds it):
    /// kept from an earlier question, or read now and kept (see [`Kept`]).
    fn postings(&self, f: usize, word: &str) -> Option<Arc<Postings>> {
        let kept = self.kept[f].read().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = kept.words.get(word) {
            return p.clone();
        }
        drop(kept);
        let postings = self.read_postings(f, word).map(Arc::new);
        let mut kept = self.kept[f].write().unwrap_or_else(PoisonError::into_inner);
        if postings.is_none() && !kept.words.contains_key(word) {
            if kept.absent >= MAX_ABSENT {
                return None;
            }
            kept.absent += 1;
        }
        kept.words.entry(word.into()).or_insert(postings).clone()
    }

    /// Reads the postings of `word` in the field at position `f` from every segment, block by
    /// block (the documents and term frequencies tantivy's `SegmentPostings` steps through one
    /// at a time), with each document's term-frequency part of BM25.
    fn read_postings(&self, f: usize, word: &str) -> Option<Postings> {
        let norms = &self.fields[f].1;
        let mut doc_freq = 0u64;
        let mut segments = Vec::with_capacity(self.segments.len());
        for (segment, info) in self.segments.iter().zip(self.term_infos(f, word)) {
            let mut docs = Vec::new();
            if let Some(info) = info {
                doc_freq += u64::from(info.doc_freq);
                let (inverted, fieldnorms) = &segment.fields[f];
                if let Ok(mut postings) =
                    inverted.read_block_postings_from_terminfo(&info, IndexRecordOption::WithFreqs)
                {
                    docs.reserve(info.doc_freq as usize);
                    let mut left = info.doc_freq as usize;
                    while left > 0 && postings.block_len() > 0 {
                        for (i, &doc) in postings.docs().iter().enumerate() {
                            let tf = postings.freq(i) as Score;
                            let norm = norms[usize::from(fieldnorms[doc as usize])];
                            docs.push((doc, tf / (tf + norm)));
                        }
                        left = left.saturating_sub(postings.block_len());
                        postings.advance();
                    }
                }
            }
            segments.push(docs.into_boxed_slice());
        }
        (doc_freq > 0).then(|| Postings {
            doc_freq,
            segments: segments.into_boxed_slice(),
        })
    }

    fn field(&self, field: Field) -> Option<usize> {
        self.fields.iter().position(|(f, _)| *f == field)
    }
}

/// BM25's inverse document frequency, as tantivy computes it.
fn idf(doc_freq: u64, doc_count: u64) -> Score {
    let x = ((doc_count - doc_freq) as Score + 0.5) / (doc_freq as Score + 0.5);
    (1.0 + x).ln()
}

/// The best `n` matches, best first; equal scores in clause order, so the ranking does not
/// depend on how the clauses fell into segments (in one segment, as `TopDocs` orders them).
#[must_use]
pub fn top(mut all: Vec<Match>, n: usize) -> Vec<Match> {
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

/// Better first: higher score, then lower clause number.
fn order(a: &Match, b: &Match) -> Ordering {
    b.0.total_cmp(&a.0).then_with(|| a.3.cmp(&b.3))
}

#[cfg(test)]
mod tests {
    use tantivy::collector::TopDocs;
    use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
    use tantivy::schema::{FAST, INDEXED, Schema, TEXT};
    use tantivy::{Index, IndexWriter, TantivyDocument, Term, doc};

    use super::*;

    /// An index of two segments (and a deleted document) with fields of unequal lengths.
    fn index() -> (Index, Field, Field) {
        let mut schema = Schema::builder();
        let ord = schema.add_u64_field("ord", FAST | INDEXED);
        let title = schema.add_text_field("title", TEXT);
        let body = schema.add_text_field("body", TEXT);
        let index = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter<TantivyDocument> = index.writer(15_000_000).expect("writer");
        let texts = [
            ("loan guarantee", "loan loan rate subsidy for small firms"),
            (
                "rent relief",
                "rent relief for small firms in state property",
            ),
            ("tax", "tax relief tax deferral loan"),
            ("loan", "guarantee fee subsidy"),
            (
                "listing reward",
                "reward for listing on an exchange, loan interest subsidy",
            ),
            (
                "social insurance",
                "deferral of social insurance for firms in difficulty",
            ),
        ];
        for (i, (t, b)) in texts.iter().enumerate() {
            writer
                .add_document(doc!(ord => i as u64, title => *t, body => *b))
                .expect("add");
            if i == 2 {
                writer.commit().expect("commit");
            }
        }
        writer.delete_term(Term::from_field_u64(ord, 4));
        writer.commit().expect("commit");
        (index, title, body)
    }

    /// Every match of `query` as tantivy's own `BooleanQuery` of boosted term queries scores
    /// it: (segment, document, score bits), sorted.
    fn tantivy_scores(searcher: &Searcher, query: &[Weighted<'_>]) -> Vec<(u32, DocId, u32)> {
        let boolean = BooleanQuery::new(
            query
                .iter()
                .map(|&(field, word, boost)| {
                    let term = TermQuery::new(
                        Term::from_field_text(field, word),
                        IndexRecordOption::WithFreqs,
                    );
                    let boosted: Box<dyn Query> = Box::new(BoostQuery::new(Box::new(term), boost));
                    (Occur::Should, boosted)
                })
                .collect(),
        );
        let mut theirs: Vec<(u32, DocId, u32)> = searcher
            .search(&boolean, &TopDocs::with_limit(10_000).order_by_score())
            .expect("search")
            .into_iter()
            .map(|(score, at)| (at.segment_ord, at.doc_id, score.to_bits()))
            .collect();
        theirs.sort_unstable();
        theirs
    }

    /// Our matches in the same form.
    fn by_document(matches: Vec<Match>) -> Vec<(u32, DocId, u32)> {
        matches
            .into_iter()
            .map(|(score, segment, doc, _)| (segment, doc, score.to_bits()))
            .collect()
    }

    #[test]
    fn scores_equal_tantivys_boolean_query_bit_for_bit() {
        let (index, title, body) = index();
        let searcher = index.reader().expect("reader").searcher();
        assert!(searcher.segment_readers().len() >= 2);
        let query: Vec<Weighted<'_>> = vec![
            (title, "loan", 1.4),
            (body, "loan", 1.0),
            (body, "subsidy", 0.7),
            (title, "relief", 1.4 * 0.3),
            (body, "relief", 0.3),
            (body, "firms", 0.25),
            (body, "absent", 1.0),
            (body, "loan", 0.5),
        ];
        let theirs = tantivy_scores(&searcher, &query);
        let matcher = Matcher::new(searcher.clone(), &[title, body]).expect("matcher");
        let (matches, doc_freqs) = matcher.matches(&query);
        let ours = by_document(matches);
        assert_eq!(ours, theirs);
        // Words no document holds are kept as such; the others with their postings.
        let kept = |f: usize, word: &str| {
            let kept = matcher.kept[f]
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            kept.words.get(word).map(Option::is_some)
        };
        assert_eq!(
            (kept(1, "loan"), kept(1, "subsidy"), kept(1, "absent")),
            (Some(true), Some(true), Some(false))
        );
        // Again, with every word's postings kept from the first time.
        let (again, again_freqs) = matcher.matches(&query);
        assert_eq!(
            (by_document(again), again_freqs),
            (ours.clone(), doc_freqs.clone())
        );
        assert_eq!(ours.len(), 5, "the deleted document is not a match");
        let each: Vec<u64> = (query.iter())
            .map(|&(field, word, _)| matcher.doc_freq(field, word))
            .collect();
        assert_eq!(doc_freqs, each);
        assert_eq!(matcher.doc_freq(body, "loan"), 3);
        assert_eq!(matcher.doc_freq(body, "absent"), 0);
        assert_eq!(matcher.num_docs(), 5);
    }

    #[test]
    fn absent_words_are_kept_up_to_a_bound() {
        let (index, _, body) = index();
        let searcher = index.reader().expect("reader").searcher();
        let matcher = Matcher::new(searcher, &[body]).expect("matcher");
        for i in 0..MAX_ABSENT + 10 {
            assert_eq!(matcher.doc_freq(body, &format!("absent{i}")), 0);
        }
        assert_eq!(matcher.doc_freq(body, "absent0"), 0, "kept as absent");
        assert_eq!(
            matcher.doc_freq(body, "loan"),
            3,
            "a present word is still kept"
        );
        let kept = matcher.kept[0]
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        assert_eq!(kept.absent, MAX_ABSENT);
        assert_eq!(kept.words.len(), MAX_ABSENT + 1);
    }

    #[test]
    fn top_orders_by_score_then_document() {
        let all = vec![
            (1.0, 0, 3, 3),
            (2.0, 0, 1, 1),
            (1.0, 0, 2, 2),
            (0.5, 1, 0, 5),
        ];
        let best: Vec<u64> = top(all, 3).into_iter().map(|m| m.3).collect();
        assert_eq!(best, vec![1, 2, 3]);
    }

    #[test]
    fn top_keeps_the_first_n_of_a_full_sort() {
        let mut walk = crate::text::test_support::walk(11);
        let mut next = || walk() as u64;
        for _ in 0..200 {
            let len = next() % 120;
            // Few distinct scores, so that many ties are broken by clause number (distinct,
            // in another order than segment and document).
            let all: Vec<Match> = (0..len)
                .map(|i| {
                    (
                        (next() % 7) as Score * 0.5,
                        (i % 3) as u32,
                        i as u32,
                        (i * 7919) % 1009,
                    )
                })
                .collect();
            let mut sorted = all.clone();
            sorted.sort_by(order);
            for n in [0, 1, 5, 60, 200] {
                let expected: Vec<Match> = sorted.iter().copied().take(n).collect();
                assert_eq!(top(all.clone(), n), expected, "{len} {n}");
            }
        }
    }

    #[test]
    fn equal_scores_rank_by_clause_whatever_segment_holds_them() {
        // Clause 7 sits in the later segment, clause 9 in the earlier one.
        let all: Vec<Match> = vec![(1.0, 1, 0, 7), (1.0, 0, 4, 9), (2.0, 1, 1, 8)];
        let ords: Vec<u64> = top(all, 3).iter().map(|m| m.3).collect();
        assert_eq!(ords, [8, 7, 9]);
    }

    /// Posting lists of several blocks (128 documents each; one list ends on a block boundary)
    /// score as tantivy scores them.
    #[test]
    fn long_posting_lists_score_as_tantivy_scores_them() {
        let mut schema = Schema::builder();
        let ord = schema.add_u64_field("ord", FAST | INDEXED);
        let body = schema.add_text_field("body", TEXT);
        let index = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter<TantivyDocument> = index.writer(15_000_000).expect("writer");
        for i in 0..300u64 {
            let mut text = String::from("filler");
            if i < 256 {
                text.push_str(" often");
            }
            if i % 2 == 0 {
                text.push_str(" even even");
            }
            if i % 97 == 0 {
                text.push_str(" rare");
            }
            writer
                .add_document(doc!(ord => i, body => text))
                .expect("add");
        }
        writer.commit().expect("commit");
        let searcher = index.reader().expect("reader").searcher();
        let query: Vec<Weighted<'_>> = vec![
            (body, "often", 1.0),
            (body, "even", 0.7),
            (body, "rare", 2.0),
        ];
        let theirs = tantivy_scores(&searcher, &query);
        let matcher = Matcher::new(searcher.clone(), &[body]).expect("matcher");
        let (matches, doc_freqs) = matcher.matches(&query);
        let ours = by_document(matches);
        assert_eq!(ours.len(), 279);
        assert_eq!(doc_freqs, vec![256, 150, 4]);
        assert_eq!(ours, theirs);
        assert_eq!(matcher.doc_freq(body, "often"), 256);
    }
}
