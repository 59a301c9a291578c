//! `KnowledgeBase`: the parsed corpus plus its tantivy index, opened from the index directory or
//! (re)built when the data, lexicon or schema changed. The only place that opens an index and
//! registers the analyzers; the only writer.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tantivy::directory::MmapDirectory;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument};

use super::lock::BuildLock;
use super::schema::{self, Fields, SCHEMA_VERSION};
use super::store::{self, Manifest};
use crate::corpus::{self, Corpus};
use crate::error::Error;
use crate::places::Places;
use crate::text::analyzer;
use crate::text::lexicon::Lexicon;
use crate::text::normalize::normalize;
use crate::text::segment::Segmenter;
use crate::text::spelling::Speller;

/// Where the knowledge base comes from and goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// Data directory with `compendium/` and `lexicon/`.
    pub data_dir: PathBuf,
    /// Index directory (generations and `CURRENT`).
    pub index_dir: PathBuf,
}

/// How the knowledge base was obtained.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenReport {
    /// True when the index was (re)built by this call.
    pub built: bool,
    /// Manifest of the live generation.
    pub manifest: Manifest,
    /// Wall time of parse + index, when built.
    pub build_ms: Option<f64>,
}

/// The corpus, its index and the text tools needed to query it.
pub struct KnowledgeBase {
    /// Parsed corpus; `Hit::clause` indexes `corpus.clauses`.
    pub corpus: Corpus,
    /// Shared jieba segmenter (same one the analyzer uses).
    pub segmenter: Segmenter,
    /// Synonyms and stop words.
    pub lexicon: Lexicon,
    /// Place names.
    pub places: Places,
    /// Normalised `title 文号 path text` of every clause with the byte offset where the
    /// clause's own part (`path text`) starts, for term coverage and highlighting.
    pub(super) haystacks: Vec<(String, usize)>,
    /// Per-clause facts precomputed for ranking (copy bigrams, dates, amounts).
    pub(super) facts: Vec<super::retrieve::Facts>,
    /// Stop words of two or more characters, longest first (removed before segmentation).
    pub(super) multi_char_stopwords: Vec<String>,
    /// Corpus words by sound, for typo repair.
    pub(super) speller: Speller,
    pub(super) reader: IndexReader,
    pub(super) fields: Fields,
    generation: PathBuf,
}

