//! `policybot ask`: one question, or every line of stdin, answered as plain text or JSON.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use anyhow::Context;

use super::Outcome;
use super::out::outln;
use crate::answer::Status;
use crate::app::{App, AskOptions};
use crate::render;
use crate::session::Session;

/// Most cited clauses `ask --k` gives.
const MAX_K: u64 = 50;

/// How often a batch worker waiting for a line checks whether the batch has stopped.
const POLL: Duration = Duration::from_millis(50);

/// Answers `question`, or without one every line of stdin (on `jobs` threads), favouring
/// `region` with `k` clauses (clamped to 1–[`MAX_K`]); refused when the region is unknown or
/// any question invalid.
pub(super) fn run(
    app: &App,
    question: Option<String>,
    region: Option<String>,
    k: u64,
    json: bool,
    jobs: usize,
) -> anyhow::Result<Outcome> {
    let region = match region.as_deref().map(|r| app.region(r)).transpose() {
        Ok(region) => region,
        Err(unknown) => {
            eprintln!("错误: {unknown}");
            return Ok(Outcome::Refused);
        }
    };
    let k = usize::try_from(k.clamp(1, MAX_K)).unwrap_or(1);
    let opts = AskOptions {
        region,
        k: Some(k),
        ..AskOptions::default()
    };
    let answered = match question {
        Some(q) => reply(app, &q, &opts, json, None)
            .print()
            .map(Outcome::unless),
        None => ask_batch(app, &opts, json, jobs.max(1)),
    };
    // A closed pipe (`ask … | head`) ends the command quietly (see `cli::run`).
    answered.context("写入标准输出失败")
}

/// Batch mode: one answer per stdin line, every line (blank ones included) answered or
/// rejected on its own, in input order; invalid UTF-8 is decoded lossily per line. Lines are
/// read as they come and answered by `jobs` threads (each line's answer needs nothing of the
/// others'), and printed in input order as soon as all before them are. Exit 1 when any line
/// was rejected.
///
/// Lines travel in chunks: the lines already read in with the one that was waited for, up to
/// [`CHUNK`]; a line typed alone goes alone. Handing each line to a worker, and each answer to
/// the printer, one by one woke a sleeping thread per line, a tenth of a batch's time.
fn ask_batch(app: &App, opts: &AskOptions, json: bool, jobs: usize) -> std::io::Result<Outcome> {
    // The reader is not scoped: when stdout closes, the answers stop and the command ends
    // without waiting for stdin to.
    let (lines_tx, lines_rx) = mpsc::sync_channel::<Vec<Numbered<String>>>(jobs * 2);
    std::thread::spawn(move || {
        let mut input = std::io::BufReader::with_capacity(1 << 16, std::io::stdin());
        let mut n = 0;
        let mut failed = false;
        while !failed {
            let mut chunk = Vec::new();
            loop {
                let mut bytes = Vec::new();
                let line = match input.read_until(b'\n', &mut bytes) {
                    Ok(0) => break,
                    Ok(_) => {
                        let bytes = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
                        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
                        Ok(String::from_utf8_lossy(bytes).into_owned())
                    }
                    Err(e) => Err(e),
                };
                failed = line.is_err();
                n += 1;
                chunk.push((n, line));
                // More only when a whole line is already read in: never wait for one here.
                if failed || chunk.len() == CHUNK || !input.buffer().contains(&b'\n') {
                    break;
                }
            }
            if chunk.is_empty() || lines_tx.send(chunk).is_err() {
                break;
            }
        }
    });
    let lines_rx = Mutex::new(lines_rx);
    let stop = AtomicBool::new(false);
    let (replies_tx, replies_rx) = mpsc::channel::<Vec<Numbered<Reply>>>();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let replies_tx = replies_tx.clone();
            let (lines_rx, stop) = (&lines_rx, &stop);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let next = lines_rx.lock().map(|rx| rx.recv_timeout(POLL));
                    let chunk = match next {
                        Ok(Ok(chunk)) => chunk,
                        Ok(Err(RecvTimeoutError::Timeout)) => continue,
                        _ => break,
                    };
                    let answered = chunk
                        .into_iter()
                        .map(|(n, line)| (n, line.map(|q| reply(app, &q, opts, json, Some(n)))))
                        .collect();
                    if replies_tx.send(answered).is_err() {
                        break;
                    }
                }
            });
        }
        drop(replies_tx);
        let printed = print_in_order(replies_rx.iter().flatten());
        // Printing stopped early (a closed pipe): the workers stop waiting for lines.
        stop.store(true, Ordering::Relaxed);
        printed
    })
}

/// Most lines handed to a batch worker at once.
const CHUNK: usize = 8;

/// An input line's number (from 1) and what came of it: the line, its reply, or the error
/// reading it.
type Numbered<T> = (usize, std::io::Result<T>);

/// Prints replies numbered from 1 in that order, whatever order they come in; whether all
/// were valid. Stops at the first error (reading a line, or writing), in line order.
fn print_in_order(replies: impl Iterator<Item = Numbered<Reply>>) -> std::io::Result<Outcome> {
    let mut waiting = BTreeMap::new();
    let (mut next, mut failed) = (1, false);
    for (n, reply) in replies {
        waiting.insert(n, reply);
        while let Some(reply) = waiting.remove(&next) {
            failed |= !reply?.print()?;
            next += 1;
        }
    }
    Ok(Outcome::unless(!failed))
}

/// What answering one question prints.
struct Reply {
    /// The question was answered (not rejected as invalid).
    valid: bool,
    /// The answer, or for an invalid line in JSON batch mode the `invalid` object, on stdout.
    stdout: Option<String>,
    /// Why the question was rejected, on stderr.
    stderr: Option<String>,
}

impl Reply {
    /// Prints the reply; false when the question was rejected. Errors when stdout cannot be
    /// written (a closed pipe among them).
    fn print(&self) -> std::io::Result<bool> {
        if let Some(text) = &self.stdout {
            outln!("{text}")?;
        }
        if let Some(text) = &self.stderr {
            eprintln!("{text}");
        }
        Ok(self.valid)
    }
}

/// Answers `question`. An invalid one gives one line on stderr, or with `--json` in batch mode
/// (`line`, 1-based) the `invalid` JSON on stdout.
fn reply(app: &App, question: &str, opts: &AskOptions, json: bool, line: Option<usize>) -> Reply {
    let answer = app.ask(question, &mut Session::default(), opts);
    if answer.status == Status::Invalid {
        return match line {
            Some(_) if json => Reply {
                valid: false,
                stdout: Some(render::json::to_json(&answer, "")),
                stderr: None,
            },
            Some(n) => Reply {
                valid: false,
                stdout: None,
                stderr: Some(format!("错误: 第 {n} 行: {}", answer.lead)),
            },
            None => Reply {
                valid: false,
                stdout: None,
                stderr: Some(format!("错误: {}", answer.lead)),
            },
        };
    }
    let reply = render::plain::render(&answer);
    Reply {
        valid: true,
        stdout: Some(if json {
            render::json::to_json(&answer, &reply)
        } else {
            reply
        }),
        stderr: None,
    }
}
