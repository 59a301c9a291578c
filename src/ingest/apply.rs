//! Applying an ingest: reads the data directory, plans every input file against it (rejecting
//! the whole run if any file is refused), writes and removes data files, records superseded
//! copies and rebuilds the index; the data files are restored if the rebuild fails.

use std::path::{Path, PathBuf};

use super::plan::{Stored, plan_parsed};
use super::read::read_source;
use super::{FileReport, IngestError, IngestReport, Limits, Outcome, Rejection};
use crate::corpus;
use crate::error::Error;
use crate::index::{BuildLock, KnowledgeBase, Paths};
use crate::places::Places;

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
