//! `App`: knowledge base + intents + session logic, shared by the CLI and the bot, so every bot
//! answer can be reproduced offline. This file owns the `App` itself (opening, assembling and
//! reloading the knowledge base) and the types of its entry points; [`App::message`],
//! [`App::press`] and [`App::ask`] live in `ask`, how a typed message is read against the
//! session in `turn`, input checks in `validate`, the sticky region in `region`, and documents
//! and clauses shown outside an answer in `documents`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::answer::answerability::{self, Model};
use crate::answer::{Answer, FollowupKind, FullText, Ticket};
use crate::config::Config;
use crate::error::Error;
use crate::index::{KnowledgeBase, OpenReport, Paths, store};
use crate::intents::IntentSet;
use crate::session::ClauseRef;
use crate::text::segment::Segmenter;

mod ask;
mod documents;
mod region;
mod turn;
mod validate;

pub use region::UnknownRegion;
pub use validate::{InvalidQuestion, MAX_QUESTION_CHARS, validate, visible};

/// Per-question options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AskOptions {
    /// Region path given explicitly (`--region`, see [`App::region`]), overriding the session's.
    pub region: Option<String>,
    /// Hits per page (default: the configured page size).
    pub k: Option<usize>,
    /// `region` was switched to after an answer: its own documents first (see
    /// [`crate::index::SearchOptions`]).
    pub own_region: bool,
}

/// What a button, or a follow-up typed by its number or label, asks of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Follow-up `n` (1-based) of answer `answer_id`, of the kind its button showed.
    Followup {
        /// Answer the follow-up belongs to.
        answer_id: u64,
        /// 1-based follow-up number.
        n: usize,
        /// What the button promised.
        kind: FollowupKind,
    },
    /// Answer `answer_id` laid out for a helpline ticket (📋 工单格式).
    Ticket {
        /// Answer wanted.
        answer_id: u64,
    },
    /// 👍 (`useful`) or 👎 on answer `answer_id`.
    Rate {
        /// Answer rated.
        answer_id: u64,
        /// 👍 when true.
        useful: bool,
    },
}

impl Action {
    /// Whether it runs a search (counted by the flood limit): more results, another region, a
    /// related question.
    #[must_use]
    pub fn searches(self) -> bool {
        matches!(
            self,
            Action::Followup {
                kind: FollowupKind::More | FollowupKind::Region | FollowupKind::Ask,
                ..
            }
        )
    }
}

/// What a message or an action produces.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// An answer (a question, more results, narrowed region, related question).
    Answer(Answer),
    /// The full text of a cited clause (split it for Telegram with the renderer).
    FullText(FullText),
    /// The last answer for a helpline ticket (lay it out with `render::plain::ticket`).
    Ticket(Ticket),
    /// A 👍/👎 on the answer to `question`, for the operator's feedback log.
    Rated {
        /// Answer rated.
        answer_id: u64,
        /// 👍 when true.
        useful: bool,
        /// The question that answer answered.
        question: String,
        /// The clauses that answer cited (its page shown last).
        clauses: Vec<ClauseRef>,
    },
}

/// Knowledge base, intents and session logic, shared by the CLI and the bot.
///
/// The knowledge base can be swapped while questions are answered ([`App::reload`]): each
/// question takes its own `Arc` of the knowledge base current when it starts and keeps it to the end.
pub struct App {
    kb: RwLock<Arc<KnowledgeBase>>,
    /// Where the knowledge base was opened from (`None` when assembled by [`App::new`]).
    paths: Option<Paths>,
    intents: IntentSet,
    /// Decides answered vs related for the clauses found.
    model: Model,
    page_size: usize,
    today: String,
}

static ANSWER_IDS: AtomicU64 = AtomicU64::new(0);

fn next_answer_id() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    // Unique within the process, unpredictable enough across restarts for stale-button checks.
    (nanos ^ (u64::from(std::process::id()) << 32))
        .wrapping_add(ANSWER_IDS.fetch_add(1, Ordering::Relaxed))
}

