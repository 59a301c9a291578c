//! Conversation state per (chat, user): the `Session` value and, by role, the narrow traits a
//! store implements — [`SessionStore`] (sessions), [`FloodGate`] (questions per minute),
//! [`OperatorLog`] (feedback, unanswered questions: their records, cap, expiry and the salted
//! hash that stands for a user) — with their in-memory and Redis implementations.
//! Stores never return errors to callers and never log secrets (URLs, passwords) or session
//! contents.

mod memory;
mod redis;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::answer::{Followup, FollowupKind, Status};

pub use self::memory::MemoryStore;
pub use self::redis::RedisStore;

/// Default time a session lives without use.
pub const DEFAULT_TTL: Duration = Duration::from_secs(6 * 60 * 60);

/// Entries kept in each operator log (feedback, unanswered) unless configured otherwise.
pub const LOG_CAPACITY: usize = 1000;

/// How long an operator log entry is kept unless configured otherwise.
pub const LOG_EXPIRY: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Longest question (in chars) kept in the operator logs; longer ones are cut.
pub const LOG_QUESTION_CHARS: usize = 500;

/// What the bot remembers about one conversation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The last effective question (after follow-up resolution).
    pub last_question: Option<String>,
    /// Region set with `/region` (sticky until changed).
    pub region: Option<String>,
    /// Region the last question was narrowed to (by the question itself or a follow-up).
    pub last_region: Option<String>,
    /// `last_region` was switched to after an answer (see `SearchOptions::own_region`).
    #[serde(default)]
    pub own_region: bool,
    /// Results already shown for the last question (paging offset).
    pub shown: usize,
    /// Follow-ups offered by the last answer, numbered from 1.
    pub followups: Vec<Followup>,
    /// Id of the last answer; button callback data carries it, so a stale or forged button is
    /// recognised (it does not match) and never runs against another answer.
    pub answer_id: u64,
    /// The earlier pages of the last question, oldest first (at most [`EARLIER_PAGES`]): 更多结果
    /// adds a page and leaves the buttons of the pages before it valid.
    #[serde(default)]
    pub earlier: Vec<Page>,
}

/// Earlier pages of one question whose buttons stay valid.
pub const EARLIER_PAGES: usize = 5;

/// A page of answers to the last question shown before the current one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// Its answer id (carried by its buttons).
    pub answer_id: u64,
    /// The follow-ups it offered, numbered from 1.
    pub followups: Vec<Followup>,
}

impl Session {
    /// Whether a button of answer `answer_id` belongs to this session's last answer or to an
    /// earlier page of the same question. Id 0 is a fresh session's and never belongs to a
    /// button.
    #[must_use]
    pub fn owns(&self, answer_id: u64) -> bool {
        self.followups_of(answer_id).is_some()
    }

    /// The follow-ups answer `answer_id` offered: the last answer's, or an earlier page's.
    #[must_use]
    pub fn followups_of(&self, answer_id: u64) -> Option<&[Followup]> {
        if answer_id == 0 {
            return None;
        }
        if self.answer_id == answer_id {
            return Some(&self.followups);
        }
        let page = self.earlier.iter().find(|p| p.answer_id == answer_id)?;
        Some(&page.followups)
    }

    /// Follow-up `n` (1-based) of answer `answer_id`, when that is this session's last answer or
    /// an earlier page of its question, and the follow-up is of `kind` (what the button showed).
    #[must_use]
    pub fn followup(&self, answer_id: u64, n: usize, kind: FollowupKind) -> Option<&Followup> {
        let followup = self.followups_of(answer_id)?.get(n.checked_sub(1)?)?;
        (followup.kind() == kind).then_some(followup)
    }

    /// Keeps the last answer as an earlier page (the next answer continues its question), the
    /// [`EARLIER_PAGES`] newest only.
    pub fn keep_page(&mut self) {
        if self.answer_id == 0 {
            return;
        }
        self.earlier.push(Page {
            answer_id: self.answer_id,
            followups: self.followups.clone(),
        });
        let extra = self.earlier.len().saturating_sub(EARLIER_PAGES);
        self.earlier.drain(..extra);
    }
}

/// Whose conversation: sessions are per (chat, user) so two people in one group do not share context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionKey {
    /// Telegram chat id (negative for groups); 0 for the terminal chat.
    pub chat: i64,
    /// Telegram user id; 0 for the terminal chat.
    pub user: u64,
}

