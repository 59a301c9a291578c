//! Command line: clap subcommands and their runners.
