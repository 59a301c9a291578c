//! Delivery of queued announcements to subscribers, run beside the bot by [`super::run`]: reads
//! the Redis queue (its own unfinished entries first, so a restart resumes where it stopped),
//! sends each announcement once per matching subscriber through the paced [`Sender`]
//! (Telegram's per-chat and overall limits, 429 waited out for that chat, bounded retries of
//! what was not processed; a send whose outcome is unknown is recorded as sent and counted in
//! doubt, never repeated), records every delivery, drops subscribers that removed or blocked the bot, follows group migrations,
//! and acknowledges an entry only when every matching subscriber is settled. The delivery counts
//! (pending, delivered, failed) are copied into [`crate::metrics`] every [`GAUGES`].

use std::sync::Arc;
use std::time::Duration;

use teloxide::types::ChatId;
use teloxide::{ApiError, RequestError};
use tokio::task::JoinSet;

use super::send::{SendError, Sender, Target};
use crate::broadcast::store::{BroadcastError, BroadcastStore, Claim, Queued, Settled};
use crate::render::telegram as render;

/// Pause between queue reads when there is nothing to do.
const IDLE: Duration = Duration::from_secs(1);

/// Pause after a Redis failure before trying again.
const REDIS_BACKOFF: Duration = Duration::from_secs(2);

/// Heartbeat period (well within [`crate::broadcast::store::ALIVE_FOR`]).
const HEARTBEAT: Duration = Duration::from_secs(2);

/// How often an entry being delivered is touched (well within
/// [`crate::broadcast::store::STALE_ENTRY`], the default of `broadcast_stale_secs`).
const TOUCH: Duration = Duration::from_secs(5);

/// How often the delivery counts are read for the metrics.
const GAUGES: Duration = Duration::from_secs(10);

/// Deliveries in flight at once: enough to keep [`PER_SECOND`] going at Telegram round trips
/// of a few hundred ms; each holds a claim, so this also bounds the deliveries in doubt after a kill.
const CONCURRENCY: usize = 8;

/// Announcements sent per second at most: below Telegram's ~30/s overall, so answers to
/// questions keep flowing during a broadcast (the sender's pacing serves whoever asks first).
const PER_SECOND: u32 = 20;

/// Longest reason kept for a failed or dropped delivery.
const MAX_REASON: usize = 120;

/// Runs forever: heartbeat, then queue → deliveries. Redis outages are logged and waited out.
pub async fn deliver_forever(store: Arc<BroadcastStore>, sender: Sender) {
    let beat = Arc::clone(&store);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(HEARTBEAT);
        loop {
            tick.tick().await;
            if let Err(error) = beat.heartbeat().await {
                tracing::warn!(%error, "broadcast heartbeat failed");
            }
        }
    });
    let counts = Arc::clone(&store);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(GAUGES);
        loop {
            tick.tick().await;
            // An unreachable Redis keeps the last counts (the Redis gauge tells).
            if let Ok(docs) = counts.status().await {
                let sum =
                    |f: fn(&crate::broadcast::store::DocStatus) -> u64| docs.iter().map(f).sum();
                crate::metrics::broadcast(sum(|d| d.pending), sum(|d| d.sent), sum(|d| d.failed));
            }
        }
    });
    // `down`: prepare before the next pass; `failed`: the outage has been logged.
    let (mut down, mut failed) = (true, false);
    loop {
        // Alive and the consumer group present before the first pass and after any failure (a
        // restarted Redis may have lost both); not on every pass.
        let outcome = match down {
            false => pass(&store, &sender).await,
            true => match prepare(&store).await {
                Ok(()) => pass(&store, &sender).await,
                Err(error) => Err(error),
            },
        };
        match outcome {
            Ok(worked) => {
                if failed {
                    tracing::info!("broadcast queue reachable again");
                }
                (down, failed) = (false, false);
                if !worked {
                    tokio::time::sleep(IDLE).await;
                }
            }
            Err(error) => {
                if !failed {
                    tracing::error!(%error, "broadcast queue unavailable; retrying");
                }
                (down, failed) = (true, true);
                tokio::time::sleep(REDIS_BACKOFF).await;
            }
        }
    }
}

