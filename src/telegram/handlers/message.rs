//! Any message the bot can see: a question (private chat, forward, group `/ask`, @mention or
//! reply to the bot), a command, or a group's migration to a supergroup.

use std::sync::Arc;

use teloxide::types::Message;

use super::HandlerResult;
use super::commands::{Change, review, run_command, subscription};
use super::members::migrated;
use super::reply::ask;
use crate::session::{BotStore, SessionKey};
use crate::telegram::command::{self, Command, Parsed};
use crate::telegram::send::Target;
use crate::telegram::{Ctx, Knowledge, texts};

/// Any message the bot can see.
pub async fn on_message<A: Knowledge, S: BotStore>(
    msg: Message,
    ctx: Arc<Ctx<A, S>>,
) -> HandlerResult {
    if let Some(to) = msg.migrate_to_chat_id() {
        return migrated(&ctx, msg.chat.id.0, to.0).await;
    }
    // An anonymous administrator writes as the group itself, through a bot account.
    let anonymous_admin = msg
        .sender_chat
        .as_ref()
        .is_some_and(|c| c.id == msg.chat.id);
    let Some(from) = msg.from.as_ref().filter(|u| !u.is_bot || anonymous_admin) else {
        return Ok(());
    };
    let private = msg.chat.is_private();
    if !private && !msg.chat.is_group() && !msg.chat.is_supergroup() {
        return Ok(());
    }
    let key = SessionKey {
        chat: msg.chat.id.0,
        user: from.id.0,
    };
    let target = Target {
        chat: msg.chat.id,
        reply_to: (!private).then_some(msg.id),
    };
    let text = msg
        .text()
        .or(msg.caption())
        .map(str::trim)
        .unwrap_or_default();
    match command::parse(text, &ctx.me.username) {
        Parsed::OtherBot => return Ok(()),
        Parsed::Command(Command::Unknown) if !private => return Ok(()),
        Parsed::Command(Command::Subscribe(args)) => {
            let change = Change::Subscribe(args);
            return subscription(&ctx, &msg, anonymous_admin, target, Some(change)).await;
        }
        Parsed::Command(Command::Unsubscribe) => {
            let change = Some(Change::Unsubscribe);
            return subscription(&ctx, &msg, anonymous_admin, target, change).await;
        }
        Parsed::Command(Command::Subscriptions) => {
            return subscription(&ctx, &msg, anonymous_admin, target, None).await;
        }
        Parsed::Command(Command::Review) => {
            return match private && ctx.admins.contains(&from.id.0) {
                true => review(&ctx, target).await,
                false => run_command(&ctx, target, key, Command::Help).await,
            };
        }
        Parsed::Command(cmd) => return run_command(&ctx, target, key, cmd).await,
        Parsed::Text => {}
    }
    let replies_to_me = msg
        .reply_to_message()
        .and_then(|m| m.from.as_ref())
        .is_some_and(|u| u.id == ctx.me.id);
    // In a group, a message that @mentions the bot is a question like `/ask`.
    let mentioned = match private {
        true => None,
        false => command::strip_mention(text, &ctx.me.username),
    };
    if !private && !replies_to_me && mentioned.is_none() {
        return Ok(());
    }
    if mentioned.as_deref() == Some("") {
        return run_command(&ctx, target, key, Command::Ask(String::new())).await;
    }
    let text = mentioned.as_deref().unwrap_or(text);
    if text.is_empty() {
        return match private {
            true => ctx
                .sender
                .text(target, texts::NOT_TEXT, None)
                .await
                .map_err(Into::into),
            false => Ok(()),
        };
    }
    let header = msg.forward_origin().map(texts::forwarded_from);
    ask(&ctx, target, key, text.to_string(), header).await
}
