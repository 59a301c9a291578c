//! End-to-end tests of the Telegram bot (issue 3) through the fake Bot API: private Q&A, every
//! button kind (更多结果 keeping the earlier page's buttons), stale and forged presses, forwards of
//! all four origins, groups, commands, flood limit, 429s (waited out per chat), 503 retries and
//! 502s in doubt, getUpdates 502s (short backoff), full-text splitting, webhook mode (setWebhook,
//! secret token, the inbox written before a post is answered), and a checker that every sent
//! text is HTML Telegram accepts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use policybot::answer::{Answer, Cited, Followup, FullText, Span, Status, Ticket};
use policybot::app::App;
use policybot::app::{Action, AskOptions, Reply, UnknownRegion};
use policybot::broadcast::{FilterError, Filters};
use policybot::corpus::{Department, Level};
use policybot::places::Places;
use policybot::session::{BotStore, MemoryStore, RedisStore, Session};
use policybot::telegram::{self, BotConfig, Knowledge, Limits, Secret, texts};
use serde_json::Value;

use crate::fake_bot_api::{self as fake, Failure, FakeBotApi};
use crate::support::redis::{TestRedis, unique_prefix};

const WAIT: Duration = Duration::from_secs(10);

/// A fixture knowledge base with answers shaped like the real ones (escape-worthy corpus text,
/// every follow-up kind, a clause longer than one message), recording the session like `App`.
struct Fixture {
    ids: AtomicU64,
}

/// Full text of the long clause: several messages' worth of sentences.
fn long_clause() -> String {
    (1..=400)
        .map(|i| format!("第{i}项 对符合条件的小微企业<含个体工商户>给予贷款贴息&担保费补贴。"))
        .collect()
}

fn cited(rank: usize, clause_id: &str) -> Cited {
    Cited {
        rank,
        score: 1.0,
        clause_id: clause_id.to_string(),
        doc_title: "关于<进一步>支持小微企业&个体工商户发展的若干措施".to_string(),
        doc_number: Some("豫政〔2022〕1号".to_string()),
        issuer: Some("河南省人民政府".to_string()),
        date: Some("2022-05-01".to_string()),
        level: Level::Province,
        region: "河南省".to_string(),
        section: "二、金融支持 › （一）贷款贴息".to_string(),
        text: "对符合条件的小微企业给予贷款贴息。".to_string(),
        excerpt: vec![
            Span {
                text: "对符合条件的".to_string(),
                hit: false,
            },
            Span {
                text: "小微企业".to_string(),
                hit: true,
            },
            Span {
                text: "给予<贷款>贴息，".to_string(),
                hit: false,
            },
            Span {
                text: "贴息".to_string(),
                hit: true,
            },
            Span {
                text: "比例不超过50%。".to_string(),
                hit: false,
            },
        ],
        departments: vec![Department {
            role: "责任单位".to_string(),
            name: "省财政厅".to_string(),
        }],
        sources: Vec::new(),
        validity: Some("政策发布于2022年，部分措施可能已到期，请以最新规定为准".to_string()),
    }
}

fn answered(question: &str, region: Option<&str>, offset: usize) -> Answer {
    let lead = match region {
        Some(r) => format!("关于“{question}”（{r}），找到以下条款："),
        None => format!("关于“{question}”，找到以下条款："),
    };
    Answer {
        question: question.to_string(),
        status: Status::Answered,
        intent: Some("融资贷款".to_string()),
        region: region.map(str::to_string),
        lead,
        hits: vec![cited(offset + 1, "short"), cited(offset + 2, "long")],
        followups: vec![
            Followup::More,
            Followup::FullText {
                rank: offset + 1,
                clause_id: "short".to_string(),
            },
            Followup::FullText {
                rank: offset + 2,
                clause_id: "long".to_string(),
            },
            Followup::Region {
                region: "安阳".to_string(),
            },
            Followup::Ask {
                label: "申请条件".to_string(),
                question: "贷款贴息申请条件".to_string(),
            },
        ],
        continued: false,
    }
}

impl Fixture {
    fn remember(&self, session: &mut Session, answer: &Answer) {
        session.last_question = Some(answer.question.clone());
        session.followups.clone_from(&answer.followups);
        session.shown += answer.hits.len();
        session.answer_id = self.ids.fetch_add(1, Ordering::Relaxed) + 1;
    }
}

impl Fixture {
    fn full_text(&self, clause_id: &str) -> Option<FullText> {
        let citation = "《关于<进一步>支持小微企业的若干措施》（豫政〔2022〕1号）".to_string();
        match clause_id {
            "short" => Some(FullText {
                citation,
                text: "对符合条件的小微企业给予贷款贴息。".to_string(),
            }),
            "long" => Some(FullText {
                citation,
                text: long_clause(),
            }),
            _ => None,
        }
    }
}

impl Knowledge for Fixture {
    /// Every message is a question here; typed follow-ups are tested with `RealApp`.
    fn message(&self, text: &str, session: &mut Session, _opts: &AskOptions) -> Reply {
        session.shown = 0;
        let answer = answered(text, session.region.as_deref(), 0);
        self.remember(session, &answer);
        Reply::Answer(answer)
    }

    fn ask(&self, text: &str, session: &mut Session, _opts: &AskOptions) -> Answer {
        let answer = answered(text, session.region.as_deref(), 0);
        self.remember(session, &answer);
        answer
    }

    fn press(&self, session: &mut Session, action: Action) -> Option<Reply> {
        let (answer_id, n, kind) = match action {
            Action::Followup { answer_id, n, kind } => (answer_id, n, kind),
            Action::Ticket { answer_id } => {
                let question = session.last_question.clone().unwrap_or_default();
                let clauses = answered(&question, None, 0).hits;
                return session
                    .owns(answer_id)
                    .then_some(Reply::Ticket(Ticket { question, clauses }));
            }
            Action::Rate { answer_id, useful } => {
                return session.owns(answer_id).then(|| Reply::Rated {
                    answer_id,
                    useful,
                    question: session.last_question.clone().unwrap_or_default(),
                    clauses: Vec::new(),
                });
            }
        };
        let question = session.last_question.clone()?;
        let answer = match session.followup(answer_id, n, kind)? {
            Followup::More => answered(&question, None, session.shown),
            Followup::Region { region } => answered(&question, Some(region), 0),
            Followup::Ask { question, .. } => answered(question, None, 0),
            Followup::FullText { clause_id, .. } => {
                return self.full_text(clause_id).map(Reply::FullText);
            }
        };
        self.remember(session, &answer);
        Some(Reply::Answer(answer))
    }

    fn set_region(
        &self,
        session: &mut Session,
        name: &str,
    ) -> Result<Option<String>, UnknownRegion> {
        // Every name is a place here; the real place table is tested with `RealApp`.
        session.region = Some(name.to_string());
        Ok(session.region.clone())
    }
    fn topics(&self) -> Vec<(String, String)> {
        vec![
            ("融资贷款".to_string(), "小微企业贷款有贴息吗".to_string()),
            ("房租减免".to_string(), "个体工商户房租能减免吗".to_string()),
        ]
    }

    fn filters(&self, args: &str) -> Result<Filters, FilterError> {
        Filters::parse(args, &Places::default())
    }

    fn document_points(&self, _doc_id: &str) -> Option<FullText> {
        None
    }

    fn document_text(&self, _doc_id: &str) -> Option<FullText> {
        None
    }
}

/// The bot under test, running against its own fake Bot API; stopped on drop.
pub struct Running {
    pub api: FakeBotApi,
    bot: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.bot.abort();
    }
}

/// Pacing so high it never holds a send (Telegram's limits off, the pacer still in the path).
pub fn no_limits() -> Limits {
    Limits {
        overall_per_sec: 10_000,
        private_per_sec: 1000,
        private_burst: 1000,
        group_per_min: 60_000,
    }
}

/// The bot with pacing on (high limits, so tests are quick; 429s are still waited out).
async fn start_bot(flood_per_minute: u32) -> Running {
    start_bot_with(flood_per_minute, Some(no_limits())).await
}

async fn start_bot_with(flood_per_minute: u32, limits: Option<Limits>) -> Running {
    let knowledge = Arc::new(Fixture {
        ids: AtomicU64::new(0),
    });
    start_bot_on(knowledge, flood_per_minute, limits).await
}

async fn start_bot_on<K: Knowledge>(
    knowledge: Arc<K>,
    flood_per_minute: u32,
    limits: Option<Limits>,
) -> Running {
    let store = MemoryStore::new(Duration::from_secs(600), 10_000);
    start_bot_with_store(knowledge, store, flood_per_minute, limits).await
}

