//! Endpoints of the handler tree. Each takes ids and text, calls the knowledge base with the
//! (chat, user) session, renders and sends. Unanswered questions and 👍/👎 go to the operator
//! log, questions to the metrics (inline queries only to the metrics: Telegram sends one per
//! pause in typing, mostly unfinished). The parts:
//! - `message`: any message (questions, forwards, group `/ask`, @mentions and replies);
//! - `commands`: the slash commands, subscriptions and `/review` for the operators;
//! - `callback`: button presses (a press always gets answerCallbackQuery);
//! - `inline`: inline queries;
//! - `members`: the bot's own membership changes and group migrations;
//! - `reply`: the path every question and press shares: the session update, the reply and
//!   the operator log.

use super::HandlerError;

mod callback;
mod commands;
mod inline;
mod members;
mod message;
mod reply;

pub use callback::on_callback;
pub use inline::on_inline_query;
pub use members::on_my_chat_member;
pub use message::on_message;

type HandlerResult = Result<(), HandlerError>;