/// Marks this process alive and makes sure the consumer group exists.
async fn prepare(store: &BroadcastStore) -> Result<(), BroadcastError> {
    store.heartbeat().await?;
    store.ensure_group().await
}

/// One pass over the next batch of entries; whether there was any.
async fn pass(store: &Arc<BroadcastStore>, sender: &Sender) -> Result<bool, BroadcastError> {
    let batch = store.next_batch().await?;
    let mut unfinished = false;
    for q in &batch {
        if !announce(store, sender, q).await? {
            unfinished = true;
        }
    }
    // Entries another live process is still sending are retried after a pause, not spun on.
    Ok(!batch.is_empty() && !unfinished)
}

/// Delivers one queue entry to every matching subscriber; acknowledges it and returns true when
/// all are settled.
async fn announce(
    store: &Arc<BroadcastStore>,
    sender: &Sender,
    q: &Queued,
) -> Result<bool, BroadcastError> {
    let Some(a) = &q.announcement else {
        tracing::warn!(entry = %q.entry, doc = %q.doc, "malformed announcement skipped");
        store.finish(q).await?;
        return Ok(true);
    };
    let targets: Vec<i64> = store
        .subscriptions()
        .await?
        .into_iter()
        .filter(|s| s.filters.matches(a))
        .map(|s| s.chat)
        .collect();
    store.set_targets(&q.doc, &a.label(), targets.len()).await?;
    tracing::info!(doc = %q.doc, title = %a.label(), subscribers = targets.len(), "announcing");
    let message = Arc::new((
        render::announcement(a),
        render::announcement_keyboard(&a.doc_id),
    ));
    // Keep the entry ours while it is delivered (a long broadcast outlasts the takeover time).
    let keep = {
        let (store, q) = (Arc::clone(store), q.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TOUCH);
            loop {
                tick.tick().await;
                if let Err(error) = store.touch(&q).await {
                    tracing::warn!(%error, "could not keep the queue entry");
                }
            }
        })
    };
    let pace = Arc::new(tokio::sync::Mutex::new(pacer()));
    let mut tasks = JoinSet::new();
    let mut settled = true;
    for chat in targets {
        while tasks.len() >= CONCURRENCY {
            settled &= joined(tasks.join_next().await);
        }
        let (store, sender, message, doc, pace) = (
            Arc::clone(store),
            sender.clone(),
            Arc::clone(&message),
            q.doc.clone(),
            Arc::clone(&pace),
        );
        tasks.spawn(async move { deliver(&store, &sender, &doc, chat, &message, &pace).await });
    }
    while let Some(done) = tasks.join_next().await {
        settled &= joined(Some(done));
    }
    keep.abort();
    if settled {
        store.finish(q).await?;
        tracing::info!(doc = %q.doc, "announcement delivered to every subscriber");
    }
    Ok(settled)
}

/// One tick per announcement: [`PER_SECOND`] evenly spaced.
fn pacer() -> tokio::time::Interval {
    let mut interval = tokio::time::interval(Duration::from_secs(1) / PER_SECOND);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval
}

/// Whether a finished delivery task left its subscriber settled.
fn joined(done: Option<Result<Result<bool, BroadcastError>, tokio::task::JoinError>>) -> bool {
    match done {
        Some(Ok(Ok(settled))) => settled,
        Some(Ok(Err(error))) => {
            tracing::warn!(%error, "delivery not recorded; will retry");
            false
        }
        Some(Err(error)) => {
            tracing::error!(%error, "delivery task failed");
            false
        }
        None => true,
    }
}

