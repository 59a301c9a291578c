//! Integrity of an index generation, checked on every open and after every build: its files
//! against the manifest (present, size, SHA-256), tantivy's own checksums of every segment file,
//! the counts against the manifest, and self-test queries. Every check runs behind a panic guard,
//! so damage of any kind comes back as one line of text and never crashes the caller. The index
//! is served from memory, exactly the bytes checked, so a read-only generation opens too.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Once;

use tantivy::collector::TopDocs;
use tantivy::directory::{Directory, RamDirectory};
use tantivy::index::SegmentComponent;
use tantivy::query::TermQuery;
use tantivy::schema::IndexRecordOption;
use tantivy::{Index, IndexReader, ReloadPolicy, Searcher, Term};

use super::schema::{self, Fields};
use super::store::{FileSum, Manifest};
use crate::corpus::Corpus;
use crate::text::analyzer;

/// Clauses whose terms the self-tests look up (spread evenly over the corpus).
const SAMPLES: usize = 8;

/// The segment files tantivy writes for every segment of our schema.
const COMPONENTS: [SegmentComponent; 6] = [
    SegmentComponent::Postings,
    SegmentComponent::Positions,
    SegmentComponent::FastFields,
    SegmentComponent::FieldNorms,
    SegmentComponent::Terms,
    SegmentComponent::Store,
];

/// A generation read into memory and checked.
pub(super) struct Loaded {
    pub corpus: Corpus,
    pub index: Index,
    pub reader: IndexReader,
    pub fields: Fields,
}

/// Reads generation `dir` and checks it against `manifest`: every listed file present with its
/// size and SHA-256, the corpus (`corpus.json`, unless the caller has it in memory already) and
/// the index holding the manifest's counts, tantivy's checksums and a self-test query per
/// sampled clause on the bigram field. Returns what is wrong, in one line.
pub(super) fn load(
    dir: &Path,
    manifest: &Manifest,
    corpus: Option<Corpus>,
) -> Result<Loaded, String> {
    guarded(|| {
        let ram = RamDirectory::create();
        let mut corpus_json = None;
        for (name, sum) in &manifest.files {
            let path = dir.join(name);
            let content = std::fs::read(&path).map_err(|e| format!("{name}: {e}"))?;
            let found = FileSum::of(&content);
            if found.bytes != sum.bytes {
                return Err(format!(
                    "{name}: {} bytes, the manifest says {}",
                    found.bytes, sum.bytes
                ));
            }
            if found.sha256 != sum.sha256 {
                return Err(format!(
                    "{name}: content does not match the manifest's SHA-256"
                ));
            }
            if let Some(file) = name.strip_prefix("tantivy/") {
                ram.atomic_write(Path::new(file), &content)
                    .map_err(|e| format!("{name}: {e}"))?;
            } else if name == "corpus.json" {
                corpus_json = Some(content);
            }
        }
        let corpus = match (corpus, corpus_json) {
            (Some(corpus), _) => corpus,
            (None, Some(json)) => {
                serde_json::from_slice(&json).map_err(|e| format!("corpus.json: malformed: {e}"))?
            }
            (None, None) => return Err("the manifest lists no corpus.json".to_string()),
        };
        if (corpus.documents.len(), corpus.clauses.len()) != (manifest.documents, manifest.clauses)
        {
            return Err(format!(
                "corpus.json: {} documents and {} clauses, the manifest says {} and {}",
                corpus.documents.len(),
                corpus.clauses.len(),
                manifest.documents,
                manifest.clauses
            ));
        }
        let index = Index::open(ram).map_err(|e| format!("tantivy: {e}"))?;
        checksums(&index)?;
        let fields = schema::fields(&index.schema()).map_err(|e| format!("tantivy schema: {e}"))?;
        let reader: IndexReader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| format!("tantivy reader: {e}"))?;
        self_test(&reader.searcher(), fields, &corpus)?;
        Ok(Loaded {
            corpus,
            index,
            reader,
            fields,
        })
    })
}

/// Every file of every segment present, and matching tantivy's checksum in its footer.
fn checksums(index: &Index) -> Result<(), String> {
    let metas = index
        .searchable_segment_metas()
        .map_err(|e| format!("tantivy meta.json: {e}"))?;
    for meta in metas {
        let mut components = COMPONENTS.to_vec();
        if meta.has_deletes() {
            components.push(SegmentComponent::Delete);
        }
        for component in components {
            let path = meta.relative_path(component);
            let valid = index
                .directory()
                .validate_checksum(&path)
                .map_err(|e| format!("tantivy/{}: {e}", path.display()))?;
            if !valid {
                return Err(format!(
                    "tantivy/{}: content does not match its checksum",
                    path.display()
                ));
            }
        }
    }
    Ok(())
}

