//! The `policybot` binary: parses the command line and runs a subcommand; owns the choice of
//! allocator and how soon it gives freed memory back.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: an answer makes a few hundred short-lived
/// allocations, and glibc's malloc and free were about a tenth of its instructions. Built
/// without transparent huge pages (`no_thp`): with them, on a kernel that has them always on,
/// its reserved arenas came back as 2 MB pages and peak RSS rose from about 70 to 130 MB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`, its place in `mi_option_t` (`mimalloc.h`, v3; the Rust
/// bindings of libmimalloc-sys 0.1.49 leave it out): milliseconds before freed memory is given
/// back to the OS.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// The purge delay we run with. mimalloc v3 waits 1,000 ms (v2 waited 10): an index build frees
/// its parse and indexing buffers while the next stage allocates, and with the long delay both
/// were resident at once; peak RSS of `bench` with a build was 127–132 MB, with 10 ms 107–110 MB,
/// at the same answer and build speed.
const PURGE_DELAY_MS: i64 = 10;

/// Sets [`PURGE_DELAY_MS`] unless the operator chose one with `MIMALLOC_PURGE_DELAY`, which
/// mimalloc read at load.
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one field of mimalloc's option table, before any thread is started.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
}

fn main() -> ExitCode {
    tune_allocator();
    policybot::cli::run(policybot::cli::Cli::parse())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option number is the purge delay's: the variable mimalloc reads for it (set for a
    /// child run of this test) shows through it, and [`tune_allocator`] leaves that choice alone.
    #[test]
    fn the_purge_delay_option_is_the_one_the_environment_sets() {
        // SAFETY: reads one field of mimalloc's option table.
        let get = || unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        if let Some(chosen) = std::env::var_os("MIMALLOC_PURGE_DELAY") {
            let chosen: i64 = chosen
                .to_str()
                .and_then(|s| s.parse().ok())
                .expect("a number");
            tune_allocator();
            assert_eq!(get(), chosen);
            return;
        }
        let me = std::env::current_exe().expect("test binary");
        let child = std::process::Command::new(me)
            .args([
                "--exact",
                "tests::the_purge_delay_option_is_the_one_the_environment_sets",
            ])
            .env("MIMALLOC_PURGE_DELAY", "123")
            .output()
            .expect("child test runs");
        assert!(
            child.status.success(),
            "{}",
            String::from_utf8_lossy(&child.stdout)
        );
        assert!(String::from_utf8_lossy(&child.stdout).contains("1 passed"));
        tune_allocator();
        assert_eq!(get(), PURGE_DELAY_MS);
    }
}
