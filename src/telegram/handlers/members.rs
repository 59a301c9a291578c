//! The bot's own membership changes (added to a group: a greeting; removed: the subscription
//! dropped) and a group's migration to a supergroup (the subscription follows it).

use std::sync::Arc;

use teloxide::types::ChatMemberUpdated;

use super::HandlerResult;
use crate::session::BotStore;
use crate::telegram::send::Target;
use crate::telegram::{Ctx, Knowledge, texts};

/// The bot's own membership changed: added to a group, it posts one greeting (how to ask there);
/// removed from a chat (left, kicked), the chat's subscription is dropped.
pub async fn on_my_chat_member<A: Knowledge, S: BotStore>(
    update: ChatMemberUpdated,
    ctx: Arc<Ctx<A, S>>,
) -> HandlerResult {
    let member = &update.new_chat_member;
    let added = !update.old_chat_member.kind.is_present() && member.kind.is_present();
    if added && (update.chat.is_group() || update.chat.is_supergroup()) {
        // Once per addition: a promotion or restriction keeps the bot present and says nothing.
        let mut greeting = texts::GROUP_GREETING.to_string();
        if ctx.broadcasts.is_some() {
            greeting.push_str(texts::GROUP_GREETING_SUBSCRIBE);
        }
        let target = Target {
            chat: update.chat.id,
            reply_to: None,
        };
        ctx.sender.text(target, &greeting, None).await?;
        return Ok(());
    }
    if !(member.is_left() || member.is_banned()) {
        return Ok(());
    }
    let chat = update.chat.id.0;
    if let Some(store) = &ctx.broadcasts {
        match store.unsubscribe(chat).await {
            Ok(true) => tracing::info!(chat, "bot removed from chat; subscription dropped"),
            Ok(false) => {}
            Err(error) => tracing::error!(chat, %error, "could not drop the subscription"),
        }
    }
    Ok(())
}

/// A group became a supergroup: its subscription follows it.
pub(super) async fn migrated<A: Knowledge, S: BotStore>(
    ctx: &Ctx<A, S>,
    from: i64,
    to: i64,
) -> HandlerResult {
    if let Some(store) = &ctx.broadcasts {
        match store.migrate(from, to).await {
            Ok(true) => tracing::info!(from, to, "group migrated; subscription moved"),
            Ok(false) => {}
            Err(error) => tracing::error!(from, to, %error, "could not move the subscription"),
        }
    }
    Ok(())
}