async fn start_bot_with_store<K: Knowledge, S: BotStore>(
    knowledge: Arc<K>,
    store: S,
    flood_per_minute: u32,
    limits: Option<Limits>,
) -> Running {
    start_bot_configured(knowledge, store, |cfg| {
        cfg.limits = limits;
        cfg.flood_per_minute = flood_per_minute;
    })
    .await
}

/// The bot on `store` with its configuration changed by `configure` (after the fake Bot API's
/// URL and a 1 s long poll are set).
pub async fn start_bot_configured<K: Knowledge, S: BotStore>(
    knowledge: Arc<K>,
    store: S,
    configure: impl FnOnce(&mut BotConfig),
) -> Running {
    let api = FakeBotApi::start().await;
    let mut cfg = BotConfig::new(Secret::new(fake::TOKEN));
    cfg.api_url = Some(api.url());
    cfg.poll_timeout = Duration::from_secs(1);
    configure(&mut cfg);
    let bot = tokio::spawn(async move {
        if let Err(e) = telegram::run(knowledge, store, None, cfg).await {
            panic!("bot stopped: {e}");
        }
    });
    let calls = api
        .wait_until(WAIT, |c| c.iter().any(|c| c.method == "setmycommands"))
        .await;
    assert!(
        calls.iter().any(|c| c.method == "getme"),
        "help: the bot did not start"
    );
    Running { api, bot }
}

/// Sends an update and waits until `n` more sendMessage calls succeeded; returns those.
async fn exchange(api: &FakeBotApi, update: Value, n: usize) -> Vec<Value> {
    let before = api.ok_calls("sendMessage").len();
    api.push(update);
    let sent = api.wait_for("sendMessage", before + n, WAIT).await;
    assert!(
        sent.len() >= before + n,
        "help: expected {n} replies, got {}",
        sent.len() - before
    );
    sent[before..].to_vec()
}

/// The question [`settle`] asks; its answer quotes it.
const MARKER: &str = "标记问题";

/// Waits until each of `chats` (chat id, user) has handled every update sent to it so far: asks
/// [`MARKER`] there and waits for the answers (the updates of one chat are handled in order), so
/// a check that nothing else was sent can fail. Returns every message sent except those answers.
async fn settle(api: &FakeBotApi, chats: &[(i64, u64)]) -> Vec<Value> {
    for &(chat, user) in chats {
        api.push(fake::text(chat, user, &format!("/ask {MARKER}")));
    }
    let is_marker = |m: &Value| text(m).contains(MARKER);
    api.wait_until(WAIT, |calls| {
        let answered = calls_of(calls, "sendmessage", Some(true), None);
        answered.filter(|c| is_marker(&c.body)).count() >= chats.len()
    })
    .await;
    let sent = api.ok_calls("sendMessage");
    assert_eq!(
        sent.iter().filter(|m| is_marker(m)).count(),
        chats.len(),
        "help: a marker question went unanswered"
    );
    sent.into_iter().filter(|m| !is_marker(m)).collect()
}

