//! Issue 9 (nothing lost), the index side, with the real binary on a one-file copy of the data:
//! every kind of damage to a generation is found when it is opened and repaired by one rebuild,
//! with no panic; `index --force` builds and checks a new generation; a valid read-only index
//! opens without writing, a damaged one fails with one clear line; `/healthz` answers 503 until
//! the index has passed its self-test, 200 after.

use std::fs;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use policybot::index::BuildLock;
use policybot::index::store::{self, Manifest};

use super::fake_bot_api::{FakeBotApi, TOKEN, private};
use super::kb::root;
use super::support::files::copy_dir;
use super::support::redis::free_port;

/// The compendium file of the fixture (30 clauses: builds in about a second).
const FILE: &str = "linxia-2022-financial-relief-measures.txt";
/// A question of the fixture with a known best clause.
const QUESTION: &str = "专利权质押贷款贴息补助多少";
/// Heading of the clause that answers [`QUESTION`].
const SECTION: &str = "用好财政贴息政策";

/// A data directory with one compendium file, its index built once, and the answer to
/// [`QUESTION`] from the intact index.
struct Fixture {
    data: PathBuf,
    index: PathBuf,
    /// Clause id of the best hit for [`QUESTION`].
    clause: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        let data = dir.join("data");
        copy_dir(&root().join("data/lexicon"), &data.join("lexicon"));
        copy_dir(&root().join("data/model"), &data.join("model"));
        fs::create_dir_all(data.join("compendium")).expect("mkdir");
        fs::copy(
            root().join("data/compendium").join(FILE),
            data.join("compendium").join(FILE),
        )
        .expect("copy");
        let index = dir.join("index");
        let built = policybot(&data, &index, &["index"]);
        assert!(built.status.success(), "{}", text(&built.stderr));
        let answer = ask(&data, &index);
        assert!(answer.status.success(), "{}", text(&answer.stderr));
        let hit = &json(&answer)["hits"][0];
        assert!(
            hit["section"].as_str().is_some_and(|s| s.contains(SECTION)),
            "the fixture question finds its clause: {hit}"
        );
        let clause = hit["clause_id"].as_str().expect("clause id").to_string();
        Fixture {
            data,
            index,
            clause,
        }
    })
}

fn policybot(data: &Path, index: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_policybot"))
        .current_dir(root())
        .env_remove("REDIS_URL")
        .env("POLICYBOT_DATA_DIR", data)
        .env("POLICYBOT_INDEX_DIR", index)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("binary runs")
}

fn ask(data: &Path, index: &Path) -> Output {
    policybot(data, index, &["ask", QUESTION, "--json", "--k", "3"])
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(text(&out.stdout).trim()).expect("one JSON answer")
}

/// Live generation directory of `index`.
fn generation(index: &Path) -> PathBuf {
    let name = fs::read_to_string(index.join("CURRENT")).expect("CURRENT");
    index.join(name.trim())
}

