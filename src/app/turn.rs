//! How a typed message is read against the session: a follow-up of the last answer typed by its
//! number or label, the next page, the last question for another region, the last question
//! plus an aspect, or a question of its own ([`Turn`]). The words it goes by (更多, the aspects,
//! the fillers around a place name, the particles that mark a follow-up) are the intents' `[words]` ([`crate::intents::Words`]).

use crate::answer::{FULL_TEXT_LABEL, Followup};
use crate::index::KnowledgeBase;
use crate::session::Session;

use super::{Action, App};

/// A message this short (in characters) that names no topic or place continues the last question.
const SHORT_FOLLOW_UP_CHARS: usize = 8;

/// A follow-up typed by number or label that the last answer did not offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Unknown {
    /// A bare number that numbers no follow-up.
    Option(usize),
    /// 全文 N for a rank the last answer did not cite.
    FullText(usize),
}

/// How a message relates to the conversation so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Turn {
    /// A question that stands on its own.
    Fresh(String),
    /// The last question again, for another region ("那安阳呢").
    Narrow { question: String, region: String },
    /// The last question plus an aspect ("申请条件呢"): `question`; and, for when that finds
    /// nothing (the aspect's words can dilute an answerable question below the coverage
    /// floor), `fallback`: the last question with only the aspect's question words
    /// ("降到啥时候" → 啥时候), which say what kind of answer it wants; `None` when it has
    /// none (the last question alone would only repeat the last answer); `focus`: the
    /// follow-up's own words, which the excerpts favour.
    Combine {
        question: String,
        fallback: Option<String>,
        focus: String,
    },
    /// Next page.
    More,
}

impl App {
    /// The follow-up of the session's last answer that `text` names by number or label;
    /// `Err` for a bare number that is none, or a 全文 N for a rank the answer did not cite;
    /// `None` when `text` is no follow-up.
    pub(super) fn typed(&self, text: &str, session: &Session) -> Option<Result<Action, Unknown>> {
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
                false => Err(Unknown::Option(n)),
            });
        }
        let more = &self.intents.words().more;
        let names = |f: &Followup| -> bool {
            let label: String = f.label().chars().filter(|c| !c.is_whitespace()).collect();
            label == t
                || match f {
                    Followup::More => more.contains(&t),
                    Followup::Ask { question, .. } => *question == t,
                    _ => false,
                }
        };
        if let Some(i) = session.followups.iter().position(names) {
            return Some(Ok(at(i)));
        }
        // "全文 9" when the last answer offered no 9th clause: said so, not searched for.
        let rank = t.strip_prefix(FULL_TEXT_LABEL)?;
        (!rank.is_empty() && rank.len() <= 3 && rank.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Err(Unknown::FullText(rank.parse().unwrap_or_default())))
    }

    pub(super) fn turn(&self, kb: &KnowledgeBase, text: &str, session: &Session) -> Turn {
        let t = text.trim_end_matches(['？', '?', '。', '！', '!', ' ']);
        let Some(last) = session.last_question.clone() else {
            return Turn::Fresh(text.to_string());
        };
        let words = self.intents.words();
        if words.more.iter().any(|w| w == t) {
            return Turn::More;
        }
        let continues = words.follow_lead.iter().any(|w| t.starts_with(w.as_str()))
            || words.follow_tail.iter().any(|w| t.ends_with(w.as_str()));
        let mut core = t;
        for w in &words.follow_lead {
            core = core.trim_start_matches(w.as_str());
        }
        for w in words.follow_tail.iter().chain(&words.place_tail) {
            core = core.trim_end_matches(w.as_str());
        }
        for w in &words.place_lead {
            core = core.trim_start_matches(w.as_str());
        }
        let core = core.trim();
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
            for w in &words.region_fillers {
                rest = rest.replace(w.as_str(), "");
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
            for w in words.aspects.iter().rev() {
                rest = rest.replace(w.as_str(), "");
            }
            rest.chars()
                .filter(|c| !words.aspect_particles.contains(*c))
                .count()
                <= 1
        };
        // A short message that names no policy topic of its own ("咋申报", "最多补多少",
        // "哪个科室管") asks about the last question.
        let short_aspect = t.chars().count() <= SHORT_FOLLOW_UP_CHARS
            && self.intents.best_topic(core).is_none()
            && kb.places.detect(core).is_none();
        if (continues && t.chars().count() <= 12) || only_aspects || short_aspect {
            let types = &kb.lexicon.answer_types;
            let last = crate::index::facts::without_question_words(&last, &kb.segmenter, types);
            let asks: Vec<&str> = types.words().filter(|w| core.contains(w)).collect();
            return Turn::Combine {
                question: format!("{last} {core}"),
                fallback: (!asks.is_empty()).then(|| format!("{last} {}", asks.join(" "))),
                focus: core.to_string(),
            };
        }
        Turn::Fresh(text.to_string())
    }
}
