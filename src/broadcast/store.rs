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

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use redis::{AsyncCommands, RedisError, RedisResult, Script};

use super::{Announcement, Subscription};

/// Consumer group of the queue.
const GROUP: &str = "broadcast";

/// Upper bound on one command.
const OP_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a process counts as alive after its last heartbeat.
pub const ALIVE_FOR: Duration = Duration::from_secs(6);

/// Queue entries another consumer took but has not touched for this long are taken over (a
/// consumer delivering an entry touches it every few seconds), unless configured otherwise
/// ([`BroadcastStore::stale_after`], `broadcast_stale_secs`).
pub const STALE_ENTRY: Duration = Duration::from_secs(30);

/// Entries read per call.
const BATCH: usize = 16;

/// Queues an announcement unless its document was queued before. KEYS: stream, announced hash,
/// the document's counters. ARGV: document id, announcement JSON, title. Returns the entry id,
/// or nil when already queued.
const ENQUEUE: &str = r"
if redis.call('HSETNX', KEYS[2], ARGV[1], 'queued') == 0 then return false end
local id = redis.call('XADD', KEYS[1], '*', 'doc', ARGV[1], 'announcement', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], id)
redis.call('HSET', KEYS[3], 'title', ARGV[3])
return id
";

/// Claims delivery of a document to a chat. KEYS: the document's delivery hash. ARGV: chat,
/// instance, now (ms), alive-key prefix. Returns `claimed`, `reclaimed` (the previous claim, by a
/// dead process or by this one before a failed record, is in doubt), `busy` (another live process
/// is sending) or `done` (already settled).
const CLAIM: &str = r"
local v = redis.call('HGET', KEYS[1], ARGV[1])
local mine = 'sending:' .. ARGV[2] .. ':' .. ARGV[3]
if not v then
  redis.call('HSET', KEYS[1], ARGV[1], mine)
  return 'claimed'
end
local owner = string.match(v, '^sending:([^:]+):')
if not owner then return 'done' end
if owner ~= ARGV[2] and redis.call('EXISTS', ARGV[4] .. owner) == 1 then return 'busy' end
redis.call('HSET', KEYS[1], ARGV[1], mine)
return 'reclaimed'
";

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

/// One queued announcement as read from the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    /// Stream entry id.
    pub entry: String,
    /// Document id.
    pub doc: String,
    /// The announcement; `None` when the entry is malformed (it is acknowledged and skipped).
    pub announcement: Option<Announcement>,
}

/// Outcome of [`BroadcastStore::claim`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// This process sends now.
    Claimed,
    /// This process sends now; the previous claimer died mid-delivery (in doubt).
    Reclaimed,
    /// Another live process is sending.
    Busy,
    /// Already settled (sent, failed, dropped or migrated).
    Done,
}

/// How a delivery ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settled {
    /// Telegram accepted the message.
    Sent,
    /// Failed after bounded retries; the subscriber's failure count goes up.
    Failed(String),
    /// The chat is gone for the bot (kicked, blocked, deleted): subscription dropped.
    Dropped(String),
    /// The group became a supergroup with this id: subscription moved, delivered there.
    Migrated(i64),
}

