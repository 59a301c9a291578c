//! Corpus model: the compendium texts in `data/compendium/` parsed into documents and cited clauses.
//! Owns parsing and de-duplication; knows nothing of tantivy, Telegram or Redis.

mod clauses;
mod dedup;
mod documents;
mod lines;
mod repair;
mod tags;
mod words;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::places::Places;

pub use words::CorpusWords;

/// Administrative level of an issuing body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// 国家 (State Council, ministries).
    National,
    /// 省 (河南省, 甘肃省).
    Province,
    /// 市/州/示范区 (安阳市, 新乡市, 临夏州, 济源示范区).
    City,
    /// 县 (获嘉县).
    County,
}

impl Level {
    /// Chinese label used in citations.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Level::National => "国家",
            Level::Province => "省级",
            Level::City => "市级",
            Level::County => "县级",
        }
    }
}

/// A place in a source file: file name (as in `data/compendium/`) and 1-based line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRef {
    /// File name, e.g. `anyang-2022-compendium.txt`.
    pub file: String,
    /// 1-based raw line number, blank lines included.
    pub line: usize,
}

/// One policy document (a notice, its attached 方案, or a nested 转发 original).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Stable id derived from the normalised 文号 (or the normalised title when there is none).
    pub id: String,
    /// Repaired title (split lines joined, stray spaces between CJK removed).
    pub title: String,
    /// 文号 as printed, brackets unified to 〔〕, e.g. `国发〔2022〕12号`.
    pub doc_number: Option<String>,
    /// Issuing body or bodies, `、`-separated.
    pub issuer: Option<String>,
    /// Date printed in the document, ISO `YYYY-MM-DD`.
    pub date: Option<String>,
    /// Administrative level.
    pub level: Level,
    /// Region path, outermost first, `/`-separated: `全国`, `河南省`, `河南省/安阳市`,
    /// `河南省/新乡市/获嘉县`, `河南省/济源示范区`, `甘肃省/临夏回族自治州`.
    pub region: String,
    /// Where the document starts in every compendium that prints it (first = the copy indexed).
    pub sources: Vec<SourceRef>,
    /// 征求意见稿 / 草拟稿: not an enacted policy.
    pub draft: bool,
    /// Marked 本文有删减 (abridged).
    pub abridged: bool,
    /// Id of the enclosing document when this is a nested original inside a 转发 notice.
    pub parent: Option<String>,
    /// Explicit validity sentence found in the text (e.g. `有效期至 2022 年底`), if any.
    pub validity: Option<String>,
}

/// What kind of retrievable unit a clause is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClauseKind {
    /// Document header unit: title, 文号, issuer, date, 主送 and the 印发/转发 cover text or preamble.
    Header,
    /// Lowest numbered measure (一、/（一）/1./（1）…) with its trailing meta lines.
    Measure,
    /// 第X条 of a regulation.
    Article,
    /// Unnumbered paragraph(s) of body text.
    Paragraph,
    /// Question with its answer (the 解读 FAQ).
    Faq,
    /// One row of a table or criteria list, cells kept verbatim.
    TableRow,
}

/// A responsible unit named by a responsibility tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    /// Role as printed: 责任单位, 牵头单位, 配合单位, 责任部门, 配合部门, 牵头领导, 负责 …
    pub role: String,
    /// Unit name, e.g. `市财政局`.
    pub name: String,
}

/// One retrievable, citable unit of text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Clause {
    /// Stable id: document id + position in the heading tree; unchanged across rebuilds of the same data.
    pub id: String,
    /// Index into [`Corpus::documents`].
    pub doc: usize,
    /// Unit kind.
    pub kind: ClauseKind,
    /// Heading path, outermost first, not including the document title,
    /// e.g. `["一、财政政策（7 项）", "6. 扩大实施社保费缓缴政策"]`.
    pub path: Vec<String>,
    /// Display text: the raw lines joined (page-break repairs applied), meta lines such as
    /// `责任单位：…` kept verbatim on their own lines. Characters are never rewritten, only joined.
    pub text: String,
    /// Responsibility tags parsed into units.
    pub departments: Vec<Department>,
    /// 时序进度 / 时间节点 value, if the clause carries one.
    pub deadline: Option<String>,
    /// First raw line of this clause in each copy (first = the copy indexed).
    pub sources: Vec<SourceRef>,
    /// Every raw 1-based line of the indexed copy that this clause consumed.
    pub lines: Vec<usize>,
}

