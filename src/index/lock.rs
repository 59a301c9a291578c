//! The build lock of an index directory (`build.lock`): an OS advisory lock (`flock`) held by
//! whoever changes the data or builds a generation — `ingest` for its whole run, an index build
//! while it builds. The kernel releases it when the holder exits or dies, so a crash never
//! leaves a stale lock; the file itself stays (removing it would let two processes lock two
//! different files).

use std::fs::File;
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt as _;

use crate::error::Error;

const LOCK: &str = "build.lock";

/// Held while data or the index are being changed; released on drop (or by the kernel).
#[derive(Debug)]
pub struct BuildLock {
    _file: File,
}

impl BuildLock {
    /// Takes the lock of `index_dir`, waiting while another process holds it; `waiting` is
    /// called once, before waiting.
    ///
    /// # Errors
    /// The index directory or its lock file cannot be created or locked.
    pub fn acquire(index_dir: &Path, waiting: &mut dyn FnMut()) -> Result<BuildLock, Error> {
        let (file, path) = open(index_dir)?;
        if !file.try_lock_exclusive().map_err(io(&path))? {
            waiting();
            file.lock_exclusive().map_err(io(&path))?;
        }
        Ok(BuildLock { _file: file })
    }

    /// Takes the lock of `index_dir` when nobody holds it.
    ///
    /// # Errors
    /// The index directory or its lock file cannot be created or locked.
    pub fn try_acquire(index_dir: &Path) -> Result<Option<BuildLock>, Error> {
        let (file, path) = open(index_dir)?;
        let free = file.try_lock_exclusive().map_err(io(&path))?;
        Ok(free.then_some(BuildLock { _file: file }))
    }
}

/// The lock file of `index_dir`, created when missing, and its path.
fn open(index_dir: &Path) -> Result<(File, PathBuf), Error> {
    std::fs::create_dir_all(index_dir).map_err(io(index_dir))?;
    let path = index_dir.join(LOCK);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io(&path))?;
    Ok((file, path))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let dir = tempfile::tempdir().expect("tempdir");
        let held = BuildLock::try_acquire(dir.path())
            .expect("lock")
            .expect("free");
        // flock locks belong to the open file: a second open conflicts even in this process.
        assert!(BuildLock::try_acquire(dir.path()).expect("lock").is_none());
        let waiter = std::thread::spawn({
            let dir = dir.path().to_path_buf();
            move || {
                let mut waited = false;
                let lock = BuildLock::acquire(&dir, &mut || waited = true).expect("lock");
                (waited, lock)
            }
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
        drop(held);
        let (waited, _lock) = waiter.join().expect("waiter");
        assert!(waited, "the second taker waited");
        assert!(dir.path().join(LOCK).exists(), "the file stays");
    }
}
