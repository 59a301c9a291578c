//! Endpoints of the handler tree: messages (questions, forwards, commands, group `/ask` and
//! replies, subscriptions, group migrations), button presses, inline queries, the bot's own
//! membership changes, and `/review` for the operators. Each takes ids and text, calls the
//! knowledge base with the (chat, user) session, renders and sends. A press always gets
//! answerCallbackQuery. Unanswered questions and 👍/👎 go to the operator log, questions to the
//! metrics (inline queries only to the metrics: Telegram sends one per pause in typing, mostly
//! unfinished).

use std::sync::Arc;
use std::time::{Duration, Instant};

use teloxide::types::{CallbackQuery, CallbackQueryId, ChatMemberUpdated, InlineQuery, Message};
use tokio::task::JoinError;

use super::callback::Callback;
use super::command::{self, Command, Parsed};
use super::send::Target;
use super::{Ctx, HandlerError, Knowledge, texts};
use crate::answer::{Answer, FullText, short_region};
use crate::app::{Action, AskOptions, Reply};
use crate::broadcast::{FilterError, Subscription};
use crate::render::telegram as render;
use crate::session::{
    self, BotStore, ClauseRef, Feedback, Session, SessionKey, Source, Unanswered,
};
use crate::{metrics, review};

type HandlerResult = Result<(), HandlerError>;

/// Most topics shown by /topics.
const MAX_TOPICS: usize = 20;

/// What `/review` looks back on.
const REVIEW_WINDOW: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Answers offered for an inline query.
const INLINE_RESULTS: usize = 10;

/// How long Telegram may keep an inline query's results for the asker (a /region change shows
/// after this long at most).
const INLINE_CACHE_SECS: u32 = 60;

/// Questions `/review` lists at most.
const REVIEW_TOP: usize = 10;

/// Longest `/review` summary, in characters (Telegram's limit is 4096).
const REVIEW_MAX_CHARS: usize = 3500;

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
                .map(drop)
                .map_err(Into::into),
            false => Ok(()),
        };
    }
    let header = msg.forward_origin().map(texts::forwarded_from);
    ask(&ctx, target, key, text.to_string(), header).await
}

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
    if action.searches() && !ctx.sessions.allow(key, ctx.flood_per_minute).await {
        ctx.sender.answer_callback(id, Some(texts::FLOOD)).await?;
        return Ok(());
    }
    let (session, pressed) =
        update(ctx, key, move |app, session| app.press(session, action)).await?;
    let Some(reply) = pressed else {
        return stale(ctx, id).await;
    };
    let toast = matches!(reply, Reply::Rated { .. }).then_some(texts::THANKS);
    ctx.sender.answer_callback(id, toast).await?;
    deliver(ctx, target, key, session, reply, None).await
}

