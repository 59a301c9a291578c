//! One scan of a text for every topic trigger: the triggers of all topic intents as one
//! [`WordList`], rebuilt whenever intents are added. Finding which triggers occur this way
//! costs one pass over the text however many triggers there are (the topic of an answer is
//! inferred from several clauses' text, hundreds of characters against every trigger).

use crate::text::occur::WordList;

use super::{Intent, IntentKind};

/// The triggers and, per trigger in the list, the intent and trigger index it stands for.
#[derive(Clone, Debug, Default)]
pub(super) struct TopicFinder {
    triggers: WordList,
    /// `(intent index, trigger index)` of each word of `triggers`, in list order.
    owners: Vec<(usize, usize)>,
}

impl TopicFinder {
    /// The finder of the topic triggers of `intents`.
    pub(super) fn new(intents: &[Intent]) -> TopicFinder {
        let mut owners = Vec::new();
        let mut words = Vec::new();
        for (i, intent) in intents.iter().enumerate() {
            if intent.kind != IntentKind::Topic {
                continue;
            }
            for (t, trigger) in intent.triggers.iter().enumerate() {
                owners.push((i, t));
                words.push(trigger.clone());
            }
        }
        TopicFinder {
            triggers: WordList::new(words),
            owners,
        }
    }

    /// The topic intent (by index) with the most distinct triggers occurring in `text` (ties:
    /// the first), with those triggers' indices.
    pub(super) fn best(&self, text: &str) -> Option<(usize, Vec<usize>)> {
        let mut found = vec![false; self.owners.len()];
        for i in self.triggers.occurring(text) {
            found[i] = true;
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
