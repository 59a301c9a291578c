//! A fake Telegram Bot API server on 127.0.0.1 (random port) for end-to-end bot tests: serves
//! queued real-shaped updates through getUpdates (offset and long-poll timeout honoured), can
//! answer the next n calls of a method (getUpdates, getMe) 502 at once, records every call (method, JSON body, arrival time; a getUpdates
//! once answered), answers like Telegram, and can fail the next sendMessage calls with 429
//! (retry_after), 503 or 400 (unparseable HTML), or deliver a message and then answer 502 as if
//! the answer got lost on the way back. It can hold the answers to delivered messages (to kill
//! the bot while sends are on the wire), and the calls of one method after the first n. Per chat
//! it can also answer 429 for the next n calls, answer getChatMember from a list of group admins
//! (creator first), refuse sendMessage with 403 (bot kicked), with 400 `migrate_to_chat_id`
//! (group upgraded to a supergroup), with 400 (no right to post), or with 502 for the next n
//! calls.
//! answerInlineQuery is checked against Telegram's limits (at most 50 results, ids of 1-64
//! bytes and unique, message texts of 1-4096 characters) and refused with 400 otherwise.
//! Query helpers count successful sends per chat and the most sends within any time window (for
//! the 30 messages/second limit), and follow the calls as they come. Builders make real-shaped
//! updates, including `my_chat_member`, a group's migration and an anonymous admin's message.
//! Method names are matched case-insensitively.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::Notify;

/// The token the bot under test uses.
pub const TOKEN: &str = "1:T";
/// The bot's user id (getMe).
pub const BOT_ID: u64 = 1;
/// The bot's username (getMe).
pub const BOT_USERNAME: &str = "policybot";

/// The user id Telegram shows as the sender of an anonymous group admin's messages.
pub const GROUP_ANONYMOUS_BOT_ID: u64 = 1_087_968_824;
/// The user who upgrades a group in [`migrated`].
pub const MIGRATING_USER: u64 = 42;

/// Longest a getUpdates call is held open.
const MAX_LONG_POLL: Duration = Duration::from_secs(2);

/// A failure to inject into the next sendMessage calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// 429 Too Many Requests, retry_after 1.
    TooManyRequests,
    /// 429 Too Many Requests with this retry_after (seconds).
    TooManyRequestsFor(u64),
    /// The message is delivered, then the answer is 502 Bad Gateway (Telegram's front end lost
    /// the backend's answer).
    BadGatewayAfterDelivery,
    /// 503 Service Unavailable; the message is not delivered.
    ServiceUnavailable,
    /// 400 "can't parse entities" (Telegram rejects the message's HTML).
    BadEntities,
}

/// One recorded Bot API call.
#[derive(Clone, Debug)]
pub struct Call {
    /// Method name, lowercased (`sendmessage`).
    pub method: String,
    /// JSON body.
    pub body: Value,
    /// Whether the call took effect: the fake answered `ok: true`, or (sendMessage) delivered the
    /// message and then lost the answer ([`Failure::BadGatewayAfterDelivery`]).
    pub ok: bool,
    /// When it arrived.
    pub at: Instant,
}

#[derive(Default)]
struct Inner {
    next_update_id: i64,
    queue: VecDeque<Value>,
    delivered: Vec<(i64, Instant)>,
    calls: Vec<Call>,
    failures: VecDeque<Failure>,
    next_message_id: i64,
    /// Per group: admins, the creator first.
    admins: HashMap<i64, Vec<u64>>,
    /// Chats the bot was kicked from.
    forbidden: HashSet<i64>,
    muted: HashSet<i64>,
    /// Groups upgraded to supergroups: old id -> new id.
    migrated: HashMap<i64, i64>,
    /// Per chat: how many more sendMessage calls answer 502 (`usize::MAX`: all).
    chat_failures: HashMap<i64, usize>,
    /// Longest a getUpdates call is held open; [`MAX_LONG_POLL`] unless changed.
    max_long_poll: Option<Duration>,
    /// Per chat: (retry_after seconds, how many more sendMessage calls answer 429).
    chat_limits: HashMap<i64, (u64, usize)>,
    /// Per method (lowercased): how many more calls answer 502 at once.
    failing_calls: HashMap<String, usize>,
    /// Calls of this method (lowercased) are held until [`FakeBotApi::release`], after letting
    /// through as many as the count says.
    held_method: Option<(String, usize)>,
    /// Whether the answers to delivered messages are held back.
    holding: bool,
    /// Delivered messages whose answer has not been written (held, or being written).
    unanswered: usize,
}

#[derive(Default)]
struct Shared {
    inner: Mutex<Inner>,
    updates: Notify,
    calls: Notify,
    /// Wakes held answers.
    released: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The running fake server.
pub struct FakeBotApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeBotApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeBotApi {
    /// Starts the server on a random loopback port.
    pub async fn start() -> FakeBotApi {
        let shared = Arc::new(Shared::default());
        shared.lock().next_message_id = 10_000;
        let router = Router::new()
            .route("/{*path}", post(handle))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeBotApi {
            addr,
            shared,
            server,
        }
    }

    /// Holds getUpdates calls open up to `max` (as Telegram does, up to the requested timeout)
    /// instead of [`MAX_LONG_POLL`].
    pub fn hold_long_polls(&self, max: Duration) {
        self.shared.lock().max_long_poll = Some(max);
    }