/// An inline query (`@bot 问题` typed in any chat) → [`App::ask`](crate::app::App::ask) on a
/// scratch session holding only the asker's /region (of their private chat with the bot), so
/// the conversation there is left as it was → the top answers as inline results. An empty query
/// gets no results and a button into the private chat (an article would post a hint into the
/// chat where it was tapped).
pub async fn on_inline_query<A: Knowledge, S: BotStore>(
    q: InlineQuery,
    ctx: Arc<Ctx<A, S>>,
) -> HandlerResult {
    let question = q.query.trim().to_string();
    if question.is_empty() {
        let hint = Some(render::inline_hint());
        ctx.sender
            .answer_inline(&q.id, Vec::new(), hint, INLINE_CACHE_SECS)
            .await?;
        return Ok(());
    }
    let started = Instant::now();
    let key = SessionKey {
        chat: i64::try_from(q.from.id.0).unwrap_or_default(),
        user: q.from.id.0,
    };
    let region = ctx.sessions.load(key).await.region;
    let app = Arc::clone(&ctx.app);
    let answer = tokio::task::spawn_blocking(move || {
        let mut scratch = Session {
            region,
            ..Session::default()
        };
        let opts = AskOptions {
            region: None,
            k: Some(INLINE_RESULTS),
            ..AskOptions::default()
        };
        app.ask(&question, &mut scratch, &opts)
    })
    .await?;
    let results = render::inline_results(&answer);
    ctx.sender
        .answer_inline(&q.id, results, None, INLINE_CACHE_SECS)
        .await?;
    metrics::question(
        answer.status,
        Source::Inline,
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}

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
async fn migrated<A: Knowledge, S: BotStore>(ctx: &Ctx<A, S>, from: i64, to: i64) -> HandlerResult {
    if let Some(store) = &ctx.broadcasts {
        match store.migrate(from, to).await {
            Ok(true) => tracing::info!(from, to, "group migrated; subscription moved"),
            Ok(false) => {}
            Err(error) => tracing::error!(from, to, %error, "could not move the subscription"),
        }
    }
    Ok(())
}

/// A change to a chat's subscription.
enum Change {
    /// /subscribe with its filter words.
    Subscribe(String),
    /// /unsubscribe.
    Unsubscribe,
}

/// /subscribe, /unsubscribe (`change`), /subscriptions (`None`). Changes in a group are for its
/// administrators only (getChatMember; an anonymous administrator is one).
async fn subscription<A: Knowledge, S: BotStore>(
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

async fn run_command<A: Knowledge, S: BotStore>(
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
            let (session, set) = update(ctx, key, move |app, session| match name.as_str() {
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

/// A typed message → [`App::message`](crate::app::App::message) with the session (a question,
/// or a follow-up typed by number or label) → the reply.
async fn ask<A: Knowledge, S: BotStore>(
    ctx: &Ctx<A, S>,
    target: Target,
    key: SessionKey,
    question: String,
    header: Option<String>,
) -> HandlerResult {
    if !ctx.sessions.allow(key, ctx.flood_per_minute).await {
        ctx.sender.text(target, texts::FLOOD, None).await?;
        return Ok(());
    }
    let message = move |app: &A, session: &mut Session| {
        app.message(&question, session, &AskOptions::default())
    };
    let started = Instant::now();
    let (session, reply) = match update(ctx, key, message).await {
        Ok(done) => done,
        Err(error) => {
            ctx.sender.text(target, texts::APOLOGY, None).await?;
            return Err(error.into());
        }
    };
    let status = match &reply {
        Reply::Answer(answer) => Some(answer.status),
        Reply::FullText(_) | Reply::Ticket(_) | Reply::Rated { .. } => None,
    };
    let delivered = deliver(ctx, target, key, session, reply, header.as_deref()).await;
    if let Some(status) = status {
        let source = source(target, header.as_deref());
        metrics::question(status, source, started.elapsed().as_secs_f64());
    }
    delivered
}

/// Where a question came from: a forward (it has a `header`), a group or a private chat.
fn source(target: Target, header: Option<&str>) -> Source {
    match (header, target.chat.0 < 0) {
        (Some(_), _) => Source::Forward,
        (None, true) => Source::Group,
        (None, false) => Source::Private,
    }
}

/// `/review` of an operator: a short summary of the week's unanswered and 👎 questions.
async fn review<A: Knowledge, S: BotStore>(ctx: &Ctx<A, S>, target: Target) -> HandlerResult {
    let since = session::unix_now().saturating_sub(REVIEW_WINDOW).as_secs();
    let items = review::group(&ctx.sessions.logs(since).await);
    let text = review::summary(&items, REVIEW_WINDOW, REVIEW_TOP, REVIEW_MAX_CHARS);
    ctx.sender.text(target, &text, None).await?;
    Ok(())
}

/// Runs `change` on the (chat, user) session off the async workers (it may search) and stores
/// the result before anything is sent, so a quick press finds it; two updates of one session at
/// once both count ([`session::update`]). `Err` when `change` panicked (the session is kept).
async fn update<A, S, T>(
    ctx: &Ctx<A, S>,
    key: SessionKey,
    change: impl Fn(&A, &mut Session) -> T + Send + Sync + 'static,
) -> Result<(Session, T), JoinError>
where
    A: Knowledge,
    S: BotStore,
    T: Send + 'static,
{
    let change = Arc::new(change);
    let (session, out) = session::update(&ctx.sessions, key, |mut session| {
        let (app, change) = (Arc::clone(&ctx.app), Arc::clone(&change));
        let before = session.clone();
        async move {
            let joined = tokio::task::spawn_blocking(move || {
                let out = change(&app, &mut session);
                (session, out)
            })
            .await;
            match joined {
                Ok((session, out)) => (session, Ok(out)),
                Err(error) => (before, Err(error)),
            }
        }
    })
    .await;
    Ok((session, out?))
}

/// Sends what a message or a press produced: an answer (with its buttons), a clause's full text
/// (split into messages), an answer laid out for a ticket (plain text), or records a 👍/👎.
async fn deliver<A: Knowledge, S: BotStore>(
    ctx: &Ctx<A, S>,
    target: Target,
    key: SessionKey,
    session: Session,
    produced: Reply,
    header: Option<&str>,
) -> HandlerResult {
    match produced {
        Reply::Answer(answer) => reply(ctx, target, key, session.answer_id, &answer, header).await,
        Reply::FullText(full) => send_full_text(ctx, target, &full).await,
        Reply::Ticket(ticket) => {
            // Plain text, no parse mode: what is copied into the ticket is what was shown.
            let text = crate::render::plain::ticket(&ticket);
            ctx.sender.plain(target, &text).await?;
            Ok(())
        }
        Reply::Rated {
            answer_id,
            useful,
            question,
            clauses,
        } => {
            let feedback = Feedback::new(answer_id, useful, &question, clauses);
            ctx.sessions.record_feedback(key, feedback).await;
            Ok(())
        }
    }
}

/// Sends the answer with its buttons (they carry the session's new answer id; a forwarded
/// question's, with a `header`, also 📋 工单格式), after logging it for the operator when it is
/// unanswered (once per question: its further pages are not logged again).
async fn reply<A: Knowledge, S: BotStore>(
    ctx: &Ctx<A, S>,
    target: Target,
    key: SessionKey,
    answer_id: u64,
    answer: &Answer,
    header: Option<&str>,
) -> HandlerResult {
    if answer.status.is_unanswered() && !answer.continued {
        let clauses = answer
            .hits
            .iter()
            .map(|h| ClauseRef {
                id: h.clause_id.clone(),
                title: h.doc_title.clone(),
            })
            .collect();
        let source = source(target, header);
        let entry = Unanswered::new(&answer.question, answer.status, source, clauses);
        ctx.sessions.record_unanswered(key, entry).await;
    }
    let html = render::answer(answer, header);
    let keyboard = render::keyboard(answer, answer_id, header.is_some());
    ctx.sender.html(target, &html, keyboard.as_ref()).await?;
    Ok(())
}

/// The full text of a clause, split into as many messages as it needs, in order.
async fn send_full_text<A: Knowledge, S: BotStore>(
    ctx: &Ctx<A, S>,
    target: Target,
    full: &FullText,
) -> HandlerResult {
    for message in render::full_text(full) {
        ctx.sender.html(target, &message, None).await?;
    }
    Ok(())
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
