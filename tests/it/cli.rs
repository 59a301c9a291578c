//! The `policybot` binary end to end: one-line errors with non-zero exits on bad input, JSON
//! schema of `ask --json`, batch mode, and the index rebuild on data changes.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use super::kb::root;

fn policybot(index_dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_policybot"));
    cmd.current_dir(root())
        .env_remove("REDIS_URL")
        .env("POLICYBOT_INDEX_DIR", index_dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("binary runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("binary finishes")
}

/// `policybot ask ARGS` on the shared index with stdin, stdout and stderr piped, running.
fn spawn_ask(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_policybot"))
        .current_dir(root())
        .env_remove("REDIS_URL")
        .env("POLICYBOT_INDEX_DIR", shared_index())
        .arg("ask")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs")
}

/// An index directory built once (so later runs print nothing about building), in the test
/// scratch space rather than a temp directory that would outlive the run.
pub(crate) fn shared_index() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = super::kb::scratch("cli-index");
        let out = policybot(&dir, &["index"], None);
        assert!(out.status.success(), "index builds: {}", text(&out.stderr));
        dir
    })
}

pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn bad_questions_get_one_clear_line_and_nonzero_exit() {
    let long = "贷".repeat(10_000);
    for (q, needle) in [
        ("", "问题为空"),
        ("   ", "问题为空"),
        (long.as_str(), "问题太长"),
        ("😀😀🎉", "用文字描述"),
        ("贷款\u{1b}[31m", "控制字符"),
    ] {
        let out = policybot(shared_index(), &["ask", q], None);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "question {q:?}: {err}");
        assert!(err.contains(needle), "question {q:?} → {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
}

#[test]
fn ask_json_has_the_documented_schema() {
    let out = policybot(
        shared_index(),
        &["ask", "小店房租能减免吗", "--json", "--k", "3"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value =
        serde_json::from_str(text(&out.stdout).trim()).expect("one JSON line");
    for key in ["question", "status", "intent", "hits", "reply", "followups"] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["status"], "answered", "{v}");
    let hits = v["hits"].as_array().expect("hits array");
    assert!(!hits.is_empty() && hits.len() <= 3, "{v}");
    for key in [
        "rank",
        "score",
        "clause_id",
        "doc_title",
        "doc_number",
        "issuer",
        "date",
        "level",
        "region",
        "section",
        "text",
        "excerpt",
        "departments",
        "sources",
        "validity",
    ] {
        assert!(hits[0].get(key).is_some(), "hit lacks {key}: {}", hits[0]);
    }
    assert!(hits[0]["sources"][0]["file"].is_string() && hits[0]["sources"][0]["line"].is_u64());
}

#[test]
fn batch_mode_answers_each_stdin_line() {
    let out = policybot(
        shared_index(),
        &["ask", "--json"],
        Some("社保费能缓缴吗\n\n安阳企业上市有什么奖励\n美元汇率多少\n"),
    );
    assert_eq!(out.status.code(), Some(1), "a blank line is bad input");
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 4, "one line per input line");
    assert_eq!(lines[0]["status"], "answered");
    assert_eq!(lines[1]["status"], "invalid");
    assert_eq!(lines[3]["status"], "no_match", "out of scope: {}", lines[3]);
    assert!(lines[3]["hits"].as_array().is_some_and(Vec::is_empty));
}

/// Issue 9: an invalid line (bad UTF-8, control characters, emoji only) does not stop the batch;
/// each input line gets exactly one JSON line.
#[test]
fn batch_mode_survives_invalid_lines() {
    let mut input: Vec<u8> = "社保费能缓缴吗\n".into();
    input.extend_from_slice(b"\xff\xfe\xe8\xb4\n");
    input.extend_from_slice("贷款\u{1b}[31m\n😀😀\n安阳企业上市有什么奖励\r\n".as_bytes());
    let mut child = spawn_ask(&["--json", "--k", "18446744073709551615"]);
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&input)
        .expect("write stdin");
    let out = child.wait_with_output().expect("binary finishes");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let statuses: Vec<&str> = lines
        .iter()
        .map(|l| l["status"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        statuses,
        ["answered", "invalid", "invalid", "invalid", "answered"],
        "{lines:?}"
    );
    assert!(
        lines[1]["question"]
            .as_str()
            .is_some_and(|q| q.contains('\u{fffd}'))
    );
    assert!(
        lines[2]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("控制字符"))
    );
    let hits = lines[0]["hits"].as_array().map_or(0, Vec::len);
    assert!((1..=50).contains(&hits), "--k clamped: {hits} hits");
}

