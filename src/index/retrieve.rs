//! Retrieval: question → weighted term query (own jieba tokens, synonyms, stop words, bigrams;
//! never tantivy's `QueryParser`) → BM25 candidates → rerank by term coverage, region and
//! document grouping → `Retrieval`, or an honest decline when the question is not covered.

use std::collections::HashSet;
use std::ops::Range;
use std::time::Instant;

use super::facts::{Asks, Pairs, similar};
use super::grams::Verdicts;
use super::matcher::{self, Weighted};
use super::open::KnowledgeBase;
use super::pages::{PageKey, Ranking};
use super::rank::{
    self, ABSENT_SHARE, ALPHA, ASCII_WEIGHT, BETA, BIGRAM_BOOST, BODY_BOOST, CANDIDATES,
    CHAR_WEIGHT, COPY_DEPTH, COPY_SIMILARITY, COVERAGE_HITS, FLOOR, MIN_COVERAGE, PART_CREDIT,
    PATH_BOOST, SAME_DOC_DECAY, TITLE_BOOST, TITLE_CREDIT, UNKNOWN_WEIGHT, tag_weight,
};
use super::{Hit, Retrieval, SearchOptions, Signals};
use crate::stages::{self, Lap, Stage};
use crate::text::analyzer::bigrams;
use crate::text::chars::is_cjk;
use crate::text::numbers::normalize_numbers;
use crate::text::spelling::Correction;
use crate::text::yesno::collapse_a_not_a;

/// One content word of the question with its weight and synonyms.
#[derive(Clone, Debug, PartialEq)]
struct QTerm {
    text: String,
    weight: f32,
    alts: Vec<(String, f32)>,
    /// Not contained in a longer token of the question (counts for coverage).
    maximal: bool,
    /// Search-mode parts of a maximal token (≥ 2 chars): covered when all occur.
    parts: Vec<String>,
    /// What the corpus's grams tell of the word, of each synonym and of each part (in their
    /// order): which clauses hold it, or may (then a scan tells).
    verdicts: TermVerdicts,
}

/// See [`QTerm::verdicts`].
#[derive(Clone, Debug, PartialEq)]
struct TermVerdicts {
    text: Verdicts,
    alts: Vec<Verdicts>,
    parts: Vec<Verdicts>,
}

/// A clause's normalised haystack and its parts, where a word is looked for by its
/// [`Verdicts`] first, and scanned for only when they cannot tell.
struct Hay<'k> {
    full: &'k str,
    /// The document's title and 文号; ends in a space.
    title: &'k str,
    /// The clause's own heading path and text.
    own: &'k str,
    /// The clause's corpus ordinal.
    ord: usize,
    /// Its document's.
    doc: usize,
}

impl Hay<'_> {
    /// Whether the clause's own text contains `word` (`v`: its verdicts).
    fn own(&self, word: &str, v: &Verdicts) -> bool {
        v.own.holds(self.ord, || self.own.contains(word))
    }

    /// Whether the title part contains `word`.
    fn title(&self, word: &str, v: &Verdicts) -> bool {
        v.title.holds(self.doc, || self.title.contains(word))
    }

    /// Whether the whole haystack contains `word`. The title part ends in a space, so a word
    /// without whitespace is in the whole exactly when it is in one of the parts.
    fn full(&self, word: &str, v: &Verdicts) -> bool {
        self.beyond_own(word, v) || self.own(word, v)
    }

    /// [`Hay::full`] for a word the clause's own text lacks: whether it is in the title part,
    /// or, a word with whitespace, across the parts.
    fn beyond_own(&self, word: &str, v: &Verdicts) -> bool {
        if v.spaced {
            self.full.contains(word)
        } else {
            self.title(word, v)
        }
    }
}

/// Whether `hay` holds the word of `t` or one of its synonyms, in the part `holds` looks at;
/// the one found.
fn find(t: &QTerm, holds: impl Fn(&str, &Verdicts) -> bool) -> Option<&str> {
    if holds(&t.text, &t.verdicts.text) {
        Some(t.text.as_str())
    } else {
        t.alts
            .iter()
            .zip(&t.verdicts.alts)
            .find(|((a, _), v)| holds(a, v))
            .map(|((a, _), _)| a.as_str())
    }
}

