//! The `policybot` binary: parses the command line and runs a subcommand.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    policybot::cli::run(policybot::cli::Cli::parse())
}
