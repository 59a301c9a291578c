//! The bot's settings ([`BotConfig`]: token, Bot API URL, webhook, health endpoint, flood limit,
//! pacing, long-polling timeout, shutdown grace, crash recovery, admins), read from the
//! application [`Config`] with errors that name the setting, never its value.

use std::net::SocketAddr;
use std::time::Duration;

use url::Url;

use super::{Limits, Secret};
use crate::config::Config;

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
    /// Address of the `/healthz` endpoint ([`spawn_health`](super::spawn_health), started by the caller before the
    /// knowledge base is opened); none when `None`.
    pub health: Option<SocketAddr>,
    /// Questions per user per minute before the polite flood reply.
    pub flood_per_minute: u32,
    /// Bot username for `/ask@name` in groups; taken from getMe when `None`.
    pub username: Option<String>,
    /// Pacing of messages per chat and overall ([`Pacer`](super::pace::Pacer); 429s hold only their chat);
    /// Telegram's published limits by default. `None` sends unpaced (a local Bot API server,
    /// benchmarks).
    pub limits: Option<Limits>,
    /// Long-polling timeout (the HTTP client's timeout is set [`HTTP_MARGIN`](super::HTTP_MARGIN) above it).
    pub poll_timeout: Duration,
    /// After SIGTERM/SIGINT: how long answers under way may take before the bot exits anyway.
    pub shutdown_grace: Duration,
    /// Where accepted updates are recorded until answered ([`Inbox`](super::Inbox)); none without Redis.
    pub recovery: Option<Recovery>,
    /// Telegram user ids who may use `/review` in a private chat.
    pub admins: Vec<u64>,
    /// The bot's HTTP client, built ahead ([`client`](super::client)); [`run`](super::run) builds
    /// it when `None`.
    pub client: Option<super::Client>,
}

/// The Redis inbox of accepted updates (crash recovery).
#[derive(Clone, Debug)]
pub struct Recovery {
    /// Redis URL (may hold a password, hence a secret).
    pub redis_url: Secret,
    /// Key prefix.
    pub prefix: String,
    /// This replica's name: each replica recovers only its own updates.
    pub replica: String,
}

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
            recovery: None,
            admins: Vec::new(),
            client: None,
        }
    }

    /// The bot settings of the application config (token, Bot API URL, webhook, health
    /// endpoint, flood limit, long-polling timeout, pacing). Errors name the setting, never its
    /// value.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let token = config
            .telegram_token
            .clone()
            .filter(|t| !t.expose().trim().is_empty())
            .ok_or(ConfigError::Missing("TELOXIDE_TOKEN"))?;
        let mut bot = BotConfig::new(token);
        bot.flood_per_minute = config.flood_limit;
        bot.admins.clone_from(&config.admins);
        bot.shutdown_grace = Duration::from_secs(config.shutdown_grace_secs);
        bot.poll_timeout = match config.poll_timeout_secs {
            0 => return Err(ConfigError::Invalid("POLICYBOT_POLL_TIMEOUT")),
            secs => Duration::from_secs(secs),
        };
        let limits = config.pace_limits();
        for (value, name) in [
            (limits.private_per_sec, "POLICYBOT_PACE_PRIVATE_PER_SEC"),
            (limits.private_burst, "POLICYBOT_PACE_PRIVATE_BURST"),
            (limits.group_per_min, "POLICYBOT_PACE_GROUP_PER_MIN"),
            (limits.overall_per_sec, "POLICYBOT_PACE_OVERALL_PER_SEC"),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid(name));
            }
        }
        bot.limits = Some(limits);
        bot.api_url = parse_url(config.telegram_api_url.as_deref(), "TELOXIDE_API_URL")?;
        bot.recovery = config
            .redis_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|url| Recovery {
                redis_url: Secret::new(url),
                prefix: config.redis_prefix.clone(),
                replica: config.replica.clone(),
            });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let mut cfg = BotConfig::new(Secret::new("123:SECRET"));
        assert!(!format!("{cfg:?}").contains("SECRET"));
        // A client built ahead holds the token too.
        cfg.client = Some(super::super::client(&cfg).expect("client"));
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
        assert_eq!(cfg.poll_timeout, Duration::from_secs(25));
        assert_eq!(cfg.limits, Some(Limits::default()));
        config.poll_timeout_secs = 2;
        config.pace_group_per_min = 10;
        let cfg = BotConfig::from_config(&config).unwrap();
        assert_eq!(cfg.poll_timeout, Duration::from_secs(2));
        assert_eq!(cfg.limits.map(|l| l.group_per_min), Some(10));
        config.pace_group_per_min = 0;
        assert!(matches!(
            BotConfig::from_config(&config),
            Err(ConfigError::Invalid("POLICYBOT_PACE_GROUP_PER_MIN"))
        ));
        config.pace_group_per_min = 20;
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
