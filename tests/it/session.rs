//! Session stores against their contract: the same conformance tests run on `MemoryStore` and on
//! a real Redis (`RedisStore`), plus backend-specific checks (key prefix, memory bound, Redis
//! down at start, Redis going away and coming back, no secrets in logs).

use std::sync::Arc;
use std::time::{Duration, Instant};

use policybot::answer::Followup;
use policybot::session::{
    self, BotStore, Feedback, FloodGate, MemoryStore, OperatorLog, RedisStore, Session, SessionKey,
    SessionStore,
};

use crate::support::logs;
use crate::support::redis::{TestRedis, free_port, unique_prefix};

/// Runs each named conformance test on both backends. A test gets `make(test, ttl)`: a fresh
/// store (its own key prefix on Redis) keeping sessions `ttl`.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod on_memory {
            use std::time::Duration;

            use policybot::session::MemoryStore;

            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(async |_test: &str, ttl: Duration| MemoryStore::new(ttl, 100))
                        .await;
                }
            )*
        }
        mod on_redis {
            use std::time::Duration;

            use policybot::session::RedisStore;

            use crate::support::redis::{TestRedis, unique_prefix};

            $(
                #[tokio::test]
                async fn $name() {
                    let Some(server) = TestRedis::start() else { return };
                    let make = async |test: &str, ttl: Duration| {
                        RedisStore::connect(server.url(), &unique_prefix(test), ttl)
                            .await
                            .expect("store builds")
                    };
                    super::$name(make).await;
                }
            )*
        }
    };
}

/// The operator's view of the logs, which each store offers (not part of the bot's traits).
trait RecentLogs {
    async fn recent_unanswered(&self, n: usize) -> Vec<String>;
    async fn recent_feedback(&self, n: usize) -> Vec<Feedback>;
}

impl RecentLogs for MemoryStore {
    async fn recent_unanswered(&self, n: usize) -> Vec<String> {
        MemoryStore::recent_unanswered(self, n).await
    }
    async fn recent_feedback(&self, n: usize) -> Vec<Feedback> {
        MemoryStore::recent_feedback(self, n).await
    }
}

impl RecentLogs for RedisStore {
    async fn recent_unanswered(&self, n: usize) -> Vec<String> {
        RedisStore::recent_unanswered(self, n).await
    }
    async fn recent_feedback(&self, n: usize) -> Vec<Feedback> {
        RedisStore::recent_feedback(self, n).await
    }
}

conformance!(
    concurrent_updates_keep_every_change,
    absent_is_default,
    round_trip,
    sessions_are_per_chat_and_user,
    reset_forgets,
    ttl_expires,
    ttl_refreshed_on_load,
    flood_limit,
    operator_logs,
);

const MINUTE: Duration = Duration::from_secs(60);

fn key(chat: i64, user: u64) -> SessionKey {
    SessionKey { chat, user }
}

fn session(question: &str) -> Session {
    Session {
        last_question: Some(question.to_string()),
        region: Some("安阳".to_string()),
        last_region: None,
        shown: 3,
        followups: vec![
            Followup::More,
            Followup::FullText {
                rank: 1,
                clause_id: "p1-a2".to_string(),
            },
            Followup::Region {
                region: "林州".to_string(),
            },
        ],
        answer_id: 42,
    }
}

/// Issue 10 (#10): updates of one user's session at once (a press and a message, two replicas)
/// each count: every one reads before any writes back, and none is lost.
async fn concurrent_updates_keep_every_change<S: BotStore + RecentLogs>(
    make: impl AsyncFn(&str, Duration) -> S,
) {
    let store = Arc::new(make("concurrent", Duration::from_secs(60)).await);
    let k = key(1, 1);
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                session::update(&*store, k, |mut s| async move {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    s.shown += 1;
                    (s, ())
                })
                .await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("update task");
    }
    assert_eq!(
        store.load(k).await.shown,
        4,
        "help: a concurrent change was lost"
    );
}

async fn absent_is_default<S: BotStore + RecentLogs>(make: impl AsyncFn(&str, Duration) -> S) {
    let store = make("absent", MINUTE).await;
    assert_eq!(store.load(key(-100, 7)).await, Session::default());
}

async fn round_trip<S: BotStore + RecentLogs>(make: impl AsyncFn(&str, Duration) -> S) {
    let store = make("round_trip", MINUTE).await;
    let s = session("小微企业贷款贴息怎么申请");
    store.save(key(-100, 7), &s).await;
    assert_eq!(store.load(key(-100, 7)).await, s);
    let s2 = Session { shown: 6, ..s };
    store.save(key(-100, 7), &s2).await;
    assert_eq!(
        store.load(key(-100, 7)).await,
        s2,
        "help: a save overwrites"
    );
}