/// The file of the live generation's single segment with extension `ext`.
fn segment_file(index: &Path, ext: &str) -> PathBuf {
    let tantivy = generation(index).join("tantivy");
    fs::read_dir(&tantivy)
        .expect("tantivy dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == ext))
        .unwrap_or_else(|| panic!("no .{ext} file in {}", tantivy.display()))
}

/// Flips the bits of a stretch in the middle of `path` (a third of it, at least 8 bytes).
fn garble(path: &Path) {
    let mut bytes = fs::read(path).expect("read");
    let start = bytes.len() / 3;
    let end = (start + (bytes.len() / 3).max(8)).min(bytes.len());
    for b in &mut bytes[start..end] {
        *b ^= 0x5a;
    }
    fs::write(path, bytes).expect("write");
}

/// Cuts `path` to half its length.
fn truncate(path: &Path) {
    let len = fs::metadata(path).expect("metadata").len();
    fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open")
        .set_len(len / 2)
        .expect("truncate");
}

/// Rewrites the live generation's manifest to match its files as they are now: damage done
/// before the manifest was written, which only the deeper checks can find.
fn resum(index: &Path) {
    let dir = generation(index);
    let mut manifest: Manifest = store::manifest(&dir).expect("manifest");
    manifest.files = store::file_sums(&dir).expect("sums");
    store::write_manifest(&dir, &manifest).expect("write manifest");
}

/// One way to damage an index, and what the repair line must mention.
struct Case {
    name: &'static str,
    damage: fn(&Path),
    reported: &'static str,
}

fn cases() -> Vec<Case> {
    macro_rules! case {
        ($name:expr, $reported:expr, $damage:expr) => {
            Case {
                name: $name,
                damage: $damage,
                reported: $reported,
            }
        };
    }
    vec![
        case!("garbled .idx", ".idx", |i| garble(&segment_file(i, "idx"))),
        case!("truncated .idx", ".idx", |i| truncate(&segment_file(
            i, "idx"
        ))),
        case!("garbled .term", ".term", |i| garble(&segment_file(
            i, "term"
        ))),
        case!("truncated .term", ".term", |i| truncate(&segment_file(
            i, "term"
        ))),
        case!("garbled .pos", ".pos", |i| garble(&segment_file(i, "pos"))),
        case!("truncated .pos", ".pos", |i| truncate(&segment_file(
            i, "pos"
        ))),
        case!("garbled .store", ".store", |i| garble(&segment_file(
            i, "store"
        ))),
        case!("truncated .store", ".store", |i| truncate(&segment_file(
            i, "store"
        ))),
        case!("garbled .fast", ".fast", |i| garble(&segment_file(
            i, "fast"
        ))),
        case!("truncated .fast", ".fast", |i| truncate(&segment_file(
            i, "fast"
        ))),
        case!("garbled .fieldnorm", ".fieldnorm", |i| garble(
            &segment_file(i, "fieldnorm")
        )),
        case!("truncated .fieldnorm", ".fieldnorm", |i| truncate(
            &segment_file(i, "fieldnorm")
        )),
        case!("missing .idx", ".idx", |i| fs::remove_file(segment_file(
            i, "idx"
        ))
        .expect("rm")),
        case!("missing .pos", ".pos", |i| fs::remove_file(segment_file(
            i, "pos"
        ))
        .expect("rm")),
        case!("garbled meta.json", "meta.json", |i| garble(
            &generation(i).join("tantivy/meta.json")
        )),
        case!("truncated meta.json", "meta.json", |i| truncate(
            &generation(i).join("tantivy/meta.json")
        )),
        case!("garbled .managed.json", ".managed.json", |i| garble(
            &generation(i).join("tantivy/.managed.json")
        )),
        case!("garbled manifest", "manifest", |i| garble(
            &generation(i).join("manifest.json")
        )),
        case!("truncated manifest", "manifest", |i| truncate(
            &generation(i).join("manifest.json")
        )),
        case!("missing manifest", "CURRENT", |i| fs::remove_file(
            generation(i).join("manifest.json")
        )
        .expect("rm")),
        case!("garbled corpus.json", "corpus.json", |i| garble(
            &generation(i).join("corpus.json")
        )),
        case!("CURRENT names no generation", "CURRENT", |i| fs::write(
            i.join("CURRENT"),
            "gen-gone"
        )
        .expect("write")),
        case!("CURRENT garbage", "CURRENT", |i| fs::write(
            i.join("CURRENT"),
            b"\0\xff../.."
        )
        .expect("write")),
        case!("garbled .idx under a matching manifest", "checksum", |i| {
            garble(&segment_file(i, "idx"));
            resum(i);
        }),
        case!("garbled .term under a matching manifest", "checksum", |i| {
            garble(&segment_file(i, "term"));
            resum(i);
        }),
        case!(
            "corpus.json that is not what was indexed",
            "self-test",
            |i| {
                let path = generation(i).join("corpus.json");
                let mut corpus: serde_json::Value =
                    serde_json::from_slice(&fs::read(&path).expect("read")).expect("corpus");
                corpus["clauses"][0]["text"] = "甲乙丙丁戊己庚辛".into();
                fs::write(&path, serde_json::to_vec(&corpus).expect("json")).expect("write");
                resum(i);
            }
        ),
    ]
}

/// Cases (one per kind of check that finds the damage) after which a second `ask` shows that
/// the repaired index is used as it is; the repair is the same build whatever the damage.
const RECHECKED: [&str; 4] = [
    "missing manifest",
    "garbled .idx",
    "garbled .idx under a matching manifest",
    "corpus.json that is not what was indexed",
];

/// Damages a copy of the fixture index one way, asks once: the answer is the intact index's
/// (one rebuild, reported in one line naming the damage, no panic); for [`RECHECKED`] cases
/// asks again: no rebuild.
fn repaired(case: &Case) -> Result<(), String> {
    let fx = fixture();
    let tmp = tempfile::tempdir().expect("tempdir");
    let index = tmp.path().join("index");
    copy_dir(&fx.index, &index);
    (case.damage)(&index);
    let first = ask(&fx.data, &index);
    let err = text(&first.stderr);
    let check = |ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(format!("{}: {what}\nstderr: {err}", case.name))
        }
    };
    check(!err.contains("panicked"), "no panic")?;
    check(first.status.success(), "ask succeeds")?;
    check(
        json(&first)["hits"][0]["clause_id"] == fx.clause.as_str(),
        "the known clause comes first",
    )?;
    let repairs: Vec<&str> = err.lines().filter(|l| l.contains("索引不可用")).collect();
    check(repairs.len() == 1, "one line says what was wrong")?;
    check(repairs[0].contains(case.reported), case.reported)?;
    check(err.matches("已建立索引").count() == 1, "one rebuild")?;
    if !RECHECKED.contains(&case.name) {
        return Ok(());
    }
    let second = ask(&fx.data, &index);
    let err = text(&second.stderr);
    check(
        second.status.success() && err.trim().is_empty(),
        "the next ask uses the repaired index as it is",
    )?;
    check(
        json(&second)["hits"][0]["clause_id"] == fx.clause.as_str(),
        "and answers the same",
    )
}

