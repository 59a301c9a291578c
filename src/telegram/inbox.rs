//! Crash recovery of accepted updates (with Redis): every update is written to the replica's
//! inbox (hash `{prefix}inbox:{replica}`, update id → update JSON) before the bot confirms it to
//! Telegram, and removed once its handler has finished (the reply sent, or given up on). At start
//! the updates still there — fetched by a process that was killed (`kill -9`, OOM, power) or
//! that hit its shutdown deadline — are handled first, in order.
//!
//! Confirmation: the long poll ([`super::poll`]) confirms updates by asking for the next batch
//! with a higher `offset`, which it does only when the dispatcher pulls past the last update of
//! the current batch. [`Recorded`] records each update as the dispatcher pulls it, before passing
//! it on, so an update is always in the inbox before its offset is confirmed; one fetched but not
//! yet pulled is not confirmed and Telegram sends it again. In webhook mode Telegram takes the
//! answer to its post as the confirmation, so [`record_on_arrival`] records the update before
//! teloxide's webhook handler answers the post.
//!
//! De-duplication by `update_id`: an update already in the inbox, or not newer than the newest
//! one recorded (`{prefix}inbox:{replica}:last`, kept a day: Telegram redelivers unconfirmed
//! updates for 24 hours and numbers updates in increasing order), is a redelivery and is dropped.
//! A reply whose send was on the wire at the crash is sent again at the restart (one duplicate at
//! most per such send): the Bot API cannot say whether it arrived, and answering twice beats not
//! answering. An update whose handling crashed the process [`MAX_REPLAYS`] times is dropped
//! with an error log instead of being replayed forever.
//!
//! Redis unreachable: updates are handled anyway (not recorded, so not recoverable), and the
//! outage is logged once. Without Redis there is no inbox: a graceful stop drains the answers
//! under way, a crash loses them.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, BoxStream, StreamExt};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisResult, Script};
use teloxide::stop::StopToken;
use teloxide::types::{AllowedUpdate, Update, UpdateId, UpdateKind};
use teloxide::update_listeners::{AsUpdateStream, UpdateListener};

use crate::config::Secret;

/// Upper bound on one inbox command: a stalled Redis must not stall the bot for long.
const OP_TIMEOUT: Duration = Duration::from_secs(1);

/// How long the newest recorded update id is remembered (Telegram keeps unconfirmed updates for
/// 24 hours, and after a week without updates numbers them from a random start).
const LAST_TTL_SECS: u64 = 24 * 60 * 60;

/// Starts after which an update that never finished is dropped.
pub const MAX_REPLAYS: u32 = 3;

/// Records an update unless it was recorded before. KEYS: inbox hash, newest-id key. ARGV:
/// update id, update JSON, TTL of the newest id. Returns 1 when recorded, 0 for a redelivery.
const ACCEPT: &str = r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
local last = tonumber(redis.call('GET', KEYS[2]))
if last and tonumber(ARGV[1]) <= last then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3])
return 1
";

/// The inbox of one replica.
pub struct Inbox {
    conn: ConnectionManager,
    pending: String,
    last: String,
    replays: String,
    /// True while Redis is unreachable (the outage and the recovery are logged once each).
    down: AtomicBool,
}

impl fmt::Debug for Inbox {
    // By hand: the connection's Debug would print the connection info, password included.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox")
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

/// The Redis URL is malformed (not repeated: it may hold a password).
#[derive(Debug, thiserror::Error)]
#[error("invalid Redis URL: {0}")]
pub struct InvalidUrl(String);

impl Inbox {
    /// The inbox of `replica` under `prefix` on `url`. Connects lazily.
    ///
    /// # Errors
    /// A malformed URL.
    pub fn open(url: &str, prefix: &str, replica: &str) -> Result<Self, InvalidUrl> {
        let client = redis::Client::open(url).map_err(|e| InvalidUrl(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(OP_TIMEOUT))
            .set_response_timeout(Some(OP_TIMEOUT))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| InvalidUrl(e.to_string()))?;
        let pending = format!("{prefix}inbox:{replica}");
        Ok(Inbox {
            conn,
            last: format!("{pending}:last"),
            replays: format!("{pending}:replays"),
            pending,
            down: AtomicBool::new(false),
        })
    }