/// How the operator logs are kept: at most `cap` entries each, none older than `expiry`, and
/// users named only by a salted hash of their id ([`LogPolicy::who`]).
#[derive(Clone, PartialEq, Eq)]
pub struct LogPolicy {
    /// Entries kept per log (at least 1).
    pub cap: usize,
    /// Age after which an entry is dropped.
    pub expiry: Duration,
    /// Salt of the user hashes; `None`: the store's own (Redis: generated once and kept in
    /// `{prefix}log:salt`; memory: generated per process).
    pub salt: Option<String>,
}

impl Default for LogPolicy {
    fn default() -> Self {
        LogPolicy {
            cap: LOG_CAPACITY,
            expiry: LOG_EXPIRY,
            salt: None,
        }
    }
}

impl std::fmt::Debug for LogPolicy {
    // By hand: the salt is a secret (with it, a user id can be tested against a hash).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogPolicy")
            .field("cap", &self.cap)
            .field("expiry", &self.expiry)
            .field("salt", &self.salt.as_ref().map(|_| "***"))
            .finish()
    }
}

impl LogPolicy {
    /// The pseudonym of `user` under `salt`: 16 hex digits of SHA-256(salt, user id). Tells
    /// entries of one user apart from another's without storing who it is.
    #[must_use]
    pub fn who(salt: &str, user: u64) -> String {
        crate::digest::sha256_hex(format!("{salt}:{user}").as_bytes(), 16)
    }

    /// Oldest time (Unix seconds) an entry may have at `now` (Unix seconds).
    fn cutoff(&self, now: u64) -> u64 {
        now.saturating_sub(self.expiry.as_secs())
    }
}

/// A fresh random salt (32 hex digits) for the user hashes.
fn random_salt() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: the clock still makes the salt unguessable enough to tell apart.
        bytes.copy_from_slice(&unix_now().as_nanos().to_le_bytes());
    }
    crate::digest::hex(&bytes, 32)
}

/// Where a question came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A private chat.
    Private,
    /// A group (`/ask`, a reply to the bot).
    Group,
    /// A forwarded message.
    Forward,
    /// An inline query (`@bot 问题` typed in any chat).
    Inline,
}

impl Source {
    /// The name used in logs, metrics and JSON.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Private => "private",
            Source::Group => "group",
            Source::Forward => "forward",
            Source::Inline => "inline",
        }
    }
}

/// A clause an answer cited, as the operator sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClauseRef {
    /// Clause id.
    pub id: String,
    /// Title of its document.
    pub title: String,
}

/// A question the bot found nothing for (`no_match`) or only weakly related clauses
/// (`related`), for the operator. Older versions stored the bare question: such an entry reads
/// as one with only `question` set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unanswered {
    /// The question (cut to [`LOG_QUESTION_CHARS`]).
    pub question: String,
    /// `no_match` or `related`; `None` in entries of older versions.
    #[serde(default)]
    pub status: Option<Status>,
    /// Where it was asked; `None` in entries of older versions.
    #[serde(default)]
    pub source: Option<Source>,
    /// Clauses cited (a `related` answer's).
    #[serde(default)]
    pub clauses: Vec<ClauseRef>,
    /// Salted hash of the asker's user id ([`LogPolicy::who`]), set by the store.
    #[serde(default)]
    pub who: Option<String>,
    /// When, in Unix seconds (0: unknown, an older entry).
    #[serde(default)]
    pub at: u64,
}

impl Unanswered {
    /// The entry for `question` answered with `status` citing `clauses`, asked now from `source`.
    #[must_use]
    pub fn new(question: &str, status: Status, source: Source, clauses: Vec<ClauseRef>) -> Self {
        Unanswered {
            question: log_question(question),
            status: Some(status),
            source: Some(source),
            clauses,
            who: None,
            at: unix_now().as_secs(),
        }
    }

    /// Reads a stored entry: JSON, or the bare question of an older version.
    #[must_use]
    pub fn parse(stored: &str) -> Self {
        match serde_json::from_str(stored) {
            Ok(entry) => entry,
            Err(_) => Unanswered {
                question: stored.to_string(),
                status: None,
                source: None,
                clauses: Vec::new(),
                who: None,
                at: 0,
            },
        }
    }
}

