//! Subscription filters (`/subscribe 融资 安阳`): topic keywords and regions, whether an
//! announcement matches them, and the subscription record itself.

use serde::{Deserialize, Serialize};

use super::Announcement;
use crate::places::{Places, Relation, relation};
use crate::text::normalize::normalize;

/// Most filter words in one `/subscribe`.
pub const MAX_FILTERS: usize = 6;

/// Longest topic keyword, in characters.
const MAX_KEYWORD_CHARS: usize = 12;

/// What a subscriber wants to hear about: topic keywords and regions. Empty = everything.
/// A document matches when it matches any keyword (or there are none) and lies in, above or
/// below any of the regions (or there are none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    /// Topic keywords (`融资`, `算力`), normalised.
    pub topics: Vec<String>,
    /// Region paths (`河南省/安阳市`).
    pub regions: Vec<String>,
}

/// Why `/subscribe` arguments were not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// More than [`MAX_FILTERS`] words.
    #[error("too many filter words")]
    TooMany,
    /// A word too long to be a topic keyword.
    #[error("not a topic or place: {0}")]
    Unknown(String),
}

impl Filters {
    /// Parses `/subscribe` arguments: words separated by spaces or `，、,`; a word that names a
    /// place is a region, any other a topic keyword.
    ///
    /// # Errors
    /// Too many words, or a word too long to be a keyword.
    pub fn parse(args: &str, places: &Places) -> Result<Filters, FilterError> {
        let words: Vec<&str> = args
            .split(|c: char| c.is_whitespace() || matches!(c, '，' | '、' | ',' | '；' | ';'))
            .filter(|w| !w.is_empty())
            .collect();
        if words.len() > MAX_FILTERS {
            return Err(FilterError::TooMany);
        }
        let mut filters = Filters::default();
        for word in words {
            if let Some(path) = places.resolve(word) {
                push_unique(&mut filters.regions, path.to_string());
                continue;
            }
            let keyword = normalize(word);
            if keyword.chars().count() > MAX_KEYWORD_CHARS
                || !keyword.chars().any(char::is_alphanumeric)
            {
                return Err(FilterError::Unknown(word.to_string()));
            }
            push_unique(&mut filters.topics, keyword);
        }
        Ok(filters)
    }

    /// Whether `a` is for this subscriber.
    #[must_use]
    pub fn matches(&self, a: &Announcement) -> bool {
        let topic_ok = self.topics.is_empty() || {
            let about = normalize(
                &std::iter::once(a.title.as_str())
                    .chain(a.topics.iter().map(String::as_str))
                    .chain(a.measures.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
            self.topics.iter().any(|k| about.contains(k.as_str()))
        };
        let region_ok = self.regions.is_empty()
            || self
                .regions
                .iter()
                .any(|r| relation(r, &a.region) != Relation::Other);
        topic_ok && region_ok
    }

    /// Whether there is no filter at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.topics.is_empty() && self.regions.is_empty()
    }
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

/// One subscriber (a group, or a user in a private chat).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// Telegram chat id.
    pub chat: i64,
    /// What it wants to hear about.
    pub filters: Filters,
    /// When it subscribed (Unix seconds).
    pub since: u64,
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::announcement;
    use super::*;

    #[test]
    fn filters_by_keyword_and_region() {
        let places =
            Places::parse("安阳\t河南省/安阳市\n河南\t河南省\n临夏\t甘肃省/临夏回族自治州")
                .expect("valid places");
        let f = Filters::parse("融资 安阳", &places).expect("valid");
        assert_eq!(f.topics, vec!["融资"]);
        assert_eq!(f.regions, vec!["河南省/安阳市"]);
        let anyang = announcement("河南省/安阳市", "安阳市金融支持措施", &["融资贷款"]);
        let henan = announcement("河南省", "河南省融资担保办法", &[]);
        let linxia = announcement("甘肃省/临夏回族自治州", "临夏融资措施", &["融资贷款"]);
        let rent = announcement("河南省/安阳市", "安阳市房租减免", &["房租减免"]);
        assert!(f.matches(&anyang));
        assert!(
            f.matches(&henan),
            "a province's policy applies to its cities"
        );
        assert!(!f.matches(&linxia), "another region");
        assert!(!f.matches(&rent), "another topic");
        assert!(Filters::default().matches(&linxia));
        assert!(Filters::default().is_empty());
        assert_eq!(
            Filters::parse("a b c d e f g", &places),
            Err(FilterError::TooMany)
        );
        assert!(matches!(
            Filters::parse("这是一个非常非常长的不像关键词的句子", &places),
            Err(FilterError::Unknown(_))
        ));
        assert_eq!(
            Filters::parse("融资，融资、安阳", &places)
                .expect("valid")
                .topics,
            vec!["融资"]
        );
    }
}
