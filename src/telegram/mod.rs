//! The Telegram bot: the dptree handler tree ([`schema`]) with its dependencies injected, the
//! [`Ctx`] it is given, and [`run`] (getMe and long polling through our own calls with a short
//! backoff, or webhook; our own dispatch loop; command menu, announcement delivery, crash recovery
//! of accepted updates); the bot's settings are in `config` ([`BotConfig`]), the health endpoint
//! in `health` ([`spawn_health`]). Endpoints only take ids and text → [`App`] →
//! `render::telegram` → send ([`Sender`]: per-chat pacing, retries, in-doubt policy); no
//! retrieval logic lives here.

mod api;
mod broadcast;
pub mod callback;
mod command;
mod config;
mod dispatch;
mod handlers;
mod health;
mod inbox;
mod pace;
mod poll;
mod send;
pub mod texts;

use std::sync::Arc;
use std::time::Duration;

use teloxide::dispatching::{UpdateFilterExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, ChatMemberUpdated, InlineQuery};
use teloxide::update_listeners::{UpdateListener as _, webhooks};
use url::Url;

use self::pace::Pacer;

use crate::answer::{Answer, FullText};
use crate::app::{Action, App, AskOptions, Reply, UnknownRegion};
use crate::broadcast::store::BroadcastStore;
use crate::broadcast::{FilterError, Filters};
use crate::session::{BotStore, Session};

pub use crate::config::Secret;
pub use command::{Command, Parsed, parse as parse_command};
pub use config::{BotConfig, ConfigError, Recovery, Webhook};
pub use health::{Readiness, spawn as spawn_health};
pub use inbox::{Inbox, MAX_REPLAYS};
pub use pace::Limits;
pub use send::{SendError, Sender, Target};

/// Error of a handler: a Bot API call that failed after retries, or a panicked answer task.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// How much longer than the long-polling timeout the Bot API client waits for a response:
/// teloxide's default client gives up after 17 s, before a 25 s long poll returns.
pub const HTTP_MARGIN: Duration = Duration::from_secs(15);