async fn sessions_are_per_chat_and_user<S: BotStore + RecentLogs>(
    make: impl AsyncFn(&str, Duration) -> S,
) {
    let store = make("per_user", MINUTE).await;
    store.save(key(-100, 7), &session("a")).await;
    store.save(key(-100, 8), &session("b")).await;
    store.save(key(5, 7), &session("c")).await;
    assert_eq!(store.load(key(-100, 7)).await, session("a"));
    assert_eq!(store.load(key(-100, 8)).await, session("b"));
    assert_eq!(store.load(key(5, 7)).await, session("c"));
}

async fn reset_forgets<S: BotStore + RecentLogs>(make: impl AsyncFn(&str, Duration) -> S) {
    let store = make("reset", MINUTE).await;
    store.save(key(1, 1), &session("a")).await;
    store.save(key(1, 2), &session("b")).await;
    store.reset(key(1, 1)).await;
    assert_eq!(store.load(key(1, 1)).await, Session::default());
    assert_eq!(
        store.load(key(1, 2)).await,
        session("b"),
        "help: reset touches one key only"
    );
    store.reset(key(9, 9)).await; // absent: no-op
}

async fn ttl_expires<S: BotStore + RecentLogs>(make: impl AsyncFn(&str, Duration) -> S) {
    let store = make("ttl_expires", Duration::from_secs(2)).await;
    store.save(key(1, 1), &session("a")).await;
    assert_eq!(store.load(key(1, 1)).await, session("a"));
    tokio::time::sleep(Duration::from_millis(3000)).await;
    assert_eq!(
        store.load(key(1, 1)).await,
        Session::default(),
        "help: TTL 2 s not honoured"
    );
}

