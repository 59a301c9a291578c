//! Issue 9 (nothing lost, nothing exhausted), `serve` side, with the real binary
//! against the fake Bot API: SIGTERM and SIGINT drain the answers under way and exit 0 within the
//! grace period (also while sends wait out 429s, or while getUpdates keeps failing); a send still
//! waiting at the deadline is logged; an idle bot's long polls log no errors (one held 25 s, and
//! many short cycles); with Redis, `kill -9` with 40 questions in flight loses none of them after
//! a restart, and sends again only the answers that were on the wire. At start, a 502 on getMe
//! costs a short backoff, a refused token exits 2 with one line (no panic), and SIGTERM while
//! getMe keeps failing exits 0 at once.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::fake_bot_api::{Failure, FakeBotApi, TOKEN, private};
use super::kb::root;
use super::support::redis::{TestRedis, unique_prefix};

/// A running `serve`; killed when the test ends, however it ends.
struct Serving {
    child: Child,
    log: PathBuf,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serving {
    /// The log, colours removed.
    fn log(&self) -> String {
        let raw = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw.as_str();
        while let Some(i) = rest.find('\u{1b}') {
            out.push_str(&rest[..i]);
            rest = &rest[i..];
            rest = rest.find('m').map_or("", |m| &rest[m + 1..]);
        }
        out + rest
    }

    /// What serve wrote to stderr.
    fn stderr(&self) -> String {
        std::fs::read_to_string(self.log.with_extension("err")).unwrap_or_default()
    }

    fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
    }

    /// Waits for the exit at most `limit`.
    async fn exit(&mut self, limit: Duration) -> (ExitStatus, Duration) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status, started.elapsed());
            }
            assert!(
                started.elapsed() < limit,
                "serve still running after {limit:?}\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// An index of the bundled data, built once.
fn index_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = crate::kb::scratch("shutdown-index");
        let built = Command::new(env!("CARGO_BIN_EXE_policybot"))
            .env("POLICYBOT_INDEX_DIR", &dir)
            .env("POLICYBOT_DATA_DIR", root().join("data"))
            .arg("index")
            .output()
            .expect("index runs");
        assert!(
            built.status.success(),
            "{}",
            String::from_utf8_lossy(&built.stderr)
        );
        dir
    })
}

fn serve(api: &FakeBotApi, log_dir: &Path, env: &[(&str, &str)]) -> Serving {
    let log = log_dir.join("serve.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_policybot"));
    cmd.current_dir(log_dir)
        .env_remove("REDIS_URL")
        .env("RUST_LOG", "info")
        .env("POLICYBOT_DATA_DIR", root().join("data"))
        .env("POLICYBOT_INTENTS_DIR", root().join("intents"))
        .env("POLICYBOT_INDEX_DIR", index_dir())
        .env("TELOXIDE_TOKEN", TOKEN)
        .env("TELOXIDE_API_URL", api.url().as_str())
        .envs(env.iter().copied())
        .arg("serve")
        .stdout(std::fs::File::create(&log).expect("log file"))
        .stderr(std::fs::File::create(log_dir.join("serve.err")).expect("err file"))
        .stdin(Stdio::null());
    Serving {
        child: cmd.spawn().expect("serve starts"),
        log,
    }
}

