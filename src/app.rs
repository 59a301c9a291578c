//! `App`: knowledge base + intents + session logic. `message()` (what a user types), `press()`
//! (a button, or a follow-up typed by its number or label) and `ask()` are shared by the CLI and
//! the bot, so every bot answer can be reproduced offline.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::answer::answerability::{self, Model};
use crate::answer::{self, Answer, Followup, FollowupKind, FullText, Status, Ticket};
use crate::broadcast::{self, Announcement, FilterError, Filters, Revision};
use crate::config::Config;
use crate::corpus::Corpus;
use crate::error::Error;
use crate::index::{KnowledgeBase, OpenReport, Paths, Retrieval, SearchOptions, store};
use crate::intents::{IntentKind, IntentSet};
use crate::session::{ClauseRef, Session};
use crate::text::chars::truncate;

/// Longest question accepted, in characters.
pub const MAX_QUESTION_CHARS: usize = 500;

/// Words that ask about an aspect of the previous question rather than a new topic
/// ("申请条件呢", "找哪个部门"): a message made only of these continues the last question.
const ASPECT_WORDS: &[&str] = &[
    "申请条件",
    "条件",
    "申报条件",
    "材料",
    "申报材料",
    "申请材料",
    "流程",
    "程序",
    "怎么申请",
    "如何申请",
    "去哪申请",
    "在哪申请",
    "哪里申请",
    "部门",
    "哪个部门",
    "找哪个部门",
    "找谁",
    "谁负责",
    "责任单位",
    "期限",
    "有效期",
    "截止",
    "什么时候",
    "到什么时候",
    "多久",
    "标准",
    "多少",
    "额度",
    "金额",
    "比例",
    "要求",
    "依据",
    "文件",
    "文号",
    "联系方式",
    "电话",
];

/// A message this short (in characters) that names no topic or place continues the last question.
const SHORT_FOLLOW_UP_CHARS: usize = 8;

/// Words around a place name that still only ask "and there?" ("安阳有没有", "济源这边呢").
const REGION_FILLERS: &[&str] = &[
    "有没有",
    "有吗",
    "有没",
    "有啥",
    "支持",
    "政策",
    "这边",
    "那边",
    "这里",
    "当地",
    "的",
    "呢",
    "吗",
    "没",
    "也",
    "那",
    "咋样",
    "怎么样",
    "执行了",
    "落实",
    "咋",
    "怎么",
];

/// A follow-up of an answer that is no longer the session's last.
const EXPIRED: &str = "这个选项已过期，请重新提问。";

/// Messages asking for the next page.
const MORE_WORDS: &[&str] = &[
    "更多",
    "更多结果",
    "下一页",
    "还有吗",
    "还有呢",
    "继续",
    "more",
];

/// Why a message is not a usable question (the text is the Chinese reply).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidQuestion {
    /// Nothing but whitespace.
    #[error("问题为空，请输入您想了解的政策问题，例如“小店房租能减免吗”。")]
    Empty,
    /// Longer than [`MAX_QUESTION_CHARS`].
    #[error("问题太长（{0} 字），请精简到 500 字以内再问。")]
    TooLong(usize),
    /// Control characters other than ordinary whitespace.
    #[error("问题中含有无法识别的控制字符，请只输入文字。")]
    ControlCharacters,
    /// No letter, digit or CJK character at all (emoji only, punctuation only).
    #[error("没有看懂这条消息，请用文字描述您的问题，例如“安阳上市有奖励吗”。")]
    NoText,
}

/// Checks a message and returns it trimmed, or why it cannot be answered.
///
/// # Errors
/// See [`InvalidQuestion`].
pub fn validate(text: &str) -> Result<&str, InvalidQuestion> {
    let t = text.trim();
    if t.is_empty() {
        return Err(InvalidQuestion::Empty);
    }
    let n = t.chars().count();
    if n > MAX_QUESTION_CHARS {
        return Err(InvalidQuestion::TooLong(n));
    }
    if t.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        return Err(InvalidQuestion::ControlCharacters);
    }
    if !t.chars().any(char::is_alphanumeric) {
        return Err(InvalidQuestion::NoText);
    }
    Ok(t)
}

