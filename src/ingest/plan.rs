//! Ingest planning, pure: which documents of a parsed file are new, changed or already stored
//! (identity by 文号, else normalised title; text compared by letters and digits), which data
//! files it replaces, and the name it is stored under. The words that make a title a policy's
//! are data ([`CorpusWords`], `corpus_words.tsv`).

use std::collections::BTreeSet;
use std::path::Path;

use super::{DocReport, Outcome};
use crate::corpus::{self, Corpus, CorpusWords};
use crate::places::Places;

/// A data file as the planner sees it: name and the documents it prints.
#[derive(Clone, Debug)]
pub struct Stored {
    /// File name in `data/compendium/`.
    pub name: String,
    docs: Vec<DocSig>,
    /// Clauses the file yields (for the total limit).
    pub(super) clauses: usize,
}

impl Stored {
    /// Parses `text` (the contents of data file `name`).
    #[must_use]
    pub fn parse(name: &str, text: &str, places: &Places) -> Stored {
        Stored::parsed(name, &corpus::parse_file(name, text, places))
    }

    pub(super) fn parsed(name: &str, c: &Corpus) -> Stored {
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
        d.doc_number.is_some() || (body && CorpusWords::shipped().is_policy_title(&d.title))
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
pub(super) fn plan_parsed(existing: &[Stored], name: &str, incoming: &Corpus) -> Option<FilePlan> {
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
