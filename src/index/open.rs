//! [`KnowledgeBase`]: the parsed corpus plus its tantivy index, and how it is opened: the live
//! generation of the index directory when its fingerprint matches the data, lexicon and schema and
//! it passes its checks, otherwise a new generation built beside it under the build lock and
//! swapped in. The only entry to an index: reading and building a generation (and registering
//! the analyzers) is `build`'s, which this module alone calls.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::build::{Derived, Generation, build_into};
use super::lock::BuildLock;
use super::schema::{Fields, SCHEMA_VERSION};
use super::store::{self, Manifest};
use crate::corpus::{self, Corpus};
use crate::error::Error;
use crate::places::Places;
use crate::text::lexicon::Lexicon;
use crate::text::occur::WordList;
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
    /// What was wrong with the live generation this call found unusable and rebuilt (a file
    /// missing or not matching the manifest, a failed checksum or self-test, a panic while
    /// reading it), in one line.
    pub damage: Option<String>,
}

/// The corpus, its index and the text tools needed to query it.
pub struct KnowledgeBase {
    /// Parsed corpus; `Hit::clause` indexes `corpus.clauses`.
    pub corpus: Corpus,
    /// What citing a clause needs beyond the question, worked out on its first citation (one
    /// slot per clause of `corpus`; answer composition's memo, kept here so it lives and is
    /// replaced with the generation it belongs to).
    pub cites: crate::answer::ClauseMemo,
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
    pub(super) facts: Vec<super::facts::Facts>,
    /// Which clauses' own texts and which documents' titles hold each character and pair.
    pub(super) grams: super::grams::GramIndex,
    /// Stop words of two or more characters, longest first, replaced by spaces before
    /// segmentation, so that "能不能自己" is not cut into the made-up word 不能自己.
    pub(super) multi_char_stopwords: WordList,
    /// Corpus words by sound, for typo repair.
    pub(super) speller: Speller,
    /// BM25 candidates straight from the index's postings.
    pub(super) matcher: super::matcher::Matcher,
    /// Recent rankings, for the pages after the first.
    pub(super) pages: super::pages::Pages,
    pub(super) fields: Fields,
    /// Directory of the generation it was read from.
    pub(super) generation: PathBuf,
}

/// The live generation, as [`inspect`] found it.
enum Live {
    /// No `CURRENT` pointer: nothing was built yet.
    Missing,
    /// Built from other data than the data directory holds now.
    Stale,
    /// Unusable: what is wrong with it.
    Damaged(String),
    /// Checked and read.
    Ready(Box<(Generation, Manifest)>),
}

impl KnowledgeBase {
    /// Opens the live generation if its fingerprint matches the data and it passes the
    /// integrity checks (its files against the manifest, tantivy's checksums, self-test queries;
    /// a panic while reading it counts as a failure); otherwise (or when `force`) parses the
    /// data and builds a new generation beside it, checks it the same way and swaps it in
    /// atomically. `progress(done, total)` is called while documents are added. Opening a valid,
    /// up-to-date generation writes nothing, so a read-only index directory works.
    ///
    /// # Errors
    /// Missing or unreadable data, a malformed lexicon, an index failure, a new generation that
    /// fails its checks, or a rebuild needed in an index directory that cannot be written.
    ///
    /// A build takes the index directory's [`BuildLock`]. While another process holds it (an
    /// ingest under way, or another build) nothing is rebuilt: the live generation is used as it
    /// is when it passes the checks, or, when there is none, it is damaged (or `force`), this
    /// call waits for the lock (calling `waiting` once, before it waits) and then builds only if
    /// the other process did not already build what is needed.
    pub fn open(
        paths: &Paths,
        force: bool,
        progress: &mut dyn FnMut(usize, usize),
        waiting: &mut dyn FnMut(),
    ) -> Result<(Self, OpenReport), Error> {
        Self::open_inner(paths, force, None, progress, waiting)
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
        Self::open_inner(paths, false, Some(lock), progress, &mut || {})
    }

