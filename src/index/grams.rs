//! [`GramIndex`]: which clauses' own texts, and which documents' title parts, hold each character
//! and each pair of successive characters, built once when the index is opened. From it, for a
//! word of the question, the clauses that hold it or may hold it ([`Verdict`]), decided for all
//! clauses at once by a set intersection per character pair of the word, instead of a search
//! among each candidate clause's own pairs for every word.

use rustc_hash::FxHashMap;

/// The characters and character pairs of a text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct TextGrams {
    /// Sorted, de-duplicated characters (whitespace included).
    chars: Vec<char>,
    /// Sorted, de-duplicated pairs of successive characters ([`pack`]ed), whitespace skipped
    /// (`贷 款` pairs 贷 with 款).
    pub(super) pairs: Vec<u64>,
    /// Those of `pairs` that occur only across whitespace, never side by side (sorted).
    across_only: Vec<u64>,
}

impl TextGrams {
    /// The characters and character pairs of `text`.
    pub(super) fn of(text: &str) -> TextGrams {
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
        let mut pairs: Vec<u64> = Vec::with_capacity(marked.len());
        let mut across_only = Vec::new();
        for m in marked {
            let pair = m >> 1;
            if pairs.last() == Some(&pair) {
                continue;
            }
            pairs.push(pair);
            // The first occurrence of a pair in sorted order is across whitespace only when all
            // of them are.
            if m & 1 == 1 {
                across_only.push(pair);
            }
        }
        TextGrams {
            chars,
            pairs,
            across_only,
        }
    }

    /// Number of grams: characters, pairs and pairs only across whitespace ([`keys`]).
    fn len(&self) -> usize {
        self.chars.len() + self.pairs.len() + self.across_only.len()
    }
}

/// A character pair packed in a `u64` (in 53 bits).
fn pack(first: char, second: char) -> u64 {
    (u64::from(u32::from(first)) << 32) | u64::from(u32::from(second))
}

/// Clause-own texts and document titles, by gram.
#[derive(Debug, Default)]
pub(super) struct GramIndex {
    /// Members: clauses (by corpus ordinal), of their own heading path and text.
    own: Postings,
    /// Members: documents, of their haystack's title part (title and 文号).
    titles: Postings,
}

impl GramIndex {
    /// The index of `own` (each clause's own grams, in corpus order) and `titles` (each
    /// document's title grams, in corpus order).
    pub(super) fn new(own: &[TextGrams], titles: &[TextGrams]) -> GramIndex {
        GramIndex {
            own: Postings::new(own),
            titles: Postings::new(titles),
        }
    }

    /// What the grams tell of `word` in each clause's own text and each document's title part.
    pub(super) fn verdicts(&self, word: &str) -> Verdicts {
        Verdicts {
            own: self.own.verdict(word),
            title: self.titles.verdict(word),
            spaced: word.contains(char::is_whitespace),
        }
    }
}

/// What the grams tell of one word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Verdicts {
    /// Over clauses' own texts.
    pub(super) own: Verdict,
    /// Over documents' title parts.
    pub(super) title: Verdict,
    /// The word has whitespace in it.
    pub(super) spaced: bool,
}

/// Which members of a [`Postings`] hold a word, as far as its characters and pairs tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Exactly these members hold it (a word of one character, or of two side by side).
    Exact(Set),
    /// No other members hold it; those in the set may (they have all its pairs): a scan tells.
    Maybe(Set),
    /// The grams cannot tell (the word is empty or has whitespace in it): a scan tells.
    Scan,
}

impl Verdict {
    /// Whether member `i` holds the word; `scan` looks in its text when the grams cannot tell.
    pub(super) fn holds(&self, i: usize, scan: impl FnOnce() -> bool) -> bool {
        match self {
            Verdict::Exact(set) => set.contains(i),
            Verdict::Maybe(set) => set.contains(i) && scan(),
            Verdict::Scan => scan(),
        }
    }
}

/// A set of members as a bitset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Set(Vec<u64>);

impl Set {
    fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
    }
}

/// Where the members holding one gram are: a range of [`Postings::lists`] when few, else a
/// bitset at a word offset of [`Postings::bits`].
#[derive(Clone, Copy, Debug)]
enum Members {
    List(u32, u32),
    Bits(u32),
}

/// Key of a character in [`Postings::grams`] (a pair's key is the pair itself, in 53 bits).
const CHAR_KEY: u64 = 1 << 62;
/// Key of a pair that occurs only across whitespace.
const ACROSS_KEY: u64 = 1 << 61;

/// For a universe of texts (members `0..len`), which members hold each character, each pair
/// (side by side or across whitespace) and each pair only across whitespace.
#[derive(Debug, Default)]
struct Postings {
    len: usize,
    /// Each gram's position in `members`.
    grams: FxHashMap<u64, u32>,
    members: Vec<Members>,
    /// Sorted member lists, one after another.
    lists: Vec<u32>,
    /// Bitsets of `len.div_ceil(64)` words, one after another.
    bits: Vec<u64>,
}

