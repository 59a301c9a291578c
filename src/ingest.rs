//! `policybot ingest`: new policy files into the data directory and the live index. Owns reading
//! and validating the editor's files (`.txt`, `.md`, and `.docx` read as zip + XML) within the
//! ingest [`Limits`], deciding per document whether it is added, changed or unchanged (pure:
//! [`plan`]), storing the files in `data/compendium/` and rebuilding the index beside the live
//! one (swapped in atomically by [`KnowledgeBase::open_locked`]), all under the index
//! directory's [`BuildLock`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::corpus::{self, Corpus};
use crate::error::Error;
use crate::index::{BuildLock, KnowledgeBase, OpenReport, Paths};
use crate::places::Places;

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

/// A data file as the planner sees it: name and the documents it prints.
#[derive(Clone, Debug)]
pub struct Stored {
    /// File name in `data/compendium/`.
    pub name: String,
    docs: Vec<DocSig>,
    /// Clauses the file yields (for the total limit).
    clauses: usize,
}

impl Stored {
    /// Parses `text` (the contents of data file `name`).
    #[must_use]
    pub fn parse(name: &str, text: &str, places: &Places) -> Stored {
        Stored::parsed(name, &corpus::parse_file(name, text, places))
    }

    fn parsed(name: &str, c: &Corpus) -> Stored {
        Stored {
            name: name.to_string(),
            docs: signatures(c),
            clauses: c.clauses.len(),
        }
    }
}

/// Identity and text signature of one document.
#[derive(Clone, Debug)]
struct DocSig {
    title: String,
    doc_number: Option<String>,
    number_key: Option<String>,
    title_key: String,
    /// Letters and digits of every clause path and text, in order.
    text: String,
}

impl DocSig {
    /// Same document: same 文号 when both have one, otherwise the same normalised title.
    fn same_document(&self, other: &DocSig) -> bool {
        corpus::same_identity(
            &(self.number_key.clone(), self.title_key.clone()),
            &(other.number_key.clone(), other.title_key.clone()),
        )
    }
}

/// Words one of which a policy title carries when it has no 文号.
const TITLE_WORDS: &[&str] = &[
    "关于", "通知", "意见", "办法", "措施", "方案", "规定", "细则", "政策", "决定", "公告", "通告",
    "指引", "指南", "条例", "计划", "实施", "解读", "问答", "清单", "汇编", "纲要", "函",
];

/// Whether the parser found a policy in `c`: a document with a 文号, or with a policy-like title
/// and body text besides its header (the parser makes a document of any text at all).
fn recognisable(c: &Corpus) -> bool {
    let mut has_body = vec![false; c.documents.len()];
    for cl in &c.clauses {
        if cl.kind != crate::corpus::ClauseKind::Header
            && let Some(b) = has_body.get_mut(cl.doc)
        {
            *b = true;
        }
    }
    c.documents.iter().zip(has_body).any(|(d, body)| {
        d.doc_number.is_some() || (body && TITLE_WORDS.iter().any(|w| d.title.contains(w)))
    })
}

fn signatures(c: &Corpus) -> Vec<DocSig> {
    let mut texts = vec![String::new(); c.documents.len()];
    for cl in &c.clauses {
        if let Some(t) = texts.get_mut(cl.doc) {
            for part in cl.path.iter().chain(std::iter::once(&cl.text)) {
                t.extend(part.chars().filter(|c| c.is_alphanumeric()));
            }
        }
    }
    c.documents
        .iter()
        .zip(texts)
        .map(|(d, text)| {
            let (number_key, title_key) = corpus::identity(d.doc_number.as_deref(), &d.title);
            DocSig {
                title: d.title.clone(),
                doc_number: d.doc_number.clone(),
                number_key,
                title_key,
                text,
            }
        })
        .collect()
}

/// What to do with one input file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePlan {
    /// Per document.
    pub documents: Vec<DocReport>,
    /// Name to store the file under, when anything in it is added or changed.
    pub store_as: Option<String>,
    /// Data files it supersedes entirely, to remove.
    pub remove: Vec<String>,
}