/// Why the bot stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The Bot API could not be reached at startup (setWebhook).
    #[error("Telegram Bot API: {0}")]
    Telegram(#[from] teloxide::RequestError),
    /// Telegram refused getMe at start (a wrong `TELOXIDE_TOKEN`, a revoked bot): its reason.
    #[error("Telegram Bot API refused getMe (check TELOXIDE_TOKEN): {0}")]
    Startup(String),
    /// The inbox's Redis URL is malformed.
    #[error("crash recovery: {0}")]
    Inbox(#[from] inbox::InvalidUrl),
    /// A signal handler could not be set.
    #[error("signal handler: {0}")]
    Io(#[from] std::io::Error),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
}

/// What the bot needs from the knowledge base; [`App`] is the implementation. Generic so the
/// handler tree can be exercised end to end with a fixture knowledge base.
pub trait Knowledge: Send + Sync + 'static {
    /// See [`App::message`].
    fn message(&self, text: &str, session: &mut Session, opts: &AskOptions) -> Reply;
    /// See [`App::ask`] (inline queries: a question, never a follow-up).
    fn ask(&self, text: &str, session: &mut Session, opts: &AskOptions) -> Answer;
    /// See [`App::press`].
    fn press(&self, session: &mut Session, action: Action) -> Option<Reply>;
    /// See [`App::set_region`].
    fn set_region(
        &self,
        session: &mut Session,
        name: &str,
    ) -> Result<Option<String>, UnknownRegion>;
    /// See [`App::topics`].
    fn topics(&self) -> Vec<(String, String)>;
    /// See [`App::filters`].
    fn filters(&self, args: &str) -> Result<Filters, FilterError>;
    /// See [`App::document_points`].
    fn document_points(&self, doc_id: &str) -> Option<FullText>;
    /// See [`App::document_text`].
    fn document_text(&self, doc_id: &str) -> Option<FullText>;
}

impl Knowledge for App {
    fn message(&self, text: &str, session: &mut Session, opts: &AskOptions) -> Reply {
        App::message(self, text, session, opts)
    }
    fn ask(&self, text: &str, session: &mut Session, opts: &AskOptions) -> Answer {
        App::ask(self, text, session, opts)
    }
    fn press(&self, session: &mut Session, action: Action) -> Option<Reply> {
        App::press(self, session, action)
    }
    fn set_region(
        &self,
        session: &mut Session,
        name: &str,
    ) -> Result<Option<String>, UnknownRegion> {
        App::set_region(self, session, name)
    }
    fn topics(&self) -> Vec<(String, String)> {
        App::topics(self)
    }
    fn filters(&self, args: &str) -> Result<Filters, FilterError> {
        App::filters(self, args)
    }
    fn document_points(&self, doc_id: &str) -> Option<FullText> {
        App::document_points(self, doc_id)
    }
    fn document_text(&self, doc_id: &str) -> Option<FullText> {
        App::document_text(self, doc_id)
    }
}

/// Who the bot is, from getMe (username possibly overridden by config).
#[derive(Clone, Debug)]
pub struct Identity {
    /// Bot user id: replies to its messages count as questions in groups.
    pub id: UserId,
    /// Username without `@`, for `/ask@username`.
    pub username: String,
}

/// Everything the endpoints need; injected into the handler tree as one dependency.
pub struct Ctx<A, S> {
    /// Knowledge base.
    pub app: Arc<A>,
    /// Session store.
    pub sessions: S,
    /// Outgoing calls.
    pub sender: Sender,
    /// Who the bot is.
    pub me: Identity,
    /// Questions per user per minute.
    pub flood_per_minute: u32,
    /// Subscriptions and the announcement queue; `None` when Redis is not configured.
    pub broadcasts: Option<Arc<BroadcastStore>>,
    /// Accepted updates until answered; `None` when Redis is not configured.
    pub inbox: Option<Arc<Inbox>>,
    /// Telegram user ids who may use `/review` in a private chat.
    pub admins: Vec<u64>,
    /// Answers computed at once (searches off the async workers): two per core, the others
    /// wait their turn in order, see [`Ctx::answer`].
    pub answering: tokio::sync::Semaphore,
}

impl<A: Knowledge, S> Ctx<A, S> {
    /// Runs `work` (a search: CPU only) on the blocking pool once one of the [`Ctx::answering`]
    /// permits is free. Without the bound a burst of updates ran as many searches as threads at
    /// once, and the async workers (fetching updates, Redis, sending replies) got only their
    /// share of the cores among all of them: every reply waited for every search under way.
    ///
    /// # Errors
    /// `work` panicked.
    pub async fn answer<T: Send + 'static>(
        &self,
        work: impl FnOnce(&A) -> T + Send + 'static,
    ) -> Result<T, tokio::task::JoinError> {
        // Never closed: a permit always comes.
        let _permit = self.answering.acquire().await;
        let app = Arc::clone(&self.app);
        tokio::task::spawn_blocking(move || work(&app)).await
    }
}

/// Permits of [`Ctx::answering`]: two per core this process may use, so that a core finishing
/// a search finds the next one already handed to a thread.
fn answering_permits() -> usize {
    2 * std::thread::available_parallelism().map_or(1, usize::from)
}

/// The handler tree: messages (private questions, forwards, commands, group `/ask` and replies,
/// group migrations), callback queries, inline queries (`@bot 问题` in any chat), and changes of
/// the bot's own membership (removed from a group: its subscription is dropped). Needs an
/// `Arc<Ctx<A, S>>` dependency. Each update is taken out of the inbox once its endpoint has
/// finished, whatever the outcome.
#[must_use]
pub fn schema<A: Knowledge, S: BotStore>() -> UpdateHandler<HandlerError> {
    dptree::entry()
        .branch(Update::filter_message().endpoint(
            |msg: Message, ctx: Arc<Ctx<A, S>>, update: Update| async move {
                let handled = handlers::on_message(msg, Arc::clone(&ctx)).await;
                finished(ctx.inbox.as_deref(), &update).await;
                handled
            },
        ))
        .branch(Update::filter_callback_query().endpoint(
            |q: CallbackQuery, ctx: Arc<Ctx<A, S>>, update: Update| async move {
                let handled = handlers::on_callback(q, Arc::clone(&ctx)).await;
                finished(ctx.inbox.as_deref(), &update).await;
                handled
            },
        ))
        .branch(Update::filter_inline_query().endpoint(
            |q: InlineQuery, ctx: Arc<Ctx<A, S>>, update: Update| async move {
                let handled = handlers::on_inline_query(q, Arc::clone(&ctx)).await;
                finished(ctx.inbox.as_deref(), &update).await;
                handled
            },
        ))
        .branch(Update::filter_my_chat_member().endpoint(
            |change: ChatMemberUpdated, ctx: Arc<Ctx<A, S>>, update: Update| async move {
                let handled = handlers::on_my_chat_member(change, Arc::clone(&ctx)).await;
                finished(ctx.inbox.as_deref(), &update).await;
                handled
            },
        ))
}

