//! Deliveries, exactly once per (chat, document): claims and records in `{prefix}bc:doc:{id}`,
//! liveness of delivering processes (`{prefix}bc:alive:{instance}`), per-document counters
//! (`{prefix}bc:meta:{id}`), subscribers that keep failing (`{prefix}bc:failures`) and the
//! delivery status of every announced document.

use redis::{AsyncCommands, Script};

use super::{ALIVE_FOR, BroadcastStore, Result, bounded, now_ms};

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

impl BroadcastStore {
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