    /// Base URL to give the bot (`Bot::set_api_url`).
    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}/", self.addr)).expect("valid url")
    }

    /// Queues an update (`update_id` assigned here) and returns its id.
    pub fn push(&self, mut update: Value) -> i64 {
        let id = {
            let mut inner = self.shared.lock();
            inner.next_update_id += 1;
            let id = inner.next_update_id;
            update["update_id"] = json!(id);
            inner.queue.push_back(update);
            id
        };
        self.shared.updates.notify_waiters();
        id
    }

    /// Answers the next `n` calls of `method` (case-insensitive; `usize::MAX`: all of them) 502
    /// Bad Gateway at once (Telegram's front end). Replaces an earlier count for that method.
    pub fn fail_next(&self, method: &str, n: usize) {
        let method = method.to_ascii_lowercase();
        self.shared.lock().failing_calls.insert(method, n);
    }

    /// Answers the next `n` sendMessage calls with `failure`.
    pub fn fail_next_sends(&self, n: usize, failure: Failure) {
        self.shared
            .lock()
            .failures
            .extend(std::iter::repeat_n(failure, n));
    }

    /// Makes `admins` the admins of group `chat_id` for getChatMember: the first is the creator,
    /// the others administrators; any other user is a member. Replaces an earlier list.
    pub fn set_admins(&self, chat_id: i64, admins: &[u64]) {
        self.shared.lock().admins.insert(chat_id, admins.to_vec());
    }

    /// From now on sendMessage to `chat_id` answers 403 "bot was kicked from the supergroup
    /// chat" (teloxide: `ApiError::BotKickedFromSupergroup`). Checked before every other
    /// injected failure, and consumes none of them.
    pub fn forbid(&self, chat_id: i64) {
        self.shared.lock().forbidden.insert(chat_id);
    }

    /// From now on sendMessage to `chat_id` answers 400 "not enough rights to send text messages
    /// to the chat" (a permanent failure that is not the bot's removal). Checked after
    /// [`forbid`](Self::forbid), before every other injected failure.
    pub fn mute(&self, chat_id: i64) {
        self.shared.lock().muted.insert(chat_id);
    }

    /// From now on sendMessage to `chat_id` answers 400 "group chat was upgraded to a supergroup
    /// chat" with `parameters.migrate_to_chat_id = new_chat_id` (teloxide:
    /// `RequestError::MigrateToChatId`). Sends to `new_chat_id` work as usual. Checked after
    /// [`forbid`](Self::forbid), before the 502s and 429s, and consumes none of them.
    pub fn migrate(&self, chat_id: i64, new_chat_id: i64) {
        self.shared.lock().migrated.insert(chat_id, new_chat_id);
    }

    /// Answers the next `n` sendMessage calls to `chat_id` with 502 Bad Gateway (`usize::MAX`:
    /// all of them, `0`: none). Replaces an earlier count for that chat; checked after
    /// [`forbid`](Self::forbid) and [`migrate`](Self::migrate), before
    /// [`fail_next_sends`](Self::fail_next_sends), which it does not consume.
    pub fn fail_sends_to(&self, chat_id: i64, n: usize) {
        self.shared.lock().chat_failures.insert(chat_id, n);
    }

    /// Answers the next `n` sendMessage calls to `chat_id` with 429, retry after `seconds`.
    /// Checked after [`forbid`](Self::forbid), [`mute`](Self::mute) and
    /// [`migrate`](Self::migrate), before every other injected failure.
    pub fn limit_chat(&self, chat_id: i64, seconds: u64, n: usize) {
        self.shared.lock().chat_limits.insert(chat_id, (seconds, n));
    }

    /// From now on, delivers messages but holds their answers (the bot waits for them) until
    /// [`release`](Self::release).
    pub fn hold_answers(&self) {
        self.shared.lock().holding = true;
    }

    /// From now on holds the calls of `method` (case-insensitive) after the next `pass` ones
    /// until [`release`](Self::release).
    pub fn hold_calls_after(&self, method: &str, pass: usize) {
        self.shared.lock().held_method = Some((method.to_ascii_lowercase(), pass));
    }

    /// Writes the held answers, lets the held calls through, and stops holding.
    pub fn release(&self) {
        {
            let mut inner = self.shared.lock();
            inner.holding = false;
            inner.held_method = None;
        }
        self.shared.released.notify_waiters();
    }

    /// Delivered messages whose answer the bot has not received (held, or in the instant of
    /// being written): the sends on the wire.
    pub fn on_the_wire(&self) -> usize {
        self.shared.lock().unanswered
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.lock().calls.clone()
    }

    /// The calls recorded after the first `seen`, waiting up to `timeout` for one (none when it
    /// passes): a cheap way to follow the calls as they come.
    pub async fn calls_after(&self, seen: usize, timeout: Duration) -> Vec<Call> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.calls.notified();
            let new = self
                .shared
                .lock()
                .calls
                .get(seen..)
                .map(<[Call]>::to_vec)
                .unwrap_or_default();
            if !new.is_empty() || tokio::time::timeout_at(deadline, notified).await.is_err() {
                return new;
            }
        }
    }

    /// Successful calls of `method` (case-insensitive), their bodies.
    pub fn ok_calls(&self, method: &str) -> Vec<Value> {
        let method = method.to_ascii_lowercase();
        self.calls()
            .into_iter()
            .filter(|c| c.ok && c.method == method)
            .map(|c| c.body)
            .collect()
    }

    /// Bodies of the successful sendMessage calls to `chat_id`, in arrival order.
    pub fn sent_to(&self, chat_id: i64) -> Vec<Value> {
        self.ok_calls("sendMessage")
            .into_iter()
            .filter(|body| body["chat_id"].as_i64() == Some(chat_id))
            .collect()
    }

    /// Successful sendMessage calls per `chat_id` (chats never sent to are absent).
    pub fn sends_per_chat(&self) -> HashMap<i64, usize> {
        let mut counts = HashMap::new();
        for body in self.ok_calls("sendMessage") {
            if let Some(chat_id) = body["chat_id"].as_i64() {
                *counts.entry(chat_id).or_insert(0) += 1;
            }
        }
        counts
    }

    /// The most successful sendMessage calls that arrived within any `window` (a half-open
    /// interval `[t, t + window)`), e.g. to check Telegram's 30 messages per second.
    pub fn max_sends_within(&self, window: Duration) -> usize {
        let times: Vec<Instant> = self.ok_sends().map(|c| c.at).collect();
        max_within(times, window)
    }

    /// Like [`max_sends_within`](Self::max_sends_within), counting only sends to `chat_id`.
    pub fn max_sends_to_chat_within(&self, chat_id: i64, window: Duration) -> usize {
        let times: Vec<Instant> = self
            .ok_sends()
            .filter(|c| c.body["chat_id"].as_i64() == Some(chat_id))
            .map(|c| c.at)
            .collect();
        max_within(times, window)
    }

    fn ok_sends(&self) -> impl Iterator<Item = Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.ok && c.method == "sendmessage")
    }

    /// When update `id` was handed to the bot.
    pub fn delivered_at(&self, id: i64) -> Option<Instant> {
        self.shared
            .lock()
            .delivered
            .iter()
            .find(|(u, _)| *u == id)
            .map(|(_, at)| *at)
    }

    /// Waits until `done(calls)` holds or `timeout` passes; returns the calls either way.
    pub async fn wait_until(&self, timeout: Duration, done: impl Fn(&[Call]) -> bool) -> Vec<Call> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.calls.notified();
            let calls = self.calls();
            if done(&calls) {
                return calls;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.calls();
            }
        }
    }

    /// Waits for `n` successful calls of `method`.
    pub async fn wait_for(&self, method: &str, n: usize, timeout: Duration) -> Vec<Value> {
        let m = method.to_ascii_lowercase();
        self.wait_until(timeout, |calls| {
            calls.iter().filter(|c| c.ok && c.method == m).count() >= n
        })
        .await;
        self.ok_calls(method)
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path(path): Path<String>,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let Some((token, method)) = path.strip_prefix("bot").and_then(|p| p.rsplit_once('/')) else {
        return error(StatusCode::NOT_FOUND, 404, "Not Found");
    };
    if token != TOKEN {
        return error(StatusCode::UNAUTHORIZED, 401, "Unauthorized");
    }
    let method = method.to_ascii_lowercase();
    hold_method(&shared, &method).await;
    let body: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
    let failing = shared
        .lock()
        .failing_calls
        .get_mut(&method)
        .filter(|n| **n > 0)
        .map(|n| *n = n.saturating_sub(1))
        .is_some();
    let response = match method.as_str() {
        _ if failing => error(StatusCode::BAD_GATEWAY, 502, "Bad Gateway"),
        "getupdates" => ok(json!(get_updates(&shared, &body).await)),
        "getme" => ok(bot_user_me()),
        "getwebhookinfo" => ok(json!({
            "url": "",
            "has_custom_certificate": false,
            "pending_update_count": 0
        })),
        "sendmessage" => {
            let (response, delivered) = send_message(&shared, &body);
            record(&shared, method, body, delivered, at);
            return match delivered {
                true => answer_delivered(&shared, response).await,
                false => response,
            };
        }
        "getchatmember" => get_chat_member(&shared, &body),
        "answerinlinequery" => match inline_answer_refusal(&body) {
            Some(why) => error(StatusCode::BAD_REQUEST, 400, &format!("Bad Request: {why}")),
            None => ok(json!(true)),
        },
        _ => ok(json!(true)),
    };
    let ok = response.status() == StatusCode::OK;
    record(&shared, method, body, ok, at);
    response
}