/// Share of the parts of `t` that `holds` finds (0 without parts).
fn part_share(t: &QTerm, holds: impl Fn(&str, &Verdicts) -> bool) -> f32 {
    if t.parts.is_empty() {
        return 0.0;
    }
    let held = (t.parts.iter().zip(&t.verdicts.parts))
        .filter(|(p, v)| holds(p, v))
        .count();
    held as f32 / t.parts.len() as f32
}

impl KnowledgeBase {
    /// Searches the knowledge base for `question`.
    #[must_use]
    ///
    /// A question of several sentences ("…要审批吗？缓缴期间还能提取吗") is also searched sentence by
    /// sentence, and the best clause of each sentence is interleaved with those of the whole
    /// question, so that each part finds its own clause.
    pub fn search(&self, question: &str, opts: &SearchOptions) -> Retrieval {
        // A later page (更多结果) is read off the first page's ranking when it is still kept.
        let paging = opts.offset > 0;
        let parts = sentences(question);
        if parts.len() < 2 {
            return self.search_one(question, opts, paging);
        }
        let wide = SearchOptions {
            k: opts.offset + opts.k,
            offset: 0,
            region: opts.region.clone(),
            own_region: opts.own_region,
        };
        let mut whole = self.search_one(question, &wide, paging);
        if whole.declined {
            return whole;
        }
        let part_opts = SearchOptions {
            region: wide.region.clone().or_else(|| whole.region.clone()),
            ..wide.clone()
        };
        let mut lists: Vec<Vec<Hit>> = vec![std::mem::take(&mut whole.hits)];
        lists.extend(
            parts
                .iter()
                .map(|p| self.search_one(p, &part_opts, paging))
                .filter(|r| !r.declined)
                .map(|r| r.hits),
        );
        let mut merged: Vec<Hit> = Vec::with_capacity(wide.k);
        let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
        for i in 0..longest {
            for list in &lists {
                if let Some(h) = list.get(i)
                    && !merged.iter().any(|m| m.clause == h.clause)
                {
                    merged.push(h.clone());
                }
            }
        }
        whole.hits = merged.into_iter().skip(opts.offset).take(opts.k).collect();
        whole
    }

