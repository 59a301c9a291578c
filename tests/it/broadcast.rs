//! Subscriptions and announcements with real parts: the Redis store (queue once per document,
//! claims across processes, migration, status), the bot against the fake Bot API (admins
//! subscribe, others are refused, removal and migration, the announcement and its buttons), and
//! the `policybot serve` / `ingest` binaries announcing a new notice to 500 groups exactly once
//! across a forced restart, and two replicas, one killed mid-broadcast, the other finishing it;
//! a changed notice announced once as 修订 (and not when revisions are off).

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use policybot::broadcast::store::{BroadcastStore, Claim, Settled};
use policybot::broadcast::{Announcement, Filters, Subscription};
use policybot::session::MemoryStore;
use policybot::telegram::{self, BotConfig, Secret, texts};
use serde_json::Value;

use super::fake_bot_api::{self as fake, FakeBotApi};
use super::kb::root;
use super::support::redis::{TestRedis, unique_prefix};

/// A new notice for the ingest tests (Anyang, financing).
const NOTICE: &str = "安阳市人民政府办公室
关于开展中小企业首贷贴息的通知
安政办〔2024〕101号

各县（市、区）人民政府，市人民政府各部门：
为缓解中小企业融资难题，现就首次贷款贴息有关事项通知如下。
一、支持对象。在本市登记注册、首次获得银行贷款的中小微企业。
二、贴息标准。按贷款合同利率的50%给予贴息，每家企业每年最高贴息30万元。
三、融资担保。政府性融资担保机构对首贷企业担保费率降至1%以下。
四、申请方式。企业通过惠企服务平台提交申请，由市财政局审核后拨付。
责任单位：市财政局、市地方金融监督管理局

安阳市人民政府办公室
2024年6月10日
";

fn announcement(doc: &str, region: &str, title: &str) -> Announcement {
    Announcement {
        doc_id: doc.to_string(),
        title: title.to_string(),
        doc_number: Some("安政办〔2024〕1号".to_string()),
        issuer: Some("安阳市人民政府办公室".to_string()),
        date: Some("2024-06-10".to_string()),
        region: region.to_string(),
        topics: vec!["融资贷款".to_string()],
        measures: vec!["贴息标准：按贷款合同利率的50%给予贴息。".to_string()],
        revision: None,
    }
}

fn subscription(chat: i64, filters: Filters) -> Subscription {
    Subscription {
        chat,
        filters,
        since: 0,
    }
}

#[tokio::test]
async fn store_queues_once_claims_once_and_reports_status() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    let prefix = unique_prefix("bc-store");
    let a = BroadcastStore::open(redis.url(), &prefix, "a").expect("url");
    let b = BroadcastStore::open(redis.url(), &prefix, "b").expect("url");
    a.ping().await.expect("redis up");

    // Subscriptions: store, read, migrate, drop.
    a.subscribe(&subscription(-1, Filters::default()))
        .await
        .expect("subscribe");
    a.subscribe(&subscription(7, Filters::default()))
        .await
        .expect("subscribe");
    assert!(a.migrate(-1, -1001).await.expect("migrate"));
    assert!(!a.migrate(-1, -1002).await.expect("nothing to migrate"));
    let chats: Vec<i64> = a
        .subscriptions()
        .await
        .expect("list")
        .iter()
        .map(|s| s.chat)
        .collect();
    assert_eq!(chats, vec![-1001, 7]);
    assert_eq!(
        b.subscription(-1001).await.expect("read").map(|s| s.chat),
        Some(-1001),
        "the moved subscription carries its new chat id"
    );

    // A document is queued once, however often it is announced.
    let doc = announcement("dq1", "河南省/安阳市", "首贷贴息");
    assert!(a.enqueue(&doc).await.expect("enqueue").is_some());
    assert!(b.enqueue(&doc).await.expect("enqueue").is_none());
    let queued = &a.status().await.expect("status")[0];
    assert_eq!(
        (queued.title.as_str(), queued.targets, queued.finished),
        ("首贷贴息", None, false),
        "queued, not started: titled before any delivery"
    );
    a.ensure_group().await.expect("group");
    b.ensure_group().await.expect("group is idempotent");
    let batch = a.next_batch().await.expect("read");
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].announcement.as_ref(), Some(&doc));
    assert!(
        b.next_batch().await.expect("read").is_empty(),
        "the other consumer does not get a fresh entry twice"
    );
    assert_eq!(
        a.next_batch().await.expect("read"),
        batch,
        "unfinished entries come back to their consumer (restart)"
    );

    // Claims: one sender per (document, chat); a live claimer blocks, a dead one is taken over.
    b.heartbeat().await.expect("alive");
    assert_eq!(b.claim("dq1", -1001).await.expect("claim"), Claim::Claimed);
    assert_eq!(a.claim("dq1", -1001).await.expect("claim"), Claim::Busy);
    b.settle("dq1", -1001, &Settled::Sent)
        .await
        .expect("settle");
    assert_eq!(a.claim("dq1", -1001).await.expect("claim"), Claim::Done);
    // `a` never sent a heartbeat: to `b` it is a dead process.
    assert_eq!(a.claim("dq1", 7).await.expect("claim"), Claim::Claimed);
    assert_eq!(b.claim("dq1", 7).await.expect("claim"), Claim::Reclaimed);
    b.settle("dq1", 7, &Settled::Dropped("blocked".into()))
        .await
        .expect("settle");
    assert!(
        b.subscription(7).await.expect("read").is_none(),
        "a chat that blocked the bot is unsubscribed"
    );
    a.set_targets("dq1", "首贷贴息", 2).await.expect("targets");
    let status = a.status().await.expect("status");
    assert_eq!(status.len(), 1);
    let s = &status[0];
    assert_eq!(
        (s.sent, s.dropped, s.pending, s.in_doubt, s.finished),
        (1, 1, 0, 1, false)
    );
    a.finish(&batch[0]).await.expect("ack");
    assert!(a.next_batch().await.expect("read").is_empty());
    assert!(a.status().await.expect("status")[0].finished);
}

