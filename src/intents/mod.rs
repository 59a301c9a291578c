//! Intent definitions loaded from `intents/*.toml` and a pure `classify()`.

use serde::{Deserialize, Serialize};

/// What an intent does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentKind {
    /// Greeting: answered with a canned reply, no retrieval.
    Greeting,
    /// Help: answered with usage help.
    Help,
    /// Thanks: a short acknowledgement.
    Thanks,
    /// Asks for a human: contact lines from the compendium.
    Human,
    /// A policy topic: retrieval runs; the topic adds related follow-up questions.
    Topic,
}
