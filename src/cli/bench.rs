//! `policybot bench`: the speed report on the bundled compendium and a question file — full
//! index build, process start to first answer, per question through `ask --json` in batch as a
//! new process, warm per-question time split by stage ([`crate::stages`]), answers per second
//! through the bot's handler path (session load, ask, HTML + keyboard, session save) with 1, 2
//! and 16 workers on two threads, and peak RSS. A table, or `--json`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

use super::Outcome;
use super::out::{out, outln};
use crate::app::{App, AskOptions};
use crate::config::Config;
use crate::render;
use crate::session::{MemoryStore, RedisStore, Session, SessionKey, SessionStore};
use crate::stages::{self, Stage, Times};

/// What `bench` measured.
#[derive(Debug, Serialize)]
struct Report {
    questions: usize,
    repeat: usize,
    /// Parse + index of the whole compendium into a fresh directory, in ms (as `index --force`).
    build_ms: f64,
    /// Median wall time of `policybot ask` as a new process on the built index, in ms.
    start_to_first_answer_ms: f64,
    /// Median wall time of `policybot ask --json` as a new process answering the questions
    /// `repeat` times from stdin, per question, start-up included, in ms: the figure to set
    /// against the jieba + rank-bm25 baseline (`benches/baseline_bm25.py`).
    batch_ms_per_question: f64,
    /// Warm per-question times in ms: p50/p95/p99 of each stage and of the total.
    warm: Vec<StageRow>,
    /// Answers per second through the handler path, per worker count.
    handler: Vec<Throughput>,
    /// Where the handler path kept its sessions.
    session_store: &'static str,
    /// Peak resident set of this process after the warm and handler runs, before the build.
    peak_rss_mb_serving: Option<f64>,
    /// Peak resident set after the index build too.
    peak_rss_mb_with_build: Option<f64>,
}

#[derive(Debug, Serialize)]
struct StageRow {
    stage: &'static str,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    mean_ms: f64,
}

#[derive(Debug, Serialize)]
struct Throughput {
    workers: usize,
    answers: u64,
    seconds: f64,
    answers_per_sec: f64,
}

/// Measures everything and prints the report.
pub(super) fn run(
    cfg: &Config,
    app: App,
    file: &Path,
    repeat: usize,
    seconds: f64,
    start_runs: usize,
    json: bool,
) -> anyhow::Result<Outcome> {
    let questions = read_questions(file)?;
    if questions.is_empty() {
        eprintln!("错误: {} 中没有问题", file.display());
        return Ok(Outcome::Refused);
    }
    let repeat = repeat.max(1);
    let warm = warm(&app, &questions, repeat);
    let app = Arc::new(app);
    let (handler, session_store) = handler(cfg, &app, &questions, seconds)?;
    let peak_rss_mb_serving = peak_rss_mb();
    drop(app);

    let dir = tempfile::tempdir().context("临时目录")?;
    let build_cfg = Config {
        index_dir: dir.path().to_path_buf(),
        ..cfg.clone()
    };
    let started = Instant::now();
    let (built, report) =
        App::load(&build_cfg, true, &mut |_, _| {}, &mut || {}).context("建立索引失败")?;
    let build_ms = report
        .build_ms
        .unwrap_or_else(|| started.elapsed().as_secs_f64() * 1e3);
    drop(built);
    let peak_rss_mb_with_build = peak_rss_mb();
    let start_to_first_answer_ms =
        start_to_first_answer(&build_cfg, &questions[0], start_runs.max(1))?;
    let batch_ms_per_question = batch(&build_cfg, &questions, repeat, start_runs.max(1))?;

    let report = Report {
        questions: questions.len(),
        repeat,
        build_ms,
        start_to_first_answer_ms,
        batch_ms_per_question,
        warm,
        handler,
        session_store,
        peak_rss_mb_serving,
        peak_rss_mb_with_build,
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        out!("{}", to_text(&report))?;
    }
    Ok(Outcome::Done)
}

/// Questions of an eval JSONL file (its `question` fields) or of a plain file, one per line.
fn read_questions(file: &Path) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("无法读取 {}", file.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter_map(|l| match l.starts_with('{') {
            true => serde_json::from_str::<serde_json::Value>(l)
                .ok()?
                .get("question")?
                .as_str()
                .map(str::to_string),
            false => Some(l.to_string()),
        })
        .collect())
}