impl App {
    /// Opens (building when stale) the knowledge base and loads the intents; `waiting` is called
    /// once if it has to wait for another process's build lock (see [`KnowledgeBase::open`]).
    ///
    /// # Errors
    /// Missing data, a broken intents file (file and line), or an index failure.
    pub fn load(
        cfg: &Config,
        force_rebuild: bool,
        progress: &mut dyn FnMut(usize, usize),
        waiting: &mut dyn FnMut(),
    ) -> Result<(App, OpenReport), Error> {
        std::thread::scope(|scope| {
            // jieba's dictionary, the slowest part of a start, begins loading now: the intents,
            // the date and the index checks all happen meanwhile, and the open below takes the
            // segmenter from `Segmenter::load`'s cache (waiting there while it loads). Its error,
            // if any, is the open's own load's to report.
            let lexicon_dir = cfg.data_dir.join("lexicon");
            scope.spawn(move || Segmenter::load(&lexicon_dir).map(drop));
            let intents = IntentSet::load(&cfg.intents_dir)?;
            let paths = Paths {
                data_dir: cfg.data_dir.clone(),
                index_dir: cfg.index_dir.clone(),
            };
            // The local time zone is looked up on first use: before the open, while jieba loads.
            let today = today();
            let (kb, report) = KnowledgeBase::open(&paths, force_rebuild, progress, waiting)?;
            let mut app = App::new(kb, intents, cfg.page_size, today);
            let model = cfg.data_dir.join(answerability::MODEL_FILE);
            if model.is_file() {
                app.model = Model::load(&model)?;
            }
            app.paths = Some(paths);
            Ok((app, report))
        })
    }

    /// Assembles an app from its parts; `today` is `YYYY-MM-DD` (for validity notes).
    #[must_use]
    pub fn new(kb: KnowledgeBase, intents: IntentSet, page_size: usize, today: String) -> App {
        App {
            kb: RwLock::new(Arc::new(kb)),
            paths: None,
            intents,
            model: Model::default(),
            page_size: page_size.max(1),
            today,
        }
    }

    /// The knowledge base current now (a later [`App::reload`] does not affect this handle).
    #[must_use]
    pub fn kb(&self) -> Arc<KnowledgeBase> {
        // A poisoned lock still holds a complete `Arc`: the swap is a single assignment.
        Arc::clone(
            &self
                .kb
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Re-opens the knowledge base when the index's live generation (`CURRENT`) is no longer the
    /// one this app answers from, and swaps it in; questions already running finish on the old
    /// one. Never builds an index: a live generation whose fingerprint does not match the data is
    /// left alone until `policybot index` or `ingest` has built it. Returns whether it swapped.
    /// An app assembled by [`App::new`] (no paths) never reloads.
    ///
    /// # Errors
    /// The new generation cannot be read (the current knowledge base stays in use).
    pub fn reload(&self) -> Result<bool, Error> {
        let Some(paths) = &self.paths else {
            return Ok(false);
        };
        let Some(live) = store::current(&paths.index_dir) else {
            return Ok(false);
        };
        if live == self.kb().generation() {
            return Ok(false);
        }
        let manifest = store::manifest(&live)?;
        let fingerprint =
            store::fingerprint(&paths.data_dir, crate::index::schema::SCHEMA_VERSION)?;
        if manifest.fingerprint != fingerprint {
            // Data changed after this generation was built (an ingest still under way).
            return Ok(false);
        }
        let (kb, report) = KnowledgeBase::open(paths, false, &mut |_, _| {}, &mut || {})?;
        match (&report.damage, report.built) {
            (Some(damage), _) => tracing::warn!("reload rebuilt the damaged new index: {damage}"),
            (None, true) => {
                tracing::warn!("reload rebuilt the index: data changed during the reload")
            }
            (None, false) => {}
        }
        *self
            .kb
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(kb);
        Ok(true)
    }

    /// The intents.
    #[must_use]
    pub fn intents(&self) -> &IntentSet {
        &self.intents
    }

    /// Topic intents as (label, example question) pairs, for /topics and /start.
    #[must_use]
    pub fn topics(&self) -> Vec<(String, String)> {
        self.intents
            .topics()
            .into_iter()
            .filter_map(|i| Some((i.label.clone(), i.example.clone()?)))
            .collect()
    }
}

/// Today's date (local time) as `YYYY-MM-DD`.
#[must_use]
pub fn today() -> String {
    chrono::Local::now().format("%Y-%m-%d").to_string()
}
