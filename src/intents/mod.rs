//! Intent definitions and a pure `classify()`; loading them from `intents/*.toml` is `load`'s,
//! the words of the conversation ([`Words`], the `[words]` table of `conversation.toml`) are
//! `words`'s.
//!
//! Owns the intent types and the matching rules. Knows nothing of retrieval: a topic match never
//! stops a search, it only adds follow-up questions. The conversation words live here rather
//! than in `data/lexicon/` because only the session logic and `classify()` read them: the index
//! does not depend on them.

mod find;
mod load;
mod words;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::text::normalize::normalize;

pub use words::Words;

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
    /// Requests the compendium does not serve (company registration, trademarks, personal
    /// income tax, invoices, labour disputes, weather …): retrieval still runs, and a trigger
    /// word the best clause does not contain counts against answering.
    OutOfScope,
}

impl IntentKind {
    /// True for greeting, help, thanks and human: answered without retrieval.
    #[must_use]
    pub fn is_conversational(self) -> bool {
        !matches!(self, IntentKind::Topic | IntentKind::OutOfScope)
    }

    /// Which conversational intent wins when one message holds several
    /// ("你好，转人工" asks for a human).
    fn priority(self) -> u8 {
        match self {
            IntentKind::Human => 0,
            IntentKind::Help => 1,
            IntentKind::Thanks => 2,
            IntentKind::Greeting => 3,
            IntentKind::Topic => 4,
            IntentKind::OutOfScope => 5,
        }
    }
}

/// A related question offered as a follow-up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicQuestion {
    /// Short label (button text).
    pub label: String,
    /// The question asked when picked.
    pub question: String,
}

/// One intent as defined in a TOML file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Intent {
    /// Unique name: `greeting`, `help`, `thanks`, `human`, or a topic such as `融资贷款`.
    pub name: String,
    /// What the intent does.
    pub kind: IntentKind,
    /// Display label (Chinese).
    pub label: String,
    /// Trigger words, normalised (NFKC, lower case).
    pub triggers: Vec<String>,
    /// Canned reply (required for conversational intents).
    pub reply: Option<String>,
    /// Example question (required for topics), shown by /topics.
    pub example: Option<String>,
    /// Related questions offered as follow-ups.
    pub followups: Vec<TopicQuestion>,
}

/// The result of [`IntentSet::classify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntentMatch {
    /// Position of the intent in the set (file order).
    pub index: usize,
    /// Intent name.
    pub name: String,
    /// Intent kind.
    pub kind: IntentKind,
    /// Triggers that occurred in the message.
    pub matched: Vec<String>,
}

/// All intents, in load order (files sorted by name, then file order).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntentSet {
    intents: Vec<Intent>,
    /// The `[words]` table, and the file that held it (`None` until one has).
    words: Words,
    words_from: Option<PathBuf>,
    /// The topic triggers as one automaton (rebuilt when intents are added).
    topics: find::TopicFinder,
    /// The conversational intents' triggers without noise characters, longest first (ties in
    /// load order), with their intent's index (rebuilt when intents are added).
    spoken: Vec<(usize, String)>,
}

/// A conversational message longer than this (in characters, after normalisation) is a question.
const MAX_CONVERSATIONAL_CHARS: usize = 24;

impl IntentSet {
    /// The words of the conversation (`[words]`).
    #[must_use]
    pub fn words(&self) -> &Words {
        &self.words
    }

    /// All intents in load order.
    #[must_use]
    pub fn intents(&self) -> &[Intent] {
        &self.intents
    }

