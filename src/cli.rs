//! Command line: clap subcommands and their runners. Every subcommand loads the config, builds
//! `App` and calls it; nothing here retrieves or composes answers itself.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::app::{self, App, AskOptions, Reply};
use crate::broadcast::store::BroadcastStore;
use crate::config::Config;
use crate::render;
use crate::session::Session;

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
    },
    /// Terminal conversation with numbered follow-ups (same session logic as the bot).
    Chat {
        /// Start with this region set (like /region).
        #[arg(long)]
        region: Option<String>,
    },
    /// Add or update policy files (.txt/.md/.docx, one notice or a compendium): stores them in the data
    /// directory and rebuilds the index beside the live one; a running `serve` picks it up.
    /// New documents are queued in Redis (REDIS_URL) for announcement to subscribers.
    Ingest {
        /// Files to ingest.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Do not announce added documents to subscribers.
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
    /// Score retrieval on a gold JSONL file (recall@1/3/10, MRR, declines, latency).
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
    let (app, report) = App::load(cfg, force, &mut progress)
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

/// Runs the parsed command line.
///
/// # Errors
/// Configuration or knowledge-base failures; bad questions are reported per question.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let cfg = config(&cli)?;
    match cli.command {
        Command::Index { force } => {
            let app = load_app(&cfg, force)?;
            let kb = app.kb();
            println!(
                "索引就绪: {} 份文件, {} 条条款, 位于 {}",
                kb.corpus.documents.len(),
                kb.corpus.clauses.len(),
                kb.generation().display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Ask {
            question,
            region,
            k,
            json,
        } => {
            let app = load_app(&cfg, false)?;
            if let Some(r) = &region
                && app.kb().places.resolve(r).is_none()
            {
                eprintln!(
                    "错误: 未知地区“{}”，可用例如：安阳、新乡、获嘉、济源、临夏、河南、甘肃",
                    visible(r)
                );
                return Ok(ExitCode::from(1));
            }
            let k = usize::try_from(k.clamp(1, MAX_K)).unwrap_or(1);
            let opts = AskOptions { region, k: Some(k) };
            match question {
                Some(q) => Ok(ask_one(&app, &q, &opts, json)),
                None => ask_batch(&app, &opts, json),
            }
        }
        Command::Ingest { files, no_announce } => Ok(ingest(&cfg, &files, !no_announce)),
        Command::Broadcast {
            action: BroadcastAction::Status { json },
        } => broadcast_status(&cfg, json),
        Command::Serve => {
            serve(&cfg)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Chat { region } => {
            let app = load_app(&cfg, false)?;
            chat(&app, region)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Calibrate {
            files,
            folds,
            write,
        } => {
            let app = load_app(&cfg, false)?;
            let mut questions = Vec::new();
            for spec in &files {
                let (path, half) = match spec.rsplit_once(':') {
                    Some((p, "even")) => (p, Some(crate::eval::Half::Even)),
                    Some((p, "odd")) => (p, Some(crate::eval::Half::Odd)),
                    _ => (spec.as_str(), None),
                };
                let mut q = crate::eval::load(std::path::Path::new(path))?;
                if let Some(half) = half {
                    q.retain(|q| half.contains(&q.id));
                }
                questions.extend(q);
            }
            let report = crate::eval::calibrate(&app, &questions, folds);
            print!("{}", report.text);
            if write {
                let path = cfg.data_dir.join(crate::answer::answerability::MODEL_FILE);
                let header = format!(
                    "Fitted by `policybot calibrate {}` ({} samples).\n{}",
                    files.join(" "),
                    report.samples,
                    report.text.trim_end()
                );
                std::fs::write(&path, report.model.to_toml(&header))
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("wrote {}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval {
            file,
            k,
            json,
            repeat,
            min_recall3,
            half,
        } => {
            let app = load_app(&cfg, false)?;
            let mut questions = crate::eval::load(&file)?;
            if let Some(half) = half {
                questions.retain(|q| half.contains(&q.id));
            }
            let report = crate::eval::run(&app, &questions, k, repeat);
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.to_text());
            }
            match min_recall3 {
                Some(floor) if report.recall_at_3 < floor => {
                    eprintln!(
                        "recall@3 {:.3} is below the floor {floor:.3}",
                        report.recall_at_3
                    );
                    Ok(ExitCode::from(1))
                }
                _ => Ok(ExitCode::SUCCESS),
            }
        }
    }
}

fn serve(cfg: &Config) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let bot = crate::telegram::BotConfig::from_config(cfg)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let served = runtime.block_on(async move {
        // Up first, so a container probe sees "starting" (503) while the index is checked or
        // rebuilt, and "ok" once it has passed its self-test.
        let ready = crate::telegram::Readiness::default();
        if let Some(addr) = bot.health {
            let bound = crate::telegram::spawn_health(addr, ready.clone())
                .await
                .with_context(|| format!("health endpoint {addr}"))?;
            tracing::info!(%bound, "health endpoint at /healthz (503 until the index is ready)");
        }
        let loading = cfg.clone();
        let app = tokio::task::spawn_blocking(move || load_app(&loading, false)).await??;
        let app = std::sync::Arc::new(app);
        ready.set_ready();
        tokio::spawn(watch_index(std::sync::Arc::clone(&app)));
        let sessions = crate::session::Sessions::from_url(
            cfg.redis_url.as_deref(),
            &cfg.redis_prefix,
            std::time::Duration::from_secs(cfg.session_ttl_secs),
            cfg.memory_sessions,
        )
        .await?;
        let broadcasts = match redis_url(cfg) {
            Some(url) => Some(std::sync::Arc::new(BroadcastStore::open(
                url,
                &cfg.redis_prefix,
                &cfg.replica,
            )?)),
            None => {
                tracing::info!("no REDIS_URL: subscriptions and announcements are off");
                None
            }
        };
        crate::telegram::run(app, sessions, broadcasts, bot).await?;
        anyhow::Ok(())
    });
    // `run` has waited out the shutdown grace period: do not wait again for work left on the
    // runtime's threads (an index reload, an answer being computed).
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    served
}

/// How often `serve` looks at the index's `CURRENT` pointer for a generation built by `ingest`.
const RELOAD_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Hot reload for `serve` (file watch by polling `CURRENT`): when `ingest` or `index` has swapped
/// in a new generation, the app re-opens it; questions under way finish on the old one.
async fn watch_index(app: std::sync::Arc<App>) {
    let mut tick = tokio::time::interval(RELOAD_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let app = std::sync::Arc::clone(&app);
        match tokio::task::spawn_blocking(move || app.reload()).await {
            Ok(Ok(true)) => tracing::info!("knowledge base reloaded from the new index generation"),
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::warn!("index reload failed, keeping the current one: {e}"),
            Err(e) => tracing::warn!("index reload task failed: {e}"),
        }
    }
}

fn ingest(cfg: &Config, files: &[PathBuf], announce: bool) -> ExitCode {
    let paths = crate::index::Paths {
        data_dir: cfg.data_dir.clone(),
        index_dir: cfg.index_dir.clone(),
    };
    // Announcing needs Redis: check it before anything changes, so a document is never added
    // without its announcement being queued.
    let queue = match announce_queue(cfg, announce) {
        Ok(queue) => queue,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("未做任何更改。加 --no-announce 可只导入、不推送。");
            return ExitCode::from(1);
        }
    };
    let limits = cfg.ingest_limits();
    let mut waiting = || eprintln!("另一个导入或索引重建正在进行，等待其完成…");
    let report = match crate::ingest::ingest(&paths, files, &limits, &mut waiting, &mut |_, _| {}) {
        Ok(r) => r,
        Err(crate::ingest::IngestError::Rejected(rejections)) => {
            for r in rejections {
                eprintln!("拒绝导入 {r}");
            }
            eprintln!("未做任何更改，索引保持不变。");
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("导入失败: {e}（数据已恢复，索引保持不变）");
            return ExitCode::from(1);
        }
    };
    for file in &report.files {
        match &file.stored_as {
            Some(name) => println!(
                "{} → {}/compendium/{name}",
                file.source.display(),
                cfg.data_dir.display()
            ),
            None => println!("{}（没有新内容，未保存）", file.source.display()),
        }
        for old in &file.replaced {
            println!("  取代旧文件 {old}");
        }
        for d in &file.documents {
            let number = d
                .doc_number
                .as_deref()
                .map(|n| format!("（{n}）"))
                .unwrap_or_default();
            println!("  {} 《{}》{number}", d.outcome.label(), d.title);
            for f in &d.old_kept_in {
                println!("       旧版本仍在 {f} 中（汇编文件不改动；索引只收录新版本）");
            }
        }
    }
    match &report.rebuilt {
        Some(open) => println!(
            "索引已更新: {} 份文件, {} 条条款 ({:.0} ms)；运行中的 serve 将在数秒内自动加载。",
            open.manifest.documents,
            open.manifest.clauses,
            open.build_ms.unwrap_or_default()
        ),
        None => println!("没有变化，索引未重建。"),
    }
    let added: Vec<&crate::ingest::DocReport> = report
        .files
        .iter()
        .flat_map(|f| &f.documents)
        .filter(|d| d.outcome == crate::ingest::Outcome::Added)
        .collect();
    if added.is_empty() {
        return ExitCode::SUCCESS;
    }
    match queue {
        Some((runtime, store)) => match queue_announcements(cfg, &runtime, &store, &added) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!(
                    "推送排队失败: {e:#}（文件已导入；修复 Redis 后重新导入同一文件不会重复推送）"
                );
                ExitCode::from(1)
            }
        },
        None if !announce => {
            println!("--no-announce：不推送新增文件。");
            ExitCode::SUCCESS
        }
        None => {
            println!("未配置 REDIS_URL：不推送新增文件。");
            ExitCode::SUCCESS
        }
    }
}

