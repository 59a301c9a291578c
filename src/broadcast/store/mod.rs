//! The Redis side of broadcasts: subscriptions (hash `{prefix}subs`), the durable queue of
//! announcements (stream `{prefix}bc:queue`, consumer group `broadcast`, each document queued
//! once: `{prefix}bc:announced`), per-(document, chat) delivery records (`{prefix}bc:doc:{id}`:
//! `sending:<instance>:<t>`, `sent:<t>`, `failed:<why>`, `dropped:<why>`, `migrated:<chat>`),
//! liveness of delivering processes (`{prefix}bc:alive:{instance}`), per-document counters
//! (`{prefix}bc:meta:{id}`) and subscribers that keep failing (`{prefix}bc:failures`).
//!
//! Exactly once per (chat, document): a delivery is claimed atomically before the message is
//! sent and recorded right after. A claim held by a process that is no longer alive (its
//! heartbeat key expired) is taken over; such an "in doubt" delivery — the process died between
//! sending and recording — is counted, because the Bot API cannot say whether it arrived.
//! Unlike the session store, every call here returns its Redis error: a broadcast must not
//! guess.
//!
//! The parts: `subscriptions` (the `subs` hash), `queue` (the stream
//! and its consumer group) and `deliveries` (claims, records, heartbeats and status).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, RedisResult};

mod deliveries;
mod queue;
mod subscriptions;

pub use deliveries::{Claim, DocStatus, Settled};
pub use queue::Queued;

/// Upper bound on one command.
const OP_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a process counts as alive after its last heartbeat.
pub const ALIVE_FOR: Duration = Duration::from_secs(6);

/// Queue entries another consumer took but has not touched for this long are taken over (a
/// consumer delivering an entry touches it every few seconds), unless configured otherwise
/// ([`BroadcastStore::stale_after`], `broadcast_stale_secs`).
pub const STALE_ENTRY: Duration = Duration::from_secs(30);

/// A broadcast store error.
#[derive(Debug, thiserror::Error)]
pub enum BroadcastError {
    /// The Redis URL is malformed (not repeated: it may hold a password).
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
    /// Redis failed or did not answer in time.
    #[error("Redis: {0}")]
    Redis(#[from] RedisError),
    /// A command took longer than its bound.
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    /// An announcement that cannot be serialised.
    #[error("announcement: {0}")]
    Json(#[from] serde_json::Error),
}

/// Result of a store call.
pub type Result<T> = std::result::Result<T, BroadcastError>;

/// Subscriptions and the broadcast queue in Redis; cheap to share (`&self` everywhere).
pub struct BroadcastStore {
    conn: ConnectionManager,
    prefix: String,
    /// Stable consumer name in the queue's group (a restarted process resumes its own entries).
    consumer: String,
    /// Unique per process: owner of delivery claims.
    instance: String,
    /// Entries another consumer has not touched for this long are taken over.
    stale: Duration,
}

impl fmt::Debug for BroadcastStore {
    // By hand: the connection's Debug would print the connection info, password included.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BroadcastStore")
            .field("prefix", &self.prefix)
            .field("consumer", &self.consumer)
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl BroadcastStore {
    /// A store on `url` with keys under `prefix`; `consumer` names this replica in the queue's
    /// consumer group. Connects lazily: a Redis that is down now is retried by later calls.
    ///
    /// # Errors
    /// A malformed URL.
    pub fn open(url: &str, prefix: &str, consumer: &str) -> Result<Self> {
        let client =
            redis::Client::open(url).map_err(|e| BroadcastError::InvalidUrl(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(OP_TIMEOUT))
            .set_response_timeout(Some(OP_TIMEOUT))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| BroadcastError::InvalidUrl(e.to_string()))?;
        let instance = format!(
            "{}-{}-{:x}",
            consumer.replace(':', "_"),
            std::process::id(),
            now_ms()
        );
        Ok(BroadcastStore {
            conn,
            prefix: prefix.to_string(),
            consumer: consumer.to_string(),
            instance,
            stale: STALE_ENTRY,
        })
    }

    /// Takes over the entries another consumer left untouched for `stale` instead of
    /// [`STALE_ENTRY`] (keep it well above the few seconds between touches of an entry being
    /// delivered).
    #[must_use]
    pub fn stale_after(mut self, stale: Duration) -> Self {
        self.stale = stale;
        self
    }

    /// Checks that Redis answers.
    ///
    /// # Errors
    /// Redis unreachable.
    pub async fn ping(&self) -> Result<()> {
        let _: String = bounded(redis::cmd("PING").query_async(&mut self.conn.clone())).await?;
        Ok(())
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn doc_key(&self, doc: &str) -> String {
        format!("{}bc:doc:{doc}", self.prefix)
    }

    fn meta_key(&self, doc: &str) -> String {
        format!("{}bc:meta:{doc}", self.prefix)
    }

    fn alive_prefix(&self) -> String {
        format!("{}bc:alive:", self.prefix)
    }
}

/// Runs a Redis future with [`OP_TIMEOUT`].
async fn bounded<T>(f: impl std::future::Future<Output = RedisResult<T>>) -> Result<T> {
    match tokio::time::timeout(OP_TIMEOUT, f).await {
        Ok(result) => result.map_err(BroadcastError::from),
        Err(_) => Err(BroadcastError::Timeout(OP_TIMEOUT)),
    }
}
