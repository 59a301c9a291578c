//! Core error type (no Telegram or Redis types).

use std::path::PathBuf;

/// Errors of the library core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// Path that failed.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// A data file is not UTF-8 text.
    #[error("{path} is not UTF-8 text (binary file?)")]
    Binary {
        /// Offending file.
        path: PathBuf,
    },
    /// A data directory holds nothing usable.
    #[error("{path}: {reason}")]
    Data {
        /// Offending file or directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A configuration file (intents, lexicon, config) is malformed.
    #[error("{path}:{line}: {message}")]
    Config {
        /// Offending file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The index must be (re)built but its directory cannot be written (read-only).
    #[error("the index in {dir} must be rebuilt ({reason}) but cannot be written: {io}")]
    NotWritable {
        /// Index directory.
        dir: PathBuf,
        /// Why a rebuild is needed.
        reason: String,
        /// What writing failed with (not a `source`: the message already names it).
        io: std::io::Error,
    },
    /// The search index failed.
    #[error("index error: {0}")]
    Index(String),
}

impl From<tantivy::TantivyError> for Error {
    fn from(e: tantivy::TantivyError) -> Self {
        Error::Index(e.to_string())
    }
}
