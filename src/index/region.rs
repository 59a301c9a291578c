//! Places named in questions (`data/lexicon/places.tsv`) and how a document's region relates to
//! the asked-for region (same place, a parent, a child, or another locality).

use std::path::Path;

use crate::error::Error;

/// How a document's region relates to the region of the question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    /// The same place.
    Same,
    /// A parent of the asked-for place (province for a city, 全国 for everything).
    Parent,
    /// A place inside the asked-for place (a county of the asked-for city).
    Child,
    /// Another locality.
    Other,
}

/// Place aliases → region paths, longest alias first.
#[derive(Clone, Debug, Default)]
pub struct Places {
    aliases: Vec<(String, String)>,
}

impl Places {
    /// Loads `places.tsv` (`alias<TAB>region path`, `#` comments).
    ///
    /// # Errors
    /// Unreadable file or a line without exactly two fields, naming file and line.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|(line, message)| Error::Config {
            path: path.to_path_buf(),
            line,
            message,
        })
    }

    pub(crate) fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut aliases = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split('\t');
            match (fields.next(), fields.next(), fields.next()) {
                (Some(alias), Some(path), None) if !alias.is_empty() && !path.is_empty() => {
                    aliases.push((alias.to_string(), path.to_string()));
                }
                _ => return Err((i + 1, "expected `alias<TAB>region path`".to_string())),
            }
        }
        aliases.sort_by_key(|a| std::cmp::Reverse(a.0.chars().count()));
        Ok(Places { aliases })
    }

    /// The region path of the first (longest) place alias found in `text`, with the alias.
    #[must_use]
    pub fn detect(&self, text: &str) -> Option<(&str, &str)> {
        self.aliases
            .iter()
            .filter_map(|(alias, path)| text.find(alias.as_str()).map(|at| (at, alias, path)))
            .min_by_key(|(at, alias, _)| (*at, std::cmp::Reverse(alias.len())))
            .map(|(_, alias, path)| (alias.as_str(), path.as_str()))
    }

    /// Resolves a region given by name (`安阳`, `河南省/安阳市`) to a region path.
    #[must_use]
    pub fn resolve<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        let name = name.trim();
        if self.aliases.iter().any(|(_, path)| path == name) {
            return Some(name);
        }
        self.aliases
            .iter()
            .find(|(alias, _)| alias == name)
            .map(|(_, path)| path.as_str())
    }

    /// Every alias, for removing place names from query terms.
    pub fn aliases(&self) -> impl Iterator<Item = &str> {
        self.aliases.iter().map(|(alias, _)| alias.as_str())
    }
}

/// How `doc` (a document's region path) relates to `asked` (the question's region path).
#[must_use]
pub fn relation(asked: &str, doc: &str) -> Relation {
    if asked == doc {
        return Relation::Same;
    }
    if doc == "全国" || is_prefix_path(doc, asked) {
        return Relation::Parent;
    }
    if asked == "全国" || is_prefix_path(asked, doc) {
        return Relation::Child;
    }
    Relation::Other
}

fn is_prefix_path(prefix: &str, path: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places() -> Places {
        Places::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/lexicon/places.tsv"
        )))
        .expect("bundled places.tsv loads")
    }

    #[test]
    fn detects_longest_earliest_alias() {
        let p = places();
        assert_eq!(
            p.detect("安阳这边上市有奖励没"),
            Some(("安阳", "河南省/安阳市"))
        );
        assert_eq!(
            p.detect("获嘉县的银行"),
            Some(("获嘉县", "河南省/新乡市/获嘉县"))
        );
        assert_eq!(
            p.detect("临夏州小微企业"),
            Some(("临夏州", "甘肃省/临夏回族自治州"))
        );
        assert_eq!(p.detect("小店房租能减免吗"), None);
    }

    #[test]
    fn resolves_names_and_paths() {
        let p = places();
        assert_eq!(p.resolve("新乡"), Some("河南省/新乡市"));
        assert_eq!(p.resolve("河南省/安阳市"), Some("河南省/安阳市"));
        assert_eq!(p.resolve("火星"), None);
    }

    #[test]
    fn relations() {
        assert_eq!(
            relation("河南省/新乡市/获嘉县", "河南省/新乡市"),
            Relation::Parent
        );
        assert_eq!(relation("河南省/新乡市/获嘉县", "全国"), Relation::Parent);
        assert_eq!(
            relation("河南省/新乡市", "河南省/新乡市/获嘉县"),
            Relation::Child
        );
        assert_eq!(relation("河南省/安阳市", "河南省/新乡市"), Relation::Other);
        assert_eq!(relation("河南省/安阳市", "河南省/安阳市"), Relation::Same);
        assert_eq!(relation("甘肃省", "河南省"), Relation::Other);
        assert_eq!(relation("河南省/安阳", "河南省/安阳市"), Relation::Other);
    }

    #[test]
    fn malformed_line_is_reported_with_its_number() {
        assert_eq!(
            Places::parse("# c\n安阳\t河南省/安阳市\n坏行\n")
                .unwrap_err()
                .0,
            3
        );
    }
}
