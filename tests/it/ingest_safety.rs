//! Issue 9 (nothing lost, nothing exhausted), ingest side, with real processes
//! and files: hostile inputs refused in one line with data and index unchanged (limits, FIFO,
//! long names), the build lock (two simultaneous ingests lose nothing; a killed holder does not
//! block; `ask` does not rebuild while an ingest holds the lock, and says once that it waits when
//! there is no index to answer from).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use policybot::index::{KnowledgeBase, Paths};
use policybot::ingest::{IngestError, Limits, Rejection};

use super::kb::root;
use super::support::files::{self, docx, word_xml};

const NOTICE: &str = "安阳市人民政府办公室
关于发放中小企业算力券的通知
安政办〔2024〕99号

一、发放对象。在本市登记注册的中小微企业，可申领算力券。
二、补贴标准。每家企业每年最高可获得20万元算力券，用于购买云计算和算力服务。
三、申领方式。企业通过惠企服务平台提交申请，由市工业和信息化局审核后发放算力券。

安阳市人民政府办公室
2024年5月10日
";

/// A small data directory (one notice, the bundled lexicon) and an index directory.
struct Site {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    paths: Paths,
}

impl Site {
    fn new() -> Site {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().to_path_buf();
        let data = root.join("data");
        fs::create_dir_all(data.join("compendium")).expect("mkdir");
        fs::write(data.join("compendium/base.txt"), NOTICE).expect("write");
        fs::create_dir_all(data.join("lexicon")).expect("mkdir");
        for e in fs::read_dir(super::kb::root().join("data/lexicon"))
            .expect("lexicon")
            .flatten()
        {
            fs::copy(e.path(), data.join("lexicon").join(e.file_name())).expect("copy");
        }
        let paths = Paths {
            data_dir: data,
            index_dir: root.join("index"),
        };
        Site {
            _tmp: tmp,
            root,
            paths,
        }
    }

