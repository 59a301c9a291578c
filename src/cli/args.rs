//! The command line as clap parses it: global flags, subcommands and their options. No
//! behaviour: [`super::run`] resolves these into a config and a runner.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// 惠企政策问答机器人 — answers questions about SME support policies with cited clauses.
#[derive(Debug, Parser)]
#[command(name = "policybot", version, about)]
pub struct Cli {
    /// Config file (TOML); default `policybot.toml` in the working directory when present.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Data directory with compendium/ and lexicon/ [env POLICYBOT_DATA_DIR; default data].
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Intent definitions directory [env POLICYBOT_INTENTS_DIR; default intents].
    #[arg(long, global = true)]
    pub intents_dir: Option<PathBuf>,
    /// Index directory [env POLICYBOT_INDEX_DIR; default .policybot/index].
    #[arg(long, global = true)]
    pub index_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse the compendium and (re)build the search index.
    Index {
        /// Rebuild even when the index is up to date.
        #[arg(long)]
        force: bool,
    },
    /// Answer one question, or (without QUESTION) every line of stdin.
    Ask {
        /// The question; omit to read questions from stdin, one per line.
        question: Option<String>,
        /// Favour this region's policies and their parents' (e.g. 安阳, 新乡, 河南).
        #[arg(long)]
        region: Option<String>,
        /// Number of cited clauses (1–50; larger values are taken as 50).
        #[arg(long, default_value_t = 5)]
        k: u64,
        /// Print one JSON object per question per line (schema in the README); in batch mode
        /// exactly one line per input line, `"status": "invalid"` for a rejected one.
        #[arg(long)]
        json: bool,
        /// Batch mode: threads answering lines at once (answers still print in input order);
        /// default: the machine's cores.
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Terminal conversation with numbered follow-ups (same session logic as the bot).
    Chat {
        /// Start with this region set (like /region).
        #[arg(long)]
        region: Option<String>,
    },
    /// Add or update policy files (.txt/.md/.docx, one notice or a compendium): stores them in the data
    /// directory and rebuilds the index beside the live one; a running `serve` picks it up.
    /// New documents are queued in Redis (REDIS_URL) for announcement to subscribers, and revised
    /// ones (same 文号, clauses added or removed) as 修订 unless announce_revisions is off.
    Ingest {
        /// Files to ingest.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Do not announce added or revised documents to subscribers.
        #[arg(long)]
        no_announce: bool,
    },
    /// Run the Telegram bot (long polling, or a webhook when POLICYBOT_WEBHOOK_URL is set);
    /// SIGTERM/SIGINT stop it gracefully within POLICYBOT_SHUTDOWN_GRACE seconds.
    /// Needs TELOXIDE_TOKEN. With REDIS_URL: sessions, subscriptions and announcement delivery in
    /// Redis; without: sessions in memory, no subscriptions.
    Serve,
    /// Announcements of added policies to subscribers (needs REDIS_URL).
    Broadcast {
        /// What to do.
        #[command(subcommand)]
        action: BroadcastAction,
    },
    /// Review the operator logs (needs REDIS_URL): unanswered, weakly answered (related) and 👎
    /// questions grouped by normalised question, with counts, first/last seen, the clauses
    /// answered and their 👍/👎.
    Review {
        /// How far back: 7d, 24h, 90m or all.
        #[arg(long, default_value = "7d", value_parser = crate::review::parse_window)]
        since: std::time::Duration,
        /// Print JSON.
        #[arg(long, conflicts_with = "jsonl_gold")]
        json: bool,
        /// Print eval JSONL lines (`kind` empty, `gold` []) for an editor to label and add to a
        /// question set; `policybot eval` skips lines not labelled yet.
        #[arg(long)]
        jsonl_gold: bool,
        /// Delete the operator logs (unanswered questions and feedback) instead.
        #[arg(long, conflicts_with_all = ["json", "jsonl_gold", "since"])]
        purge: bool,
    },
    /// Score retrieval on a gold JSONL file (recall@1/3/10, MRR, declines, latency); lines not
    /// labelled yet (empty `kind`) are skipped.
    Eval {
        /// Gold questions, e.g. ../shared/eval/dev.jsonl or tests/data/gold.jsonl.
        file: PathBuf,
        /// Hits retrieved per question (at least 10 are scored).
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Passes over the questions for the latency percentiles (warm runs).
        #[arg(long, default_value_t = 1)]
        repeat: usize,
        /// Exit with status 1 when recall@3 is below this floor (for CI).
        #[arg(long)]
        min_recall3: Option<f64>,
        /// Score only the questions whose id number is even (the tuning half) or odd (held out).
        #[arg(long, value_enum)]
        half: Option<crate::eval::Half>,
    },
    /// Fit the answered/related decision (data/model/answerability.toml) to labelled questions
    /// by logistic regression; prints the cross-validated declines.
    Calibrate {
        /// Gold JSONL files; `FILE:even` or `FILE:odd` takes one half of a file by id parity.
        #[arg(required = true)]
        files: Vec<String>,
        /// Cross-validation folds.
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Write the model fitted on all samples to `<data_dir>/model/answerability.toml`.
        #[arg(long)]
        write: bool,
    },
    /// Speed report: full index build, process start to first answer, per question through
    /// `ask --json` in batch as a new process (start-up included), warm per-question time split by
    /// stage (segment, search, rerank, compose, render), answers per second through the bot's
    /// handler path on two threads with 1, 2 and 16 workers (sessions in Redis when REDIS_URL is
    /// set), peak RSS.
    Bench {
        /// Questions: an eval JSONL file (its `question` fields) or one question per line.
        file: PathBuf,
        /// Timed passes over the questions (after one untimed pass); the batch answers this many
        /// copies of them.
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        /// Seconds of each handler-path run.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Runs of the process-start and batch measurements (the median of each is reported).
        #[arg(long, default_value_t = 5)]
        start_runs: usize,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `policybot broadcast` actions.
#[derive(Debug, Subcommand)]
pub enum BroadcastAction {
    /// Pending, delivered and failed counts per announced document, and failing subscribers.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}
