//! A fixed list of words searched for in short texts many times ([`WordList`]): which of them
//! occur, found in one pass of an Aho–Corasick automaton built once over the list, instead of a
//! substring search per word; and blanking them out of a text one word after another, checking
//! only the words that occur.

use aho_corasick::{AhoCorasick, AhoCorasickKind};

/// Words in a fixed order, with the automaton that finds them.
#[derive(Clone, Debug, Default)]
pub struct WordList {
    words: Vec<String>,
    /// `None` when building failed (far beyond any list this crate holds): then every word
    /// counts as possibly occurring and is searched for on its own.
    automaton: Option<AhoCorasick>,
    /// Words with a space in them: blanking a word out with a space may make one of these
    /// occur, so they are always searched for on their own.
    spaced: Vec<usize>,
}

impl WordList {
    /// The list of `words`, in this order.
    #[must_use]
    pub fn new(words: Vec<String>) -> WordList {
        WordList {
            // A DFA: the fastest scan, and small for lists of a few hundred short words.
            automaton: AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::DFA))
                .build(&words)
                .ok(),
            spaced: (words.iter().enumerate())
                .filter(|(_, w)| w.contains(' '))
                .map(|(i, _)| i)
                .collect(),
            words,
        }
    }

    /// The words, in list order.
    #[must_use]
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Positions in the list (ascending) of the words that occur in `text`.
    #[must_use]
    pub fn occurring(&self, text: &str) -> Vec<usize> {
        let Some(automaton) = &self.automaton else {
            return (0..self.words.len())
                .filter(|&i| text.contains(self.words[i].as_str()))
                .collect();
        };
        let mut found: Vec<usize> = automaton
            .find_overlapping_iter(text)
            .map(|m| m.pattern().as_usize())
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// `text` with the words replaced by a space one after another in list order (each word
    /// wherever it occurs after the words before it were replaced), as
    /// `for w in words { if s.contains(w) { s = s.replace(w, " ") } }` has it.
    ///
    /// Only the words occurring in `text` itself, and those with a space, are looked for:
    /// a replacement joins pieces of the text with a space, so a word without one that occurs
    /// after it lies within one piece, and so occurred in `text` already.
    #[must_use]
    pub fn blank_out(&self, text: &str) -> String {
        let mut candidates = self.occurring(text);
        if !self.spaced.is_empty() {
            candidates.extend(&self.spaced);
            candidates.sort_unstable();
            candidates.dedup();
        }
        let mut s = text.to_string();
        for i in candidates {
            let w = self.words[i].as_str();
            if s.contains(w) {
                s = s.replace(w, " ");
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain loop [`WordList::blank_out`] stands for.
    fn naive(words: &[&str], text: &str) -> String {
        let mut s = text.to_string();
        for w in words {
            if s.contains(w) {
                s = s.replace(w, " ");
            }
        }
        s
    }

    #[test]
    fn blanking_out_equals_the_plain_loop() {
        let lists: [&[&str]; 4] = [
            // Overlapping aliases, longest first as places.tsv orders them.
            &[
                "临夏回族自治州",
                "临夏州",
                "临夏",
                "夏州",
                "郑州市",
                "郑州",
                "州",
            ],
            // Stop words inside one another, and one that spans the gap a replacement leaves.
            &[
                "能不能",
                "不能",
                "可不可以",
                "可以",
                "是不是",
                "不是",
                "以 是",
                "a b",
            ],
            // The same word twice, and one that occurs only once another is gone.
            &["ab", "ba", "ab", "aba", "b"],
            &[],
        ];
        let texts = [
            "临夏回族自治州和临夏州、郑州市郑州",
            "能不能可以是不是不能可不可以",
            "可以是 以是 不是",
            "a b ab ba aba abab babab",
            "",
            "州州州",
        ];
        for words in lists {
            let list = WordList::new(words.iter().map(ToString::to_string).collect());
            for text in texts {
                assert_eq!(list.blank_out(text), naive(words, text), "{words:?} {text}");
            }
        }
    }

    #[test]
    fn occurring_lists_each_word_found_once_in_list_order() {
        let list = WordList::new(["郑州市", "郑州", "州", "安阳"].map(String::from).to_vec());
        assert_eq!(list.occurring("郑州市和郑州"), vec![0, 1, 2]);
        assert_eq!(list.occurring("安阳"), vec![3]);
        assert!(list.occurring("新乡").is_empty());
        assert_eq!(list.words().len(), 4);
    }
}
