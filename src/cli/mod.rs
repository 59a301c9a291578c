//! Command line: clap subcommands ([`args`]) and their runners, one module per purpose. Every
//! runner loads the config, builds `App` and calls it, and ends in an [`Outcome`]; [`run`] turns
//! that (or an error) into the exit status, in one place. Nothing here retrieves or composes
//! answers itself.

mod args;
mod ask;
mod bench;
mod broadcast;
mod chat;
mod eval;
mod ingest;
mod out;
mod review;
mod serve;

use std::process::ExitCode;

use anyhow::Context;

use self::out::outln;
use crate::app::App;
use crate::config::Config;

pub use args::{BroadcastAction, Cli, Command};

fn config(cli: &Cli) -> anyhow::Result<Config> {
    let mut cfg = Config::load(cli.config.as_deref())?;
    if let Some(d) = &cli.data_dir {
        cfg.data_dir.clone_from(d);
    }
    if let Some(d) = &cli.intents_dir {
        cfg.intents_dir.clone_from(d);
    }
    if let Some(d) = &cli.index_dir {
        cfg.index_dir.clone_from(d);
    }
    Ok(cfg.resolved())
}

fn load_app(cfg: &Config, force: bool) -> anyhow::Result<App> {
    let bar = indicatif::ProgressBar::hidden();
    let mut progress = |done: usize, total: usize| {
        if bar.is_hidden() && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let mut waiting = || waiting_for_lock(&cfg.index_dir);
    let (app, report) = App::load(cfg, force, &mut progress, &mut waiting)
        .with_context(|| format!("无法加载知识库 (data dir {})", cfg.data_dir.display()))?;
    bar.finish_and_clear();
    if let Some(damage) = &report.damage {
        eprintln!("索引不可用，已从数据重新建立: {damage}");
    }
    if let Some(ms) = report.build_ms {
        eprintln!(
            "已建立索引: {} 份文件, {} 条条款 ({ms:.0} ms)",
            report.manifest.documents, report.manifest.clauses
        );
    }
    Ok(app)
}

/// [`load_app`] for a command whose process ends when the command does: the app is never freed
/// (the exit releases its memory at once; freeing the knowledge base piece by piece took longer
/// than answering a question).
fn load_app_for_the_process(cfg: &Config) -> anyhow::Result<&'static App> {
    Ok(Box::leak(Box::new(load_app(cfg, false)?)))
}

/// Says on stderr, once per wait, that another process (an ingest or an index build) holds the
/// build lock of `index_dir` and that this command waits for it.
fn waiting_for_lock(index_dir: &std::path::Path) {
    eprintln!(
        "另一个导入或索引重建正在进行（{} 的构建锁 build.lock），等待其完成…",
        index_dir.display()
    );
}

/// How a command ended; [`run`] maps it to the exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done (exit 0).
    Done,
    /// Refused, and said why on stderr (exit 1): a bad question or region, a rejected or failed
    /// ingest, recall below the floor.
    Refused,
    /// Something the command needs is not configured (exit 2), like a failure to start.
    Unavailable,
}

impl Outcome {
    /// [`Outcome::Refused`] unless `ok`.
    fn unless(ok: bool) -> Outcome {
        match ok {
            true => Outcome::Done,
            false => Outcome::Refused,
        }
    }
}

/// Runs the parsed command line and picks the exit status: 0 done, 1 refused input (reported
/// per question, line or file), 2 configuration, data or knowledge-base failures (printed here,
/// one line with its causes). Output cut short because its reader closed the pipe
/// (`policybot … | head -1`) ends the command quietly with 0: nobody is left to tell.
#[must_use]
pub fn run(cli: Cli) -> ExitCode {
    match dispatch(cli) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Err(e) if out::closed(&e) => ExitCode::SUCCESS,
        Ok(Outcome::Refused) => ExitCode::from(1),
        Ok(Outcome::Unavailable) => ExitCode::from(2),
        Err(e) => {
            eprintln!("错误: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<Outcome> {
    let cfg = config(&cli)?;
    match cli.command {
        Command::Index { force } => {
            let app = load_app(&cfg, force)?;
            let kb = app.kb();
            outln!(
                "索引就绪: {} 份文件, {} 条条款, 位于 {}",
                kb.corpus.documents.len(),
                kb.corpus.clauses.len(),
                kb.generation().display()
            )?;
            Ok(Outcome::Done)
        }
        Command::Ask {
            question,
            region,
            k,
            json,
            jobs,
        } => {
            let jobs = jobs.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            });
            ask::run(
                load_app_for_the_process(&cfg)?,
                question,
                region,
                k,
                json,
                jobs,
            )
        }
        Command::Chat { region } => chat::run(load_app_for_the_process(&cfg)?, region),
        Command::Bench {
            file,
            repeat,
            seconds,
            start_runs,
            json,
        } => {
            let app = load_app(&cfg, false)?;
            bench::run(&cfg, app, &file, repeat, seconds, start_runs, json)
        }
        Command::Ingest { files, no_announce } => ingest::run(&cfg, &files, !no_announce),
        Command::Broadcast {
            action: BroadcastAction::Status { json },
        } => broadcast::status(&cfg, json),
        Command::Serve => serve::run(&cfg),
        Command::Review {
            since,
            json,
            jsonl_gold,
            purge,
        } => {
            let format = match (json, jsonl_gold) {
                (true, _) => review::Format::Json,
                (false, true) => review::Format::JsonlGold,
                (false, false) => review::Format::Text,
            };
            review::run(&cfg, since, format, purge)
        }
        Command::Eval {
            file,
            k,
            json,
            repeat,
            min_recall3,
            half,
        } => eval::eval(
            load_app_for_the_process(&cfg)?,
            &file,
            k,
            json,
            repeat,
            min_recall3,
            half,
        ),
        Command::Calibrate {
            files,
            folds,
            write,
        } => eval::calibrate(&cfg, &load_app(&cfg, false)?, &files, folds, write),
    }
}

/// The configured Redis URL, unless blank.
fn redis_url(cfg: &Config) -> Option<&str> {
    cfg.redis_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
}