/// Why a non-blank source line is not part of any clause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscardClass {
    /// Cover page, 编者按/序言 front matter that is not policy text.
    Cover,
    /// Table of contents.
    Toc,
    /// Signature block and date lines after a cover text.
    Signature,
    /// Compendium part headers (第一章 …, 一、国家、部委政策).
    PartHeader,
    /// Repeated table header rows and separator rows.
    TableHeader,
    /// Letterhead remnants (`文件`), editorial marks standing alone.
    Letterhead,
    /// Lines of a duplicate copy of a document indexed from another compendium.
    Duplicate,
}

/// A non-blank line that is deliberately not indexed, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discard {
    /// Source file name.
    pub file: String,
    /// 1-based raw line.
    pub line: usize,
    /// Reason.
    pub class: DiscardClass,
}

/// The whole knowledge base.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Corpus {
    /// All documents, nested originals included.
    pub documents: Vec<Document>,
    /// All clauses, in source order.
    pub clauses: Vec<Clause>,
    /// Every discarded non-blank line.
    pub discards: Vec<Discard>,
}

/// Parses every `*.txt` / `*.md` file in `dir` (sorted by name) into one de-duplicated corpus;
/// document regions come from `places`.
///
/// # Errors
/// A missing or unreadable directory, a file that is not UTF-8 text (binary), or a directory with
/// no compendium file, each naming the path; a file that yields no document is an [`Error::Data`].
pub fn load_dir(dir: &Path, places: &Places) -> Result<Corpus, Error> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "txt" || x == "md"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::Data {
            path: dir.to_path_buf(),
            reason: "no *.txt or *.md compendium file".into(),
        });
    }
    let mut corpus = Corpus::default();
    for path in files {
        let bytes = std::fs::read(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        if bytes.contains(&0) {
            return Err(Error::Binary { path });
        }
        let Ok(text) = String::from_utf8(bytes) else {
            return Err(Error::Binary { path });
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let part = parse_file(&name, &text, places);
        if part.documents.is_empty() {
            return Err(Error::Data {
                path,
                reason: "no policy document found in this file".into(),
            });
        }
        corpus.append(part);
    }
    let superseded = read_superseded(dir)?;
    dedup::dedup(&mut corpus, &superseded);
    corpus.ensure_unique_ids();
    Ok(corpus)
}

/// File in the compendium directory that lists document copies an ingested newer version
/// replaces, one per line: `file<TAB>文号 key<TAB>title key` (keys as [`identity`]).
pub const SUPERSEDED: &str = "superseded.tsv";

/// Identity of a document across versions: letters and digits of its normalised 文号 (if any)
/// and title. Two versions are the same document when both have a 文号 and they are equal,
/// otherwise when their titles are.
#[must_use]
pub fn identity(doc_number: Option<&str>, title: &str) -> (Option<String>, String) {
    let key = |s: &str| -> String {
        crate::text::normalize::normalize(s)
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect()
    };
    (doc_number.map(key).filter(|k| !k.is_empty()), key(title))
}

/// Whether identities `a` and `b` name the same document.
#[must_use]
pub fn same_identity(a: &(Option<String>, String), b: &(Option<String>, String)) -> bool {
    match (&a.0, &b.0) {
        (Some(x), Some(y)) => x == y,
        _ => !a.1.is_empty() && a.1 == b.1,
    }
}

/// A copy of a document, printed in `file`, that a newer ingested version replaces: when both
/// are in the corpus, de-duplication keeps the newer one whatever their sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Superseded {
    /// Data file holding the old copy.
    pub file: String,
    /// The document's identity.
    pub identity: (Option<String>, String),
}

impl Superseded {
    /// The line of [`SUPERSEDED`].
    #[must_use]
    pub fn line(&self) -> String {
        format!(
            "{}\t{}\t{}",
            self.file,
            self.identity.0.as_deref().unwrap_or_default(),
            self.identity.1
        )
    }

    /// Parses a line of [`SUPERSEDED`].
    #[must_use]
    pub fn parse(line: &str) -> Option<Superseded> {
        let mut fields = line.split('\t');
        let (file, number, title) = (fields.next()?, fields.next()?, fields.next()?);
        (!file.is_empty() && fields.next().is_none()).then(|| Superseded {
            file: file.to_string(),
            identity: (
                Some(number.to_string()).filter(|n| !n.is_empty()),
                title.to_string(),
            ),
        })
    }

