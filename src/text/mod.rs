//! Text processing shared by indexing and questions: normalisation, jieba segmentation with the
//! policy user dictionary, the tantivy analyzers, and the synonym/stop-word lexicon. Pure.

pub mod analyzer;
pub mod lexicon;
pub mod normalize;
pub mod segment;
