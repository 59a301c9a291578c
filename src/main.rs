//! The `policybot` binary: parses the command line and runs a subcommand.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: an answer makes a few hundred short-lived
/// allocations, and glibc's malloc and free were about a tenth of its instructions.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    policybot::cli::run(policybot::cli::Cli::parse())
}
