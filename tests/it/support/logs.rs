//! Log capture for the test binary: one global `tracing` subscriber writing into a buffer, so
//! tests can check what was logged. Global rather than per-test (`set_default`) because tracing
//! caches per-callsite interest process-wide: an event first hit on a thread without a
//! subscriber can be missed later on a thread with one. Tests pick their lines out by a unique
//! field value (e.g. their key prefix).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

/// Starts capturing (idempotent). Panics if another global subscriber was installed first, as
/// the checks built on it would then prove nothing.
pub fn capture() {
    BUFFER.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buf);
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || LogWriter(Arc::clone(&writer)))
            .try_init()
            .expect("no other global tracing subscriber in the test binary");
        buf
    });
}

/// Captured lines containing `needle`, joined by newlines.
pub fn lines_with(needle: &str) -> String {
    let Some(buf) = BUFFER.get() else {
        return String::new();
    };
    let text = String::from_utf8_lossy(&buf.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    text.lines()
        .filter(|line| line.contains(needle))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Everything captured so far.
pub fn all() -> String {
    let Some(buf) = BUFFER.get() else {
        return String::new();
    };
    String::from_utf8_lossy(&buf.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
