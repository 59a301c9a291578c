//! A fake Telegram Bot API server on 127.0.0.1 (random port) for end-to-end bot tests: serves
//! queued real-shaped updates through getUpdates (offset and long-poll timeout honoured), records
//! every call (method, JSON body), answers like Telegram, and can fail the next sendMessage
//! calls with 429 (retry_after) or 502. Method names are matched case-insensitively.

use std::collections::VecDeque;
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

/// Longest a getUpdates call is held open.
const MAX_LONG_POLL: Duration = Duration::from_secs(2);

/// A failure to inject into the next sendMessage calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// 429 Too Many Requests, retry_after 1.
    TooManyRequests,
    /// 502 Bad Gateway.
    BadGateway,
}

/// One recorded Bot API call.
#[derive(Clone, Debug)]
pub struct Call {
    /// Method name, lowercased (`sendmessage`).
    pub method: String,
    /// JSON body.
    pub body: Value,
    /// Whether the fake answered `ok: true`.
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
}

#[derive(Default)]
struct Shared {
    inner: Mutex<Inner>,
    updates: Notify,
    calls: Notify,
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

    /// Answers the next `n` sendMessage calls with `failure`.
    pub fn fail_next_sends(&self, n: usize, failure: Failure) {
        self.shared
            .lock()
            .failures
            .extend(std::iter::repeat_n(failure, n));
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.lock().calls.clone()
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

    /// Waits `quiet` and returns the calls made meanwhile (to show that nothing was sent).
    pub async fn calls_during(&self, quiet: Duration) -> Vec<Call> {
        let before = self.calls().len();
        tokio::time::sleep(quiet).await;
        self.calls().split_off(before)
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path(path): Path<String>,
    body: Bytes,
) -> Response {
    let Some((token, method)) = path.strip_prefix("bot").and_then(|p| p.rsplit_once('/')) else {
        return error(StatusCode::NOT_FOUND, 404, "Not Found");
    };
    if token != TOKEN {
        return error(StatusCode::UNAUTHORIZED, 401, "Unauthorized");
    }
    let method = method.to_ascii_lowercase();
    let body: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
    let response = match method.as_str() {
        "getupdates" => {
            let updates = get_updates(&shared, &body).await;
            ok(json!(updates))
        }
        "getme" => ok(bot_user_me()),
        "sendmessage" => {
            let failure = shared.lock().failures.pop_front();
            match failure {
                Some(Failure::TooManyRequests) => too_many_requests(),
                Some(Failure::BadGateway) => error(StatusCode::BAD_GATEWAY, 502, "Bad Gateway"),
                None => {
                    let id = {
                        let mut inner = shared.lock();
                        inner.next_message_id += 1;
                        inner.next_message_id
                    };
                    ok(sent_message(id, &body))
                }
            }
        }
        _ => ok(json!(true)),
    };
    if method != "getupdates" {
        let ok = response.status() == StatusCode::OK;
        shared.lock().calls.push(Call {
            method,
            body,
            ok,
            at: Instant::now(),
        });
        shared.calls.notify_waiters();
    }
    response
}

async fn get_updates(shared: &Shared, body: &Value) -> Vec<Value> {
    let offset = body["offset"].as_i64().unwrap_or(0);
    let limit = body["limit"].as_u64().unwrap_or(100).clamp(1, 100) as usize;
    let wait = Duration::from_secs(body["timeout"].as_u64().unwrap_or(0)).min(MAX_LONG_POLL);
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

fn too_many_requests() -> Response {
    let body = json!({
        "ok": false,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1}
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

fn message_in(chat_id: i64, from: u64, text: &str) -> Value {
    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut message = json!({
        "message_id": id,
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
