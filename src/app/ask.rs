//! The entry points of a conversation turn: [`App::message`] (what a user types), [`App::press`]
//! (a button, or a follow-up typed by its number or label) and [`App::ask`] (a question), and
//! the search, answer composition and session bookkeeping they share.

use crate::answer::answerability;
use crate::answer::{self, Answer, Followup, Status, Ticket};
use crate::index::{KnowledgeBase, Retrieval, SearchOptions};
use crate::intents::IntentKind;
use crate::session::Session;

use super::documents::{cited_in, full_text_in};
use super::turn::{Turn, Unknown};
use super::{Action, App, AskOptions, Reply, next_answer_id, validate};

/// A follow-up of an answer that is no longer the session's last.
const EXPIRED: &str = "这个选项已过期，请重新提问。";

impl App {
    /// What a user types, in the context of `session`: a follow-up of the last answer typed by
    /// its number or label (`2`, `全文 1`, `更多`) is [`App::press`]ed exactly as its button
    /// would be; anything else is [`App::ask`]ed. A bare number that is no follow-up, and a
    /// 全文 N for a rank the last answer did not cite, are `Invalid`.
    #[must_use]
    pub fn message(&self, text: &str, session: &mut Session, opts: &AskOptions) -> Reply {
        match self.typed(text, session) {
            Some(Ok(action)) => match self.press(session, action) {
                Some(reply) => reply,
                None => Reply::Answer(self.plain(text, Status::Invalid, EXPIRED.to_string())),
            },
            Some(Err(unknown)) => {
                let lead = match unknown {
                    Unknown::Option(n) => format!("没有编号为 {n} 的后续选项，请重新提问。"),
                    Unknown::FullText(n) => {
                        format!("上一个回答没有第 {n} 条条款，请重新提问。")
                    }
                };
                Reply::Answer(self.plain(text, Status::Invalid, lead))
            }
            None => Reply::Answer(self.ask(text, session, opts)),
        }
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
                self.search_and_compose(kb, &question, 0, session, &opts, "")
            }
            Turn::Combine {
                question,
                fallback,
                focus,
            } => {
                let answer = self.search_and_compose(kb, &question, 0, session, opts, &focus);
                match (answer.status, fallback) {
                    (Status::NoMatch, Some(fallback)) => {
                        self.search_and_compose(kb, &fallback, 0, session, opts, &focus)
                    }
                    _ => answer,
                }
            }
            Turn::Fresh(question) => {
                if let Some(m) = self.intents.classify(&question)
                    && m.kind != IntentKind::Topic
                {
                    let answer = answer::compose(&answer::ComposeInput {
                        question: &question,
                        retrieval: &Retrieval::default(),
                        corpus: &kb.corpus,
                        memo: &kb.cites,
                        intents: &self.intents,
                        intent: Some(&m),
                        offset: 0,
                        more: false,
                        today: &self.today,
                        regions: &[],
                        related: false,
                        focus: "",
                    });
                    self.remember(session, &answer, 0, false);
                    return answer;
                }
                self.search_and_compose(kb, &question, 0, session, opts, "")
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
                Reply::Answer(self.search_and_compose(kb, &question, 0, session, &opts, ""))
            }
            Followup::Ask { question, .. } => {
                Reply::Answer(self.search_and_compose(kb, &question, 0, session, &opts, ""))
            }
        })
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
        let answer = self.search_and_compose(kb, &question, offset, session, &opts, "");
        session.earlier = earlier;
        answer
    }

    /// Searches `question` and composes its answer; `focus`: the words a follow-up added (see
    /// [`answer::ComposeInput::focus`]), empty otherwise.
    fn search_and_compose(
        &self,
        kb: &KnowledgeBase,
        question: &str,
        offset: usize,
        session: &mut Session,
        opts: &AskOptions,
        focus: &str,
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
            memo: &kb.cites,
            intents: &self.intents,
            intent: topic.as_ref(),
            offset,
            more: has_more,
            today: &self.today,
            regions: &[],
            related,
            focus,
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
