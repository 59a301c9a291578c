//! Hands the updates an earlier process left unfinished, then those of an update listener, to the
//! handler tree ([`super::schema`]): the updates of one chat one after another, in the order they came; those of no chat (inline queries) at once;
//! and, when the listener's stream ends (the stop signal), waits for every update under way.
//!
//! In place of teloxide's `Dispatcher`, which makes a getMe call of its own before dispatching,
//! through teloxide's request path (a fixed 10 s sleep after a 5xx), panics when that call fails,
//! and offers no way to hand it the identity the bot already has ([`super::poll::get_me`]). The
//! handler tree needs neither `Me` nor `Bot`: everything comes from its `Ctx`.

use std::collections::HashMap;
use std::fmt;
use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt as _;
use futures::stream::{self, StreamExt as _};
use teloxide::dispatching::UpdateHandler;
use teloxide::dptree::di::DependencyMap;
use teloxide::types::{AllowedUpdate, ChatId, Update, UpdateKind};
use teloxide::update_listeners::UpdateListener;
use tokio::task::{JoinHandle, JoinSet};

use super::inbox::Inbox;
use super::{HandlerError, finished};

/// Chats remembered before the finished ones are forgotten (then twice as many as are left).
const PRUNE_AT: usize = 256;

/// Runs `replay` (from [`Inbox::unfinished`]), then `listener` to its end, each update through
/// `handler` with `deps` (plus the update). Telegram is asked for the `allowed` kinds only. An
/// update no branch takes is taken out of `inbox`, as the branches do for theirs.
pub async fn dispatch<L>(
    replay: Vec<Update>,
    mut listener: L,
    allowed: &[AllowedUpdate],
    handler: UpdateHandler<HandlerError>,
    deps: DependencyMap,
    inbox: Option<Arc<Inbox>>,
) where
    L: UpdateListener,
    L::Err: fmt::Display,
{
    listener.hint_allowed_updates(&mut allowed.iter().copied());
    // Per chat, the task of its latest update: the next one waits for it.
    let mut chats: HashMap<ChatId, JoinHandle<()>> = HashMap::new();
    let mut prune_at = PRUNE_AT;
    let mut others = JoinSet::new();
    let replay = stream::iter(replay.into_iter().map(Ok));
    let mut stream = std::pin::pin!(replay.chain(listener.as_stream()));
    while let Some(item) = stream.next().await {
        let update = match item {
            Ok(update) => update,
            Err(error) => {
                tracing::error!(%error, "update listener failed");
                continue;
            }
        };
        if let UpdateKind::Error(value) = &update.kind {
            tracing::error!(update_id = update.id.0, %value, "update not readable; skipped");
            continue;
        }
        let chat = update.chat().map(|c| c.id);
        let job = handle(update, handler.clone(), deps.clone(), inbox.clone());
        match chat {
            Some(chat) => {
                let before = chats.remove(&chat);
                let task = tokio::spawn(async move {
                    if let Some(before) = before {
                        let _ = before.await;
                    }
                    job.await;
                });
                chats.insert(chat, task);
                if chats.len() >= prune_at {
                    chats.retain(|_, task| !task.is_finished());
                    prune_at = (chats.len() * 2).max(PRUNE_AT);
                }
            }
            None => {
                others.spawn(job);
                while others.try_join_next().is_some() {}
            }
        }
    }
    for task in chats.into_values() {
        let _ = task.await;
    }
    while others.join_next().await.is_some() {}
}

/// Runs one update through the handler tree; errors and panics are logged (a panicked update
/// stays in the inbox and is tried again at the next start, at most [`super::MAX_REPLAYS`] times).
async fn handle(
    update: Update,
    handler: UpdateHandler<HandlerError>,
    mut deps: DependencyMap,
    inbox: Option<Arc<Inbox>>,
) {
    let id = update.id;
    deps.insert(update);
    let outcome = AssertUnwindSafe(handler.dispatch(deps))
        .catch_unwind()
        .await;
    match outcome {
        Ok(ControlFlow::Break(Ok(()))) => {}
        Ok(ControlFlow::Break(Err(error))) => tracing::error!(%error, "telegram handler failed"),
        Ok(ControlFlow::Continue(deps)) => {
            tracing::debug!(update_id = id.0, "update not handled");
            let update: Arc<Update> = deps.get();
            finished(inbox.as_deref(), &update).await;
        }
        Err(_) => tracing::error!(update_id = id.0, "telegram handler panicked"),
    }
}