/// Waits while calls of `method` are held ([`FakeBotApi::hold_calls_after`]).
async fn hold_method(shared: &Shared, method: &str) {
    if let Some((held, pass)) = &mut shared.lock().held_method
        && held == method
        && *pass > 0
    {
        *pass -= 1;
        return;
    }
    loop {
        let released = shared.released.notified();
        let holding = shared.lock().held_method.as_ref().map(|(m, _)| m.clone());
        if holding.as_deref() != Some(method) {
            return;
        }
        released.await;
    }
}

fn record(shared: &Shared, method: String, body: Value, ok: bool, at: Instant) {
    shared.lock().calls.push(Call {
        method,
        body,
        ok,
        at,
    });
    shared.calls.notify_waiters();
}

/// The answer to a delivered message, held back while [`FakeBotApi::hold_answers`] is on.
/// Counted on the wire until written; a bot killed meanwhile never gets it.
async fn answer_delivered(shared: &Shared, response: Response) -> Response {
    /// Takes the message off the wire when its answer is written (not when the bot was killed
    /// and the connection dropped: that one never got its answer).
    struct OnTheWire<'a>(&'a Shared, bool);
    impl Drop for OnTheWire<'_> {
        fn drop(&mut self) {
            if self.1 {
                self.0.lock().unanswered -= 1;
            }
        }
    }
    shared.lock().unanswered += 1;
    let mut wire = OnTheWire(shared, false);
    loop {
        let released = shared.released.notified();
        if !shared.lock().holding {
            break;
        }
        released.await;
    }
    wire.1 = true;
    response
}

