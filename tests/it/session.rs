//! Session stores against their contract: the same conformance tests run on `MemoryStore` and on
//! a real Redis (`RedisStore`), plus backend-specific checks (key prefix, memory bound, Redis
//! down at start, Redis going away and coming back, no secrets in logs).

use std::sync::Arc;
use std::time::{Duration, Instant};

use policybot::answer::{Followup, Status};
use policybot::session::{
    self, BotStore, ClauseRef, Feedback, FloodGate, LogPolicy, MemoryStore, OperatorLog, Page,
    RedisStore, Session, SessionKey, SessionStore, Source, Unanswered,
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
        own_region: true,
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
        earlier: vec![Page {
            answer_id: 41,
            followups: vec![Followup::More],
        }],
    }
}

/// Issue 10 (#10): updates of one user's session at once (a press and a message, two replicas)
/// each count: every one reads before any writes back, and none is lost.
async fn concurrent_updates_keep_every_change<S: BotStore>(
    make: impl AsyncFn(&str, Duration) -> S,
) {
    let store = Arc::new(make("concurrent", Duration::from_secs(60)).await);
    let k = key(1, 1);
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                session::update(&*store, k, None, |mut s| async move {
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

async fn absent_is_default<S: BotStore>(make: impl AsyncFn(&str, Duration) -> S) {
    let store = make("absent", MINUTE).await;
    assert_eq!(store.load(key(-100, 7)).await, Session::default());
}

async fn round_trip<S: BotStore>(make: impl AsyncFn(&str, Duration) -> S) {
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

async fn sessions_are_per_chat_and_user<S: BotStore>(make: impl AsyncFn(&str, Duration) -> S) {
    let store = make("per_user", MINUTE).await;
    store.save(key(-100, 7), &session("a")).await;
    store.save(key(-100, 8), &session("b")).await;
    store.save(key(5, 7), &session("c")).await;
    assert_eq!(store.load(key(-100, 7)).await, session("a"));
    assert_eq!(store.load(key(-100, 8)).await, session("b"));
    assert_eq!(store.load(key(5, 7)).await, session("c"));
}

async fn reset_forgets<S: BotStore>(make: impl AsyncFn(&str, Duration) -> S) {
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

async fn ttl_expires<S: BotStore>(make: impl AsyncFn(&str, Duration) -> S) {
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

async fn ttl_refreshed_on_load<S: BotStore>(make: impl AsyncFn(&str, Duration) -> S) {
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

async fn flood_limit<S: BotStore>(make: impl AsyncFn(&str, Duration) -> S) {
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
    // admit: the same count, and the session with it.
    store.save(key(1, 3), &session("kept")).await;
    for i in 1..=2 {
        assert_eq!(
            store.admit(key(1, 3), 2).await,
            Some(session("kept")),
            "help: admit {i} is within the limit and loads the session"
        );
    }
    assert_eq!(
        store.admit(key(1, 3), 2).await,
        None,
        "help: the 3rd admit in a minute is over limit 2"
    );
    assert!(
        !store.allow(key(1, 3), 3).await,
        "help: admit and allow count on one counter"
    );
    assert_eq!(
        store.admit(key(1, 4), 2).await,
        Some(Session::default()),
        "help: a user without a session is admitted with a fresh one"
    );
}

fn no_match(question: &str) -> Unanswered {
    Unanswered::new(question, Status::NoMatch, Source::Private, Vec::new())
}

async fn operator_logs<S: BotStore>(make: impl AsyncFn(&str, Duration) -> S) {
    let store = make("logs", MINUTE).await;
    assert_eq!(store.logs(0).await, session::Logs::default());
    store
        .record_unanswered(key(5, 5), no_match("外卖骑手有补贴吗"))
        .await;
    store
        .record_unanswered(key(5, 5), no_match("养猪场能贷款吗"))
        .await;
    let clauses = vec![ClauseRef {
        id: "p1-a2".to_string(),
        title: "稳岗措施".to_string(),
    }];
    let related = Unanswered::new(
        "第三个问题",
        Status::Related,
        Source::Group,
        clauses.clone(),
    );
    store.record_unanswered(key(-100, 6), related).await;
    let unanswered = store.logs(0).await.unanswered;
    let questions: Vec<&str> = unanswered.iter().map(|e| e.question.as_str()).collect();
    assert_eq!(
        questions,
        ["第三个问题", "养猪场能贷款吗", "外卖骑手有补贴吗"]
    );
    assert_eq!(unanswered[0].status, Some(Status::Related));
    assert_eq!(unanswered[0].source, Some(Source::Group));
    assert_eq!(unanswered[0].clauses, clauses);
    assert!(unanswered[0].at > 0);
    let (five, six) = (&unanswered[1].who, &unanswered[0].who);
    assert!(five.is_some() && six.is_some() && five != six);
    assert_eq!(five, &unanswered[2].who, "help: one user, one pseudonym");

    store
        .record_feedback(key(-100, 7), Feedback::new(41, false, "社保补贴", clauses))
        .await;
    store
        .record_feedback(
            key(-100, 8),
            Feedback::new(42, true, "稳岗返还", Vec::new()),
        )
        .await;
    let feedback = store.logs(0).await.feedback;
    assert_eq!(feedback.len(), 2);
    assert_eq!((feedback[0].answer_id, feedback[0].up), (42, true));
    assert_eq!(feedback[0].question, "稳岗返还");
    assert_eq!((feedback[1].answer_id, feedback[1].up), (41, false));
    assert_eq!(feedback[1].clauses[0].id, "p1-a2");
    assert!(feedback[0].at > 0);
    let future = now_secs() + 3600;
    assert!(
        store.logs(future).await.feedback.is_empty(),
        "help: `since` filters"
    );
}

/// Issue 12 (#12): no user id, chat id, name or username in the logs — only salted hashes,
/// which a configured salt makes the same on every store and another salt makes different.
#[tokio::test]
async fn logs_name_users_by_salted_hash_only() {
    let salted = |salt: &str| LogPolicy {
        salt: Some(salt.to_string()),
        ..LogPolicy::default()
    };
    let a = MemoryStore::new(MINUTE, 10).with_logs(salted("s1"));
    let b = MemoryStore::new(MINUTE, 10).with_logs(salted("s1"));
    let c = MemoryStore::new(MINUTE, 10).with_logs(salted("s2"));
    for store in [&a, &b, &c] {
        store
            .record_unanswered(key(-100_123, 987_654_321), no_match("q"))
            .await;
    }
    let who = async |s: &MemoryStore| s.logs(0).await.unanswered[0].who.clone().unwrap();
    assert_eq!(who(&a).await, who(&b).await);
    assert_ne!(who(&a).await, who(&c).await);
    assert_eq!(who(&a).await, LogPolicy::who("s1", 987_654_321));
    let stored = format!("{:?}", a.logs(0).await);
    assert!(
        !stored.contains("987654321") && !stored.contains("100123"),
        "help: ids leaked: {stored}"
    );
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
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
    store.record_unanswered(key(-100, 7), no_match("q")).await;
    store
        .record_feedback(key(-100, 7), Feedback::new(1, true, "q", Vec::new()))
        .await;

    let mut con = server.connection().await;
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut con)
        .await
        .expect("KEYS");
    keys.sort();
    assert_eq!(keys.len(), 5, "help: unexpected keys {keys:?}");
    assert_eq!(keys[0], format!("{prefix}feedback"));
    assert!(
        keys[1].starts_with(&format!("{prefix}flood:-100:7:")),
        "{keys:?}"
    );
    assert_eq!(keys[2], format!("{prefix}log:salt"));
    assert_eq!(keys[3], format!("{prefix}session:-100:7"));
    assert_eq!(keys[4], format!("{prefix}unanswered"));
    for log in [&keys[0], &keys[4]] {
        let ttl: i64 = redis::cmd("TTL")
            .arg(log)
            .query_async(&mut con)
            .await
            .expect("TTL");
        let expiry = i64::try_from(session::LOG_EXPIRY.as_secs()).unwrap();
        assert!(
            ttl > expiry - 60 && ttl <= expiry,
            "help: {log} expires with its newest entry: TTL {ttl}"
        );
    }

    let session_ttl: i64 = redis::cmd("PTTL")
        .arg(&keys[3])
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
        .arg(&keys[3])
        .query_async(&mut con)
        .await
        .expect("GET");
    assert!(
        stored.starts_with('{'),
        "help: sessions are stored as JSON: {stored}"
    );
}

/// Issue 12 (#12): the Redis logs keep their cap, drop expired entries (never read, removed on
/// the next write) and still read the entries of older versions (a bare question; feedback
/// with chat and user ids, which are not read).
#[tokio::test]
async fn redis_logs_are_capped_expire_and_read_older_entries() {
    let Some(server) = TestRedis::start() else {
        return;
    };
    let prefix = unique_prefix("capped");
    let policy = LogPolicy {
        cap: 20,
        ..LogPolicy::default()
    };
    let store = RedisStore::connect(server.url(), &prefix, MINUTE)
        .await
        .expect("connect")
        .with_logs(policy);
    let mut con = server.connection().await;
    let log = format!("{prefix}unanswered");
    let expired = serde_json::json!({
        "question": "过期的问题",
        "at": now_secs() - session::LOG_EXPIRY.as_secs() - 10,
    });
    let _: () = redis::cmd("RPUSH")
        .arg(&log)
        .arg(expired.to_string())
        .query_async(&mut con)
        .await
        .expect("RPUSH");
    assert!(
        store.logs(0).await.unanswered.is_empty(),
        "help: an expired entry is never read"
    );
    store.record_unanswered(key(1, 1), no_match("q0")).await;
    let len = async |con: &mut redis::aio::MultiplexedConnection| -> usize {
        redis::cmd("LLEN")
            .arg(&log)
            .query_async(con)
            .await
            .expect("LLEN")
    };
    assert_eq!(
        len(&mut con).await,
        1,
        "help: expired entry dropped on write"
    );
    for i in 1..25 {
        store
            .record_unanswered(key(1, 1), no_match(&format!("q{i}")))
            .await;
    }
    assert_eq!(len(&mut con).await, 20);
    assert_eq!(store.logs(0).await.unanswered[0].question, "q24");

    let _: () = redis::cmd("LPUSH")
        .arg(&log)
        .arg("旧版本的问题")
        .query_async(&mut con)
        .await
        .expect("LPUSH");
    let old_feedback = serde_json::json!({
        "chat": -100, "user": 7, "answer_id": 3, "up": false, "question": "旧反馈", "at": now_secs(),
    });
    let _: () = redis::cmd("LPUSH")
        .arg(format!("{prefix}feedback"))
        .arg(old_feedback.to_string())
        .query_async(&mut con)
        .await
        .expect("LPUSH");
    let logs = store.logs(0).await;
    assert_eq!(logs.unanswered[0], Unanswered::parse("旧版本的问题"));
    assert_eq!(logs.unanswered[0].status, None);
    assert_eq!(
        (logs.feedback[0].question.as_str(), logs.feedback[0].up),
        ("旧反馈", false)
    );
    assert_eq!(store.purge_logs().await, Some(21 + 1));
    assert_eq!(store.logs(0).await, session::Logs::default());
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
    assert_eq!(
        store.admit(key(1, 1), 0).await,
        Some(Session::default()),
        "help: admitted with a fresh session without Redis"
    );
    assert!(t.elapsed() < quick, "admit took {:?}", t.elapsed());
    let t = Instant::now();
    store.record_unanswered(key(1, 1), no_match("q")).await;
    assert!(store.logs(0).await.unanswered.is_empty());
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