async fn ttl_refreshed_on_load<S: BotStore + RecentLogs>(make: impl AsyncFn(&str, Duration) -> S) {
    // TTL 2 s; each check is at least 0.5 s away from an expiry.
    let store = make("ttl_refresh", Duration::from_secs(2)).await;
    store.save(key(1, 1), &session("a")).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(store.load(key(1, 1)).await, session("a"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // 2.5 s after the save: alive only because the load refreshed the TTL.
    assert_eq!(
        store.load(key(1, 1)).await,
        session("a"),
        "help: load must refresh the TTL"
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(store.load(key(1, 1)).await, Session::default());
}

async fn flood_limit<S: BotStore + RecentLogs>(make: impl AsyncFn(&str, Duration) -> S) {
    let store = make("flood", MINUTE).await;
    avoid_minute_edge().await;
    for i in 1..=3 {
        assert!(
            store.allow(key(1, 1), 3).await,
            "call {i} is within the limit"
        );
    }
    assert!(
        !store.allow(key(1, 1), 3).await,
        "help: the 4th call in a minute is over limit 3"
    );
    assert!(
        store.allow(key(1, 2), 3).await,
        "help: another user has their own counter"
    );
}

async fn operator_logs<S: BotStore + RecentLogs>(make: impl AsyncFn(&str, Duration) -> S) {
    let store = make("logs", MINUTE).await;
    assert!(store.recent_unanswered(10).await.is_empty());
    store.record_unanswered("外卖骑手有补贴吗").await;
    store.record_unanswered("养猪场能贷款吗").await;
    store.record_unanswered("第三个问题").await;
    assert_eq!(
        store.recent_unanswered(2).await,
        ["第三个问题", "养猪场能贷款吗"]
    );
    assert!(store.recent_unanswered(0).await.is_empty());

    store
        .record_feedback(key(-100, 7), 41, false, "社保补贴")
        .await;
    store
        .record_feedback(key(-100, 8), 42, true, "稳岗返还")
        .await;
    let feedback = store.recent_feedback(10).await;
    assert_eq!(feedback.len(), 2);
    assert_eq!(
        (feedback[0].answer_id, feedback[0].up, feedback[0].user),
        (42, true, 8)
    );
    assert_eq!(feedback[0].question, "稳岗返还");
    assert_eq!(
        (feedback[1].answer_id, feedback[1].up, feedback[1].chat),
        (41, false, -100)
    );
    assert!(feedback[0].at > 0);
}

/// Waits out the last two seconds of a wall-clock minute, so a flood test's calls share one
/// window.
async fn avoid_minute_edge() {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    if secs % 60 >= 58 {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}

#[tokio::test]
async fn memory_bound_evicts_oldest_unused() {
    let store = MemoryStore::new(MINUTE, 3);
    for user in 1..=3 {
        store
            .save(key(1, user), &session(&format!("q{user}")))
            .await;
    }
    store.load(key(1, 1)).await; // 2 becomes the least recently used
    store.save(key(1, 4), &session("q4")).await;
    assert_eq!(
        store.load(key(1, 2)).await,
        Session::default(),
        "help: LRU entry not evicted"
    );
    for user in [1, 3, 4] {
        assert_eq!(store.load(key(1, user)).await, session(&format!("q{user}")));
    }
    assert_eq!(store.len(), 3);
}

#[tokio::test]
async fn memory_store_is_shared_across_tasks() {
    let store = Arc::new(MemoryStore::new(MINUTE, 1000));
    let mut tasks = Vec::new();
    for user in 0..8 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for _ in 0..50 {
                store.save(key(1, user), &session(&user.to_string())).await;
                store.allow(key(1, user), 1000).await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("task ran");
    }
    for user in 0..8 {
        assert_eq!(store.load(key(1, user)).await, session(&user.to_string()));
    }
}

#[tokio::test]
async fn redis_keys_carry_prefix_and_ttl() {
    let Some(server) = TestRedis::start() else {
        return;
    };
    let prefix = unique_prefix("keys");
    let ttl = Duration::from_secs(30);
    let store = RedisStore::connect(server.url(), &prefix, ttl)
        .await
        .expect("connect");
    store.save(key(-100, 7), &session("a")).await;
    store.allow(key(-100, 7), 10).await;
    store.record_unanswered("q").await;
    store.record_feedback(key(-100, 7), 1, true, "q").await;

    let mut con = server.connection().await;
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut con)
        .await
        .expect("KEYS");
    keys.sort();
    assert_eq!(keys.len(), 4, "help: unexpected keys {keys:?}");
    assert_eq!(keys[0], format!("{prefix}feedback"));
    assert!(
        keys[1].starts_with(&format!("{prefix}flood:-100:7:")),
        "{keys:?}"
    );
    assert_eq!(keys[2], format!("{prefix}session:-100:7"));
    assert_eq!(keys[3], format!("{prefix}unanswered"));

    let session_ttl: i64 = redis::cmd("PTTL")
        .arg(&keys[2])
        .query_async(&mut con)
        .await
        .expect("PTTL");
    assert!(
        session_ttl > 25_000 && session_ttl <= 30_000,
        "session PTTL {session_ttl}"
    );
    let flood_ttl: i64 = redis::cmd("TTL")
        .arg(&keys[1])
        .query_async(&mut con)
        .await
        .expect("TTL");
    assert!(flood_ttl > 60 && flood_ttl <= 120, "flood TTL {flood_ttl}");
    let stored: String = redis::cmd("GET")
        .arg(&keys[2])
        .query_async(&mut con)
        .await
        .expect("GET");
    assert!(
        stored.starts_with('{'),
        "help: sessions are stored as JSON: {stored}"
    );
}

#[tokio::test]
async fn redis_logs_are_capped() {
    let Some(server) = TestRedis::start() else {
        return;
    };
    let prefix = unique_prefix("capped");
    let store = RedisStore::connect(server.url(), &prefix, MINUTE)
        .await
        .expect("connect");
    for i in 0..1005 {
        store.record_unanswered(&format!("q{i}")).await;
    }
    let mut con = server.connection().await;
    let len: usize = redis::cmd("LLEN")
        .arg(format!("{prefix}unanswered"))
        .query_async(&mut con)
        .await
        .expect("LLEN");
    assert_eq!(len, 1000);
    assert_eq!(store.recent_unanswered(1).await, ["q1004"]);
    assert_eq!(store.recent_unanswered(5000).await.len(), 1000);
}

#[tokio::test]
async fn redis_unreadable_session_is_fresh() {
    let Some(server) = TestRedis::start() else {
        return;
    };
    let prefix = unique_prefix("garbage");
    let store = RedisStore::connect(server.url(), &prefix, MINUTE)
        .await
        .expect("connect");
    let mut con = server.connection().await;
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}session:1:1"))
        .arg("not json")
        .query_async(&mut con)
        .await
        .expect("SET");
    assert_eq!(store.load(key(1, 1)).await, Session::default());
    assert!(store.is_up(), "help: bad data is not an outage");
}

#[tokio::test]
async fn redis_down_at_start_then_up() {
    logs::capture();
    let port = free_port();
    let prefix = unique_prefix("down_at_start");
    let started = Instant::now();
    let store = RedisStore::connect(&format!("redis://127.0.0.1:{port}/"), &prefix, MINUTE)
        .await
        .expect("a down Redis is not an error");
    // Generous: the connect timeout is 300 ms; only a hang misses this.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "connect hung: {:?}",
        started.elapsed()
    );
    assert!(!store.is_up());
    assert_down_behaviour(&store).await;

    let Some(_server) = TestRedis::spawn_at(port, None) else {
        return;
    };
    assert_recovers(&store).await;
    let text = logs::lines_with(&prefix);
    assert_eq!(
        text.matches("Redis unreachable").count(),
        1,
        "help: log the outage once:\n{text}"
    );
    assert_eq!(
        text.matches("reachable again").count(),
        1,
        "help: log recovery once:\n{text}"
    );
}

#[tokio::test]
async fn redis_down_and_back_without_rebuilding_the_store() {
    const PASSWORD: &str = "pw-Zq81-secret";
    let Some(mut server) = TestRedis::spawn(Some(PASSWORD)) else {
        return;
    };
    logs::capture();
    let prefix = unique_prefix("outage");
    let store = RedisStore::connect(server.url(), &prefix, MINUTE)
        .await
        .expect("connect");
    store.save(key(1, 1), &session("before")).await;
    assert_eq!(store.load(key(1, 1)).await, session("before"));
    assert!(store.is_up());

    server.stop();
    assert_down_behaviour(&store).await;
    assert_down_behaviour(&store).await;
    assert!(!store.is_up());

    server.restart();
    assert_recovers(&store).await;

    let text = logs::lines_with(&prefix);
    assert_eq!(
        text.matches("Redis unreachable").count(),
        1,
        "help: log the outage once:\n{text}"
    );
    assert_eq!(
        text.matches("reachable again").count(),
        1,
        "help: log recovery once:\n{text}"
    );
    assert!(
        !logs::all().contains(PASSWORD),
        "help: the password leaked into the logs"
    );
    assert!(
        !format!("{store:?}").contains(PASSWORD),
        "help: Debug leaks the password"
    );
}

#[tokio::test]
async fn redis_wrong_password_is_an_outage_logged_once_without_the_password() {
    const WRONG: &str = "pw-wrong-Hq52";
    let Some(server) = TestRedis::spawn(Some("pw-right-Jd07")) else {
        return;
    };
    logs::capture();
    let prefix = unique_prefix("wrong_password");
    let url = server.url().replace("pw-right-Jd07", WRONG);
    let store = RedisStore::connect(&url, &prefix, MINUTE)
        .await
        .expect("connect");
    assert_down_behaviour(&store).await;
    assert_down_behaviour(&store).await;
    let text = logs::lines_with(&prefix);
    assert_eq!(
        text.matches("Redis unreachable").count(),
        1,
        "help: log the outage once:\n{text}"
    );
    assert!(
        !logs::all().contains(WRONG),
        "help: the password leaked into the logs"
    );
}

/// While Redis is unreachable: every call returns quickly, without panicking, as if empty.
async fn assert_down_behaviour(store: &RedisStore) {
    // Generous: each command is bounded at 300 ms; only a hang misses this.
    let quick = Duration::from_secs(10);
    let t = Instant::now();
    assert_eq!(store.load(key(1, 1)).await, Session::default());
    assert!(t.elapsed() < quick, "load took {:?}", t.elapsed());
    let t = Instant::now();
    store.save(key(1, 1), &session("while down")).await;
    assert!(t.elapsed() < quick, "save took {:?}", t.elapsed());
    let t = Instant::now();
    assert!(
        store.allow(key(1, 1), 0).await,
        "help: no counting without Redis"
    );
    assert!(t.elapsed() < quick, "allow took {:?}", t.elapsed());
    let t = Instant::now();
    store.record_unanswered("q").await;
    assert!(store.recent_unanswered(5).await.is_empty());
    assert!(t.elapsed() < quick * 2, "logs took {:?}", t.elapsed());
}

/// Once Redis answers again, the same store saves and loads (within a few seconds).
async fn assert_recovers(store: &RedisStore) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let probe = session("after");
    loop {
        store.save(key(2, 2), &probe).await;
        if store.load(key(2, 2)).await == probe {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "help: store did not recover after Redis returned"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(store.is_up());
    store.save(key(3, 3), &session("new")).await;
    assert_eq!(store.load(key(3, 3)).await, session("new"));
    assert!(store.allow(key(3, 3), 1).await);
    assert!(
        !store.allow(key(3, 3), 1).await,
        "help: flood counting resumes"
    );
}