/// sendMessage: the chat's state (kicked, migrated, limited, failing) first, then the global
/// failure queue. Returns the answer and whether the message was delivered.
fn send_message(shared: &Shared, body: &Value) -> (Response, bool) {
    let mut inner = shared.lock();
    match refuse_message(&mut inner, body) {
        Some(refused) => (refused, false),
        None => {
            inner.next_message_id += 1;
            let id = inner.next_message_id;
            let failure = inner.failures.front().copied();
            if failure == Some(Failure::BadGatewayAfterDelivery) {
                inner.failures.pop_front();
                return (error(StatusCode::BAD_GATEWAY, 502, "Bad Gateway"), true);
            }
            drop(inner);
            (ok(sent_message(id, body)), true)
        }
    }
}

/// The refusal of a sendMessage, if it is refused.
fn refuse_message(inner: &mut Inner, body: &Value) -> Option<Response> {
    let chat_id = body["chat_id"].as_i64().unwrap_or_default();
    if inner.forbidden.contains(&chat_id) {
        return Some(error(
            StatusCode::FORBIDDEN,
            403,
            "Forbidden: bot was kicked from the supergroup chat",
        ));
    }
    if inner.muted.contains(&chat_id) {
        return Some(error(
            StatusCode::BAD_REQUEST,
            400,
            "Bad Request: not enough rights to send text messages to the chat",
        ));
    }
    if let Some(&new_chat_id) = inner.migrated.get(&chat_id) {
        let body = json!({
            "ok": false,
            "error_code": 400,
            "description": "Bad Request: group chat was upgraded to a supergroup chat",
            "parameters": {"migrate_to_chat_id": new_chat_id}
        });
        return Some((StatusCode::BAD_REQUEST, axum::Json(body)).into_response());
    }
    if let Some((seconds, left)) = inner.chat_limits.get_mut(&chat_id).filter(|l| l.1 > 0) {
        *left -= 1;
        return Some(too_many_requests(*seconds));
    }
    if let Some(left) = inner.chat_failures.get_mut(&chat_id).filter(|n| **n > 0) {
        if *left != usize::MAX {
            *left -= 1;
        }
        return Some(error(StatusCode::BAD_GATEWAY, 502, "Bad Gateway"));
    }
    let refused = match inner.failures.front()? {
        Failure::TooManyRequests => too_many_requests(1),
        Failure::TooManyRequestsFor(seconds) => too_many_requests(*seconds),
        Failure::ServiceUnavailable => {
            error(StatusCode::SERVICE_UNAVAILABLE, 503, "Service Unavailable")
        }
        Failure::BadEntities => error(
            StatusCode::BAD_REQUEST,
            400,
            "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 0",
        ),
        // Delivered first: see `send_message`.
        Failure::BadGatewayAfterDelivery => return None,
    };
    inner.failures.pop_front();
    Some(refused)
}

/// getChatMember: creator / administrator from [`FakeBotApi::set_admins`], anyone else a member.
/// Longest message text Telegram accepts, in UTF-16 code units.
const MAX_MESSAGE: usize = 4096;

/// Why Telegram would refuse this answerInlineQuery: more than 50 results, a result id empty,
/// longer than 64 bytes or repeated, a result without a type, title or message content, or
/// message text that is empty or over 4096 characters (measured on the source text, which is
/// never shorter than the parsed text).
fn inline_answer_refusal(body: &Value) -> Option<String> {
    if body["inline_query_id"].as_str().is_none_or(str::is_empty) {
        return Some("QUERY_ID_INVALID".into());
    }
    let Some(results) = body["results"].as_array() else {
        return Some("results missing".into());
    };
    if results.len() > 50 {
        return Some("RESULTS_TOO_MUCH".into());
    }
    let mut ids = HashSet::new();
    for r in results {
        let id = r["id"].as_str().unwrap_or_default();
        if id.is_empty() || id.len() > 64 {
            return Some(format!("RESULT_ID_INVALID: {id:?}"));
        }
        if !ids.insert(id) {
            return Some(format!("RESULT_ID_DUPLICATE: {id:?}"));
        }
        if r["type"] != "article" || r["title"].as_str().is_none_or(str::is_empty) {
            return Some("RESULT_TYPE_INVALID".into());
        }
        let text = r["input_message_content"]["message_text"]
            .as_str()
            .unwrap_or_default();
        let len = text.encode_utf16().count();
        if len == 0 || len > MAX_MESSAGE {
            return Some(format!("MESSAGE_TOO_LONG: {len}"));
        }
    }
    None
}

fn get_chat_member(shared: &Shared, body: &Value) -> Response {
    let chat_id = body["chat_id"].as_i64().unwrap_or_default();
    let Some(user_id) = body["user_id"].as_u64() else {
        return error(
            StatusCode::BAD_REQUEST,
            400,
            "Bad Request: invalid user_id specified",
        );
    };
    let admins = shared
        .lock()
        .admins
        .get(&chat_id)
        .cloned()
        .unwrap_or_default();
    let status = match admins.iter().position(|&a| a == user_id) {
        Some(0) => "creator",
        Some(_) => "administrator",
        None => "member",
    };
    ok(chat_member(user_id, status))
}

