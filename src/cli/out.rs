//! Standard output of every subcommand, through one writer: [`outln!`] and [`out!`] write to the
//! locked stdout and return its `io::Result` instead of panicking as `println!` does when the
//! reader has gone (`policybot ask … | head -1`). The error travels up with `?` like any other;
//! [`crate::cli::run`] recognises a closed pipe ([`closed`]) and exits quietly.

use std::io;

/// Writes one line (`format!` arguments) to stdout; `io::Result<()>`.
macro_rules! outln {
    ($($arg:tt)*) => {
        std::io::Write::write_fmt(
            &mut std::io::stdout().lock(),
            format_args!("{}\n", format_args!($($arg)*)),
        )
    };
}

/// Writes text (`format!` arguments) to stdout as it is; `io::Result<()>`.
macro_rules! out {
    ($($arg:tt)*) => {
        std::io::Write::write_fmt(&mut std::io::stdout().lock(), format_args!($($arg)*))
    };
}

pub(super) use {out, outln};

/// Whether `error` comes from writing to a pipe whose reader has closed it.
pub(super) fn closed(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
