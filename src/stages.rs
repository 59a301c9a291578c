//! Per-thread stage clock of the answer path: how long a question spent in segmenting, the
//! index search, reranking, composing and rendering. Always on (two clock reads per stage,
//! tens of nanoseconds against a millisecond question); read by `policybot bench`, which takes
//! the totals after each question. Thread-local, so concurrent workers do not mix their times.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// A stage of answering a question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Question analysis: places, numbers, typo repair, fillers, jieba words, synonyms.
    Segment,
    /// The tantivy query and the words' document frequencies.
    Search,
    /// Coverage, priors, sorting, grouping and the answerability signals.
    Rerank,
    /// Follow-up handling, the answered/related decision and answer composition (excerpts).
    Compose,
    /// Rendering the answer for its medium (HTML and keyboard, plain text, JSON).
    Render,
}

impl Stage {
    /// Every stage, in the order of [`Times`].
    pub const ALL: [Stage; 5] = [
        Stage::Segment,
        Stage::Search,
        Stage::Rerank,
        Stage::Compose,
        Stage::Render,
    ];

    /// Lower-case name, as `bench` prints it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Stage::Segment => "segment",
            Stage::Search => "search",
            Stage::Rerank => "rerank",
            Stage::Compose => "compose",
            Stage::Render => "render",
        }
    }
}

/// Time spent per stage, indexed like [`Stage::ALL`].
pub type Times = [Duration; 5];

thread_local! {
    static TIMES: Cell<Times> = const { Cell::new([Duration::ZERO; 5]) };
}

/// Runs `f`, adding its time to `stage` on this thread.
pub fn time<T>(stage: Stage, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    add(stage, started.elapsed());
    out
}

/// Adds the time from `started` until it is dropped to `stage`: times a stage with several
/// exits.
pub struct Lap {
    stage: Stage,
    started: Instant,
}

impl Lap {
    /// A lap of `stage` that began at `started`.
    #[must_use]
    pub fn since(stage: Stage, started: Instant) -> Self {
        Lap { stage, started }
    }
}

impl Drop for Lap {
    fn drop(&mut self) {
        add(self.stage, self.started.elapsed());
    }
}

/// Adds `d` to `stage` on this thread.
pub fn add(stage: Stage, d: Duration) {
    TIMES.with(|t| {
        let mut times = t.get();
        times[stage as usize] += d;
        t.set(times);
    });
}

/// This thread's totals since the last call, which resets them.
#[must_use]
pub fn take() -> Times {
    TIMES.with(|t| t.replace([Duration::ZERO; 5]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_accumulate_per_thread_until_taken() {
        let _ = take();
        add(Stage::Search, Duration::from_millis(2));
        add(Stage::Search, Duration::from_millis(3));
        assert_eq!(time(Stage::Render, || 7), 7);
        {
            let _lap = Lap::since(Stage::Rerank, Instant::now() - Duration::from_secs(2));
        }
        std::thread::spawn(|| add(Stage::Compose, Duration::from_secs(1)))
            .join()
            .unwrap();
        let t = take();
        assert_eq!(t[Stage::Search as usize], Duration::from_millis(5));
        assert!(t[Stage::Rerank as usize] >= Duration::from_secs(2));
        assert_eq!(
            t[Stage::Compose as usize],
            Duration::ZERO,
            "another thread's"
        );
        assert_eq!(take(), [Duration::ZERO; 5]);
    }
}
