//! The Telegram bot: configuration, the dptree handler tree ([`schema`]) with its dependencies
//! injected, [`run`] (long polling or webhook, command menu, announcement delivery) and the
//! health endpoint ([`spawn_health`]). Endpoints only take ids and text → [`App`] → `render::telegram` → send; no
//! retrieval logic lives here.

mod broadcast;
mod command;
mod handlers;
mod health;
mod send;
pub mod texts;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use teloxide::adaptors::Throttle;
use teloxide::adaptors::throttle::{Limits, Settings};
use teloxide::dispatching::{Dispatcher, UpdateFilterExt, UpdateHandler};
use teloxide::error_handlers::ErrorHandler;
use teloxide::prelude::*;
use teloxide::update_listeners::{Polling, UpdateListener as _, webhooks};
use url::Url;

use crate::answer::Answer;
use crate::app::{App, AskOptions, FullText, Reply};
use crate::broadcast::store::BroadcastStore;
use crate::broadcast::{FilterError, Filters};
use crate::config::Config;
use crate::session::{Session, SessionStore};

pub use crate::config::Secret;
pub use command::{Command, Parsed, parse as parse_command};
pub use health::{Readiness, spawn as spawn_health};
pub use send::{Sender, Target};

/// Error of a handler: a Bot API call that failed after retries, or a panicked answer task.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// Webhook mode: Telegram posts updates to `url`; the bot listens on `listen`.
#[derive(Clone, Debug)]
pub struct Webhook {
    /// Public URL Telegram posts to (setWebhook).
    pub url: Url,
    /// Local address to listen on.
    pub listen: SocketAddr,
    /// `X-Telegram-Bot-Api-Secret-Token` expected on every post.
    pub secret_token: Option<Secret>,
}

/// How the bot connects and behaves.
#[derive(Clone, Debug)]
pub struct BotConfig {
    /// Bot token (`TELOXIDE_TOKEN`).
    pub token: Secret,
    /// Bot API server URL (`TELOXIDE_API_URL`); the public one when `None`.
    pub api_url: Option<Url>,
    /// Webhook mode; long polling when `None`.
    pub webhook: Option<Webhook>,
    /// Address of the `/healthz` endpoint ([`spawn_health`], started by the caller before the
    /// knowledge base is opened); none when `None`.
    pub health: Option<SocketAddr>,
    /// Questions per user per minute before the polite flood reply.
    pub flood_per_minute: u32,
    /// Bot username for `/ask@name` in groups; taken from getMe when `None`.
    pub username: Option<String>,
    /// Send limits (teloxide `Throttle`, which also waits out 429s); Telegram's published limits
    /// by default. `None` sends unthrottled (a local Bot API server, benchmarks).
    pub limits: Option<Limits>,
    /// Long-polling timeout (the HTTP client's timeout is set [`HTTP_MARGIN`] above it).
    pub poll_timeout: Duration,
    /// After SIGTERM/SIGINT: how long answers under way may take before the bot exits anyway.
    pub shutdown_grace: Duration,
}

/// How much longer than the long-polling timeout the Bot API client waits for a response:
/// teloxide's default client gives up after 17 s, before a 25 s long poll returns.
pub const HTTP_MARGIN: Duration = Duration::from_secs(15);

impl BotConfig {
    /// Defaults for `token`: long polling, public Bot API, 20 questions a minute.
    #[must_use]
    pub fn new(token: Secret) -> Self {
        BotConfig {
            token,
            api_url: None,
            webhook: None,
            health: None,
            flood_per_minute: 20,
            username: None,
            limits: Some(Limits::default()),
            poll_timeout: Duration::from_secs(25),
            shutdown_grace: Duration::from_secs(10),
        }
    }

