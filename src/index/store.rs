//! On-disk layout of the index directory: generations built beside each other, a `CURRENT`
//! pointer swapped atomically (write + rename), the fingerprint that decides a rebuild and the
//! manifest that lists every file of a generation with its size and SHA-256.
//!
//! ```text
//! index_dir/CURRENT            name of the live generation, e.g. `gen-3f2a…-18c0…`
//! index_dir/gen-<fp>-<t>/tantivy/  the tantivy index
//! index_dir/gen-<fp>-<t>/corpus.json  the parsed corpus the index refers to (clause ordinals)
//! index_dir/gen-<fp>-<t>/manifest.json  fingerprint, build statistics and file checksums
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;

const CURRENT: &str = "CURRENT";
const MANIFEST: &str = "manifest.json";

/// What a generation was built from, and what it consists of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Hex fingerprint of data files, lexicon and schema version.
    pub fingerprint: String,
    /// Number of documents.
    pub documents: usize,
    /// Number of clauses indexed.
    pub clauses: usize,
    /// Every file of the generation but the manifest itself and lock files, by path relative to
    /// the generation directory (`/`-separated).
    pub files: BTreeMap<String, FileSum>,
}

/// Size and content hash of one file of a generation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSum {
    /// Length in bytes.
    pub bytes: u64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
}

impl FileSum {
    /// The size and hash of `content`.
    #[must_use]
    pub fn of(content: &[u8]) -> FileSum {
        FileSum {
            bytes: content.len() as u64,
            sha256: crate::digest::sha256_hex(content, 64),
        }
    }
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
    Ok(crate::digest::hex(&h.finalize(), 64))
}

/// The live generation directory, if `CURRENT` names one (`gen-…`, a plain directory name)
/// that has a manifest.
#[must_use]
pub fn current(index_dir: &Path) -> Option<PathBuf> {
    let name = pointer(index_dir)?;
    let plain = name.starts_with("gen-") && !name.contains(['/', '\\']);
    let dir = index_dir.join(name);
    (plain && dir.join(MANIFEST).is_file()).then_some(dir)
}

/// What `CURRENT` says (trimmed, invalid UTF-8 replaced), when the file exists: a pointer that
/// [`current`] rejects is damage to report, not a fresh index directory.
#[must_use]
pub fn pointer(index_dir: &Path) -> Option<String> {
    let bytes = fs::read(index_dir.join(CURRENT)).ok()?;
    Some(String::from_utf8_lossy(&bytes).trim().to_string())
}

/// Name of a new generation of `fingerprint`: unique per build, so a rebuild of the same data
/// (`index --force`, a repair) never reuses the directory of the generation it replaces.
#[must_use]
pub fn generation_name(fingerprint: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "gen-{}-{nanos:x}{:x}",
        &fingerprint[..16.min(fingerprint.len())],
        std::process::id()
    )
}

/// Size and SHA-256 of every file under the generation directory `dir` (recursively) except
/// the manifest and lock files (`*.lock`, empty and never read), keyed by relative path.
///
/// # Errors
/// Unreadable directories or files.
pub fn file_sums(dir: &Path) -> Result<BTreeMap<String, FileSum>, Error> {
    let mut sums = BTreeMap::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, prefix)) = pending.pop() {
        for entry in fs::read_dir(&path).map_err(io(&path))? {
            let entry = entry.map_err(io(&path))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = format!("{prefix}{name}");
            let kind = entry.file_type().map_err(io(&entry.path()))?;
            if kind.is_dir() {
                pending.push((entry.path(), format!("{relative}/")));
            } else if relative != MANIFEST && !name.ends_with(".lock") {
                let content = fs::read(entry.path()).map_err(io(&entry.path()))?;
                sums.insert(relative, FileSum::of(&content));
            }
        }
    }
    Ok(sums)
}

/// Writes the manifest of the generation being built in `dir`.
///
/// # Errors
/// The file cannot be written.
pub fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), Error> {
    let path = dir.join(MANIFEST);
    let json = serde_json::to_vec_pretty(manifest).map_err(|e| Error::Index(e.to_string()))?;
    fs::write(&path, json).map_err(io(&path))
}

/// Reads a generation's manifest.
///
/// # Errors
/// Missing or malformed manifest.
pub fn manifest(generation: &Path) -> Result<Manifest, Error> {
    let path = generation.join(MANIFEST);
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

/// Moves a completely built (and verified) scratch directory into place as generation `name`
/// ([`generation_name`]) and points `CURRENT` at it (write to a temporary file, then rename:
/// readers never see a half-built index). Older generations are removed, best effort (a process
/// still answering from one keeps its copy in memory).
///
/// # Errors
/// Renames that fail.
pub fn publish(index_dir: &Path, scratch: &Path, name: &str) -> Result<PathBuf, Error> {
    let target = index_dir.join(name);
    let _ = fs::remove_dir_all(&target);
    fs::rename(scratch, &target).map_err(io(&target))?;
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
            fs::write(s.join(MANIFEST), "{}").expect("write");
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
    fn current_follows_only_plain_generation_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let index = dir.path().join("index");
        for name in ["index/gen-a", "gen-b"] {
            fs::create_dir_all(dir.path().join(name)).expect("mkdir");
            fs::write(dir.path().join(name).join(MANIFEST), "{}").expect("write");
        }
        fs::write(index.join(CURRENT), "gen-a\n").expect("write");
        assert_eq!(current(&index), Some(index.join("gen-a")));
        fs::write(index.join(CURRENT), "../gen-b").expect("write");
        assert_eq!(current(&index), None, "nothing outside the index directory");
        assert_eq!(pointer(&index).as_deref(), Some("../gen-b"), "but reported");
    }

    #[test]
    fn file_sums_cover_every_file_but_the_manifest_and_locks() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("tantivy")).expect("mkdir");
        for (name, content) in [
            ("corpus.json", "[]"),
            ("tantivy/a.idx", "abc"),
            ("tantivy/.tantivy-meta.lock", ""),
            (MANIFEST, "{}"),
        ] {
            fs::write(dir.path().join(name), content).expect("write");
        }
        let sums = file_sums(dir.path()).expect("sums");
        assert_eq!(
            sums.keys().collect::<Vec<_>>(),
            ["corpus.json", "tantivy/a.idx"]
        );
        assert_eq!(sums["tantivy/a.idx"], FileSum::of(b"abc"));
        assert_eq!(sums["tantivy/a.idx"].bytes, 3);
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
