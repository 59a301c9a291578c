//! Answer composition: retrieval result + corpus + intent → `Answer` with cited hits, excerpts,
//! validity notes and follow-ups. Sync and pure: no teloxide, tantivy or redis types.

pub mod answerability;
mod compose;
pub mod excerpt;
mod memo;
pub mod validity;

use serde::{Deserialize, Serialize};

use crate::corpus::{Department, Level, SourceRef};

pub use compose::{ComposeInput, MAX_FOLLOWUPS, cite_clause, compose, short_region};
pub use memo::ClauseMemo;

/// How the question was handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Cited clauses were found.
    Answered,
    /// Only weakly matching clauses: cited under a hedge ("没有找到直接规定，以下条款可能相关").
    Related,
    /// Nothing relevant: no citation, topics suggested.
    NoMatch,
    /// A conversational intent (greeting, help, thanks, human hand-off) answered without retrieval.
    Intent,
    /// Not a usable question (empty, too long, control characters, no text at all): nothing was
    /// searched, the lead says why. Not an unanswered question for the operator.
    Invalid,
}

impl Status {
    /// A real question the bot could not answer well (no match, or only related clauses): what
    /// the operator's unanswered log collects.
    #[must_use]
    pub fn is_unanswered(self) -> bool {
        matches!(self, Status::NoMatch | Status::Related)
    }
}

/// A piece of an excerpt; `hit` pieces contain a matched question term.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// Text of the piece.
    pub text: String,
    /// True when the piece is a matched term (rendered bold).
    pub hit: bool,
}

/// One cited clause of an answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cited {
    /// 1-based rank within the whole result list (paging included).
    pub rank: usize,
    /// Ranking score.
    pub score: f32,
    /// Stable clause id.
    pub clause_id: String,
    /// Document title.
    pub doc_title: String,
    /// 文号.
    pub doc_number: Option<String>,
    /// Issuing body.
    pub issuer: Option<String>,
    /// ISO date of the document.
    pub date: Option<String>,
    /// Administrative level.
    pub level: Level,
    /// Region path, e.g. `河南省/安阳市`.
    pub region: String,
    /// Heading path joined with ` › `.
    pub section: String,
    /// Full clause text.
    pub text: String,
    /// Excerpt of at most ~150 characters around the best-matching sentences.
    pub excerpt: Vec<Span>,
    /// Responsible units named by the clause.
    pub departments: Vec<Department>,
    /// Every compendium copy: file and line.
    pub sources: Vec<SourceRef>,
    /// Validity / draft note (Chinese), e.g. `政策发布于2022年，部分措施可能已到期，请以最新规定为准`.
    pub validity: Option<String>,
}

/// A follow-up the user can pick next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Followup {
    /// Next page of results for the same question.
    More,
    /// Full text of cited clause `rank`.
    FullText {
        /// 1-based rank of the cited clause.
        rank: usize,
        /// Its clause id.
        clause_id: String,
    },
    /// Re-ask the same question narrowed to a region.
    Region {
        /// Region name as shown, e.g. `安阳`.
        region: String,
    },
    /// A related question from an intent topic.
    Ask {
        /// Short label.
        label: String,
        /// Question to ask.
        question: String,
    },
}

/// What a follow-up does, without its data: what a button promises (its callback data carries
/// it), checked against the follow-up the session holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowupKind {
    /// [`Followup::More`].
    More,
    /// [`Followup::FullText`].
    FullText,
    /// [`Followup::Region`].
    Region,
    /// [`Followup::Ask`].
    Ask,
}

/// The label of the 全文 follow-up before its rank (`全文 2`).
pub const FULL_TEXT_LABEL: &str = "全文";

impl Followup {
    /// Its kind.
    #[must_use]
    pub fn kind(&self) -> FollowupKind {
        match self {
            Followup::More => FollowupKind::More,
            Followup::FullText { .. } => FollowupKind::FullText,
            Followup::Region { .. } => FollowupKind::Region,
            Followup::Ask { .. } => FollowupKind::Ask,
        }
    }

    /// Label shown to the user (Chinese).
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Followup::More => "更多结果".to_string(),
            Followup::FullText { rank, .. } => format!("{FULL_TEXT_LABEL} {rank}"),
            Followup::Region { region } => format!("只看{region}"),
            Followup::Ask { label, .. } => label.clone(),
        }
    }
}

/// An answer as a helpline ticket needs it (the 📋 工单格式 button of a forwarded question's
/// reply): the question and the clauses cited, in full.
#[derive(Clone, Debug, PartialEq)]
pub struct Ticket {
    /// The question answered (after follow-up resolution).
    pub question: String,
    /// The clauses the answer cited, in its order.
    pub clauses: Vec<Cited>,
}

/// The full text of one clause (the 全文 follow-up), or of a document (an announcement's
/// buttons), with its citation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FullText {
    /// Citation line: title, 文号, issuer, date, section.
    pub citation: String,
    /// Clause text.
    pub text: String,
}

/// The composed answer to one question.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The question as asked (after follow-up resolution: the effective question).
    pub question: String,
    /// How it was handled.
    pub status: Status,
    /// Intent name when one matched (greeting, 融资贷款 …).
    pub intent: Option<String>,
    /// Region the ranking favoured.
    pub region: Option<String>,
    /// Lead sentence(s) of the reply (Chinese): summary, or the no-match / intent text.
    pub lead: String,
    /// Cited clauses of this page.
    pub hits: Vec<Cited>,
    /// Follow-ups, in display order.
    pub followups: Vec<Followup>,
    /// A further page of the last question (更多结果), not a question of its own: the
    /// operator's log of unanswered questions does not count it again.
    #[serde(default)]
    pub continued: bool,
}

impl Cited {
    /// The excerpt as plain text, without highlight markers.
    #[must_use]
    pub fn excerpt_text(&self) -> String {
        excerpt::plain(&self.excerpt)
    }

    /// 文号｜发文单位｜日期, the ones known (empty when none is).
    #[must_use]
    pub fn meta_line(&self) -> String {
        [
            self.doc_number.as_deref(),
            self.issuer.as_deref(),
            self.date.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("｜")
    }

    /// Responsible units grouped by role, e.g. `责任单位：市财政局、市税务局；配合单位：市发展改革委`.
    #[must_use]
    pub fn departments_line(&self) -> Option<String> {
        departments_line(&self.departments)
    }

    /// Every copy of the clause, e.g. `anyang-2022-compendium.txt 第815行；huojia-… 第90行`.
    #[must_use]
    pub fn sources_line(&self) -> String {
        self.sources
            .iter()
            .map(|s| format!("{} 第{}行", s.file, s.line))
            .collect::<Vec<_>>()
            .join("；")
    }
}

/// Units grouped by role in order of first appearance; `None` when there is none.
#[must_use]
pub fn departments_line(departments: &[Department]) -> Option<String> {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for d in departments {
        match groups.iter_mut().find(|(role, _)| *role == d.role) {
            Some((_, names)) if names.contains(&d.name.as_str()) => {}
            Some((_, names)) => names.push(&d.name),
            None => groups.push((&d.role, vec![&d.name])),
        }
    }
    if groups.is_empty() {
        return None;
    }
    Some(
        groups
            .iter()
            .map(|(role, names)| format!("{role}：{}", names.join("、")))
            .collect::<Vec<_>>()
            .join("；"),
    )
}