/// Takes a handled update out of the inbox, if there is one.
async fn finished(inbox: Option<&Inbox>, update: &Update) {
    if let Some(inbox) = inbox {
        inbox.done(update.id).await;
    }
}

/// The kinds of update [`schema`] handles, asked of Telegram (teloxide keeps the description's
/// own list private).
const ALLOWED: [AllowedUpdate; 4] = [
    AllowedUpdate::Message,
    AllowedUpdate::CallbackQuery,
    AllowedUpdate::InlineQuery,
    AllowedUpdate::MyChatMember,
];

/// The bot's HTTP client with its token and Bot API URL ([`client`]); shown without them.
#[derive(Clone)]
pub struct Client(Bot);

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Client(..)")
    }
}

/// The bot's HTTP client for `cfg` (its token, Bot API URL and a timeout above the long poll's).
/// Building it loads the system's root certificates for TLS, tens of milliseconds of CPU:
/// `serve` builds it while the index opens and hands it to [`run`] in [`BotConfig::client`].
///
/// # Errors
/// The HTTP client could not be set up.
pub fn client(cfg: &BotConfig) -> Result<Client, RunError> {
    let client = teloxide::net::default_reqwest_settings()
        .timeout(cfg.poll_timeout + HTTP_MARGIN)
        .build()
        .map_err(|e| RunError::Client(e.to_string()))?;
    let bot = Bot::with_client(cfg.token.expose(), client);
    Ok(Client(match cfg.api_url.clone() {
        Some(url) => bot.set_api_url(url),
        None => bot,
    }))
}