    /// The intent called `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Intent> {
        self.intents.iter().find(|i| i.name == name)
    }

    /// Topic intents in load order, for /topics and no-match suggestions.
    #[must_use]
    pub fn topics(&self) -> Vec<&Intent> {
        self.intents
            .iter()
            .filter(|i| i.kind == IntentKind::Topic)
            .collect()
    }

    /// Classifies a user message. Conversational intents match only when the message is
    /// essentially just their trigger words (with punctuation, particles and forms of address);
    /// otherwise the best topic by number of trigger hits (ties: load order), if any.
    #[must_use]
    pub fn classify(&self, message: &str) -> Option<IntentMatch> {
        let text = normalize(message.trim());
        self.conversational(&text)
            .or_else(|| self.best_topic(&text))
    }

    /// Trigger words of the out-of-scope intents that occur in `text` (normalised).
    #[must_use]
    pub fn out_of_scope_words(&self, text: &str) -> Vec<&str> {
        let text = normalize(text);
        self.intents
            .iter()
            .filter(|i| i.kind == IntentKind::OutOfScope)
            .flat_map(|i| i.triggers.iter())
            .filter(|t| text.contains(t.as_str()))
            .map(String::as_str)
            .collect()
    }

    /// The topic whose triggers occur most often in `text` (ties: load order); used for
    /// questions and for inferring a topic from retrieved clause text.
    #[must_use]
    pub fn best_topic(&self, text: &str) -> Option<IntentMatch> {
        self.best_topic_normalized(&normalize(text))
    }

    /// [`IntentSet::best_topic`] of a text already normalised (`text::normalize`).
    #[must_use]
    pub fn best_topic_normalized(&self, text: &str) -> Option<IntentMatch> {
        let (index, triggers) = self.topics.best(text)?;
        let intent = self.intents.get(index)?;
        Some(IntentMatch {
            index,
            name: intent.name.clone(),
            kind: intent.kind,
            matched: triggers
                .into_iter()
                .filter_map(|t| intent.triggers.get(t).cloned())
                .collect(),
        })
    }

    fn conversational(&self, text: &str) -> Option<IntentMatch> {
        let core: String = text.chars().filter(|c| !is_noise(*c)).collect();
        if core.is_empty() || core.chars().count() > MAX_CONVERSATIONAL_CHARS {
            return None;
        }
        // Remove every conversational trigger (longest first) and the filler words; what is left
        // must be nothing for the message to be "just" a greeting, thanks, help or hand-off.
        let mut rest = core;
        let mut hits: Vec<(usize, String)> = Vec::new();
        for (n, trigger) in &self.spoken {
            if rest.contains(trigger.as_str()) {
                rest = rest.replace(trigger.as_str(), "\u{0}");
                hits.push((*n, trigger.clone()));
            }
        }
        if hits.is_empty() {
            return None;
        }
        for w in &self.words.fillers {
            rest = rest.replace(w.as_str(), "");
        }
        if rest.chars().any(|c| c != '\u{0}') {
            return None;
        }
        let index = hits
            .iter()
            .map(|(n, _)| *n)
            .min_by_key(|n| (self.intents[*n].kind.priority(), *n))?;
        let intent = &self.intents[index];
        let matched = hits
            .into_iter()
            .filter(|(n, _)| *n == index)
            .map(|(_, t)| t)
            .collect();
        Some(IntentMatch {
            index,
            name: intent.name.clone(),
            kind: intent.kind,
            matched,
        })
    }
}

/// The triggers of the conversational intents of `intents` for [`IntentSet::conversational`]:
/// without noise characters (those left empty dropped), longest first (sorted by the trigger as
/// written; ties in load order), each with its intent's index.
fn spoken_triggers(intents: &[Intent]) -> Vec<(usize, String)> {
    let mut triggers: Vec<(usize, &str)> = intents
        .iter()
        .enumerate()
        .filter(|(_, i)| i.kind.is_conversational())
        .flat_map(|(n, i)| i.triggers.iter().map(move |t| (n, t.as_str())))
        .collect();
    triggers.sort_by_key(|(_, t)| std::cmp::Reverse(t.chars().count()));
    triggers
        .into_iter()
        .map(|(n, t)| (n, t.chars().filter(|c| !is_noise(*c)).collect::<String>()))
        .filter(|(_, t)| !t.is_empty())
        .collect()
}