/// Words that clear the sticky region (`/region 清除`).
pub const CLEAR_REGION_WORDS: [&str; 4] = ["清除", "全部", "不限", "取消"];

/// Longest region name echoed back in [`UnknownRegion`], in characters.
const MAX_REGION_ECHO: usize = 20;

/// A region name that is not in the place table (`data/lexicon/places.tsv`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("未知地区“{}”，可选：{}", visible(&truncate(.name, MAX_REGION_ECHO)), .known.join("、"))]
pub struct UnknownRegion {
    /// The name as given.
    pub name: String,
    /// One name per known region, e.g. `全国`, `河南`, `安阳`.
    pub known: Vec<String>,
}

/// `text` with control characters shown as `\u{…}` escapes, for echoing user input.
#[must_use]
pub fn visible(text: &str) -> String {
    text.chars()
        .map(|c| match c.is_control() {
            true => c.escape_unicode().to_string(),
            false => c.to_string(),
        })
        .collect()
}

/// Per-question options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AskOptions {
    /// Region path given explicitly (`--region`, see [`App::region`]), overriding the session's.
    pub region: Option<String>,
    /// Hits per page (default: the configured page size).
    pub k: Option<usize>,
    /// `region` was switched to after an answer: its own documents first (see [`SearchOptions`]).
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