/// Runs the bot until SIGTERM or SIGINT: getMe (asked until Telegram answers, see
/// [`poll::get_me`]), setMyCommands, announcement delivery (when `broadcasts` is given), then
/// long polling (or the webhook listener) feeding [`schema`]. On the signal it stops fetching
/// updates (or stops asking getMe) and lets the answers under way finish; after `shutdown_grace`
/// it returns anyway, logging every reply still being sent.
///
/// # Errors
/// Telegram refused getMe (a bad token) or setWebhook, the webhook could not listen, the inbox's
/// Redis URL is malformed, or the HTTP client or signal handler could not be set up.
pub async fn run<A: Knowledge, S: BotStore>(
    app: Arc<A>,
    sessions: S,
    broadcasts: Option<Arc<BroadcastStore>>,
    cfg: BotConfig,
) -> Result<(), RunError> {
    // Registered first: from here on a SIGTERM starts the graceful stop instead of killing.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let (stopping, mut stopped_at) = tokio::sync::watch::channel(None);
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM: stopping"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: stopping"),
        }
        let _ = stopping.send(Some(tokio::time::Instant::now()));
    });
    let Client(bot) = match cfg.client.clone() {
        Some(built) => built,
        None => client(&cfg)?,
    };
    // Updates come in through our own long poll (or teloxide's webhook listener); every other
    // call goes out through our own calls and pacing.
    let pacer = cfg.limits.map(|limits| Arc::new(Pacer::new(limits)));
    let api = api::Api::new(bot.clone());
    let sender = Sender::new(api.clone(), pacer);
    let inbox = match &cfg.recovery {
        Some(r) => Some(Arc::new(Inbox::open(
            r.redis_url.expose(),
            &r.prefix,
            &r.replica,
        )?)),
        None => None,
    };
    let me = {
        let mut stop = stopped_at.clone();
        tokio::select! {
            me = poll::get_me(&api) => me.map_err(|e| RunError::Startup(match e {
                teloxide::RequestError::Api(reason) => reason.to_string(),
                other => other.to_string(),
            }))?,
            _ = stop.wait_for(Option::is_some) => {
                tracing::info!("stopped before Telegram answered getMe; exiting");
                return Ok(());
            }
        }
    };
    let username = cfg
        .username
        .clone()
        .unwrap_or_else(|| me.username().to_string());
    tracing::info!(bot = %username, api_url = ?cfg.api_url.as_ref().map(Url::as_str), "starting");
    if let Err(error) = sender.set_commands(command::menu()).await {
        tracing::warn!(%error, "setMyCommands failed; the command menu may be stale");
    }
    if let Some(store) = &broadcasts {
        tokio::spawn(broadcast::deliver_forever(
            Arc::clone(store),
            sender.clone(),
        ));
    }
    // Kept to name the replies a shutdown deadline abandons.
    let sending = sender.clone();
    let ctx = Arc::new(Ctx {
        app,
        sessions,
        sender,
        me: Identity {
            id: me.id,
            username,
        },
        flood_per_minute: cfg.flood_per_minute,
        broadcasts,
        inbox: inbox.clone(),
        admins: cfg.admins.clone(),
        answering: tokio::sync::Semaphore::new(answering_permits()),
    });
    let replay = match &inbox {
        Some(inbox) => inbox.unfinished().await,
        None => Vec::new(),
    };
    let deps = dptree::deps![ctx];
    let listener_stop = stopped_at.clone();
    let dispatching = async {
        match cfg.webhook {
            None => {
                // Telegram refuses getUpdates while a webhook is set.
                if let Err(error) = sending.delete_webhook().await {
                    tracing::warn!(%error, "could not check for a webhook; polling anyway");
                }
                let mut listener = poll::LongPoll::new(api, cfg.poll_timeout, inbox.clone());
                stop_on_signal(listener.stop_token(), listener_stop.clone());
                dispatch::dispatch(replay, listener, &ALLOWED, schema::<A, S>(), deps, inbox).await;
            }
            Some(hook) => {
                let mut options = webhooks::Options::new(hook.listen, hook.url);
                if let Some(secret) = &hook.secret_token {
                    options = options.secret_token(secret.expose().to_string());
                }
                let (mut listener, unhooked, mut router) =
                    webhooks::axum_to_router(bot, options).await?;
                // Telegram takes the answer to its post as the confirmation: record first.
                if let Some(inbox) = &inbox {
                    router = inbox::record_on_arrival(
                        router,
                        Arc::clone(inbox),
                        hook.secret_token.clone(),
                    );
                }
                let socket = tokio::net::TcpListener::bind(hook.listen).await?;
                let stop = listener.stop_token();
                tokio::spawn(async move {
                    let served = axum::serve(socket, router)
                        .with_graceful_shutdown(unhooked)
                        .await;
                    if let Err(error) = served {
                        tracing::error!(%error, "webhook listener failed; stopping");
                        stop.stop();
                    }
                });
                stop_on_signal(listener.stop_token(), listener_stop.clone());
                dispatch::dispatch(replay, listener, &ALLOWED, schema::<A, S>(), deps, inbox).await;
            }
        }
        Ok::<(), RunError>(())
    };
    let deadline = async {
        let signalled = stopped_at.wait_for(Option::is_some).await.map(|at| *at);
        let Ok(signalled) = signalled else {
            return std::future::pending().await;
        };
        let at = signalled.unwrap_or_else(tokio::time::Instant::now);
        tokio::time::sleep_until(at + cfg.shutdown_grace).await;
    };
    tokio::select! {
        done = dispatching => {
            if stopped_at.borrow().is_some() {
                tracing::info!("every answer under way was sent; exiting");
            }
            done
        }
        () = deadline => {
            let abandoned = sending.in_flight();
            for (chat, waited) in &abandoned {
                tracing::error!(
                    chat = chat.0,
                    waited_ms = waited.as_millis() as u64,
                    "shutdown deadline: reply not delivered (still waiting on Telegram: 429 or retries)"
                );
            }
            tracing::warn!(
                abandoned = abandoned.len(),
                grace_secs = cfg.shutdown_grace.as_secs(),
                "shutdown grace period over; exiting"
            );
            Ok(())
        }
    }
}

/// Stops the update listener once the stop signal came.
fn stop_on_signal(
    token: teloxide::stop::StopToken,
    mut stopped_at: tokio::sync::watch::Receiver<Option<tokio::time::Instant>>,
) {
    tokio::spawn(async move {
        if stopped_at.wait_for(Option::is_some).await.is_ok() {
            token.stop();
        }
    });
}
