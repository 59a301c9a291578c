//! Vocabulary of policy documents beyond the parser's grammar (`data/lexicon/corpus_words.tsv`):
//! issuers whose documents apply to the whole country, the words that make a title a policy's,
//! and the words of what an enterprise gets. Compiled in from that file (the one copy of these
//! lists), so every caller — the parser, `ingest`, the announcements — sees the same words
//! without being handed a table; editing the file takes a rebuild. The structural markers of the
//! source format (tag labels such as 责任单位, the document-type words that end a title line)
//! stay with the grammar in [`super`]'s parser modules.

use std::sync::LazyLock;

/// The shipped vocabulary, parsed once.
static SHIPPED: LazyLock<CorpusWords> = LazyLock::new(|| {
    CorpusWords::parse(include_str!("../../data/lexicon/corpus_words.tsv"))
        .unwrap_or_else(|(line, message)| panic!("corpus_words.tsv line {line}: {message}"))
});

/// The word lists of `corpus_words.tsv`, one per kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CorpusWords {
    /// Issuers (or title words) whose documents apply to the whole country (`national`).
    pub national: Vec<String>,
    /// Words one of which a policy title carries when it has no 文号 (`title`).
    pub title: Vec<String>,
    /// Words that make a measure worth announcing: what an enterprise gets (`benefit`).
    pub benefit: Vec<String>,
}

impl CorpusWords {
    /// The vocabulary shipped in `data/lexicon/corpus_words.tsv`.
    #[must_use]
    pub fn shipped() -> &'static CorpusWords {
        &SHIPPED
    }

    /// Parses `kind<TAB>word` lines (`#` comments, blank lines ignored).
    ///
    /// # Errors
    /// The 1-based line and what is wrong: no tab, an unknown kind, an empty or repeated word.
    pub fn parse(text: &str) -> Result<CorpusWords, (usize, String)> {
        let mut out = CorpusWords::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let Some((kind, word)) = line.split_once('\t') else {
                return Err((i + 1, format!("`{line}`: expected kind<TAB>word")));
            };
            let list = match kind.trim() {
                "national" => &mut out.national,
                "title" => &mut out.title,
                "benefit" => &mut out.benefit,
                other => {
                    let message = format!("`{other}`: the kind is national, title or benefit");
                    return Err((i + 1, message));
                }
            };
            let word = word.trim();
            if word.is_empty() || word.contains(char::is_whitespace) {
                return Err((i + 1, format!("`{word}`: one word per line")));
            }
            if list.iter().any(|w| w == word) {
                return Err((i + 1, format!("`{word}` is listed twice")));
            }
            list.push(word.to_string());
        }
        Ok(out)
    }

    /// Whether `text` names an issuer whose documents apply to the whole country.
    #[must_use]
    pub fn is_national(&self, text: &str) -> bool {
        self.national.iter().any(|w| text.contains(w.as_str()))
    }

    /// Whether `title` carries a word of a policy title.
    #[must_use]
    pub fn is_policy_title(&self, title: &str) -> bool {
        self.title.iter().any(|w| title.contains(w.as_str()))
    }

    /// How many distinct benefit words `text` holds.
    #[must_use]
    pub fn benefits(&self, text: &str) -> usize {
        self.benefit
            .iter()
            .filter(|w| text.contains(w.as_str()))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_words_load() {
        let words = CorpusWords::shipped();
        assert!(words.is_national("国务院办公厅") && !words.is_national("安阳市人民政府"));
        assert!(words.is_policy_title("关于做好稳岗工作的通知"));
        assert!(!words.is_policy_title("会议纪要"));
        assert_eq!(words.benefits("给予贷款贴息支持"), 4);
    }

    #[test]
    fn bad_lines_are_named() {
        assert_eq!(
            CorpusWords::parse("# c\ntitle\t通知\nnational 国务院").map_err(|e| e.0),
            Err(3)
        );
        assert_eq!(CorpusWords::parse("place\t安阳").map_err(|e| e.0), Err(1));
        assert_eq!(CorpusWords::parse("title\t \n").map_err(|e| e.0), Err(1));
        assert_eq!(
            CorpusWords::parse("title\t通知\ntitle\t通知").map_err(|e| e.0),
            Err(2)
        );
        let words = CorpusWords::parse("benefit\t补贴 # comment\n\ntitle\t函").expect("valid");
        assert_eq!(
            (words.benefit, words.title),
            (vec!["补贴".into()], vec!["函".into()])
        );
    }
}
