//! Configuration: defaults, then an optional TOML file (`--config`, or `policybot.toml` in the
//! working directory), then environment variables, then command-line flags. The only module that
//! reads the environment.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::Error;

/// A secret (the bot token) that never appears in `Debug` output or logs.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    #[must_use]
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret value; call only where it is handed to the library that needs it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Every setting. Field names are the TOML keys; see the README for the environment variables.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Data directory with `compendium/` (policy texts) and `lexicon/` (dictionary, synonyms,
    /// stop words, places). Env `POLICYBOT_DATA_DIR`.
    pub data_dir: PathBuf,
    /// Intent definitions directory. Env `POLICYBOT_INTENTS_DIR`.
    pub intents_dir: PathBuf,
    /// Where index generations are kept. Env `POLICYBOT_INDEX_DIR`.
    pub index_dir: PathBuf,
    /// Results per page in chat and bot replies. Env `POLICYBOT_PAGE_SIZE`.
    pub page_size: usize,
    /// Redis URL for sessions; none = in-memory sessions. Env `REDIS_URL`.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key. Env `POLICYBOT_REDIS_PREFIX`.
    pub redis_prefix: String,
    /// Session lifetime in seconds, refreshed on use. Env `POLICYBOT_SESSION_TTL`.
    pub session_ttl_secs: u64,
    /// Maximum sessions kept by the in-memory store. Env `POLICYBOT_MEMORY_SESSIONS`.
    pub memory_sessions: usize,
    /// Questions per user per minute before the polite flood reply. Env `POLICYBOT_FLOOD_LIMIT`.
    pub flood_limit: u32,
    /// Telegram bot token. Env `TELOXIDE_TOKEN`.
    pub telegram_token: Option<Secret>,
    /// Bot API server URL override. Env `TELOXIDE_API_URL`.
    pub telegram_api_url: Option<String>,
    /// Public webhook URL; none = long polling. Env `POLICYBOT_WEBHOOK_URL`.
    pub webhook_url: Option<String>,
    /// Address the webhook server listens on. Env `POLICYBOT_LISTEN`.
    pub listen: String,
    /// Secret token Telegram sends with webhook calls. Env `POLICYBOT_WEBHOOK_SECRET`.
    pub webhook_secret: Option<Secret>,
    /// Address of the health endpoint (`GET /healthz`); none = off. Env `POLICYBOT_HEALTH_LISTEN`.
    pub health_listen: Option<String>,
    /// Name of this replica in the broadcast queue's consumer group (give each replica its own).
    /// Env `POLICYBOT_REPLICA`.
    pub replica: String,
    /// Seconds `serve` gives answers under way to finish after SIGTERM/SIGINT.
    /// Env `POLICYBOT_SHUTDOWN_GRACE`.
    pub shutdown_grace_secs: u64,
    /// Long-polling timeout of getUpdates, seconds (at least 1). Env `POLICYBOT_POLL_TIMEOUT`.
    pub poll_timeout_secs: u64,
    /// How often `serve` looks for a newly built index generation, milliseconds (at least 1).
    /// Env `POLICYBOT_RELOAD_POLL_MS`.
    pub reload_poll_ms: u64,
    /// Seconds after which an announcement another replica took but stopped touching is taken
    /// over (at least 1). Env `POLICYBOT_BROADCAST_STALE_SECS`.
    pub broadcast_stale_secs: u64,
    /// Messages per second to one private chat, sustained (at least 1).
    /// Env `POLICYBOT_PACE_PRIVATE_PER_SEC`.
    pub pace_private_per_sec: u32,
    /// Messages a private chat may get at once before that pace applies (at least 1).
    /// Env `POLICYBOT_PACE_PRIVATE_BURST`.
    pub pace_private_burst: u32,
    /// Messages per minute to one group (at least 1). Env `POLICYBOT_PACE_GROUP_PER_MIN`.
    pub pace_group_per_min: u32,
    /// Messages per second over all chats (at least 1). Env `POLICYBOT_PACE_OVERALL_PER_SEC`.
    pub pace_overall_per_sec: u32,
    /// Largest file `ingest` reads (and largest text taken from a `.docx`), bytes.
    /// Env `POLICYBOT_INGEST_MAX_FILE_BYTES`.
    pub ingest_max_file_bytes: u64,
    /// Largest uncompressed XML of a `.docx`, bytes. Env `POLICYBOT_INGEST_MAX_DOCX_XML_BYTES`.
    pub ingest_max_docx_xml_bytes: u64,
    /// Most lines (Word paragraphs) in one ingested file. Env `POLICYBOT_INGEST_MAX_LINES`.
    pub ingest_max_lines: usize,
    /// Most documents in one ingested file. Env `POLICYBOT_INGEST_MAX_DOCUMENTS`.
    pub ingest_max_documents: usize,
    /// Most clauses in one ingested file. Env `POLICYBOT_INGEST_MAX_FILE_CLAUSES`.
    pub ingest_max_file_clauses: usize,
    /// Most clauses in the data directory after an ingest. Env `POLICYBOT_INGEST_MAX_CLAUSES`.
    pub ingest_max_clauses: usize,
    /// Longest clause of an ingested file, characters. Env `POLICYBOT_INGEST_MAX_CLAUSE_CHARS`.
    pub ingest_max_clause_chars: usize,
    /// Telegram user ids allowed to use `/review` (in a private chat). Env `POLICYBOT_ADMINS`
    /// (comma-separated).
    pub admins: Vec<u64>,
    /// Entries kept in each operator log. Env `POLICYBOT_LOG_CAP`.
    pub log_cap: usize,
    /// Days an operator log entry is kept. Env `POLICYBOT_LOG_DAYS`.
    pub log_days: u64,
    /// Salt of the user hashes in the operator logs; none = generated once and kept in Redis.
    /// Env `POLICYBOT_LOG_SALT`.
    pub log_salt: Option<Secret>,
    /// Whether `ingest` announces a changed document (same 文号, clauses added or removed) to
    /// subscribers as a 修订. Env `POLICYBOT_ANNOUNCE_REVISIONS` (`true`/`false`).
    pub announce_revisions: bool,
}

