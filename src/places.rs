//! The one table of places (`data/lexicon/places.tsv`): place names in questions, `/region`,
//! `--region` and `/subscribe`, and the region of a document from its 文号, title, issuer or
//! compendium part; plus how a document's region relates to the asked-for region (same place, a
//! parent, a child, or another locality).

use std::path::Path;

use crate::corpus::Level;
use crate::error::Error;
use crate::text::occur::WordList;

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

/// The region path of the whole country.
pub const NATIONAL: &str = "全国";

/// Marks a `places.tsv` line whose alias is only the abbreviation that starts a 文号 (`安` of
/// `安政〔2022〕6号`), never a place name in running text.
const DOCNO_MARK: &str = "文号";

/// Place aliases → region paths, longest alias first; and 文号 abbreviations → region paths.
#[derive(Clone, Debug, Default)]
pub struct Places {
    aliases: Vec<(String, String)>,
    docno_prefixes: Vec<(String, String)>,
    /// Region paths in the order the table first names them, with that first alias.
    order: Vec<(String, String)>,
    /// The aliases (in the order of `aliases`), found in a question in one pass.
    names: WordList,
}

impl Places {
    /// Loads `places.tsv` (`alias<TAB>region path`, or `abbreviation<TAB>region path<TAB>文号`;
    /// `#` comments).
    ///
    /// # Errors
    /// Unreadable file or a malformed line, naming file and line.
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

    /// Parses the text of `places.tsv`; an error gives the 1-based line and what is wrong.
    ///
    /// # Errors
    /// A line that is not `alias<TAB>region path[<TAB>文号]`.
    pub fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut places = Places::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            let entry = |alias: &str, path: &str| (alias.to_string(), path.to_string());
            match fields[..] {
                [alias, path] if !alias.is_empty() && !path.is_empty() => {
                    places.aliases.push(entry(alias, path));
                    if !places.order.iter().any(|(p, _)| p == path) {
                        places.order.push((path.to_string(), alias.to_string()));
                    }
                }
                [alias, path, DOCNO_MARK] if !alias.is_empty() && !path.is_empty() => {
                    places.docno_prefixes.push(entry(alias, path));
                }
                _ => {
                    let expected = "expected `alias<TAB>region path` or `abbreviation<TAB>region path<TAB>文号`";
                    return Err((i + 1, expected.to_string()));
                }
            }
        }
        places
            .aliases
            .sort_by_key(|a| std::cmp::Reverse(a.0.chars().count()));
        places
            .docno_prefixes
            .sort_by_key(|a| std::cmp::Reverse(a.0.chars().count()));
        places.names = WordList::new(places.aliases.iter().map(|a| a.0.clone()).collect());
        Ok(places)
    }

    /// The region path of the first (longest) place alias found in `text`, with the alias.
    #[must_use]
    pub fn detect(&self, text: &str) -> Option<(&str, &str)> {
        self.names
            .occurring(text)
            .into_iter()
            .map(|i| &self.aliases[i])
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

    /// `text` with the place names replaced by spaces (longest alias first), so that they do
    /// not count as query terms.
    #[must_use]
    pub fn blank_out(&self, text: &str) -> String {
        self.names.blank_out(text)
    }

    /// One name per known region, in table order (`全国、河南、郑州、安阳…`): the alias on the
    /// first line of each region path. What to offer when a region name is not known.
    #[must_use]
    pub fn known(&self) -> Vec<&str> {
        self.order.iter().map(|(_, alias)| alias.as_str()).collect()
    }

    /// Level and region path of the place named earliest in a document's title, issuer or
    /// compendium part (`全国`/`国家` excepted: a national programme named in a local title does
    /// not make the document national).
    #[must_use]
    pub fn in_document_text(&self, text: &str) -> Option<(Level, String)> {
        self.aliases
            .iter()
            .filter(|(_, path)| path != NATIONAL)
            .filter_map(|(alias, path)| text.find(alias.as_str()).map(|at| (at, alias, path)))
            .min_by_key(|(at, alias, _)| (*at, std::cmp::Reverse(alias.len())))
            .map(|(_, _, path)| (level(path), path.clone()))
    }

    /// Level and region path of a document by its 文号's abbreviation (`安政〔2022〕6号` → 安阳);
    /// national when the abbreviation is not a local one (`国发`, `工信部企业函`).
    #[must_use]
    pub fn of_doc_number(&self, doc_number: &str) -> (Level, String) {
        self.docno_prefixes
            .iter()
            .find(|(prefix, _)| doc_number.starts_with(prefix.as_str()))
            .map_or((Level::National, NATIONAL.to_string()), |(_, path)| {
                (level(path), path.clone())
            })
    }
}

/// The administrative level of a region path: `全国` national, then by depth province
/// (`河南省`), city (`河南省/安阳市`), county (`河南省/新乡市/获嘉县`).
#[must_use]
pub fn level(path: &str) -> Level {
    if path == NATIONAL {
        return Level::National;
    }
    match path.split('/').count() {
        1 => Level::Province,
        2 => Level::City,
        _ => Level::County,
    }
}

/// How `doc` (a document's region path) relates to `asked` (the question's region path).
#[must_use]
pub fn relation(asked: &str, doc: &str) -> Relation {
    if asked == doc {
        return Relation::Same;
    }
    if doc == NATIONAL || is_prefix_path(doc, asked) {
        return Relation::Parent;
    }
    if asked == NATIONAL || is_prefix_path(asked, doc) {
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
    fn known_regions_are_named_by_their_first_line() {
        assert_eq!(
            places().known(),
            [
                "全国", "河南", "郑州", "安阳", "新乡", "获嘉", "济源", "甘肃", "临夏"
            ]
        );
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