    /// Searches for `question` as one query; with `paging`, reads the page off a kept ranking
    /// of the same search when there is one. A ranking with a page after this one is kept.
    fn search_one(&self, question: &str, opts: &SearchOptions, paging: bool) -> Retrieval {
        let started = Instant::now();
        let numbers = normalize_numbers(&self.places.blank_out(question));
        let (mut repaired, corrections) = self.repair_typos(numbers);
        // A place is named in the question, or typed wrong and repaired (安样 → 安阳).
        let mut named = self.places.detect(question);
        if named.is_none() && !corrections.is_empty() {
            named = self.places.detect(&repaired);
            if named.is_some() {
                repaired = self.places.blank_out(&repaired);
            }
        }
        let region = opts
            .region
            .as_deref()
            .and_then(|r| self.places.resolve(r))
            .or_else(|| named.map(|(_, path)| path))
            .map(str::to_string);
        let key = || PageKey::new(question, region.as_deref(), opts.own_region);
        if paging
            && let Some(page) = self
                .pages
                .get(&key())
                .and_then(|r| r.page(opts.offset, opts.k))
        {
            return page;
        }
        let stripped = collapse_a_not_a(&self.multi_char_stopwords.blank_out(&repaired));
        let terms = self.terms(&stripped);
        let content: Vec<String> = terms
            .iter()
            .filter(|t| t.maximal)
            .map(|t| t.text.clone())
            .collect();
        let mut out = Retrieval {
            terms: content,
            corrections,
            region: region.clone(),
            ..Retrieval::default()
        };
        if terms.is_empty() {
            out.declined = true;
            return out;
        }
        let all_grams = bigrams(&stripped);
        let mut unique = HashSet::with_capacity(all_grams.len());
        let grams: Vec<&str> = (all_grams.iter().map(String::as_str))
            .filter(|g| unique.insert(*g))
            .collect();
        let (query, spans) = self.query(&terms, &grams);
        let analysed = Instant::now();
        stages::add(Stage::Segment, analysed - started);
        let (matches, doc_freqs) = self.matcher.matches(&query);
        let top = matcher::top(matches, CANDIDATES);
        let (idf, unknown) = self.idf(&terms, &query, &spans, &doc_freqs);
        let searched = Instant::now();
        stages::add(Stage::Search, searched - analysed);
        let _rerank = Lap::since(Stage::Rerank, searched);
        let asks = Asks::of(question, &self.lexicon.answer_types);
        out.wants_figure = asks.figure();
        let mut scored: Vec<(usize, f32, f32, Vec<&str>)> = Vec::with_capacity(top.len());
        for (bm25, _, _, ord) in top {
            let Ok(ord) = usize::try_from(ord) else {
                continue;
            };
            if ord >= self.corpus.clauses.len() {
                continue;
            }
            let (coverage, matched) = self.coverage(ord, &terms, &idf);
            let score = bm25.powf(ALPHA)
                * (FLOOR + coverage).powf(BETA)
                * self.prior(ord, region.as_deref(), opts.own_region)
                * asks.boost(&self.facts[ord], &self.corpus.clauses[ord]);
            scored.push((ord, score, coverage, matched));
        }
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        out.coverage = self.union_coverage(&scored, &terms, &idf);
        out.signals = self.signals(&scored, &terms, &idf, &unknown, out.coverage);
        if out.coverage < MIN_COVERAGE {
            out.declined = true;
            return out;
        }
        let mut ranked = group(scored, |ord| self.corpus.clauses[ord].doc);
        self.demote_copies(&mut ranked);
        if ranked.len() >= opts.offset + opts.k {
            self.pages.keep(key(), || Ranking::new(&out, &ranked));
        }
        out.hits = ranked
            .into_iter()
            .skip(opts.offset)
            .take(opts.k)
            .map(|(clause, score, matched)| Hit {
                clause,
                score,
                matched: matched.into_iter().map(str::to_string).collect(),
            })
            .collect();
        out
    }

    /// Where typos may be in `text`: its default-mode words, marking the ones jieba made up or
    /// left as a single character (what a mistyped word becomes) and the function words: stop
    /// words, single stop-word characters, and any word holding a grammar character. A longer
    /// word jieba made up around a stop-word character (神请, 公四在) stays odd: the character
    /// may be the typo (申请 typed 神请).
    fn suspects(&self, text: &str) -> Suspects {
        let char_at = |byte: usize| text[..byte].chars().count();
        let words = self
            .segmenter
            .words(text)
            .into_iter()
            .map(|w| {
                let (from, to) = (char_at(w.start), char_at(w.end));
                let single = to - from == 1;
                let stop_char = |c: char| {
                    self.lexicon
                        .stopwords
                        .contains(c.encode_utf8(&mut [0; 4]) as &str)
                };
                let grammar = |c: char| FUNCTION_CHARS.contains(c) || PARTICLES.contains(c);
                let kind = if self.lexicon.stopwords.contains(&w.text)
                    || w.text.chars().any(grammar)
                    || (single && w.text.chars().any(stop_char))
                {
                    Suspect::Function
                } else if single || !self.segmenter.knows(&w.text) {
                    Suspect::Odd
                } else {
                    Suspect::Word
                };
                (from, to, kind)
            })
            .collect();
        Suspects { words }
    }

    /// Typo repair by sound (see [`crate::text::spelling`]). A span is a suspect when it lies on
    /// word boundaries around an odd word ([`Suspects::allows`]), is not a dictionary word, and
    /// holds a character pair the corpus never contains. A question all of whose pairs occur in
    /// the corpus (most of them) is returned as it is, without segmenting it again.
    fn repair_typos(&self, text: String) -> (String, Vec<Correction>) {
        let absent: HashSet<String> = bigrams(&text)
            .into_iter()
            .filter(|g| self.matcher.doc_freq(self.fields.bigram, g) == 0)
            .collect();
        if absent.is_empty() {
            return (text, Vec::new());
        }
        let suspects = self.suspects(&text);
        self.speller.repair(&text, |from, to, span| {
            suspects.allows(from, to)
                && !self.segmenter.knows(span)
                && bigrams(span).iter().any(|g| absent.contains(g))
        })
    }

