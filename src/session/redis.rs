//! `RedisStore`: sessions as JSON under `{prefix}session:{chat}:{user}` with a TTL refreshed on
//! use, flood counters under `{prefix}flood:{chat}:{user}:{minute}`, and the operator logs
//! `{prefix}feedback` / `{prefix}unanswered` (lists of JSON entries, newest first, capped and
//! expiring by their [`LogPolicy`]; the salt of the user hashes, unless configured, is generated
//! once and kept in `{prefix}log:salt`). Every command is time-bounded; while Redis is
//! unreachable the store behaves as empty, logs the outage once and its recovery once, and the
//! `ConnectionManager` reconnects in the background (failed commands and reachability are
//! counted in [`crate::metrics`]). Never logs the URL (it may hold a password).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{
    Cmd, ErrorKind, FromRedisValue, Pipeline, RedisError, RedisResult, Script, ScriptInvocation,
};

use super::{
    Feedback, FloodGate, LogPolicy, Logs, OperatorLog, Session, SessionKey, SessionStore,
    StoreError, Unanswered, flood_window, random_salt, unix_now,
};

/// Upper bound on one command, including waiting for a (re)connection: a dead server must not
/// stall answers.
const OP_TIMEOUT: Duration = Duration::from_millis(300);

/// Upper bound on one connection attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);

/// Flood counters outlive their one-minute window a little, then Redis drops them.
const FLOOD_KEY_SECS: i64 = 120;

/// `save_if`: sets KEYS[1] to ARGV[2] (with a TTL of ARGV[4] ms) when it holds ARGV[1], or is
/// absent and ARGV[3] is 1 (the expected session is the default one); 1 when set.
const SAVE_IF: &str = r"
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[3] == '1') or current == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
    return 1
end
return 0
";