    /// Runs a command, logging an outage once; `None` when Redis failed.
    async fn run<T>(&self, what: &str, command: impl Future<Output = RedisResult<T>>) -> Option<T> {
        let error = match tokio::time::timeout(OP_TIMEOUT, command).await {
            Ok(Ok(value)) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis reachable again; updates are recorded for recovery");
                }
                return Some(value);
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => "timed out".to_string(),
        };
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                what,
                %error,
                "Redis unreachable; updates are handled without crash recovery until it returns"
            );
        }
        None
    }

    /// Records `update` before it is handled. False when it is a redelivery of one recorded
    /// before (drop it); true otherwise, also when Redis is down (handle it, unrecorded).
    pub async fn accept(&self, update: &Update) -> bool {
        if matches!(update.kind, UpdateKind::Error(_)) {
            // teloxide cannot read it: the dispatcher logs and skips it; nothing to recover.
            return true;
        }
        let json = match serde_json::to_string(update) {
            Ok(json) => json,
            Err(error) => {
                tracing::warn!(update_id = update.id.0, %error, "update not recordable");
                return true;
            }
        };
        let mut conn = self.conn.clone();
        let script = Script::new(ACCEPT);
        let mut invocation = script.key(&self.pending);
        invocation
            .key(&self.last)
            .arg(update.id.0)
            .arg(json)
            .arg(LAST_TTL_SECS);
        let recorded: Option<i64> = self
            .run("record update", invocation.invoke_async(&mut conn))
            .await;
        match recorded {
            Some(0) => {
                tracing::info!(update_id = update.id.0, "update already recorded; dropped");
                false
            }
            _ => true,
        }
    }

    /// Forgets update `id`: its handler has finished.
    pub async fn done(&self, id: UpdateId) {
        let mut pipe = redis::pipe();
        pipe.hdel(&self.pending, id.0)
            .ignore()
            .hdel(&self.replays, id.0)
            .ignore();
        let mut conn = self.conn.clone();
        let _: Option<()> = self.run("forget update", pipe.query_async(&mut conn)).await;
    }

    /// The updates left unfinished by an earlier process, oldest first; each call counts as one
    /// replay, and an update replayed [`MAX_REPLAYS`] times is dropped.
    pub async fn unfinished(&self) -> Vec<Update> {
        let mut conn = self.conn.clone();
        let Some(all) = self
            .run(
                "read unfinished updates",
                redis::cmd("HGETALL")
                    .arg(&self.pending)
                    .query_async::<Vec<(u32, String)>>(&mut conn),
            )
            .await
        else {
            return Vec::new();
        };
        let mut updates = Vec::with_capacity(all.len());
        for (id, json) in all {
            let replays: Option<u32> = self
                .run(
                    "count replays",
                    redis::cmd("HINCRBY")
                        .arg(&self.replays)
                        .arg(id)
                        .arg(1)
                        .query_async(&mut conn),
                )
                .await;
            let parsed = serde_json::from_str::<Update>(&json);
            match (replays, parsed) {
                (Some(n), _) if n > MAX_REPLAYS => {
                    tracing::error!(
                        update_id = id,
                        replays = n - 1,
                        "update never finished; dropped"
                    );
                    self.done(UpdateId(id)).await;
                }
                (_, Err(error)) => {
                    tracing::error!(update_id = id, %error, "recorded update unreadable; dropped");
                    self.done(UpdateId(id)).await;
                }
                (_, Ok(update)) => updates.push(update),
            }
        }
        updates.sort_by_key(|u| u.id);
        if !updates.is_empty() {
            tracing::warn!(
                updates = updates.len(),
                "updates left unfinished by the last run; handling them first"
            );
        }
        updates
    }
}

/// An update listener that first yields the updates an earlier process left unfinished, then
/// those of `inner`: recorded in the [`Inbox`] as the dispatcher takes them (redeliveries
/// dropped), unless they were recorded on arrival ([`record_on_arrival`], webhook mode).
pub struct Recorded<L> {
    inner: L,
    inbox: Option<Arc<Inbox>>,
    replay: Vec<Update>,
}