impl KnowledgeBase {
    /// Opens the live generation if its fingerprint matches the data; otherwise (or when `force`)
    /// parses the data and builds a new generation beside it, then swaps it in atomically.
    /// `progress(done, total)` is called while documents are added.
    ///
    /// # Errors
    /// Missing or unreadable data, a malformed lexicon, or an index failure.
    ///
    /// A build takes the index directory's [`BuildLock`]. While another process holds it (an
    /// ingest under way, or another build) nothing is rebuilt: the live generation is used as it
    /// is, or, when there is none (or `force`), this call waits for the lock and then builds only
    /// if the other process did not already build what is needed.
    pub fn open(
        paths: &Paths,
        force: bool,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(Self, OpenReport), Error> {
        Self::open_inner(paths, force, None, progress)
    }

    /// [`KnowledgeBase::open`] for the holder of the build lock (`ingest`): builds when needed
    /// without taking the lock again.
    ///
    /// # Errors
    /// As [`KnowledgeBase::open`].
    pub fn open_locked(
        paths: &Paths,
        lock: &BuildLock,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(Self, OpenReport), Error> {
        Self::open_inner(paths, false, Some(lock), progress)
    }

    fn open_inner(
        paths: &Paths,
        force: bool,
        held: Option<&BuildLock>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(Self, OpenReport), Error> {
        let compendium = paths.data_dir.join("compendium");
        if !compendium.is_dir() {
            return Err(Error::Data {
                path: compendium,
                reason: "data directory has no compendium/ folder".to_string(),
            });
        }
        let lexicon_dir = paths.data_dir.join("lexicon");
        // Loading jieba's dictionary is the slowest step of an open: it runs on its own thread
        // while this one hashes the data and reads the live generation or parses the corpus.
        std::thread::scope(|scope| {
            let loading = scope.spawn(|| Segmenter::load(&lexicon_dir));
            let segmenter = || match loading.join() {
                Ok(loaded) => loaded,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            let lexicon = Lexicon::load(&lexicon_dir)?;
            let places = Places::load(&lexicon_dir.join("places.tsv"))?;
            let live = |fingerprint: Option<&str>| -> Option<(Generation, Manifest)> {
                let generation = store::current(&paths.index_dir)?;
                let manifest = store::manifest(&generation).ok()?;
                if fingerprint.is_some_and(|f| f != manifest.fingerprint) {
                    return None;
                }
                // An unreadable live generation is rebuilt below.
                Some((Generation::read(&generation).ok()?, manifest))
            };
            // The live generation, as it is.
            let reuse = |generation: Generation, manifest: Manifest, segmenter: Segmenter| {
                let kb = generation.finish(segmenter, &lexicon, &places);
                let report = OpenReport {
                    built: false,
                    manifest,
                    build_ms: None,
                };
                (kb, report)
            };
            let mut taken = None;
            let fingerprint = loop {
                let fingerprint = store::fingerprint(&paths.data_dir, SCHEMA_VERSION)?;
                // With `force`, only a build of our own counts.
                let up_to_date = if force {
                    None
                } else {
                    live(Some(&fingerprint))
                };
                if let Some((generation, manifest)) = up_to_date {
                    return Ok(reuse(generation, manifest, segmenter()?));
                }
                if held.is_some() || taken.is_some() {
                    break fingerprint;
                }
                match BuildLock::try_acquire(&paths.index_dir)? {
                    // Look again under the lock: a build that just finished may be what we need.
                    Some(lock) => taken = Some(lock),
                    None => {
                        if !force && let Some((generation, manifest)) = live(None) {
                            tracing::info!(
                                "an ingest or build is under way: answering from the live index"
                            );
                            return Ok(reuse(generation, manifest, segmenter()?));
                        }
                        taken = Some(BuildLock::acquire(&paths.index_dir, &mut || {})?);
                    }
                }
            };

            let started = Instant::now();
            let corpus = corpus::load_dir(&compendium, &places)?;
            let segmenter = segmenter()?;
            let scratch = store::scratch(&paths.index_dir)?;
            let manifest = match build_into(&scratch, &corpus, &segmenter, &fingerprint, progress) {
                Ok(m) => m,
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&scratch);
                    return Err(e);
                }
            };
            let name = format!("gen-{}", &fingerprint[..16]);
            let generation = store::publish(&paths.index_dir, &scratch, &name)?;
            let build_ms = started.elapsed().as_secs_f64() * 1000.0;
            // The corpus just written to `corpus.json` is still in memory: no need to read it back.
            let kb = Generation::open(&generation, corpus)?.finish(segmenter, &lexicon, &places);
            Ok((
                kb,
                OpenReport {
                    built: true,
                    manifest,
                    build_ms: Some(build_ms),
                },
            ))
        })
    }

    /// Directory of the live generation this knowledge base was opened from.
    #[must_use]
    pub fn generation(&self) -> &Path {
        &self.generation
    }
}

/// A generation read from disk: everything of a [`KnowledgeBase`] but what needs the segmenter.
struct Generation {
    dir: PathBuf,
    corpus: Corpus,
    index: Index,
    fields: Fields,
    reader: IndexReader,
    haystacks: Vec<(String, usize)>,
    facts: Vec<super::retrieve::Facts>,
}

impl Generation {
    /// Reads `corpus.json` and opens the tantivy index of generation `dir`.
    fn read(dir: &Path) -> Result<Self, Error> {
        let corpus_path = dir.join("corpus.json");
        let bytes = std::fs::read(&corpus_path).map_err(|source| Error::Io {
            path: corpus_path.clone(),
            source,
        })?;
        let corpus: Corpus = serde_json::from_slice(&bytes).map_err(|e| Error::Data {
            path: corpus_path.clone(),
            reason: format!("malformed corpus snapshot: {e}"),
        })?;
        Self::open(dir, corpus)
    }

    /// Opens the tantivy index of generation `dir`, built from `corpus`.
    fn open(dir: &Path, corpus: Corpus) -> Result<Self, Error> {
        let mmap =
            MmapDirectory::open(dir.join("tantivy")).map_err(|e| Error::Index(e.to_string()))?;
        let index = Index::open(mmap)?;
        let fields = schema::fields(&index.schema())?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let haystacks = haystacks(&corpus);
        let facts = super::retrieve::facts(&corpus, &haystacks);
        Ok(Generation {
            dir: dir.to_path_buf(),
            corpus,
            index,
            fields,
            reader,
            haystacks,
            facts,
        })
    }

    /// Registers the analyzers on the index and assembles the knowledge base.
    fn finish(self, segmenter: Segmenter, lexicon: &Lexicon, places: &Places) -> KnowledgeBase {
        analyzer::register(&self.index, &segmenter);
        let mut multi_char_stopwords: Vec<String> = lexicon
            .stopwords
            .iter()
            .filter(|w| w.chars().count() >= 2)
            .cloned()
            .collect();
        multi_char_stopwords
            .sort_by(|a, b| b.chars().count().cmp(&a.chars().count()).then(a.cmp(b)));
        let speller = Speller::new(vocabulary(&self.reader, self.fields.body));
        KnowledgeBase {
            multi_char_stopwords,
            speller,
            corpus: self.corpus,
            segmenter,
            lexicon: lexicon.clone(),
            places: places.clone(),
            haystacks: self.haystacks,
            facts: self.facts,
            reader: self.reader,
            fields: self.fields,
            generation: self.dir,
        }
    }
}

/// Every term of `field` with the number of clauses containing it (summed over segments).
fn vocabulary(reader: &IndexReader, field: tantivy::schema::Field) -> Vec<(String, u32)> {
    let mut words: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    for segment in reader.searcher().segment_readers() {
        let Ok(inverted) = segment.inverted_index(field) else {
            continue;
        };
        let Ok(mut terms) = inverted.terms().stream() else {
            continue;
        };
        while terms.advance() {
            if let Ok(word) = std::str::from_utf8(terms.key()) {
                *words.entry(word.to_string()).or_default() += terms.value().doc_freq;
            }
        }
    }
    words.into_iter().collect()
}

/// Normalised `title 文号 path text` of each clause, with the offset of `path text`.
fn haystacks(corpus: &Corpus) -> Vec<(String, usize)> {
    corpus
        .clauses
        .iter()
        .map(|c| {
            let doc = &corpus.documents[c.doc];
            let mut s = String::with_capacity(doc.title.len() + c.text.len() + 64);
            s.push_str(&doc.title);
            s.push(' ');
            s.push_str(doc.doc_number.as_deref().unwrap_or(""));
            let mut own = String::with_capacity(c.text.len() + 64);
            for p in &c.path {
                own.push_str(p);
                own.push(' ');
            }
            own.push_str(&c.text);
            let mut hay = normalize(&s);
            hay.push(' ');
            let split = hay.len();
            hay.push_str(&normalize(&own));
            (hay, split)
        })
        .collect()
}

fn build_into(
    dir: &Path,
    corpus: &Corpus,
    segmenter: &Segmenter,
    fingerprint: &str,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Manifest, Error> {
    let (schema, f) = schema::build();
    let tantivy_dir = dir.join("tantivy");
    std::fs::create_dir_all(&tantivy_dir).map_err(|source| Error::Io {
        path: tantivy_dir.clone(),
        source,
    })?;
    let index = Index::create_in_dir(&tantivy_dir, schema)?;
    analyzer::register(&index, segmenter);
    let mut writer: IndexWriter = index.writer_with_num_threads(1, 64_000_000)?;
    let total = corpus.clauses.len();
    for (ord, clause) in corpus.clauses.iter().enumerate() {
        let doc = &corpus.documents[clause.doc];
        let mut d = TantivyDocument::default();
        d.add_u64(f.ord, ord as u64);
        d.add_text(f.title, &doc.title);
        if let Some(n) = &doc.doc_number {
            d.add_text(f.title, n);
        }
        let path = clause.path.join(" ");
        d.add_text(f.path, &path);
        d.add_text(f.body, &clause.text);
        d.add_text(f.bigram, &doc.title);
        d.add_text(f.bigram, &path);
        d.add_text(f.bigram, &clause.text);
        writer.add_document(d)?;
        if ord % 256 == 0 || ord + 1 == total {
            progress(ord + 1, total);
        }
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    let corpus_path = dir.join("corpus.json");
    let json = serde_json::to_vec(corpus).map_err(|e| Error::Index(e.to_string()))?;
    std::fs::write(&corpus_path, json).map_err(|source| Error::Io {
        path: corpus_path,
        source,
    })?;
    let manifest = Manifest {
        fingerprint: fingerprint.to_string(),
        documents: corpus.documents.len(),
        clauses: corpus.clauses.len(),
    };
    let manifest_path = dir.join("manifest.json");
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Index(e.to_string()))?;
    std::fs::write(&manifest_path, json).map_err(|source| Error::Io {
        path: manifest_path,
        source,
    })?;
    Ok(manifest)
}