    fn open_inner(
        paths: &Paths,
        force: bool,
        held: Option<&BuildLock>,
        progress: &mut dyn FnMut(usize, usize),
        waiting: &mut dyn FnMut(),
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
        // while this one hashes the data and checks the live generation or parses the corpus.
        std::thread::scope(|scope| {
            let mut loading = Some(scope.spawn(|| Segmenter::load(&lexicon_dir)));
            let mut joined: Option<Segmenter> = None;
            let mut segmenter = || -> Result<Segmenter, Error> {
                if let Some(s) = &joined {
                    return Ok(s.clone());
                }
                let handle = loading
                    .take()
                    .ok_or_else(|| Error::Index("the jieba dictionary did not load".to_string()))?;
                let loaded = match handle.join() {
                    Ok(loaded) => loaded?,
                    Err(panic) => std::panic::resume_unwind(panic),
                };
                joined = Some(loaded.clone());
                Ok(loaded)
            };
            let lexicon = Lexicon::load(&lexicon_dir)?;
            let places = Places::load(&lexicon_dir.join("places.tsv"))?;
            // Generations found damaged, so a second look under the lock does not check again.
            let mut damaged: Vec<(PathBuf, String)> = Vec::new();
            // Why the live generation cannot be used as it is (for errors), and what is wrong
            // with it when it is damaged (for the report).
            let mut why = String::new();
            let mut damage: Option<String> = None;
            let mut taken = None;
            let fingerprint = loop {
                let fingerprint = store::fingerprint(&paths.data_dir, SCHEMA_VERSION)?;
                // With `force`, only a build of our own counts.
                let live = if force {
                    Live::Stale
                } else {
                    inspect(&paths.index_dir, Some(&fingerprint), &lexicon, &mut damaged)
                };
                match live {
                    Live::Ready(found) => {
                        let (generation, manifest) = *found;
                        match use_live(generation, manifest, segmenter()?, &lexicon, &places) {
                            Ok(opened) => return Ok(opened),
                            Err((dir, found)) => {
                                why.clone_from(&found);
                                damage = Some(found.clone());
                                damaged.push((dir, found));
                            }
                        }
                    }
                    Live::Damaged(found) => {
                        why.clone_from(&found);
                        damage = Some(found);
                    }
                    Live::Missing => why = "there is no index yet".to_string(),
                    Live::Stale if force => why = "a rebuild was asked for".to_string(),
                    Live::Stale => {
                        why = "the data changed since it was built".to_string();
                        damage = None;
                    }
                }
                if held.is_some() || taken.is_some() {
                    break fingerprint;
                }
                let not_writable = |e: Error| match e {
                    Error::Io { source, .. }
                        if matches!(
                            source.kind(),
                            std::io::ErrorKind::PermissionDenied
                                | std::io::ErrorKind::ReadOnlyFilesystem
                        ) =>
                    {
                        Error::NotWritable {
                            dir: paths.index_dir.clone(),
                            reason: why.clone(),
                            io: source,
                        }
                    }
                    other => other,
                };
                match BuildLock::try_acquire(&paths.index_dir).map_err(not_writable)? {
                    // Look again under the lock: a build that just finished may be what we need.
                    Some(lock) => taken = Some(lock),
                    None => {
                        if !force
                            && let Live::Ready(found) =
                                inspect(&paths.index_dir, None, &lexicon, &mut damaged)
                        {
                            let (generation, manifest) = *found;
                            tracing::info!(
                                "an ingest or build is under way: answering from the live index"
                            );
                            match use_live(generation, manifest, segmenter()?, &lexicon, &places) {
                                Ok(opened) => return Ok(opened),
                                Err(found) => damaged.push(found),
                            }
                        }
                        tracing::info!("an ingest or build is under way: waiting for it");
                        taken = Some(BuildLock::acquire(&paths.index_dir, waiting)?);
                    }
                }
            };

            let started = Instant::now();
            let corpus = corpus::load_dir(&compendium, &places)?;
            // Done while jieba's dictionary may still be loading.
            let derived = Derived::of(&corpus, &lexicon);
            let segmenter = segmenter()?;
            let scratch = store::scratch(&paths.index_dir)?;
            let checked = build_into(&scratch, &corpus, &segmenter, &fingerprint, progress)
                .and_then(|manifest| {
                    let built = Some((corpus, derived));
                    let generation = Generation::read(&scratch, &manifest, built, &lexicon)
                        .and_then(|g| g.finish(segmenter, &lexicon, &places))
                        .map_err(|damage| {
                            Error::Index(format!("the new index failed its checks: {damage}"))
                        })?;
                    Ok((generation, manifest))
                });
            let (mut kb, manifest) = match checked {
                Ok(built) => built,
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&scratch);
                    return Err(e);
                }
            };
            let name = store::generation_name(&fingerprint);
            kb.generation = store::publish(&paths.index_dir, &scratch, &name)?;
            let build_ms = started.elapsed().as_secs_f64() * 1000.0;
            Ok((
                kb,
                OpenReport {
                    built: true,
                    manifest,
                    build_ms: Some(build_ms),
                    damage,
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

/// The live generation of `index_dir`, read and checked when its fingerprint is `fingerprint`
/// (any, when `None`). A generation listed in `damaged` is not checked again.
fn inspect(
    index_dir: &Path,
    fingerprint: Option<&str>,
    lexicon: &Lexicon,
    damaged: &mut Vec<(PathBuf, String)>,
) -> Live {
    let Some(dir) = store::current(index_dir) else {
        return match store::pointer(index_dir) {
            None => Live::Missing,
            Some(name) => Live::Damaged(format!(
                "CURRENT names {name:?}, which is not a complete generation"
            )),
        };
    };
    if let Some((_, damage)) = damaged.iter().find(|(d, _)| *d == dir) {
        return Live::Damaged(damage.clone());
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let manifest = match store::manifest(&dir) {
        Ok(m) => m,
        Err(e) => {
            let damage = format!("{name}: {e}");
            damaged.push((dir, damage.clone()));
            return Live::Damaged(damage);
        }
    };
    if fingerprint.is_some_and(|f| f != manifest.fingerprint) {
        return Live::Stale;
    }
    match Generation::read(&dir, &manifest, None, lexicon) {
        Ok(generation) => Live::Ready(Box::new((generation, manifest))),
        Err(damage) => {
            let damage = format!("{name}: {damage}");
            damaged.push((dir, damage.clone()));
            Live::Damaged(damage)
        }
    }
}

/// The knowledge base of a checked live generation, or its directory and what is wrong with it.
fn use_live(
    generation: Generation,
    manifest: Manifest,
    segmenter: Segmenter,
    lexicon: &Lexicon,
    places: &Places,
) -> Result<(KnowledgeBase, OpenReport), (PathBuf, String)> {
    let dir = generation.dir.clone();
    match generation.finish(segmenter, lexicon, places) {
        Ok(kb) => Ok((
            kb,
            OpenReport {
                built: false,
                manifest,
                build_ms: None,
                damage: None,
            },
        )),
        Err(damage) => {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Err((dir, format!("{name}: {damage}")))
        }
    }
}