    /// The bot settings of the application config (token, Bot API URL, webhook, health
    /// endpoint, flood limit). Errors name the setting, never its value.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let token = config
            .telegram_token
            .clone()
            .filter(|t| !t.expose().trim().is_empty())
            .ok_or(ConfigError::Missing("TELOXIDE_TOKEN"))?;
        let mut bot = BotConfig::new(token);
        bot.flood_per_minute = config.flood_limit;
        bot.shutdown_grace = Duration::from_secs(config.shutdown_grace_secs);
        bot.api_url = parse_url(config.telegram_api_url.as_deref(), "TELOXIDE_API_URL")?;
        if let Some(url) = parse_url(config.webhook_url.as_deref(), "POLICYBOT_WEBHOOK_URL")? {
            let listen = config
                .listen
                .parse()
                .map_err(|_| ConfigError::Invalid("POLICYBOT_LISTEN"))?;
            let secret_token = config.webhook_secret.clone();
            bot.webhook = Some(Webhook {
                url,
                listen,
                secret_token,
            });
        }
        bot.health = match config
            .health_listen
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            Some(addr) => Some(
                addr.parse()
                    .map_err(|_| ConfigError::Invalid("POLICYBOT_HEALTH_LISTEN"))?,
            ),
            None => None,
        };
        Ok(bot)
    }
}

fn parse_url(value: Option<&str>, name: &'static str) -> Result<Option<Url>, ConfigError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => Url::parse(v)
            .map(Some)
            .map_err(|_| ConfigError::Invalid(name)),
        None => Ok(None),
    }
}

/// A bad bot configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required setting is missing.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// A setting does not parse.
    #[error("{0} is not valid")]
    Invalid(&'static str),
}

/// Why the bot stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The Bot API could not be reached at startup (getMe, setWebhook).
    #[error("Telegram Bot API: {0}")]
    Telegram(#[from] teloxide::RequestError),
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
    /// See [`App::ask`].
    fn ask(&self, text: &str, session: &mut Session, opts: &AskOptions) -> Answer;
    /// See [`App::follow_up`].
    fn follow_up(&self, n: usize, session: &mut Session) -> Option<Reply>;
    /// See [`App::full_text`].
    fn full_text(&self, clause_id: &str) -> Option<FullText>;
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
    fn ask(&self, text: &str, session: &mut Session, opts: &AskOptions) -> Answer {
        App::ask(self, text, session, opts)
    }
    fn follow_up(&self, n: usize, session: &mut Session) -> Option<Reply> {
        App::follow_up(self, n, session)
    }
    fn full_text(&self, clause_id: &str) -> Option<FullText> {
        App::full_text(self, clause_id)
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
}

/// The handler tree: messages (private questions, forwards, commands, group `/ask` and replies,
/// group migrations), callback queries, and changes of the bot's own membership (removed from a
/// group: its subscription is dropped). Needs an `Arc<Ctx<A, S>>` dependency.
#[must_use]
pub fn schema<A: Knowledge, S: SessionStore + 'static>() -> UpdateHandler<HandlerError> {
    dptree::entry()
        .branch(Update::filter_message().endpoint(handlers::on_message::<A, S>))
        .branch(Update::filter_callback_query().endpoint(handlers::on_callback::<A, S>))
        .branch(Update::filter_my_chat_member().endpoint(handlers::on_my_chat_member::<A, S>))
}