impl Default for Config {
    fn default() -> Self {
        let limits = crate::ingest::Limits::default();
        let pace = crate::telegram::Limits::default();
        Config {
            data_dir: PathBuf::from("data"),
            intents_dir: PathBuf::from("intents"),
            index_dir: PathBuf::from(".policybot/index"),
            page_size: 3,
            redis_url: None,
            redis_prefix: "policybot:".to_string(),
            session_ttl_secs: 6 * 3600,
            memory_sessions: 10_000,
            flood_limit: 20,
            telegram_token: None,
            telegram_api_url: None,
            webhook_url: None,
            listen: "0.0.0.0:8080".to_string(),
            webhook_secret: None,
            health_listen: None,
            replica: "policybot".to_string(),
            shutdown_grace_secs: 10,
            poll_timeout_secs: 25,
            reload_poll_ms: 2000,
            broadcast_stale_secs: crate::broadcast::store::STALE_ENTRY.as_secs(),
            pace_private_per_sec: pace.private_per_sec,
            pace_private_burst: pace.private_burst,
            pace_group_per_min: pace.group_per_min,
            pace_overall_per_sec: pace.overall_per_sec,
            ingest_max_file_bytes: limits.max_file_bytes,
            ingest_max_docx_xml_bytes: limits.max_docx_xml_bytes,
            ingest_max_lines: limits.max_lines,
            ingest_max_documents: limits.max_documents,
            ingest_max_file_clauses: limits.max_file_clauses,
            ingest_max_clauses: limits.max_total_clauses,
            ingest_max_clause_chars: limits.max_clause_chars,
            admins: Vec::new(),
            log_cap: crate::session::LOG_CAPACITY,
            log_days: crate::session::LOG_EXPIRY.as_secs() / 86_400,
            log_salt: None,
            announce_revisions: true,
        }
    }
}

/// Environment variable → setter.
type EnvSetter = fn(&mut Config, String) -> Result<(), String>;