impl<L> Recorded<L> {
    /// Wraps `inner`; `replay` (from [`Inbox::unfinished`]) comes first. Each update of `inner`
    /// is recorded in `inbox` as it is taken; `None`: no inbox, or recorded on arrival.
    pub fn new(inner: L, inbox: Option<Arc<Inbox>>, replay: Vec<Update>) -> Self {
        Recorded {
            inner,
            inbox,
            replay,
        }
    }
}

impl<'a, L> AsUpdateStream<'a> for Recorded<L>
where
    L: UpdateListener + Send + 'static,
    L::Err: Send + 'static,
{
    type StreamErr = L::Err;
    type Stream = BoxStream<'a, Result<Update, L::Err>>;

    fn as_stream(&'a mut self) -> Self::Stream {
        let replay = stream::iter(std::mem::take(&mut self.replay).into_iter().map(Ok));
        let Some(inbox) = self.inbox.clone() else {
            return replay.chain(self.inner.as_stream()).boxed();
        };
        // `filter_map` polls the inner stream again only after the record is written, and the
        // long poll confirms a batch only when polled past its last update.
        let live = self.inner.as_stream().filter_map(move |item| {
            let inbox = Arc::clone(&inbox);
            let kept: Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(async move {
                match item {
                    Ok(update) => inbox.accept(&update).await.then_some(Ok(update)),
                    Err(error) => Some(Err(error)),
                }
            });
            kept
        });
        replay.chain(live).boxed()
    }
}

impl<L> UpdateListener for Recorded<L>
where
    L: UpdateListener + Send + 'static,
    L::Err: Send + 'static,
{
    type Err = L::Err;

    fn stop_token(&mut self) -> StopToken {
        self.inner.stop_token()
    }

    fn hint_allowed_updates(&mut self, hint: &mut dyn Iterator<Item = AllowedUpdate>) {
        self.inner.hint_allowed_updates(hint);
    }
}

/// Largest webhook post read to record it (teloxide's own limit for the post).
const MAX_POST_BYTES: usize = 2 * 1024 * 1024;

/// What [`record_first`] needs.
#[derive(Clone)]
struct Door {
    inbox: Arc<Inbox>,
    secret: Option<Secret>,
}

/// Webhook mode: records each update Telegram posts to `router` (teloxide's webhook router) in
/// `inbox` before the post is answered, since Telegram takes the answer as the confirmation. A
/// redelivery is answered 200 and not handed on. A post without the right `secret` token, or
/// that is no update, is handed on unrecorded (teloxide refuses or logs it).
pub fn record_on_arrival(router: Router, inbox: Arc<Inbox>, secret: Option<Secret>) -> Router {
    router.layer(middleware::from_fn_with_state(
        Door { inbox, secret },
        record_first,
    ))
}

async fn record_first(State(door): State<Door>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_POST_BYTES).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let token = parts
        .headers
        .get("x-telegram-bot-api-secret-token")
        .map(HeaderValue::as_bytes);
    let genuine = token == door.secret.as_ref().map(|s| s.expose().as_bytes());
    if genuine
        && let Ok(update) = serde_json::from_slice::<Update>(&bytes)
        && !door.inbox.accept(&update).await
    {
        return StatusCode::OK.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_update_reads_back_the_same() {
        let raw = r#"{"update_id": 42, "message": {"message_id": 7, "date": 1700000000,
            "chat": {"id": 5, "type": "private", "first_name": "用户"},
            "from": {"id": 5, "is_bot": false, "first_name": "用户"},
            "text": "/ask 小店房租能减免吗",
            "entities": [{"type": "bot_command", "offset": 0, "length": 4}]}}"#;
        let update: Update = serde_json::from_str(raw).expect("help: a teloxide update");
        let json = serde_json::to_string(&update).expect("help: serialisable");
        let back: Update = serde_json::from_str(&json).expect("help: readable again");
        assert_eq!(back, update);
        assert!(
            matches!(back.kind, UpdateKind::Message(ref m) if m.text() == Some("/ask 小店房租能减免吗"))
        );
    }
}
