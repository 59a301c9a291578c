//! `App`: knowledge base + intents + session logic. `ask()` and `follow_up()` are shared by the
//! CLI and the bot, so every bot answer can be reproduced offline.

use crate::answer::{Answer, Status};
use crate::session::Session;

/// Per-question options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AskOptions {
    /// Region given explicitly (`--region`), overriding the session's.
    pub region: Option<String>,
    /// Hits per page (default 3 in chat, 5 on the CLI).
    pub k: Option<usize>,
}

/// The full text of one clause, for the 全文 follow-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FullText {
    /// Citation line: title, 文号, issuer, date, section.
    pub citation: String,
    /// Clause text.
    pub text: String,
}

/// What a follow-up produces.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// A new answer (more results, narrowed region, related question).
    Answer(Answer),
    /// The full text of a cited clause (split it for Telegram with the renderer).
    FullText(FullText),
}

/// Knowledge base, intents and session logic, shared by the CLI and the bot.
pub struct App {}

impl App {
    /// Answers `text` in the context of `session`, updating the session (last question, topic,
    /// region, cited clauses, offered follow-ups). Handles short follow-ups such as "那安阳呢",
    /// "申请条件呢", a bare follow-up number, "更多".
    #[must_use]
    pub fn ask(&self, text: &str, session: &mut Session, opts: &AskOptions) -> Answer {
        let _ = (session, opts);
        Answer {
            question: text.to_string(),
            status: Status::NoMatch,
            intent: None,
            region: None,
            lead: String::new(),
            hits: Vec::new(),
            followups: Vec::new(),
        }
    }

    /// Runs follow-up number `n` (1-based) of the last answer in `session`.
    /// `None` when the session has no such follow-up (expired or forged).
    #[must_use]
    pub fn follow_up(&self, n: usize, session: &mut Session) -> Option<Reply> {
        let _ = (n, session);
        None
    }

    /// Full text and citation of a clause by id.
    #[must_use]
    pub fn full_text(&self, clause_id: &str) -> Option<FullText> {
        let _ = clause_id;
        None
    }

    /// Topic intents as (label, example question) pairs, for /topics and /start.
    #[must_use]
    pub fn topics(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}
