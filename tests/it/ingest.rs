//! `policybot ingest` end to end on a temporary copy of the bundled data: added, unchanged,
//! changed and rejected files, the live generation, answers from a fresh and a reloaded app, and a
//! running `serve` (fake Bot API) that picks up an ingested notice without a restart.

use std::fs;
use std::path::Path;

use policybot::app::{App, AskOptions};
use policybot::index::Paths;
use policybot::ingest::{IngestError, Outcome, Rejection};
use policybot::session::Session;

use super::kb::{config, root};
use super::support::files::{self, copy_dir, docx, word_xml};

const NOTICE: &str = "安阳市人民政府办公室
关于发放中小企业算力券的通知
安政办〔2024〕99号

各县（市、区）人民政府，市人民政府各部门：
为支持中小企业数字化转型，现就发放算力券有关事项通知如下。
一、发放对象。在本市登记注册的中小微企业，可申领算力券。
二、补贴标准。每家企业每年最高可获得20万元算力券，用于购买云计算和算力服务。
三、申领方式。企业通过惠企服务平台提交申请，由市工业和信息化局审核后发放算力券。
责任单位：市工业和信息化局

安阳市人民政府办公室
2024年5月10日
";

const DOCX_NOTICE: &str = "安阳市商务局
关于支持跨境电商海外仓建设的通知
安商〔2024〕12号
一、支持对象。在本市注册的跨境电商企业。
二、补贴标准。对新建海外仓给予最高50万元一次性补贴。
安阳市商务局
2024年6月1日";

/// A minimal `.docx`: one paragraph per line of `text`.
fn word_document(text: &str) -> Vec<u8> {
    docx(&word_xml(text.lines()))
}

const QUESTION: &str = "算力券怎么申领";