/// Pushes one question from each of `n` users and waits until the bot has fetched them all.
async fn questions_in_flight(api: &FakeBotApi, n: u64) {
    let ids: Vec<i64> = (0..n)
        .map(|u| api.push(private(1_000 + u, "小店房租能减免吗")))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ids.iter().all(|&id| api.delivered_at(id).is_some()) {
        assert!(Instant::now() < deadline, "the bot fetched the questions");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Until the bot has read the getUpdates answer, a stop drops that request and confirms only
    // the offset before it, so Telegram would deliver those updates again: they are in flight
    // once the first answer is being sent (the rest wait in the listener's buffer).
    api.wait_until(Duration::from_secs(60), |calls| {
        calls.iter().any(|c| c.method == "sendmessage")
    })
    .await;
}

fn answered_chats(api: &FakeBotApi) -> std::collections::BTreeSet<i64> {
    api.ok_calls("sendMessage")
        .iter()
        .filter_map(|b| b["chat_id"].as_i64())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_or_sigint_with_40_questions_in_flight_answers_all_and_exits_0() {
    for (signal, blocked) in [("TERM", false), ("TERM", true), ("INT", true)] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let api = FakeBotApi::start().await;
        // A grace period long enough for an unoptimised build to compute 40 answers.
        let mut bot = serve(&api, tmp.path(), &[("POLICYBOT_SHUTDOWN_GRACE", "30")]);
        // Started: polling begins right after getWebhookInfo.
        api.wait_for("getWebhookInfo", 1, Duration::from_secs(60))
            .await;
        if blocked {
            // Every one of the first 20 sends is answered 429 (retry after 1 s).
            api.fail_next_sends(20, Failure::TooManyRequests);
        }
        questions_in_flight(&api, 40).await;
        bot.signal(signal);
        let (status, took) = bot.exit(Duration::from_secs(60)).await;
        let chats = answered_chats(&api);
        assert_eq!(
            chats.len(),
            40,
            "SIG{signal} (429s: {blocked}): all answered\n{}",
            bot.log()
        );
        assert_eq!(status.code(), Some(0), "exit 0\n{}", bot.log());
        assert!(
            took < Duration::from_secs(30),
            "SIG{signal}: exited in {took:?} (grace 30 s)"
        );
        println!("SIG{signal} with 429s {blocked}: 40/40 answered, exit 0 after {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_still_waiting_on_429_at_the_deadline_is_logged_and_serve_exits() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let api = FakeBotApi::start().await;
    let mut bot = serve(&api, tmp.path(), &[("POLICYBOT_SHUTDOWN_GRACE", "2")]);
    api.wait_for("getWebhookInfo", 1, Duration::from_secs(60))
        .await;
    api.fail_next_sends(1_000, Failure::TooManyRequestsFor(30));
    questions_in_flight(&api, 3).await;
    // Every chat's first send got its 429 (a 429 holds only its chat); all three now wait it
    // out. Waiting for the three attempts, not just the first, so a slow machine cannot signal
    // before the last question was taken.
    api.wait_until(Duration::from_secs(30), |calls| {
        calls.iter().filter(|c| c.method == "sendmessage").count() >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    bot.signal("TERM");
    let (status, took) = bot.exit(Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(0), "{}", bot.log());
    assert!(
        took < Duration::from_secs(4),
        "exited after the 2 s grace: {took:?}"
    );
    let log = bot.log();
    let abandoned = log
        .lines()
        .filter(|l| l.contains("reply not delivered"))
        .count();
    assert_eq!(abandoned, 3, "each abandoned reply is logged:\n{log}");
    for user in 1_000..1_003 {
        assert!(
            log.contains(&format!("chat={user}")),
            "chat {user} named:\n{log}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_long_polling_logs_no_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let api = FakeBotApi::start().await;
    // Like Telegram: an idle getUpdates is held for the whole 25 s timeout the bot asks for,
    // longer than teloxide's default 17 s HTTP timeout.
    api.hold_long_polls(Duration::from_secs(25));
    let bot = serve(&api, tmp.path(), &[]);
    api.wait_for("getWebhookInfo", 1, Duration::from_secs(60))
        .await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    let log = bot.log();
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("WARN"))
        .collect();
    assert!(errors.is_empty(), "idle polling logged: {errors:?}");
    // The question still gets through the held poll.
    api.push(private(7, "小店房租能减免吗"));
    api.wait_for("sendMessage", 1, Duration::from_secs(10))
        .await;
}

/// Issue 9: many idle long-poll cycles (a 1 s timeout from `POLICYBOT_POLL_TIMEOUT`, each poll
/// held that long as Telegram does) log no warning or error, and a question still gets through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_idle_long_poll_cycles_log_nothing() {
    const CYCLES: usize = 8;
    let idle_polls = |calls: &[super::fake_bot_api::Call]| {
        calls
            .iter()
            .filter(|c| c.method == "getupdates" && c.ok && c.body["timeout"] == 1)
            .count()
            >= CYCLES
    };
    idle_then_ask(
        &[("POLICYBOT_POLL_TIMEOUT", "1")],
        idle_polls,
        Duration::from_secs(60),
    )
    .await;
}

/// Issue 9's bar as written: `serve` idle for 2 minutes with the default 25 s long poll logs no
/// warning or error. Long, so not in CI: `cargo test --release --test it idle_serve -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a 2-minute run; the 1 s-cycle test above covers the same path in CI"]
async fn idle_serve_for_two_minutes_logs_nothing() {
    let started = std::time::Instant::now();
    let two_minutes =
        |_: &[super::fake_bot_api::Call]| started.elapsed() >= Duration::from_secs(120);
    idle_then_ask(&[], two_minutes, Duration::from_secs(150)).await;
}

/// Starts serve with `env` against a fake API that holds long polls as Telegram does, waits until
/// `idle_enough` holds of the calls made (at most `wait`), asserts that nothing was logged at WARN
/// or ERROR, then that a question still gets its answer.
async fn idle_then_ask(
    env: &[(&str, &str)],
    idle_enough: impl Fn(&[super::fake_bot_api::Call]) -> bool,
    wait: Duration,
) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let api = FakeBotApi::start().await;
    api.hold_long_polls(Duration::from_secs(25));
    let bot = serve(&api, tmp.path(), env);
    let calls = api.wait_until(wait, |calls| idle_enough(calls)).await;
    assert!(idle_enough(&calls), "help: idle long enough\n{}", bot.log());
    let log = bot.log();
    let noise: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("WARN"))
        .collect();
    assert!(noise.is_empty(), "idle polling logged: {noise:?}");
    api.push(private(7, "小店房租能减免吗"));
    let sent = api
        .wait_for("sendMessage", 1, Duration::from_secs(30))
        .await;
    assert_eq!(
        sent.len(),
        1,
        "help: the question got through\n{}",
        bot.log()
    );
}

/// Starts serve with every call of `method` answered 502, sends SIGTERM once five have failed
/// (250 + 500 + 1000 + 2000 ms after the first four, the bot waits 4 s after the fifth), and
/// asserts that serve exits 0 within 2 s: the backoff is cut short. Returns the stopped serve.
async fn sigterm_during_an_outage_of(method: &str, tmp: &Path) -> Serving {
    let api = FakeBotApi::start().await;
    api.fail_next(method, usize::MAX);
    let mut bot = serve(&api, tmp, &[]);
    let lowercase = method.to_ascii_lowercase();
    let failed = |calls: &[super::fake_bot_api::Call]| {
        calls
            .iter()
            .filter(|c| c.method == lowercase && !c.ok)
            .count()
    };
    let calls = api
        .wait_until(Duration::from_secs(60), |calls| failed(calls) >= 5)
        .await;
    assert!(failed(&calls) >= 5, "help: {method} failed\n{}", bot.log());
    bot.signal("TERM");
    let (status, took) = bot.exit(Duration::from_secs(20)).await;
    assert_eq!(status.code(), Some(0), "{}", bot.log());
    assert!(
        took < Duration::from_secs(2),
        "help: exited {took:?} after SIGTERM, in a 4 s backoff\n{}",
        bot.log()
    );
    println!("SIGTERM during a {method} outage: exit 0 after {took:?}");
    bot
}

/// Issue 9: while getUpdates keeps failing, SIGTERM still stops the bot at once, and the outage
/// is logged once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_get_updates_outage_exits_at_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bot = sigterm_during_an_outage_of("getUpdates", tmp.path()).await;
    let log = bot.log();
    let warned = log.matches("getUpdates failed").count();
    assert_eq!(warned, 1, "help: one line for the whole outage:\n{log}");
}

/// Issue 9: while the getMe made at start keeps failing, SIGTERM stops serve at once (exit 0).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_get_me_keeps_failing_exits_at_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    sigterm_during_an_outage_of("getMe", tmp.path()).await;
}

/// Issue 9: a 502 on the getMe made at start is asked again after the short backoff (250 ms), not
/// after teloxide's 10 s sleep: the first question is answered within 2 s of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_502_on_the_first_get_me_costs_under_2_s() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let api = FakeBotApi::start().await;
    api.fail_next("getMe", 1);
    api.push(private(7, "小店房租能减免吗"));
    let bot = serve(&api, tmp.path(), &[]);
    let sent = api
        .wait_for("sendMessage", 1, Duration::from_secs(60))
        .await;
    assert_eq!(sent.len(), 1, "help: answered\n{}", bot.log());
    let calls = api.calls();
    let get_me: Vec<_> = calls.iter().filter(|c| c.method == "getme").collect();
    assert!(
        get_me.len() == 2 && !get_me[0].ok && get_me[1].ok,
        "help: one 502, then getMe again\n{}",
        bot.log()
    );
    let answered = calls
        .iter()
        .find(|c| c.ok && c.method == "sendmessage")
        .expect("help: the answer")
        .at;
    let cost = answered.duration_since(get_me[0].at);
    assert!(
        cost < Duration::from_secs(2),
        "help: answered {cost:?} after the 502 on getMe\n{}",
        bot.log()
    );
    println!("502 on the first getMe: first answer {cost:?} after it");
}