/// Issue 9: a reader that stops early (`policybot ask < questions | head -1`) ends the batch
/// quietly: exit 0, no panic about a broken pipe.
#[test]
fn batch_mode_stops_quietly_when_the_reader_goes_away() {
    use std::io::BufRead as _;
    let mut child = spawn_ask(&["--json"]);
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        for _ in 0..2_000 {
            if stdin.write_all("小店房租能减免吗\n".as_bytes()).is_err() {
                break;
            }
        }
    });
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("first answer");
    assert!(first.contains("\"status\""), "{first}");
    // The reader is gone: the next write fails with a broken pipe.
    let out = child.wait_with_output().expect("binary finishes");
    writer.join().expect("writer");
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// Issue 11: batch lines are answered on several threads (`--jobs`) and printed in input order:
/// the output is the same, byte for byte, as one thread's.
#[test]
fn batch_mode_on_several_threads_prints_in_input_order() {
    let questions = [
        "社保费能缓缴吗",
        "",
        "安阳企业上市有什么奖励",
        "美元汇率多少",
        "小店房租能减免吗",
        "😀😀",
        "专精特新认定有什么奖励",
        "创业担保贷款最高多少",
    ];
    let input = questions.repeat(6).join("\n") + "\n";
    let one = policybot(
        shared_index(),
        &["ask", "--json", "--jobs", "1"],
        Some(&input),
    );
    let four = policybot(
        shared_index(),
        &["ask", "--json", "--jobs", "4"],
        Some(&input),
    );
    assert_eq!(
        one.status.code(),
        Some(1),
        "blank and emoji-only lines are bad input"
    );
    assert_eq!(four.status.code(), Some(1));
    assert_eq!(
        text(&one.stdout).lines().count(),
        48,
        "one line per input line"
    );
    assert_eq!(text(&four.stdout), text(&one.stdout));
}

/// Issue 11: lines travel to the answering threads in chunks, but a line typed alone is
/// answered alone: each answer comes while stdin stays open, before the next line is written.
#[test]
fn batch_mode_answers_a_line_typed_alone_without_waiting_for_more() {
    use std::io::BufRead as _;
    let mut child = spawn_ask(&["--json", "--jobs", "2"]);
    let mut stdin = child.stdin.take().expect("stdin");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    for question in ["小店房租能减免吗", "安阳这边上市有奖励没", "担保费能降吗"]
    {
        stdin
            .write_all(format!("{question}\n").as_bytes())
            .expect("write one line");
        stdin.flush().expect("flush");
        let answer = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("help: a line typed alone waits for more lines");
        let answer: serde_json::Value = serde_json::from_str(&answer).expect("a JSON answer");
        assert_eq!(answer["question"], question);
    }
    drop(stdin);
    assert!(child.wait().expect("exit").success());
    reader.join().expect("reader");
}

/// Issue 11: when the reader goes away, the batch ends although stdin is still open (the
/// threads answering do not wait for more lines).
#[test]
fn batch_mode_stops_when_the_reader_goes_away_with_stdin_open() {
    use std::io::BufRead as _;
    let mut child = spawn_ask(&["--json", "--jobs", "2"]);
    let mut stdin = child.stdin.take().expect("stdin");
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    // Questions enough that answers are still being written after the reader has gone, then
    // stdin held open until the test ends.
    let writer = std::thread::spawn(move || {
        for _ in 0..200 {
            if stdin.write_all("小店房租能减免吗\n".as_bytes()).is_err() {
                break;
            }
        }
        let _ = done_rx.recv();
        drop(stdin);
    });
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("first answer");
    assert!(first.contains("\"status\""), "{first}");
    drop(stdout);
    // A later answer meets the closed pipe; stdin (held by the writer) does not end.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("child state") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "help: the batch still runs 30 s after its reader left"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let _ = done_tx.send(());
    writer.join().expect("writer");
    assert_eq!(status.code(), Some(0));
}