#[test]
fn every_kind_of_damage_is_repaired_by_one_rebuild_without_a_panic() {
    let started = Instant::now();
    let cases = cases();
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    let next = std::sync::atomic::AtomicUsize::new(0);
    fixture();
    assert!(RECHECKED.iter().all(|r| cases.iter().any(|c| c.name == *r)));
    let failures: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut failed = Vec::new();
                    loop {
                        let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(case) = cases.get(n) else {
                            return failed;
                        };
                        if let Err(e) = repaired(case) {
                            failed.push(e);
                        }
                    }
                })
            })
            .collect();
        runs.into_iter()
            .flat_map(|r| r.join().expect("worker"))
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!(
        "{} damaged indexes repaired in {:.1} s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn index_force_builds_and_checks_a_new_generation() {
    let fx = fixture();
    let tmp = tempfile::tempdir().expect("tempdir");
    let index = tmp.path().join("index");
    copy_dir(&fx.index, &index);
    let before = generation(&index);
    // A damaged generation of the same data: --force must not keep it.
    garble(&segment_file(&index, "term"));
    let forced = policybot(&fx.data, &index, &["index", "--force"]);
    let out = text(&forced.stdout);
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert!(out.contains("索引就绪"), "{out}");
    let after = generation(&index);
    assert_ne!(before, after, "a new generation");
    assert!(out.contains(&after.display().to_string()), "{out}");
    assert!(!before.exists(), "the old generation is removed");
    let answer = ask(&fx.data, &index);
    assert!(
        text(&answer.stderr).trim().is_empty(),
        "no rebuild after --force: {}",
        text(&answer.stderr)
    );
    assert_eq!(json(&answer)["hits"][0]["clause_id"], fx.clause.as_str());
    // Forced again on a valid index: yet another generation.
    let again = policybot(&fx.data, &index, &["index", "--force"]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_ne!(generation(&index), after);
}

/// Every path under `dir` with its length and modification time.
fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, i64)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for e in fs::read_dir(&d).expect("read dir").flatten() {
            let m = e.metadata().expect("metadata");
            if m.is_dir() {
                pending.push(e.path());
            }
            out.push((
                e.path(),
                m.len(),
                m.mtime_nsec() + m.mtime() * 1_000_000_000,
            ));
        }
    }
    out.sort();
    out
}

/// Makes everything under `dir` readable by anyone and writable by no one.
fn read_only(dir: &Path) {
    for (path, _, _) in snapshot(dir).into_iter().chain([(dir.to_path_buf(), 0, 0)]) {
        let m = fs::metadata(&path).expect("metadata");
        let mode = if m.is_dir() { 0o555 } else { 0o444 };
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
    }
}

/// The user id this test runs as (the owner of a file it creates).
fn uid() -> u32 {
    let probe = tempfile::NamedTempFile::new().expect("probe file");
    probe.as_file().metadata().expect("metadata").uid()
}

/// `policybot` as an unprivileged user when the tests run as root (root ignores file modes):
/// `nobody`, or `None` (skip) when this process may not change users.
fn as_unprivileged(data: &Path, index: &Path, args: &[&str]) -> Option<Output> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_policybot"));
    cmd.current_dir(root())
        .env_remove("REDIS_URL")
        .env("POLICYBOT_DATA_DIR", data)
        .env("POLICYBOT_INDEX_DIR", index)
        .args(args)
        .stdin(Stdio::null());
    if uid() == 0 {
        cmd.uid(65534).gid(65534);
    }
    match cmd.output() {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => None,
        Err(e) => panic!("binary runs: {e}"),
    }
}

fn skip(why: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!! SKIPPED read-only index test: {why}\n"
    );
}

