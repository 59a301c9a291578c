//! What ranking knows beyond the words: per clause, computed once when the index is opened
//! ([`Facts`]: character bigrams for copy detection, characters and bigrams for telling whether a
//! word occurs without a scan, whether it states a time limit or an amount), and per question,
//! what kind of answer it asks for ([`Asks`]: a date, an amount, the responsible units), the
//! boost of a clause that carries it, and the question without those words (for follow-ups).
//! The words on both sides are the lexicon's: `answer_types.tsv` for the question,
//! `clause_facts.tsv` for the clause.

use std::collections::HashMap;
use std::sync::Arc;

use crate::text::chars::has_amount;
use crate::text::lexicon::{AnswerTypes, ClauseFacts};
use crate::text::segment::Segmenter;

/// What ranking needs to know about a clause, computed once when the index is opened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// Characters and character bigrams of the clause's own text (copy detection, and whether a
    /// word occurs in it without a scan, or before one: [`Facts::holds`]).
    pub(super) grams: Grams,
    /// The same of its haystack's title part (the document's title and 文号), shared by the
    /// clauses of a document.
    title_grams: Arc<Grams>,
    /// Carries a date, deadline or time limit.
    time_limit: bool,
    /// Carries an amount, rate or count.
    amount: bool,
}

/// Facts of every clause; `haystacks` are the normalised texts with the clause-own offset, `words`
/// the lexicon's time-limit words and quantity units.
#[must_use]
pub fn facts(
    corpus: &crate::corpus::Corpus,
    haystacks: &[(String, usize)],
    words: &ClauseFacts,
) -> Vec<Facts> {
    let mut titles: HashMap<usize, Arc<Grams>> = HashMap::new();
    corpus
        .clauses
        .iter()
        .zip(haystacks)
        .map(|(c, (full, split))| Facts {
            grams: Grams::of(&full[*split..]),
            title_grams: titles
                .entry(c.doc)
                .or_insert_with(|| Grams::of(&full[..*split]).into())
                .clone(),
            time_limit: has_time_limit(&c.text, &words.time),
            amount: has_amount(&c.text, &words.quantity),
        })
        .collect()
}

impl Facts {
    /// Whether the clause's own text contains `word` (`pairs`: its [`pairs`]), as far as its
    /// characters and bigrams tell (see [`Grams::holds`]); `None` when only a scan can tell.
    pub(super) fn holds(&self, word: &str, pairs: &[u64]) -> Option<bool> {
        self.grams.holds(word, pairs)
    }

    /// Facts of a haystack alone (its characters and bigrams; no time limit or amount), for
    /// tests.
    #[cfg(test)]
    pub(super) fn of_haystack(full: &str, split: usize) -> Facts {
        Facts {
            grams: Grams::of(&full[split..]),
            title_grams: Grams::of(&full[..split]).into(),
            ..Facts::default()
        }
    }

    /// The same for the title part of the clause's haystack.
    pub(super) fn title_holds(&self, word: &str, pairs: &[u64]) -> Option<bool> {
        self.title_grams.holds(word, pairs)
    }
}

/// The characters and character bigrams of a text, bigrams packed in `u64`s ([`pack`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Grams {
    /// Sorted, de-duplicated characters (whitespace included).
    chars: Vec<char>,
    /// Sorted, de-duplicated pairs of successive characters, whitespace skipped (`贷 款` pairs
    /// 贷 with 款).
    pub(super) all: Vec<u64>,
    /// Those of `all` that occur only across whitespace, never side by side (sorted).
    across_only: Vec<u64>,
    /// A blocked Bloom filter of `all` ([`Grams::may_hold`]): most words asked of a clause
    /// are not in it, and the filter tells most of those apart in one load, before the
    /// binary search that answers exactly.
    filter: Vec<u64>,
}