/// The configured Redis URL, unless blank.
fn redis_url(cfg: &Config) -> Option<&str> {
    cfg.redis_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
}

/// A runtime for the command line and the broadcast store on `url` (opened inside it: the
/// connection manager spawns its driver on the current runtime).
fn queue_at(cfg: &Config, url: &str) -> anyhow::Result<(tokio::runtime::Runtime, BroadcastStore)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let store = {
        let _inside = runtime.enter();
        BroadcastStore::open(url, &cfg.redis_prefix, &cfg.replica)?
    };
    Ok((runtime, store))
}

/// The Redis queue for announcements, checked reachable; `None` when not announcing or when no
/// Redis is configured.
fn announce_queue(
    cfg: &Config,
    announce: bool,
) -> anyhow::Result<Option<(tokio::runtime::Runtime, BroadcastStore)>> {
    let Some(url) = redis_url(cfg).filter(|_| announce) else {
        return Ok(None);
    };
    let (runtime, store) = queue_at(cfg, url)?;
    runtime
        .block_on(store.ping())
        .context("Redis 不可达，无法为新增文件排队推送")?;
    Ok(Some((runtime, store)))
}

/// Queues the announcement of every added document (found in the rebuilt knowledge base by
/// 文号, else title); a document announced before is not queued again.
fn queue_announcements(
    cfg: &Config,
    runtime: &tokio::runtime::Runtime,
    store: &BroadcastStore,
    added: &[&crate::ingest::DocReport],
) -> anyhow::Result<()> {
    let app = load_app(cfg, false)?;
    let kb = app.kb();
    for d in added {
        let found = kb.corpus.documents.iter().find(|doc| match &d.doc_number {
            Some(n) => doc.doc_number.as_ref() == Some(n),
            None => doc.title == d.title,
        });
        let Some(a) = found.and_then(|doc| app.announcement(&doc.id)) else {
            println!("  《{}》不在新索引中，未推送", d.title);
            continue;
        };
        match runtime.block_on(store.enqueue(&a))? {
            Some(_) => println!("  已排队推送《{}》给订阅者", a.title),
            None => println!("  《{}》以前推送过，不再推送", a.title),
        }
    }
    Ok(())
}