/// Pushes ARGV[1] onto the log KEYS[1], keeps ARGV[2] entries, drops those at the old end whose
/// `at` is below ARGV[3] (an entry of unknown time stops the sweep: it goes by the cap or the
/// key's expiry), and lets the whole log expire ARGV[4] ms after its last entry.
const PUSH_LOG: &str = r"
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
local cutoff = tonumber(ARGV[3])
while true do
    local tail = redis.call('LINDEX', KEYS[1], -1)
    if not tail then break end
    local ok, entry = pcall(cjson.decode, tail)
    if not ok or type(entry) ~= 'table' or type(entry['at']) ~= 'number' or entry['at'] <= 0 then
        break
    end
    if entry['at'] >= cutoff then break end
    redis.call('RPOP', KEYS[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
";

/// The operator logs' keys (after the prefix).
const LOG_NAMES: [&str; 2] = ["unanswered", "feedback"];

/// Session store in Redis; cheap to share (`&self` everywhere).
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    ttl: Duration,
    logs: LogPolicy,
    /// The salt of the user hashes, once known (configured, or read from Redis).
    salt: tokio::sync::OnceCell<String>,
    /// True while Redis is unreachable (so the outage and the recovery are logged once each).
    down: AtomicBool,
    /// [`SAVE_IF`] and [`PUSH_LOG`], their digests computed once: run by digest (EVALSHA), the
    /// script's text is sent only when Redis does not have it yet.
    save_if: Script,
    push_log: Script,
}

impl fmt::Debug for RedisStore {
    // By hand: the connection's Debug would print the connection info, password included.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .field("logs", &self.logs)
            .field("down", &self.down.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store on `url` with keys under `prefix` and sessions kept `ttl` after their last use
    /// (at least 1 ms). Returns within about [`CONNECT_TIMEOUT`] even when Redis is down; a down
    /// Redis is logged and the store starts empty, reconnecting on later commands. Fails only on
    /// a malformed URL.
    pub async fn connect(url: &str, prefix: &str, ttl: Duration) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| StoreError::InvalidUrl(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(OP_TIMEOUT))
            // Few, short retries: a failed reconnection is retried by the next command anyway.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| StoreError::InvalidUrl(e.to_string()))?;
        let store = RedisStore {
            conn,
            prefix: prefix.to_string(),
            ttl: ttl.max(Duration::from_millis(1)),
            logs: LogPolicy::default(),
            salt: tokio::sync::OnceCell::new(),
            down: AtomicBool::new(false),
            save_if: Script::new(SAVE_IF),
            push_log: Script::new(PUSH_LOG),
        };
        if store.query::<String>(&redis::cmd("PING")).await.is_some() {
            tracing::info!(prefix = %store.prefix, "sessions stored in Redis");
        }
        Ok(store)
    }

    /// The same store keeping its operator logs by `policy`.
    #[must_use]
    pub fn with_logs(mut self, policy: LogPolicy) -> Self {
        if let Some(salt) = &policy.salt {
            self.salt = tokio::sync::OnceCell::new_with(Some(salt.clone()));
        }
        self.logs = policy;
        self
    }

    /// False while Redis is known to be unreachable.
    #[must_use]
    pub fn is_up(&self) -> bool {
        !self.down.load(Ordering::Relaxed)
    }

    fn session_key(&self, key: SessionKey) -> String {
        format!("{}session:{}:{}", self.prefix, key.chat, key.user)
    }

    fn flood_key(&self, key: SessionKey, window: u64) -> String {
        format!("{}flood:{}:{}:{window}", self.prefix, key.chat, key.user)
    }

    fn log_key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX)
    }

    async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Option<T> {
        let mut conn = self.conn.clone();
        self.outcome(tokio::time::timeout(OP_TIMEOUT, cmd.query_async(&mut conn)).await)
    }

    async fn query_pipe<T: FromRedisValue>(&self, pipe: &Pipeline) -> Option<T> {
        let mut conn = self.conn.clone();
        self.outcome(tokio::time::timeout(OP_TIMEOUT, pipe.query_async(&mut conn)).await)
    }

    async fn query_script<T: FromRedisValue>(&self, script: &ScriptInvocation<'_>) -> Option<T> {
        let mut conn = self.conn.clone();
        self.outcome(tokio::time::timeout(OP_TIMEOUT, script.invoke_async(&mut conn)).await)
    }

    /// The reply, or `None` after logging: outages once (until recovery), data errors each time.
    fn outcome<T>(&self, result: Result<RedisResult<T>, tokio::time::error::Elapsed>) -> Option<T> {
        match result {
            Ok(Ok(value)) => {
                crate::metrics::redis_reachable(true);
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!(prefix = %self.prefix, "Redis reachable again; sessions resume");
                }
                Some(value)
            }
            Ok(Err(e)) if !is_outage(&e) => {
                crate::metrics::redis_error();
                tracing::warn!(error = %e, "Redis command failed");
                None
            }
            Ok(Err(e)) => {
                self.mark_down(&e.to_string());
                None
            }
            Err(_) => {
                self.mark_down("timed out");
                None
            }
        }
    }

    fn mark_down(&self, reason: &str) {
        crate::metrics::redis_error();
        crate::metrics::redis_reachable(false);
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                prefix = %self.prefix,
                reason,
                "Redis unreachable; answering without sessions until it returns"
            );
        }
    }

    /// The entries of log `name`, newest first (empty when Redis is unreachable).
    async fn read_log(&self, name: &str) -> Vec<String> {
        let stop = isize::try_from(self.logs.cap.max(1) - 1).unwrap_or(isize::MAX);
        let cmd = redis::cmd("LRANGE")
            .arg(self.log_key(name))
            .arg(0)
            .arg(stop)
            .take();
        self.query(&cmd).await.unwrap_or_default()
    }

    /// Appends `entry` (JSON) to log `name`, applying the cap and the expiry.
    async fn push_log(&self, name: &str, entry: &impl serde::Serialize) {
        let json = match serde_json::to_string(entry) {
            Ok(json) => json,
            Err(e) => {
                tracing::warn!(error = %e, "log entry not serialisable; not logged");
                return;
            }
        };
        let expiry_ms = u64::try_from(self.logs.expiry.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut script = self.push_log.key(self.log_key(name));
        script
            .arg(json)
            .arg(self.logs.cap.max(1))
            .arg(self.logs.cutoff(unix_now().as_secs()))
            .arg(expiry_ms);
        let _: Option<u8> = self.query_script(&script).await;
    }

    /// The pseudonym of `user` in the logs; `None` while the salt cannot be read from Redis.
    async fn who(&self, user: u64) -> Option<String> {
        let salt = self
            .salt
            .get_or_try_init(|| async {
                // The first replica to log sets the salt; everyone then reads that one.
                let key = self.log_key("log:salt");
                let set = redis::cmd("SET")
                    .arg(&key)
                    .arg(random_salt())
                    .arg("NX")
                    .take();
                let _: Option<Option<String>> = self.query(&set).await;
                let get = redis::cmd("GET").arg(&key).take();
                self.query::<Option<String>>(&get).await.flatten().ok_or(())
            })
            .await
            .ok()?;
        Some(LogPolicy::who(salt, user))
    }

    /// Deletes both operator logs (the salt stays); how many entries they held.
    pub async fn purge_logs(&self) -> Option<usize> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for name in LOG_NAMES {
            pipe.cmd("LLEN").arg(self.log_key(name));
        }
        for name in LOG_NAMES {
            pipe.cmd("DEL").arg(self.log_key(name)).ignore();
        }
        let (unanswered, feedback): (usize, usize) = self.query_pipe(&pipe).await?;
        Some(unanswered + feedback)
    }
}

/// Whether `e` means Redis cannot serve us (down, timing out, refusing our password, out of
/// memory, read-only, loading…): logged once per outage. Data-level errors (a foreign key of
/// another type, an unexpected reply) concern one key and are logged each time instead.
fn is_outage(e: &RedisError) -> bool {
    let data_level = e.kind() == ErrorKind::UnexpectedReturnType || e.code() == Some("WRONGTYPE");
    !data_level
}