/// The (label, callback data) of every inline button of a sent message.
pub fn buttons(message: &Value) -> Vec<(String, String)> {
    message["reply_markup"]["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .map(|b| {
            (
                b["text"].as_str().unwrap_or_default().to_string(),
                b["callback_data"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Presses the button of `message` (message `msg_id` of private chat 100) whose callback data
/// starts with `prefix`, and returns the one reply.
async fn press(api: &FakeBotApi, msg_id: i64, message: &Value, prefix: &str) -> Value {
    let update = fake::callback(100, 100, msg_id, &button(message, prefix));
    exchange(api, update, 1).await.remove(0)
}

fn button(message: &Value, prefix: &str) -> String {
    buttons(message)
        .into_iter()
        .map(|(_, data)| data)
        .find(|d| d.starts_with(prefix))
        .unwrap_or_else(|| panic!("help: no {prefix} button in {message}"))
}

/// The text of a sent message.
pub fn text(message: &Value) -> &str {
    message["text"].as_str().unwrap_or_default()
}

/// Checks that `text` is HTML Telegram's parser accepts: only its tags, balanced and nested,
/// every `&` an entity, no stray `<`/`>`, and within 4096 characters.
fn check_html(text: &str) -> Result<(), String> {
    const ALLOWED: [&str; 14] = [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "tg-spoiler",
        "blockquote",
    ];
    if text.encode_utf16().count() > 4096 {
        return Err(format!("{} UTF-16 units", text.encode_utf16().count()));
    }
    if text.trim().is_empty() {
        return Err("empty text".to_string());
    }
    let mut open: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['<', '>', '&']) {
        let tail = &rest[i..];
        match tail.as_bytes()[0] {
            b'>' => return Err(format!("stray '>' at {tail:.20}")),
            b'&' => {
                let end = tail
                    .find(';')
                    .ok_or_else(|| format!("unterminated entity {tail:.12}"))?;
                let name = &tail[1..end];
                let numeric = name.strip_prefix('#').is_some_and(|n| {
                    n.strip_prefix('x').map_or_else(
                        || n.bytes().all(|b| b.is_ascii_digit()),
                        |h| h.bytes().all(|b| b.is_ascii_hexdigit()),
                    ) && n.len() > 1
                });
                if !matches!(name, "lt" | "gt" | "amp" | "quot") && !numeric {
                    return Err(format!("unknown entity &{name};"));
                }
                rest = &tail[end + 1..];
            }
            _ => {
                let end = tail
                    .find('>')
                    .ok_or_else(|| format!("unclosed tag {tail:.20}"))?;
                let tag = &tail[1..end];
                if tag.contains('<') {
                    return Err(format!("stray '<' in {tag}"));
                }
                match tag.strip_prefix('/') {
                    Some(name) => match open.pop() {
                        Some(top) if top == name => {}
                        top => return Err(format!("</{name}> closes {top:?}")),
                    },
                    None => {
                        let name = tag.split_whitespace().next().unwrap_or_default();
                        if !ALLOWED.contains(&name) {
                            return Err(format!("tag <{name}> not allowed"));
                        }
                        open.push(name.to_string());
                    }
                }
                rest = &tail[end + 1..];
            }
        }
    }
    match open.is_empty() {
        true => Ok(()),
        false => Err(format!("unclosed {open:?}")),
    }
}

/// Every text the bot sent is valid Telegram HTML, sent with parse_mode HTML.
fn assert_all_html(api: &FakeBotApi) {
    let sent = api.ok_calls("sendMessage");
    assert!(!sent.is_empty());
    for m in sent {
        assert_eq!(m["parse_mode"], "HTML");
        if let Err(e) = check_html(text(&m)) {
            panic!("help: invalid HTML sent ({e}): {}", text(&m));
        }
    }
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

#[test]
fn html_checker_rejects_what_telegram_rejects() {
    for bad in [
        "a < b",
        "a > b",
        "<b>x",
        "<b>x</i>",
        "<script>x</script>",
        "&nbsp;",
        "a & b",
        "<b>x</b",
        "",
    ] {
        assert!(check_html(bad).is_err(), "help: {bad:?} accepted");
    }
    for good in [
        "<b>粗</b>&lt;&amp;&gt;&quot;&#39;&#x4e00;",
        "<a href=\"https://x\">x</a>",
        "<i>x</i>",
    ] {
        assert!(
            check_html(good).is_ok(),
            "help: {good:?} rejected: {:?}",
            check_html(good)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_question_gets_escaped_html_with_buttons() {
    let bot = start_bot(100).await;
    let api = &bot.api;
    let commands = api.ok_calls("setMyCommands");
    let names: Vec<&str> = commands[0]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["command"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "start",
            "help",
            "ask",
            "region",
            "topics",
            "subscribe",
            "unsubscribe",
            "subscriptions",
            "reset"
        ]
    );

    let reply = exchange(api, fake::private(100, "小微企业<script>贷款&贴息"), 1).await;
    let m = &reply[0];
    assert_eq!(m["chat_id"], 100);
    assert!(
        text(m).contains("小微企业&lt;script&gt;贷款&amp;贴息"),
        "help: user text not escaped: {}",
        text(m)
    );
    assert!(text(m).contains("<b>小微企业</b>"), "help: hits not bold");
    let kinds: Vec<String> = buttons(m).iter().map(|(_, d)| d[..2].to_string()).collect();
    assert_eq!(kinds, ["t:", "t:", "m:", "r:", "a:", "v:", "v:"]);
    let labels: Vec<String> = buttons(m).into_iter().map(|(l, _)| l).collect();
    assert_eq!(
        labels[..5],
        ["全文 1", "全文 2", "更多结果", "只看安阳", "申请条件"]
    );
    for (_, data) in buttons(m) {
        assert!(data.len() <= 64);
    }
    assert_all_html(api);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_button_kind_is_answered() {
    let bot = start_bot(100).await;
    let api = &bot.api;
    let first = exchange(api, fake::private(100, "贷款贴息"), 1)
        .await
        .remove(0);
    let msg_id = 10_001;

    // 全文 1: the clause's full text, citation first.
    let full = exchange(
        api,
        fake::callback(100, 100, msg_id, &button(&first, "t:")),
        1,
    )
    .await;
    assert!(
        text(&full[0]).starts_with("<b>《关于&lt;进一步&gt;"),
        "help: {}",
        text(&full[0])
    );
    assert!(text(&full[0]).contains("对符合条件的小微企业给予贷款贴息。"));

    // 👍: a toast, no message.
    let before = api.ok_calls("answerCallbackQuery").len();
    api.push(fake::callback(100, 100, msg_id, &button(&first, "v:")));
    let acks = api.wait_for("answerCallbackQuery", before + 1, WAIT).await;
    assert_eq!(acks.last().unwrap()["text"], texts::THANKS);

    // 更多结果 → the next page, with new buttons.
    let more = press(api, msg_id, &first, "m:").await;
    assert!(
        text(&more).contains("<b>3. "),
        "help: next page starts at rank 3: {}",
        text(&more)
    );

    // 只看安阳 on the newest answer.
    let region = press(api, msg_id + 1, &more, "r:").await;
    assert!(
        text(&region).contains("（安阳）"),
        "help: {}",
        text(&region)
    );

    // A related question.
    let ask = press(api, msg_id + 2, &region, "a:").await;
    assert!(
        text(&ask).contains("贷款贴息申请条件"),
        "help: {}",
        text(&ask)
    );

    let acks = api.wait_for("answerCallbackQuery", 5, WAIT).await;
    assert_eq!(acks.len(), 5, "help: every press gets answerCallbackQuery");
    assert_all_html(api);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_forged_and_foreign_presses_get_a_toast_only() {
    let bot = start_bot(100).await;
    let api = &bot.api;
    let first = exchange(api, fake::private(100, "贷款贴息"), 1)
        .await
        .remove(0);
    let stale = button(&first, "m:");
    exchange(api, fake::callback(100, 100, 10_001, &stale), 1).await;
    let presses = [
        fake::callback(100, 100, 10_001, &stale),
        fake::callback(100, 100, 10_001, "m:zz:1"),
        fake::callback(100, 100, 10_001, "t:0:2"),
        fake::callback(100, 100, 10_001, "whatever"),
        fake::callback(100, 200, 10_001, &button(&first, "r:")),
    ];
    let n = presses.len();
    let acks_before = api.ok_calls("answerCallbackQuery").len();
    for press in presses {
        api.push(press);
    }
    let acks = api
        .wait_for("answerCallbackQuery", acks_before + n, WAIT)
        .await;
    assert_eq!(
        acks.len(),
        acks_before + n,
        "help: every press is acknowledged"
    );
    for ack in &acks[acks_before..] {
        assert_eq!(ack["text"], texts::EXPIRED);
    }
    let replies = settle(api, &[(100, 100)]).await;
    let expired = replies.iter().filter(|m| text(m) == texts::EXPIRED).count();
    assert_eq!(
        expired, 0,
        "help: stale presses are answered by the toast only, no message in the chat"
    );
    assert!(
        replies.iter().all(|m| !text(m).contains("（安阳）")),
        "help: another user's button must not run"
    );
    assert_all_html(api);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_of_every_origin_are_answered_naming_the_origin() {
    let bot = start_bot(100).await;
    let api = &bot.api;
    let cases = [
        (
            fake::origin_user(7, "zhangsan"),
            "转发自用户 用户7（@zhangsan）",
        ),
        (
            fake::origin_hidden("李<四>"),
            "转发自用户 李&lt;四&gt;（未公开账号）",
        ),
        (
            fake::origin_chat("商户群", "王五"),
            "转发自群组「商户群」，署名 王五",
        ),
        (fake::origin_channel("政策速递"), "转发自频道「政策速递」"),
    ];
    for (i, (origin, named)) in cases.into_iter().enumerate() {
        let user = 300 + i as u64;
        let reply = exchange(api, fake::forwarded(user, "房租减免政策", origin), 1)
            .await
            .remove(0);
        assert_eq!(reply["chat_id"], user);
        assert!(
            text(&reply).starts_with(&format!("<i>{named}</i>")),
            "help: {}",
            text(&reply)
        );
        assert!(text(&reply).contains("房租减免政策"));
    }
    assert_all_html(api);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_that_adds_the_bot_gets_one_greeting() {
    let bot = start_bot(100).await;
    let api = &bot.api;
    let group = -100_700;
    let greeting = exchange(api, fake::my_chat_member(group, 5, "left", "member"), 1)
        .await
        .remove(0);
    assert_eq!(greeting["chat_id"], group);
    assert_eq!(unescape(text(&greeting)), texts::GROUP_GREETING);
    // Promoted, restricted, promoted again: still present, no further greeting. The marker
    // question's answer comes after whatever these would have sent.
    for (old, new) in [("member", "administrator"), ("administrator", "member")] {
        api.push(fake::my_chat_member(group, 5, old, new));
    }
    let marker = exchange(api, fake::text(group, 5, "/ask 房租减免"), 1)
        .await
        .remove(0);
    assert!(text(&marker).contains("房租减免"), "{marker}");
    let greetings = api
        .sent_to(group)
        .iter()
        .filter(|m| unescape(text(m)) == texts::GROUP_GREETING)
        .count();
    assert_eq!(greetings, 1, "help: greeted once");
    // A private chat never gets the group greeting.
    api.push(fake::my_chat_member(900, 900, "kicked", "member"));
    let reply = exchange(api, fake::private(900, "/help"), 1)
        .await
        .remove(0);
    assert_eq!(unescape(text(&reply)), texts::HELP);
    assert_eq!(api.sent_to(900).len(), 1, "help: only the /help answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_message_mentioning_the_bot_is_answered_like_ask() {
    let bot = start_bot(100).await;
    let api = &bot.api;
    let group = -100_710;
    api.push(fake::text(group, 21, "@other_bot 贷款贴息"));
    let reply = exchange(api, fake::text(group, 21, "@policybot 房租减免"), 1)
        .await
        .remove(0);
    assert!(text(&reply).contains("房租减免"), "{reply}");
    assert!(!text(&reply).contains("@policybot"), "{reply}");
    let usage = exchange(api, fake::text(group, 21, "@PolicyBot"), 1)
        .await
        .remove(0);
    assert_eq!(unescape(text(&usage)), texts::ASK_USAGE);
    assert_eq!(api.sent_to(group).len(), 2, "help: @other_bot is ignored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_answer_ask_and_replies_and_ignore_chatter() {
    let bot = start_bot(100).await;
    let api = &bot.api;
    let group = -100_500;
    for chatter in ["大家好", "/ask@other_bot 贷款", "/foo", "今天开会吗"] {
        api.push(fake::text(group, 11, chatter));
    }
    let reply = exchange(api, fake::text(group, 11, "/ask@policybot 贷款贴息"), 1)
        .await
        .remove(0);
    assert_eq!(reply["chat_id"], group);
    assert!(text(&reply).contains("贷款贴息"));
    assert!(
        reply["reply_parameters"]["message_id"].as_i64().is_some(),
        "help: replies to the asker"
    );
    let reply = exchange(api, fake::text(group, 12, "/ask 房租减免"), 1)
        .await
        .remove(0);
    assert!(text(&reply).contains("房租减免"));
    let reply = exchange(api, fake::reply_to_bot(group, 12, "申请条件呢", 10_002), 1)
        .await
        .remove(0);
    assert!(text(&reply).contains("申请条件呢"));
    let usage = exchange(api, fake::text(group, 13, "/ask"), 1)
        .await
        .remove(0);
    assert_eq!(text(&usage), texts::ASK_USAGE);
    assert_eq!(
        settle(api, &[(group, 11)]).await.len(),
        4,
        "help: chatter must stay unanswered"
    );
    assert_all_html(api);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_start_topics_region_reset() {
    let bot = start_bot(100).await;
    let api = &bot.api;
    let start = exchange(api, fake::private(100, "/start"), 1)
        .await
        .remove(0);
    let examples: Vec<(String, String)> = buttons(&start);
    assert_eq!(examples.len(), 3);
    assert_eq!(
        examples[0],
        (texts::EXAMPLES[0].to_string(), "e:0".to_string())
    );
    let reply = exchange(api, fake::callback(100, 100, 10_001, "e:0"), 1)
        .await
        .remove(0);
    assert!(text(&reply).contains(texts::EXAMPLES[0]));

    let topics = exchange(api, fake::private(100, "/topics"), 1)
        .await
        .remove(0);
    assert_eq!(
        buttons(&topics),
        [
            ("融资贷款".into(), "q:0".into()),
            ("房租减免".into(), "q:1".into())
        ]
    );
    let reply = exchange(api, fake::callback(100, 100, 10_003, "q:1"), 1)
        .await
        .remove(0);
    assert!(text(&reply).contains("个体工商户房租能减免吗"));
    // A topic button that no longer exists: a toast for the presser, no message.
    let acks = api.ok_calls("answerCallbackQuery").len();
    api.push(fake::callback(100, 100, 10_003, "q:9"));
    let acked = api.wait_for("answerCallbackQuery", acks + 1, WAIT).await;
    assert_eq!(
        acked.last().map(|a| a["text"].clone()),
        Some(texts::EXPIRED.into())
    );

    let set = exchange(api, fake::private(100, "/region 安阳"), 1)
        .await
        .remove(0);
    assert!(text(&set).contains("安阳"));
    let reply = exchange(api, fake::private(100, "贷款贴息"), 1)
        .await
        .remove(0);
    assert!(
        text(&reply).contains("（安阳）"),
        "help: /region is sticky: {}",
        text(&reply)
    );
    exchange(api, fake::private(100, "/reset"), 1).await;
    let reply = exchange(api, fake::private(100, "贷款贴息"), 1)
        .await
        .remove(0);
    assert!(
        !text(&reply).contains("（安阳）"),
        "help: /reset forgets the region"
    );
    let help = exchange(api, fake::private(100, "/help"), 1)
        .await
        .remove(0);
    assert!(text(&help).contains("/region"));
    assert_all_html(api);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_limit_replies_politely() {
    let bot = start_bot(3).await;
    let api = &bot.api;
    for i in 0..5 {
        api.push(fake::private(100, &format!("问题{i}")));
    }
    let sent = api.wait_for("sendMessage", 5, WAIT).await;
    let floods = sent.iter().filter(|m| text(m) == texts::FLOOD).count();
    assert_eq!(
        (sent.len(), floods),
        (5, 2),
        "help: 3 answers then 2 flood replies"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_with_429s_answers_every_question_exactly_once() {
    let bot = start_bot(100).await;
    let api = &bot.api;
    api.fail_next_sends(6, Failure::TooManyRequests);
    let users: Vec<u64> = (1000..1030).collect();
    for &u in &users {
        api.push(fake::private(u, &format!("用户{u}的问题")));
    }
    let sent = api
        .wait_for("sendMessage", users.len(), Duration::from_secs(30))
        .await;
    let chats: Vec<(i64, u64)> = users.iter().map(|&u| (u as i64, u)).collect();
    let answers = settle(api, &chats).await;
    assert!(sent.len() >= users.len());
    assert_eq!(
        answers.len(),
        users.len(),
        "help: every question answered once"
    );
    let failed = calls_of(&api.calls(), "sendmessage", Some(false), None).count();
    assert_eq!(failed, 6, "help: the 429s were really served");
    for &u in &users {
        let to_user = answers.iter().filter(|m| m["chat_id"] == u).count();
        assert_eq!(to_user, 1, "help: user {u} got {to_user} answers");
    }
}

/// The calls of `method` (lowercased) among `calls`, in arrival order: only those that took
/// effect (`Some(true)`) or did not (`Some(false)`), and only those to `chat`, when given.
fn calls_of<'a>(
    calls: &'a [fake::Call],
    method: &'a str,
    ok: Option<bool>,
    chat: Option<i64>,
) -> impl Iterator<Item = &'a fake::Call> + 'a {
    calls.iter().filter(move |c| {
        c.method == method
            && ok.is_none_or(|ok| c.ok == ok)
            && chat.is_none_or(|chat| c.body["chat_id"] == chat)
    })
}

/// sendMessage calls to `chat` (failed or not), in arrival order.
fn sends_to(api: &FakeBotApi, chat: i64) -> Vec<fake::Call> {
    calls_of(&api.calls(), "sendmessage", None, Some(chat))
        .cloned()
        .collect()
}

/// Issue 9: a 5xx that says the message was not processed (503) costs a short backoff, not
/// teloxide's 10 s; a 502 that comes back after Telegram delivered the message is not sent again
/// (one copy; the reply is logged in doubt).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_costs_under_2_s_and_a_delivered_message_is_never_sent_twice() {
    crate::support::logs::capture();
    let bot = start_bot(100).await;
    let api = &bot.api;
    api.fail_next_sends(1, Failure::ServiceUnavailable);
    api.push(fake::private(100, "贷款贴息"));
    api.wait_for("sendMessage", 1, WAIT).await;
    let calls = sends_to(api, 100);
    assert_eq!(calls.len(), 2, "help: the 503, then the answer");
    assert!(!calls[0].ok && calls[1].ok);
    assert!(text(&calls[1].body).contains("贷款贴息"));
    let cost = calls[1].at.duration_since(calls[0].at);
    assert!(cost < Duration::from_secs(2), "help: the 503 cost {cost:?}");

    api.fail_next_sends(1, Failure::BadGatewayAfterDelivery);
    api.push(fake::private(101, "房租减免"));
    api.wait_until(WAIT, |calls| {
        calls_of(calls, "sendmessage", None, Some(101))
            .next()
            .is_some()
    })
    .await;
    // A resend would come within the retry backoff.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let calls = sends_to(api, 101);
    assert_eq!(calls.len(), 1, "help: not sent again: {calls:?}");
    assert!(calls[0].ok, "help: the message was delivered");
    let logged = crate::support::logs::lines_with("chat=101");
    assert!(
        logged.contains("in doubt"),
        "help: the lost answer is logged in doubt:\n{logged}"
    );
    eprintln!("503 on one send: answered {cost:?} after it; 502 after delivery: 1 copy, in doubt");
}

/// Issue 9: a getUpdates answered 502 (or failing in any other way) is fetched again after a
/// short backoff (250 ms, doubling), not after teloxide's 10 s sleep; each run of failures is
/// logged once when it starts and once when it ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_502_on_get_updates_costs_under_2_s_and_is_logged_once_per_run() {
    crate::support::logs::capture();
    let bot = start_bot(100).await;
    let api = &bot.api;
    let runs = [1, 2];
    for (run, failures) in runs.into_iter().enumerate() {
        let failed_polls =
            |calls: &[fake::Call]| calls_of(calls, "getupdates", Some(false), None).count();
        let before = failed_polls(&api.calls());
        api.fail_next("getUpdates", failures);
        let calls = api
            .wait_until(WAIT, |calls| failed_polls(calls) >= before + failures)
            .await;
        let failed: Vec<_> = calls_of(&calls, "getupdates", Some(false), None).collect();
        assert_eq!(
            failed.len(),
            before + failures,
            "help: the 502s were served"
        );
        let last_failure = failed[failed.len() - 1].at;
        let user = 300 + run as u64;
        api.push(fake::private(user, "贷款贴息"));
        api.wait_until(WAIT, |calls| {
            calls_of(calls, "sendmessage", Some(true), Some(user as i64))
                .next()
                .is_some()
        })
        .await;
        let answer = sends_to(api, user as i64);
        assert_eq!(answer.len(), 1, "help: the question got through");
        let cost = answer[0].at.duration_since(last_failure);
        assert!(
            cost < Duration::from_secs(2),
            "help: answered {cost:?} after the last of {failures} 502s"
        );
        eprintln!("{failures} getUpdates 502(s): answered {cost:?} after the last one");
    }
    let server = format!("server={}", api.url().authority());
    let logged = crate::support::logs::lines_with(&server);
    let started = logged.matches("getUpdates failed").count();
    let ended: Vec<&str> = logged
        .lines()
        .filter(|l| l.contains("getUpdates works again"))
        .collect();
    assert_eq!(started, runs.len(), "help: one line per run:\n{logged}");
    assert_eq!(ended.len(), runs.len(), "help: {logged}");
    assert!(ended[1].contains("failures=2"), "help: {}", ended[1]);
}

/// Issue 9: a 429 (retry_after) for one chat holds that chat only: another chat's answer goes
/// out while the first waits (with teloxide's `Throttle`, every send of the bot waited).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_for_one_chat_does_not_delay_another_chat() {
    let bot = start_bot_with(100, Some(Limits::default())).await;
    let api = &bot.api;
    api.limit_chat(100, 3, 1);
    api.push(fake::private(100, "贷款贴息"));
    api.wait_until(WAIT, |calls| {
        calls_of(calls, "sendmessage", None, Some(100))
            .next()
            .is_some()
    })
    .await;
    api.push(fake::private(200, "房租减免"));
    api.wait_until(Duration::from_secs(20), |calls| {
        [100, 200].iter().all(|&chat| {
            calls_of(calls, "sendmessage", Some(true), Some(chat))
                .next()
                .is_some()
        })
    })
    .await;
    let limited = sends_to(api, 100);
    assert_eq!(limited.len(), 2, "help: the 429, then the answer");
    assert!(!limited[0].ok && limited[1].ok);
    let other = sends_to(api, 200);
    assert_eq!(other.len(), 1);
    let waited = limited[1].at.duration_since(limited[0].at);
    assert!(
        waited >= Duration::from_millis(2900),
        "help: chat 100 waited out its retry_after: {waited:?}"
    );
    assert!(
        other[0].at < limited[1].at,
        "help: chat 200 was answered while chat 100 waited"
    );
    eprintln!(
        "429 (3 s) for chat 100: chat 200 answered {:?} after chat 100's 429, chat 100 after {waited:?}",
        other[0].at.duration_since(limited[0].at)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_html_is_sent_again_as_plain_text() {
    let bot = start_bot(100).await;
    let api = &bot.api;
    api.fail_next_sends(1, Failure::BadEntities);
    api.push(fake::private(100, "小微企业<script>贷款&贴息"));
    let sent = api
        .wait_for("sendMessage", 1, Duration::from_secs(20))
        .await;
    assert_eq!(sent.len(), 1, "one answer, in plain text");
    let body = &sent[0];
    assert!(body.get("parse_mode").is_none(), "{body}");
    let plain = text(body);
    assert!(!plain.contains("<b>") && !plain.contains("&lt;"), "{plain}");
    assert!(plain.contains("<script>"), "entities decoded: {plain}");
    assert!(body.get("reply_markup").is_some(), "buttons kept");
}

/// Issue 3 bar: 100 users asking at once through the fake with Telegram limits off: every
/// question answered exactly once. The p50/p95 from update delivered to reply received are
/// printed as the measurement (`cargo test --release --test it hundred -- --nocapture`); speed is
/// reported, not asserted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_users_each_answered_once() {
    let bot = start_bot_with(100, None).await;
    let api = &bot.api;
    let users: Vec<u64> = (5000..5100).collect();
    let ids: Vec<(u64, i64)> = users
        .iter()
        .map(|&u| (u, api.push(fake::private(u, &format!("用户{u}：贷款贴息")))))
        .collect();
    api.wait_for("sendMessage", users.len(), Duration::from_secs(30))
        .await;
    let chats: Vec<(i64, u64)> = users.iter().map(|&u| (u as i64, u)).collect();
    settle(api, &chats).await;
    let calls: Vec<_> = api
        .calls()
        .into_iter()
        .filter(|c| !text(&c.body).contains(MARKER))
        .collect();
    let mut latencies = Vec::new();
    for (user, update) in ids {
        let replies: Vec<_> =
            calls_of(&calls, "sendmessage", Some(true), Some(user as i64)).collect();
        assert_eq!(
            replies.len(),
            1,
            "help: user {user} got {} answers",
            replies.len()
        );
        let delivered = api.delivered_at(update).expect("update delivered");
        latencies.push(replies[0].at.duration_since(delivered));
    }
    latencies.sort();
    let p95 = latencies[latencies.len() * 95 / 100 - 1];
    eprintln!(
        "100 concurrent users: p50 {:?}, p95 {p95:?}",
        latencies[latencies.len() / 2]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_full_text_is_split_on_sentences() {
    let bot = start_bot(100).await;
    let api = &bot.api;
    let first = exchange(api, fake::private(100, "贷款贴息"), 1)
        .await
        .remove(0);
    let long = buttons(&first)
        .into_iter()
        .find(|(l, _)| l == "全文 2")
        .unwrap()
        .1;
    api.push(fake::callback(100, 100, 10_001, &long));
    let sent = api
        .wait_until(WAIT, |calls| {
            calls.iter().any(|c| {
                c.ok && c.body["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("（3/3）") || t.contains("（4/4）"))
            })
        })
        .await;
    assert!(!sent.is_empty());
    let parts: Vec<String> = settle(api, &[(100, 100)]).await[1..]
        .iter()
        .map(|m| text(m).to_string())
        .collect();
    let n = parts.len();
    assert!(n >= 3, "help: {n} parts");
    let mut body = String::new();
    for (i, part) in parts.iter().enumerate() {
        assert!(part.encode_utf16().count() <= 4096);
        let marker = format!("\n（{}/{n}）", i + 1);
        let content = part
            .strip_suffix(&marker)
            .unwrap_or_else(|| panic!("help: part {i} lacks {marker}"));
        let content = match i {
            0 => content.split_once("</b>\n\n").expect("citation first").1,
            _ => content,
        };
        assert!(content.ends_with('。'), "help: part {i} cut mid-sentence");
        body.push_str(&unescape(content));
    }
    assert_eq!(
        body,
        long_clause(),
        "help: the parts concatenate to the clause"
    );
    assert_all_html(api);
}

/// The real knowledge base (bundled compendium), shared with the `kb` tests.
pub struct RealApp(pub &'static App);

impl Knowledge for RealApp {
    fn message(&self, text: &str, session: &mut Session, opts: &AskOptions) -> Reply {
        self.0.message(text, session, opts)
    }
    fn ask(&self, text: &str, session: &mut Session, opts: &AskOptions) -> Answer {
        self.0.ask(text, session, opts)
    }
    fn press(&self, session: &mut Session, action: Action) -> Option<Reply> {
        self.0.press(session, action)
    }
    fn set_region(
        &self,
        session: &mut Session,
        name: &str,
    ) -> Result<Option<String>, UnknownRegion> {
        self.0.set_region(session, name)
    }
    fn topics(&self) -> Vec<(String, String)> {
        self.0.topics()
    }
    fn filters(&self, args: &str) -> Result<Filters, FilterError> {
        self.0.filters(args)
    }
    fn document_points(&self, doc_id: &str) -> Option<FullText> {
        self.0.document_points(doc_id)
    }
    fn document_text(&self, doc_id: &str) -> Option<FullText> {
        self.0.document_text(doc_id)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_app_answers_with_citations_and_working_buttons() {
    let app = tokio::task::spawn_blocking(crate::kb::app)
        .await
        .expect("app builds");
    let bot = start_bot_on(Arc::new(RealApp(app)), 100, Some(no_limits())).await;
    let api = &bot.api;
    let first = exchange(api, fake::private(100, "小微企业贷款有贴息吗"), 1)
        .await
        .remove(0);
    assert!(
        text(&first).contains("<b>1. "),
        "help: a cited clause: {}",
        text(&first)
    );
    let full = button(&first, "t:");
    let parts = exchange(api, fake::callback(100, 100, 10_001, &full), 1).await;
    assert!(
        text(&parts[0]).starts_with("<b>《"),
        "help: citation first: {}",
        text(&parts[0])
    );
    // Issue 10 (#10): the button's label typed takes the button's path: the same message.
    let label = buttons(&first)
        .into_iter()
        .find(|(_, data)| *data == full)
        .expect("全文 button")
        .0;
    let typed = exchange(api, fake::private(100, &label), 1).await;
    assert_eq!(text(&typed[0]), text(&parts[0]), "help: typed {label:?}");
    let more = exchange(
        api,
        fake::callback(100, 100, 10_001, &button(&first, "m:")),
        1,
    )
    .await;
    assert!(!text(&more[0]).is_empty());
    let topics = exchange(api, fake::private(100, "/topics"), 1)
        .await
        .remove(0);
    assert!(
        !buttons(&topics).is_empty(),
        "help: intents/ topics as buttons"
    );
    // Issue 10 (#10): an unknown place is refused with the known ones, not stored and ignored.
    let unknown = exchange(api, fake::private(100, "/region 火星"), 1)
        .await
        .remove(0);
    assert!(
        text(&unknown).contains("未知地区“火星”") && text(&unknown).contains("安阳"),
        "help: {}",
        text(&unknown)
    );
    let known = exchange(api, fake::private(100, "/region"), 1)
        .await
        .remove(0);
    assert!(text(&known).contains("当前未设置地区"), "{}", text(&known));
    let followup = exchange(api, fake::private(100, "那安阳呢"), 1)
        .await
        .remove(0);
    assert!(
        text(&followup).contains("安阳"),
        "help: session follow-up: {}",
        text(&followup)
    );
    assert_all_html(api);
}

/// Issue 9: 更多结果 keeps the answer's other buttons valid: after it, every 全文 N of the first
/// page and its 👍 still work (no 「已过期」 toast), as do the new page's buttons; a new question
/// expires both pages' buttons.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_results_keeps_the_answers_other_buttons_valid() {
    let app = tokio::task::spawn_blocking(crate::kb::app)
        .await
        .expect("app builds");
    let bot = start_bot_on(Arc::new(RealApp(app)), 100, Some(no_limits())).await;
    let api = &bot.api;
    let first = exchange(api, fake::private(100, "小微企业贷款有贴息吗"), 1)
        .await
        .remove(0);
    let more = press(api, 10_001, &first, "m:").await;
    assert!(
        text(&more).contains("<b>4. "),
        "help: page 2: {}",
        text(&more)
    );
    let full_texts = |api: &FakeBotApi| {
        let sent = api.ok_calls("sendMessage");
        sent.iter().filter(|m| text(m).starts_with("<b>《")).count()
    };
    let mut presses: Vec<(i64, String)> = buttons(&first)
        .into_iter()
        .filter(|(_, data)| data.starts_with("t:"))
        .map(|(_, data)| (10_001, data))
        .collect();
    assert!(
        presses.len() >= 2,
        "help: 全文 buttons: {:?}",
        buttons(&first)
    );
    presses.push((10_002, button(&more, "t:")));
    for (n, (message_id, data)) in presses.iter().enumerate() {
        api.push(fake::callback(100, 100, *message_id, data));
        api.wait_until(WAIT, |_| full_texts(api) > n).await;
        assert_eq!(
            full_texts(api),
            n + 1,
            "help: {data} on message {message_id}"
        );
    }
    let acks_before = api.ok_calls("answerCallbackQuery").len();
    api.push(fake::callback(100, 100, 10_001, &button(&first, "v:")));
    let acks = api
        .wait_for("answerCallbackQuery", acks_before + 1, WAIT)
        .await;
    assert_eq!(
        acks[acks_before]["text"],
        texts::THANKS,
        "help: 👍 of page 1"
    );
    assert!(
        acks.iter().all(|a| a["text"] != texts::EXPIRED),
        "help: no button of either page expired: {acks:?}"
    );

    exchange(api, fake::private(100, "个体工商户房租能减免吗"), 1).await;
    for (message_id, data) in [
        (10_001, &presses[0].1),
        (10_002, &presses[presses.len() - 1].1),
    ] {
        let before = api.ok_calls("answerCallbackQuery").len();
        api.push(fake::callback(100, 100, message_id, data));
        let acks = api.wait_for("answerCallbackQuery", before + 1, WAIT).await;
        assert_eq!(
            acks[before]["text"],
            texts::EXPIRED,
            "help: a new question expires page {}",
            message_id - 10_000
        );
    }
}

/// The bot on the real knowledge base with its sessions and operator logs in `redis` under
/// `prefix`.
async fn real_bot_logging_to(redis: &TestRedis, prefix: &str) -> Running {
    let store = RedisStore::connect(redis.url(), prefix, Duration::from_secs(600))
        .await
        .expect("store");
    let app = tokio::task::spawn_blocking(crate::kb::app)
        .await
        .expect("app builds");
    start_bot_with_store(Arc::new(RealApp(app)), store, 100, Some(no_limits())).await
}

/// The questions of the operator's unanswered log under `prefix`, newest first.
async fn logged_questions(redis: &TestRedis, prefix: &str) -> Vec<String> {
    let logged: Vec<String> = redis::cmd("LRANGE")
        .arg(format!("{prefix}unanswered"))
        .arg(0)
        .arg(-1)
        .query_async(&mut redis.connection().await)
        .await
        .expect("LRANGE");
    logged
        .iter()
        .map(|e| policybot::session::Unanswered::parse(e).question)
        .collect()
}

/// Issue 10 (#10): emoji-only input is explained to the user but is no unanswered question in the
/// operator's log; a real question that finds nothing is (and marks the end of the check).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_is_not_logged_as_unanswered() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    let prefix = unique_prefix("invalid_not_unanswered");
    let bot = real_bot_logging_to(&redis, &prefix).await;
    let api = &bot.api;
    let invalid = exchange(api, fake::private(100, "😀😀🎉"), 1)
        .await
        .remove(0);
    assert!(text(&invalid).contains("用文字描述"), "{}", text(&invalid));
    // Logged before its reply is sent: once the reply is here, every earlier entry is too.
    exchange(api, fake::private(100, "美元汇率多少"), 1).await;
    assert_eq!(logged_questions(&redis, &prefix).await, ["美元汇率多少"]);
}

/// A weak (`related`) answer and its 更多结果 page are one question in the operator's log, not
/// two; a question that finds nothing afterwards is logged too (and marks the end of the check).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn further_pages_are_not_logged_as_unanswered_again() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    let prefix = unique_prefix("pages_logged_once");
    let bot = real_bot_logging_to(&redis, &prefix).await;
    let api = &bot.api;
    let weak = "公司法人变更以后公章要不要重新刻";
    let first = exchange(api, fake::private(100, weak), 1).await.remove(0);
    assert!(
        text(&first).contains("没有找到直接规定"),
        "help: a related answer: {}",
        text(&first)
    );
    let more = press(api, 10_001, &first, "m:").await;
    assert!(
        text(&more).contains("<b>4. "),
        "help: page 2: {}",
        text(&more)
    );
    exchange(api, fake::private(100, "美元汇率多少"), 1).await;
    let mut logged = logged_questions(&redis, &prefix).await;
    logged.sort();
    let mut expected = vec![weak.to_string(), "美元汇率多少".to_string()];
    expected.sort();
    assert_eq!(logged, expected);
}

/// Posts `body` to the bot's webhook listener at `addr` + `path`; returns the HTTP status.
async fn post_update(
    addr: std::net::SocketAddr,
    path: &str,
    secret: Option<&str>,
    body: &Value,
) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = body.to_string();
    let secret = secret
        .map(|t| format!("X-Telegram-Bot-Api-Secret-Token: {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{secret}Connection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_registers_checks_the_secret_and_answers() {
    let api = FakeBotApi::start().await;
    let port = crate::support::redis::free_port();
    let listen: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let mut cfg = BotConfig::new(Secret::new(fake::TOKEN));
    cfg.api_url = Some(api.url());
    cfg.limits = Some(no_limits());
    cfg.webhook = Some(telegram::Webhook {
        url: url::Url::parse(&format!("http://{listen}/hook")).expect("url"),
        listen,
        secret_token: Some(Secret::new("s3cret")),
    });
    let knowledge = Arc::new(Fixture {
        ids: AtomicU64::new(0),
    });
    let store = MemoryStore::new(Duration::from_secs(600), 100);
    let bot = tokio::spawn(async move {
        if let Err(e) = telegram::run(knowledge, store, None, cfg).await {
            panic!("bot stopped: {e}");
        }
    });
    let calls = api
        .wait_until(WAIT, |c| c.iter().any(|c| c.method == "setwebhook"))
        .await;
    // (setWebhook goes out as multipart form data, which the fake records without fields; the
    // secret token is checked below by the listener's behaviour.)
    assert!(calls.iter().any(|c| c.method == "setwebhook" && c.ok));
    // The listener comes up right after setWebhook.
    let deadline = std::time::Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(listen).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "webhook listener not up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut update = fake::private(100, "小微企业贷款有贴息吗");
    update["update_id"] = serde_json::json!(1);
    let forged = post_update(listen, "/hook", Some("wrong"), &update).await;
    assert_eq!(forged, 401, "a post without the secret token is refused");
    let status = post_update(listen, "/hook", Some("s3cret"), &update).await;
    assert_eq!(status, 200);
    let sent = api.wait_for("sendMessage", 1, WAIT).await;
    assert_eq!(
        sent.len(),
        1,
        "exactly one answer: the forged post was not handled"
    );
    assert_eq!(sent[0]["chat_id"], 100);
    assert!(
        !api.calls().iter().any(|c| c.method == "getupdates"),
        "no long polling in webhook mode"
    );
    bot.abort();
}

/// Issue 9: in webhook mode with Redis, an update is in the inbox before Telegram's post is
/// answered (the answer confirms it: a crash after it must not lose the question). The
/// dispatcher's own getMe is held, so nothing takes updates from the listener until the check
/// is made; before the fix the update was recorded only when the dispatcher took it. A
/// redelivered post is answered 200 and not handled twice; the handled update leaves the inbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_records_an_update_before_answering_the_post() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    let prefix = unique_prefix("webhook_inbox");
    let api = FakeBotApi::start().await;
    // The first getMe is the bot's start; the second the dispatcher's, before it takes updates.
    api.hold_calls_after("getMe", 1);
    let port = crate::support::redis::free_port();
    let listen: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let mut cfg = BotConfig::new(Secret::new(fake::TOKEN));
    cfg.api_url = Some(api.url());
    cfg.limits = Some(no_limits());
    cfg.webhook = Some(telegram::Webhook {
        url: url::Url::parse(&format!("http://{listen}/hook")).expect("url"),
        listen,
        secret_token: Some(Secret::new("s3cret")),
    });
    cfg.recovery = Some(telegram::Recovery {
        redis_url: Secret::new(redis.url()),
        prefix: prefix.clone(),
        replica: "w".to_string(),
    });
    let knowledge = Arc::new(Fixture {
        ids: AtomicU64::new(0),
    });
    let store = MemoryStore::new(Duration::from_secs(600), 100);
    let bot = tokio::spawn(async move {
        if let Err(e) = telegram::run(knowledge, store, None, cfg).await {
            panic!("bot stopped: {e}");
        }
    });
    api.wait_until(WAIT, |c| c.iter().any(|c| c.method == "setwebhook"))
        .await;
    let deadline = std::time::Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(listen).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "webhook listener not up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let inbox = format!("{prefix}inbox:w");
    let mut conn = redis.connection().await;
    let mut update = fake::private(100, "小微企业贷款有贴息吗");
    update["update_id"] = serde_json::json!(7);
    let forged = post_update(listen, "/hook", Some("wrong"), &update).await;
    assert_eq!(forged, 401, "help: a forged post is refused");
    let recorded: bool = redis::cmd("HEXISTS")
        .arg(&inbox)
        .arg(7)
        .query_async(&mut conn)
        .await
        .expect("HEXISTS");
    assert!(!recorded, "help: a forged post is not recorded");
    let status = post_update(listen, "/hook", Some("s3cret"), &update).await;
    assert_eq!(status, 200);
    let recorded: bool = redis::cmd("HEXISTS")
        .arg(&inbox)
        .arg(7)
        .query_async(&mut conn)
        .await
        .expect("HEXISTS");
    assert!(recorded, "help: recorded before the post was answered");
    // Telegram did not get the answer and posts it again.
    let again = post_update(listen, "/hook", Some("s3cret"), &update).await;
    assert_eq!(again, 200, "help: a redelivery is acknowledged");
    api.release();
    let mut marker = fake::private(100, MARKER);
    marker["update_id"] = serde_json::json!(8);
    assert_eq!(
        post_update(listen, "/hook", Some("s3cret"), &marker).await,
        200
    );
    api.wait_until(WAIT, |calls| {
        calls
            .iter()
            .any(|c| c.ok && c.method == "sendmessage" && text(&c.body).contains(MARKER))
    })
    .await;
    let answers: Vec<String> = api
        .sent_to(100)
        .iter()
        .map(|m| text(m).to_string())
        .collect();
    assert_eq!(
        answers.len(),
        2,
        "help: the question once, then the marker: {answers:?}"
    );
    assert!(
        answers[0].contains("小微企业贷款有贴息吗"),
        "{}",
        answers[0]
    );
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let left: usize = redis::cmd("HLEN")
            .arg(&inbox)
            .query_async(&mut conn)
            .await
            .expect("HLEN");
        if left == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "help: handled updates leave the inbox ({left} left)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bot.abort();
}

/// Issue 12 (#12): `/review` shows the operator, and only the operator (a user id in
/// `POLICYBOT_ADMINS`, in a private chat), the week's 👎 questions with their counts; anyone
/// else, and the operator in a group, gets the help text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_is_for_operators_in_private_chats() {
    let knowledge = Arc::new(Fixture {
        ids: AtomicU64::new(0),
    });
    let store = MemoryStore::new(Duration::from_secs(600), 100);
    let bot = start_bot_configured(knowledge, store, |cfg| {
        cfg.limits = Some(no_limits());
        cfg.admins = vec![900];
    })
    .await;
    let api = &bot.api;
    let answer = exchange(api, fake::private(100, "外卖骑手有补贴吗"), 1)
        .await
        .remove(0);
    let down = buttons(&answer)
        .into_iter()
        .map(|(_, data)| data)
        .find(|d| d.starts_with("v:") && d.ends_with(":0"))
        .expect("help: a 👎 button");
    api.push(fake::callback(100, 100, 10_001, &down));
    // Handled in order per chat: once the marker is answered, the 👎 is logged.
    settle(api, &[(100, 100)]).await;

    let summary = exchange(api, fake::private(900, "/review"), 1)
        .await
        .remove(0);
    let summary = text(&summary);
    assert!(summary.contains("1. 外卖骑手有补贴吗"), "help: {summary}");
    assert!(summary.contains("👎 1"), "help: {summary}");
    assert!(
        !summary.contains(MARKER),
        "help: answered questions are not listed"
    );
    for (chat, user) in [(100, 100), (-300, 900)] {
        let reply = exchange(api, fake::text(chat, user, "/review"), 1)
            .await
            .remove(0);
        assert_eq!(
            unescape(text(&reply)),
            texts::HELP,
            "help: chat {chat}, user {user}"
        );
    }
    assert_all_html(api);
}

/// Reads `GET /metrics` from the health listener at `addr`.
pub async fn scrape(addr: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

/// The value of sample `name` (with its labels, as printed) in a scrape; 0 when absent.
fn sample(scrape: &str, name: &str) -> f64 {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// Issue 12 (#12): `/metrics` on the health listener counts a conversation: questions by status
/// and source, the answer latency, messages sent and a 429 waited out. (The registry is the
/// process's, shared with the tests running beside this one: the counts only grow, so each is
/// checked to have grown by at least this conversation's share.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_the_conversation() {
    // `serve` starts the health listener before the knowledge base; here the test does.
    let ready = telegram::Readiness::default();
    ready.set_ready();
    let health = telegram::spawn_health("127.0.0.1:0".parse().expect("addr"), ready)
        .await
        .expect("health listener");
    let knowledge = Arc::new(Fixture {
        ids: AtomicU64::new(0),
    });
    let store = MemoryStore::new(Duration::from_secs(600), 100);
    let bot = start_bot_configured(knowledge, store, |cfg| {
        cfg.limits = Some(no_limits());
    })
    .await;
    let api = &bot.api;
    let before = scrape(health).await;
    api.limit_chat(700, 1, 1);
    exchange(api, fake::private(700, "小微企业贷款有贴息吗"), 1).await;
    exchange(
        api,
        fake::forwarded(701, "房租能减免吗", fake::origin_hidden("张三")),
        1,
    )
    .await;
    exchange(api, fake::text(-702, 702, "/ask 稳岗返还"), 1).await;
    // Counted once the reply is sent, after the fake recorded it: wait until each chat has
    // handled its question completely.
    settle(api, &[(700, 700), (701, 701), (-702, 702)]).await;
    api.push(fake::inline_query(703, "稳岗返还"));
    inline_answers(api, 0, 1).await;
    // Counted right after Telegram accepted the answer: give it that moment.
    let inline = r#"policybot_questions_total{status="answered",source="inline"}"#;
    let mut after = scrape(health).await;
    for _ in 0..50 {
        if sample(&after, inline) > sample(&before, inline) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        after = scrape(health).await;
    }
    let grew = |name: &str, by: f64| {
        let (was, is) = (sample(&before, name), sample(&after, name));
        assert!(
            is >= was + by,
            "help: {name} went from {was} to {is}:\n{after}"
        );
    };
    for source in ["private", "forward", "group", "inline"] {
        grew(
            &format!(r#"policybot_questions_total{{status="answered",source="{source}"}}"#),
            1.0,
        );
    }
    grew("policybot_answer_seconds_count", 4.0);
    grew("policybot_telegram_sends_total", 3.0);
    grew(
        r#"policybot_telegram_rate_limited_total{method="sendMessage"}"#,
        1.0,
    );
    for family in [
        "policybot_telegram_retries",
        "policybot_telegram_failures",
        "policybot_redis_errors",
        "policybot_redis_up",
        "policybot_broadcast_deliveries",
        "policybot_index_documents",
        "policybot_index_loaded_timestamp_seconds",
    ] {
        assert!(
            after.contains(&format!("# TYPE {family} ")),
            "help: {family} is not exported:\n{after}"
        );
    }
}

/// The answerInlineQuery calls the fake accepted after `before` of them, waiting for `n` more.
async fn inline_answers(api: &FakeBotApi, before: usize, n: usize) -> Vec<Value> {
    let answers = api.wait_for("answerInlineQuery", before + n, WAIT).await;
    assert_eq!(
        answers.len(),
        before + n,
        "help: inline answers refused or missing: {:?}",
        api.calls()
            .iter()
            .filter(|c| c.method == "answerinlinequery" && !c.ok)
            .map(|c| &c.body)
            .collect::<Vec<_>>()
    );
    answers[before..].to_vec()
}

fn results(answer: &Value) -> Vec<Value> {
    answer["results"].as_array().cloned().unwrap_or_default()
}

fn message_text(result: &Value) -> &str {
    result["input_message_content"]["message_text"]
        .as_str()
        .unwrap_or_default()
}

/// Issue 12 (#12): `@bot 问题` in any chat gets the top answers as article results (policy title;
/// 文号 and excerpt; a cited message with its source, in HTML Telegram accepts) within Telegram's
/// limits, which the fake checks; the region is the asker's /region; cache time set and personal.
/// An empty query gets no result and a button into the private chat; an over-long or emoji-only
/// query one result saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_queries_return_cited_answers_within_telegrams_limits() {
    let app = tokio::task::spawn_blocking(crate::kb::app)
        .await
        .expect("app builds");
    let bot = start_bot_on(Arc::new(RealApp(app)), 100, Some(no_limits())).await;
    let api = &bot.api;
    let question = "房租减免";
    api.push(fake::inline_query(820, question));
    let plain = inline_answers(api, 0, 1).await.remove(0);
    assert_eq!(plain["cache_time"], 60, "{plain}");
    assert_eq!(plain["is_personal"], true, "{plain}");
    let found = results(&plain);
    assert!(!found.is_empty() && found.len() <= 50, "{plain}");
    for r in &found {
        assert!(r["id"].as_str().is_some_and(|id| id.len() <= 64), "{r}");
        assert!(r["title"].as_str().is_some_and(|t| !t.is_empty()), "{r}");
        let text = message_text(r);
        check_html(text).unwrap_or_else(|e| panic!("help: {e}: {text}"));
        assert!(
            text.contains("房租减免") && text.contains("《") && text.contains("来源："),
            "help: question, policy and source: {text}"
        );
    }
    assert!(
        found
            .iter()
            .any(|r| r["description"].as_str().is_some_and(|d| d.contains('号'))),
        "help: 文号 in the descriptions: {plain}"
    );

    // The region comes from the asker's private session (/region), as `App::ask` ranks it.
    exchange(api, fake::private(821, "/region 安阳"), 1).await;
    api.push(fake::inline_query(821, question));
    let regional = inline_answers(api, 1, 1).await.remove(0);
    let expected = |region: Option<String>| {
        let mut session = Session {
            region,
            ..Session::default()
        };
        let opts = AskOptions {
            region: None,
            k: Some(10),
            ..AskOptions::default()
        };
        let answer = app.ask(question, &mut session, &opts);
        let results = policybot::render::telegram::inline_results(&answer);
        let ids: Vec<Value> = serde_json::to_value(results)
            .expect("json")
            .as_array()
            .expect("array")
            .iter()
            .map(|r| r["id"].clone())
            .collect();
        ids
    };
    let ids = |answer: &Value| -> Vec<Value> {
        results(answer).iter().map(|r| r["id"].clone()).collect()
    };
    let anyang = expected(Some(app.region("安阳").expect("known place")));
    assert_ne!(
        anyang,
        expected(None),
        "help: pick a question the region changes"
    );
    assert_eq!(
        ids(&regional),
        anyang,
        "help: the session's region was not used"
    );
    assert_eq!(ids(&plain), expected(None));

    // Empty: no result, a button into the private chat.
    api.push(fake::inline_query(820, "  "));
    let empty = inline_answers(api, 2, 1).await.remove(0);
    assert_eq!(results(&empty), Vec::<Value>::new(), "{empty}");
    assert_eq!(empty["button"]["start_parameter"], "inline", "{empty}");
    // Over-long (beyond Telegram's 256 and our 500 characters) and emoji only: one result
    // saying why.
    for (query, why) in [
        ("房".repeat(600), "问题太长"),
        ("🙂🙂".to_string(), "没有看懂"),
    ] {
        let before = api.ok_calls("answerInlineQuery").len();
        api.push(fake::inline_query(820, &query));
        let refused = inline_answers(api, before, 1).await.remove(0);
        let only = results(&refused);
        assert_eq!(only.len(), 1, "{refused}");
        assert_eq!(only[0]["title"], "无法查询", "{refused}");
        assert!(message_text(&only[0]).contains(why), "{refused}");
    }
}

/// Issue 12 (#12): the reply to a forwarded question carries 📋 工单格式 (a private question's
/// does not); pressing it sends the answer as plain text laid out for a ticket (question, policy
/// and 文号, clause, departments, validity, source; no parse mode, within 4096 characters). A
/// press on an older answer's button, and a forged one, get a toast only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_answers_offer_a_plain_text_ticket() {
    let app = tokio::task::spawn_blocking(crate::kb::app)
        .await
        .expect("app builds");
    let bot = start_bot_on(Arc::new(RealApp(app)), 100, Some(no_limits())).await;
    let api = &bot.api;
    let (chat, user, question) = (840_i64, 840_u64, "小店房租能减免吗");
    let forward = |q: &str| fake::forwarded(user, q, fake::origin_hidden("张三"));
    let reply = exchange(api, forward(question), 1).await.remove(0);
    let (_, data) = buttons(&reply)
        .into_iter()
        .find(|(label, _)| label == "📋 工单格式")
        .unwrap_or_else(|| panic!("help: no ticket button: {reply}"));
    assert!(data.starts_with("k:"), "{data}");
    let acks = api.ok_calls("answerCallbackQuery").len();
    let ticket = exchange(api, fake::callback(chat, user, 10_001, &data), 1)
        .await
        .remove(0);
    assert!(
        ticket.get("parse_mode").is_none(),
        "help: plain text: {ticket}"
    );
    let t = text(&ticket);
    assert!(t.encode_utf16().count() <= 4096);
    assert!(
        t.starts_with(&format!("【政策咨询工单】\n咨询问题：{question}\n")),
        "{t}"
    );
    for part in ["【依据1】《", "\n文号：", "\n条款内容：", "\n出处：", " 第"] {
        assert!(t.contains(part), "help: {part} in {t}");
    }
    let title = text(&reply)
        .split("<b>1. ")
        .nth(1)
        .and_then(|rest| rest.split("</b>").next())
        .map(unescape)
        .expect("a cited clause");
    assert!(t.contains(&format!("《{title}》")), "help: {title} in {t}");
    assert!(
        !t.contains("<b>") && !t.contains("&lt;"),
        "help: no HTML: {t}"
    );
    let ack = &api.ok_calls("answerCallbackQuery")[acks];
    assert!(ack.get("text").is_none(), "help: no toast: {ack}");

    let private = exchange(api, fake::private(841, question), 1)
        .await
        .remove(0);
    assert!(
        !buttons(&private)
            .iter()
            .any(|(label, _)| label == "📋 工单格式"),
        "help: only forwards: {private}"
    );

    // A newer answer makes the button stale; forged data is refused: toasts, no message.
    exchange(api, forward("稳岗返还怎么申请"), 1).await;
    let acks = api.ok_calls("answerCallbackQuery").len();
    api.push(fake::callback(chat, user, 10_001, &data));
    api.push(fake::callback(chat, user, 10_001, "k:!!"));
    let toasts = api.wait_for("answerCallbackQuery", acks + 2, WAIT).await;
    for toast in &toasts[acks..] {
        assert_eq!(toast["text"], texts::EXPIRED, "{toast}");
    }
    let sent = settle(api, &[(chat, user)]).await;
    let to_user = sent.iter().filter(|m| m["chat_id"] == chat).count();
    assert_eq!(to_user, 3, "help: two answers and one ticket");
}