const ENV: &[(&str, EnvSetter)] = &[
    ("POLICYBOT_DATA_DIR", |c, v| {
        c.data_dir = v.into();
        Ok(())
    }),
    ("POLICYBOT_INTENTS_DIR", |c, v| {
        c.intents_dir = v.into();
        Ok(())
    }),
    ("POLICYBOT_INDEX_DIR", |c, v| {
        c.index_dir = v.into();
        Ok(())
    }),
    ("POLICYBOT_PAGE_SIZE", |c, v| {
        c.page_size = v.parse().map_err(|_| "expected a number".to_string())?;
        Ok(())
    }),
    ("REDIS_URL", |c, v| {
        c.redis_url = Some(v).filter(|v| !v.is_empty());
        Ok(())
    }),
    ("POLICYBOT_REDIS_PREFIX", |c, v| {
        c.redis_prefix = v;
        Ok(())
    }),
    ("POLICYBOT_SESSION_TTL", |c, v| {
        c.session_ttl_secs = v.parse().map_err(|_| "expected seconds".to_string())?;
        Ok(())
    }),
    ("POLICYBOT_MEMORY_SESSIONS", |c, v| {
        c.memory_sessions = v.parse().map_err(|_| "expected a number".to_string())?;
        Ok(())
    }),
    ("POLICYBOT_FLOOD_LIMIT", |c, v| {
        c.flood_limit = v.parse().map_err(|_| "expected a number".to_string())?;
        Ok(())
    }),
    ("TELOXIDE_TOKEN", |c, v| {
        c.telegram_token = Some(Secret(v)).filter(|s| !s.0.is_empty());
        Ok(())
    }),
    ("TELOXIDE_API_URL", |c, v| {
        c.telegram_api_url = Some(v).filter(|v| !v.is_empty());
        Ok(())
    }),
    ("POLICYBOT_WEBHOOK_URL", |c, v| {
        c.webhook_url = Some(v).filter(|v| !v.is_empty());
        Ok(())
    }),
    ("POLICYBOT_LISTEN", |c, v| {
        c.listen = v;
        Ok(())
    }),
    ("POLICYBOT_WEBHOOK_SECRET", |c, v| {
        c.webhook_secret = Some(Secret(v)).filter(|s| !s.0.is_empty());
        Ok(())
    }),
    ("POLICYBOT_HEALTH_LISTEN", |c, v| {
        c.health_listen = Some(v).filter(|v| !v.is_empty());
        Ok(())
    }),
    ("POLICYBOT_SHUTDOWN_GRACE", |c, v| {
        c.shutdown_grace_secs = v.parse().map_err(|_| "expected seconds".to_string())?;
        Ok(())
    }),
    ("POLICYBOT_POLL_TIMEOUT", |c, v| {
        c.poll_timeout_secs = positive(&v)?;
        Ok(())
    }),
    ("POLICYBOT_RELOAD_POLL_MS", |c, v| {
        c.reload_poll_ms = positive(&v)?;
        Ok(())
    }),
    ("POLICYBOT_BROADCAST_STALE_SECS", |c, v| {
        c.broadcast_stale_secs = positive(&v)?;
        Ok(())
    }),
    ("POLICYBOT_PACE_PRIVATE_PER_SEC", |c, v| {
        c.pace_private_per_sec = positive(&v)?;
        Ok(())
    }),
    ("POLICYBOT_PACE_PRIVATE_BURST", |c, v| {
        c.pace_private_burst = positive(&v)?;
        Ok(())
    }),
    ("POLICYBOT_PACE_GROUP_PER_MIN", |c, v| {
        c.pace_group_per_min = positive(&v)?;
        Ok(())
    }),
    ("POLICYBOT_PACE_OVERALL_PER_SEC", |c, v| {
        c.pace_overall_per_sec = positive(&v)?;
        Ok(())
    }),
    ("POLICYBOT_INGEST_MAX_FILE_BYTES", |c, v| {
        c.ingest_max_file_bytes = v.parse().map_err(|_| "expected bytes".to_string())?;
        Ok(())
    }),
    ("POLICYBOT_INGEST_MAX_DOCX_XML_BYTES", |c, v| {
        c.ingest_max_docx_xml_bytes = v.parse().map_err(|_| "expected bytes".to_string())?;
        Ok(())
    }),
    ("POLICYBOT_INGEST_MAX_LINES", |c, v| {
        c.ingest_max_lines = v.parse().map_err(|_| "expected a number".to_string())?;
        Ok(())
    }),
    ("POLICYBOT_INGEST_MAX_DOCUMENTS", |c, v| {
        c.ingest_max_documents = v.parse().map_err(|_| "expected a number".to_string())?;
        Ok(())
    }),
    ("POLICYBOT_INGEST_MAX_FILE_CLAUSES", |c, v| {
        c.ingest_max_file_clauses = v.parse().map_err(|_| "expected a number".to_string())?;
        Ok(())
    }),
    ("POLICYBOT_INGEST_MAX_CLAUSES", |c, v| {
        c.ingest_max_clauses = v.parse().map_err(|_| "expected a number".to_string())?;
        Ok(())
    }),
    ("POLICYBOT_INGEST_MAX_CLAUSE_CHARS", |c, v| {
        c.ingest_max_clause_chars = v.parse().map_err(|_| "expected a number".to_string())?;
        Ok(())
    }),
    ("POLICYBOT_ADMINS", |c, v| {
        c.admins = v
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(|id| id.parse().map_err(|_| format!("not a user id: {id}")))
            .collect::<Result<_, _>>()?;
        Ok(())
    }),
    ("POLICYBOT_LOG_CAP", |c, v| {
        c.log_cap = v.parse().map_err(|_| "expected a number".to_string())?;
        Ok(())
    }),
    ("POLICYBOT_LOG_DAYS", |c, v| {
        c.log_days = v.parse().map_err(|_| "expected days".to_string())?;
        Ok(())
    }),
    ("POLICYBOT_ANNOUNCE_REVISIONS", |c, v| {
        c.announce_revisions = v
            .parse()
            .map_err(|_| "expected true or false".to_string())?;
        Ok(())
    }),
    ("POLICYBOT_LOG_SALT", |c, v| {
        c.log_salt = Some(Secret(v)).filter(|s| !s.0.is_empty());
        Ok(())
    }),
    ("POLICYBOT_REPLICA", |c, v| {
        match v.trim() {
            "" => return Err("expected a name".to_string()),
            name => c.replica = name.to_string(),
        }
        Ok(())
    }),
];