fn broadcast_status(cfg: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let Some(url) = redis_url(cfg) else {
        eprintln!("未配置 REDIS_URL：没有推送队列。");
        return Ok(ExitCode::from(2));
    };
    let (runtime, store) = queue_at(cfg, url)?;
    let (docs, failing, subscribers) = runtime.block_on(async {
        anyhow::Ok((
            store.status().await?,
            store.failing().await?,
            store.subscriptions().await?.len(),
        ))
    })?;
    if json {
        let failing: Vec<serde_json::Value> = failing
            .iter()
            .map(|(chat, n)| serde_json::json!({"chat": chat, "failures": n}))
            .collect();
        let out = serde_json::json!({
            "subscribers": subscribers,
            "documents": docs,
            "failing_subscribers": failing,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("订阅者: {subscribers}");
    if docs.is_empty() {
        println!("还没有推送过新政策。");
    }
    for d in &docs {
        let state = match (d.finished, d.targets) {
            (true, _) => "完成",
            (false, Some(_)) => "推送中",
            (false, None) => "排队中",
        };
        println!(
            "[{state}] 《{}》 {}: 目标 {} · 已送达 {} · 待送 {} · 失败 {} · 已退订 {} · 迁移 {} · 存疑 {}",
            d.title,
            d.doc,
            d.targets.map_or("-".to_string(), |t| t.to_string()),
            d.sent,
            d.pending,
            d.failed,
            d.dropped,
            d.migrated,
            d.in_doubt
        );
    }
    for (chat, n) in &failing {
        println!("持续失败的订阅者 {chat}: 连续 {n} 次");
    }
    Ok(ExitCode::SUCCESS)
}

/// Most cited clauses `ask --k` gives.
const MAX_K: u64 = 50;

/// `text` with control characters shown as `\u{…}` escapes, for echoing user input.
fn visible(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Batch mode: one answer per stdin line, every line (blank ones included) answered or
/// rejected on its own; invalid UTF-8 is decoded lossily per line. Exit 1 when any line was
/// rejected.
fn ask_batch(app: &App, opts: &AskOptions, json: bool) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for (n, line) in std::io::stdin().lock().split(b'\n').enumerate() {
        let bytes = line.context("读取标准输入失败")?;
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(&bytes);
        let line = String::from_utf8_lossy(bytes);
        if let Err(e) = app::validate(&line) {
            failed = true;
            if json {
                let invalid = serde_json::json!({
                    "question": line,
                    "status": "invalid",
                    "reason": e.to_string(),
                });
                println!("{invalid}");
            } else {
                eprintln!("错误: 第 {} 行: {e}", n + 1);
            }
            continue;
        }
        failed |= ask_one(app, &line, opts, json) != ExitCode::SUCCESS;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn ask_one(app: &App, question: &str, opts: &AskOptions, json: bool) -> ExitCode {
    if let Err(e) = app::validate(question) {
        eprintln!("错误: {e}");
        return ExitCode::from(1);
    }
    let answer = app.ask(question, &mut Session::default(), opts);
    let reply = render::plain::render(&answer);
    if json {
        println!("{}", render::json::to_value(&answer, &reply));
    } else {
        println!("{reply}");
    }
    ExitCode::SUCCESS
}

fn chat(app: &App, region: Option<String>) -> anyhow::Result<()> {
    let mut session = Session {
        region,
        ..Session::default()
    };
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    writeln!(
        out,
        "惠企政策问答（输入问题；数字选择后续操作；/region 地区；/reset 重置；/quit 退出）"
    )?;
    loop {
        write!(out, "> ")?;
        out.flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim();
        match line {
            "" => continue,
            "/quit" | "/exit" | "退出" => return Ok(()),
            "/reset" => {
                session = Session::default();
                writeln!(out, "已重置对话。")?;
                continue;
            }
            _ => {}
        }
        if let Some(r) = line.strip_prefix("/region") {
            let r = r.trim();
            session.region = (!r.is_empty()).then(|| r.to_string());
            writeln!(
                out,
                "地区已设为：{}",
                session.region.as_deref().unwrap_or("不限")
            )?;
            continue;
        }
        if let Ok(n) = line.parse::<usize>() {
            match app.follow_up(n, &mut session) {
                Some(Reply::Answer(a)) => writeln!(out, "{}", render::plain::render(&a))?,
                Some(Reply::FullText(t)) => writeln!(out, "{}\n{}", t.citation, t.text)?,
                None => writeln!(out, "没有编号为 {n} 的后续选项，请重新提问。")?,
            }
            continue;
        }
        if let Err(e) = app::validate(line) {
            writeln!(out, "{e}")?;
            continue;
        }
        let answer = app.ask(line, &mut session, &AskOptions::default());
        writeln!(out, "{}", render::plain::render(&answer))?;
    }
}