/// An entry a consumer took and left untouched (it died) is taken over by another consumer once
/// it has been stale for `stale_after` (`broadcast_stale_secs`), not before.
#[tokio::test]
async fn an_untouched_entry_is_taken_over_after_the_configured_time() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    let prefix = unique_prefix("bc-stale");
    let stale = Duration::from_millis(1000);
    let open = |name| {
        BroadcastStore::open(redis.url(), &prefix, name)
            .expect("url")
            .stale_after(stale)
    };
    let (dead, alive) = (open("dead"), open("alive"));
    dead.enqueue(&announcement("ds1", "河南省/安阳市", "首贷贴息"))
        .await
        .expect("enqueue");
    dead.ensure_group().await.expect("group");
    // The entry's idle time starts when Redis hands it to `dead`, inside the call: timing from
    // before the call keeps `waited` an upper bound of that time.
    let started = Instant::now();
    let taken = dead.next_batch().await.expect("read");
    assert_eq!(taken.len(), 1);
    assert!(
        alive.next_batch().await.expect("read").is_empty(),
        "help: not stale yet"
    );
    let over = loop {
        let batch = alive.next_batch().await.expect("read");
        if !batch.is_empty() || started.elapsed() > stale * 5 {
            break batch;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let waited = started.elapsed();
    assert_eq!(over, taken, "help: taken over after {waited:?}");
    assert!(waited >= stale, "help: taken over early, after {waited:?}");
}

/// A bot on the real knowledge base with subscriptions in Redis; limits off.
struct Bot {
    api: FakeBotApi,
    store: Arc<BroadcastStore>,
    task: tokio::task::JoinHandle<()>,
    _redis: TestRedis,
}

impl Drop for Bot {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start_bot(test: &str) -> Option<Bot> {
    let redis = TestRedis::start()?;
    let prefix = unique_prefix(test);
    Some(start_bot_on(redis, &prefix).await)
}

/// A bot on the real knowledge base using Redis `redis` under `prefix`.
async fn start_bot_on(redis: TestRedis, prefix: &str) -> Bot {
    let app = tokio::task::spawn_blocking(super::kb::app)
        .await
        .expect("app builds");
    let api = FakeBotApi::start().await;
    let store = Arc::new(BroadcastStore::open(redis.url(), prefix, "it").expect("url"));
    let mut cfg = BotConfig::new(Secret::new(fake::TOKEN));
    cfg.api_url = Some(api.url());
    cfg.poll_timeout = Duration::from_secs(1);
    cfg.limits = None;
    let sessions = MemoryStore::new(Duration::from_secs(600), 1000);
    let knowledge = Arc::new(super::telegram::RealApp(app));
    let broadcasts = Some(Arc::clone(&store));
    let task = tokio::spawn(async move {
        if let Err(e) = telegram::run(knowledge, sessions, broadcasts, cfg).await {
            panic!("bot stopped: {e}");
        }
    });
    api.wait_until(Duration::from_secs(30), |c| {
        c.iter().any(|c| c.method == "setmycommands")
    })
    .await;
    Bot {
        api,
        store,
        task,
        _redis: redis,
    }
}

/// Pushes `update` and returns the text of the next message sent to `chat`.
async fn reply_in(api: &FakeBotApi, chat: i64, update: Value) -> String {
    let before = api.sent_to(chat).len();
    api.push(update);
    api.wait_until(Duration::from_secs(20), |_| {
        api.sent_to(chat).len() > before
    })
    .await;
    api.sent_to(chat)
        .get(before)
        .and_then(|m| m["text"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no reply in chat {chat}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_subscribe_groups_and_announcements_arrive_once() {
    let Some(bot) = start_bot("bc-bot").await else {
        return;
    };
    let (api, store) = (&bot.api, &bot.store);
    let group = -100;
    api.set_admins(group, &[5, 6]);

    // A member who is not an administrator is refused; nothing is stored.
    let refused = reply_in(api, group, fake::text(group, 9, "/subscribe")).await;
    assert_eq!(refused, texts::ADMINS_ONLY);
    assert!(store.subscription(group).await.expect("read").is_none());

    // An administrator subscribes the group with filters; /subscriptions shows them.
    let done = reply_in(api, group, fake::text(group, 6, "/subscribe 融资 安阳")).await;
    assert!(
        done.contains("已订阅") && done.contains("融资") && done.contains("安阳"),
        "{done}"
    );
    let sub = store
        .subscription(group)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(sub.filters.topics, vec!["融资"]);
    assert_eq!(sub.filters.regions, vec!["河南省/安阳市"]);
    let shown = reply_in(api, group, fake::text(group, 9, "/subscriptions")).await;
    assert!(shown.contains("融资"), "anyone may look: {shown}");

    // An anonymous administrator (writing as the group) may change it too.
    let other = -300;
    let anon = reply_in(api, other, fake::anonymous_admin(other, "/subscribe")).await;
    assert!(anon.contains("已订阅"), "{anon}");

    // In a private chat anyone subscribes themselves; a filter for another region.
    let user: i64 = 77;
    let mine = reply_in(api, user, fake::private(77, "/subscribe 临夏")).await;
    assert!(mine.contains("已订阅") && mine.contains("临夏"), "{mine}");

    // A group that migrates to a supergroup keeps its subscription under the new id.
    let small = -400;
    let big = -1_000_400;
    api.set_admins(small, &[5]);
    reply_in(api, small, fake::text(small, 5, "/subscribe")).await;
    api.push(fake::migrated(small, big));
    wait_for(|| async { store.subscription(big).await.ok().flatten().is_some() }).await;
    assert!(store.subscription(small).await.expect("read").is_none());

    // A group that removes the bot is unsubscribed.
    let leaving = -500;
    api.set_admins(leaving, &[5]);
    reply_in(api, leaving, fake::text(leaving, 5, "/subscribe")).await;
    api.push(fake::my_chat_member(leaving, 5, "member", "kicked"));
    wait_for(|| async { store.subscription(leaving).await.ok().flatten().is_none() }).await;

    // A group whose messages are refused with 403 is dropped at the first announcement.
    let forbidden = -600;
    store
        .subscribe(&subscription(forbidden, Filters::default()))
        .await
        .expect("subscribe");
    api.forbid(forbidden);
    // One whose messages are refused for lack of rights keeps failing: reported, not dropped.
    let muted = -700;
    store
        .subscribe(&subscription(muted, Filters::default()))
        .await
        .expect("subscribe");
    api.mute(muted);
    // One that was upgraded to a supergroup without us seeing the service message: the send
    // answers `migrate_to_chat_id`, and the announcement follows to the new id.
    let (upgraded, upgraded_to) = (-800, -1_000_800);
    store
        .subscribe(&subscription(upgraded, Filters::default()))
        .await
        .expect("subscribe");
    api.migrate(upgraded, upgraded_to);
    // And Telegram asks the bot to slow down twice: waited out, nothing lost or repeated.
    api.fail_next_sends(2, fake::Failure::TooManyRequests);

    // Announce a real Anyang financing document: the filtered group, the anonymous-admin group
    // and the migrated supergroup get it once; the Linxia subscriber does not.
    let app = super::kb::app();
    let kb = app.kb();
    let doc = kb
        .corpus
        .documents
        .iter()
        .find(|d| {
            d.region == "河南省/安阳市"
                && app
                    .announcement(&d.id)
                    .is_some_and(|a| sub.filters.matches(&a) && !a.measures.is_empty())
        })
        .expect("an Anyang financing document");
    let a = app.announcement(&doc.id).expect("announcement");
    store.enqueue(&a).await.expect("queued");
    let expected = [group, other, big, upgraded_to];
    api.wait_until(Duration::from_secs(30), |_| {
        expected.iter().all(|c| !announcements(api, *c).is_empty())
    })
    .await;
    wait_for(|| async {
        store
            .status()
            .await
            .is_ok_and(|s| s.first().is_some_and(|d| d.finished))
    })
    .await;
    for chat in expected {
        let got = announcements(api, chat);
        assert_eq!(got.len(), 1, "chat {chat}: exactly one announcement");
        assert!(got[0].contains(&a.title), "{}", got[0]);
    }
    assert!(announcements(api, user).is_empty(), "Linxia filter");
    assert!(
        store.subscription(forbidden).await.expect("read").is_none(),
        "403: unsubscribed"
    );
    assert!(
        store
            .subscription(upgraded_to)
            .await
            .expect("read")
            .is_some(),
        "the subscription followed the migration"
    );
    let status = &store.status().await.expect("status")[0];
    assert_eq!(
        (status.sent, status.dropped, status.failed, status.migrated),
        (4, 1, 1, 1)
    );
    assert_eq!(
        (status.targets, status.pending, status.in_doubt),
        (Some(6), 0, 0)
    );
    assert_eq!(store.failing().await.expect("failing"), vec![(muted, 1)]);
    assert!(store.subscription(muted).await.expect("read").is_some());

    // The 要点 and 全文 buttons of the announcement work from any chat.
    let sent = api.sent_to(group);
    let keyboard = &sent.last().expect("announcement")["reply_markup"]["inline_keyboard"][0];
    let data: Vec<&str> = keyboard
        .as_array()
        .expect("buttons")
        .iter()
        .filter_map(|b| b["callback_data"].as_str())
        .collect();
    assert_eq!(data.len(), 2, "{keyboard}");
    let points = reply_in(api, group, fake::callback(group, 9, 1, data[0])).await;
    assert!(
        points.contains("要点") && points.contains("1. "),
        "{points}"
    );
    let full = reply_in(api, group, fake::callback(group, 9, 1, data[1])).await;
    assert!(full.contains(&a.title), "{full}");

    // Unsubscribing stops later announcements.
    let bye = reply_in(api, group, fake::text(group, 5, "/unsubscribe")).await;
    assert_eq!(bye, texts::UNSUBSCRIBED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announcements_queued_while_no_bot_ran_are_delivered_at_start() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    let prefix = unique_prefix("bc-catch-up");
    let early = BroadcastStore::open(redis.url(), &prefix, "ingest").expect("url");
    for chat in [-1, -2] {
        early
            .subscribe(&subscription(chat, Filters::default()))
            .await
            .expect("subscribe");
    }
    let a = announcement("dcatch", "河南省/安阳市", "首贷贴息通知");
    early.enqueue(&a).await.expect("queued");
    let bot = start_bot_on(redis, &prefix).await;
    let api = &bot.api;
    api.wait_until(Duration::from_secs(20), |_| {
        [-1, -2].iter().all(|c| !announcements(api, *c).is_empty())
    })
    .await;
    for chat in [-1, -2] {
        assert_eq!(announcements(api, chat).len(), 1, "chat {chat}");
    }
}

/// Announcement texts sent to `chat`.
fn announcements(api: &FakeBotApi, chat: i64) -> Vec<String> {
    api.sent_to(chat)
        .iter()
        .filter_map(|m| m["text"].as_str())
        .filter(|t| t.starts_with("📢"))
        .map(str::to_string)
        .collect()
}

/// Polls `done` for up to 20 s.
async fn wait_for<F, Fut>(done: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done().await {
        assert!(Instant::now() < deadline, "condition not reached in 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

/// Kills the child when dropped.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Groups subscribed in the 500-group test.
const GROUPS: i64 = 500;

/// The `policybot` binaries on a temporary copy of the bundled data, a Redis of their own and a
/// fake Bot API, with `groups` subscribed groups (chat ids -1 … -groups) and a built index.
struct Deployment {
    tmp: tempfile::TempDir,
    redis: TestRedis,
    prefix: String,
    api: FakeBotApi,
    store: BroadcastStore,
}

impl Deployment {
    async fn start(test: &str, groups: i64) -> Option<Deployment> {
        let redis = TestRedis::spawn(None)?;
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        copy_dir(&root().join("data/compendium"), &data.join("compendium"));
        copy_dir(&root().join("data/lexicon"), &data.join("lexicon"));
        let prefix = unique_prefix(test);
        let store = BroadcastStore::open(redis.url(), &prefix, "test").expect("url");
        for g in 1..=groups {
            store
                .subscribe(&subscription(-g, Filters::default()))
                .await
                .expect("subscribe");
        }
        let d = Deployment {
            tmp,
            redis,
            prefix,
            api: FakeBotApi::start().await,
            store,
        };
        let built = d.run(&["index"]).await;
        assert!(built.status.success());
        Some(d)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_policybot"));
        cmd.current_dir(self.tmp.path())
            .env("REDIS_URL", self.redis.url())
            .env("POLICYBOT_REDIS_PREFIX", &self.prefix)
            .env("POLICYBOT_DATA_DIR", self.tmp.path().join("data"))
            .env("POLICYBOT_INDEX_DIR", self.tmp.path().join("index"))
            .env("POLICYBOT_INTENTS_DIR", root().join("intents"))
            .env("TELOXIDE_TOKEN", fake::TOKEN)
            .env("TELOXIDE_API_URL", self.api.url().as_str())
            .args(args);
        cmd
    }

    async fn run(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = self.command(args);
        tokio::task::spawn_blocking(move || cmd.output())
            .await
            .expect("join")
            .expect("runs")
    }

    /// Starts `policybot serve` as replica `name`, its log (stdout) in `serve-<name>.log`; waits until
    /// it has registered its commands.
    async fn serve(&self, name: &str) -> Serving {
        let before = self.setup_calls();
        let log = fs::File::create(self.tmp.path().join(format!("serve-{name}.log"))).expect("log");
        let child = self
            .command(&["serve"])
            .env("RUST_LOG", "info")
            .env("POLICYBOT_REPLICA", name)
            // Above the 5 s between touches of an entry being delivered, below the default 30 s
            // a survivor would otherwise wait.
            .env("POLICYBOT_BROADCAST_STALE_SECS", "8")
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        self.api
            .wait_until(Duration::from_secs(60), |_| self.setup_calls() > before)
            .await;
        Serving(child)
    }

    fn setup_calls(&self) -> usize {
        self.api
            .calls()
            .iter()
            .filter(|c| c.method == "setmycommands")
            .count()
    }

    fn log(&self, name: &str) -> String {
        let path = self.tmp.path().join(format!("serve-{name}.log"));
        String::from_utf8_lossy(&fs::read(&path).unwrap_or_default()).into_owned()
    }

    /// Ingests the test notice; asserts it was queued for announcement.
    async fn ingest_notice(&self) -> std::path::PathBuf {
        let notice = self.tmp.path().join("shoudai.txt");
        fs::write(&notice, NOTICE).expect("write");
        let out = self.run(&["ingest", notice.to_str().expect("utf-8")]).await;
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success() && stdout.contains("已排队推送"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        notice
    }

    /// Asserts every one of `groups` groups got the announcement once (a duplicate only for a
    /// delivery in doubt) and returns (duplicates, in doubt).
    async fn assert_once(&self, groups: i64, log: &str) -> (usize, u64) {
        let status = wait_status(&self.store).await;
        let per_chat = count_announced(&self.api);
        let duplicates: usize = per_chat.values().map(|n| n - 1).sum();
        let lost = (1..=groups).filter(|g| !per_chat.contains_key(&-g)).count();
        assert_eq!(lost, 0, "every group got the notice\n{log}");
        assert!(
            duplicates as u64 <= status.in_doubt,
            "a duplicate is only possible for a delivery in doubt at the kill"
        );
        assert_eq!((status.sent, status.pending), (groups as u64, 0));
        assert!(
            self.api.max_sends_within(Duration::from_secs(1)) <= 30,
            "Telegram's overall limit"
        );
        (duplicates, status.in_doubt)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_announces_an_ingested_notice_to_500_groups_once_across_a_forced_restart() {
    let Some(d) = Deployment::start("bc-500", GROUPS).await else {
        return;
    };
    // Serve runs when the notice is ingested.
    let mut first = d.serve("policybot").await;
    let started = Instant::now();
    let notice = d.ingest_notice().await;
    // Force a restart once about a third of the groups have it.
    d.api
        .wait_until(Duration::from_secs(120), |_| {
            count_announced(&d.api).len() as i64 >= GROUPS / 3
        })
        .await;
    first.0.kill().expect("kill -9");
    let _ = first.0.wait();
    let at_kill = count_announced(&d.api).len();
    assert!(
        (at_kill as i64) < GROUPS,
        "killed mid-broadcast ({at_kill} delivered)"
    );
    let _second = d.serve("policybot").await;
    d.api
        .wait_until(Duration::from_secs(180), |_| {
            count_announced(&d.api).len() as i64 >= GROUPS
        })
        .await;
    let elapsed = started.elapsed();
    let (duplicates, in_doubt) = d.assert_once(GROUPS, &d.log("policybot")).await;
    eprintln!(
        "500 groups: {duplicates} duplicates, 0 lost, {in_doubt} in doubt, killed after {at_kill}, {:.1} s, peak {} msgs/s",
        elapsed.as_secs_f64(),
        d.api.max_sends_within(Duration::from_secs(1)),
    );

    // `broadcast status` reports it; re-ingesting the same file announces nothing.
    let shown = d.run(&["broadcast", "status"]).await;
    let shown = String::from_utf8_lossy(&shown.stdout).to_string();
    assert!(
        shown.contains("[完成]") && shown.contains("已送达 500"),
        "{shown}"
    );
    let again = d.run(&["ingest", notice.to_str().expect("utf-8")]).await;
    assert!(again.status.success());
    let again = String::from_utf8_lossy(&again.stdout).to_string();
    assert!(
        !again.contains("已排队推送"),
        "re-ingest queues nothing: {again}"
    );
    assert_eq!(d.store.status().await.expect("status").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_replica_finishes_the_broadcast_of_one_that_died() {
    const SOME: i64 = 150;
    let Some(d) = Deployment::start("bc-replicas", SOME).await else {
        return;
    };
    let mut a = d.serve("a").await;
    let mut b = d.serve("b").await;
    d.ingest_notice().await;
    d.api
        .wait_until(Duration::from_secs(60), |_| {
            count_announced(&d.api).len() as i64 >= SOME / 3
        })
        .await;
    // Kill the replica that is announcing; the other one must not have started on it.
    let (dead, alive) = match d.log("a").contains("announcing") {
        true => ("a", "b"),
        false => ("b", "a"),
    };
    assert!(
        d.log(dead).contains("announcing"),
        "one replica announces:\n{}\n{}",
        d.log("a"),
        d.log("b")
    );
    assert!(
        !d.log(alive).contains("announcing"),
        "only one replica took the entry"
    );
    let victim = if dead == "a" { &mut a } else { &mut b };
    victim.0.kill().expect("kill -9");
    let _ = victim.0.wait();
    let at_kill = count_announced(&d.api).len();
    d.api
        .wait_until(Duration::from_secs(120), |_| {
            count_announced(&d.api).len() as i64 >= SOME
        })
        .await;
    let (duplicates, in_doubt) = d.assert_once(SOME, &d.log(alive)).await;
    assert!(
        d.log(alive).contains("announcing"),
        "the survivor took it over"
    );
    eprintln!(
        "two replicas, {SOME} groups: killed after {at_kill}, {duplicates} duplicates, 0 lost, {in_doubt} in doubt"
    );
}

/// Announcements delivered per chat.
fn count_announced(api: &FakeBotApi) -> HashMap<i64, usize> {
    let mut counts = HashMap::new();
    for (chat, n) in api.sends_per_chat() {
        if chat < 0 && !announcements(api, chat).is_empty() {
            counts.insert(chat, n);
        }
    }
    counts
}

/// The status of the only announced document once it is finished.
async fn wait_status(store: &BroadcastStore) -> policybot::broadcast::store::DocStatus {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = store.status().await.expect("status");
        if let Some(s) = status.first().filter(|s| s.finished) {
            return s.clone();
        }
        assert!(Instant::now() < deadline, "not finished: {status:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Issue 12 (#12): a changed notice (same 文号: a measure reworded, one added) ingested while
/// `serve` runs is announced to every subscriber once more, as 修订 naming the clauses added and
/// removed; ingesting the same text again queues nothing; with `announce_revisions` off a further
/// change is not announced (nothing queued, nothing sent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_notice_is_announced_once_as_a_revision() {
    const SOME: i64 = 3;
    let Some(d) = Deployment::start("bc-revision", SOME).await else {
        return;
    };
    let _serving = d.serve("policybot").await;
    d.ingest_notice().await;
    let each_has = |n: usize| {
        let api = &d.api;
        move |_: &[fake::Call]| (1..=SOME).all(|g| announcements(api, -g).len() >= n)
    };
    d.api.wait_until(Duration::from_secs(60), each_has(1)).await;

    let v2 = NOTICE.replace("最高贴息30万元", "最高贴息50万元").replace(
        "四、申请方式",
        "四、续贷支持。对到期续贷的中小微企业同样给予贴息。\n五、申请方式",
    );
    let revised = d.tmp.path().join("shoudai-v2.txt");
    fs::write(&revised, &v2).expect("write");
    let path = revised.to_str().expect("utf-8");
    let out = d.run(&["ingest", path]).await;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success() && stdout.contains("已排队推送修订《关于开展中小企业首贷贴息的通知》"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    d.api.wait_until(Duration::from_secs(60), each_has(2)).await;
    for g in 1..=SOME {
        let sent = announcements(&d.api, -g);
        assert_eq!(sent.len(), 2, "group {g}: {sent:?}");
        let revision = &sent[1];
        assert!(
            revision.starts_with("📢 <b>政策修订：关于开展中小企业首贷贴息的通知</b>"),
            "{revision}"
        );
        let (added, removed) = revision
            .split_once("<b>删除条款")
            .unwrap_or_else(|| panic!("help: removed clauses listed: {revision}"));
        assert!(
            added.contains("<b>新增条款") && added.contains("50万元") && added.contains("续贷支持"),
            "{revision}"
        );
        assert!(
            removed.contains("30万元") && !removed.contains("续贷"),
            "{revision}"
        );
    }
    let finished = async || {
        let status = d.store.status().await.expect("status");
        status.iter().all(|s| s.finished) && status.len() == 2
    };
    wait_for(finished).await;
    let status = d.store.status().await.expect("status");
    assert_eq!(status[1].title, "修订：关于开展中小企业首贷贴息的通知");
    assert_eq!((status[1].sent, status[1].pending), (SOME as u64, 0));

    // The same text again: nothing new to announce.
    let again = d.run(&["ingest", path]).await;
    let again = String::from_utf8_lossy(&again.stdout).to_string();
    assert!(!again.contains("已排队推送"), "{again}");
    // Revisions off: a further change is ingested but not announced.
    let v3 = d.tmp.path().join("shoudai-v3.txt");
    fs::write(&v3, v2.replace("50万元", "80万元")).expect("write");
    let mut off = d.command(&["ingest", v3.to_str().expect("utf-8")]);
    off.env("POLICYBOT_ANNOUNCE_REVISIONS", "false");
    let off = tokio::task::spawn_blocking(move || off.output())
        .await
        .expect("join")
        .expect("runs");
    let off = String::from_utf8_lossy(&off.stdout).to_string();
    assert!(
        off.contains("announce_revisions = false") && !off.contains("已排队推送"),
        "{off}"
    );
    assert_eq!(
        d.store.status().await.expect("status").len(),
        2,
        "help: nothing queued"
    );
    for g in 1..=SOME {
        assert_eq!(announcements(&d.api, -g).len(), 2, "group {g}");
    }
}
