//! Issue 12 (#12): `policybot review` end to end on a real Redis — the grouped report, JSON,
//! eval lines an editor labels and `eval` then scores (skipping the unlabelled ones), `--purge`
//! — and its exit status without Redis.

use std::process::{Command, Output};

use policybot::answer::Status;
use policybot::session::{
    ClauseRef, Feedback, LogPolicy, OperatorLog, RedisStore, SessionKey, Source, Unanswered,
};

use super::cli::{shared_index, text};
use super::kb::root;
use crate::support::redis::{TestRedis, unique_prefix};

/// `policybot ARGS` with `env` set and `REDIS_URL` only when given there.
pub fn policybot(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_policybot"));
    cmd.current_dir(root())
        .env_remove("REDIS_URL")
        .env("POLICYBOT_INDEX_DIR", shared_index())
        .envs(env.iter().copied())
        .args(args);
    cmd.output().expect("binary runs")
}

#[test]
fn review_without_redis_says_so_and_exits_2() {
    let out = policybot(&["review"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("REDIS_URL"),
        "{}",
        text(&out.stderr)
    );
    let out = policybot(&["review", "--since", "7"], &[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "help: a bad window is a usage error"
    );
    assert!(
        text(&out.stderr).contains("7d, 24h"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_groups_exports_for_labelling_and_purges() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    let prefix = unique_prefix("review");
    let store = RedisStore::connect(redis.url(), &prefix, std::time::Duration::from_secs(60))
        .await
        .expect("store")
        .with_logs(LogPolicy::default());
    let user = |user: u64| SessionKey { chat: 5, user };
    let clause = ClauseRef {
        id: "anyang-3".to_string(),
        title: "安阳市稳岗措施".to_string(),
    };
    for (who, q, status) in [
        (1, "外卖骑手有补贴吗", Status::NoMatch),
        (2, "外卖骑手有补贴吗？", Status::NoMatch),
        (3, "养猪场能贷款吗", Status::Related),
    ] {
        let clauses = match status {
            Status::Related => vec![clause.clone()],
            _ => Vec::new(),
        };
        let entry = Unanswered::new(q, status, Source::Private, clauses);
        store.record_unanswered(user(who), entry).await;
    }
    let rated = Feedback::new(9, false, "养猪场能贷款吗", vec![clause.clone()]);
    store.record_feedback(user(4), rated).await;
    let env = [
        ("REDIS_URL", redis.url()),
        ("POLICYBOT_REDIS_PREFIX", prefix.as_str()),
    ];

    let out = policybot(&["review"], &env);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(report.contains("最近 7 天：2 个待处理的问题"), "{report}");
    assert!(report.contains(". 外卖骑手有补贴吗"), "{report}");
    assert!(report.contains("未找到 2 · 👎 0 · 👍 0 · 2 人"), "{report}");
    assert!(report.contains("弱相关 1 · 👎 1"), "{report}");
    assert!(
        report.contains("anyang-3《安阳市稳岗措施》 引用 2 · 👍 0 · 👎 1"),
        "{report}"
    );

    let out = policybot(&["review", "--json"], &env);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let items = json["items"].as_array().expect("items");
    let pigs = items
        .iter()
        .find(|i| i["question"] == "养猪场能贷款吗")
        .expect("help: grouped");
    assert_eq!(
        (&pigs["related"], &pigs["down"]),
        (&1.into(), &1.into()),
        "{json}"
    );
    assert_eq!(pigs["clauses"][0]["down"], 1, "{json}");

    // Exported for labelling: eval skips what is not labelled yet, and scores what is.
    let out = policybot(&["review", "--jsonl-gold"], &env);
    let lines = text(&out.stdout);
    assert_eq!(lines.lines().count(), 2, "{lines}");
    let file = super::kb::scratch("review-gold").join("review.jsonl");
    std::fs::create_dir_all(file.parent().expect("dir")).expect("dir");
    std::fs::write(&file, &lines).expect("write");
    let path = file.to_str().expect("utf-8 path");
    let out = policybot(&["eval", path], &[]);
    assert_eq!(out.status.code(), Some(1), "help: nothing to score");
    assert!(
        text(&out.stderr).contains("跳过 2 条未标注"),
        "{}",
        text(&out.stderr)
    );
    let labelled = lines.replacen(r#""kind":"""#, r#""kind":"out_of_scope""#, 1);
    std::fs::write(&file, labelled).expect("write");
    let out = policybot(&["eval", path], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("跳过 1 条未标注"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("questions 1"),
        "{}",
        text(&out.stdout)
    );

    let out = policybot(&["review", "--purge"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("共 4 条"),
        "{}",
        text(&out.stdout)
    );
    let out = policybot(&["review"], &env);
    assert!(
        text(&out.stdout).contains("0 个待处理的问题"),
        "{}",
        text(&out.stdout)
    );
}