impl Grams {
    /// The characters and bigrams of `text`.
    fn of(text: &str) -> Grams {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        // Each pair shifted left by one, with the low bit set when whitespace lies between its
        // characters (a packed pair fits in 53 bits), so that sorting puts a pair's
        // side-by-side occurrences before those across whitespace.
        let mut prev: Option<char> = None;
        let mut across = false;
        let mut marked = Vec::with_capacity(text.len() / 3);
        for c in text.chars() {
            if c.is_whitespace() {
                across = true;
                continue;
            }
            if let Some(p) = prev {
                marked.push((pack(p, c) << 1) | u64::from(across));
            }
            prev = Some(c);
            across = false;
        }
        marked.sort_unstable();
        let mut all: Vec<u64> = Vec::with_capacity(marked.len());
        let mut across_only = Vec::new();
        for m in marked {
            let pair = m >> 1;
            if all.last() == Some(&pair) {
                continue;
            }
            all.push(pair);
            // The first occurrence of a pair in sorted order is across whitespace only when all
            // of them are.
            if m & 1 == 1 {
                across_only.push(pair);
            }
        }
        let mut filter = vec![0u64; (all.len() / FILTER_PAIRS_PER_WORD + 1).next_power_of_two()];
        for &pair in &all {
            let (word, bits) = filter_slot(pair, filter.len());
            filter[word] |= bits;
        }
        Grams {
            chars,
            all,
            across_only,
            filter,
        }
    }

    /// Whether `pair` may be among [`Grams::all`]: `false` only when it certainly is not.
    fn may_hold(&self, pair: u64) -> bool {
        if self.filter.is_empty() {
            return false;
        }
        let (word, bits) = filter_slot(pair, self.filter.len());
        self.filter[word] & bits == bits
    }

    /// Whether the text contains `word` (`pairs`: its [`pairs`]): for a word of one character
    /// the answer, from the characters; `Some(false)` when one of the pairs is not among its
    /// bigrams, so that the text certainly lacks the word; for a word of two characters (one
    /// pair, no whitespace) the answer, `Some(true)` exactly when the pair occurs side by side
    /// somewhere; `None` otherwise (a longer word, or one with whitespace), when only a scan of
    /// the text can tell.
    fn holds(&self, word: &str, pairs: &[u64]) -> Option<bool> {
        if pairs.is_empty() {
            let mut chars = word.chars();
            return match (chars.next(), chars.next()) {
                (Some(c), None) => Some(self.chars.binary_search(&c).is_ok()),
                _ => None,
            };
        }
        // Every pair through the filter first: one pair it rules out spares all the searches.
        if !pairs.iter().all(|p| self.may_hold(*p))
            || !pairs.iter().all(|p| self.all.binary_search(p).is_ok())
        {
            return Some(false);
        }
        match pairs {
            [pair] => Some(self.across_only.binary_search(pair).is_err()),
            _ => None,
        }
    }
}

/// The adjacent character pairs of `word`, packed as a clause's bigrams are, for
/// [`Facts::holds`]; none for a word of one character or with whitespace in it (the clause
/// bigrams skip whitespace, so they cannot rule such a word out).
pub(super) fn pairs(word: &str) -> Vec<u64> {
    if word.chars().any(char::is_whitespace) {
        return Vec::new();
    }
    let chars: Vec<char> = word.chars().collect();
    chars.windows(2).map(|w| pack(w[0], w[1])).collect()
}

/// What kind of answer the question asks for, read from its question words (which are stop
/// words for matching but say what the answering clause must contain).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Asks {
    /// 啥时候 / 多久 / 截止 …: a date, deadline or time limit.
    when: bool,
    /// 多少 / 最高 / 比例 …: an amount, rate or count.
    amount: bool,
    /// 谁负责 / 哪个部门 …: the responsible units.
    who: bool,
}

/// Boost of a clause that carries what the question asks for.
const ASKS_BOOST: f32 = 1.4;

impl Asks {
    pub(super) fn of(question: &str, types: &AnswerTypes) -> Self {
        let has = |words: &[String]| words.iter().any(|w| question.contains(w.as_str()));
        Asks {
            when: has(&types.when),
            amount: has(&types.amount),
            who: has(&types.who),
        }
    }

