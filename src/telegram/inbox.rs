//! Crash recovery of accepted updates (with Redis): every update is written to the replica's
//! inbox (hash `{prefix}inbox:{replica}`, update id → update JSON) before the bot confirms it to
//! Telegram, and removed once its handler has finished (the reply sent, or given up on). At start
//! the updates still there — fetched by a process that was killed (`kill -9`, OOM, power) or
//! that hit its shutdown deadline — are handled first, in order.
//!
//! Confirmation: the long poll ([`super::poll`]) confirms updates by asking for the next batch
//! with a higher `offset`. It records each fetched batch here ([`Inbox::accept_all`]: one script
//! call, one round trip for the whole batch) before handing out its first update, so every update
//! is in the inbox before its offset is confirmed. In webhook mode Telegram takes the answer to
//! its post as the confirmation, so [`record_on_arrival`] records the update before teloxide's
//! webhook handler answers the post.
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
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisResult, Script};
use teloxide::types::{Update, UpdateId, UpdateKind};

use crate::config::Secret;

/// Upper bound on one inbox command: a stalled Redis must not stall the bot for long.
const OP_TIMEOUT: Duration = Duration::from_secs(1);

/// How long the newest recorded update id is remembered (Telegram keeps unconfirmed updates for
/// 24 hours, and after a week without updates numbers them from a random start).
const LAST_TTL_SECS: u64 = 24 * 60 * 60;

/// Starts after which an update that never finished is dropped.
pub const MAX_REPLAYS: u32 = 3;

/// Records updates, in order, unless they were recorded before. KEYS: inbox hash, newest-id key.
/// ARGV: TTL of the newest id, then update id and update JSON per update. Returns per update 1
/// when recorded, 0 for a redelivery (still pending, or not newer than the newest recorded).
const ACCEPT: &str = r"
local last = tonumber(redis.call('GET', KEYS[2]))
local newest = nil
local kept = {}
for i = 2, #ARGV, 2 do
  local id = tonumber(ARGV[i])
  local fresh = redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 and not (last and id <= last)
  if fresh then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    last = id
    newest = ARGV[i]
  end
  kept[#kept + 1] = fresh and 1 or 0
end
if newest then redis.call('SET', KEYS[2], newest, 'EX', ARGV[1]) end
return kept
";

/// The inbox of one replica.
pub struct Inbox {
    conn: ConnectionManager,
    pending: String,
    last: String,
    replays: String,
    /// [`ACCEPT`], its digest computed once.
    accept: Script,
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
            accept: Script::new(ACCEPT),
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
        self.record(std::slice::from_ref(update)).await[0]
    }

    /// Records a fetched batch in one round trip before any of it is handled, and returns the
    /// updates to handle: all but the redeliveries of updates recorded before (all of them when
    /// Redis is down: handled, unrecorded).
    pub async fn accept_all(&self, updates: Vec<Update>) -> Vec<Update> {
        let kept = self.record(&updates).await;
        updates
            .into_iter()
            .zip(kept)
            .filter_map(|(update, kept)| kept.then_some(update))
            .collect()
    }

    /// Records `updates` (one script call); per update, whether to handle it.
    async fn record(&self, updates: &[Update]) -> Vec<bool> {
        let mut kept = vec![true; updates.len()];
        let mut invocation = self.accept.key(&self.pending);
        invocation.key(&self.last).arg(LAST_TTL_SECS);
        // Indexes in `updates` of the recordable ones, in argument order.
        let mut recorded = Vec::with_capacity(updates.len());
        for (i, update) in updates.iter().enumerate() {
            if matches!(update.kind, UpdateKind::Error(_)) {
                // teloxide cannot read it: the dispatcher logs and skips it; nothing to recover.
                continue;
            }
            match serde_json::to_string(update) {
                Ok(json) => {
                    invocation.arg(update.id.0).arg(json);
                    recorded.push(i);
                }
                Err(error) => {
                    tracing::warn!(update_id = update.id.0, %error, "update not recordable")
                }
            }
        }
        if recorded.is_empty() {
            return kept;
        }
        let mut conn = self.conn.clone();
        let flags: Option<Vec<i64>> = self
            .run("record updates", invocation.invoke_async(&mut conn))
            .await;
        for (i, flag) in recorded.into_iter().zip(flags.unwrap_or_default()) {
            if flag == 0 {
                tracing::info!(
                    update_id = updates[i].id.0,
                    "update already recorded; dropped"
                );
                kept[i] = false;
            }
        }
        kept
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