/// The largest number of `times` within any half-open interval of length `window`.
fn max_within(mut times: Vec<Instant>, window: Duration) -> usize {
    times.sort_unstable();
    let mut best = 0;
    let mut start = 0;
    for (end, &t) in times.iter().enumerate() {
        while start <= end && t.duration_since(times[start]) >= window {
            start += 1;
        }
        best = best.max(end + 1 - start);
    }
    best
}

async fn get_updates(shared: &Shared, body: &Value) -> Vec<Value> {
    let offset = body["offset"].as_i64().unwrap_or(0);
    let limit = body["limit"].as_u64().unwrap_or(100).clamp(1, 100) as usize;
    let max = shared.lock().max_long_poll.unwrap_or(MAX_LONG_POLL);
    let wait = Duration::from_secs(body["timeout"].as_u64().unwrap_or(0)).min(max);
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let notified = shared.updates.notified();
        {
            let mut inner = shared.lock();
            // Updates below the offset are confirmed: forget them, as Telegram does.
            while inner
                .queue
                .front()
                .is_some_and(|u| u["update_id"].as_i64() < Some(offset))
            {
                inner.queue.pop_front();
            }
            let batch: Vec<Value> = inner.queue.iter().take(limit).cloned().collect();
            if !batch.is_empty() {
                let now = Instant::now();
                for u in &batch {
                    let id = u["update_id"].as_i64().unwrap_or_default();
                    if !inner.delivered.iter().any(|(d, _)| *d == id) {
                        inner.delivered.push((id, now));
                    }
                }
                return batch;
            }
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return Vec::new();
        }
    }
}

fn ok(result: Value) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({"ok": true, "result": result})),
    )
        .into_response()
}

fn error(status: StatusCode, code: u16, description: &str) -> Response {
    let body = json!({"ok": false, "error_code": code, "description": description});
    (status, axum::Json(body)).into_response()
}