    fn policybot(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_policybot"));
        cmd.current_dir(&self.root)
            .env_remove("REDIS_URL")
            .env("POLICYBOT_DATA_DIR", &self.paths.data_dir)
            .env("POLICYBOT_INDEX_DIR", &self.paths.index_dir)
            .env("POLICYBOT_INTENTS_DIR", root().join("intents"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Everything under the data and index directories with sizes (the lock file aside).
    fn snapshot(&self) -> Vec<(String, u64)> {
        fn walk(dir: &Path, out: &mut Vec<(String, u64)>) {
            for e in fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if !p.ends_with("build.lock") {
                    out.push((p.display().to_string(), e.metadata().map_or(0, |m| m.len())));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.paths.data_dir, &mut out);
        walk(&self.paths.index_dir, &mut out);
        out.sort();
        out
    }

    fn input(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let dir = self.root.join("in");
        fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join(name);
        fs::write(&path, bytes).expect("write input");
        path
    }

    /// 文号 of the documents of the live index.
    fn indexed_numbers(&self) -> Vec<String> {
        let (kb, _) =
            KnowledgeBase::open(&self.paths, false, &mut |_, _| {}, &mut || {}).expect("opens");
        kb.corpus
            .documents
            .iter()
            .filter_map(|d| d.doc_number.clone())
            .collect()
    }
}

/// Waits for `child` at most `limit`; kills it and fails when it takes longer.
fn finish(mut child: Child, limit: Duration, what: &str) -> Output {
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("{what} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn hostile_files_are_refused_in_one_line_and_change_nothing() {
    let site = Site::new();
    let built = site.policybot(&["index"]).output().expect("index");
    assert!(built.status.success(), "{}", stderr(&built));
    let before = site.snapshot();

    // Through the binary, with small limits from the environment.
    let fifo = site.root.join("in-fifo.txt");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let big = site.input("big.txt", NOTICE.repeat(20));
    let chinese = word_xml((0..400).map(|i| format!("第{i}段中文内容")));
    let bomb = site.input("bomb.docx", docx(&chinese));
    let lines = site.input("lines.txt", format!("{NOTICE}{}", "。\n".repeat(40)));
    let cases: [(&Path, &str); 4] = [
        (&fifo, "不是普通文件"),
        (&big, "文件过大"),
        (&bomb, "Word 文档内容（XML）过大"),
        (&lines, "行数过多"),
    ];
    for (path, needle) in cases {
        let child = site
            .policybot(&["ingest", "--no-announce", path.to_str().expect("utf-8")])
            .env("POLICYBOT_INGEST_MAX_FILE_BYTES", "4000")
            .env("POLICYBOT_INGEST_MAX_DOCX_XML_BYTES", "5001")
            .env("POLICYBOT_INGEST_MAX_LINES", "30")
            .spawn()
            .expect("ingest runs");
        let out = finish(child, Duration::from_secs(60), "ingest");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{}: {err}", path.display());
        let line = err
            .lines()
            .find(|l| l.contains("拒绝导入"))
            .expect("rejection line");
        assert!(line.contains(needle), "{}: {err}", path.display());
        assert_eq!(
            site.snapshot(),
            before,
            "{}: nothing changed",
            path.display()
        );
    }

    // The limits on parsed files, through the library.
    let limits = Limits {
        max_documents: 1,
        max_file_clauses: 20,
        max_total_clauses: 40,
        max_clause_chars: 1_000,
        ..Limits::default()
    };
    let two_docs = format!(
        "{NOTICE}\n{}",
        NOTICE.replace("99号", "98号").replace("算力券", "数据券")
    );
    let many: String = (1..=30)
        .map(|i| format!("{i}. 对小微企业给予第{i}档贷款贴息支持。\n"))
        .collect();
    let numbered = |n: usize| format!("关于支持小微企业的若干措施\n安政〔2024〕{n}号\n\n{many}");
    let long: String = (0..100)
        .map(|i| format!("This is line {i} of an endless sentence without any stop at all here\n"))
        .collect();
    let cases = [
        (site.input("two.txt", two_docs), "TooManyDocuments"),
        (site.input("many.txt", numbered(1)), "TooManyClauses"),
        (
            site.input(
                "long.txt",
                format!(
                    "{}{long}",
                    numbered(2).lines().take(3).collect::<Vec<_>>().join("\n") + "\n"
                ),
            ),
            "ClauseTooLong",
        ),
    ];
    for (path, expected) in cases {
        match files::ingest(&site.paths, std::slice::from_ref(&path), &limits) {
            Err(IngestError::Rejected(rs)) => {
                assert_eq!(rs.len(), 1, "{rs:?}");
                assert!(
                    format!("{:?}", rs[0]).starts_with(expected),
                    "{expected}: {:?}",
                    rs[0]
                );
                assert!(!rs[0].to_string().contains('\n'), "one line: {}", rs[0]);
            }
            other => panic!("{} not rejected: {other:?}", path.display()),
        }
        assert_eq!(
            site.snapshot(),
            before,
            "{}: nothing changed",
            path.display()
        );
    }
    // The total: 25 clauses per file are fine alone, not on top of what is there.
    let tight = Limits {
        max_file_clauses: 100,
        max_total_clauses: 28,
        ..limits
    };
    let twenty_five: String = (1..=25)
        .map(|i| format!("{i}. 对小微企业给予第{i}档贷款贴息支持。\n"))
        .collect();
    let total = site.input(
        "total.txt",
        format!("关于支持小微企业的若干措施\n安政〔2024〕3号\n\n{twenty_five}"),
    );
    match files::ingest(&site.paths, std::slice::from_ref(&total), &tight) {
        Err(IngestError::Rejected(rs)) => {
            assert!(
                matches!(rs[0], Rejection::TooManyTotalClauses { .. }),
                "{rs:?}"
            )
        }
        other => panic!("not rejected: {other:?}"),
    }
    assert_eq!(site.snapshot(), before);

    // A 250-character name is stored (shortened) and indexed.
    let name = format!("{}.txt", "n".repeat(246));
    let long_name = site.input(&name, NOTICE.replace("99号", "97号"));
    let report =
        files::ingest(&site.paths, &[long_name], &Limits::default()).expect("a long name is fine");
    let stored = report.files[0].stored_as.clone().expect("stored");
    assert!(stored.len() < 100, "{stored}");
    assert!(
        site.indexed_numbers()
            .contains(&"安政办〔2024〕97号".to_string())
    );
}

#[test]
fn two_simultaneous_ingests_of_the_same_file_name_lose_nothing() {
    let site = Site::new();
    let built = site.policybot(&["index"]).output().expect("index");
    assert!(built.status.success(), "{}", stderr(&built));
    // The bar is 50 runs: `INGEST_RACE_RUNS=50 cargo test --release --test it two_simultaneous`.
    let runs: usize = std::env::var("INGEST_RACE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    for run in 0..runs {
        let numbers = [
            format!("安政办〔2025〕{}号", 2 * run + 1),
            format!("安政办〔2025〕{}号", 2 * run + 2),
        ];
        let children: Vec<Child> = numbers
            .iter()
            .enumerate()
            .map(|(k, number)| {
                let dir = site.root.join(format!("run{run}-{k}"));
                fs::create_dir_all(&dir).expect("mkdir");
                let path = dir.join("notice.txt");
                fs::write(&path, NOTICE.replace("安政办〔2024〕99号", number)).expect("write");
                site.policybot(&["ingest", "--no-announce", path.to_str().expect("utf-8")])
                    .spawn()
                    .expect("ingest runs")
            })
            .collect();
        for child in children {
            let out = finish(child, Duration::from_secs(120), "ingest");
            assert!(out.status.success(), "run {run}: {}", stderr(&out));
        }
        let indexed = site.indexed_numbers();
        for number in &numbers {
            assert!(
                indexed.contains(number),
                "run {run}: {number} lost; indexed {indexed:?}"
            );
        }
    }
}

/// Issue 9: with no index yet and the build lock held by another process, `ask` waits for it
/// and says so once on stderr, naming the index directory's lock; then builds and answers.
#[test]
fn ask_waiting_for_the_build_lock_says_so_once() {
    let site = Site::new();
    let lock = policybot::index::BuildLock::try_acquire(&site.paths.index_dir)
        .expect("lock")
        .expect("free");
    let mut ask = site
        .policybot(&["ask", "算力券怎么申领"])
        .spawn()
        .expect("ask runs");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        ask.try_wait().expect("wait").is_none(),
        "help: ask did not wait for the lock"
    );
    drop(lock);
    let out = finish(ask, Duration::from_secs(60), "ask");
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("算力券"));
    let waiting: Vec<&str> = err.lines().filter(|l| l.contains("等待")).collect();
    assert_eq!(waiting.len(), 1, "help: one line: {err}");
    let dir = site.paths.index_dir.display().to_string();
    assert!(
        waiting[0].contains(&dir) && waiting[0].contains("build.lock"),
        "help: names the lock: {}",
        waiting[0]
    );
}

#[test]
fn a_killed_lock_holder_does_not_block_and_ask_does_not_rebuild_meanwhile() {
    let site = Site::new();
    let built = site.policybot(&["index"]).output().expect("index");
    assert!(built.status.success(), "{}", stderr(&built));
    // Another process holds the build lock (as an ingest would).
    let lock = site.paths.index_dir.join("build.lock");
    // `-o`: the lock stays with `flock` itself, not with its `sleep` child.
    let mut holder = Command::new("flock")
        .arg("-o")
        .arg(&lock)
        .args(["sleep", "120"])
        .spawn()
        .expect("flock runs");
    let deadline = Instant::now() + Duration::from_secs(10);
    while policybot::index::BuildLock::try_acquire(&site.paths.index_dir)
        .expect("lock")
        .is_some()
    {
        assert!(Instant::now() < deadline, "flock took the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The data changes under it; `ask` answers from the live generation and builds nothing.
    fs::write(
        site.paths.data_dir.join("compendium/extra.txt"),
        NOTICE.replace("99号", "96号"),
    )
    .expect("write");
    let index_before: Vec<String> = fs::read_dir(&site.paths.index_dir)
        .expect("index dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let out = finish(
        site.policybot(&["ask", "算力券怎么申领"])
            .spawn()
            .expect("ask"),
        Duration::from_secs(60),
        "ask",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("算力券"));
    let mut index_after: Vec<String> = fs::read_dir(&site.paths.index_dir)
        .expect("index dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    index_after.sort();
    let mut index_before = index_before;
    index_before.sort();
    assert_eq!(index_after, index_before, "no build started");

    // An ingest waits for the lock, and goes ahead once its holder is killed.
    let input = site.input("later.txt", NOTICE.replace("99号", "95号"));
    let ingest = site
        .policybot(&["ingest", "--no-announce", input.to_str().expect("utf-8")])
        .spawn()
        .expect("ingest runs");
    std::thread::sleep(Duration::from_millis(1500));
    holder.kill().expect("kill -9 the holder");
    let _ = holder.wait();
    let out = finish(ingest, Duration::from_secs(60), "ingest");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("等待"),
        "it said it waited: {}",
        stderr(&out)
    );
    let indexed = site.indexed_numbers();
    for n in ["安政办〔2024〕95号", "安政办〔2024〕96号"] {
        assert!(indexed.contains(&n.to_string()), "{n}: {indexed:?}");
    }
}
