//! Loading intents: every `intents/*.toml` file in name order into an [`IntentSet`], the file
//! format (`[[intent]]` tables and the one `[words]` table) and its validation, with errors that
//! name the file and the 1-based line.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::words::{RawWords, words_of};
use super::{Intent, IntentKind, IntentSet, TopicQuestion};
use crate::error::Error;
use crate::text::normalize::normalize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    intent: Vec<RawIntent>,
    words: Option<toml::Spanned<RawWords>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntent {
    name: toml::Spanned<String>,
    kind: IntentKind,
    label: String,
    #[serde(default)]
    triggers: Vec<String>,
    reply: Option<String>,
    example: Option<String>,
    #[serde(default)]
    followups: Vec<TopicQuestion>,
}

impl IntentSet {
    /// Loads every `*.toml` file in `dir`, sorted by file name.
    ///
    /// # Errors
    /// [`Error::Io`] when the directory or a file cannot be read; [`Error::Config`] naming the
    /// file and 1-based line for malformed TOML, unknown keys, a duplicate intent name, a
    /// conversational intent without reply, a topic without example or triggers, a `[words]`
    /// list missing, a word that is empty, holds whitespace or is not in normal form, or a
    /// second `[words]` table; and [`Error::Data`] when the directory holds no intent at all or
    /// no `[words]` table.
    pub fn load(dir: &Path) -> Result<IntentSet, Error> {
        let io = |source| Error::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
            .collect();
        files.sort();
        let mut set = IntentSet::default();
        for path in &files {
            let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            set.add_file(path, &text)?;
        }
        if set.intents.is_empty() {
            return Err(Error::Data {
                path: dir.to_path_buf(),
                reason: "no intent defined (expected *.toml files with [[intent]] tables)".into(),
            });
        }
        if set.words_from.is_none() {
            return Err(Error::Data {
                path: dir.to_path_buf(),
                reason: "no [words] table (the conversation words, see conversation.toml)".into(),
            });
        }
        Ok(set)
    }

    /// Parses one intent file's text and appends its intents (and takes its `[words]` table).
    ///
    /// # Errors
    /// As [`IntentSet::load`], naming `path`.
    pub fn add_file(&mut self, path: &Path, text: &str) -> Result<(), Error> {
        let config = |line: usize, message: String| Error::Config {
            path: path.to_path_buf(),
            line,
            message,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |span| line_of(text, span.start));
            config(line, e.message().to_string())
        })?;
        if let Some(words) = raw.words {
            let line = line_of(text, words.span().start);
            if let Some(first) = &self.words_from {
                let first = first.display();
                return Err(config(
                    line,
                    format!("a second [words] table (first in {first})"),
                ));
            }
            self.words = words_of(words.into_inner(), text, path)?;
            self.words_from = Some(path.to_path_buf());
        }
        for r in raw.intent {
            let line = line_of(text, r.name.span().start);
            let name = r.name.into_inner().trim().to_string();
            if name.is_empty() {
                return Err(config(line, "intent name is empty".into()));
            }
            if self.intents.iter().any(|i| i.name == name) {
                return Err(config(line, format!("duplicate intent name `{name}`")));
            }
            let triggers: Vec<String> = r
                .triggers
                .iter()
                .map(|t| normalize(t.trim()))
                .filter(|t| !t.is_empty())
                .collect();
            if triggers.is_empty() {
                return Err(config(line, format!("intent `{name}` has no triggers")));
            }
            match r.kind {
                IntentKind::Topic if r.example.is_none() => {
                    return Err(config(
                        line,
                        format!("topic `{name}` has no example question"),
                    ));
                }
                k if k.is_conversational() && r.reply.is_none() => {
                    return Err(config(line, format!("intent `{name}` has no reply")));
                }
                _ => {}
            }
            self.intents.push(Intent {
                name,
                kind: r.kind,
                label: r.label,
                triggers,
                reply: r.reply,
                example: r.example,
                followups: r.followups,
            });
        }
        self.topics = super::find::TopicFinder::new(&self.intents);
        self.spoken = super::spoken_triggers(&self.intents);
        Ok(())
    }
}

/// 1-based line of byte offset `pos` in `text`.
pub(super) fn line_of(text: &str, pos: usize) -> usize {
    let pos = pos.min(text.len());
    text.as_bytes()[..pos]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::super::tests::load_error;
    use super::*;

    #[test]
    fn broken_toml_names_file_and_line() {
        let err = load_error("[[intent]]\nname = \"x\"\nkind = \"topic\"\nlabel = \"X\n");
        assert!(err.contains("bad.toml:4:"), "help: {err}");
    }

    #[test]
    fn unknown_key_is_rejected_with_line() {
        let text = "[[intent]]\nname = \"x\"\nkind = \"topic\"\nlabel = \"X\"\ntriggers = [\"a\"]\n\
                    example = \"?\"\ncolour = \"red\"\n";
        let err = load_error(text);
        assert!(
            err.contains("bad.toml:7:") && err.contains("colour"),
            "help: {err}"
        );
    }

    #[test]
    fn duplicate_name_is_rejected_with_line() {
        let one = "[[intent]]\nname = \"x\"\nkind = \"topic\"\nlabel = \"X\"\ntriggers = [\"a\"]\n\
                   example = \"?\"\n";
        let err = load_error(&format!("{one}\n{one}"));
        assert!(
            err.contains("bad.toml:9:") && err.contains("duplicate"),
            "help: {err}"
        );
    }

    #[test]
    fn conversational_intent_needs_a_reply() {
        let err = load_error(
            "[[intent]]\nname = \"hi\"\nkind = \"greeting\"\nlabel = \"H\"\ntriggers = [\"hi\"]\n",
        );
        assert!(
            err.contains("bad.toml:2:") && err.contains("reply"),
            "help: {err}"
        );
    }

    #[test]
    fn empty_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(IntentSet::load(dir.path()).is_err());
        assert!(IntentSet::load(&dir.path().join("missing")).is_err());
    }
}