    fn covers(&self, doc: &Document) -> bool {
        doc.sources.first().is_some_and(|s| s.file == self.file)
            && same_identity(
                &self.identity,
                &identity(doc.doc_number.as_deref(), &doc.title),
            )
    }
}

/// The superseded copies listed in `dir`'s [`SUPERSEDED`] file (none when there is no file;
/// malformed lines are ignored).
///
/// # Errors
/// The file exists but cannot be read.
pub fn read_superseded(dir: &Path) -> Result<Vec<Superseded>, Error> {
    let path = dir.join(SUPERSEDED);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text.lines().filter_map(Superseded::parse).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(Error::Io { path, source }),
    }
}

/// Parses one compendium or single-notice file; document regions come from `places`. Pure; never
/// panics on arbitrary text.
#[must_use]
pub fn parse_file(file_name: &str, text: &str, places: &Places) -> Corpus {
    parse::parse(file_name, text, places)
}

impl Corpus {
    /// Appends another corpus (document indices of its clauses shifted).
    pub fn append(&mut self, other: Corpus) {
        let offset = self.documents.len();
        self.documents.extend(other.documents);
        self.clauses.extend(other.clauses.into_iter().map(|mut c| {
            c.doc += offset;
            c
        }));
        self.discards.extend(other.discards);
    }

    /// Renames documents whose id repeats (suffix `-2`, `-3`, …) and recomputes clause ids.
    fn ensure_unique_ids(&mut self) {
        let mut seen = std::collections::HashMap::<String, usize>::new();
        for d in &mut self.documents {
            let n = seen.entry(d.id.clone()).or_insert(0);
            *n += 1;
            if *n > 1 {
                d.id = format!("{}-{}", d.id, n);
            }
        }
        assign_clause_ids(self);
    }
}

/// Clause ids: hash of document id + heading path + kind + ordinal among same-path clauses.
fn assign_clause_ids(c: &mut Corpus) {
    use std::fmt::Write as _;
    let mut ids: Vec<Option<String>> = Vec::with_capacity(c.clauses.len());
    let mut ordinals = std::collections::HashMap::<(usize, &[String]), usize>::new();
    let mut key = String::new();
    for cl in &c.clauses {
        let Some(doc) = c.documents.get(cl.doc) else {
            ids.push(None);
            continue;
        };
        let n = ordinals.entry((cl.doc, cl.path.as_slice())).or_insert(0);
        key.clear();
        key.push_str(&doc.id);
        key.push('\u{1f}');
        for (i, p) in cl.path.iter().enumerate() {
            if i > 0 {
                key.push('\u{1f}');
            }
            key.push_str(p);
        }
        let _ = write!(key, "\u{1f}{:?}\u{1f}{n}", cl.kind);
        *n += 1;
        ids.push(Some(crate::digest::sha256_hex(key.as_bytes(), 16)));
    }
    for (cl, id) in c.clauses.iter_mut().zip(ids) {
        if let Some(id) = id {
            cl.id = id;
        }
    }
}

mod parse;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn superseded_lines_round_trip_and_identities_match_like_ingest() {
        let entry = Superseded {
            file: "anyang-2022-compendium.txt".into(),
            identity: identity(Some("安政办〔2022〕12号"), "关于 印发《措施》的通知"),
        };
        assert_eq!(entry.identity.0.as_deref(), Some("安政办202212号"));
        assert_eq!(Superseded::parse(&entry.line()), Some(entry.clone()));
        let untitled = Superseded {
            file: "a.txt".into(),
            identity: identity(None, "关于稳岗的通知"),
        };
        assert_eq!(Superseded::parse(&untitled.line()), Some(untitled));
        assert_eq!(Superseded::parse("only-a-file"), None);
        assert_eq!(Superseded::parse("\tx\ty"), None);
        // Same 文号 wins over different titles; without a 文号 on one side, titles decide.
        let a = identity(Some("豫政〔2022〕1号"), "甲");
        assert!(same_identity(&a, &identity(Some("豫政〔2022〕1号"), "乙")));
        assert!(!same_identity(&a, &identity(Some("豫政〔2022〕2号"), "甲")));
        assert!(same_identity(&a, &identity(None, "甲")));
        assert!(!same_identity(&identity(None, ""), &identity(None, "")));
    }
}
