//! Vocabulary of policy documents beyond the parser's grammar (`data/lexicon/corpus_words.tsv`):
//! issuers whose documents apply to the whole country, the words that make a title a policy's,
//! and the words of what an enterprise gets. Compiled in from that file (the one copy of these
//! lists), so every caller — the parser, `ingest`, the announcements — sees the same words
//! without being handed a table; editing the file takes a rebuild. The structural markers of the
//! source format (tag labels such as 责任单位, the document-type words that end a title line)
//! stay with the grammar in [`super`]'s parser modules.

use std::path::Path;
use std::sync::LazyLock;

use crate::error::Error;
use crate::text::lexicon::parse_kinds;

/// The shipped vocabulary, parsed once.
static SHIPPED: LazyLock<CorpusWords> = LazyLock::new(|| {
    let path = Path::new("data/lexicon/corpus_words.tsv");
    CorpusWords::parse(include_str!("../../data/lexicon/corpus_words.tsv"), path)
        .unwrap_or_else(|e| panic!("{e}"))
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

    /// Parses `kind<TAB>word` lines (`#` comments, blank lines ignored) of the file `path`, kind
    /// `national`, `title` or `benefit`, with the lexicon's parser.
    ///
    /// # Errors
    /// The line and what is wrong: no tab, an unknown kind, an empty or repeated word.
    pub fn parse(text: &str, path: &Path) -> Result<CorpusWords, Error> {
        let [national, title, benefit] =
            parse_kinds(text, path, ["national", "title", "benefit"], str::to_string)?;
        Ok(CorpusWords {
            national,
            title,
            benefit,
        })
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
        let line = |text: &str| match CorpusWords::parse(text, Path::new("t")) {
            Err(Error::Config { line, .. }) => Err(line),
            Err(other) => panic!("help: {other}"),
            Ok(_) => Ok(()),
        };
        assert_eq!(line("# c\ntitle\t通知\nnational 国务院"), Err(3));
        assert_eq!(line("place\t安阳"), Err(1));
        assert_eq!(line("title\t \n"), Err(1));
        assert_eq!(line("title\t通知\ntitle\t通知"), Err(2));
        let words = CorpusWords::parse("benefit\t补贴 # comment\n\ntitle\t函", Path::new("t"))
            .expect("valid");
        assert_eq!(
            (words.benefit, words.title),
            (vec!["补贴".into()], vec!["函".into()])
        );
    }
}
