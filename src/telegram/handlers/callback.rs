//! Button presses: follow-ups and 👍/👎 of an answer, example questions and topics, the 要点 and
//! 全文 of an announced document. A press always gets answerCallbackQuery; a stale, forged or
//! foreign one a toast only.

use std::sync::Arc;

use teloxide::types::{CallbackQuery, CallbackQueryId};

use super::HandlerResult;
use super::reply::{ask, deliver, send_full_text, update};
use crate::answer::FullText;
use crate::app::{Action, Reply};
use crate::session::{BotStore, SessionKey};
use crate::telegram::callback::Callback;
use crate::telegram::send::Target;
use crate::telegram::{Ctx, Knowledge, texts};

/// A button press.
pub async fn on_callback<A: Knowledge, S: BotStore>(
    q: CallbackQuery,
    ctx: Arc<Ctx<A, S>>,
) -> HandlerResult {
    let chat = q.message.as_ref().map(|m| m.chat().id);
    let callback = q.data.as_deref().and_then(Callback::parse);
    let (Some(chat), Some(callback)) = (chat, callback) else {
        tracing::info!(data = ?q.data, "unknown button");
        ctx.sender
            .answer_callback(&q.id, Some(texts::EXPIRED))
            .await?;
        return Ok(());
    };
    let key = SessionKey {
        chat: chat.0,
        user: q.from.id.0,
    };
    let target = Target {
        chat,
        reply_to: None,
    };
    match callback {
        Callback::Press(action) => press(&ctx, &q.id, target, key, action).await,
        Callback::Example(i) => match texts::EXAMPLES.get(i) {
            Some(question) => {
                ctx.sender.answer_callback(&q.id, None).await?;
                ask(&ctx, target, key, (*question).to_string(), None).await
            }
            None => stale(&ctx, &q.id).await,
        },
        Callback::Topic(i) => match ctx.app.topics().into_iter().nth(i) {
            Some((_, question)) => {
                ctx.sender.answer_callback(&q.id, None).await?;
                ask(&ctx, target, key, question, None).await
            }
            None => stale(&ctx, &q.id).await,
        },
        Callback::DocPoints(doc) => {
            ctx.sender.answer_callback(&q.id, None).await?;
            send_document(&ctx, target, ctx.app.document_points(&doc)).await
        }
        Callback::DocText(doc) => {
            ctx.sender.answer_callback(&q.id, None).await?;
            send_document(&ctx, target, ctx.app.document_text(&doc)).await
        }
    }
}

/// A button of an answer (a follow-up, 👍/👎) → [`App::press`](crate::app::App::press), which
/// checks that it belongs to the session's last answer. A stale one gets a toast only; a flood
/// (for presses that search) too, so a press never posts a refusal into a group.
async fn press<A: Knowledge, S: BotStore>(
    ctx: &Ctx<A, S>,
    id: &CallbackQueryId,
    target: Target,
    key: SessionKey,
    action: Action,
) -> HandlerResult {
    let loaded = if action.searches() {
        let Some(loaded) = ctx.sessions.admit(key, ctx.flood_per_minute).await else {
            ctx.sender.answer_callback(id, Some(texts::FLOOD)).await?;
            return Ok(());
        };
        Some(loaded)
    } else {
        None
    };
    let (session, pressed) = update(ctx, key, loaded, move |app, session| {
        app.press(session, action)
    })
    .await?;
    let Some(reply) = pressed else {
        return stale(ctx, id).await;
    };
    let toast = matches!(reply, Reply::Rated { .. }).then_some(texts::THANKS);
    ctx.sender.answer_callback(id, toast).await?;
    deliver(ctx, target, key, session, reply, None).await
}

/// The key points or full text of an announced document, or why there is none.
async fn send_document<A: Knowledge, S: BotStore>(
    ctx: &Ctx<A, S>,
    target: Target,
    wanted: Option<FullText>,
) -> HandlerResult {
    match wanted {
        Some(full) => send_full_text(ctx, target, &full).await,
        None => {
            ctx.sender.text(target, texts::NO_DOCUMENT, None).await?;
            Ok(())
        }
    }
}

/// A press of a stale, forged or foreign button: a toast for the presser only, never a message
/// (in a group, every press would otherwise post into the chat).
async fn stale<A: Knowledge, S: BotStore>(ctx: &Ctx<A, S>, id: &CallbackQueryId) -> HandlerResult {
    ctx.sender.answer_callback(id, Some(texts::EXPIRED)).await?;
    Ok(())
}