/// Warm per-question times: every question `repeat` times with a fresh session, after one
/// untimed pass.
fn warm(app: &App, questions: &[String], repeat: usize) -> Vec<StageRow> {
    let opts = AskOptions::default();
    for q in questions {
        let _ = app.ask(q, &mut Session::default(), &opts);
    }
    let _ = stages::take();
    let mut samples: Vec<(Times, Duration)> = Vec::with_capacity(questions.len() * repeat);
    for _ in 0..repeat {
        for q in questions {
            let mut session = Session::default();
            let started = Instant::now();
            let answer = app.ask(q, &mut session, &opts);
            let asked = started.elapsed();
            stages::time(Stage::Render, || {
                let html = render::telegram::answer(&answer, None);
                let keys = render::telegram::keyboard(&answer, session.answer_id, false);
                std::hint::black_box((html, keys));
            });
            let mut times = stages::take();
            let retrieval: Duration = times[..Stage::Compose as usize].iter().sum();
            times[Stage::Compose as usize] = asked.saturating_sub(retrieval);
            let total = times.iter().sum();
            samples.push((times, total));
        }
    }
    let mut rows: Vec<StageRow> = Stage::ALL
        .iter()
        .map(|s| row(s.name(), samples.iter().map(|x| x.0[*s as usize]).collect()))
        .collect();
    rows.push(row("total", samples.iter().map(|x| x.1).collect()));
    rows
}

fn row(stage: &'static str, mut xs: Vec<Duration>) -> StageRow {
    xs.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let at = |p: f64| ms(xs[((xs.len() - 1) as f64 * p).round() as usize]);
    StageRow {
        stage,
        p50_ms: at(0.5),
        p95_ms: at(0.95),
        p99_ms: at(0.99),
        mean_ms: ms(xs.iter().sum::<Duration>()) / xs.len() as f64,
    }
}

/// Workers of the capacity run. A worker answers one question at a time, and waits while its
/// session goes to and from Redis; a busy bot has many chats in flight, so another one computes
/// meanwhile. 16 keep both threads busy with local Redis round trips of about 0.1 ms.
const CAPACITY_WORKERS: usize = 16;

/// Answers per second with 1, 2 and [`CAPACITY_WORKERS`] workers on a two-thread runtime,
/// sessions in Redis when `redis_url` is configured (and reachable), else in memory.
fn handler(
    cfg: &Config,
    app: &Arc<App>,
    questions: &[String],
    seconds: f64,
) -> anyhow::Result<(Vec<Throughput>, &'static str)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let ttl = Duration::from_secs(300);
    let redis = match &cfg.redis_url {
        Some(url) => rt.block_on(async {
            let store = RedisStore::connect(url, "policybot-bench:", ttl)
                .await
                .ok()?;
            store.is_up().then_some(store)
        }),
        None => None,
    };
    let questions: Arc<Vec<String>> = Arc::new(questions.to_vec());
    let duration = Duration::from_secs_f64(seconds.max(0.1));
    let runs = match redis {
        Some(store) => (
            throughputs(&rt, app, &questions, Arc::new(store), duration),
            "redis",
        ),
        None => {
            let store = Arc::new(MemoryStore::new(ttl, 10_000));
            (throughputs(&rt, app, &questions, store, duration), "memory")
        }
    };
    Ok(runs)
}

