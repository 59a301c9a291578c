//! [`Pages`]: the whole ranking of recent first pages, kept so that a later page of the same
//! question (更多结果) is read off it instead of searched again. A page read here is the page a
//! new search would give (same hits, scores, matched words and signals), since a search ranks
//! all its candidates before it skips to the page asked for. Bounded: the oldest ranking goes
//! first; a page whose ranking is gone is searched again.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use super::{Hit, Retrieval};

/// Rankings kept (each at most [`DEPTH`] clauses and their matched words: a few kilobytes).
const KEPT: usize = 512;

/// Clauses kept of a ranking: the first five pages or so; a page beyond them is searched again.
const DEPTH: usize = 30;

/// What a ranking depends on besides the index: the question, the region it favoured (resolved,
/// so a page asked with the region the first page found is the same ranking) and whether that
/// region's own documents came first.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct PageKey {
    question: Box<str>,
    region: Option<Box<str>>,
    own_region: bool,
}

impl PageKey {
    pub(super) fn new(question: &str, region: Option<&str>, own_region: bool) -> PageKey {
        PageKey {
            question: question.into(),
            region: region.map(Into::into),
            own_region,
        }
    }
}

/// One search's outcome with all its ranked clauses.
#[derive(Debug)]
pub(super) struct Ranking {
    /// The outcome without hits.
    head: Retrieval,
    /// The words matched by any ranked clause.
    words: Vec<String>,
    /// Each ranked clause: its ordinal, score, and where its matched words' indices in `words`
    /// are in `matched`.
    ranked: Vec<(usize, f32, u32, u32)>,
    matched: Vec<u16>,
    /// Whether `ranked` holds every ranked clause (not cut at [`DEPTH`]).
    whole: bool,
}

impl Ranking {
    /// The ranking of `ranked` (best first; each clause's matched words in order; its first
    /// [`DEPTH`] kept), with the rest of the outcome from `head` (its hits are ignored).
    pub(super) fn new(head: &Retrieval, ranked: &[(usize, f32, Vec<&str>)]) -> Ranking {
        let whole = ranked.len() <= DEPTH;
        let ranked = &ranked[..ranked.len().min(DEPTH)];
        // The matched words are slices of the question's terms: told apart by address, so
        // that a word is a comparison of two pointers (a word found at two addresses is listed
        // twice, which changes nothing). Each clause's words come in the order of the question's
        // terms, so the search for a word starts after the one before it.
        let mut words: Vec<&str> = Vec::new();
        let mut matched: Vec<u16> = Vec::with_capacity(ranked.iter().map(|r| r.2.len()).sum());
        let ranked = (ranked.iter())
            .map(|(ord, score, hit)| {
                let from = matched.len() as u32;
                let mut next = 0;
                for &w in hit {
                    let n = words.len();
                    let at = ((0..n).map(|i| (next + i) % n))
                        .find(|&i| std::ptr::eq(words[i], w))
                        .unwrap_or_else(|| {
                            words.push(w);
                            n
                        });
                    matched.push(at as u16);
                    next = at + 1;
                }
                (*ord, *score, from, matched.len() as u32)
            })
            .collect();
        Ranking {
            head: Retrieval {
                hits: Vec::new(),
                ..head.clone()
            },
            words: words.into_iter().map(str::to_string).collect(),
            ranked,
            matched,
            whole,
        }
    }

    /// The outcome with `k` hits from `offset` on; `None` when they go past the clauses kept.
    pub(super) fn page(&self, offset: usize, k: usize) -> Option<Retrieval> {
        if !self.whole && offset + k > self.ranked.len() {
            return None;
        }
        let hits = (self.ranked.iter().skip(offset).take(k))
            .map(|&(clause, score, from, to)| Hit {
                clause,
                score,
                matched: (self.matched[from as usize..to as usize].iter())
                    .map(|&i| self.words[usize::from(i)].clone())
                    .collect(),
            })
            .collect();
        Some(Retrieval {
            hits,
            ..self.head.clone()
        })
    }
}

/// Recent rankings by [`PageKey`], oldest first out.
#[derive(Debug, Default)]
pub(super) struct Pages {
    kept: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    rankings: FxHashMap<PageKey, Arc<Ranking>>,
    order: VecDeque<PageKey>,
}

impl Pages {
    /// The ranking kept for `key`.
    pub(super) fn get(&self, key: &PageKey) -> Option<Arc<Ranking>> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.rankings.get(key).cloned()
    }

    /// Keeps the ranking `make` gives for `key`, unless one is kept already (the same question
    /// asked again has the same ranking: it is not worked out twice), dropping the oldest
    /// beyond [`KEPT`].
    pub(super) fn keep(&self, key: PageKey, make: impl FnOnce() -> Ranking) {
        if self.get(&key).is_some() {
            return;
        }
        let ranking = Arc::new(make());
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.rankings.insert(key.clone(), ranking).is_none() {
            kept.order.push_back(key);
        }
        while kept.order.len() > KEPT {
            if let Some(old) = kept.order.pop_front() {
                kept.rankings.remove(&old);
            }
        }
    }

    /// Number of rankings kept.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.kept.lock().map(|k| k.rankings.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_read_off_the_ranking_with_its_matched_words_in_order() {
        let head = Retrieval {
            terms: vec!["贷款".to_string()],
            coverage: 0.5,
            hits: vec![Hit {
                clause: 9,
                score: 9.0,
                matched: Vec::new(),
            }],
            ..Retrieval::default()
        };
        let ranked = vec![
            (3, 3.0, vec!["贷款", "担保"]),
            (1, 2.0, vec!["担保", "贷款"]),
            (7, 1.0, vec![]),
        ];
        let r = Ranking::new(&head, &ranked);
        let page = r.page(1, 5).expect("the whole ranking is kept");
        assert_eq!(page.coverage, 0.5);
        assert_eq!(page.terms, head.terms);
        let hits: Vec<(usize, f32, Vec<String>)> = (page.hits.into_iter())
            .map(|h| (h.clause, h.score, h.matched))
            .collect();
        assert_eq!(
            hits,
            vec![
                (1, 2.0, vec!["担保".to_string(), "贷款".to_string()]),
                (7, 1.0, vec![])
            ]
        );
        assert!(r.page(3, 5).expect("past the end").hits.is_empty());

        let long: Vec<(usize, f32, Vec<&str>)> =
            (0..DEPTH + 5).map(|i| (i, 1.0, vec!["贷款"])).collect();
        let cut = Ranking::new(&head, &long);
        let last = cut.page(DEPTH - 5, 5).expect("within the kept clauses");
        assert_eq!(last.hits.last().map(|h| h.clause), Some(DEPTH - 1));
        assert!(cut.page(DEPTH - 5, 6).is_none(), "past the kept clauses");
    }

    #[test]
    fn the_oldest_ranking_goes_first() {
        let pages = Pages::default();
        let empty = || Ranking::new(&Retrieval::default(), &[]);
        for i in 0..KEPT + 3 {
            pages.keep(PageKey::new(&format!("问题{i}"), None, false), empty);
        }
        assert_eq!(pages.len(), KEPT);
        pages.keep(PageKey::new("问题3", None, false), || {
            panic!("a ranking kept is not worked out again")
        });
        assert!(pages.get(&PageKey::new("问题0", None, false)).is_none());
        assert!(pages.get(&PageKey::new("问题3", None, false)).is_some());
        assert!(
            (pages.get(&PageKey::new("问题3", Some("安阳市"), false))).is_none(),
            "the region is part of the key"
        );
    }
}
