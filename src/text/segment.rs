//! One shared `jieba_rs::Jieba` loaded with the default dictionary plus the policy user dictionary;
//! yields normalised word tokens with byte offsets into the original text. Knows nothing of tantivy.

use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::error::Error;
use crate::text::normalize::{Normalized, normalize};

/// File name of the user dictionary inside the lexicon directory.
pub const USERDICT: &str = "userdict.txt";

/// Longest dictionary word looked for inside a longer token (well above the longest user
/// dictionary entry, 11 characters).
const MAX_SUBWORD_CHARS: usize = 20;

/// A word token with byte offsets into the text given to [`Segmenter::tokens`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// Normalised token text.
    pub text: String,
    /// Byte offset of the first byte in the input.
    pub start: usize,
    /// Byte offset one past the last byte in the input.
    pub end: usize,
    /// Index of the default-mode word this token belongs to: a search-mode sub-word shares the
    /// position of the word containing it, so phrase queries over words still line up.
    pub position: usize,
}

/// Jieba segmenter with the user dictionary; cheap to clone (shared `Arc`).
#[derive(Clone)]
pub struct Segmenter {
    jieba: Arc<jieba_rs::Jieba>,
}

impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segmenter")
            .field("jieba", &self.jieba)
            .finish()
    }
}

impl Segmenter {
    /// Loads jieba's default dictionary plus `userdict.txt` from the lexicon directory.
    ///
    /// # Errors
    /// An unreadable or malformed user dictionary, naming file and line.
    pub fn load(lexicon_dir: &Path) -> Result<Self, Error> {
        // Building jieba's default dictionary dominates start-up (~100 ms in release), so a
        // process loads each distinct user dictionary once and shares it (tests, bot and CLI
        // paths that load twice).
        static LOADED: Mutex<Vec<(String, Segmenter)>> = Mutex::new(Vec::new());
        let path = lexicon_dir.join(USERDICT);
        let text = std::fs::read_to_string(&path).map_err(|source| match source.kind() {
            std::io::ErrorKind::InvalidData => Error::Binary { path: path.clone() },
            _ => Error::Io {
                path: path.clone(),
                source,
            },
        })?;
        let mut loaded = LOADED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, seg)) = loaded.iter().find(|(t, _)| *t == text) {
            return Ok(seg.clone());
        }
        let entries = parse_userdict(&text, &path)?;
        let mut jieba = jieba_rs::Jieba::new();
        for entry in &entries {
            jieba.add_word(&entry.word, entry.freq, entry.tag.as_deref());
        }
        let seg = Segmenter {
            jieba: Arc::new(jieba),
        };
        loaded.push((text, seg.clone()));
        Ok(seg)
    }

    /// Search-mode (HMM) tokens of `text`, normalised, punctuation and whitespace dropped.
    ///
    /// Each default-mode word comes with the dictionary words inside it (jieba's search mode gives
    /// those of two and three characters; longer ones such as 专精特新 in 专精特新小巨人 are added
    /// here), all at the word's position; offsets point into `text` itself, not its normal form.
    #[must_use]
    pub fn tokens(&self, text: &str) -> Vec<Token> {
        let norm = Normalized::new(text);
        let cut = self.jieba.cut_for_search(&norm.text, true);
        // jieba emits each word after the sub-words inside it, and words tile the text: scanning
        // backwards, a token not inside the current word is the previous word.
        let mut word_of = vec![0usize; cut.len()];
        let mut is_base = vec![false; cut.len()];
        let mut words = 0usize;
        let mut current: Option<(usize, usize)> = None;
        for (i, t) in cut.iter().enumerate().rev() {
            let inside = current.is_some_and(|(s, e)| s <= t.byte_start && t.byte_end <= e);
            if !inside && is_word(t.word) {
                current = Some((t.byte_start, t.byte_end));
                words += 1;
                is_base[i] = true;
            }
            word_of[i] = words;
        }
        let mut out = Vec::with_capacity(cut.len());
        for (i, t) in cut.iter().enumerate() {
            if !is_word(t.word) {
                continue;
            }
            let position = words - word_of[i];
            let mut push = |from: usize, to: usize| {
                out.push(Token {
                    text: norm.text[from..to].to_owned(),
                    start: norm.original_start(from),
                    end: norm.original_end(to),
                    position,
                });
            };
            if is_base[i] {
                for (from, to) in self.long_subwords(t.word) {
                    push(t.byte_start + from, t.byte_start + to);
                }
            }
            push(t.byte_start, t.byte_end);
        }
        out
    }

    /// Byte ranges of the dictionary words of four or more characters strictly inside `word`.
    fn long_subwords(&self, word: &str) -> Vec<(usize, usize)> {
        let bounds: Vec<usize> = word
            .char_indices()
            .map(|(i, _)| i)
            .chain([word.len()])
            .collect();
        let chars = bounds.len() - 1;
        let mut out = Vec::new();
        // Bounded: a made-up token of thousands of characters (a digit run) must not cost
        // len³ dictionary probes; no dictionary word is longer than this.
        for len in 4..chars.min(MAX_SUBWORD_CHARS + 1) {
            for w in bounds.windows(len + 1) {
                let (from, to) = (w[0], w[len]);
                if self.jieba.has_word(&word[from..to]) {
                    out.push((from, to));
                }
            }
        }
        out
    }

    /// Default-mode (HMM) words of `text`, normalised, punctuation and whitespace dropped; each
    /// word has its own position.
    #[must_use]
    pub fn words(&self, text: &str) -> Vec<Token> {
        let norm = Normalized::new(text);
        self.jieba
            .cut(&norm.text, true)
            .into_iter()
            .filter(|t| is_word(t.word))
            .enumerate()
            .map(|(position, t)| Token {
                text: t.word.to_owned(),
                start: norm.original_start(t.byte_start),
                end: norm.original_end(t.byte_end),
                position,
            })
            .collect()
    }

    /// Part-of-speech tag jieba gives `word` when it is one dictionary word (`n`, `v`, `vn`,
    /// `d`, …; user-dictionary words without a tag get jieba's default); `None` when `word` is
    /// not a single dictionary word.
    #[must_use]
    pub fn tag(&self, word: &str) -> Option<String> {
        let word = normalize(word);
        if !self.jieba.has_word(&word) {
            return None;
        }
        match self.jieba.tag(&word, false).as_slice() {
            [one] if one.word == word => Some(one.tag.to_string()),
            _ => None,
        }
    }

    /// Whether `word` (normalised first) is in the dictionary, default or user.
    #[must_use]
    pub fn knows(&self, word: &str) -> bool {
        self.jieba.has_word(&normalize(word))
    }
}

