//! Typo repair by sound. Owners type with pinyin input methods, so most typos are homophones of
//! the intended word (代款 → 贷款, 担宝 → 担保, 专精特心 → 专精特新). A span of the question that
//! the corpus has never seen is matched to corpus words with the same toneless pinyin that share
//! its other characters, the most frequent first. Pure: the vocabulary and the "never seen" test
//! are given by the caller.

use std::collections::HashMap;

use pinyin::ToPinyinMulti;

use crate::text::chars::is_cjk;

/// Longest span (in characters) considered for repair.
const MAX_SPAN: usize = 4;
/// Readings combined per span (polyphonic characters multiply them).
const MAX_READINGS: usize = 8;
/// A replacement must occur in at least this many clauses (stop words, read as replacements too,
/// count as this many).
pub const MIN_DOC_FREQ: u32 = 3;

/// One repaired span: what was typed and the corpus word it was read as.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Correction {
    /// The span as typed.
    pub typed: String,
    /// The corpus word it was read as.
    pub read_as: String,
}

/// Corpus words indexed by toneless pinyin.
#[derive(Clone, Debug, Default)]
pub struct Speller {
    /// `"dai kuan"` → corpus words with that sound and their clause counts, most frequent first.
    by_sound: HashMap<String, Vec<(String, u32)>>,
}

impl Speller {
    /// Indexes `words` (corpus words with the number of clauses containing them; a word given
    /// twice counts with the larger number); only words of 2–4 CJK characters occurring in at
    /// least [`MIN_DOC_FREQ`] clauses are kept.
    #[must_use]
    pub fn new(words: impl IntoIterator<Item = (String, u32)>) -> Self {
        let mut by_sound: HashMap<String, Vec<(String, u32)>> = HashMap::new();
        for (word, df) in words {
            let n = word.chars().count();
            if df < MIN_DOC_FREQ || !(2..=MAX_SPAN).contains(&n) || !word.chars().all(is_cjk) {
                continue;
            }
            for key in sounds(&word) {
                by_sound.entry(key).or_default().push((word.clone(), df));
            }
        }
        for list in by_sound.values_mut() {
            // A word given twice keeps its larger count.
            list.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)));
            list.dedup_by(|a, b| a.0 == b.0);
            list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        }
        Speller { by_sound }
    }

    /// Rewrites the spans of `text` that `suspect(from, to, span)` flags (character offsets; e.g.
    /// a span of unknown words holding a character pair the corpus never contains) into the
    /// corpus word that sounds the same, differs in at most one character (two of four) and is
    /// most frequent. Longer spans are tried first, left to right, without overlap.
    #[must_use]
    pub fn repair(
        &self,
        text: &str,
        suspect: impl Fn(usize, usize, &str) -> bool,
    ) -> (String, Vec<Correction>) {
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::with_capacity(text.len());
        let mut fixes = Vec::new();
        let mut i = 0;
        'outer: while i < chars.len() {
            if is_cjk(chars[i]) {
                for len in (2..=MAX_SPAN).rev() {
                    let Some(span) = chars.get(i..i + len) else {
                        continue;
                    };
                    if !span.iter().copied().all(is_cjk) {
                        continue;
                    }
                    let typed: String = span.iter().collect();
                    if !suspect(i, i + len, &typed) {
                        continue;
                    }
                    if let Some(word) = self.homophone(&typed) {
                        out.push_str(&word);
                        fixes.push(Correction {
                            typed,
                            read_as: word,
                        });
                        i += len;
                        continue 'outer;
                    }
                }
            }
            out.push(chars[i]);
            i += 1;
        }
        (out, fixes)
    }

    /// The most frequent corpus word that sounds like `typed` (read with each character's usual
    /// reading: the one an input method user meant) and keeps its other characters.
    fn homophone(&self, typed: &str) -> Option<String> {
        let n = typed.chars().count();
        let allowed = if n >= 4 { 2 } else { 1 };
        let key = usual_sound(typed)?;
        self.by_sound
            .get(&key)
            .into_iter()
            .flatten()
            .filter(|(word, _)| {
                let differ = word
                    .chars()
                    .zip(typed.chars())
                    .filter(|(a, b)| a != b)
                    .count();
                differ >= 1 && differ <= allowed
            })
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
            .map(|(word, _)| word.clone())
    }
}