    /// Whether the question asks for a date, deadline, amount, rate or count.
    pub(super) fn figure(self) -> bool {
        self.when || self.amount
    }

    pub(super) fn boost(self, facts: &Facts, clause: &crate::corpus::Clause) -> f32 {
        let mut b = 1.0;
        if self.when && facts.time_limit {
            b *= ASKS_BOOST;
        }
        if self.amount && facts.amount {
            b *= ASKS_BOOST;
        }
        if self.who && !clause.departments.is_empty() {
            b *= ASKS_BOOST;
        }
        b
    }
}

/// A date, deadline or time limit: one of `words` (`6月30日前`, `年底前`, `起实施`,
/// `5个工作日内`, `有效期`), or a day followed closely by 前.
fn has_time_limit(text: &str, words: &[String]) -> bool {
    if words.iter().any(|w| text.contains(w.as_str())) {
        return true;
    }
    // A day followed closely by 前: `9 日下午 5:30 前`.
    text.match_indices('日')
        .any(|(at, _)| text[at..].chars().take(12).any(|c| c == '前'))
}

/// Pairs per 64-bit word of a [`Grams`] filter (at least; the word count is rounded up to a
/// power of two): two bits each, so that about one pair in twenty not in the set passes.
const FILTER_PAIRS_PER_WORD: usize = 8;

/// The word of a filter of `words` words (a power of two) that `pair` sets, and its two bits.
fn filter_slot(pair: u64, words: usize) -> (usize, u64) {
    let h = pair.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let word = (h >> 40) as usize & (words - 1);
    (word, (1 << (h & 63)) | (1 << ((h >> 6) & 63)))
}

/// A character pair packed in a `u64` (in 53 bits), as [`Grams`] stores it.
fn pack(first: char, second: char) -> u64 {
    (u64::from(u32::from(first)) << 32) | u64::from(u32::from(second))
}

/// Whether the Jaccard similarity of two sorted, de-duplicated sets reaches `threshold`. Exact,
/// but cheap for the common dissimilar pair: sets whose sizes differ too much cannot reach it
/// (|a∩b| / |a∪b| ≤ min / max), and the merge stops once the rest cannot make up the shortfall.
pub(super) fn similar(a: &[u64], b: &[u64], threshold: f32) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    // A small margin keeps the shortcuts on the safe side of float rounding.
    const SAFE: f32 = 0.999;
    if (short.len() as f32) < threshold * long.len() as f32 * SAFE {
        return false;
    }
    // inter / (|a| + |b| − inter) ≥ t  ⇔  inter ≥ t (|a| + |b|) / (1 + t).
    let need = threshold * (a.len() + b.len()) as f32 / (1.0 + threshold) * SAFE;
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        inter += usize::from(x == y);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
        if (i & 63) == 0 && ((inter + (a.len() - i).min(b.len() - j)) as f32) < need {
            return false;
        }
    }
    let inter = inter as f32;
    let union = (a.len() + b.len()) as f32 - inter;
    union > 0.0 && inter / union >= threshold
}