/// The keys of a text's grams.
fn keys(t: &TextGrams) -> impl Iterator<Item = u64> + '_ {
    (t.chars.iter().map(|&c| CHAR_KEY | u64::from(c)))
        .chain(t.pairs.iter().copied())
        .chain(t.across_only.iter().map(|&p| ACROSS_KEY | p))
}

impl Postings {
    /// Counted first, then filled into lists and bitsets of the right sizes: two hash lookups
    /// per gram of a text (one to count, one to fill), and no list per gram grown one member at
    /// a time.
    fn new(texts: &[TextGrams]) -> Postings {
        let len = texts.len();
        let total: usize = texts.iter().map(TextGrams::len).sum();
        // Each distinct gram gets an id, in order of first occurrence.
        let mut ids: FxHashMap<u64, u32> = FxHashMap::default();
        ids.reserve(total / 8);
        let mut counts: Vec<u32> = Vec::new();
        for t in texts {
            for key in keys(t) {
                let next = counts.len() as u32;
                let id = *ids.entry(key).or_insert(next);
                if id == next {
                    counts.push(0);
                }
                counts[id as usize] += 1;
            }
        }
        // Rare grams get a list, common ones a bitset; then each gram's members are filled in
        // text order, so every list comes out sorted.
        let words = len.div_ceil(64);
        let (mut listed, mut set_words) = (0u32, 0u32);
        let members: Vec<Members> = (counts.iter())
            .map(|&n| {
                if n as usize * 32 <= len {
                    listed += n;
                    Members::List(listed - n, listed)
                } else {
                    set_words += words as u32;
                    Members::Bits(set_words - words as u32)
                }
            })
            .collect();
        drop(counts);
        let mut lists = vec![0u32; listed as usize];
        let mut bits = vec![0u64; set_words as usize];
        let mut fill: Vec<u32> = (members.iter())
            .map(|m| match m {
                Members::List(from, _) => *from,
                Members::Bits(_) => 0,
            })
            .collect();
        for (i, t) in texts.iter().enumerate() {
            for key in keys(t) {
                let id = ids[&key] as usize;
                match members[id] {
                    Members::List(..) => {
                        lists[fill[id] as usize] = i as u32;
                        fill[id] += 1;
                    }
                    Members::Bits(from) => bits[from as usize + i / 64] |= 1 << (i % 64),
                }
            }
        }
        Postings {
            len,
            grams: ids,
            members,
            lists,
            bits,
        }
    }

    /// The members that hold `word`, as far as its characters and pairs tell.
    fn verdict(&self, word: &str) -> Verdict {
        let mut it = word.chars();
        let (Some(first), second) = (it.next(), it.next()) else {
            return Verdict::Scan;
        };
        let Some(second) = second else {
            return Verdict::Exact(self.set(CHAR_KEY | u64::from(first), None));
        };
        if word.contains(char::is_whitespace) {
            return Verdict::Scan;
        }
        let pair = pack(first, second);
        if it.as_str().is_empty() {
            // Two characters: held where the pair occurs side by side.
            return Verdict::Exact(self.set(pair, Some(ACROSS_KEY | pair)));
        }
        let mut set = self.set(pair, None);
        let mut prev = second;
        for c in it {
            self.keep(pack(prev, c), &mut set.0);
            prev = c;
        }
        Verdict::Maybe(set)
    }

    /// The members holding gram `with`, without those holding gram `without`.
    fn set(&self, with: u64, without: Option<u64>) -> Set {
        let mut bits = vec![0u64; self.len.div_ceil(64)];
        match self.members(with) {
            Some(Members::Bits(from)) => bits.copy_from_slice(self.bitset(from)),
            Some(Members::List(from, to)) => {
                for &m in &self.lists[from as usize..to as usize] {
                    bits[m as usize / 64] |= 1 << (m % 64);
                }
            }
            None => return Set(bits),
        }
        match without.and_then(|k| self.members(k)) {
            Some(Members::Bits(from)) => {
                (bits.iter_mut().zip(self.bitset(from))).for_each(|(s, o)| *s &= !o);
            }
            Some(Members::List(from, to)) => {
                for &m in &self.lists[from as usize..to as usize] {
                    bits[m as usize / 64] &= !(1 << (m % 64));
                }
            }
            None => {}
        }
        Set(bits)
    }

    /// `set` ∩ the members holding gram `key`.
    fn keep(&self, key: u64, set: &mut [u64]) {
        match self.members(key) {
            Some(Members::Bits(from)) => {
                (set.iter_mut().zip(self.bitset(from))).for_each(|(s, o)| *s &= o);
            }
            Some(Members::List(from, to)) => {
                let mut kept = vec![0u64; set.len()];
                for &m in &self.lists[from as usize..to as usize] {
                    let (w, bit) = (m as usize / 64, 1u64 << (m % 64));
                    kept[w] |= set[w] & bit;
                }
                set.copy_from_slice(&kept);
            }
            None => set.fill(0),
        }
    }

