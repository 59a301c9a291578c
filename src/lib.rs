//! policybot — 惠企政策问答机器人: answers small-business owners' questions about government
//! support policies with cited clauses from a policy compendium.
//!
//! Reading order:
//! - [`corpus`]: compendium texts → documents and cited clauses (parsing, repair, de-duplication);
//!   the documents' vocabulary beyond the parser's grammar (`corpus_words.tsv`).
//! - [`places`]: the one table of places (`places.tsv`): regions of questions and documents.
//! - [`text`]: normalisation, jieba segmentation, tantivy analyzers, the lexicon (synonyms, stop
//!   words, answer-type words, clause facts: time-limit words and amount units), typo repair by
//!   sound, numbers as typed, the A-not-A form.
//! - [`index`]: tantivy schema, build, open (with integrity checks and repair) and retrieval with
//!   region awareness (its tunable numbers in `rank`); the build lock.
//! - [`intents`]: intent definitions as data (`intents::load`) and `classify()`, and the
//!   conversation's words (`intents::words`: follow-up aspects, 更多, fillers, `/region` clear
//!   words).
//! - [`answer`]: composes cited answers and follow-ups (pure).
//! - [`render`]: plain, JSON and Telegram HTML presenters (`render::telegram`: answers,
//!   keyboards, inline results, announcements, full texts split into messages).
//! - [`session`]: conversation state and its stores.
//! - [`telegram`]: the bot: handler tree (`handlers`: messages, commands, button presses, inline
//!   queries, membership changes, the shared reply path), the callback-data protocol, long polling
//!   (own getUpdates listener, short backoff), sending (per-chat pacing, retries, replies in
//!   doubt), crash recovery of accepted updates (Redis inbox, also in webhook mode), `run` and
//!   its settings (`telegram::config`).
//! - [`app`]: `App::message`, `App::press`, `App::ask`, shared by CLI and bot (`app::turn`: how a
//!   typed message is read against the session; `validate`, `region`, `documents`).
//! - [`ingest`]: `policybot ingest`: new policy files into the data directory and the live index.
//! - [`broadcast`]: announcements of added and revised policies, the measures they show,
//!   subscription filters; `broadcast::store`: subscriptions, the Redis queue and deliveries.
//! - [`review`]: the operator's review of the unanswered and 👎 questions in the logs.
//! - [`metrics`]: the Prometheus metrics served at `/metrics`.
//! - [`stages`]: the per-thread stage clock of the answer path, read by `policybot bench`.
//! - [`digest`]: SHA-256 as hex, the one encoder of ids, pseudonyms and checksums.
//! - [`config`], [`cli`], [`eval`]: the command line (`cli::bench`: the speed report).

pub mod answer;
pub mod app;
pub mod broadcast;
pub mod cli;
pub mod config;
pub mod corpus;
pub mod digest;
pub mod error;
pub mod eval;
pub mod index;
pub mod ingest;
pub mod intents;
pub mod metrics;
pub mod places;
pub mod render;
pub mod review;
pub mod session;
pub mod stages;
pub mod telegram;
pub mod text;

pub use error::Error;