/// How a message relates to the conversation so far.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Turn {
    /// A question that stands on its own.
    Fresh(String),
    /// The last question again, for another region ("那安阳呢").
    Narrow { question: String, region: String },
    /// The last question plus an aspect ("申请条件呢").
    Combine(String),
    /// Next page.
    More,
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
        let intents = IntentSet::load(&cfg.intents_dir)?;
        let paths = Paths {
            data_dir: cfg.data_dir.clone(),
            index_dir: cfg.index_dir.clone(),
        };
        let (kb, report) = KnowledgeBase::open(&paths, force_rebuild, progress, waiting)?;
        let mut app = App::new(kb, intents, cfg.page_size, today());
        let model = cfg.data_dir.join(answerability::MODEL_FILE);
        if model.is_file() {
            app.model = Model::load(&model)?;
        }
        app.paths = Some(paths);
        Ok((app, report))
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

    /// What a user types, in the context of `session`: a follow-up of the last answer typed by
    /// its number or label (`2`, `全文 1`, `更多`) is [`App::press`]ed exactly as its button
    /// would be; anything else is [`App::ask`]ed. A bare number that is no follow-up is
    /// `Invalid`.
    #[must_use]
    pub fn message(&self, text: &str, session: &mut Session, opts: &AskOptions) -> Reply {
        match self.typed(text, session) {
            Some(Ok(action)) => match self.press(session, action) {
                Some(reply) => reply,
                None => Reply::Answer(self.plain(text, Status::Invalid, EXPIRED.to_string())),
            },
            Some(Err(n)) => {
                let lead = format!("没有编号为 {n} 的后续选项，请重新提问。");
                Reply::Answer(self.plain(text, Status::Invalid, lead))
            }
            None => Reply::Answer(self.ask(text, session, opts)),
        }
    }

    /// The follow-up of the session's last answer that `text` names by number or label;
    /// `Err(n)` for a bare number that is none; `None` when `text` is no follow-up.
    fn typed(&self, text: &str, session: &Session) -> Option<Result<Action, usize>> {
        let t: String = text
            .trim()
            .trim_end_matches(['？', '?', '。', '！', '!'])
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let at = |i: usize| {
            let kind = session.followups[i].kind();
            let (answer_id, n) = (session.answer_id, i + 1);
            Action::Followup { answer_id, n, kind }
        };
        if !t.is_empty() && t.len() <= 3 && t.bytes().all(|b| b.is_ascii_digit()) {
            let n: usize = t.parse().ok()?;
            return Some(match (1..=session.followups.len()).contains(&n) {
                true => Ok(at(n - 1)),
                false => Err(n),
            });
        }
        let names = |f: &Followup| -> bool {
            let label: String = f.label().chars().filter(|c| !c.is_whitespace()).collect();
            label == t
                || match f {
                    Followup::More => MORE_WORDS.contains(&t.as_str()),
                    Followup::Ask { question, .. } => *question == t,
                    _ => false,
                }
        };
        session.followups.iter().position(names).map(|i| Ok(at(i)))
    }

    /// Runs what a button press, or a follow-up typed by number or label, asks: follow-up `n` of
    /// the session's last answer (or of an earlier page of its question, see
    /// [`Session::keep_page`]), that answer as a ticket, or a 👍/👎 on it. `None` when the action
    /// belongs to neither (stale, forged, another user's) or the follow-up is not of the kind the
    /// button showed.
    #[must_use]
    pub fn press(&self, session: &mut Session, action: Action) -> Option<Reply> {
        match action {
            Action::Rate { answer_id, useful } => Some(Reply::Rated {
                answer_id,
                useful,
                question: session.last_question.clone().unwrap_or_default(),
                clauses: cited_in(&self.kb(), session.followups_of(answer_id)?),
            }),
            Action::Ticket { answer_id } => Some(Reply::Ticket(Ticket {
                question: session.last_question.clone().unwrap_or_default(),
                clauses: self.cited_clauses(session.followups_of(answer_id)?),
            })),
            Action::Followup { answer_id, n, kind } => {
                let followup = session.followup(answer_id, n, kind)?.clone();
                self.follow_up(&self.kb(), followup, session)
            }
        }
    }

    /// The clauses an answer cited (its 全文 follow-ups), in full, as it cited them.
    fn cited_clauses(&self, followups: &[Followup]) -> Vec<answer::Cited> {
        let kb = self.kb();
        let corpus = &kb.corpus;
        followups
            .iter()
            .filter_map(|f| match f {
                Followup::FullText { rank, clause_id } => {
                    let at = corpus.clauses.iter().position(|c| c.id == *clause_id)?;
                    answer::cite_clause(corpus, at, *rank, &self.today)
                }
                _ => None,
            })
            .collect()
    }

    /// Answers `text` as a question in the context of `session`, updating the session (last
    /// question, region, offered follow-ups). Handles short follow-ups such as "那安阳呢",
    /// "申请条件呢", "更多". Invalid input gets an `Invalid` answer whose lead explains the
    /// problem.
    #[must_use]
    pub fn ask(&self, text: &str, session: &mut Session, opts: &AskOptions) -> Answer {
        let text = match validate(text) {
            Ok(t) => t,
            Err(e) => return self.plain(text, Status::Invalid, e.to_string()),
        };
        let kb = self.kb();
        let kb = kb.as_ref();
        match self.turn(kb, text, session) {
            Turn::More => self.more(kb, session, opts),
            Turn::Narrow { question, region } => {
                let opts = AskOptions {
                    region: Some(region),
                    k: opts.k,
                    own_region: true,
                };
                self.search_and_compose(kb, &question, 0, session, &opts)
            }
            Turn::Combine(question) => self.search_and_compose(kb, &question, 0, session, opts),
            Turn::Fresh(question) => {
                if let Some(m) = self.intents.classify(&question)
                    && m.kind != IntentKind::Topic
                {
                    let answer = answer::compose(&answer::ComposeInput {
                        question: &question,
                        retrieval: &Retrieval::default(),
                        corpus: &kb.corpus,
                        intents: &self.intents,
                        intent: Some(&m),
                        offset: 0,
                        more: false,
                        today: &self.today,
                        regions: &[],
                        related: false,
                    });
                    self.remember(session, &answer, 0, false);
                    return answer;
                }
                self.search_and_compose(kb, &question, 0, session, opts)
            }
        }
    }

    fn follow_up(
        &self,
        kb: &KnowledgeBase,
        followup: Followup,
        session: &mut Session,
    ) -> Option<Reply> {
        let opts = AskOptions::default();
        Some(match followup {
            Followup::More => Reply::Answer(self.more(kb, session, &opts)),
            Followup::FullText { clause_id, .. } => Reply::FullText(full_text_in(kb, &clause_id)?),
            Followup::Region { region } => {
                let question = session.last_question.clone()?;
                let opts = AskOptions {
                    region: Some(region),
                    k: None,
                    own_region: true,
                };
                Reply::Answer(self.search_and_compose(kb, &question, 0, session, &opts))
            }
            Followup::Ask { question, .. } => {
                Reply::Answer(self.search_and_compose(kb, &question, 0, session, &opts))
            }
        })
    }

    /// The announcement of document `doc_id` (title, 文号, issuer, date, region, key measures).
    #[must_use]
    pub fn announcement(&self, doc_id: &str) -> Option<Announcement> {
        let kb = self.kb();
        let doc = document_index(&kb, doc_id)?;
        Announcement::of(&kb.corpus, doc, &self.intents)
    }

    /// The 修订 announcement of the document numbered `doc_number` (文号) as revised since `old`
    /// (the corpus before an ingest): its announcement with the clauses added and removed
    /// instead of its measures. `None` when it is not in both, or no clause was added or removed.
    #[must_use]
    pub fn revision(&self, old: &Corpus, doc_number: &str) -> Option<Announcement> {
        let kb = self.kb();
        let find = |c: &Corpus| {
            c.documents
                .iter()
                .position(|d| d.doc_number.as_deref() == Some(doc_number))
        };
        let (before, after) = (find(old)?, find(&kb.corpus)?);
        let revision = Revision::between(old, before, &kb.corpus, after)?;
        let mut a = Announcement::of(&kb.corpus, after, &self.intents)?;
        a.revision = Some(revision);
        Some(a)
    }

    /// The key points of document `doc_id` (the 要点 button of an announcement), one per line.
    #[must_use]
    pub fn document_points(&self, doc_id: &str) -> Option<FullText> {
        let kb = self.kb();
        let doc = document_index(&kb, doc_id)?;
        let points = broadcast::key_points(&kb.corpus, doc);
        let text = match points.is_empty() {
            true => "（这份文件没有分条列出的措施，请查看全文。）".to_string(),
            false => points
                .iter()
                .enumerate()
                .map(|(i, p)| format!("{}. {p}", i + 1))
                .collect::<Vec<_>>()
                .join("\n"),
        };
        Some(FullText {
            citation: format!("{} · 要点", citation(&kb.corpus.documents[doc])),
            text,
        })
    }

    /// The whole text of document `doc_id` (the 全文 button of an announcement).
    #[must_use]
    pub fn document_text(&self, doc_id: &str) -> Option<FullText> {
        let kb = self.kb();
        let doc = document_index(&kb, doc_id)?;
        let text = kb
            .corpus
            .clauses
            .iter()
            .filter(|c| c.doc == doc)
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>()
            .join("\n\n");
        Some(FullText {
            citation: citation(&kb.corpus.documents[doc]),
            text,
        })
    }

    /// The region path of a region name (`安阳`, `河南省/安阳市`), from the place table shared with
    /// the parser and retrieval.
    ///
    /// # Errors
    /// The name is not a known place; the error lists the known ones.
    pub fn region(&self, name: &str) -> Result<String, UnknownRegion> {
        let kb = self.kb();
        match kb.places.resolve(name) {
            Some(path) => Ok(path.to_string()),
            None => Err(UnknownRegion {
                name: name.trim().to_string(),
                known: kb.places.known().into_iter().map(str::to_string).collect(),
            }),
        }
    }

    /// `/region`: sets the session's sticky region to a known place, or clears it (an empty name
    /// or one of [`CLEAR_REGION_WORDS`]). Returns the region path set (`None`: cleared).
    ///
    /// # Errors
    /// The name is not a known place (the session is unchanged).
    pub fn set_region(
        &self,
        session: &mut Session,
        name: &str,
    ) -> Result<Option<String>, UnknownRegion> {
        let name = name.trim();
        if name.is_empty() || CLEAR_REGION_WORDS.contains(&name) {
            session.region = None;
            return Ok(None);
        }
        let path = self.region(name)?;
        session.region = Some(path.clone());
        Ok(Some(path))
    }

    /// Parses `/subscribe` arguments into filters (places known to the knowledge base).
    ///
    /// # Errors
    /// Too many words, or a word that is neither a place nor a plausible keyword.
    pub fn filters(&self, args: &str) -> Result<Filters, FilterError> {
        Filters::parse(args, &self.kb().places)
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

    fn turn(&self, kb: &KnowledgeBase, text: &str, session: &Session) -> Turn {
        let t = text.trim_end_matches(['？', '?', '。', '！', '!', ' ']);
        let Some(last) = session.last_question.clone() else {
            return Turn::Fresh(text.to_string());
        };
        if MORE_WORDS.contains(&t) {
            return Turn::More;
        }
        let continues = t.starts_with('那') || t.ends_with('呢');
        let core = t
            .trim_start_matches("那么")
            .trim_start_matches('那')
            .trim_end_matches('呢')
            .trim_end_matches("的")
            .trim_end_matches("这边")
            .trim_end_matches("那边")
            .trim_start_matches('在')
            .trim();
        if core.chars().count() <= 8
            && let Some(region) = kb.places.resolve(core)
        {
            return Turn::Narrow {
                question: last,
                region: region.to_string(),
            };
        }
        // "安阳有没有", "济源这边呢", "新乡有支持政策没": a place and nothing but filler.
        if t.chars().count() <= 12
            && let Some((alias, region)) = kb.places.detect(core)
        {
            let mut rest = core.replace(alias, "");
            for w in REGION_FILLERS {
                rest = rest.replace(w, "");
            }
            if rest.chars().filter(|c| !c.is_ascii_punctuation()).count() <= 1 {
                return Turn::Narrow {
                    question: last,
                    region: region.to_string(),
                };
            }
        }
        let only_aspects = !core.is_empty() && {
            let mut rest = core.to_string();
            for w in ASPECT_WORDS.iter().rev() {
                rest = rest.replace(w, "");
            }
            rest.chars()
                .filter(|c| !"吗呢的是有要和及或需怎么样么啥什".contains(*c))
                .count()
                <= 1
        };
        // A short message that names no policy topic of its own ("咋申报", "最多补多少",
        // "哪个科室管") asks about the last question.
        let short_aspect = t.chars().count() <= SHORT_FOLLOW_UP_CHARS
            && self.intents.best_topic(core).is_none()
            && kb.places.detect(core).is_none();
        if (continues && t.chars().count() <= 12) || only_aspects || short_aspect {
            return Turn::Combine(format!(
                "{} {core}",
                crate::index::facts::without_question_words(
                    &last,
                    &kb.segmenter,
                    &kb.lexicon.answer_types,
                )
            ));
        }
        Turn::Fresh(text.to_string())
    }

    fn more(&self, kb: &KnowledgeBase, session: &mut Session, opts: &AskOptions) -> Answer {
        let Some(question) = session.last_question.clone() else {
            return Answer {
                continued: true,
                ..self.plain("更多", Status::NoMatch, "请先提一个问题。".to_string())
            };
        };
        let opts = AskOptions {
            region: session.last_region.clone().or(opts.region.clone()),
            k: opts.k,
            own_region: session.own_region,
        };
        let offset = session.shown;
        // The answer shown so far stays valid: its 全文 N and other buttons still work.
        session.keep_page();
        let earlier = std::mem::take(&mut session.earlier);
        let answer = self.search_and_compose(kb, &question, offset, session, &opts);
        session.earlier = earlier;
        answer
    }

    fn search_and_compose(
        &self,
        kb: &KnowledgeBase,
        question: &str,
        offset: usize,
        session: &mut Session,
        opts: &AskOptions,
    ) -> Answer {
        let k = opts.k.unwrap_or(self.page_size).max(1);
        let named = kb.places.detect(question).is_some();
        let region = opts
            .region
            .clone()
            .or_else(|| (!named).then(|| session.region.clone()).flatten());
        let search = SearchOptions {
            k: k + 1,
            offset,
            region,
            own_region: opts.own_region,
        };
        let mut retrieval: Retrieval = kb.search(question, &search);
        let has_more = retrieval.hits.len() > k;
        retrieval.hits.truncate(k);
        let topic = self.intents.best_topic(question);
        let related = !retrieval.declined
            && !retrieval.hits.is_empty()
            && !self
                .model
                .answers(&self.features(question, &retrieval, topic.is_some()));
        let answer = answer::compose(&answer::ComposeInput {
            question,
            retrieval: &retrieval,
            corpus: &kb.corpus,
            intents: &self.intents,
            intent: topic.as_ref(),
            offset,
            more: has_more,
            today: &self.today,
            regions: &[],
            related,
        });
        let answer = Answer {
            continued: offset > 0,
            ..answer
        };
        self.remember(session, &answer, offset, opts.own_region);
        answer
    }

    /// Answerability features of `question` given its retrieval (see [`answerability`]).
    fn features(&self, question: &str, retrieval: &Retrieval, topic: bool) -> [f64; 7] {
        let best = &retrieval.signals.best_text;
        let out_of_scope = self
            .intents
            .out_of_scope_words(question)
            .iter()
            .any(|w| !best.contains(w));
        answerability::features(&retrieval.signals, out_of_scope, topic)
    }

    /// Answerability features of a fresh question (for `policybot calibrate`); `None` when the
    /// question is invalid, conversational or declined outright.
    #[must_use]
    pub fn answerability_features(&self, question: &str) -> Option<[f64; 7]> {
        let question = validate(question).ok()?;
        if self
            .intents
            .classify(question)
            .is_some_and(|m| m.kind.is_conversational())
        {
            return None;
        }
        let kb = self.kb();
        let retrieval = kb.search(question, &SearchOptions::default());
        if retrieval.declined || retrieval.hits.is_empty() {
            return None;
        }
        let topic = self.intents.best_topic(question).is_some();
        Some(self.features(question, &retrieval, topic))
    }

    fn remember(&self, session: &mut Session, answer: &Answer, offset: usize, own_region: bool) {
        if matches!(
            answer.status,
            Status::Answered | Status::Related | Status::NoMatch
        ) {
            session.last_question = Some(answer.question.clone());
            session.last_region.clone_from(&answer.region);
            session.own_region = own_region;
            session.shown = offset + answer.hits.len();
        }
        session.followups.clone_from(&answer.followups);
        session.answer_id = next_answer_id();
        session.earlier.clear();
    }

    fn plain(&self, question: &str, status: Status, lead: String) -> Answer {
        Answer {
            question: question.to_string(),
            status,
            intent: None,
            region: None,
            lead,
            hits: Vec::new(),
            followups: Vec::new(),
            continued: false,
        }
    }
}