/// Sends the announcement to `chat` unless it was (or is being) delivered; follows a migration
/// to the new supergroup once. Returns whether the delivery is settled.
async fn deliver(
    store: &BroadcastStore,
    sender: &Sender,
    doc: &str,
    chat: i64,
    message: &(String, teloxide::types::InlineKeyboardMarkup),
    pace: &tokio::sync::Mutex<tokio::time::Interval>,
) -> Result<bool, BroadcastError> {
    let mut chat = chat;
    for _ in 0..2 {
        // Settled chats (a restart resuming) skip the pacing; others wait for their turn before
        // claiming, so a claim is held only while its message is on the way.
        if store.settled(doc, chat).await? {
            return Ok(true);
        }
        pace.lock().await.tick().await;
        match store.claim(doc, chat).await? {
            Claim::Done => return Ok(true),
            Claim::Busy => return Ok(false),
            Claim::Reclaimed => {
                tracing::warn!(
                    doc,
                    chat,
                    "delivery in doubt (previous sender died); sending"
                )
            }
            Claim::Claimed => {}
        }
        let target = Target {
            chat: ChatId(chat),
            reply_to: None,
        };
        let outcome = match sender.html(target, &message.0, Some(&message.1)).await {
            Ok(_) => Settled::Sent,
            Err(SendError::Refused(RequestError::MigrateToChatId(to))) => Settled::Migrated(to.0),
            Err(SendError::Refused(error)) if chat_gone(&error) => Settled::Dropped(reason(&error)),
            Err(SendError::InDoubt(_)) => {
                // Possibly delivered: recorded as sent (never repeated), counted in doubt.
                store.count_in_doubt(doc).await?;
                Settled::Sent
            }
            Err(error) => Settled::Failed(reason(&error)),
        };
        match &outcome {
            Settled::Sent => {}
            Settled::Migrated(to) => tracing::info!(chat, to, "group migrated; following"),
            Settled::Dropped(why) => tracing::info!(chat, why, "subscriber gone; dropped"),
            Settled::Failed(why) => tracing::warn!(chat, doc, why, "announcement failed"),
        }
        record(store, doc, chat, &outcome).await?;
        match outcome {
            Settled::Migrated(to) => chat = to,
            _ => return Ok(true),
        }
    }
    Ok(true)
}

/// Records a delivery, retrying briefly: the message is out, and losing the record would send it
/// again after a restart.
async fn record(
    store: &BroadcastStore,
    doc: &str,
    chat: i64,
    outcome: &Settled,
) -> Result<(), BroadcastError> {
    let mut attempt = 0;
    loop {
        match store.settle(doc, chat, outcome).await {
            Ok(()) => return Ok(()),
            Err(error) if attempt < 4 => {
                attempt += 1;
                tracing::warn!(%error, attempt, "delivery record failed; retrying");
                tokio::time::sleep(Duration::from_millis(250) * attempt).await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// Errors meaning the bot can no longer write to the chat.
fn chat_gone(error: &RequestError) -> bool {
    match error {
        RequestError::Api(api) => match api {
            ApiError::BotBlocked
            | ApiError::BotKicked
            | ApiError::BotKickedFromSupergroup
            | ApiError::BotKickedFromChannel
            | ApiError::UserDeactivated
            | ApiError::CantInitiateConversation
            | ApiError::ChatNotFound
            | ApiError::GroupDeactivated => true,
            ApiError::Unknown(description) => description.starts_with("Forbidden"),
            _ => false,
        },
        _ => false,
    }
}

fn reason(error: &impl std::fmt::Display) -> String {
    error.to_string().chars().take(MAX_REASON).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_chats_the_bot_left() {
        assert!(chat_gone(&RequestError::Api(
            ApiError::BotKickedFromSupergroup
        )));
        assert!(chat_gone(&RequestError::Api(ApiError::Unknown(
            "Forbidden: bot is not a member of the group chat".into()
        ))));
        assert!(!chat_gone(&RequestError::Api(ApiError::Unknown(
            "Bad Gateway".into()
        ))));
        assert!(!chat_gone(&RequestError::MigrateToChatId(ChatId(-100))));
    }
}