    fn terms(&self, text: &str) -> Vec<QTerm> {
        let tokens = self.segmenter.tokens(text);
        let mut seen = HashSet::new();
        let mut out: Vec<QTerm> = Vec::new();
        for (i, tok) in tokens.iter().enumerate() {
            if self.lexicon.stopwords.contains(&tok.text) || !seen.insert(tok.text.as_str()) {
                continue;
            }
            let chars = tok.text.chars().count();
            let cjk = tok.text.chars().any(is_cjk);
            let weight = if !cjk {
                ASCII_WEIGHT
            } else if chars == 1 {
                CHAR_WEIGHT
            } else {
                match self.segmenter.tag(&tok.text) {
                    None => UNKNOWN_WEIGHT,
                    Some(tag) => tag_weight(&tag),
                }
            };
            let maximal = !tokens.iter().enumerate().any(|(j, o)| {
                j != i
                    && o.start <= tok.start
                    && tok.end <= o.end
                    && o.end - o.start > tok.end - tok.start
            });
            let parts = if maximal {
                tokens
                    .iter()
                    .filter(|o| {
                        tok.start <= o.start
                            && o.end <= tok.end
                            && o.text != tok.text
                            && o.text.chars().count() >= 2
                    })
                    .map(|o| o.text.clone())
                    .collect()
            } else {
                Vec::new()
            };
            let alts = self
                .lexicon
                .synonyms
                .get(&tok.text)
                .cloned()
                .unwrap_or_default();
            let verdicts = TermVerdicts {
                text: self.grams.verdicts(&tok.text),
                alts: alts.iter().map(|(a, _)| self.grams.verdicts(a)).collect(),
                parts: parts.iter().map(|p| self.grams.verdicts(p)).collect(),
            };
            out.push(QTerm {
                text: tok.text.clone(),
                weight,
                alts,
                maximal,
                parts,
                verdicts,
            });
        }
        out
    }

    /// The weighted term query: every term and synonym in the title, path and body fields, and
    /// the question's distinct character bigrams in the bigram field; and where in it the words
    /// of each term are.
    fn query<'q>(
        &self,
        terms: &'q [QTerm],
        grams: &[&'q str],
    ) -> (Vec<Weighted<'q>>, Vec<Range<usize>>) {
        let f = self.fields;
        let mut query = Vec::new();
        let mut spans = Vec::with_capacity(terms.len());
        for t in terms {
            let from = query.len();
            for (word, w) in
                std::iter::once((&t.text, 1.0)).chain(t.alts.iter().map(|(a, w)| (a, *w)))
            {
                let w = w * t.weight;
                query.push((f.title, word.as_str(), TITLE_BOOST * w));
                query.push((f.path, word.as_str(), PATH_BOOST * w));
                query.push((f.body, word.as_str(), BODY_BOOST * w));
            }
            spans.push(from..query.len());
        }
        query.extend(grams.iter().map(|g| (f.bigram, *g, BIGRAM_BOOST)));
        (query, spans)
    }

    /// Inverse document frequency of each maximal term (its best synonym counts too), and the
    /// terms that occur in no clause, synonyms included. The body-field document frequencies
    /// are those matching found for `query` (`spans`: each term's part of it).
    fn idf(
        &self,
        terms: &[QTerm],
        query: &[Weighted<'_>],
        spans: &[Range<usize>],
        doc_freqs: &[u64],
    ) -> (Vec<f32>, Vec<bool>) {
        let n = self.matcher.num_docs().max(1) as f32;
        let (mut idf, mut unknown) = (vec![0.0; terms.len()], vec![false; terms.len()]);
        for (i, t) in terms.iter().enumerate().filter(|(_, t)| t.maximal) {
            // The word's and each synonym's, in the body field.
            let d = (spans[i].clone())
                .filter(|&k| query[k].0 == self.fields.body)
                .map(|k| doc_freqs[k] as f32)
                .fold(0.0, f32::max);
            let mut w = (1.0 + n / (1.0 + d)).ln() * t.weight;
            if d == 0.0 {
                unknown[i] = true;
                w *= ABSENT_SHARE;
            }
            idf[i] = w;
        }
        (idf, unknown)
    }

    /// The haystack of clause `ord`.
    fn hay(&self, ord: usize) -> Hay<'_> {
        let (full, split) = &self.haystacks[ord];
        Hay {
            full,
            title: &full[..*split],
            own: &full[*split..],
            ord,
            doc: self.corpus.clauses[ord].doc,
        }
    }

