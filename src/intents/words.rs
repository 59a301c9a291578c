//! The words of the conversation itself ([`Words`], the `[words]` table of
//! `intents/conversation.toml`): their file format and checks (one word each, no spaces, written
//! in normal form; errors name file and line).

use std::path::Path;

use serde::Deserialize;

use super::load::line_of;
use crate::error::Error;
use crate::text::normalize::normalize;

/// The words of the conversation itself, from the `[words]` table of one intents file
/// (`intents/conversation.toml`), in normal form: read by [`IntentSet::classify`](super::IntentSet::classify) (fillers) and
/// by the app against the session (the rest), never by retrieval.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Words {
    /// Words that may surround a conversational trigger without making the message a question,
    /// longest first (ties in file order).
    pub fillers: Vec<String>,
    /// Messages asking for the next page (更多, 下一页).
    pub more: Vec<String>,
    /// Aspects of the last question (申请条件, 哪个部门): a message made only of these continues
    /// it. Removed from a message last word first.
    pub aspects: Vec<String>,
    /// Words around a place name that still only ask "and there?" (有没有, 这边), in removal order.
    pub region_fillers: Vec<String>,
    /// `/region` arguments that clear the sticky region (清除, 不限).
    pub clear_region: Vec<String>,
    /// A message starting with one of these continues the last question (那, 那么); removed in
    /// order before the rest is read.
    pub follow_lead: Vec<String>,
    /// A message ending with one of these continues the last question (呢); removed in order.
    pub follow_tail: Vec<String>,
    /// Trailing words around a place or aspect (的, 这边), removed in order after `follow_tail`.
    pub place_tail: Vec<String>,
    /// Leading words around a place or aspect (在), removed in order last.
    pub place_lead: Vec<String>,
    /// Characters that may remain around the aspects of a follow-up (吗, 的, 怎么 …).
    pub aspect_particles: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWords {
    fillers: Vec<toml::Spanned<String>>,
    more: Vec<toml::Spanned<String>>,
    aspects: Vec<toml::Spanned<String>>,
    region_fillers: Vec<toml::Spanned<String>>,
    clear_region: Vec<toml::Spanned<String>>,
    follow_lead: Vec<toml::Spanned<String>>,
    follow_tail: Vec<toml::Spanned<String>>,
    place_tail: Vec<toml::Spanned<String>>,
    place_lead: Vec<toml::Spanned<String>>,
    aspect_particles: Vec<toml::Spanned<String>>,
}

/// The checked `[words]` table of `text` (file `path`); fillers sorted longest first.
pub(super) fn words_of(raw: RawWords, text: &str, path: &Path) -> Result<Words, Error> {
    let list = |words: Vec<toml::Spanned<String>>| -> Result<Vec<String>, Error> {
        words
            .into_iter()
            .map(|w| {
                let line = line_of(text, w.span().start);
                let word = w.into_inner();
                let bad = |message: String| Error::Config {
                    path: path.to_path_buf(),
                    line,
                    message,
                };
                if word.is_empty() || word.contains(char::is_whitespace) {
                    return Err(bad(format!("`{word}`: one word, no spaces")));
                }
                let normal = normalize(&word);
                if normal != word {
                    return Err(bad(format!(
                        "`{word}` is compared in normal form: write `{normal}`"
                    )));
                }
                Ok(word)
            })
            .collect()
    };
    let mut fillers = list(raw.fillers)?;
    fillers.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    Ok(Words {
        fillers,
        more: list(raw.more)?,
        aspects: list(raw.aspects)?,
        region_fillers: list(raw.region_fillers)?,
        clear_region: list(raw.clear_region)?,
        follow_lead: list(raw.follow_lead)?,
        follow_tail: list(raw.follow_tail)?,
        place_tail: list(raw.place_tail)?,
        place_lead: list(raw.place_lead)?,
        aspect_particles: list(raw.aspect_particles)?.concat(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::IntentSet;
    use super::super::tests::{load_error, real};

    #[test]
    fn shipped_words_load_fillers_longest_first() {
        let set = real();
        let words = set.words();
        assert!(words.more.iter().any(|w| w == "更多"));
        assert!(words.aspects.iter().any(|w| w == "申请条件"));
        assert!(words.region_fillers.iter().any(|w| w == "有没有"));
        assert!(words.clear_region.iter().any(|w| w == "清除"));
        assert_eq!(words.follow_lead, ["那么", "那"], "help: 那么 before 那");
        assert!(words.aspect_particles.contains('吗'));
        let lengths: Vec<usize> = words.fillers.iter().map(|w| w.chars().count()).collect();
        assert!(
            lengths.windows(2).all(|p| p[0] >= p[1]),
            "help: {lengths:?}"
        );
        assert_eq!(words.fillers.first().map(String::as_str), Some("小助手"));
    }

    const WORDS: &str = "[words]\nfillers = [\"啊\"]\nmore = [\"更多\"]\naspects = []\n\
                         region_fillers = []\nclear_region = [\"清除\"]\n\
                         follow_lead = []\nfollow_tail = []\nplace_tail = []\nplace_lead = []\n\
                         aspect_particles = []\n";
    const HI: &str = "[[intent]]\nname = \"hi\"\nkind = \"greeting\"\nlabel = \"H\"\n\
                      triggers = [\"hi\"]\nreply = \"hello\"\n";

    #[test]
    fn words_are_required_once_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), HI).unwrap();
        let err = IntentSet::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("[words]"), "help: {err}");
        std::fs::write(dir.path().join("b.toml"), WORDS).unwrap();
        let set = IntentSet::load(dir.path()).expect("intents and words");
        assert_eq!(set.words().more, ["更多"]);
        std::fs::write(dir.path().join("c.toml"), WORDS).unwrap();
        let err = IntentSet::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("c.toml:1:") && err.contains("second"),
            "help: {err}"
        );
        let err = load_error(&WORDS.replace("[\"更多\"]", "[\n  \"ＭＯＲＥ\",\n]"));
        assert!(
            err.contains("bad.toml:4:") && err.contains("more"),
            "help: {err}"
        );
        let err = load_error(&WORDS.replace("\"啊\"", "\"下 一页\""));
        assert!(
            err.contains("bad.toml:2:") && err.contains("spaces"),
            "help: {err}"
        );
    }
}