/// Issue 9: a token Telegram refuses (401) stops serve at start with exit status 2 and one line on
/// stderr naming the setting, no panic and no retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_exits_2_with_one_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let api = FakeBotApi::start().await;
    let mut bot = serve(&api, tmp.path(), &[("TELOXIDE_TOKEN", "2:WRONG")]);
    let (status, _) = bot.exit(Duration::from_secs(60)).await;
    let stderr = bot.stderr();
    assert_eq!(status.code(), Some(2), "{stderr}\n{}", bot.log());
    assert!(!stderr.contains("panicked"), "help: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "help: one line: {stderr:?}");
    assert!(
        lines[0].contains("getMe") && lines[0].contains("TELOXIDE_TOKEN"),
        "help: {}",
        lines[0]
    );
    assert!(!lines[0].contains("WRONG"), "help: the token is not shown");
    println!("refused token: exit 2, stderr {:?}", lines[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_with_40_questions_in_flight_answers_all_after_a_restart() {
    let Some(redis) = TestRedis::spawn(None) else {
        return;
    };
    let prefix = unique_prefix("kill9");
    let env = [
        ("REDIS_URL", redis.url()),
        ("POLICYBOT_REDIS_PREFIX", prefix.as_str()),
    ];
    let tmp = tempfile::tempdir().expect("tempdir");
    let api = FakeBotApi::start().await;
    let mut bot = serve(&api, tmp.path(), &env);
    api.wait_for("getWebhookInfo", 1, Duration::from_secs(60))
        .await;
    questions_in_flight(&api, 40).await;
    // Let a few answers through, then hold Telegram's answers so that the kill finds sends on
    // the wire: delivered, their answer not yet back at the bot.
    api.wait_for("sendMessage", 3, Duration::from_secs(60))
        .await;
    api.hold_answers();
    let deadline = Instant::now() + Duration::from_secs(60);
    while api.on_the_wire() == 0 {
        assert!(Instant::now() < deadline, "a send went out while held");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    bot.child.kill().expect("kill -9");
    bot.child.wait().expect("killed");
    let on_the_wire = api.on_the_wire();
    let before = answered_chats(&api).len();
    assert!(before < 40, "questions were still in flight at the kill");
    api.release();

    let log_dir = tempfile::tempdir().expect("tempdir");
    let restarted = serve(&api, log_dir.path(), &env);
    let all = api
        .wait_until(Duration::from_secs(90), |_| {
            answered_chats(&api).len() == 40
        })
        .await;
    assert!(
        answered_chats(&api).len() == 40,
        "all 40 answered after the restart ({} calls)\n{}",
        all.len(),
        restarted.log()
    );
    // Late duplicates would come now.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let duplicates: usize = api.sends_per_chat().values().map(|n| n - 1).sum();
    assert!(
        duplicates <= on_the_wire,
        "{duplicates} duplicates, {on_the_wire} sends on the wire at the kill\n{}",
        restarted.log()
    );
    println!(
        "kill -9: {before}/40 answered before, {on_the_wire} sends on the wire; after the restart 40/40 answered, {duplicates} duplicates"
    );
}
