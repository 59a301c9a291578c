//! One scan of a text for every topic trigger: an Aho–Corasick automaton over the triggers of
//! all topic intents, rebuilt whenever intents are added. Finding which triggers occur this way
//! costs one pass over the text however many triggers there are (the topic of an answer is
//! inferred from several clauses' text, hundreds of characters against every trigger).

use aho_corasick::{AhoCorasick, AhoCorasickKind};

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
            automaton: AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::DFA))
                .build(&patterns)
                .ok(),
            owners,
        }
    }

    /// The topic intent (by index) with the most distinct triggers occurring in `text` (ties:
    /// the first), with those triggers' indices.
    pub(super) fn best(&self, text: &str) -> Option<(usize, Vec<usize>)> {
        let automaton = self.automaton.as_ref()?;
        let mut found = vec![false; self.owners.len()];
        for m in automaton.find_overlapping_iter(text) {
            if let Some(slot) = found.get_mut(m.pattern().as_usize()) {
                *slot = true;
            }
        }
        // Patterns are grouped by intent, in intent order.
        let (mut best, mut from): (Option<(usize, usize)>, usize) = (None, 0);
        for group in self.owners.chunk_by(|a, b| a.0 == b.0) {
            let count = found[from..from + group.len()]
                .iter()
                .filter(|f| **f)
                .count();
            if count > 0 && best.is_none_or(|(_, most)| count > most) {
                best = Some((group[0].0, count));
            }
            from += group.len();
        }
        let (intent, _) = best?;
        let triggers = self
            .owners
            .iter()
            .zip(&found)
            .filter(|((i, _), f)| *i == intent && **f)
            .map(|((_, t), _)| *t)
            .collect();
        Some((intent, triggers))
    }
}

/// Derived from the intents: two sets with equal intents have equal finders.
impl PartialEq for TopicFinder {
    fn eq(&self, other: &Self) -> bool {
        self.owners == other.owners
    }
}

impl Eq for TopicFinder {}