/// Delivery counts of one announced document.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DocStatus {
    /// Document id.
    pub doc: String,
    /// Title.
    pub title: String,
    /// Stream entry id (queue order).
    pub entry: String,
    /// Matching subscribers when the delivery last ran (`None`: not started yet).
    pub targets: Option<u64>,
    /// Delivered.
    pub sent: u64,
    /// Failed after retries.
    pub failed: u64,
    /// Subscription dropped (bot removed or blocked).
    pub dropped: u64,
    /// Moved to a supergroup (delivered under the new id).
    pub migrated: u64,
    /// Not settled yet (queued, or being sent).
    pub pending: u64,
    /// Taken over from a process that died mid-delivery (possibly delivered twice), or sent
    /// with an unknown outcome (a 5xx or timeout after sending: possibly not delivered).
    pub in_doubt: u64,
    /// Every matching subscriber settled and the queue entry acknowledged.
    pub finished: bool,
}

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

    // ---- subscriptions ----

    /// Stores (or replaces) a subscription.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn subscribe(&self, sub: &Subscription) -> Result<()> {
        let json = serde_json::to_string(sub)?;
        let mut conn = self.conn.clone();
        let _: () = bounded(conn.hset(self.key("subs"), sub.chat, json)).await?;
        Ok(())
    }

    /// Removes the subscription of `chat`; whether there was one.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn unsubscribe(&self, chat: i64) -> Result<bool> {
        let mut conn = self.conn.clone();
        let removed: u64 = bounded(conn.hdel(self.key("subs"), chat)).await?;
        Ok(removed > 0)
    }

    /// The subscription of `chat`, if any.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn subscription(&self, chat: i64) -> Result<Option<Subscription>> {
        let mut conn = self.conn.clone();
        let json: Option<String> = bounded(conn.hget(self.key("subs"), chat)).await?;
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    }

    /// Every subscription (malformed entries are skipped with a warning).
    ///
    /// # Errors
    /// Redis failed.
    pub async fn subscriptions(&self) -> Result<Vec<Subscription>> {
        let mut conn = self.conn.clone();
        let all: Vec<(String, String)> = bounded(conn.hgetall(self.key("subs"))).await?;
        let mut subs: Vec<Subscription> = all
            .into_iter()
            .filter_map(|(chat, json)| match serde_json::from_str(&json) {
                Ok(s) => Some(s),
                Err(error) => {
                    tracing::warn!(%chat, %error, "malformed subscription skipped");
                    None
                }
            })
            .collect();
        subs.sort_by_key(|s: &Subscription| s.chat);
        Ok(subs)
    }

    /// Moves the subscription of group `from` to supergroup `to`; whether there was one.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn migrate(&self, from: i64, to: i64) -> Result<bool> {
        let Some(mut sub) = self.subscription(from).await? else {
            return Ok(false);
        };
        sub.chat = to;
        let json = serde_json::to_string(&sub)?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset(self.key("subs"), to, json)
            .ignore()
            .hdel(self.key("subs"), from)
            .ignore();
        let mut conn = self.conn.clone();
        let _: () = bounded(pipe.query_async(&mut conn)).await?;
        Ok(true)
    }

    // ---- queue ----

    /// Queues `a` for delivery unless it was queued before (a new document: its id; a revision:
    /// its id and version, [`Announcement::key`]); returns the entry id, or `None` when it was.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn enqueue(&self, a: &Announcement) -> Result<Option<String>> {
        let json = serde_json::to_string(a)?;
        let mut conn = self.conn.clone();
        let id: Option<String> = bounded(
            Script::new(ENQUEUE)
                .key(self.key("bc:queue"))
                .key(self.key("bc:announced"))
                .key(self.meta_key(&a.key()))
                .arg(a.key())
                .arg(json)
                .arg(a.label())
                .invoke_async(&mut conn),
        )
        .await?;
        Ok(id)
    }

    /// Creates the consumer group (from the start of the stream, so announcements queued before
    /// any bot ran are delivered) if it does not exist.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn ensure_group(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        let mut create = redis::cmd("XGROUP");
        create
            .arg("CREATE")
            .arg(self.key("bc:queue"))
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM");
        let created = tokio::time::timeout(OP_TIMEOUT, create.query_async::<()>(&mut conn))
            .await
            .map_err(|_| BroadcastError::Timeout(OP_TIMEOUT))?;
        match created {
            Ok(()) => Ok(()),
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Entries to work on: this consumer's unfinished ones first (after a restart), then ones
    /// another consumer left unfinished for a while, then new ones.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn next_batch(&self) -> Result<Vec<Queued>> {
        let own = self.read_group("0").await?;
        if !own.is_empty() {
            return Ok(own);
        }
        let mut conn = self.conn.clone();
        let stale: StreamAutoClaimReply = bounded(
            redis::cmd("XAUTOCLAIM")
                .arg(self.key("bc:queue"))
                .arg(GROUP)
                .arg(&self.consumer)
                .arg(u64::try_from(self.stale.as_millis()).unwrap_or(u64::MAX))
                .arg("0")
                .arg("COUNT")
                .arg(BATCH)
                .query_async(&mut conn),
        )
        .await?;
        if !stale.claimed.is_empty() {
            return Ok(stale.claimed.into_iter().map(queued).collect());
        }
        self.read_group(">").await
    }

    /// XREADGROUP from `from`: `0` = this consumer's pending entries, `>` = new ones.
    async fn read_group(&self, from: &str) -> Result<Vec<Queued>> {
        let mut conn = self.conn.clone();
        let reply: StreamReadReply = bounded(
            redis::cmd("XREADGROUP")
                .arg("GROUP")
                .arg(GROUP)
                .arg(&self.consumer)
                .arg("COUNT")
                .arg(BATCH)
                .arg("STREAMS")
                .arg(self.key("bc:queue"))
                .arg(from)
                .query_async(&mut conn),
        )
        .await?;
        Ok(reply
            .keys
            .into_iter()
            .flat_map(|k| k.ids)
            .map(queued)
            .collect())
    }

    /// Resets the idle time of a queue entry this consumer is working on, so that other replicas
    /// do not take it over while it is being delivered (call well within 30 s).
    ///
    /// # Errors
    /// Redis failed.
    pub async fn touch(&self, q: &Queued) -> Result<()> {
        let mut conn = self.conn.clone();
        let _: redis::Value = bounded(
            redis::cmd("XCLAIM")
                .arg(self.key("bc:queue"))
                .arg(GROUP)
                .arg(&self.consumer)
                .arg(0)
                .arg(&q.entry)
                .arg("JUSTID")
                .query_async(&mut conn),
        )
        .await?;
        Ok(())
    }

    /// Marks this process alive for [`ALIVE_FOR`]; call well within that period.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn heartbeat(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        let key = format!("{}{}", self.alive_prefix(), self.instance);
        let ms = u64::try_from(ALIVE_FOR.as_millis()).unwrap_or(u64::MAX);
        let _: () = bounded(
            redis::cmd("SET")
                .arg(key)
                .arg(1)
                .arg("PX")
                .arg(ms)
                .query_async(&mut conn),
        )
        .await?;
        Ok(())
    }

    /// Records how many subscribers match `doc` (for status) and its title.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn set_targets(&self, doc: &str, title: &str, targets: usize) -> Result<()> {
        let mut conn = self.conn.clone();
        let _: () = bounded(conn.hset_multiple(
            self.meta_key(doc),
            &[
                ("title", title.to_string()),
                ("targets", targets.to_string()),
            ],
        ))
        .await?;
        Ok(())
    }

    /// Whether the delivery of `doc` to `chat` has ended (sent, failed, dropped, migrated).
    ///
    /// # Errors
    /// Redis failed.
    pub async fn settled(&self, doc: &str, chat: i64) -> Result<bool> {
        let mut conn = self.conn.clone();
        let state: Option<String> = bounded(conn.hget(self.doc_key(doc), chat)).await?;
        Ok(state.is_some_and(|s| !s.starts_with("sending:")))
    }

    /// Claims delivery of `doc` to `chat` for this process.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn claim(&self, doc: &str, chat: i64) -> Result<Claim> {
        let mut conn = self.conn.clone();
        let outcome: String = bounded(
            Script::new(CLAIM)
                .key(self.doc_key(doc))
                .arg(chat)
                .arg(&self.instance)
                .arg(now_ms())
                .arg(self.alive_prefix())
                .invoke_async(&mut conn),
        )
        .await?;
        let claim = match outcome.as_str() {
            "claimed" => Claim::Claimed,
            "reclaimed" => Claim::Reclaimed,
            "busy" => Claim::Busy,
            _ => Claim::Done,
        };
        if claim == Claim::Reclaimed {
            let _: () = bounded(conn.hincr(self.meta_key(doc), "in_doubt", 1)).await?;
        }
        Ok(claim)
    }

    /// Counts one delivery of `doc` in doubt: its send went out and Telegram's answer was lost.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn count_in_doubt(&self, doc: &str) -> Result<()> {
        let mut conn = self.conn.clone();
        let _: () = bounded(conn.hincr(self.meta_key(doc), "in_doubt", 1)).await?;
        Ok(())
    }

    /// Records how the delivery of `doc` to `chat` ended, and its effect on the subscription
    /// (dropped, moved) and the subscriber's failure count.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn settle(&self, doc: &str, chat: i64, how: &Settled) -> Result<()> {
        let state = match how {
            Settled::Sent => format!("sent:{}", now_ms()),
            Settled::Failed(why) => format!("failed:{why}"),
            Settled::Dropped(why) => format!("dropped:{why}"),
            Settled::Migrated(to) => format!("migrated:{to}"),
        };
        let failures = self.key("bc:failures");
        let mut pipe = redis::pipe();
        pipe.atomic().hset(self.doc_key(doc), chat, state).ignore();
        match how {
            Settled::Sent => {
                pipe.hdel(&failures, chat).ignore();
            }
            Settled::Failed(_) => {
                pipe.hincr(&failures, chat, 1).ignore();
            }
            Settled::Dropped(_) => {
                pipe.hdel(self.key("subs"), chat).ignore();
                pipe.hdel(&failures, chat).ignore();
            }
            Settled::Migrated(_) => {}
        }
        let mut conn = self.conn.clone();
        let _: () = bounded(pipe.query_async(&mut conn)).await?;
        if let Settled::Migrated(to) = how {
            self.migrate(chat, *to).await?;
        }
        Ok(())
    }

    /// Acknowledges a queue entry whose every matching subscriber is settled.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn finish(&self, q: &Queued) -> Result<()> {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .xack(self.key("bc:queue"), GROUP, &[&q.entry])
            .ignore()
            .hset(self.meta_key(&q.doc), "finished", now_ms())
            .ignore();
        let _: () = bounded(pipe.query_async(&mut conn)).await?;
        Ok(())
    }

    /// Delivery counts of every queued document, in queue order.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn status(&self) -> Result<Vec<DocStatus>> {
        let mut conn = self.conn.clone();
        let announced: Vec<(String, String)> =
            bounded(conn.hgetall(self.key("bc:announced"))).await?;
        let mut out = Vec::with_capacity(announced.len());
        for (doc, entry) in announced {
            let meta: Vec<(String, String)> = bounded(conn.hgetall(self.meta_key(&doc))).await?;
            let states: Vec<String> = bounded(conn.hvals(self.doc_key(&doc))).await?;
            let field = |name: &str| meta.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            let mut s = DocStatus {
                title: field("title").unwrap_or_default(),
                targets: field("targets").and_then(|t| t.parse().ok()),
                in_doubt: field("in_doubt").and_then(|t| t.parse().ok()).unwrap_or(0),
                finished: field("finished").is_some(),
                doc,
                entry,
                ..DocStatus::default()
            };
            let mut sending = 0;
            for state in &states {
                match state.split(':').next().unwrap_or_default() {
                    "sent" => s.sent += 1,
                    "failed" => s.failed += 1,
                    "dropped" => s.dropped += 1,
                    "migrated" => s.migrated += 1,
                    _ => sending += 1,
                }
            }
            let settled = s.sent + s.failed + s.dropped + s.migrated;
            s.pending = match (s.finished, s.targets) {
                (true, _) => 0,
                (false, Some(t)) => t.saturating_sub(settled).max(sending),
                (false, None) => sending,
            };
            out.push(s);
        }
        out.sort_by_key(|s| entry_order(&s.entry));
        Ok(out)
    }

    /// Subscribers whose last deliveries failed, with the number of failures in a row.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn failing(&self) -> Result<Vec<(i64, u64)>> {
        let mut conn = self.conn.clone();
        let mut all: Vec<(i64, u64)> = bounded(conn.hgetall(self.key("bc:failures"))).await?;
        all.sort_by_key(|(chat, n)| (std::cmp::Reverse(*n), *chat));
        Ok(all)
    }
}

/// `(ms, seq)` of a stream entry id, for sorting.
fn entry_order(entry: &str) -> (u64, u64) {
    let (ms, seq) = entry.split_once('-').unwrap_or((entry, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

fn queued(id: StreamId) -> Queued {
    let doc: Option<String> = id.get("doc");
    let announcement = id
        .get::<String>("announcement")
        .and_then(|json| serde_json::from_str::<Announcement>(&json).ok());
    Queued {
        doc: doc.unwrap_or_default(),
        entry: id.id,
        announcement,
    }
}

/// Runs a Redis future with [`OP_TIMEOUT`].
async fn bounded<T>(f: impl std::future::Future<Output = RedisResult<T>>) -> Result<T> {
    match tokio::time::timeout(OP_TIMEOUT, f).await {
        Ok(result) => result.map_err(BroadcastError::from),
        Err(_) => Err(BroadcastError::Timeout(OP_TIMEOUT)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_stream_entries_numerically() {
        let mut ids = vec!["1700000000010-0", "1700000000009-12", "1700000000009-2"];
        ids.sort_by_key(|e| entry_order(e));
        assert_eq!(
            ids,
            vec!["1700000000009-2", "1700000000009-12", "1700000000010-0"]
        );
    }
}