fn current(index_dir: &Path) -> String {
    fs::read_to_string(index_dir.join("CURRENT")).expect("CURRENT")
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Title of the top hit for `question`.
fn top(app: &App, question: &str) -> String {
    let answer = app.ask(question, &mut Session::default(), &AskOptions::default());
    answer
        .hits
        .first()
        .map(|h| h.doc_title.clone())
        .unwrap_or_default()
}

/// Whether a clause of the app's knowledge base contains `needle`.
fn knows(app: &App, needle: &str) -> bool {
    app.kb()
        .corpus
        .clauses
        .iter()
        .any(|c| c.text.contains(needle))
}

#[test]
fn ingest_adds_replaces_and_rejects_while_an_app_reloads() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    copy_dir(&root().join("data/compendium"), &data.join("compendium"));
    copy_dir(&root().join("data/lexicon"), &data.join("lexicon"));
    let index_dir = tmp.path().join("index");
    let mut cfg = config(index_dir.clone());
    cfg.data_dir.clone_from(&data);
    let paths = Paths {
        data_dir: data.clone(),
        index_dir: index_dir.clone(),
    };
    let compendium = data.join("compendium");
    let (running, _) =
        App::load(&cfg, false, &mut |_, _| {}, &mut || {}).expect("bundled data loads");
    assert!(!running.reload().expect("reload"), "nothing new yet");
    assert!(!top(&running, QUESTION).contains("算力券"), "not known yet");

    // A new notice is added, stored and answerable.
    let incoming = tmp.path().join("in");
    fs::create_dir_all(&incoming).expect("mkdir");
    let notice = incoming.join("suanli.txt");
    fs::write(&notice, NOTICE).expect("write");
    let report =
        files::ingest(&paths, std::slice::from_ref(&notice), &Default::default()).expect("ingest");
    let file = &report.files[0];
    assert_eq!(file.stored_as.as_deref(), Some("suanli.txt"));
    assert!(
        file.documents.iter().any(|d| d.outcome == Outcome::Added
            && d.doc_number.as_deref() == Some("安政办〔2024〕99号"))
    );
    assert!(report.rebuilt.as_ref().is_some_and(|r| r.built));
    assert_eq!(
        fs::read_to_string(compendium.join("suanli.txt")).expect("stored"),
        NOTICE
    );

    let (fresh, open) = App::load(&cfg, false, &mut |_, _| {}, &mut || {}).expect("load");
    assert!(!open.built, "ingest already built the live generation");
    let title = top(&fresh, QUESTION);
    assert!(title.contains("算力券"), "fresh app top hit: {title}");
    assert!(running.reload().expect("reload"), "running app swaps");
    assert!(!running.reload().expect("reload"), "only once");
    let title = top(&running, QUESTION);
    assert!(title.contains("算力券"), "reloaded app top hit: {title}");
    assert!(knows(&running, "20万元算力券"));

    // Questions keep being answered while the knowledge base is swapped under them.
    let docx = incoming.join("kuajing.docx");
    fs::write(&docx, word_document(DOCX_NOTICE)).expect("write");
    let report =
        files::ingest(&paths, std::slice::from_ref(&docx), &Default::default()).expect("ingest");
    assert_eq!(report.files[0].stored_as.as_deref(), Some("kuajing.txt"));
    assert!(
        report.files[0]
            .documents
            .iter()
            .any(|d| d.outcome == Outcome::Added)
    );
    let answered = std::thread::scope(|s| {
        let asking = s.spawn(|| {
            (0..20)
                .filter(|_| top(&running, QUESTION).contains("算力券"))
                .count()
        });
        assert!(running.reload().expect("reload"));
        asking.join().expect("asking thread")
    });
    assert_eq!(answered, 20, "every question answered during the swap");
    assert!(top(&running, "跨境电商海外仓补贴").contains("跨境电商"));
    let generation = current(&index_dir);

    // The same file again changes nothing.
    let gens = listing(&index_dir);
    let report =
        files::ingest(&paths, std::slice::from_ref(&notice), &Default::default()).expect("ingest");
    assert!(report.rebuilt.is_none());
    assert_eq!(report.files[0].stored_as, None);
    assert!(
        report.files[0]
            .documents
            .iter()
            .all(|d| d.outcome == Outcome::Unchanged)
    );
    assert_eq!(current(&index_dir), generation);
    assert_eq!(listing(&index_dir), gens);
    assert!(!running.reload().expect("reload"));

    // A new version with the same 文号 replaces the old file.
    let v2 = incoming.join("suanli-v2.txt");
    fs::write(&v2, NOTICE.replace("20万元", "30万元")).expect("write");
    let report =
        files::ingest(&paths, std::slice::from_ref(&v2), &Default::default()).expect("ingest");
    let file = &report.files[0];
    assert!(file.documents.iter().any(|d| d.outcome == Outcome::Changed));
    assert_eq!(file.replaced, vec!["suanli.txt".to_string()]);
    assert_eq!(file.stored_as.as_deref(), Some("suanli-v2.txt"));
    assert!(!compendium.join("suanli.txt").exists());
    assert_ne!(current(&index_dir), generation);
    assert!(running.reload().expect("reload"));
    let title = top(&running, "算力券补贴标准是多少");
    assert!(title.contains("算力券"), "new text answers: {title}");
    assert!(knows(&running, "30万元算力券"));
    assert!(!knows(&running, "20万元算力券"), "the old text is gone");

    // Broken files are rejected and nothing changes.
    let generation = current(&index_dir);
    let files = listing(&compendium);
    let empty = incoming.join("empty.txt");
    fs::write(&empty, " \n\n").expect("write");
    let binary = incoming.join("binary.txt");
    fs::write(&binary, [0x89, b'P', b'N', b'G', 0, 0xff, 0xfe, 1, 2]).expect("write");
    let prose = incoming.join("prose.md");
    fs::write(&prose, "今天天气很好。\n我们去公园散步。\n").expect("write");
    let docx = incoming.join("notice.docx");
    fs::write(&docx, b"PK\x03\x04").expect("write");
    let kind = |r: &Rejection| match r {
        Rejection::Empty { .. } => "empty",
        Rejection::Binary { .. } => "binary",
        Rejection::NoDocument { .. } => "no document",
        Rejection::Docx { .. } => "docx",
        _ => "other",
    };
    let cases = [
        (&empty, "empty"),
        (&binary, "binary"),
        (&prose, "no document"),
        (&docx, "docx"),
    ];
    for (path, expected) in cases {
        match files::ingest(&paths, &[path.clone(), notice.clone()], &Default::default()) {
            Err(IngestError::Rejected(rs)) => {
                assert_eq!(rs.len(), 1, "{}: {rs:?}", path.display());
                assert_eq!(kind(&rs[0]), expected, "{}", path.display());
                assert!(!rs[0].to_string().contains('\n'), "one line");
            }
            other => panic!("{} not rejected: {other:?}", path.display()),
        }
        assert_eq!(current(&index_dir), generation);
        assert_eq!(listing(&compendium), files);
    }
    assert!(!running.reload().expect("reload"));
}

