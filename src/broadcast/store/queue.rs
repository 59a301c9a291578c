//! The durable queue of announcements: the stream `{prefix}bc:queue` read through the consumer
//! group `broadcast`, each announcement queued once (`{prefix}bc:announced`); entries this
//! consumer left unfinished come first, then entries another consumer left stale, then new ones.

use redis::Script;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};

use super::{BroadcastError, BroadcastStore, OP_TIMEOUT, Result, bounded, now_ms};
use crate::broadcast::Announcement;

/// Consumer group of the queue.
const GROUP: &str = "broadcast";

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

impl BroadcastStore {
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