/// One user-dictionary line: `word [freq] [tag]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserWord {
    /// The word, normalised.
    pub word: String,
    /// Frequency; `None` lets jieba pick one that keeps the word whole.
    pub freq: Option<usize>,
    /// Part-of-speech tag.
    pub tag: Option<String>,
}

/// Parses a jieba user dictionary (`word [freq] [tag]` per line, `#` comments, blank lines).
///
/// # Errors
/// [`Error::Config`] naming `path` and the 1-based line of the first malformed entry.
pub fn parse_userdict(text: &str, path: &Path) -> Result<Vec<UserWord>, Error> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |message: String| Error::Config {
            path: path.to_owned(),
            line: i + 1,
            message,
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (word, freq, tag) = match fields.as_slice() {
            [w] => (*w, None, None),
            [w, x] if x.bytes().all(|b| b.is_ascii_digit()) => (*w, Some(*x), None),
            [w, t] => (*w, None, Some(*t)),
            [w, f, t] => (*w, Some(*f), Some(*t)),
            _ => {
                return Err(bad(format!(
                    "expected `word [freq] [tag]`, found {} fields",
                    fields.len()
                )));
            }
        };
        let freq = match freq.map(str::parse::<usize>) {
            None => None,
            Some(Ok(0)) => return Err(bad("frequency must be positive".to_owned())),
            Some(Ok(f)) => Some(f),
            Some(Err(_)) => return Err(bad(format!("frequency `{}` is not a number", fields[1]))),
        };
        if let Some(t) = tag
            && !t.bytes().all(|b| b.is_ascii_alphabetic())
        {
            return Err(bad(format!(
                "tag `{t}` is not a part-of-speech tag (ASCII letters)"
            )));
        }
        let word = normalize(word);
        if !is_word(&word) {
            return Err(bad(format!(
                "`{word}` has no letter, digit or CJK character"
            )));
        }
        out.push(UserWord {
            word,
            freq,
            tag: tag.map(str::to_owned),
        });
    }
    Ok(out)
}