/// Full text and citation of a clause of `kb` by id.
fn full_text_in(kb: &KnowledgeBase, clause_id: &str) -> Option<FullText> {
    let corpus = &kb.corpus;
    let clause = corpus.clauses.iter().find(|c| c.id == clause_id)?;
    let doc = &corpus.documents[clause.doc];
    let mut citation = citation(doc);
    if !clause.path.is_empty() {
        citation.push('\n');
        citation.push_str(&clause.path.join(" › "));
    }
    Some(FullText {
        citation,
        text: clause.text.clone(),
    })
}

/// The clauses an answer cited (its 全文 follow-ups), with their documents' titles.
fn cited_in(kb: &KnowledgeBase, followups: &[Followup]) -> Vec<ClauseRef> {
    let corpus = &kb.corpus;
    followups
        .iter()
        .filter_map(|f| match f {
            Followup::FullText { clause_id, .. } => {
                let clause = corpus.clauses.iter().find(|c| c.id == *clause_id)?;
                Some(ClauseRef {
                    id: clause_id.clone(),
                    title: corpus.documents[clause.doc].title.clone(),
                })
            }
            _ => None,
        })
        .collect()
}

/// Position of document `doc_id` in the corpus.
fn document_index(kb: &KnowledgeBase, doc_id: &str) -> Option<usize> {
    kb.corpus.documents.iter().position(|d| d.id == doc_id)
}

/// `《title》（文号） · issuer · date`.
fn citation(doc: &crate::corpus::Document) -> String {
    let mut citation = format!("《{}》", doc.title);
    if let Some(n) = &doc.doc_number {
        citation.push_str(&format!("（{n}）"));
    }
    for part in [doc.issuer.as_deref(), doc.date.as_deref()]
        .into_iter()
        .flatten()
    {
        citation.push_str(" · ");
        citation.push_str(part);
    }
    citation
}

/// Today's date (local time) as `YYYY-MM-DD`.
#[must_use]
pub fn today() -> String {
    chrono::Local::now().format("%Y-%m-%d").to_string()
}