    /// IDF-weighted share of the maximal terms found in clause `ord`, and the words matched
    /// (question terms or their synonyms, as they occur in the clause).
    fn coverage<'t>(&self, ord: usize, terms: &'t [QTerm], idf: &[f32]) -> (f32, Vec<&'t str>) {
        // Ranking rewards words in the clause itself; the document title counts for half.
        let hay = self.hay(ord);
        let mut matched = Vec::new();
        let (mut got, mut all) = (0.0, 0.0);
        for (t, &w) in terms.iter().zip(idf) {
            let hit = find(t, |w, p| hay.own(w, p));
            if t.maximal {
                all += w;
                if hit.is_some() {
                    got += w;
                } else if find(t, |w, p| hay.beyond_own(w, p)).is_some() {
                    // Not in the clause's own text: in the title part (or across the parts,
                    // for a word with a space).
                    got += TITLE_CREDIT * w;
                } else if !t.parts.is_empty() {
                    got += PART_CREDIT * w * part_share(t, |w, p| hay.own(w, p));
                }
            }
            if let Some(h) = hit
                && h.chars().count() >= 2
                && !matched.contains(&h)
            {
                matched.push(h);
            }
        }
        let coverage = if all > 0.0 { got / all } else { 0.0 };
        (coverage, matched)
    }

    /// Moves near-identical copies of a clause already ranked higher (the same national measure
    /// restated by a province and two cities) below the distinct results of the first
    /// [`COPY_DEPTH`].
    fn demote_copies(&self, ranked: &mut Vec<(usize, f32, Vec<&str>)>) {
        let depth = COPY_DEPTH.min(ranked.len());
        let grams: Vec<&Pairs> = ranked[..depth]
            .iter()
            .map(|(ord, _, _)| &self.facts[*ord].pairs)
            .collect();
        let mut copies = Vec::new();
        for i in 1..depth {
            let copy = (0..i)
                .filter(|j| !copies.contains(j))
                .any(|j| similar(grams[i], grams[j], COPY_SIMILARITY));
            if copy {
                copies.push(i);
            }
        }
        for i in copies.into_iter().rev() {
            let item = ranked.remove(i);
            let at = depth.min(ranked.len());
            ranked.insert(at, item);
        }
    }

    /// Coverage of the question by the best [`COVERAGE_HITS`] candidates together, so that a
    /// two-part question answered by two clauses is not declined.
    fn union_coverage(
        &self,
        scored: &[(usize, f32, f32, Vec<&str>)],
        terms: &[QTerm],
        idf: &[f32],
    ) -> f32 {
        let top: Vec<Hay<'_>> = scored
            .iter()
            .take(COVERAGE_HITS)
            .map(|s| self.hay(s.0))
            .collect();
        let (mut got, mut all) = (0.0, 0.0);
        for (t, &w) in terms.iter().zip(idf).filter(|(t, _)| t.maximal) {
            all += w;
            if top.iter().any(|h| find(t, |w, p| h.full(w, p)).is_some()) {
                got += w;
            } else {
                got += PART_CREDIT
                    * w
                    * top
                        .iter()
                        .map(|h| part_share(t, |w, p| h.full(w, p)))
                        .fold(0.0, f32::max);
            }
        }
        if all > 0.0 { got / all } else { 0.0 }
    }

    /// Evidence for the answered/related decision (see [`Signals`]).
    fn signals(
        &self,
        scored: &[(usize, f32, f32, Vec<&str>)],
        terms: &[QTerm],
        idf: &[f32],
        unknown_terms: &[bool],
        union_coverage: f32,
    ) -> Signals {
        let Some(best) = scored.first() else {
            return Signals::default();
        };
        let fifth = scored[scored.len().min(COVERAGE_HITS) - 1].1;
        let hay = self.hay(best.0);
        let (mut all, mut unknown, mut rarest, mut missing) = (0.0f32, 0.0, 0.0f32, 0.0f32);
        for ((t, &w), &absent) in terms.iter().zip(idf).zip(unknown_terms) {
            if !t.maximal {
                continue;
            }
            let mut w = w;
            if absent {
                // The evidence counts an absent word at its full IDF.
                w /= ABSENT_SHARE;
                unknown += w;
            }
            all += w;
            rarest = rarest.max(w);
            let found = find(t, |w, p| hay.full(w, p)).is_some()
                || part_share(t, |w, p| hay.full(w, p)) >= 1.0;
            if !found {
                missing = missing.max(w);
            }
        }
        Signals {
            best_coverage: best.2,
            union_coverage,
            unknown: if all > 0.0 { unknown / all } else { 0.0 },
            missing_head: if rarest > 0.0 { missing / rarest } else { 0.0 },
            margin: if fifth > 0.0 { best.1 / fifth } else { 1.0 },
            best_text: hay.full.to_string(),
        }
    }

    /// Region and unit-kind prior of clause `ord`; `own_region`: see [`SearchOptions`].
    fn prior(&self, ord: usize, region: Option<&str>, own_region: bool) -> f32 {
        let clause = &self.corpus.clauses[ord];
        rank::prior(
            &self.corpus.documents[clause.doc],
            clause.kind,
            region,
            own_region,
        )
    }
}