/// Decides, without touching the disk, what ingesting `text` (file `name`, `.md` or `.txt`)
/// into a data directory holding `existing` does. Pure.
///
/// `None` when the text holds no recognisable document.
#[must_use]
pub fn plan(existing: &[Stored], name: &str, text: &str, places: &Places) -> Option<FilePlan> {
    plan_parsed(existing, name, &corpus::parse_file(name, text, places))
}

/// [`plan`] of an already parsed file.
fn plan_parsed(existing: &[Stored], name: &str, incoming: &Corpus) -> Option<FilePlan> {
    if !recognisable(incoming) {
        return None;
    }
    let sigs = signatures(incoming);
    let mut documents = Vec::with_capacity(sigs.len());
    for sig in &sigs {
        let copies: Vec<(&Stored, &DocSig)> = existing
            .iter()
            .flat_map(|f| f.docs.iter().map(move |d| (f, d)))
            .filter(|(_, d)| d.same_document(sig))
            .collect();
        let outcome = if copies.is_empty() {
            Outcome::Added
        } else if copies.iter().any(|(_, d)| d.text == sig.text) {
            Outcome::Unchanged
        } else {
            Outcome::Changed
        };
        let old_files: BTreeSet<&str> = copies.iter().map(|(f, _)| f.name.as_str()).collect();
        documents.push((sig, outcome, old_files));
    }
    if documents.iter().all(|(_, o, _)| *o == Outcome::Unchanged) {
        return Some(FilePlan {
            documents: documents
                .into_iter()
                .map(|(sig, outcome, _)| report(sig, outcome, Vec::new()))
                .collect(),
            store_as: None,
            remove: Vec::new(),
        });
    }
    // A data file every document of which is in the new file is replaced by it.
    let remove: Vec<String> = existing
        .iter()
        .filter(|f| {
            !f.docs.is_empty()
                && f.docs
                    .iter()
                    .all(|d| sigs.iter().any(|s| s.same_document(d)))
        })
        .map(|f| f.name.clone())
        .collect();
    let taken: BTreeSet<&str> = existing
        .iter()
        .map(|f| f.name.as_str())
        .filter(|n| !remove.iter().any(|r| r == n))
        .collect();
    let store_as = file_name(name, &sigs[0].title, &taken);
    let documents = documents
        .into_iter()
        .map(|(sig, outcome, old_files)| {
            let kept = if outcome == Outcome::Changed {
                old_files
                    .into_iter()
                    .filter(|f| !remove.iter().any(|r| r == f))
                    .map(str::to_string)
                    .collect()
            } else {
                Vec::new()
            };
            report(sig, outcome, kept)
        })
        .collect();
    Some(FilePlan {
        documents,
        store_as: Some(store_as),
        remove,
    })
}

fn report(sig: &DocSig, outcome: Outcome, old_kept_in: Vec<String>) -> DocReport {
    DocReport {
        title: sig.title.clone(),
        doc_number: sig.doc_number.clone(),
        outcome,
        old_kept_in,
    }
}

/// Longest name a file is stored under as given (file systems allow 255 bytes; longer names
/// are shortened to `added-<first 40 characters>`).
const MAX_NAME_BYTES: usize = 120;