    /// Where the members holding gram `key` are, if any.
    fn members(&self, key: u64) -> Option<Members> {
        (self.grams.get(&key)).and_then(|&id| self.members.get(id as usize).copied())
    }

    /// The bitset at word offset `from` of [`Postings::bits`].
    fn bitset(&self, from: u32) -> &[u64] {
        &self.bits[from as usize..from as usize + self.len.div_ceil(64)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::test_support::walk;

    /// The verdict of `word` over the single text `text`: `Some(held)` when exact, `None` when
    /// a scan must tell, and `Some(false)` for a word the pairs rule out.
    fn decided(text: &str, word: &str) -> Option<bool> {
        match Postings::new(&[TextGrams::of(text)]).verdict(word) {
            Verdict::Exact(set) => Some(set.contains(0)),
            Verdict::Maybe(set) if !set.contains(0) => Some(false),
            Verdict::Maybe(_) | Verdict::Scan => None,
        }
    }

    #[test]
    fn grams_tell_short_words_and_rule_out_others() {
        let text = "小微企业 贷款贴息，担保费补贴 业 贷";
        // Two characters: decided by the pairs (业贷 is paired only across spaces).
        for word in ["贷款", "贴息", "业贷", "社保", "息担", "，担"] {
            assert_eq!(decided(text, word), Some(text.contains(word)), "{word}");
        }
        // Longer words: ruled out by a missing pair, otherwise left to the scan.
        for word in ["小微企业", "担保费补贴", "企业贷"] {
            assert_eq!(decided(text, word), None, "{word}");
        }
        for word in ["贷款利率", "社保费"] {
            assert_eq!(decided(text, word), Some(false), "{word}");
        }
        // One character: decided by the characters, whitespace included.
        for word in ["贷", "险", "，", " ", "\t"] {
            assert_eq!(decided(text, word), Some(text.contains(word)), "{word:?}");
        }
        assert_eq!(decided(text, ""), None);
        assert_eq!(
            decided(text, "贷 款"),
            None,
            "a word with a space is never decided"
        );
        // A pair side by side somewhere and across a space elsewhere.
        assert_eq!(decided("企业 贷款 企业贷款", "业贷"), Some(true));
        assert_eq!(
            TextGrams::of("企业 贷款 企业贷款").across_only,
            vec![pack('款', '企')]
        );
    }

    #[test]
    fn verdicts_over_many_texts_agree_with_a_scan_of_each() {
        // Random texts over a small alphabet with a space and a tab, many of them (so that
        // common grams are bitsets and rare ones lists), and every word of one to three
        // characters over it.
        let alphabet: Vec<char> = "贷款 息\t贷担".chars().collect();
        let mut next = walk(5);
        let texts: Vec<String> = (0..300)
            .map(|_| {
                (0..next() % 12)
                    .map(|_| alphabet[next() % alphabet.len()])
                    .collect()
            })
            .collect();
        let grams: Vec<TextGrams> = texts.iter().map(|t| TextGrams::of(t)).collect();
        let postings = Postings::new(&grams);
        assert!(
            matches!(
                postings.members(CHAR_KEY | u64::from('贷')),
                Some(Members::Bits(_))
            ) && (postings.members.iter()).any(|m| matches!(m, Members::List(..))),
            "both kinds of member sets are exercised"
        );
        let letters = ['贷', '款', '息', '担', ' ', '\t'];
        let mut words: Vec<String> = letters.iter().map(char::to_string).collect();
        for a in letters {
            for b in letters {
                words.push([a, b].iter().collect());
                for c in ['贷', '款', '息'] {
                    words.push([a, b, c].iter().collect());
                }
            }
        }
        for word in &words {
            let verdict = postings.verdict(word);
            for (i, text) in texts.iter().enumerate() {
                let scanned = text.contains(word.as_str());
                assert_eq!(verdict.holds(i, || scanned), scanned, "{text:?} {word:?}");
                if let Verdict::Maybe(set) = &verdict
                    && scanned
                {
                    assert!(set.contains(i), "{text:?} {word:?}");
                }
            }
            let short = word.chars().count() <= 2 && !word.contains([' ', '\t']);
            let one = word.chars().count() == 1;
            assert_eq!(
                matches!(verdict, Verdict::Exact(_)),
                short || one,
                "{word:?}"
            );
        }
    }

    #[test]
    fn an_empty_universe_decides_nothing_is_held() {
        let postings = Postings::new(&[]);
        assert!(!postings.verdict("贷款贴息").holds(0, || true));
        assert!(!postings.verdict("贷").holds(3, || true));
    }
}