/// A token worth indexing: it holds at least one letter, digit or CJK character.
fn is_word(token: &str) -> bool {
    token.chars().any(char::is_alphanumeric)
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;
    use crate::text::test_support::{corpus, lexicon_dir};

    fn shared() -> &'static Segmenter {
        static SEG: OnceLock<Segmenter> = OnceLock::new();
        SEG.get_or_init(|| {
            Segmenter::load(&lexicon_dir()).expect("data/lexicon/userdict.txt loads")
        })
    }

    /// Policy words that must survive segmentation whole.
    const POLICY_WORDS: &[&str] = &[
        "专精特新",
        "小巨人",
        "留抵退税",
        "稳岗返还",
        "首贷户",
        "创业担保贷款",
        "个体工商户",
        "普惠小微",
        "信易贷",
        "揭榜挂帅",
        "头雁企业",
        "小升规",
        "交房即发证",
        "六税两费",
        "一次性吸纳就业补贴",
        "万人助万企",
    ];

    #[test]
    fn every_userdict_word_occurs_in_the_corpus() {
        let path = lexicon_dir().join(USERDICT);
        let text = std::fs::read_to_string(&path).expect("userdict readable");
        let entries = parse_userdict(&text, &path).expect("userdict well formed");
        assert!(
            (300..=650).contains(&entries.len()),
            "help: userdict has {} entries, expected 300–600",
            entries.len()
        );
        let corpus = corpus();
        let absent: Vec<&str> = entries
            .iter()
            .map(|e| e.word.as_str())
            .filter(|w| !corpus.contains(w))
            .collect();
        assert!(
            absent.is_empty(),
            "help: userdict words not in data/compendium: {absent:?}"
        );
        let mut seen = std::collections::HashSet::new();
        let dupes: Vec<&str> = entries
            .iter()
            .map(|e| e.word.as_str())
            .filter(|w| !seen.insert(*w))
            .collect();
        assert!(
            dupes.is_empty(),
            "help: duplicate userdict entries: {dupes:?}"
        );
    }

    #[test]
    fn policy_words_stay_whole_in_default_mode() {
        let seg = shared();
        for word in POLICY_WORDS {
            let sentence = format!("关于{word}的政策");
            let words: Vec<String> = seg.words(&sentence).into_iter().map(|t| t.text).collect();
            assert!(
                words.iter().any(|w| w == word),
                "help: `{word}` was split in default mode into {words:?}; add it to data/lexicon/userdict.txt"
            );
        }
    }

    #[test]
    fn policy_words_are_tokens_in_search_mode() {
        let seg = shared();
        for word in POLICY_WORDS {
            let sentence = format!("申请{word}需要什么材料");
            let tokens: Vec<String> = seg.tokens(&sentence).into_iter().map(|t| t.text).collect();
            assert!(
                tokens.iter().any(|w| w == word),
                "help: `{word}` is not a search-mode token of `{sentence}`: {tokens:?}"
            );
        }
    }

    /// Golden default-mode segmentations of typical question and clause phrasings.
    #[test]
    fn golden_default_segmentation() {
        let cases: &[(&str, &[&str])] = &[
            ("专精特新小巨人企业", &["专精特新小巨人", "企业"]),
            ("提高企业竞争力", &["提高", "企业", "竞争力"]),
            ("办理留抵退税", &["办理", "留抵退税"]),
            ("个体工商户房租减免", &["个体工商户", "房租减免"]),
            ("贷款利率LPR下降15%", &["贷款利率", "lpr", "下降", "15%"]),
        ];
        let seg = shared();
        for (input, expected) in cases {
            let got: Vec<String> = seg.words(input).into_iter().map(|t| t.text).collect();
            assert_eq!(
                &got, expected,
                "help: default-mode segmentation of `{input}` changed; check userdict.txt entries"
            );
        }
    }

    #[test]
    fn words_concatenate_to_the_input_minus_punctuation() {
        let seg = shared();
        let inputs = [
            "对符合条件的小微企业，按照每人1000元给予一次性吸纳就业补贴（责任单位：市人社局）。",
            "ＬＰＲ下调0.5个百分点；担保费率降至1%以下！",
            "  安阳市“万人助万企”活动\n领导小组办公室 ",
        ];
        for input in inputs {
            let words = seg.words(input);
            let joined: String = words.iter().map(|t| t.text.as_str()).collect();
            let expected: String = normalize(input)
                .chars()
                .filter(|c| c.is_alphanumeric())
                .collect();
            let joined_alnum: String = joined.chars().filter(|c| c.is_alphanumeric()).collect();
            assert_eq!(
                joined_alnum, expected,
                "help: words of `{input}` lost or gained text"
            );
            for (i, t) in words.iter().enumerate() {
                assert_eq!(t.position, i, "help: default-mode positions count words");
                assert_eq!(
                    normalize(&input[t.start..t.end]),
                    t.text,
                    "help: offsets of {t:?}"
                );
            }
        }
    }

    #[test]
    fn search_tokens_carry_original_offsets_and_word_positions() {
        let seg = shared();
        let input = "申请创业担保贷款，额度１０００万元";
        let tokens = seg.tokens(input);
        for t in &tokens {
            assert_eq!(
                normalize(&input[t.start..t.end]),
                t.text,
                "help: offsets of {t:?}"
            );
        }
        let long = seg.tokens("专精特新小巨人企业");
        for inner in ["专精特新", "小巨人", "专精特新小巨人"] {
            let t = long.iter().find(|t| t.text == inner);
            assert_eq!(
                t.map(|t| t.position),
                Some(0),
                "help: `{inner}` missing in {long:?}"
            );
        }
        let whole = tokens
            .iter()
            .find(|t| t.text == "创业担保贷款")
            .expect("whole word token");
        let part = tokens
            .iter()
            .find(|t| t.text == "担保")
            .expect("sub-word token");
        assert_eq!(
            part.position, whole.position,
            "help: sub-words share their word's position"
        );
        assert!(whole.start <= part.start && part.end <= whole.end);
        let amount = tokens
            .iter()
            .find(|t| t.text == "1000")
            .expect("fullwidth digits normalised");
        assert_eq!(&input[amount.start..amount.end], "１０００");
        assert!(amount.position > whole.position);
        assert!(
            tokens.iter().all(|t| t.text != "，"),
            "help: punctuation must be dropped"
        );
        let positions: Vec<usize> = tokens.iter().map(|t| t.position).collect();
        assert!(
            positions.windows(2).all(|w| w[0] <= w[1]),
            "positions never decrease: {positions:?}"
        );
        assert_eq!(positions.first(), Some(&0));
    }

    #[test]
    fn empty_and_punctuation_only_inputs() {
        let seg = shared();
        assert!(seg.tokens("").is_empty());
        assert!(seg.tokens("，。！？ \n").is_empty());
        assert!(seg.words("……").is_empty());
    }

    #[test]
    fn malformed_userdict_names_file_and_line() {
        let path = Path::new("userdict.txt");
        let ok = parse_userdict("# comment\n\n专精特新 1000 n\n小巨人\n首贷户 nz\n", path)
            .expect("valid dictionary");
        assert_eq!(ok.len(), 3);
        assert_eq!(ok[0].freq, Some(1000));
        assert_eq!(ok[2].tag.as_deref(), Some("nz"));
        for (text, line) in [
            ("小巨人\n专精特新 10x0 n\n", 2),
            ("小巨人 1 n extra\n", 1),
            ("\n\n小巨人 0\n", 3),
            ("首贷户 n-z\n", 1),
            ("，。\n", 1),
        ] {
            match parse_userdict(text, path) {
                Err(Error::Config {
                    path: p, line: l, ..
                }) => {
                    assert_eq!(
                        (p.as_path(), l),
                        (path, line),
                        "help: wrong location for {text:?}"
                    );
                }
                other => panic!("help: {text:?} should be rejected, got {other:?}"),
            }
        }
    }

    #[test]
    fn loading_the_same_userdict_twice_shares_one_jieba() {
        let again = Segmenter::load(&lexicon_dir()).expect("loads");
        assert!(
            Arc::ptr_eq(&shared().jieba, &again.jieba),
            "help: the dictionary was rebuilt"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(USERDICT), "小巨人\n").expect("write");
        let other = Segmenter::load(dir.path()).expect("loads");
        assert!(
            !Arc::ptr_eq(&shared().jieba, &other.jieba),
            "help: different dictionaries shared"
        );
    }

    #[test]
    fn load_reports_a_malformed_userdict() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(USERDICT), "小巨人\n专精特新 12x\n").expect("write");
        match Segmenter::load(dir.path()) {
            Err(Error::Config { line: 2, path, .. }) => assert!(path.ends_with(USERDICT)),
            other => panic!("expected Config error at line 2, got {other:?}"),
        }
        let missing = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            Segmenter::load(missing.path()),
            Err(Error::Io { .. })
        ));
    }
}