/// Punctuation, symbols, emoji and whitespace: ignored when deciding whether a message is only a
/// greeting.
fn is_noise(c: char) -> bool {
    c.is_whitespace()
        || c.is_ascii_punctuation()
        || matches!(c, '\u{2000}'..='\u{2BFF}' | '\u{3000}'..='\u{303F}' | '\u{FE30}'..='\u{FE4F}')
        || matches!(c, '\u{FF01}'..='\u{FF0F}' | '\u{FF1A}'..='\u{FF20}' | '\u{FF5B}'..='\u{FF65}')
        || matches!(c, '\u{1F000}'..='\u{1FAFF}' | '\u{FE0F}' | '\u{200D}')
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    pub(super) fn real() -> IntentSet {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("intents");
        IntentSet::load(&dir).expect("the shipped intents/ directory loads")
    }

    #[test]
    fn shipped_intents_load_and_cover_the_topics() {
        let set = real();
        for kind in [
            IntentKind::Greeting,
            IntentKind::Help,
            IntentKind::Thanks,
            IntentKind::Human,
        ] {
            assert!(
                set.intents().iter().any(|i| i.kind == kind),
                "help: missing {kind:?}"
            );
        }
        let topics = set.topics();
        assert!(topics.len() >= 14, "help: only {} topics", topics.len());
        for t in &topics {
            assert!(
                (3..=5).contains(&t.followups.len()),
                "help: topic {} has {} follow-ups",
                t.name,
                t.followups.len()
            );
            assert!(
                t.example.is_some(),
                "help: topic {} lacks an example",
                t.name
            );
        }
        for name in [
            "融资贷款",
            "税费减免",
            "社保缓缴",
            "房租减免",
            "创业担保贷款",
            "不动产登记",
        ] {
            assert!(set.get(name).is_some(), "help: topic {name} missing");
        }
    }

    #[test]
    fn human_reply_quotes_compendium_contacts_with_sources() {
        let set = real();
        let reply = set
            .get("human")
            .and_then(|i| i.reply.clone())
            .unwrap_or_default();
        assert!(reply.contains("12366"), "help: {reply}");
        assert!(reply.contains("0371—65509847"), "help: {reply}");
        assert!(reply.contains("第1664行"), "help: {reply}");
        // The compiler's personal mobile number must not be handed out.
        assert!(!reply.contains("13938753328"));
    }

    #[test]
    fn classification_table() {
        let set = real();
        let cases: &[(&str, Option<&str>)] = &[
            ("你好", Some("greeting")),
            ("您好！", Some("greeting")),
            ("你好呀～", Some("greeting")),
            ("Hello", Some("greeting")),
            ("在吗？", Some("greeting")),
            ("谢谢！", Some("thanks")),
            ("谢谢你啊", Some("thanks")),
            ("非常感谢", Some("thanks")),
            ("转人工", Some("human")),
            ("你好，转人工", Some("human")),
            ("人工客服", Some("human")),
            ("帮助", Some("help")),
            ("/help", Some("help")),
            ("你能做什么？", Some("help")),
            ("你好，小店房租能减免吗", Some("房租减免")),
            ("谢谢，那社保可以缓缴吗", Some("社保缓缴")),
            ("人工智能企业有什么补贴", None),
            ("创业担保贷款个人最高能贷多少", Some("创业担保贷款")),
            ("政府采购价格扣除比例", Some("政府采购")),
            ("小规模纳税人免征增值税吗", Some("税费减免")),
            ("今天天气怎么样", None),
            ("", None),
        ];
        for (question, want) in cases {
            let got = set.classify(question).map(|m| m.name);
            assert_eq!(got.as_deref(), *want, "help: classify({question:?})");
        }
    }

    #[test]
    fn every_trigger_counts_even_inside_another() {
        let m = real().best_topic("创业担保贷款能贴息吗").expect("a topic");
        assert_eq!(m.name, "创业担保贷款");
        assert_eq!(m.matched, ["创业担保贷款", "创业担保", "担保贷款", "贴息"]);
    }

    #[test]
    fn topic_ties_go_to_file_order() {
        let mut set = IntentSet::default();
        let text = r#"
[[intent]]
name = "a"
kind = "topic"
label = "A"
triggers = ["贷款"]
example = "?"

[[intent]]
name = "b"
kind = "topic"
label = "B"
triggers = ["贷款"]
example = "?"
"#;
        set.add_file(Path::new("t.toml"), text).unwrap();
        assert_eq!(set.classify("贷款").map(|m| m.name).as_deref(), Some("a"));
    }

    pub(super) fn load_error(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.toml"), text).unwrap();
        match IntentSet::load(dir.path()) {
            Ok(_) => panic!("help: expected an error for {text}"),
            Err(e) => e.to_string(),
        }
    }
}