/// Kills the `serve` child when the test ends, however it ends.
struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_serve_answers_from_an_ingested_notice_without_restart() {
    use super::fake_bot_api::{FakeBotApi, TOKEN, private};
    use std::process::{Command, Stdio};
    use std::time::Duration;

    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    copy_dir(&root().join("data/compendium"), &data.join("compendium"));
    copy_dir(&root().join("data/lexicon"), &data.join("lexicon"));
    let index_dir = tmp.path().join("index");
    let policybot = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_policybot"));
        cmd.current_dir(tmp.path())
            .env_remove("REDIS_URL")
            .env("POLICYBOT_DATA_DIR", &data)
            .env("POLICYBOT_INDEX_DIR", &index_dir)
            .env("POLICYBOT_INTENTS_DIR", root().join("intents"))
            .args(args);
        cmd
    };
    let built = policybot(&["index"]).output().expect("index runs");
    assert!(built.status.success());

    let api = FakeBotApi::start().await;
    let child = policybot(&["serve"])
        .env("POLICYBOT_RELOAD_POLL_MS", "100")
        .env("TELOXIDE_TOKEN", TOKEN)
        .env("TELOXIDE_API_URL", api.url().as_str())
        .stdout(fs::File::create(tmp.path().join("serve.log")).expect("log file"))
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let _serving = Serving(child);
    let replies = |api: &FakeBotApi| -> Vec<String> {
        api.ok_calls("sendMessage")
            .iter()
            .map(|b| b["text"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    api.push(private(7, QUESTION));
    api.wait_for("sendMessage", 1, Duration::from_secs(60))
        .await;
    let before = replies(&api);
    let log = || fs::read_to_string(tmp.path().join("serve.log")).unwrap_or_default();
    assert_eq!(before.len(), 1, "one reply: {before:?}\n{}", log());
    assert!(
        !before[0].contains("关于发放中小企业算力券的通知"),
        "not known yet"
    );

    let notice = tmp.path().join("suanli.txt");
    fs::write(&notice, NOTICE).expect("write");
    let mut ingest = policybot(&["ingest", notice.to_str().expect("utf-8 path")]);
    let out = tokio::task::spawn_blocking(move || ingest.output())
        .await
        .expect("join")
        .expect("ingest runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Keep asking; every question is answered, and within a few reload polls (100 ms here) the
    // answer cites the notice.
    let mut asked = 1;
    let found = loop {
        api.push(private(7, QUESTION));
        asked += 1;
        api.wait_for("sendMessage", asked, Duration::from_secs(30))
            .await;
        let all = replies(&api);
        assert_eq!(all.len(), asked, "every question gets one reply");
        if all[asked - 1].contains("关于发放中小企业算力券的通知") {
            break true;
        }
        if asked > 50 {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        found,
        "serve picked up the new generation: {:?}",
        replies(&api).last()
    );
}

#[test]
fn a_changed_notice_inside_a_compendium_replaces_the_old_copy() {
    // A document with a 文号 printed in a bundled compendium that holds other documents too.
    let bundled = super::kb::app().kb();
    let docs = &bundled.corpus.documents;
    let old = docs
        .iter()
        .find(|d| {
            d.doc_number.is_some()
                && d.parent.is_none()
                && d.sources.first().is_some_and(|s| {
                    docs.iter()
                        .filter(|o| o.sources.first().is_some_and(|t| t.file == s.file))
                        .count()
                        > 1
                })
        })
        .expect("a numbered document in a compendium");
    let number = old.doc_number.clone().expect("文号");
    let new_text = format!(
        "{}\n{}\n{number}\n\n一、修订内容。首次参加本试点的企业可获得一次性奖励88万元。\n二、施行时间。本通知自2024年7月1日起施行。\n",
        old.issuer.clone().unwrap_or_default(),
        old.title
    );

    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    copy_dir(&root().join("data/compendium"), &data.join("compendium"));
    copy_dir(&root().join("data/lexicon"), &data.join("lexicon"));
    let paths = Paths {
        data_dir: data.clone(),
        index_dir: tmp.path().join("index"),
    };
    let revised = tmp.path().join("revised.txt");
    fs::write(&revised, &new_text).expect("write");
    let report =
        files::ingest(&paths, std::slice::from_ref(&revised), &Default::default()).expect("ingest");
    let doc = report.files[0]
        .documents
        .iter()
        .find(|d| d.doc_number.as_deref() == Some(number.as_str()))
        .expect("reported");
    assert_eq!(doc.outcome, Outcome::Changed);
    assert!(!doc.old_kept_in.is_empty(), "the compendium is kept");
    let (kb, _) = policybot::index::KnowledgeBase::open(&paths, false, &mut |_, _| {}, &mut || {})
        .expect("opens");
    let versions: Vec<usize> = kb
        .corpus
        .documents
        .iter()
        .enumerate()
        .filter(|(_, d)| d.doc_number.as_deref() == Some(number.as_str()))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(versions.len(), 1, "one version of {number} indexed");
    let text: String = kb
        .corpus
        .clauses
        .iter()
        .filter(|c| c.doc == versions[0])
        .map(|c| c.text.as_str())
        .collect();
    assert!(text.contains("一次性奖励88万元"), "the new text: {text}");

    // Ingesting the same revision again changes nothing.
    let again =
        files::ingest(&paths, std::slice::from_ref(&revised), &Default::default()).expect("ingest");
    assert!(again.rebuilt.is_none());
    assert_eq!(again.files[0].documents[0].outcome, Outcome::Unchanged);
}