/// Issue 9: every subcommand writes its output through one writer, so a reader that is gone
/// before the first line (stdout closed, as `policybot … | head -0` or a consumer that died) ends
/// the command quietly: exit 0 and no panic text, where `println!` panicked (exit 101).
#[test]
fn every_subcommand_stops_quietly_when_its_reader_is_gone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let questions = tmp.path().join("two.jsonl");
    let gold = std::fs::read_to_string(root().join("tests/data/gold.jsonl")).expect("gold");
    let two: Vec<&str> = gold.lines().take(2).collect();
    std::fs::write(&questions, two.join("\n")).expect("write");
    let eval_file = questions.to_str().expect("utf-8 path");
    let runs: [(&[&str], &str); 4] = [
        (&["index"], ""),
        (&["ask", "小店房租能减免吗"], ""),
        (&["eval", eval_file], ""),
        (&["chat"], "小店房租能减免吗\n"),
    ];
    for (args, input) in runs {
        let mut child = Command::new(env!("CARGO_BIN_EXE_policybot"))
            .current_dir(root())
            .env_remove("REDIS_URL")
            .env("POLICYBOT_INDEX_DIR", shared_index())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("binary runs");
        // The reader goes away before anything is written.
        drop(child.stdout.take());
        let mut stdin = child.stdin.take().expect("stdin");
        let _ = stdin.write_all(input.as_bytes());
        drop(stdin);
        let out = child.wait_with_output().expect("binary finishes");
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

/// Issue 9: an unknown region is bad input (exit 1, as the README says), echoed without raw
/// control characters.
#[test]
fn unknown_region_is_bad_input_and_not_echoed_raw() {
    let out = policybot(
        shared_index(),
        &["ask", "--region", "火星\u{1b}[31m", "贷款"],
        None,
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("未知地区"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "no raw control characters: {err:?}"
    );
}

/// Issue 10 (#10): in `chat`, typing a follow-up's label (`全文 1`) does what the label says, as
/// its number does: the clause's citation and full text, not a new search for "全文 1".
#[test]
fn chat_typed_label_shows_the_full_text_like_its_number() {
    let by_label = policybot(
        shared_index(),
        &["chat"],
        Some("小店房租能减免吗\n全文 1\n/quit\n"),
    );
    let by_label = text(&by_label.stdout);
    let shown = by_label.split("> ").nth(2).expect("second reply");
    assert!(shown.starts_with("《"), "help: citation first: {shown}");
    assert!(
        !shown.contains("回复编号继续"),
        "help: not a new answer: {shown}"
    );
    let first = by_label.split("> ").nth(1).expect("first reply");
    let n = first
        .lines()
        .find_map(|l| {
            l.strip_suffix("全文 1")?
                .strip_prefix("（")?
                .strip_suffix("）")
        })
        .expect("全文 1 offered");
    let by_number = policybot(
        shared_index(),
        &["chat"],
        Some(&format!("小店房租能减免吗\n{n}\n/quit\n")),
    );
    assert_eq!(text(&by_number.stdout), by_label);
}

/// Issue 10 (#10): `/region 火星` in `chat` is refused like `--region 火星`, naming the known
/// places, instead of being stored as typed and silently ignored.
#[test]
fn chat_refuses_an_unknown_region_like_the_flag() {
    let out = policybot(
        shared_index(),
        &["chat"],
        Some("/region 火星\n/region 安阳\n/quit\n"),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("未知地区“火星”，可选：") && stdout.contains("安阳"),
        "{stdout}"
    );
    assert!(stdout.contains("地区已设为：安阳"), "{stdout}");
    assert!(!stdout.contains("地区已设为：火星"), "{stdout}");
    let flag = policybot(
        shared_index(),
        &["chat", "--region", "火星"],
        Some("/quit\n"),
    );
    assert_eq!(flag.status.code(), Some(1));
    assert!(text(&flag.stderr).contains("未知地区“火星”，可选："));
}

#[test]
fn missing_data_dir_is_one_line_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = policybot(
        dir.path(),
        &["--data-dir", "/nonexistent/policybot-data", "ask", "贷款"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("/nonexistent/policybot-data") && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn binary_data_file_is_rejected_by_name() {
    let data = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(data.path().join("compendium")).expect("mkdir");
    std::fs::write(
        data.path().join("compendium/broken.txt"),
        [0xff, 0xfe, 0x00, 0x81],
    )
    .expect("write");
    let lexicon = data.path().join("lexicon");
    std::fs::create_dir_all(&lexicon).expect("mkdir");
    for f in std::fs::read_dir(root().join("data/lexicon")).expect("lexicon") {
        let f = f.expect("entry").path();
        std::fs::copy(&f, lexicon.join(f.file_name().expect("name"))).expect("copy");
    }
    let index = tempfile::tempdir().expect("tempdir");
    let data_arg = data.path().to_string_lossy().into_owned();
    let out = policybot(
        index.path(),
        &["--data-dir", &data_arg, "ask", "贷款"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("broken.txt"), "{err}");
}

#[test]
fn index_rebuilds_when_data_changes() {
    let data = tempfile::tempdir().expect("tempdir");
    for sub in ["compendium", "lexicon"] {
        let to = data.path().join(sub);
        std::fs::create_dir_all(&to).expect("mkdir");
        for f in std::fs::read_dir(root().join("data").join(sub)).expect("read") {
            let f = f.expect("entry").path();
            std::fs::copy(&f, to.join(f.file_name().expect("name"))).expect("copy");
        }
    }
    let index = tempfile::tempdir().expect("tempdir");
    let data_arg = data.path().to_string_lossy().into_owned();
    let first = policybot(index.path(), &["--data-dir", &data_arg, "index"], None);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(
        text(&first.stderr).contains("已建立索引"),
        "first run builds"
    );
    let again = policybot(index.path(), &["--data-dir", &data_arg, "index"], None);
    assert!(
        !text(&again.stderr).contains("已建立索引"),
        "unchanged data reuses the index"
    );
    std::fs::write(
        data.path().join("compendium/zz-new-notice.txt"),
        "关于支持奶茶店发展的通知\n\n测试〔2022〕1号\n\n各单位：\n\n一、对奶茶店给予每户5000元开业补贴。\n",
    )
    .expect("write");
    let rebuilt = policybot(
        index.path(),
        &["--data-dir", &data_arg, "ask", "奶茶店开业补贴", "--json"],
        None,
    );
    assert!(
        text(&rebuilt.stderr).contains("已建立索引"),
        "changed data rebuilds"
    );
    assert!(
        text(&rebuilt.stdout).contains("奶茶店"),
        "new notice answerable: {}",
        text(&rebuilt.stdout)
    );
}

#[test]
fn bench_reports_every_stage_the_handler_path_and_the_build() {
    let dir = super::kb::scratch("bench-questions");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let file = dir.join("q.txt");
    std::fs::write(&file, "小店房租能减免吗\n\n安阳这边上市有奖励没\n").expect("write questions");
    let file = file.to_string_lossy().into_owned();
    let args = [
        "bench",
        &file,
        "--repeat",
        "1",
        "--seconds",
        "0.2",
        "--start-runs",
        "1",
        "--json",
    ];
    let out = policybot(shared_index(), &args, None);
    assert!(out.status.success(), "bench runs: {}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON report");
    assert_eq!(report["questions"], 2, "blank lines are not questions");
    let stages: Vec<&str> = report["warm"]
        .as_array()
        .expect("warm rows")
        .iter()
        .map(|r| r["stage"].as_str().expect("stage name"))
        .collect();
    assert_eq!(
        stages,
        ["segment", "search", "rerank", "compose", "render", "total"]
    );
    for row in report["warm"].as_array().expect("warm rows") {
        assert!(row["p50_ms"].as_f64().expect("p50") > 0.0, "{row}");
    }
    let workers: Vec<u64> = report["handler"]
        .as_array()
        .expect("handler runs")
        .iter()
        .inspect(|t| assert!(t["answers"].as_u64().expect("answers") > 0, "{t}"))
        .map(|t| t["workers"].as_u64().expect("workers"))
        .collect();
    assert_eq!(workers, [1, 2, 16]);
    assert_eq!(
        report["session_store"], "memory",
        "no REDIS_URL in the test"
    );
    assert!(report["build_ms"].as_f64().expect("build time") > 0.0);
    assert!(
        report["batch_ms_per_question"]
            .as_f64()
            .expect("batch time")
            > 0.0
    );
    assert!(report["start_to_first_answer_ms"].as_f64().expect("start") > 0.0);
}