/// `question` without the words that say what kind of answer it wants (多少, 什么时候, 哪个部门 …),
/// so that a follow-up combined with it asks only for what the follow-up asks. A question word
/// inside a longer word of the question stays: in 工伤保险费率 the 费率 names the topic.
#[must_use]
pub fn without_question_words(
    question: &str,
    segmenter: &Segmenter,
    types: &AnswerTypes,
) -> String {
    let words = segmenter.tokens(question);
    let inside_longer = |from: usize, to: usize| {
        words
            .iter()
            .any(|w| w.start <= from && to <= w.end && w.end - w.start > to - from)
    };
    let mut cut: Vec<(usize, usize)> = Vec::new();
    for w in types.words() {
        if w.chars().count() < 2 {
            continue;
        }
        for (from, _) in question.match_indices(w) {
            let to = from + w.len();
            if !inside_longer(from, to) {
                cut.push((from, to));
            }
        }
    }
    cut.sort_unstable();
    let mut out = String::with_capacity(question.len());
    let mut at = 0;
    for (from, to) in cut {
        if from >= at {
            out.push_str(&question[at..from]);
            out.push(' ');
            at = to;
        } else {
            at = at.max(to);
        }
    }
    out.push_str(&question[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::lexicon::Lexicon;
    use crate::text::test_support::walk;

    fn lexicon() -> Lexicon {
        Lexicon::load(&crate::text::test_support::lexicon_dir()).expect("data/lexicon loads")
    }

    #[test]
    fn grams_tell_short_words_and_rule_out_others() {
        let text = "小微企业 贷款贴息，担保费补贴 业 贷";
        let facts = Facts {
            grams: Grams::of(text),
            ..Facts::default()
        };
        // Two characters: decided by the pairs (业贷 is paired only across spaces).
        for word in ["贷款", "贴息", "业贷", "社保", "息担", "，担"] {
            assert_eq!(
                facts.holds(word, &pairs(word)),
                Some(text.contains(word)),
                "{word}"
            );
        }
        // Longer words: ruled out by a missing pair, otherwise left to the scan.
        for word in ["小微企业", "担保费补贴", "企业贷"] {
            assert_eq!(facts.holds(word, &pairs(word)), None, "{word}");
        }
        for word in ["贷款利率", "社保费"] {
            assert_eq!(facts.holds(word, &pairs(word)), Some(false), "{word}");
        }
        assert!(pairs("贷").is_empty() && pairs("贷 款").is_empty());
        // One character: decided by the characters, whitespace included.
        for word in ["贷", "险", "，", " ", "\t"] {
            assert_eq!(
                facts.holds(word, &pairs(word)),
                Some(text.contains(word)),
                "{word:?}"
            );
        }
        assert_eq!(facts.holds("", &[]), None);
        assert_eq!(
            facts.holds("贷 款", &pairs("贷 款")),
            None,
            "a word with a space is never decided"
        );
        // A pair side by side somewhere and across a space elsewhere.
        let both = Grams::of("企业 贷款 企业贷款");
        assert_eq!(both.holds("业贷", &pairs("业贷")), Some(true));
        assert_eq!(both.across_only, vec![pack('款', '企')]);
    }

    #[test]
    fn short_words_are_decided_as_a_scan_decides() {
        // Every word of one, two and three characters over a small alphabet with a space and a
        // tab, in random texts over it.
        let alphabet: Vec<char> = "贷款 息\t贷".chars().collect();
        let mut next = walk(5);
        for _ in 0..300 {
            let text: String = (0..next() % 12)
                .map(|_| alphabet[next() % alphabet.len()])
                .collect();
            let grams = Grams::of(&text);
            for c in ['贷', '款', '息', ' ', '\t'] {
                let word = c.to_string();
                assert_eq!(
                    grams.holds(&word, &pairs(&word)),
                    Some(text.contains(c)),
                    "{text:?} {word:?}"
                );
            }
            for a in ['贷', '款', '息'] {
                for b in ['贷', '款', '息'] {
                    let word: String = [a, b].iter().collect();
                    assert_eq!(
                        grams.holds(&word, &pairs(&word)),
                        Some(text.contains(&word)),
                        "{text:?} {word}"
                    );
                    for c in ['贷', '款', '息'] {
                        let longer = format!("{word}{c}");
                        if grams.holds(&longer, &pairs(&longer)) == Some(false) {
                            assert!(!text.contains(&longer), "{text:?} {longer}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_filter_never_rules_out_a_pair_the_text_holds() {
        // Texts of up to 2,000 characters over 60 ideographs: filters of up to 256 words.
        let alphabet: Vec<char> = ('一'..='龥').step_by(347).take(60).collect();
        let mut next = walk(11);
        let (mut absent, mut passed) = (0, 0);
        for _ in 0..40 {
            let text: String = (0..next() % 2000)
                .map(|_| alphabet[next() % alphabet.len()])
                .collect();
            let grams = Grams::of(&text);
            assert!(grams.all.iter().all(|&p| grams.may_hold(p)), "{text}");
            for a in &alphabet {
                for b in &alphabet {
                    let p = pack(*a, *b);
                    if grams.all.binary_search(&p).is_err() {
                        absent += 1;
                        passed += usize::from(grams.may_hold(p));
                    }
                }
            }
        }
        // Two bits in a word per pair, at most eight pairs a word: about one in twenty passes
        // at that load; asserted loosely.
        assert!(
            passed * 5 < absent,
            "{passed} of {absent} absent pairs passed"
        );
    }

    #[test]
    fn answer_types_are_read_from_question_words() {
        let Lexicon {
            answer_types: types,
            clause_facts,
            ..
        } = lexicon();
        let a = Asks::of("社保能缓缴到啥时候，找哪个部门", &types);
        assert!(a.when && a.who && !a.amount);
        assert!(Asks::of("最高能贷多少", &types).amount);
        let time = &clause_facts.time;
        assert!(has_time_limit("于 2022 年 6 月 30 日前完成", time));
        assert!(has_time_limit(
            "于 2022 年 6 月 9 日下午 5：30 前报送",
            time
        ));
        assert!(has_time_limit("自印发之日起施行", time));
        assert!(!has_time_limit("加大信贷投放力度", time));
    }

    #[test]
    fn question_words_go_but_not_from_inside_longer_words() {
        let seg = Segmenter::load(&crate::text::test_support::lexicon_dir()).expect("loads");
        let types = lexicon().answer_types;
        let topic = without_question_words("工伤保险费率今年还降吗", &seg, &types);
        assert!(topic.contains("工伤保险费率"), "{topic}");
        let topic = without_question_words("创业担保贷款利率最高多少", &seg, &types);
        assert!(topic.contains("创业担保贷款"), "{topic}");
        assert!(
            !topic.contains("多少") && !topic.contains("最高"),
            "{topic}"
        );
        let topic = without_question_words("社保缓缴到什么时候，找哪个部门", &seg, &types);
        assert!(
            !topic.contains("什么时候") && !topic.contains("部门"),
            "{topic}"
        );
    }

    #[test]
    fn bigram_similarity_counts_shared_pairs() {
        let a = Grams::of("普惠 小微贷款").all;
        let b = Grams::of("普惠小微企业").all;
        assert_eq!(a.len(), 5);
        // 普惠 惠小 小微 shared of 7: Jaccard 3/7.
        assert!(similar(&a, &b, 0.42));
        assert!(!similar(&a, &b, 0.44));
        assert!(!similar(&[], &[], 0.1));
    }

    #[test]
    fn similarity_shortcuts_agree_with_the_plain_ratio() {
        // Sets of varied sizes and overlaps from a fixed pseudo-random walk.
        let mut walk = walk(7);
        let mut next = || walk() as u64;
        for _ in 0..400 {
            let (n, m, range) = (next() % 300, next() % 300, 50 + next() % 400);
            let mut a: Vec<u64> = (0..n).map(|_| next() % range).collect();
            let mut b: Vec<u64> = (0..m).map(|_| next() % range).collect();
            for v in [&mut a, &mut b] {
                v.sort_unstable();
                v.dedup();
            }
            let inter = a.iter().filter(|x| b.binary_search(x).is_ok()).count() as f32;
            let union = (a.len() + b.len()) as f32 - inter;
            for t in [0.3, 0.6, 0.8] {
                let plain = union > 0.0 && inter / union >= t;
                assert_eq!(
                    similar(&a, &b, t),
                    plain,
                    "{} {} {inter} {t}",
                    a.len(),
                    b.len()
                );
            }
        }
    }
}