/// `name` when it is free and not too long, else `added-<stem or title>[-n].<ext>`.
fn file_name(name: &str, title: &str, taken: &BTreeSet<&str>) -> String {
    let path = Path::new(name);
    let ext = match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("md") => "md",
        _ => "txt",
    };
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let plain = format!("{stem}.{ext}");
    if !stem.is_empty()
        && plain.len() <= MAX_NAME_BYTES
        && !stem.starts_with('.')
        && !stem.chars().any(char::is_control)
        && !taken.contains(plain.as_str())
    {
        return plain;
    }
    let sanitise = |s: &str| -> String {
        let mut out = String::new();
        for c in s.chars() {
            if c.is_alphanumeric() {
                out.push(c);
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        out.trim_end_matches('-').chars().take(40).collect()
    };
    let mut base = sanitise(stem);
    if base.is_empty() {
        base = sanitise(title);
    }
    if base.is_empty() {
        base = "notice".to_string();
    }
    let mut candidate = format!("added-{base}.{ext}");
    let mut n = 2;
    while taken.contains(candidate.as_str()) {
        candidate = format!("added-{base}-{n}.{ext}");
        n += 1;
    }
    candidate
}

/// Reads an editor's file as text, or says why it cannot be ingested. Only regular files are
/// opened, and no more than the limits allow is read.
///
/// # Errors
/// See [`Rejection`] (all but `NoDocument` and the limits on parsed files).
pub fn read_source(path: &Path, limits: &Limits) -> Result<String, Rejection> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let word = match ext.as_deref() {
        Some("txt" | "md") => false,
        Some("docx") => true,
        _ => {
            return Err(Rejection::Format {
                path: path.to_path_buf(),
            });
        }
    };
    let unreadable = |source| Rejection::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let too_large = |what, size, limit| Rejection::TooLarge {
        path: path.to_path_buf(),
        what,
        size,
        limit,
    };
    // `stat` first: opening a FIFO for reading would block until a writer comes.
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if !meta.is_file() {
        return Err(Rejection::NotRegular {
            path: path.to_path_buf(),
        });
    }
    if meta.len() > limits.max_file_bytes {
        return Err(too_large("文件", meta.len(), limits.max_file_bytes));
    }
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let bytes = read_at_most(file, limits.max_file_bytes).map_err(unreadable)?;
    let Some(bytes) = bytes else {
        return Err(too_large(
            "文件",
            limits.max_file_bytes + 1,
            limits.max_file_bytes,
        ));
    };
    let text = if word {
        let xml = match docx_xml(&bytes, limits.max_docx_xml_bytes) {
            Ok(xml) => xml,
            Err(DocxError::Corrupt) => {
                return Err(Rejection::Docx {
                    path: path.to_path_buf(),
                });
            }
            Err(DocxError::TooLarge(size)) => {
                return Err(too_large(
                    "Word 文档内容（XML）",
                    size,
                    limits.max_docx_xml_bytes,
                ));
            }
        };
        drop(bytes);
        let text = docx_paragraphs(&xml);
        if text.len() as u64 > limits.max_file_bytes {
            return Err(too_large(
                "提取的文本",
                text.len() as u64,
                limits.max_file_bytes,
            ));
        }
        text
    } else {
        if bytes.contains(&0) {
            return Err(Rejection::Binary {
                path: path.to_path_buf(),
            });
        }
        String::from_utf8(bytes).map_err(|_| Rejection::Binary {
            path: path.to_path_buf(),
        })?
    };
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    };
    if text.trim().is_empty() {
        return Err(Rejection::Empty {
            path: path.to_path_buf(),
        });
    }
    let lines = text.lines().count();
    if lines > limits.max_lines {
        return Err(Rejection::TooManyLines {
            path: path.to_path_buf(),
            count: lines,
            limit: limits.max_lines,
        });
    }
    Ok(text)
}

/// All of `reader` when it holds at most `limit` bytes, `None` when it holds more. Never
/// returns a prefix: a cut could split a character.
fn read_at_most(reader: impl std::io::Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read as _;
    let mut out = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut out)?;
    Ok((out.len() as u64 <= limit).then_some(out))
}

/// Why the XML of a Word document was not read.
enum DocxError {
    /// Not a zip with `word/document.xml` in UTF-8.
    Corrupt,
    /// The XML is larger than allowed (its declared or actual size).
    TooLarge(u64),
}

/// The complete `word/document.xml` of a Word document, up to `limit` bytes.
fn docx_xml(bytes: &[u8], limit: u64) -> Result<String, DocxError> {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|_| DocxError::Corrupt)?;
    let entry = archive
        .by_name("word/document.xml")
        .map_err(|_| DocxError::Corrupt)?;
    if entry.size() > limit {
        return Err(DocxError::TooLarge(entry.size()));
    }
    match read_at_most(entry, limit) {
        Ok(Some(xml)) => String::from_utf8(xml).map_err(|_| DocxError::Corrupt),
        Ok(None) => Err(DocxError::TooLarge(limit + 1)),
        Err(_) => Err(DocxError::Corrupt),
    }
}

