//! The slash commands (`/start`, `/help`, `/region`, `/topics`, `/ask`, `/reset`), the
//! subscription commands (`/subscribe`, `/unsubscribe`, `/subscriptions`; changes in a group for
//! its administrators only) and `/review` for the operators.

use std::time::Duration;

use teloxide::types::Message;

use super::HandlerResult;
use super::reply::{ask, update};
use crate::answer::short_region;
use crate::broadcast::{FilterError, Subscription};
use crate::render::telegram as render;
use crate::review;
use crate::session::{self, BotStore, SessionKey};
use crate::telegram::callback::Callback;
use crate::telegram::command::Command;
use crate::telegram::send::Target;
use crate::telegram::{Ctx, Knowledge, texts};

/// Most topics shown by /topics.
const MAX_TOPICS: usize = 20;

/// What `/review` looks back on.
const REVIEW_WINDOW: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Questions `/review` lists at most.
const REVIEW_TOP: usize = 10;

/// Longest `/review` summary, in characters (Telegram's limit is 4096).
const REVIEW_MAX_CHARS: usize = 3500;

/// A change to a chat's subscription.
pub(super) enum Change {
    /// /subscribe with its filter words.
    Subscribe(String),
    /// /unsubscribe.
    Unsubscribe,
}

/// /subscribe, /unsubscribe (`change`), /subscriptions (`None`). Changes in a group are for its
/// administrators only (getChatMember; an anonymous administrator is one).
pub(super) async fn subscription<A: Knowledge, S: BotStore>(
    ctx: &Ctx<A, S>,
    msg: &Message,
    anonymous_admin: bool,
    target: Target,
    change: Option<Change>,
) -> HandlerResult {
    let Some(store) = &ctx.broadcasts else {
        ctx.sender
            .text(target, texts::NO_SUBSCRIPTIONS, None)
            .await?;
        return Ok(());
    };
    let chat = msg.chat.id;
    if change.is_some() && !msg.chat.is_private() && !anonymous_admin {
        let user = msg.from.as_ref().map(|u| u.id);
        let admin = match user {
            Some(user) => ctx.sender.is_admin(chat, user).await,
            None => Ok(false),
        };
        match admin {
            Ok(true) => {}
            Ok(false) => {
                ctx.sender.text(target, texts::ADMINS_ONLY, None).await?;
                return Ok(());
            }
            Err(error) => {
                ctx.sender
                    .text(target, texts::SUBSCRIPTION_FAILED, None)
                    .await?;
                return Err(error.into());
            }
        }
    }
    let reply = match change {
        Some(Change::Subscribe(args)) => match ctx.app.filters(&args) {
            Err(FilterError::TooMany) => texts::TOO_MANY_FILTERS.to_string(),
            Err(FilterError::Unknown(word)) => texts::bad_filter(&word),
            Ok(filters) => {
                let sub = Subscription {
                    chat: chat.0,
                    filters,
                    since: crate::session::unix_now().as_secs(),
                };
                match store.subscribe(&sub).await {
                    Ok(()) => texts::subscribed(&texts::filters(&sub.filters)),
                    Err(error) => {
                        tracing::error!(%error, "subscription not stored");
                        texts::SUBSCRIPTION_FAILED.to_string()
                    }
                }
            }
        },
        Some(Change::Unsubscribe) => match store.unsubscribe(chat.0).await {
            Ok(true) => texts::UNSUBSCRIBED.to_string(),
            Ok(false) => texts::NOT_SUBSCRIBED.to_string(),
            Err(error) => {
                tracing::error!(%error, "subscription not removed");
                texts::SUBSCRIPTION_FAILED.to_string()
            }
        },
        None => match store.subscription(chat.0).await {
            Ok(sub) => texts::subscription(sub.map(|s| texts::filters(&s.filters)).as_deref()),
            Err(error) => {
                tracing::error!(%error, "subscription not read");
                texts::SUBSCRIPTION_FAILED.to_string()
            }
        },
    };
    ctx.sender.text(target, &reply, None).await?;
    Ok(())
}

pub(super) async fn run_command<A: Knowledge, S: BotStore>(
    ctx: &Ctx<A, S>,
    target: Target,
    key: SessionKey,
    command: Command,
) -> HandlerResult {
    match command {
        Command::Start => {
            let buttons: Vec<(String, Callback)> = texts::EXAMPLES
                .iter()
                .enumerate()
                .map(|(i, q)| ((*q).to_string(), Callback::Example(i)))
                .collect();
            let keyboard = render::list_keyboard(&buttons);
            ctx.sender
                .text(target, texts::START, Some(&keyboard))
                .await?;
        }
        Command::Help | Command::Unknown => {
            ctx.sender.text(target, texts::HELP, None).await?;
        }
        Command::Region(region) => {
            let shown = |path: &str| short_region(path).to_string();
            let name = region.trim().to_string();
            let (session, set) = update(ctx, key, None, move |app, session| match name.as_str() {
                "" => Ok(None),
                name => app.set_region(session, name).map(Some),
            })
            .await?;
            let reply = match set {
                Ok(None) => texts::region_current(session.region.as_deref().map(shown).as_deref()),
                Ok(Some(Some(path))) => texts::region_set(&shown(&path)),
                Ok(Some(None)) => texts::REGION_CLEARED.to_string(),
                Err(unknown) => texts::region_unknown(&unknown.to_string()),
            };
            ctx.sender.text(target, &reply, None).await?;
        }
        Command::Topics => {
            let buttons: Vec<(String, Callback)> = ctx
                .app
                .topics()
                .into_iter()
                .take(MAX_TOPICS)
                .enumerate()
                .map(|(i, (label, _))| (label, Callback::Topic(i)))
                .collect();
            match buttons.is_empty() {
                true => ctx.sender.text(target, texts::NO_TOPICS, None).await?,
                false => {
                    let keyboard = render::list_keyboard(&buttons);
                    ctx.sender
                        .text(target, texts::TOPICS, Some(&keyboard))
                        .await?
                }
            };
        }
        Command::Ask(question) if question.trim().is_empty() => {
            ctx.sender.text(target, texts::ASK_USAGE, None).await?;
        }
        Command::Ask(question) => return ask(ctx, target, key, question, None).await,
        Command::Reset => {
            ctx.sessions.reset(key).await;
            ctx.sender.text(target, texts::RESET, None).await?;
        }
        // Handled before: they need the message (chat kind, sender) for the admin check.
        Command::Subscribe(_) | Command::Unsubscribe | Command::Subscriptions | Command::Review => {
        }
    }
    Ok(())
}

/// `/review` of an operator: a short summary of the week's unanswered and 👎 questions.
pub(super) async fn review<A: Knowledge, S: BotStore>(
    ctx: &Ctx<A, S>,
    target: Target,
) -> HandlerResult {
    let since = session::unix_now().saturating_sub(REVIEW_WINDOW).as_secs();
    let items = review::group(&ctx.sessions.logs(since).await);
    let text = review::summary(&items, REVIEW_WINDOW, REVIEW_TOP, REVIEW_MAX_CHARS);
    ctx.sender.text(target, &text, None).await?;
    Ok(())
}