/// A whole number of at least 1.
fn positive<T: std::str::FromStr + PartialOrd + From<u8>>(v: &str) -> Result<T, String> {
    v.trim()
        .parse()
        .ok()
        .filter(|n| *n >= T::from(1))
        .ok_or_else(|| "expected a number of at least 1".to_string())
}

impl Config {
    /// Defaults, then `file` (or `policybot.toml` when present), then the environment.
    ///
    /// # Errors
    /// An unreadable or malformed config file (with line), or a malformed environment value.
    pub fn load(file: Option<&Path>) -> Result<Self, Error> {
        let mut cfg = match file {
            Some(path) => Self::from_file(path)?,
            None if Path::new("policybot.toml").is_file() => {
                Self::from_file(Path::new("policybot.toml"))?
            }
            None => Config::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        Ok(cfg)
    }

    fn from_file(path: &Path) -> Result<Self, Error> {
        read_toml(path)
    }

    /// Applies environment overrides read through `get`.
    ///
    /// # Errors
    /// A malformed value, naming the variable.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), Error> {
        for (name, set) in ENV {
            if let Some(v) = get(name) {
                set(self, v).map_err(|message| Error::Config {
                    path: PathBuf::from(format!("${name}")),
                    line: 0,
                    message,
                })?;
            }
        }
        Ok(())
    }

    /// The ingest limits.
    #[must_use]
    pub fn ingest_limits(&self) -> crate::ingest::Limits {
        crate::ingest::Limits {
            max_file_bytes: self.ingest_max_file_bytes,
            max_docx_xml_bytes: self.ingest_max_docx_xml_bytes,
            max_lines: self.ingest_max_lines,
            max_documents: self.ingest_max_documents,
            max_file_clauses: self.ingest_max_file_clauses,
            max_total_clauses: self.ingest_max_clauses,
            max_clause_chars: self.ingest_max_clause_chars,
        }
    }

    /// The pacing of the bot's messages (Telegram's published limits unless configured).
    #[must_use]
    pub fn pace_limits(&self) -> crate::telegram::Limits {
        crate::telegram::Limits {
            overall_per_sec: self.pace_overall_per_sec,
            private_per_sec: self.pace_private_per_sec,
            private_burst: self.pace_private_burst,
            group_per_min: self.pace_group_per_min,
        }
    }

    /// How often `serve` looks for a new index generation (at least 1 ms).
    #[must_use]
    pub fn reload_poll(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.reload_poll_ms.max(1))
    }

    /// How long an announcement taken by another replica may go untouched before it is taken
    /// over (at least 1 s).
    #[must_use]
    pub fn broadcast_stale(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.broadcast_stale_secs.max(1))
    }

    /// How the operator logs are kept.
    #[must_use]
    pub fn log_policy(&self) -> crate::session::LogPolicy {
        crate::session::LogPolicy {
            cap: self.log_cap.max(1),
            expiry: std::time::Duration::from_secs(self.log_days.max(1).saturating_mul(86_400)),
            salt: self.log_salt.as_ref().map(|s| s.expose().to_string()),
        }
    }

    /// The data directory to use: the configured one, or — when it is the default `data` and
    /// missing from the working directory — the compendium bundled with the source tree.
    #[must_use]
    pub fn resolved(mut self) -> Self {
        let bundled = Path::new(env!("CARGO_MANIFEST_DIR"));
        if self.data_dir == Path::new("data") && !self.data_dir.is_dir() {
            self.data_dir = bundled.join("data");
        }
        if self.intents_dir == Path::new("intents") && !self.intents_dir.is_dir() {
            self.intents_dir = bundled.join("intents");
        }
        self
    }
}