/// The text of a Word document: the paragraphs of `word/document.xml`, one per line.
#[cfg(test)]
fn docx_text(bytes: &[u8]) -> Option<String> {
    docx_xml(bytes, Limits::default().max_docx_xml_bytes)
        .ok()
        .map(|xml| docx_paragraphs(&xml))
}

/// Text runs (`<w:t>`) of WordprocessingML, a line per paragraph (`</w:p>`) or break, tabs kept.
/// Deleted revisions (`<w:delText>`) and everything else are skipped.
fn docx_paragraphs(xml: &str) -> String {
    let mut out = String::new();
    let mut in_text = false;
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        if in_text {
            decode_entities(&rest[..lt], &mut out);
        }
        let Some(gt) = rest[lt..].find('>') else {
            break;
        };
        let tag = &rest[lt + 1..lt + gt];
        rest = &rest[lt + gt + 1..];
        let self_closing = tag.ends_with('/');
        let name = tag
            .trim_end_matches('/')
            .split(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("");
        match name {
            "w:t" => in_text = !self_closing,
            "/w:t" => in_text = false,
            "w:tab" => out.push('\t'),
            "w:br" | "w:cr" | "/w:p" => out.push('\n'),
            _ => {}
        }
    }
    out
}

/// Appends `s` with the XML entities (`&amp;`, `&#x4E00;` …) decoded.
fn decode_entities(s: &str, out: &mut String) {
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let Some(semi) = after.find(';').filter(|&i| i <= 10) else {
            out.push('&');
            rest = after;
            continue;
        };
        let entity = &after[..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The `*.txt` / `*.md` files of the compendium directory, parsed.
fn read_existing(dir: &Path, places: &Places) -> Result<Vec<Stored>, Error> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".txt") || n.ends_with(".md"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let path = dir.join(&name);
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            // A file the index build would reject anyway holds no comparable document.
            let text = String::from_utf8_lossy(&bytes);
            Ok(Stored::parse(&name, &text, places))
        })
        .collect()
}

/// Changes made to the compendium directory, undone if the rebuild fails.
#[derive(Default)]
struct Applied {
    written: Vec<PathBuf>,
    removed: Vec<(PathBuf, Vec<u8>)>,
}

impl Applied {
    fn write(&mut self, path: PathBuf, text: &str) -> Result<(), Error> {
        // A short temporary name beside the target: the target's name may be near the file
        // system's limit already. (Only `*.txt`/`*.md` are data files; this is neither.)
        let tmp = path.with_file_name(format!(
            ".ingest-{}-{}.tmp",
            std::process::id(),
            self.written.len()
        ));
        std::fs::write(&tmp, text).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        self.written.push(path);
        Ok(())
    }

    fn remove(&mut self, path: PathBuf) -> Result<(), Error> {
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        std::fs::remove_file(&path).map_err(io(&path))?;
        self.removed.push((path, bytes));
        Ok(())
    }

    fn undo(self) {
        for p in self.written {
            let _ = std::fs::remove_file(p);
        }
        for (p, bytes) in self.removed {
            let _ = std::fs::write(p, bytes);
        }
    }
}

/// Lists the old copies of changed documents that stay in multi-document data files in
/// [`corpus::SUPERSEDED`], so that de-duplication indexes the new version; drops entries of
/// files that no longer exist.
fn record_superseded(
    compendium: &Path,
    planned: &[(FileReport, Option<String>)],
    applied: &mut Applied,
) -> Result<(), Error> {
    let mut entries = corpus::read_superseded(compendium)?;
    let before = entries.clone();
    for (file, _) in planned {
        for d in file
            .documents
            .iter()
            .filter(|d| d.outcome == Outcome::Changed)
        {
            for old in &d.old_kept_in {
                let entry = corpus::Superseded {
                    file: old.clone(),
                    identity: corpus::identity(d.doc_number.as_deref(), &d.title),
                };
                if !entries.contains(&entry) {
                    entries.push(entry);
                }
            }
        }
    }
    entries.retain(|e| compendium.join(&e.file).is_file());
    if entries == before {
        return Ok(());
    }
    let path = compendium.join(corpus::SUPERSEDED);
    if path.is_file() {
        applied.remove(path.clone())?;
    }
    let text: String = entries.iter().map(|e| e.line() + "\n").collect();
    applied.write(path, &text)
}