/// Toneless pinyin of `word` with each character's first (most common) reading.
fn usual_sound(word: &str) -> Option<String> {
    let mut key = String::new();
    for c in word.chars() {
        let reading = c.to_pinyin_multi()?.get_opt(0)?.plain();
        if !key.is_empty() {
            key.push(' ');
        }
        key.push_str(reading);
    }
    Some(key)
}

/// Toneless pinyin keys of `word` (`"dai kuan"`), one per combination of readings, capped.
fn sounds(word: &str) -> Vec<String> {
    let mut keys = vec![String::new()];
    for c in word.chars() {
        let Some(multi) = c.to_pinyin_multi() else {
            return Vec::new();
        };
        let readings: Vec<&str> = multi.into_iter().map(|p| p.plain()).collect();
        let mut next = Vec::with_capacity(keys.len() * readings.len());
        for k in &keys {
            for r in &readings {
                if next.len() >= MAX_READINGS {
                    break;
                }
                let mut key = k.clone();
                if !key.is_empty() {
                    key.push(' ');
                }
                key.push_str(r);
                next.push(key);
            }
        }
        next.dedup();
        keys = next;
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speller() -> Speller {
        Speller::new(
            [
                ("贷款", 900),
                ("担保", 400),
                ("补贴", 300),
                ("申请", 500),
                ("专精特新", 120),
                ("代理", 5),
                ("抵押", 60),
                ("罕见", 1),
            ]
            .map(|(w, n)| (w.to_string(), n)),
        )
    }

    #[test]
    fn homophones_of_unseen_spans_are_read_as_corpus_words() {
        let seen = ["能", "的"];
        let unseen = |_: usize, _: usize, s: &str| !seen.contains(&s);
        for (typed, want, fixed) in [
            ("经营代款", "经营贷款", vec!["代款"]),
            ("担宝费", "担保费", vec!["担宝"]),
            ("有补帖吗", "有补贴吗", vec!["补帖"]),
            ("专精特心企业", "专精特新企业", vec!["专精特心"]),
            ("抵压", "抵押", vec!["抵压"]),
            ("还款", "还款", vec![]),
        ] {
            let (text, fixes) = speller().repair(typed, unseen);
            assert_eq!(text, want, "help: {typed}");
            let got: Vec<&str> = fixes.iter().map(|f| f.typed.as_str()).collect();
            assert_eq!(got, fixed, "help: {typed}");
        }
    }

    #[test]
    fn a_word_given_twice_counts_with_its_larger_count() {
        // 罕见 occurs in one clause, too few; given again as a stop word would be, it is read.
        let words = [("罕见", 1), ("罕见", MIN_DOC_FREQ)].map(|(w, n)| (w.to_string(), n));
        let (text, _) = Speller::new(words).repair("悍见", |_, _, _| true);
        assert_eq!(text, "罕见");
    }

    #[test]
    fn seen_spans_rare_words_and_other_sounds_stay() {
        let (text, fixes) = speller().repair("代款", |_, _, _| false);
        assert_eq!((text.as_str(), fixes.len()), ("代款", 0), "seen spans stay");
        let (text, _) = speller().repair("悍见", |_, _, _| true);
        assert_eq!(text, "悍见", "罕见 occurs in too few clauses");
        let (text, _) = speller().repair("房租 600万 LPR", |_, _, _| true);
        assert_eq!(text, "房租 600万 LPR");
    }

    #[test]
    fn polyphonic_characters_have_every_reading() {
        assert!(sounds("银行").contains(&"yin hang".to_string()));
        assert!(sounds("贷款").contains(&"dai kuan".to_string()));
        assert!(sounds("abc").is_empty());
        assert_eq!(usual_sound("在哪").as_deref(), Some("zai na"));
    }
}
