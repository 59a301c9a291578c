//! On-disk layout of the index directory: generations built beside each other, a `CURRENT`
//! pointer swapped atomically (write + rename), and the fingerprint that decides a rebuild.
//!
//! ```text
//! index_dir/CURRENT            name of the live generation, e.g. `gen-3f2a…`
//! index_dir/gen-<fp>/tantivy/  the tantivy index
//! index_dir/gen-<fp>/corpus.json  the parsed corpus the index refers to (clause ordinals)
//! index_dir/gen-<fp>/manifest.json  fingerprint and build statistics
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;

const CURRENT: &str = "CURRENT";

/// What a generation was built from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Hex fingerprint of data files, lexicon and schema version.
    pub fingerprint: String,
    /// Number of documents.
    pub documents: usize,
    /// Number of clauses indexed.
    pub clauses: usize,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Fingerprint of everything an index is derived from: every file under `data_dir/compendium`
/// and `data_dir/lexicon` (names and bytes), the schema version and this crate's version.
///
/// # Errors
/// Unreadable files.
pub fn fingerprint(data_dir: &Path, schema_version: u32) -> Result<String, Error> {
    let mut h = Sha256::new();
    h.update(format!("schema {schema_version} {}\n", env!("CARGO_PKG_VERSION")).as_bytes());
    for sub in ["compendium", "lexicon"] {
        let dir = data_dir.join(sub);
        let mut files: Vec<PathBuf> = match fs::read_dir(&dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(&dir)(e)),
        };
        files.sort();
        for f in files {
            let bytes = fs::read(&f).map_err(io(&f))?;
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            h.update(format!("{sub}/{name} {}\n", bytes.len()).as_bytes());
            h.update(&bytes);
        }
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The live generation directory, if `CURRENT` names one that exists.
#[must_use]
pub fn current(index_dir: &Path) -> Option<PathBuf> {
    let name = fs::read_to_string(index_dir.join(CURRENT)).ok()?;
    let dir = index_dir.join(name.trim());
    dir.join("manifest.json").is_file().then_some(dir)
}

/// Reads a generation's manifest.
///
/// # Errors
/// Missing or malformed manifest.
pub fn manifest(generation: &Path) -> Result<Manifest, Error> {
    let path = generation.join("manifest.json");
    let text = fs::read_to_string(&path).map_err(io(&path))?;
    serde_json::from_str(&text).map_err(|e| Error::Data {
        path,
        reason: format!("malformed manifest: {e}"),
    })
}

/// A fresh, private directory to build a generation in.
///
/// # Errors
/// The index directory cannot be created.
pub fn scratch(index_dir: &Path) -> Result<PathBuf, Error> {
    fs::create_dir_all(index_dir).map_err(io(index_dir))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = index_dir.join(format!("tmp-{}-{nanos}", std::process::id()));
    fs::create_dir_all(&dir).map_err(io(&dir))?;
    Ok(dir)
}

/// Moves a completely built scratch directory into place as generation `name` and points
/// `CURRENT` at it (write to a temporary file, then rename: readers never see a half-built
/// index). Older generations are removed, best effort.
///
/// # Errors
/// Renames that fail.
pub fn publish(index_dir: &Path, scratch: &Path, name: &str) -> Result<PathBuf, Error> {
    let target = index_dir.join(name);
    if target.join("manifest.json").is_file() {
        // Another process built the same generation meanwhile: keep theirs.
        let _ = fs::remove_dir_all(scratch);
    } else {
        let _ = fs::remove_dir_all(&target);
        fs::rename(scratch, &target).map_err(io(&target))?;
    }
    let tmp = index_dir.join(format!("{CURRENT}.tmp-{}", std::process::id()));
    fs::write(&tmp, name).map_err(io(&tmp))?;
    let current = index_dir.join(CURRENT);
    fs::rename(&tmp, &current).map_err(io(&current))?;
    if let Ok(rd) = fs::read_dir(index_dir) {
        for entry in rd.flatten() {
            let entry_name = entry.file_name().to_string_lossy().into_owned();
            if entry_name.starts_with("gen-") && entry_name != name {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_swaps_current_and_drops_old_generations() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(current(dir.path()), None);
        for name in ["gen-a", "gen-b"] {
            let s = scratch(dir.path()).expect("scratch");
            fs::write(s.join("manifest.json"), "{}").expect("write");
            let g = publish(dir.path(), &s, name).expect("publish");
            assert_eq!(current(dir.path()), Some(g));
        }
        assert!(!dir.path().join("gen-a").exists());
    }

    #[test]
    fn half_built_generation_is_never_current() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(CURRENT), "gen-x").expect("write");
        fs::create_dir_all(dir.path().join("gen-x")).expect("mkdir");
        assert_eq!(
            current(dir.path()),
            None,
            "a generation without manifest is not live"
        );
    }

    #[test]
    fn fingerprint_changes_with_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("compendium")).expect("mkdir");
        fs::write(dir.path().join("compendium/a.txt"), "一").expect("write");
        let a = fingerprint(dir.path(), 1).expect("fp");
        assert_eq!(a, fingerprint(dir.path(), 1).expect("fp"));
        fs::write(dir.path().join("compendium/a.txt"), "二").expect("write");
        assert_ne!(a, fingerprint(dir.path(), 1).expect("fp"));
        assert_ne!(
            fingerprint(dir.path(), 1).expect("fp"),
            fingerprint(dir.path(), 2).expect("fp")
        );
    }
}