fn too_many_requests(seconds: u64) -> Response {
    let body = json!({
        "ok": false,
        "error_code": 429,
        "description": format!("Too Many Requests: retry after {seconds}"),
        "parameters": {"retry_after": seconds}
    });
    (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn bot_user() -> Value {
    json!({"id": BOT_ID, "is_bot": true, "first_name": "惠企政策", "username": BOT_USERNAME})
}

fn bot_user_me() -> Value {
    let mut me = bot_user();
    for (k, v) in [
        ("can_join_groups", true),
        ("can_read_all_group_messages", false),
        ("supports_inline_queries", false),
        ("can_connect_to_business", false),
        ("has_main_web_app", false),
    ] {
        me[k] = json!(v);
    }
    me
}

fn sent_message(id: i64, body: &Value) -> Value {
    let chat_id = body["chat_id"].as_i64().unwrap_or_default();
    let mut message = json!({
        "message_id": id,
        "date": now(),
        "chat": chat(chat_id),
        "from": bot_user(),
        "text": body["text"].as_str().unwrap_or_default(),
    });
    if body.get("reply_markup").is_some() {
        message["reply_markup"] = body["reply_markup"].clone();
    }
    message
}

// ---- real-shaped update builders ----

/// A user.
pub fn user(id: u64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": format!("用户{id}"), "language_code": "zh-hans"})
}

/// A chat by id: positive = private with that user, negative = supergroup.
pub fn chat(id: i64) -> Value {
    match id > 0 {
        true => json!({"id": id, "type": "private", "first_name": format!("用户{id}")}),
        false => json!({"id": id, "type": "supergroup", "title": "惠企交流群"}),
    }
}

/// A basic (non-super) group chat.
pub fn group_chat(id: i64) -> Value {
    json!({"id": id, "type": "group", "title": "惠企交流群"})
}

/// A ChatMember object as getChatMember and `chat_member` updates carry it: the bot itself for
/// [`BOT_ID`], else [`user`]. `status` is one of "creator", "administrator" (with every
/// `can_*` right Telegram sends for a group admin), "member", "restricted" (may not send),
/// "left" or "kicked" (banned forever, `until_date` 0).
///
/// # Panics
///
/// On any other status: a mistake in the test.
pub fn chat_member(user_id: u64, status: &str) -> Value {
    let user = match user_id == BOT_ID {
        true => bot_user(),
        false => user(user_id),
    };
    let mut member = json!({"user": user, "status": status});
    let fields = match status {
        "creator" => json!({"is_anonymous": false}),
        "administrator" => json!({
            "can_be_edited": false,
            "is_anonymous": false,
            "can_manage_chat": true,
            "can_change_info": true,
            "can_delete_messages": true,
            "can_invite_users": true,
            "can_restrict_members": true,
            "can_pin_messages": true,
            "can_manage_topics": false,
            "can_promote_members": false,
            "can_manage_video_chats": true,
            "can_post_stories": false,
            "can_edit_stories": false,
            "can_delete_stories": false,
        }),
        "restricted" => json!({
            "is_member": true,
            "can_send_messages": false,
            "can_send_audios": false,
            "can_send_documents": false,
            "can_send_photos": false,
            "can_send_videos": false,
            "can_send_video_notes": false,
            "can_send_voice_notes": false,
            "can_send_polls": false,
            "can_send_other_messages": false,
            "can_add_web_page_previews": false,
            "can_change_info": false,
            "can_invite_users": false,
            "can_pin_messages": false,
            "can_manage_topics": false,
            "until_date": 0,
        }),
        "kicked" => json!({"until_date": 0}),
        "member" | "left" => json!({}),
        other => panic!("help: unknown ChatMember status {other:?}"),
    };
    if let (Some(member), Value::Object(fields)) = (member.as_object_mut(), fields) {
        member.extend(fields);
    }
    member
}

/// A `my_chat_member` update: in chat `chat_id` (see [`chat`]), user `from` changed the bot's
/// own status from `old_status` to `new_status` (statuses as in [`chat_member`]).
pub fn my_chat_member(chat_id: i64, from: u64, old_status: &str, new_status: &str) -> Value {
    json!({"my_chat_member": {
        "chat": chat(chat_id),
        "from": user(from),
        "date": now(),
        "old_chat_member": chat_member(BOT_ID, old_status),
        "new_chat_member": chat_member(BOT_ID, new_status),
    }})
}

/// The service message Telegram sends in group `old_chat_id` (a [`group_chat`]) when
/// [`MIGRATING_USER`] upgrades it to supergroup `new_chat_id`.
pub fn migrated(old_chat_id: i64, new_chat_id: i64) -> Value {
    json!({"message": {
        "message_id": next_message_id(),
        "date": now(),
        "chat": group_chat(old_chat_id),
        "from": user(MIGRATING_USER),
        "migrate_to_chat_id": new_chat_id,
    }})
}

/// A text message an anonymous admin posts in supergroup `chat_id`: `from` is
/// GroupAnonymousBot and `sender_chat` the group itself (commands get their entity).
pub fn anonymous_admin(chat_id: i64, text: &str) -> Value {
    let mut message = message_in(chat_id, GROUP_ANONYMOUS_BOT_ID, text);
    message["from"] = json!({
        "id": GROUP_ANONYMOUS_BOT_ID,
        "is_bot": true,
        "first_name": "Group",
        "username": "GroupAnonymousBot",
    });
    message["sender_chat"] = chat(chat_id);
    json!({"message": message})
}

/// A fresh message id for incoming messages.
fn next_message_id() -> i64 {
    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn message_in(chat_id: i64, from: u64, text: &str) -> Value {
    let mut message = json!({
        "message_id": next_message_id(),
        "date": now(),
        "chat": chat(chat_id),
        "from": user(from),
        "text": text,
    });
    if let Some(command) = text.strip_prefix('/') {
        let len = 1 + command
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .encode_utf16()
            .count();
        message["entities"] = json!([{"type": "bot_command", "offset": 0, "length": len}]);
    }
    message
}

/// A text message from `user` in chat `chat_id` (commands get their `bot_command` entity).
pub fn text(chat_id: i64, from: u64, text: &str) -> Value {
    json!({"message": message_in(chat_id, from, text)})
}

/// A private text message.
pub fn private(from: u64, text: &str) -> Value {
    self::text(from as i64, from, text)
}

/// A group message replying to the bot's message `bot_message_id`.
pub fn reply_to_bot(chat_id: i64, from: u64, text: &str, bot_message_id: i64) -> Value {
    let mut message = message_in(chat_id, from, text);
    message["reply_to_message"] = json!({
        "message_id": bot_message_id,
        "date": now(),
        "chat": chat(chat_id),
        "from": bot_user(),
        "text": "之前的回答",
    });
    json!({"message": message})
}

/// A forwarded private message with a Bot API 7 `forward_origin`.
pub fn forwarded(from: u64, text: &str, origin: Value) -> Value {
    let mut message = message_in(from as i64, from, text);
    message["forward_origin"] = origin;
    json!({"message": message})
}

/// `forward_origin` of kind `user`.
pub fn origin_user(id: u64, username: &str) -> Value {
    let mut sender = user(id);
    sender["username"] = json!(username);
    json!({"type": "user", "date": now(), "sender_user": sender})
}

/// `forward_origin` of kind `hidden_user`.
pub fn origin_hidden(name: &str) -> Value {
    json!({"type": "hidden_user", "date": now(), "sender_user_name": name})
}

/// `forward_origin` of kind `chat`.
pub fn origin_chat(title: &str, signature: &str) -> Value {
    json!({
        "type": "chat",
        "date": now(),
        "sender_chat": {"id": -1001, "type": "supergroup", "title": title},
        "author_signature": signature,
    })
}

/// `forward_origin` of kind `channel`.
pub fn origin_channel(title: &str) -> Value {
    json!({
        "type": "channel",
        "date": now(),
        "chat": {"id": -1002, "type": "channel", "title": title},
        "message_id": 77,
    })
}

/// An inline query `query` typed by `from` (`@bot query` in some chat).
pub fn inline_query(from: u64, query: &str) -> Value {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    json!({"inline_query": {
        "id": format!("iq{id}"),
        "from": user(from),
        "query": query,
        "offset": "",
        "chat_type": "supergroup",
    }})
}

/// A button press by `from` on the bot's message `message_id` in `chat_id`.
pub fn callback(chat_id: i64, from: u64, message_id: i64, data: &str) -> Value {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    json!({"callback_query": {
        "id": format!("cq{id}"),
        "from": user(from),
        "message": {
            "message_id": message_id,
            "date": now(),
            "chat": chat(chat_id),
            "from": bot_user(),
            "text": "之前的回答",
        },
        "chat_instance": format!("ci{chat_id}"),
        "data": data,
    }})
}

#[cfg(test)]
mod tests {
    use teloxide::prelude::*;
    use teloxide::types::{Chat, ChatMember, ChatMemberKind, Update, UpdateKind};
    use teloxide::{ApiError, RequestError};

    use super::*;

    fn parse_member(value: Value) -> ChatMember {
        serde_json::from_value(value.clone())
            .unwrap_or_else(|e| panic!("help: not a teloxide ChatMember ({e}): {value}"))
    }

    /// Parses an update as teloxide parses a getUpdates body: from JSON text. (`from_value` would
    /// not do: teloxide's `UpdateKind` reads its key as a borrowed `&str` first, which an owned
    /// `Value` cannot lend, so every update, even a plain text message, comes out as
    /// `UpdateKind::Error`.)
    fn parse_update(mut value: Value) -> Update {
        value["update_id"] = json!(1);
        let update: Update = serde_json::from_str(&value.to_string())
            .unwrap_or_else(|e| panic!("help: not a teloxide Update ({e}): {value}"));
        assert!(
            !matches!(update.kind, UpdateKind::Error(_)),
            "help: teloxide could not parse {value}"
        );
        update
    }

    fn message(update: Update) -> Message {
        match update.kind {
            UpdateKind::Message(message) => message,
            other => panic!("help: expected a message, got {other:?}"),
        }
    }

    #[test]
    fn chat_members_parse_as_teloxide_chat_members() {
        let creator = parse_member(chat_member(7, "creator"));
        assert!(matches!(creator.kind, ChatMemberKind::Owner(_)));
        assert!(creator.is_privileged());
        let admin = parse_member(chat_member(7, "administrator"));
        assert!(matches!(admin.kind, ChatMemberKind::Administrator(_)));
        assert!(admin.is_privileged());
        let member = parse_member(chat_member(7, "member"));
        assert!(matches!(member.kind, ChatMemberKind::Member(_)));
        assert!(!member.is_privileged());
        assert_eq!(member.user.id, UserId(7));
        assert!(!member.user.is_bot);
        let restricted = parse_member(chat_member(7, "restricted"));
        assert!(restricted.is_restricted() && restricted.is_present());
        assert!(parse_member(chat_member(7, "left")).is_left());
        let kicked = parse_member(chat_member(BOT_ID, "kicked"));
        assert!(kicked.is_banned() && kicked.user.is_bot);
        assert_eq!(kicked.user.id, UserId(BOT_ID));
    }

    #[test]
    fn builders_parse_as_the_right_update_kinds() {
        let chat: Chat = serde_json::from_value(group_chat(-5)).expect("help: a teloxide Chat");
        assert!(chat.is_group() && chat.title() == Some("惠企交流群"));

        for (old, new) in [
            ("left", "member"),
            ("member", "administrator"),
            ("administrator", "kicked"),
            ("member", "left"),
        ] {
            let update = parse_update(my_chat_member(-100, 5, old, new));
            let UpdateKind::MyChatMember(change) = update.kind else {
                panic!("help: {old} -> {new} is not a my_chat_member update");
            };
            assert_eq!(change.chat.id, ChatId(-100));
            assert!(change.chat.is_supergroup());
            assert_eq!(change.from.id, UserId(5));
            assert_eq!(change.new_chat_member.user.id, UserId(BOT_ID));
            assert_eq!(
                change.old_chat_member.status(),
                parse_member(chat_member(BOT_ID, old)).status()
            );
            assert_eq!(
                change.new_chat_member.status(),
                parse_member(chat_member(BOT_ID, new)).status()
            );
        }
        let private = parse_update(my_chat_member(5, 5, "member", "kicked"));
        assert!(matches!(private.kind, UpdateKind::MyChatMember(c) if c.chat.is_private()));

        let migration = message(parse_update(migrated(-5, -1_000_005)));
        assert!(migration.chat.is_group());
        assert_eq!(migration.chat.id, ChatId(-5));
        assert_eq!(migration.migrate_to_chat_id(), Some(&ChatId(-1_000_005)));
        assert_eq!(migration.from.map(|u| u.id), Some(UserId(MIGRATING_USER)));

        let anonymous = message(parse_update(anonymous_admin(-100, "/subscribe 科技")));
        assert!(anonymous.chat.is_supergroup());
        assert_eq!(
            anonymous.sender_chat.as_ref().map(|c| c.id),
            Some(ChatId(-100))
        );
        assert_eq!(anonymous.text(), Some("/subscribe 科技"));
        let from = anonymous
            .from
            .expect("help: anonymous messages have a from");
        assert!(from.is_anonymous(), "help: teloxide sees GroupAnonymousBot");
        assert_eq!(from.id, UserId(GROUP_ANONYMOUS_BOT_ID));
    }

    /// The fake refuses inline answers Telegram would refuse, so a bot that breaks a limit fails
    /// its test.
    #[test]
    fn inline_answers_beyond_telegrams_limits_are_refused() {
        let article = |id: &str, text: &str| {
            json!({"type": "article", "id": id, "title": "标题",
                   "input_message_content": {"message_text": text, "parse_mode": "HTML"}})
        };
        let answer = |results: Vec<Value>| json!({"inline_query_id": "iq1", "results": results});
        let fifty: Vec<Value> = (0..50).map(|i| article(&i.to_string(), "答")).collect();
        assert_eq!(inline_answer_refusal(&answer(fifty.clone())), None);
        assert_eq!(inline_answer_refusal(&answer(Vec::new())), None);
        let mut fifty_one = fifty;
        fifty_one.push(article("50", "答"));
        let long_id = "x".repeat(65);
        let full = "字".repeat(4096);
        let too_long = "字".repeat(4097);
        for refused in [
            answer(fifty_one),
            answer(vec![article(&long_id, "答")]),
            answer(vec![article("", "答")]),
            answer(vec![article("a", "答"), article("a", "答")]),
            answer(vec![article("a", &too_long)]),
            answer(vec![article("a", "")]),
            json!({"inline_query_id": "iq1"}),
        ] {
            assert!(inline_answer_refusal(&refused).is_some(), "help: accepted");
        }
        assert_eq!(
            inline_answer_refusal(&answer(vec![article(&"x".repeat(64), &full)])),
            None
        );
        let update = parse_update(inline_query(5, "房租减免"));
        let UpdateKind::InlineQuery(q) = update.kind else {
            panic!("help: not an inline query");
        };
        assert_eq!((q.from.id, q.query.as_str()), (UserId(5), "房租减免"));
    }

    #[test]
    fn max_within_counts_a_half_open_window() {
        let t = Instant::now();
        let ms = |n: u64| t + Duration::from_millis(n);
        let times = vec![ms(1500), ms(0), ms(100), ms(999), ms(1000)];
        assert_eq!(max_within(times.clone(), Duration::from_secs(1)), 3);
        assert_eq!(max_within(times.clone(), Duration::from_millis(1001)), 4);
        assert_eq!(max_within(times.clone(), Duration::from_secs(5)), 5);
        assert_eq!(max_within(times, Duration::ZERO), 0);
        assert_eq!(max_within(vec![t, t, t], Duration::from_nanos(1)), 3);
        assert_eq!(max_within(Vec::new(), Duration::from_secs(1)), 0);
    }

    /// teloxide reads the fake's getChatMember answers and its 403 / 400 migrate errors; the 502s
    /// are checked over plain HTTP because teloxide sleeps 10 s after a 5xx.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn teloxide_reads_the_fakes_chat_answers() {
        let api = FakeBotApi::start().await;
        let bot = Bot::new(TOKEN).set_api_url(api.url());

        api.set_admins(-100, &[10, 11]);
        let status = async |chat: i64, user: u64| {
            let member = bot.get_chat_member(ChatId(chat), UserId(user)).await;
            member.expect("help: getChatMember answered").kind
        };
        assert!(status(-100, 10).await.is_owner());
        assert!(status(-100, 11).await.is_administrator());
        assert!(status(-100, 12).await.is_member());
        assert!(status(-200, 10).await.is_member());

        api.forbid(-300);
        match bot.send_message(ChatId(-300), "x").await {
            Err(RequestError::Api(ApiError::BotKickedFromSupergroup)) => {}
            other => panic!("help: expected bot kicked, got {other:?}"),
        }
        api.migrate(-400, -1_000_400);
        match bot.send_message(ChatId(-400), "x").await {
            Err(RequestError::MigrateToChatId(ChatId(-1_000_400))) => {}
            other => panic!("help: expected a migration, got {other:?}"),
        }
        bot.send_message(ChatId(-1_000_400), "moved")
            .await
            .expect("help: the new supergroup accepts messages");

        let http = teloxide::net::default_reqwest_settings()
            .build()
            .expect("help: http client");
        let send = async |chat: i64| {
            let response = http
                .post(format!("{}bot{TOKEN}/sendMessage", api.url()))
                .header("content-type", "application/json")
                .body(json!({"chat_id": chat, "text": "x"}).to_string())
                .send()
                .await
                .expect("help: the fake answered");
            response.status().as_u16()
        };
        api.fail_sends_to(-500, 2);
        assert_eq!(
            [send(-500).await, send(-500).await, send(-500).await],
            [502, 502, 200]
        );
        api.fail_sends_to(-600, usize::MAX);
        for _ in 0..3 {
            assert_eq!(send(-600).await, 502);
        }
        api.fail_sends_to(-600, 0);
        assert_eq!(send(-600).await, 200);

        bot.send_message(ChatId(7), "a").await.expect("help: sent");
        bot.send_message(ChatId(7), "b").await.expect("help: sent");
        let texts: Vec<Value> = api.sent_to(7).iter().map(|b| b["text"].clone()).collect();
        assert_eq!(texts, [json!("a"), json!("b")]);
        assert!(api.sent_to(-300).is_empty() && api.sent_to(-400).is_empty());
        let expected = HashMap::from([(7, 2), (-1_000_400, 1), (-500, 1), (-600, 1)]);
        assert_eq!(api.sends_per_chat(), expected);
        let failed = api
            .calls()
            .iter()
            .filter(|c| c.method == "sendmessage" && !c.ok)
            .count();
        assert_eq!(
            failed,
            2 + 2 + 3,
            "help: kicked, migrated and 502s are not ok"
        );
        assert_eq!(api.max_sends_within(Duration::from_secs(600)), 5);
        assert_eq!(api.max_sends_within(Duration::ZERO), 0);
        assert_eq!(api.max_sends_to_chat_within(7, Duration::from_secs(600)), 2);
        assert_eq!(
            api.max_sends_to_chat_within(-300, Duration::from_secs(600)),
            0
        );
    }
}
