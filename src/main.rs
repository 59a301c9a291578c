//! The `policybot` binary: parses the command line and runs a subcommand.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: an answer makes a few hundred short-lived
/// allocations, and glibc's malloc and free were about a tenth of its instructions. Built
/// without transparent huge pages (`no_thp`): with them, on a kernel that has them always on,
/// its reserved arenas came back as 2 MB pages and peak RSS rose from about 70 to 130 MB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    policybot::cli::run(policybot::cli::Cli::parse())
}
