//! Presenters of an `Answer`: plain text (CLI), JSON (`--json`), Telegram HTML.

pub mod json;
pub mod plain;
pub mod telegram;