/// One 👍/👎 on an answer, for the operator. (Older versions also stored the chat and user ids;
/// those fields are ignored when read.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    /// Id of the rated answer.
    pub answer_id: u64,
    /// True for 👍, false for 👎.
    pub up: bool,
    /// The question answered (cut to [`LOG_QUESTION_CHARS`]).
    pub question: String,
    /// The clauses the rated answer cited.
    #[serde(default)]
    pub clauses: Vec<ClauseRef>,
    /// Salted hash of the rater's user id ([`LogPolicy::who`]), set by the store.
    #[serde(default)]
    pub who: Option<String>,
    /// When, in Unix seconds.
    pub at: u64,
}

impl Feedback {
    /// A 👍 (`up`) or 👎 given now on answer `answer_id` to `question`, which cited `clauses`.
    #[must_use]
    pub fn new(answer_id: u64, up: bool, question: &str, clauses: Vec<ClauseRef>) -> Self {
        Feedback {
            answer_id,
            up,
            question: log_question(question),
            clauses,
            who: None,
            at: unix_now().as_secs(),
        }
    }
}

/// What the operator logs hold, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Logs {
    /// Unanswered and weakly answered questions.
    pub unanswered: Vec<Unanswered>,
    /// 👍/👎.
    pub feedback: Vec<Feedback>,
}

/// Storage of sessions. Implementations: in-memory (bounded) and Redis (prefix + TTL).
/// Errors never reach the caller: a store that is down behaves as empty (stateless answers)
/// and logs the outage once.
pub trait SessionStore: Send + Sync {
    /// The session for `key`, or a fresh one when absent, expired or the store is unreachable.
    /// Refreshes the TTL on use.
    fn load(&self, key: SessionKey) -> impl std::future::Future<Output = Session> + Send;
    /// Stores `session` for `key` with the configured TTL.
    fn save(
        &self,
        key: SessionKey,
        session: &Session,
    ) -> impl std::future::Future<Output = ()> + Send;
    /// Stores `new` for `key` only when the stored session is still `old` (as [`SessionStore::load`]
    /// returned it; absent counts as the default session): false when another update stored its
    /// change meanwhile. See [`update`]. An unreachable store accepts (there is nothing to lose).
    fn save_if(
        &self,
        key: SessionKey,
        old: &Session,
        new: &Session,
    ) -> impl std::future::Future<Output = bool> + Send;
    /// Forgets the session for `key` (/reset).
    fn reset(&self, key: SessionKey) -> impl std::future::Future<Output = ()> + Send;
}

/// The flood limit: questions per (chat, user) per minute. An unreachable store lets everyone
/// through.
pub trait FloodGate: SessionStore {
    /// Counts one question for `key` in the current window; false when over `limit` per minute.
    fn allow(&self, key: SessionKey, limit: u32) -> impl std::future::Future<Output = bool> + Send;

    /// Counts one question for `key` as [`FloodGate::allow`] does and, when it is allowed, loads
    /// its session as [`SessionStore::load`] does: the start of every question, in one round
    /// trip where the store can. `None` when over `limit` per minute.
    fn admit(
        &self,
        key: SessionKey,
        limit: u32,
    ) -> impl std::future::Future<Output = Option<Session>> + Send {
        async move {
            if self.allow(key, limit).await {
                Some(self.load(key).await)
            } else {
                None
            }
        }
    }
}

/// The operator's logs: 👍/👎 feedback and unanswered questions, each capped and expiring by
/// its [`LogPolicy`]; users appear only as salted hashes.
pub trait OperatorLog: Send + Sync {
    /// Logs a 👍/👎 by (chat, user) `key` (only its salted hash is kept).
    fn record_feedback(
        &self,
        key: SessionKey,
        feedback: Feedback,
    ) -> impl std::future::Future<Output = ()> + Send;
    /// Logs a question the bot could not answer, or answered only with related clauses, asked
    /// by `key` (only its salted hash is kept).
    fn record_unanswered(
        &self,
        key: SessionKey,
        entry: Unanswered,
    ) -> impl std::future::Future<Output = ()> + Send;
    /// Both logs, newest first: the entries since `since` (Unix seconds) and not expired, plus
    /// entries of unknown time (older versions'). Empty when the store is unreachable.
    fn logs(&self, since: u64) -> impl std::future::Future<Output = Logs> + Send;
}

/// Everything the bot needs of its store: sessions, the flood limit and the operator's logs.
pub trait BotStore: SessionStore + FloodGate + OperatorLog + 'static {}

