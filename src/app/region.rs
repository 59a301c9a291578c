//! The places a user names: region names resolved against the place table, the session's
//! sticky region (`/region`), and `/subscribe` filters.

use crate::broadcast::{FilterError, Filters};
use crate::session::Session;
use crate::text::chars::truncate;

use super::{App, visible};

/// Longest region name echoed back in [`UnknownRegion`], in characters.
const MAX_REGION_ECHO: usize = 20;

/// A region name that is not in the place table (`data/lexicon/places.tsv`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("未知地区“{}”，可选：{}", visible(&truncate(.name, MAX_REGION_ECHO)), .known.join("、"))]
pub struct UnknownRegion {
    /// The name as given.
    pub name: String,
    /// One name per known region, e.g. `全国`, `河南`, `安阳`.
    pub known: Vec<String>,
}

impl App {
    /// The region path of a region name (`安阳`, `河南省/安阳市`), from the place table shared with
    /// the parser and retrieval.
    ///
    /// # Errors
    /// The name is not a known place; the error lists the known ones.
    pub fn region(&self, name: &str) -> Result<String, UnknownRegion> {
        let kb = self.kb();
        match kb.places.resolve(name) {
            Some(path) => Ok(path.to_string()),
            None => Err(UnknownRegion {
                name: name.trim().to_string(),
                known: kb.places.known().into_iter().map(str::to_string).collect(),
            }),
        }
    }

    /// `/region`: sets the session's sticky region to a known place, or clears it (an empty name
    /// or one of the intents' `clear_region` words, such as 清除). Returns the region path set (`None`: cleared).
    ///
    /// # Errors
    /// The name is not a known place (the session is unchanged).
    pub fn set_region(
        &self,
        session: &mut Session,
        name: &str,
    ) -> Result<Option<String>, UnknownRegion> {
        let name = name.trim();
        if name.is_empty() || self.intents.words().clear_region.iter().any(|w| w == name) {
            session.region = None;
            return Ok(None);
        }
        let path = self.region(name)?;
        session.region = Some(path.clone());
        Ok(Some(path))
    }

    /// Parses `/subscribe` arguments into filters (places known to the knowledge base).
    ///
    /// # Errors
    /// Too many words, or a word that is neither a place nor a plausible keyword.
    pub fn filters(&self, args: &str) -> Result<Filters, FilterError> {
        Filters::parse(args, &self.kb().places)
    }
}