#[test]
fn a_valid_read_only_index_opens_and_a_damaged_one_fails_clearly() {
    let fx = fixture();
    let tmp = tempfile::tempdir().expect("tempdir");
    // Readable by `nobody` when the test runs as root and hands the binary over to it.
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let data = tmp.path().join("data");
    copy_dir(&fx.data, &data);
    let index = tmp.path().join("index");
    copy_dir(&fx.index, &index);
    fs::remove_file(index.join("build.lock")).expect("no lock file to start with");
    let damaged = tmp.path().join("damaged");
    copy_dir(&fx.index, &damaged);
    garble(&segment_file(&damaged, "idx"));
    for dir in [&data, &index, &damaged] {
        read_only(dir);
    }
    // Root ignores file modes: then the binary runs as `nobody`; another user that can still
    // write (a capability) proves nothing.
    if uid() != 0 && fs::write(index.join("probe"), b"x").is_ok() {
        return skip("this user can write into a read-only directory");
    }
    let before = snapshot(&index);
    let Some(indexed) = as_unprivileged(&data, &index, &["index"]) else {
        return skip("running as root and cannot switch to an unprivileged user");
    };
    assert!(indexed.status.success(), "{}", text(&indexed.stderr));
    assert!(text(&indexed.stdout).contains("索引就绪"));
    let valid =
        as_unprivileged(&data, &index, &["ask", QUESTION, "--json", "--k", "3"]).expect("ran");
    assert!(valid.status.success(), "{}", text(&valid.stderr));
    assert!(
        text(&valid.stderr).trim().is_empty(),
        "{}",
        text(&valid.stderr)
    );
    assert_eq!(json(&valid)["hits"][0]["clause_id"], fx.clause.as_str());
    assert_eq!(snapshot(&index), before, "nothing written, no lock file");

    let failed = as_unprivileged(&data, &damaged, &["ask", QUESTION]).expect("ran");
    let err = text(&failed.stderr);
    assert_eq!(failed.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("must be rebuilt")
            && err.contains(".idx")
            && err.contains("cannot be written"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// Status code of `GET /healthz` on `port`, `None` while nothing listens.
fn healthz(port: u16) -> Option<u16> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .ok()?;
    let mut out = String::new();
    stream.read_to_string(&mut out).ok()?;
    out.split(' ').nth(1)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_503_until_the_repaired_index_passed_its_self_test() {
    let fx = fixture();
    let tmp = tempfile::tempdir().expect("tempdir");
    let index = tmp.path().join("index");
    copy_dir(&fx.index, &index);
    garble(&segment_file(&index, "term"));
    // An ingest under way: serve may not rebuild the damaged index until it is released.
    let lock = BuildLock::try_acquire(&index).expect("lock").expect("free");
    let api = FakeBotApi::start().await;
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_policybot"))
        .current_dir(tmp.path())
        .env_remove("REDIS_URL")
        .env("RUST_LOG", "info")
        .env("POLICYBOT_DATA_DIR", &fx.data)
        .env("POLICYBOT_INTENTS_DIR", root().join("intents"))
        .env("POLICYBOT_INDEX_DIR", &index)
        .env("POLICYBOT_HEALTH_LISTEN", format!("127.0.0.1:{port}"))
        .env("TELOXIDE_TOKEN", TOKEN)
        .env("TELOXIDE_API_URL", api.url().as_str())
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(fs::File::create(tmp.path().join("serve.err")).expect("err file"))
        .stdin(Stdio::null())
        .spawn()
        .expect("serve starts");
    let log = || fs::read_to_string(tmp.path().join("serve.err")).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut not_ready = 0;
    while not_ready < 10 {
        match healthz(port) {
            Some(503) => not_ready += 1,
            Some(other) => panic!("/healthz {other} while the index cannot be repaired"),
            None => assert!(Instant::now() < deadline, "health endpoint never up"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(lock);
    let deadline = Instant::now() + Duration::from_secs(60);
    while healthz(port) != Some(200) {
        assert!(Instant::now() < deadline, "never ready:\n{}", log());
        assert!(
            child.try_wait().expect("wait").is_none(),
            "serve exited:\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    api.push(private(42, QUESTION));
    let sent = api
        .wait_for("sendMessage", 1, Duration::from_secs(30))
        .await;
    let _ = child.kill();
    let _ = child.wait();
    let log = log();
    assert!(
        log.contains("索引不可用") && log.contains(".term"),
        "the repair is logged: {log}"
    );
    assert!(!log.contains("panicked"), "{log}");
    let reply = sent
        .first()
        .map(|m| m["text"].to_string())
        .unwrap_or_default();
    assert!(
        reply.contains(SECTION),
        "answered from the repaired index: {reply}"
    );
}