/// Single characters that are grammar, not content: never part of a typo.
const FUNCTION_CHARS: &str = "不没给对从向把被将和跟同或及等个些每各该其之以于为所而且";
/// Particles and modal verbs, which frame a question rather than name its topic: a word that
/// holds one is never part of a typo, even one jieba made up (得 in 高得离谱, 能 in 期能).
const PARTICLES: &str = "的地得了着吗呢吧啊呀哦嘛么啦呗能会要可";

/// How a word of the question may take part in a typo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Suspect {
    /// A dictionary word of two or more characters: may join a typo only beside an odd word.
    Word,
    /// A single content character or a word jieba made up.
    Odd,
    /// A stop word or function character: never part of a typo.
    Function,
}

/// The words of a question (character offsets) and how each may take part in a typo.
struct Suspects {
    words: Vec<(usize, usize, Suspect)>,
}

impl Suspects {
    /// A span may be a typo when it starts and ends on word boundaries (or inside a word jieba
    /// made up: its bounds are guesses, and it may have glued a mistyped character to its
    /// neighbour, as 公四在 for 公司在), holds or overlaps at least one odd word, and holds no
    /// function word.
    fn allows(&self, from: usize, to: usize) -> bool {
        let made_up_around =
            |w: &(usize, usize, Suspect), at: usize| w.2 == Suspect::Odd && w.0 < at && at < w.1;
        let starts = (self.words.iter()).any(|w| w.0 == from || made_up_around(w, from));
        let ends = (self.words.iter()).any(|w| w.1 == to || made_up_around(w, to));
        let inside = self.words.iter().filter(|w| {
            (from <= w.0 && w.1 <= to) || (w.2 == Suspect::Odd && w.0 < to && from < w.1)
        });
        let (mut odd, mut function) = (false, false);
        for w in inside {
            odd |= w.2 == Suspect::Odd;
            function |= w.2 == Suspect::Function;
        }
        starts && ends && odd && !function
    }
}

/// The sentences of a question that asks several things (split at question marks and
/// semicolons; pieces of fewer than four characters stay with the one before).
fn sentences(question: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for piece in question.split(['？', '?', '；', ';']) {
        let piece = piece.trim();
        if piece.chars().count() >= 4 {
            out.push(piece.to_string());
        } else if let Some(last) = out.last_mut() {
            last.push_str(piece);
        }
    }
    out
}

