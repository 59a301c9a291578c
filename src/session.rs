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
}