fn throughputs<S: SessionStore + 'static>(
    rt: &tokio::runtime::Runtime,
    app: &Arc<App>,
    questions: &Arc<Vec<String>>,
    store: Arc<S>,
    duration: Duration,
) -> Vec<Throughput> {
    [1, 2, CAPACITY_WORKERS]
        .into_iter()
        .map(|workers| {
            let done = Arc::new(AtomicU64::new(0));
            let started = Instant::now();
            let deadline = started + duration;
            rt.block_on(async {
                let tasks: Vec<_> = (0..workers)
                    .map(|w| {
                        let (app, questions, store) =
                            (app.clone(), questions.clone(), store.clone());
                        let done = done.clone();
                        tokio::spawn(async move {
                            let mut i = 0usize;
                            // The tasks never wait on a timer: with an in-memory store they
                            // never yield, so each one watches the deadline itself.
                            while Instant::now() < deadline {
                                let key = SessionKey {
                                    chat: (i % 50) as i64,
                                    user: w as u64,
                                };
                                let mut session = store.load(key).await;
                                let answer = app.ask(
                                    &questions[i % questions.len()],
                                    &mut session,
                                    &AskOptions::default(),
                                );
                                let html = render::telegram::answer(&answer, None);
                                let keys =
                                    render::telegram::keyboard(&answer, session.answer_id, false);
                                std::hint::black_box((html, keys));
                                store.save(key, &session).await;
                                done.fetch_add(1, Ordering::Relaxed);
                                i += 1;
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    let _ = t.await;
                }
            });
            let seconds = started.elapsed().as_secs_f64();
            let answers = done.load(Ordering::Relaxed);
            Throughput {
                workers,
                answers,
                seconds,
                answers_per_sec: answers as f64 / seconds,
            }
        })
        .collect()
}

/// Median wall time of `policybot ask QUESTION` as a new process on the index of `cfg`, over
/// `n` runs.
fn start_to_first_answer(cfg: &Config, question: &str, n: usize) -> anyhow::Result<f64> {
    let mut runs = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let status = policybot(cfg)?
            .args(["ask", question])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .context("无法启动 policybot ask")?;
        runs.push(started.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(status.success(), "policybot ask 失败: {status}");
    }
    Ok(median(runs))
}

/// Median over `n` runs of the wall time per question of `policybot ask --json` as a new
/// process, answering `questions` `repeat` times from stdin (start-up included), in ms.
fn batch(cfg: &Config, questions: &[String], repeat: usize, n: usize) -> anyhow::Result<f64> {
    let mut input = String::new();
    for _ in 0..repeat {
        for q in questions {
            input.push_str(&q.replace(['\n', '\r'], " "));
            input.push('\n');
        }
    }
    let count = (questions.len() * repeat) as f64;
    let mut runs = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let mut child = policybot(cfg)?
            .args(["ask", "--json"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("无法启动 policybot ask --json")?;
        let mut stdin = child.stdin.take().context("policybot ask 没有标准输入")?;
        stdin.write_all(input.as_bytes())?;
        drop(stdin);
        let status = child.wait()?;
        runs.push(started.elapsed().as_secs_f64() * 1e3 / count);
        anyhow::ensure!(status.success(), "policybot ask --json 失败: {status}");
    }
    Ok(median(runs))
}

/// This executable, on the data, intents and index of `cfg`.
fn policybot(cfg: &Config) -> anyhow::Result<Command> {
    let exe: PathBuf = std::env::current_exe().context("找不到 policybot 可执行文件")?;
    let mut command = Command::new(exe);
    command
        .arg("--data-dir")
        .arg(&cfg.data_dir)
        .arg("--intents-dir")
        .arg(&cfg.intents_dir)
        .arg("--index-dir")
        .arg(&cfg.index_dir);
    Ok(command)
}

/// The median of `values` (not empty).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Peak resident set (`VmHWM`) of this process in MB; `None` where `/proc` has none.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

fn to_text(r: &Report) -> String {
    let mut out = format!(
        "questions {} × {} (warm, fresh session each)\n\n{:<8} {:>8} {:>8} {:>8} {:>8}\n",
        r.questions, r.repeat, "stage", "p50 ms", "p95 ms", "p99 ms", "mean ms"
    );
    for s in &r.warm {
        out += &format!(
            "{:<8} {:>8.3} {:>8.3} {:>8.3} {:>8.3}\n",
            s.stage, s.p50_ms, s.p95_ms, s.p99_ms, s.mean_ms
        );
    }
    out += &format!(
        "\nhandler path, 2 threads (sessions in {}):\n",
        r.session_store
    );
    for t in &r.handler {
        out += &format!(
            "  {} worker(s): {:.0} answers/s ({} in {:.1} s)\n",
            t.workers, t.answers_per_sec, t.answers, t.seconds
        );
    }
    let mb = |x: Option<f64>| x.map_or_else(|| "n/a".to_string(), |v| format!("{v:.0} MB"));
    out += &format!(
        "\nindex build (parse + index): {:.0} ms\nstart to first answer (new process): {:.0} ms\n\
         ask --json batch (new process, {} questions, start-up included): {:.3} ms per question\n\
         peak RSS: {} serving, {} with an index build\n",
        r.build_ms,
        r.start_to_first_answer_ms,
        r.questions * r.repeat,
        r.batch_ms_per_question,
        mb(r.peak_rss_mb_serving),
        mb(r.peak_rss_mb_with_build)
    );
    out
}
