//! `policybot ingest`: new policy files into the data directory and the live index. Owns what
//! its three steps share: the ingest [`Limits`], why a file is refused ([`Rejection`]) and what
//! was done ([`IngestReport`]). The steps: `read` takes the editor's files (`.txt`, `.md`, and
//! `.docx` read as zip + XML) as text within the limits; `plan` decides per document whether it
//! is added, changed or unchanged (pure: [`plan()`]); `apply` stores the files in
//! `data/compendium/` and rebuilds the index beside the live one (swapped in atomically by
//! [`KnowledgeBase::open_locked`](crate::index::KnowledgeBase::open_locked)), all under the index
//! directory's [`BuildLock`](crate::index::BuildLock).

mod apply;
mod plan;
mod read;

use std::path::{Path, PathBuf};

use crate::corpus::Corpus;
use crate::error::Error;
use crate::index::OpenReport;

pub use apply::ingest;
pub use plan::{FilePlan, Stored, plan};
pub use read::read_source;

/// Why an input file is not ingested (the message is shown to the editor).
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// Unreadable file.
    #[error("{path}: 无法读取: {source}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// A `.docx` that is not a readable Word document.
    #[error("{path}: 无法读取 Word 文件（文件损坏，或不是 .docx 格式）")]
    Docx {
        /// The file.
        path: PathBuf,
    },
    /// Neither `.txt`, `.md` nor `.docx`.
    #[error("{path}: 只接受 .txt、.md 或 .docx 文件")]
    Format {
        /// The file.
        path: PathBuf,
    },
    /// Nothing but whitespace.
    #[error("{path}: 文件为空")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// Not UTF-8 text.
    #[error("{path}: 不是 UTF-8 文本（二进制文件或其他编码）")]
    Binary {
        /// The file.
        path: PathBuf,
    },
    /// The parser found no policy document.
    #[error("{path}: 没有识别出任何政策文件（需要标题与正文）")]
    NoDocument {
        /// The file.
        path: PathBuf,
    },
    /// A directory, pipe, device or socket: never opened, so a FIFO cannot block the ingest.
    #[error("{path}: 不是普通文件（目录、管道或设备），未读取")]
    NotRegular {
        /// The file.
        path: PathBuf,
    },
    /// Over a size limit (the file, a Word document's XML, or the text taken from it).
    #[error("{path}: {what}过大（{size} 字节，上限 {limit} 字节）")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// What is too large: 文件, Word 文档内容 (XML), 提取的文本.
        what: &'static str,
        /// Its size in bytes (at least `limit + 1` when reading stopped at the limit).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// More lines than a file may hold (checked before parsing: the parser's memory grows with
    /// the number of lines).
    #[error("{path}: 行数过多（{count} 行，上限 {limit} 行）")]
    TooManyLines {
        /// The file.
        path: PathBuf,
        /// Lines of its text.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// More documents than a file may hold.
    #[error("{path}: 政策文件过多（{count} 份，每个文件上限 {limit} 份）")]
    TooManyDocuments {
        /// The file.
        path: PathBuf,
        /// Documents found.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// More clauses than a file may hold.
    #[error("{path}: 条款过多（{count} 条，每个文件上限 {limit} 条）")]
    TooManyClauses {
        /// The file.
        path: PathBuf,
        /// Clauses found.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The data directory would hold more clauses than allowed.
    #[error("{path}: 导入后条款总数过多（{count} 条，上限 {limit} 条）")]
    TooManyTotalClauses {
        /// The file that would exceed the total.
        path: PathBuf,
        /// Clauses of the data directory with this file.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A clause (a paragraph without sentence breaks, a table row) longer than allowed.
    #[error("{path}: 第 {line} 行起的条款过长（{chars} 字，上限 {limit} 字）")]
    ClauseTooLong {
        /// The file.
        path: PathBuf,
        /// First line of the clause.
        line: usize,
        /// Its length in characters.
        chars: usize,
        /// The limit.
        limit: usize,
    },
}

/// What one ingest accepts (config keys `ingest_*`, see the README). A file over any limit is
/// rejected in one line; nothing is ever cut short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest input file, and largest text taken from a Word document, in bytes.
    pub max_file_bytes: u64,
    /// Largest uncompressed `word/document.xml` of a `.docx`, in bytes.
    pub max_docx_xml_bytes: u64,
    /// Most lines (Word paragraphs) in one file.
    pub max_lines: usize,
    /// Most documents in one file.
    pub max_documents: usize,
    /// Most clauses in one file.
    pub max_file_clauses: usize,
    /// Most clauses in the data directory after the ingest (counted per file, before
    /// de-duplication across files).
    pub max_total_clauses: usize,
    /// Longest clause, in characters.
    pub max_clause_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 20 << 20,
            max_docx_xml_bytes: 64 << 20,
            max_lines: 200_000,
            max_documents: 200,
            max_file_clauses: 10_000,
            max_total_clauses: 50_000,
            max_clause_chars: 5_000,
        }
    }
}

impl Limits {
    /// The per-file limits on a parsed file: documents, clauses, clause length.
    fn check(&self, path: &Path, c: &Corpus) -> Result<(), Rejection> {
        let path = path.to_path_buf();
        if c.documents.len() > self.max_documents {
            return Err(Rejection::TooManyDocuments {
                path,
                count: c.documents.len(),
                limit: self.max_documents,
            });
        }
        if c.clauses.len() > self.max_file_clauses {
            return Err(Rejection::TooManyClauses {
                path,
                count: c.clauses.len(),
                limit: self.max_file_clauses,
            });
        }
        for cl in &c.clauses {
            let chars = cl.text.chars().count();
            if chars > self.max_clause_chars {
                return Err(Rejection::ClauseTooLong {
                    path,
                    line: cl.lines.first().copied().unwrap_or_default(),
                    chars,
                    limit: self.max_clause_chars,
                });
            }
        }
        Ok(())
    }
}

/// What ingest did, or why it did nothing.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// One or more input files were rejected; nothing was changed.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Rejected(Vec<Rejection>),
    /// The data directory could not be read or written, or the rebuild failed (files restored).
    #[error(transparent)]
    Data(#[from] Error),
}

/// What happened to one document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No document with its 文号 (or title) existed.
    Added,
    /// A document with the same 文号 (or title) existed with a different text.
    Changed,
    /// The same document with the same text already exists.
    Unchanged,
}

impl Outcome {
    /// Chinese label for the report.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Added => "新增",
            Outcome::Changed => "更新",
            Outcome::Unchanged => "未变",
        }
    }
}

/// One document of an ingested file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocReport {
    /// Title as parsed.
    pub title: String,
    /// 文号, if any.
    pub doc_number: Option<String>,
    /// Added, changed or unchanged.
    pub outcome: Outcome,
    /// For a changed document: data files that still print the old version (a compendium that
    /// also holds other documents is never rewritten; the old copy is listed in
    /// [`corpus::SUPERSEDED`] so the index keeps the new version).
    pub old_kept_in: Vec<String>,
}

/// One ingested file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileReport {
    /// The file as given.
    pub source: PathBuf,
    /// Name under `data/compendium/` it was stored as; `None` when nothing in it was new.
    pub stored_as: Option<String>,
    /// Data files it replaced (every document in them is in this file).
    pub replaced: Vec<String>,
    /// Its documents.
    pub documents: Vec<DocReport>,
}

/// The result of an ingest.
#[derive(Debug)]
pub struct IngestReport {
    /// Per input file.
    pub files: Vec<FileReport>,
    /// The rebuild, when anything changed (`None`: data and index untouched).
    pub rebuilt: Option<OpenReport>,
}