/// Ingests `files` into the data directory of `paths` and rebuilds the index when anything was
/// added or changed. All or nothing: any rejected file (see [`Limits`]), and nothing is written;
/// a failed rebuild, and the data files are restored (the live index is only replaced by a
/// complete generation). One ingest at a time per index directory: the whole run, reading the
/// inputs included, holds the index directory's [`BuildLock`] (another ingest waits for it;
/// `waiting` is called once before waiting).
///
/// # Errors
/// Rejected input files, an unreadable data directory, a failed rebuild.
pub fn ingest(
    paths: &Paths,
    files: &[PathBuf],
    limits: &Limits,
    waiting: &mut dyn FnMut(),
    progress: &mut dyn FnMut(usize, usize),
) -> Result<IngestReport, IngestError> {
    let lock = BuildLock::acquire(&paths.index_dir, waiting)?;
    let compendium = paths.data_dir.join("compendium");
    let places = Places::load(&paths.data_dir.join("lexicon/places.tsv"))?;
    let mut existing = read_existing(&compendium, &places)?;
    let mut rejected = Vec::new();
    let mut planned: Vec<(FileReport, Option<String>)> = Vec::new();
    for path in files {
        let text = match read_source(path, limits) {
            Ok(t) => t,
            Err(r) => {
                rejected.push(r);
                continue;
            }
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let incoming = corpus::parse_file(&name, &text, &places);
        if let Err(r) = limits.check(path, &incoming) {
            rejected.push(r);
            continue;
        }
        let Some(file_plan) = plan_parsed(&existing, &name, &incoming) else {
            rejected.push(Rejection::NoDocument { path: path.clone() });
            continue;
        };
        existing.retain(|f| !file_plan.remove.contains(&f.name));
        if let Some(store_as) = &file_plan.store_as {
            existing.push(Stored::parsed(store_as, &incoming));
            let total: usize = existing.iter().map(|f| f.clauses).sum();
            if total > limits.max_total_clauses {
                rejected.push(Rejection::TooManyTotalClauses {
                    path: path.clone(),
                    count: total,
                    limit: limits.max_total_clauses,
                });
                continue;
            }
        }
        planned.push((
            FileReport {
                source: path.clone(),
                stored_as: file_plan.store_as,
                replaced: file_plan.remove,
                documents: file_plan.documents,
            },
            Some(text),
        ));
    }
    if !rejected.is_empty() {
        return Err(IngestError::Rejected(rejected));
    }
    if planned.iter().all(|(f, _)| f.stored_as.is_none()) {
        return Ok(IngestReport {
            files: planned.into_iter().map(|(f, _)| f).collect(),
            rebuilt: None,
        });
    }
    let mut applied = Applied::default();
    let result = (|| {
        for (file, text) in &planned {
            for old in &file.replaced {
                applied.remove(compendium.join(old))?;
            }
            if let (Some(name), Some(text)) = (&file.stored_as, text) {
                applied.write(compendium.join(name), text)?;
            }
        }
        record_superseded(&compendium, &planned, &mut applied)?;
        KnowledgeBase::open_locked(paths, &lock, progress)
    })();
    match result {
        Ok((_, open)) => Ok(IngestReport {
            files: planned.into_iter().map(|(f, _)| f).collect(),
            rebuilt: Some(open),
        }),
        Err(e) => {
            applied.undo();
            Err(IngestError::Data(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places() -> Places {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/lexicon/places.tsv");
        Places::load(Path::new(path)).expect("bundled places.tsv loads")
    }

    const NOTICE: &str = "关于支持小微企业发展的若干措施\n安政〔2023〕7号\n\n一、减免房租。对承租国有房屋的小微企业免除三个月租金。\n二、贷款贴息。对新增贷款给予百分之五十贴息。\n\n安阳市人民政府\n2023年3月1日\n";

    #[test]
    fn new_notice_is_added_and_stored_under_its_name() {
        let p = plan(&[], "notice.txt", NOTICE, &places()).expect("document");
        assert!(!p.documents.is_empty());
        assert!(p.documents.iter().all(|d| d.outcome == Outcome::Added));
        assert_eq!(p.store_as.as_deref(), Some("notice.txt"));
    }

    #[test]
    fn same_text_is_unchanged_and_not_stored() {
        let existing = [Stored::parse("notice.txt", NOTICE, &places())];
        let p = plan(&existing, "copy.txt", NOTICE, &places()).expect("document");
        assert!(p.documents.iter().all(|d| d.outcome == Outcome::Unchanged));
        assert_eq!(p.store_as, None);
        assert!(p.remove.is_empty());
    }

    #[test]
    fn new_text_with_same_number_replaces_the_old_file() {
        let existing = [Stored::parse("notice.txt", NOTICE, &places())];
        let changed = NOTICE.replace("三个月", "六个月");
        let p = plan(&existing, "notice-v2.txt", &changed, &places()).expect("document");
        assert!(p.documents.iter().any(|d| d.outcome == Outcome::Changed));
        assert_eq!(p.remove, vec!["notice.txt".to_string()]);
        assert_eq!(p.store_as.as_deref(), Some("notice-v2.txt"));
    }

    #[test]
    fn taken_names_get_an_added_prefix() {
        let taken: BTreeSet<&str> = ["a.txt", "added-a.txt", "？？.txt"].into_iter().collect();
        assert_eq!(file_name("a.txt", "标题", &taken), "added-a-2.txt");
        assert_eq!(
            file_name("政策 通知.md", "", &BTreeSet::new()),
            "政策 通知.md"
        );
        assert_eq!(file_name("通知.docx", "", &taken), "通知.txt");
        assert_eq!(file_name("？？.txt", "关于 X", &taken), "added-关于-X.txt");
        assert_eq!(file_name(".hidden.txt", "", &taken), "added-hidden.txt");
    }

    #[test]
    fn word_document_text_is_read_paragraph_by_paragraph() {
        use std::io::Write as _;
        let xml = r#"<?xml version="1.0"?><w:document><w:body><w:p><w:r><w:t>关于支持</w:t></w:r><w:r><w:t xml:space="preserve">小微企业 &amp; 个体户</w:t></w:r></w:p><w:p><w:r><w:t>安政〔2023〕7号</w:t><w:tab/><w:t>&#x4E00;、减免</w:t><w:delText>删除</w:delText></w:r></w:p><w:tbl><w:tc><w:p><w:r><w:t>表格</w:t></w:r></w:p></w:tc></w:tbl></w:body></w:document>"#;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file("word/document.xml", opts).expect("start");
        zip.write_all(xml.as_bytes()).expect("write");
        let bytes = zip.finish().expect("finish").into_inner();
        assert_eq!(
            docx_text(&bytes).as_deref(),
            Some("关于支持小微企业 & 个体户\n安政〔2023〕7号\t一、减免\n表格\n")
        );
        assert_eq!(docx_text(b"PK\x03\x04 broken"), None);
        assert_eq!(docx_text(NOTICE.as_bytes()), None);
    }

    #[test]
    fn text_without_a_document_is_refused() {
        assert!(plan(&[], "x.txt", "hello\n", &places()).is_none());
        assert!(
            plan(
                &[],
                "x.txt",
                "今天天气很好。\n我们去公园散步。\n",
                &places()
            )
            .is_none()
        );
    }

    #[test]
    fn every_bundled_file_is_recognisable() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/compendium");
        for e in std::fs::read_dir(dir).expect("data dir").flatten() {
            let text = std::fs::read_to_string(e.path()).expect("utf-8");
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(plan(&[], &name, &text, &places()).is_some(), "{name}");
        }
    }
}
