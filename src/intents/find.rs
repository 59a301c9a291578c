//! One scan of a text for every topic trigger: an Aho–Corasick automaton over the triggers of
//! all topic intents, rebuilt whenever intents are added. Finding which triggers occur this way
//! costs one pass over the text however many triggers there are (the topic of an answer is
//! inferred from several clauses' text, hundreds of characters against every trigger).

use aho_corasick::AhoCorasick;

use super::{Intent, IntentKind};

/// The automaton and, per pattern, the intent and trigger it stands for.
#[derive(Clone, Debug, Default)]
pub(super) struct TopicFinder {
    automaton: Option<AhoCorasick>,
    /// `(intent index, trigger index)` of each pattern, in pattern order.
    owners: Vec<(usize, usize)>,
}

impl TopicFinder {
    /// The finder of the topic triggers of `intents`.
    pub(super) fn new(intents: &[Intent]) -> TopicFinder {
        let mut owners = Vec::new();
        let mut patterns = Vec::new();
        for (i, intent) in intents.iter().enumerate() {
            if intent.kind != IntentKind::Topic {
                continue;
            }
            for (t, trigger) in intent.triggers.iter().enumerate() {
                owners.push((i, t));
                patterns.push(trigger.as_str());
            }
        }
        TopicFinder {
            // Building fails only past limits a few hundred short words never reach; without an
            // automaton no topic is found.
            automaton: AhoCorasick::new(&patterns).ok(),
            owners,
        }
    }

    /// Per intent (by index), which of its triggers occur in `text`: `found[i][t]`.
    pub(super) fn occurring(&self, intents: &[Intent], text: &str) -> Vec<Vec<bool>> {
        let mut found: Vec<Vec<bool>> = intents
            .iter()
            .map(|i| vec![false; i.triggers.len()])
            .collect();
        if let Some(automaton) = &self.automaton {
            for m in automaton.find_overlapping_iter(text) {
                if let Some(&(i, t)) = self.owners.get(m.pattern().as_usize())
                    && let Some(slot) = found.get_mut(i).and_then(|f| f.get_mut(t))
                {
                    *slot = true;
                }
            }
        }
        found
    }
}

/// Derived from the intents: two sets with equal intents have equal finders.
impl PartialEq for TopicFinder {
    fn eq(&self, other: &Self) -> bool {
        self.owners == other.owners
    }
}

impl Eq for TopicFinder {}
