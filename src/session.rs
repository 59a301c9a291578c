//! Conversation state per (chat, user): the `Session` value, the `SessionStore` trait, and its
//! in-memory and Redis implementations.

use serde::{Deserialize, Serialize};

use crate::answer::Followup;

/// What the bot remembers about one conversation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The last effective question (after follow-up resolution).
    pub last_question: Option<String>,
    /// The last policy topic (intent name) talked about.
    pub last_topic: Option<String>,
    /// Region set with `/region` (sticky until changed).
    pub region: Option<String>,
    /// Region the last question was narrowed to (by the question itself or a follow-up).
    pub last_region: Option<String>,
    /// Results already shown for the last question (paging offset).
    pub shown: usize,
    /// Clause ids cited by the last answer, by rank order.
    pub cited: Vec<String>,
    /// Follow-ups offered by the last answer, numbered from 1.
    pub followups: Vec<Followup>,
    /// Id of the last answer; button callback data carries it, so a stale or forged button is
    /// recognised (it does not match) and never runs against another answer.
    pub answer_id: u64,
}

/// Whose conversation: sessions are per (chat, user) so two people in one group do not share context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionKey {
    /// Telegram chat id (negative for groups); 0 for the terminal chat.
    pub chat: i64,
    /// Telegram user id; 0 for the terminal chat.
    pub user: u64,
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
    /// Forgets the session for `key` (/reset).
    fn reset(&self, key: SessionKey) -> impl std::future::Future<Output = ()> + Send;
    /// Counts one question for `key` in the current window; false when over `limit` per minute.
    fn allow(&self, key: SessionKey, limit: u32) -> impl std::future::Future<Output = bool> + Send;
}
