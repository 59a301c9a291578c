//! `policybot ask`: one question, or every line of stdin, answered as plain text or JSON.

use std::io::BufRead;

use anyhow::Context;

use super::Outcome;
use super::out::outln;
use crate::answer::Status;
use crate::app::{App, AskOptions};
use crate::render;
use crate::session::Session;

/// Most cited clauses `ask --k` gives.
const MAX_K: u64 = 50;

/// Answers `question`, or without one every line of stdin, favouring `region` with `k` clauses
/// (clamped to 1–[`MAX_K`]); refused when the region is unknown or any question invalid.
pub(super) fn run(
    app: &App,
    question: Option<String>,
    region: Option<String>,
    k: u64,
    json: bool,
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
        Some(q) => ask_one(app, &q, &opts, json, None).map(Outcome::unless),
        None => ask_batch(app, &opts, json),
    };
    // A closed pipe (`ask … | head`) ends the command quietly (see `cli::run`).
    answered.context("写入标准输出失败")
}

/// Batch mode: one answer per stdin line, every line (blank ones included) answered or
/// rejected on its own; invalid UTF-8 is decoded lossily per line. Exit 1 when any line was
/// rejected.
fn ask_batch(app: &App, opts: &AskOptions, json: bool) -> std::io::Result<Outcome> {
    let mut failed = false;
    for (n, line) in std::io::stdin().lock().split(b'\n').enumerate() {
        let bytes = line?;
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(&bytes);
        let line = String::from_utf8_lossy(bytes);
        failed |= !ask_one(app, &line, opts, json, Some(n + 1))?;
    }
    Ok(Outcome::unless(!failed))
}

/// Answers `question` on stdout; false when it is invalid (status `Invalid`). Its one line goes
/// to stderr, or with `--json` in batch mode (`line`, 1-based) to stdout as the `invalid` JSON.
/// Errors when stdout cannot be written (a closed pipe among them).
fn ask_one(
    app: &App,
    question: &str,
    opts: &AskOptions,
    json: bool,
    line: Option<usize>,
) -> std::io::Result<bool> {
    let answer = app.ask(question, &mut Session::default(), opts);
    if answer.status == Status::Invalid {
        match line {
            Some(_) if json => outln!("{}", render::json::to_value(&answer, ""))?,
            Some(n) => eprintln!("错误: 第 {n} 行: {}", answer.lead),
            None => eprintln!("错误: {}", answer.lead),
        }
        return Ok(false);
    }
    let reply = render::plain::render(&answer);
    if json {
        outln!("{}", render::json::to_value(&answer, &reply))?;
    } else {
        outln!("{reply}")?;
    }
    Ok(true)
}