impl<T: SessionStore + FloodGate + OperatorLog + 'static> BotStore for T {}

/// How often [`update`] runs a change again after losing a race, before it stores its last result
/// anyway (a stored session in an older format never compares equal to what it loads as).
pub const UPDATE_ATTEMPTS: usize = 5;

/// Load → `change` → store, as one step per (chat, user): when another update of the same
/// session was stored meanwhile, `change` runs again on that one, so two updates of one user at
/// once (a press and a message, two replicas) never lose each other's change. `loaded`: the
/// session as just loaded (by [`FloodGate::admit`]), used for the first attempt instead of loading
/// it again. Returns the stored session and what `change` produced.
pub async fn update<S, T, F, Fut>(
    store: &S,
    key: SessionKey,
    mut loaded: Option<Session>,
    mut change: F,
) -> (Session, T)
where
    S: SessionStore,
    F: FnMut(Session) -> Fut,
    Fut: std::future::Future<Output = (Session, T)>,
{
    let mut attempt = 1;
    loop {
        let old = match loaded.take() {
            Some(session) => session,
            None => store.load(key).await,
        };
        let (new, out) = change(old.clone()).await;
        if attempt >= UPDATE_ATTEMPTS {
            store.save(key, &new).await;
            return (new, out);
        }
        if store.save_if(key, &old, &new).await {
            return (new, out);
        }
        attempt += 1;
    }
}

/// A store could not be built from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The Redis URL is malformed (the URL itself is not repeated: it may hold a password).
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
}

/// Wall-clock time since the Unix epoch (zero if the clock is before it).
pub(crate) fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// The current flood window: whole minutes since the Unix epoch.
fn flood_window() -> u64 {
    unix_now().as_secs() / 60
}

/// `question` cut to [`LOG_QUESTION_CHARS`] chars for the operator logs.
fn log_question(question: &str) -> String {
    question.chars().take(LOG_QUESTION_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_only_match_the_current_answer_and_kind() {
        let session = Session {
            answer_id: 7,
            followups: vec![
                Followup::More,
                Followup::Region {
                    region: "安阳".into(),
                },
            ],
            ..Session::default()
        };
        let more = FollowupKind::More;
        assert_eq!(session.followup(7, 1, more), Some(&Followup::More));
        assert_eq!(session.followup(7, 0, more), None);
        assert_eq!(session.followup(7, 3, more), None);
        assert_eq!(session.followup(8, 1, more), None);
        assert_eq!(session.followup(7, 2, more), None, "help: kind must match");
        assert!(
            !Session::default().owns(0),
            "help: a fresh session matches no button"
        );
    }

    #[test]
    fn earlier_pages_keep_their_buttons_up_to_a_bound() {
        let full = |n: usize| Followup::FullText {
            rank: n,
            clause_id: format!("c{n}"),
        };
        let mut session = Session {
            answer_id: 1,
            followups: vec![Followup::More, full(1)],
            ..Session::default()
        };
        let kind = FollowupKind::FullText;
        for id in 2..=(EARLIER_PAGES as u64 + 2) {
            session.keep_page();
            session.answer_id = id;
            session.followups = vec![Followup::More, full(id as usize)];
        }
        assert_eq!(session.earlier.len(), EARLIER_PAGES);
        assert_eq!(
            session.followup(7, 2, kind),
            Some(&full(7)),
            "help: current"
        );
        assert_eq!(
            session.followup(2, 2, kind),
            Some(&full(2)),
            "help: earlier"
        );
        assert_eq!(session.followup(1, 2, kind), None, "help: beyond the bound");
        assert!(session.owns(3) && !session.owns(1) && !session.owns(0));
        assert_eq!(session.followup(3, 1, kind), None, "help: kind must match");
        let old: Session = serde_json::from_str(
            r#"{"last_question":null,"region":null,
            "last_region":null,"shown":0,"followups":[],"answer_id":4}"#,
        )
        .expect("help: a session stored before pages were kept");
        assert!(old.earlier.is_empty() && old.owns(4));
    }

    #[test]
    fn log_question_cuts_on_char_boundaries() {
        let long = "政".repeat(LOG_QUESTION_CHARS + 10);
        let cut = log_question(&long);
        assert_eq!(
            cut.chars().count(),
            LOG_QUESTION_CHARS,
            "help: cut counts chars, not bytes"
        );
        assert_eq!(log_question("贷款"), "贷款");
    }
}