/// The index holds one document per clause, each clause's ordinal exactly once, and the rarest
/// bigram of each sampled clause finds that clause (term dictionary, postings, field norms and
/// the ordinal fast field all read).
fn self_test(searcher: &Searcher, fields: Fields, corpus: &Corpus) -> Result<(), String> {
    let n = corpus.clauses.len();
    if searcher.num_docs() != n as u64 {
        return Err(format!(
            "self-test: the index holds {} documents for {n} clauses",
            searcher.num_docs()
        ));
    }
    let mut seen = vec![false; n];
    for segment in searcher.segment_readers() {
        let column = segment
            .fast_fields()
            .u64("ord")
            .map_err(|e| format!("self-test: ord fast field: {e}"))?;
        for doc in 0..segment.max_doc() {
            let ord = column.first(doc).and_then(|o| usize::try_from(o).ok());
            match ord.and_then(|o| seen.get_mut(o)) {
                Some(slot) if !*slot => *slot = true,
                _ => {
                    return Err(format!(
                        "self-test: document {doc} has a bad ordinal {ord:?}"
                    ));
                }
            }
        }
    }
    let mut tested = 0;
    for ord in samples(n) {
        let grams = analyzer::bigrams(&corpus.clauses[ord].text);
        let mut rarest: Option<(u64, Term)> = None;
        for gram in &grams {
            let term = Term::from_field_text(fields.bigram, gram);
            let df = searcher
                .doc_freq(&term)
                .map_err(|e| format!("self-test: term dictionary: {e}"))?;
            if df == 0 {
                return Err(format!(
                    "self-test: “{gram}” of clause {ord} is missing from the term dictionary"
                ));
            }
            if rarest.as_ref().is_none_or(|(best, _)| df < *best) {
                rarest = Some((df, term));
            }
        }
        let Some((df, term)) = rarest else {
            continue;
        };
        let limit = usize::try_from(df).unwrap_or(usize::MAX).min(n.max(1));
        let query = TermQuery::new(term, IndexRecordOption::WithFreqs);
        let top = searcher
            .search(&query, &TopDocs::with_limit(limit).order_by_score())
            .map_err(|e| format!("self-test: query: {e}"))?;
        let found = top.iter().any(|(score, addr)| {
            score.is_finite()
                && searcher
                    .segment_reader(addr.segment_ord)
                    .fast_fields()
                    .u64("ord")
                    .ok()
                    .and_then(|c| c.first(addr.doc_id))
                    == Some(ord as u64)
        });
        if top.len() != limit || !found {
            return Err(format!(
                "self-test: the rarest bigram of clause {ord} finds {} of {df} clauses{}",
                top.len(),
                if found { "" } else { ", not the clause itself" }
            ));
        }
        tested += 1;
    }
    if tested == 0 && n > 0 {
        return Err("self-test: no sampled clause has any text to search".to_string());
    }
    Ok(())
}

/// Every word the jieba analyzer (registered on `index`) makes of each sampled clause is in the
/// body field's term dictionary.
pub(super) fn check_words(
    index: &Index,
    reader: &IndexReader,
    fields: Fields,
    corpus: &Corpus,
) -> Result<(), String> {
    guarded(|| {
        let searcher = reader.searcher();
        let mut analyzer = index
            .tokenizer_for_field(fields.body)
            .map_err(|e| format!("self-test: body analyzer: {e}"))?;
        for ord in samples(corpus.clauses.len()) {
            let mut stream = analyzer.token_stream(&corpus.clauses[ord].text);
            while stream.advance() {
                let word = stream.token().text.clone();
                let df = searcher
                    .doc_freq(&Term::from_field_text(fields.body, &word))
                    .map_err(|e| format!("self-test: term dictionary: {e}"))?;
                if df == 0 {
                    return Err(format!(
                        "self-test: word “{word}” of clause {ord} is missing from the term dictionary"
                    ));
                }
            }
        }
        Ok(())
    })
}

/// Up to [`SAMPLES`] clause ordinals spread evenly over `0..n`, first and last included.
fn samples(n: usize) -> Vec<usize> {
    let mut out: Vec<usize> = (0..SAMPLES)
        .map(|i| i * n.saturating_sub(1) / (SAMPLES - 1))
        .filter(|&o| o < n)
        .collect();
    out.dedup();
    out
}

thread_local! {
    /// Set while this thread runs [`guarded`]: a panic is recorded, not printed.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
    /// Where and why the last guarded panic happened.
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `check`, turning a panic inside it (a damaged file tantivy trusted) into an error that
/// says where it happened. The panic is not printed: the caller reports the damage in one line.
fn guarded<T>(check: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) {
                let payload = info.payload();
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let place = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                PANIC.with(|p| *p.borrow_mut() = Some(format!("{message}{place}")));
            } else {
                previous(info);
            }
        }));
    });
    let outer = GUARDED.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(check));
    GUARDED.with(|g| g.set(outer));
    result.unwrap_or_else(|_| {
        let what = PANIC.with(|p| p.borrow_mut().take()).unwrap_or_default();
        Err(format!("panic while reading the index: {what}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_cover_first_and_last() {
        assert_eq!(samples(0), Vec::<usize>::new());
        assert_eq!(samples(1), vec![0]);
        assert_eq!(samples(3), vec![0, 1, 2]);
        let s = samples(3136);
        assert_eq!((s.len(), s[0], s[SAMPLES - 1]), (SAMPLES, 0, 3135));
    }

    #[test]
    fn a_panic_inside_the_guard_becomes_an_error() {
        let r: Result<(), String> = guarded(|| panic!("index out of bounds"));
        let e = r.expect_err("caught");
        assert!(
            e.contains("index out of bounds") && e.contains("verify.rs"),
            "{e}"
        );
        assert_eq!(guarded(|| Ok(1)), Ok(1));
        assert!(!GUARDED.with(Cell::get), "the flag is reset");
    }
}