/// Orders candidates so one document does not fill the list: each further hit from a document
/// already placed is scaled by [`SAME_DOC_DECAY`] per earlier hit, then candidates are re-sorted.
fn group<'t>(
    scored: Vec<(usize, f32, f32, Vec<&'t str>)>,
    doc_of: impl Fn(usize) -> usize,
) -> Vec<(usize, f32, Vec<&'t str>)> {
    // Hits so far per document: a few dozen candidates, so a list beats hashing.
    let mut per_doc: Vec<(usize, i32)> = Vec::with_capacity(scored.len());
    let mut out: Vec<(usize, f32, Vec<&'t str>)> = scored
        .into_iter()
        .map(|(ord, score, _, matched)| {
            let doc = doc_of(ord);
            let at = (per_doc.iter().position(|(d, _)| *d == doc)).unwrap_or_else(|| {
                per_doc.push((doc, 0));
                per_doc.len() - 1
            });
            let n = &mut per_doc[at].1;
            let s = score * SAME_DOC_DECAY.powi(*n);
            *n += 1;
            (ord, s, matched)
        })
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::grams::{GramIndex, TextGrams, Verdict};

    fn term(text: &str, alts: &[&str], parts: &[&str]) -> QTerm {
        let alts: Vec<(String, f32)> = alts.iter().map(|a| (a.to_string(), 0.8)).collect();
        let parts: Vec<String> = parts.iter().map(ToString::to_string).collect();
        QTerm {
            text: text.to_string(),
            weight: 1.0,
            verdicts: TermVerdicts {
                text: scan(),
                alts: alts.iter().map(|_| scan()).collect(),
                parts: parts.iter().map(|_| scan()).collect(),
            },
            alts,
            maximal: true,
            parts,
        }
    }

    /// Verdicts that leave every word to the scan.
    fn scan() -> Verdicts {
        Verdicts {
            own: Verdict::Scan,
            title: Verdict::Scan,
            spaced: false,
        }
    }

    #[test]
    fn part_share_counts_parts() {
        let in_text = |w: &str, _: &Verdicts| "钢铁产业".contains(w);
        assert!(
            (part_share(&term("钢铁行业", &[], &["钢铁", "行业"]), in_text) - 0.5).abs() < 1e-6
        );
        assert_eq!(part_share(&term("钢铁", &[], &[]), in_text), 0.0);
    }

    #[test]
    fn find_returns_the_word_or_the_synonym_found() {
        let in_text = |w: &str, _: &Verdicts| "缓缴社会保险费".contains(w);
        assert_eq!(
            find(&term("社保", &["社会保险费"], &[]), in_text),
            Some("社会保险费")
        );
        assert_eq!(find(&term("缓缴", &["延期"], &[]), in_text), Some("缓缴"));
        assert_eq!(find(&term("贷款", &["信贷"], &[]), in_text), None);
    }

    #[test]
    fn a_haystack_finds_words_in_either_part_but_not_across_them() {
        let full = "稳经济若干措施 豫政〔2022〕1号 一、加大 贷款贴息";
        let split = full.find("一、").expect("own part");
        let index = GramIndex::new(
            &[TextGrams::of(&full[split..])],
            &[TextGrams::of(&full[..split])],
        );
        let hay = Hay {
            full,
            title: &full[..split],
            own: &full[split..],
            ord: 0,
            doc: 0,
        };
        for word in [
            "稳经济",
            "贷款贴息",
            "1号",
            "加大",
            "若干",
            "号 一",
            "措施 豫政",
            "大 贷",
            "稳",
            "贴",
            "、",
            " ",
        ] {
            let v = index.verdicts(word);
            assert_eq!(hay.full(word, &v), full.contains(word), "{word}");
            if !hay.own(word, &v) {
                assert_eq!(hay.beyond_own(word, &v), full.contains(word), "{word}");
            }
        }
        let v = |word: &str| index.verdicts(word);
        assert!(hay.title("若干", &v("若干")) && !hay.own("若干", &v("若干")));
        assert!(hay.own("贴息", &v("贴息")) && !hay.title("贴息", &v("贴息")));
        assert!(
            !hay.full("号一", &v("号一")),
            "not across the space between the parts"
        );
    }
}