/// Runs the bot until SIGTERM or SIGINT: getMe, setMyCommands, announcement delivery (when
/// `broadcasts` is given), then long polling (or the webhook listener) feeding
/// [`schema`]. On the signal it stops fetching updates and lets the answers under way finish;
/// after `shutdown_grace` it returns anyway, logging every reply still being sent.
pub async fn run<A: Knowledge, S: SessionStore + 'static>(
    app: Arc<A>,
    sessions: S,
    broadcasts: Option<Arc<BroadcastStore>>,
    cfg: BotConfig,
) -> Result<(), RunError> {
    // Registered first: from here on a SIGTERM starts the graceful stop instead of killing.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let client = teloxide::net::default_reqwest_settings()
        .timeout(cfg.poll_timeout + HTTP_MARGIN)
        .build()
        .map_err(|e| RunError::Client(e.to_string()))?;
    let mut bot = Bot::with_client(cfg.token.expose(), client);
    if let Some(url) = cfg.api_url.clone() {
        bot = bot.set_api_url(url);
    }
    // Updates come in through the plain bot; replies go out through the throttled one.
    let sender = match cfg.limits {
        Some(limits) => {
            let (throttled, worker) =
                Throttle::with_settings(bot.clone(), Settings::default().limits(limits));
            tokio::spawn(worker);
            Sender::throttled(throttled)
        }
        None => Sender::direct(bot.clone()),
    };
    let me = sender.me().await?;
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
    });
    let mut dispatcher = Dispatcher::builder(bot.clone(), schema::<A, S>())
        .dependencies(dptree::deps![ctx])
        .default_handler(|update| async move {
            tracing::debug!(update_id = update.id.0, "update not handled");
        })
        .error_handler(Arc::new(LogErrors))
        .build();
    let token = dispatcher.shutdown_token();
    let (stopping, mut stopped_at) = tokio::sync::watch::channel(None);
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM: stopping"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: stopping"),
        }
        let _ = stopping.send(Some(tokio::time::Instant::now()));
        // The dispatcher refuses while it is still starting: try again until it takes it.
        while token.shutdown().is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let listener_stop = stopped_at.clone();
    let dispatching = async {
        match cfg.webhook {
            None => {
                let mut listener = Polling::builder(bot)
                    .timeout(cfg.poll_timeout)
                    .delete_webhook()
                    .await
                    .build();
                stop_on_signal(listener.stop_token(), listener_stop.clone());
                dispatcher
                    .dispatch_with_listener(listener, Arc::new(LogErrors))
                    .await;
            }
            Some(hook) => {
                let mut options = webhooks::Options::new(hook.listen, hook.url);
                if let Some(secret) = hook.secret_token {
                    options = options.secret_token(secret.expose().to_string());
                }
                let mut listener = webhooks::axum(bot, options).await?;
                stop_on_signal(listener.stop_token(), listener_stop.clone());
                dispatcher
                    .dispatch_with_listener(listener, Arc::new(LogErrors))
                    .await;
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

/// Stops the update listener once the stop signal came. The dispatcher's own shutdown token is
/// not enough: teloxide wakes the dispatcher with `notify_waiters`, which is lost when the
/// signal comes while it is handing an update to a worker, and the bot would then keep polling
/// until the grace period is over.
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

/// Logs what a handler or the update listener could not do (the user already got an apology
/// where one could be sent).
struct LogErrors;

impl<E: fmt::Display + Send + 'static> ErrorHandler<E> for LogErrors {
    fn handle_error(self: Arc<Self>, error: E) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            tracing::error!(%error, "telegram handler failed");
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let cfg = BotConfig::new(Secret::new("123:SECRET"));
        assert!(!format!("{cfg:?}").contains("SECRET"));
    }

    #[test]
    fn reads_the_application_config() {
        let mut config = Config {
            telegram_token: Some(Secret::new("1:T")),
            telegram_api_url: Some("http://127.0.0.1:8081".to_string()),
            health_listen: Some("127.0.0.1:9000".to_string()),
            flood_limit: 7,
            ..Config::default()
        };
        let cfg = BotConfig::from_config(&config).unwrap();
        assert_eq!(cfg.token.expose(), "1:T");
        assert_eq!(cfg.api_url.unwrap().as_str(), "http://127.0.0.1:8081/");
        assert_eq!((cfg.flood_per_minute, cfg.webhook.is_none()), (7, true));
        assert_eq!(cfg.health, Some("127.0.0.1:9000".parse().unwrap()));
        config.webhook_url = Some("https://bot.example.org/hook".to_string());
        let hook = BotConfig::from_config(&config).unwrap().webhook.unwrap();
        assert_eq!(hook.listen, "0.0.0.0:8080".parse().unwrap());
        config.telegram_api_url = Some("not a url".to_string());
        assert!(matches!(
            BotConfig::from_config(&config),
            Err(ConfigError::Invalid("TELOXIDE_API_URL"))
        ));
        config.telegram_token = None;
        assert!(matches!(
            BotConfig::from_config(&config),
            Err(ConfigError::Missing(_))
        ));
    }
}
