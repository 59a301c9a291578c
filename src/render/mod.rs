//! Presenters of an `Answer`: plain text (CLI), JSON (`--json`), Telegram HTML.
pub mod telegram;