impl RedisStore {
    /// The command that reads the session of `key` and refreshes its TTL.
    fn getex(&self, key: SessionKey) -> Cmd {
        redis::cmd("GETEX")
            .arg(self.session_key(key))
            .arg("PX")
            .arg(self.ttl_ms())
            .take()
    }
}

/// The session stored as `json`; a fresh one when there is none or it cannot be read.
fn session_of(json: Option<String>) -> Session {
    let Some(json) = json else {
        return Session::default();
    };
    match serde_json::from_str(&json) {
        Ok(session) => session,
        Err(e) => {
            // E.g. written by an older version; the message carries no session contents.
            tracing::warn!(error = %e, "stored session unreadable; starting fresh");
            Session::default()
        }
    }
}

impl SessionStore for RedisStore {
    async fn load(&self, key: SessionKey) -> Session {
        session_of(self.query(&self.getex(key)).await.flatten())
    }

    async fn save(&self, key: SessionKey, session: &Session) {
        let json = match serde_json::to_string(session) {
            Ok(json) => json,
            Err(e) => {
                tracing::warn!(error = %e, "session not serialisable; not saved");
                return;
            }
        };
        let cmd = redis::cmd("SET")
            .arg(self.session_key(key))
            .arg(json)
            .arg("PX")
            .arg(self.ttl_ms())
            .take();
        let _: Option<()> = self.query(&cmd).await;
    }

    async fn save_if(&self, key: SessionKey, old: &Session, new: &Session) -> bool {
        let (Ok(old_json), Ok(new_json)) = (serde_json::to_string(old), serde_json::to_string(new))
        else {
            tracing::warn!("session not serialisable; not saved");
            return true;
        };
        // Compare and set in one step on the server (WATCH would need a connection of our own).
        let mut script = self.save_if.key(self.session_key(key));
        script
            .arg(old_json)
            .arg(new_json)
            .arg(u8::from(*old == Session::default()))
            .arg(self.ttl_ms());
        // Unreachable: nothing stored to lose.
        self.query_script::<u8>(&script)
            .await
            .is_none_or(|set| set == 1)
    }

    async fn reset(&self, key: SessionKey) {
        let _: Option<()> = self
            .query(&redis::cmd("DEL").arg(self.session_key(key)).take())
            .await;
    }
}

impl RedisStore {
    /// The commands that count one question of `key` in the current flood window.
    fn count_question(&self, key: SessionKey) -> Pipeline {
        let counter = self.flood_key(key, flood_window());
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("INCR").arg(&counter);
        pipe.cmd("EXPIRE")
            .arg(&counter)
            .arg(FLOOD_KEY_SECS)
            .ignore();
        pipe
    }
}

impl FloodGate for RedisStore {
    async fn allow(&self, key: SessionKey, limit: u32) -> bool {
        match self.query_pipe::<(u64,)>(&self.count_question(key)).await {
            Some((count,)) => count <= u64::from(limit),
            // No Redis, no counting: answering beats refusing everyone.
            None => true,
        }
    }

    /// The count and the session in one round trip.
    async fn admit(&self, key: SessionKey, limit: u32) -> Option<Session> {
        let mut pipe = self.count_question(key);
        pipe.add_command(self.getex(key));
        match self.query_pipe::<(u64, Option<String>)>(&pipe).await {
            Some((count, _)) if count > u64::from(limit) => None,
            Some((_, json)) => Some(session_of(json)),
            // No Redis: no counting and no session, as `allow` and `load` have it.
            None => Some(Session::default()),
        }
    }
}

impl OperatorLog for RedisStore {
    async fn record_feedback(&self, key: SessionKey, mut feedback: Feedback) {
        let Some(who) = self.who(key.user).await else {
            return;
        };
        feedback.who = Some(who);
        self.push_log("feedback", &feedback).await;
    }

    async fn record_unanswered(&self, key: SessionKey, mut entry: Unanswered) {
        let Some(who) = self.who(key.user).await else {
            return;
        };
        entry.who = Some(who);
        self.push_log("unanswered", &entry).await;
    }

    async fn logs(&self, since: u64) -> Logs {
        let since = since.max(self.logs.cutoff(unix_now().as_secs()));
        let unanswered = self.read_log("unanswered").await;
        let feedback = self.read_log("feedback").await;
        Logs {
            unanswered: unanswered
                .iter()
                .map(|e| Unanswered::parse(e))
                .filter(|e| e.at == 0 || e.at >= since)
                .collect(),
            feedback: feedback
                .iter()
                .filter_map(|e| serde_json::from_str::<Feedback>(e).ok())
                .filter(|e| e.at >= since)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn malformed_url_is_an_error_without_the_url() {
        let ttl = Duration::from_secs(60);
        match RedisStore::connect("nonsense://:hunter2@x", "t:", ttl).await {
            Err(e) => assert!(
                !e.to_string().contains("hunter2"),
                "help: secret leaked: {e}"
            ),
            Ok(s) => panic!("expected an error, got {s:?}"),
        }
    }
}