/// Reads a TOML file into `T`; a syntax or schema error names the file and line.
///
/// # Errors
/// Unreadable file or malformed TOML.
pub(crate) fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| Error::Config {
        path: path.to_path_buf(),
        line: e
            .span()
            .map(|s| text[..s.start].lines().count().max(1))
            .unwrap_or(0),
        message: e.message().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_defaults() {
        let mut c = Config::default();
        c.apply_env(|k| match k {
            "REDIS_URL" => Some("redis://127.0.0.1:1/".into()),
            "POLICYBOT_PAGE_SIZE" => Some("4".into()),
            "TELOXIDE_TOKEN" => Some("1:SECRET".into()),
            _ => None,
        })
        .expect("valid env");
        assert_eq!(c.redis_url.as_deref(), Some("redis://127.0.0.1:1/"));
        assert_eq!(c.page_size, 4);
        c.apply_env(|k| (k == "POLICYBOT_ADMINS").then(|| " 11, 22 ,".into()))
            .expect("ids");
        assert_eq!(c.admins, [11, 22]);
        assert!(
            c.apply_env(|k| (k == "POLICYBOT_ADMINS").then(|| "11,@bob".into()))
                .is_err(),
            "help: a username is no user id"
        );
        assert!(
            !format!("{c:?}").contains("SECRET"),
            "token must not leak into Debug output"
        );
    }

    #[test]
    fn pacing_polling_and_intervals_come_from_the_file_and_the_environment() {
        let defaults = Config::default();
        assert_eq!(defaults.pace_limits(), crate::telegram::Limits::default());
        assert_eq!(defaults.poll_timeout_secs, 25);
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "pace_private_per_sec = 2\npace_group_per_min = 15\npoll_timeout_secs = 10\n\
             reload_poll_ms = 0\nbroadcast_stale_secs = 4\n",
        )
        .expect("write");
        let mut c = Config::load(Some(&p)).expect("valid file");
        c.apply_env(|k| match k {
            "POLICYBOT_PACE_OVERALL_PER_SEC" => Some("25".into()),
            "POLICYBOT_PACE_PRIVATE_BURST" => Some(" 5 ".into()),
            "POLICYBOT_POLL_TIMEOUT" => Some("3".into()),
            "POLICYBOT_RELOAD_POLL_MS" => Some("150".into()),
            _ => None,
        })
        .expect("valid env");
        assert_eq!(c.reload_poll(), std::time::Duration::from_millis(150));
        assert_eq!(c.broadcast_stale(), std::time::Duration::from_secs(4));
        c.broadcast_stale_secs = 0;
        assert_eq!(
            c.broadcast_stale(),
            std::time::Duration::from_secs(1),
            "help: 0 in the file is taken as the least"
        );
        let limits = c.pace_limits();
        assert_eq!(
            (
                limits.private_per_sec,
                limits.private_burst,
                limits.group_per_min,
                limits.overall_per_sec
            ),
            (2, 5, 15, 25),
            "help: file, then environment"
        );
        assert_eq!(c.poll_timeout_secs, 3, "help: the environment wins");
        for name in [
            "POLICYBOT_PACE_PRIVATE_PER_SEC",
            "POLICYBOT_PACE_PRIVATE_BURST",
            "POLICYBOT_PACE_GROUP_PER_MIN",
            "POLICYBOT_PACE_OVERALL_PER_SEC",
            "POLICYBOT_POLL_TIMEOUT",
            "POLICYBOT_RELOAD_POLL_MS",
            "POLICYBOT_BROADCAST_STALE_SECS",
        ] {
            for bad in ["0", "-1", "fast", ""] {
                let err = c
                    .apply_env(|k| (k == name).then(|| bad.into()))
                    .expect_err("help: not a positive number");
                assert!(err.to_string().contains(name), "{err}");
            }
        }
    }

    #[test]
    fn bad_env_value_names_the_variable() {
        let mut c = Config::default();
        let err = c
            .apply_env(|k| (k == "POLICYBOT_FLOOD_LIMIT").then(|| "many".into()))
            .expect_err("not a number");
        assert!(err.to_string().contains("POLICYBOT_FLOOD_LIMIT"), "{err}");
    }

    #[test]
    fn file_errors_carry_the_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "page_size = 3\nflood_limit = \"many\"\n").expect("write");
        let err = Config::load(Some(&p)).expect_err("not a number");
        assert!(err.to_string().contains("c.toml:2:"), "{err}");
        std::fs::write(&p, "no_such_key = 1\n").expect("write");
        let err = Config::load(Some(&p)).expect_err("unknown key");
        assert!(err.to_string().contains("no_such_key"), "{err}");
    }
}
