//! Retrieval evaluation on gold JSONL (the scoring of `../shared/eval/README.md`): recall@1/3/10,
//! MRR, out-of-scope declined, answerable wrongly declined, latency p50/p95, and the misses.

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::answer::Status;
use crate::answer::answerability::{Model, confusion, cross_validate};
use crate::app::{App, AskOptions};
use crate::error::Error;
use crate::session::Session;
use crate::text::normalize::compact;

/// One gold question.
#[derive(Clone, Debug, Deserialize)]
pub struct GoldQuestion {
    /// Question id.
    pub id: String,
    /// The question as typed (for a two-turn case: the follow-up, `second`).
    #[serde(alias = "second")]
    pub question: String,
    /// Two-turn cases: the question asked first, in the same session.
    #[serde(default)]
    pub first: Option<String>,
    /// `answerable`, `multi` or `out_of_scope`; empty in a line not labelled yet (as
    /// `policybot review --jsonl-gold` writes them).
    #[serde(default)]
    pub kind: String,
    /// Region the user named.
    #[serde(default)]
    pub region: Option<String>,
    /// Gold snippets.
    #[serde(default)]
    pub gold: Vec<GoldEntry>,
}

impl GoldQuestion {
    /// Whether an editor has labelled it: `answerable` or `multi` with gold snippets, or
    /// `out_of_scope` without. Other lines (an empty `kind`, gold missing or contradicting the
    /// kind) cannot be scored and are skipped by `eval` and `calibrate`.
    #[must_use]
    pub fn is_labelled(&self) -> bool {
        match self.kind.as_str() {
            "answerable" | "multi" => !self.gold.is_empty(),
            "out_of_scope" => self.gold.is_empty(),
            _ => false,
        }
    }
}

/// A half of a question set split by the parity of the number in each id (`e012` is even):
/// tune on one half, report the other as held out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Half {
    /// Ids whose number is even (the tuning half).
    Even,
    /// Ids whose number is odd (the held-out half).
    Odd,
}

impl Half {
    /// Whether question `id` belongs to this half (ids without a number belong to none).
    #[must_use]
    pub fn contains(self, id: &str) -> bool {
        let digits: String = id.chars().filter(char::is_ascii_digit).collect();
        let Ok(n) = digits.parse::<u64>() else {
            return false;
        };
        (n % 2 == 0) == (self == Half::Even)
    }
}

/// One gold snippet.
#[derive(Clone, Debug, Deserialize)]
pub struct GoldEntry {
    /// Original seed file.
    pub seed: String,
    /// Title of the embedded document.
    pub doc_title: String,
    /// Verbatim key sentence.
    pub snippet: String,
}

/// A question whose gold was not found in the top 3 (or that was wrongly declined / answered).
#[derive(Clone, Debug, Serialize)]
pub struct Miss {
    /// Question id.
    pub id: String,
    /// Question.
    pub question: String,
    /// What went wrong.
    pub problem: String,
    /// Rank of the first hit containing a gold snippet (1-based), if within the hits.
    pub first_rank: Option<usize>,
    /// Titles of the top 3 hits.
    pub top: Vec<String>,
}

/// Scores of one evaluation run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Questions evaluated.
    pub questions: usize,
    /// Gold entries of answerable/multi questions.
    pub gold_entries: usize,
    /// Share of gold entries found in the top 1 / 3 / 10 hits.
    pub recall_at_1: f64,
    /// Recall at 3.
    pub recall_at_3: f64,
    /// Recall at 10.
    pub recall_at_10: f64,
    /// Recall at 3 measured on the excerpts instead of the clause texts.
    pub excerpt_recall_at_3: f64,
    /// Mean reciprocal rank over answerable questions.
    pub mrr: f64,
    /// Out-of-scope questions.
    pub out_of_scope: usize,
    /// Out-of-scope questions declined (no citation).
    pub out_of_scope_declined: usize,
    /// Answerable questions wrongly declined.
    pub wrongly_declined: usize,
    /// Median latency of `App::ask` in milliseconds.
    pub latency_p50_ms: f64,
    /// 95th percentile latency in milliseconds.
    pub latency_p95_ms: f64,
    /// 99th percentile latency in milliseconds.
    pub latency_p99_ms: f64,
    /// Misses, for tuning.
    pub misses: Vec<Miss>,
}

/// What `policybot calibrate` found.
#[derive(Clone, Debug)]
pub struct Calibration {
    /// Labelled questions that reached the decision (not declined outright).
    pub samples: usize,
    /// The model fitted on all of them.
    pub model: Model,
    /// Human-readable summary: in-sample and cross-validated declines.
    pub text: String,
}

/// Fits the answerability model to `questions` (answerable/multi vs out-of-scope) and
/// cross-validates it with `folds` folds. Questions declined before the decision (no clause
/// covers them) count as declined in the figures.
#[must_use]
pub fn calibrate(app: &App, questions: &[GoldQuestion], folds: usize) -> Calibration {
    let (mut samples, mut pre_oos, mut pre_ans, mut oos, mut ans) = (Vec::new(), 0, 0, 0, 0);
    for q in questions {
        let answerable = !q.gold.is_empty();
        if answerable {
            ans += 1;
        } else {
            oos += 1;
        }
        match app.answerability_features(&q.question) {
            Some(x) => samples.push((x, answerable)),
            None if answerable => pre_ans += 1,
            None => pre_oos += 1,
        }
    }
    let model = Model::fit(&samples);
    let line = |label: &str, c: (usize, usize, usize, usize)| {
        format!(
            "{label}: out-of-scope declined {}/{} ({:.3})  answerable wrongly declined {}/{} ({:.3})\n",
            c.0 + pre_oos,
            oos,
            (c.0 + pre_oos) as f64 / oos.max(1) as f64,
            c.2 + pre_ans,
            ans,
            (c.2 + pre_ans) as f64 / ans.max(1) as f64,
        )
    };
    let mut text = format!(
        "questions {} ({} answerable, {} out of scope); declined before the decision: {} out of scope, {} answerable\n",
        questions.len(),
        ans,
        oos,
        pre_oos,
        pre_ans
    );
    text.push_str(&line("fitted, in sample", confusion(&model, &samples)));
    text.push_str(&line(
        &format!("{folds}-fold cross-validated"),
        cross_validate(&samples, folds),
    ));
    Calibration {
        samples: samples.len(),
        model,
        text,
    }
}

/// Reads a gold JSONL file.
///
/// # Errors
/// Unreadable file or a malformed line (with its number).
pub fn load(path: &Path) -> Result<Vec<GoldQuestion>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| Error::Config {
                path: path.to_path_buf(),
                line: i + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

/// Runs every question through `App::ask` (fresh session, `k` hits) and scores the results.
/// Latency percentiles are taken over `repeat` passes (scores from the first pass).
#[must_use]
pub fn run(app: &App, questions: &[GoldQuestion], k: usize, repeat: usize) -> Report {
    let mut latencies = Vec::with_capacity(questions.len() * repeat.max(1));
    let opts = AskOptions {
        region: None,
        k: Some(k.max(10)),
        ..AskOptions::default()
    };
    // A two-turn case asks its first question in the session before the scored one.
    let session = |q: &GoldQuestion| {
        let mut s = Session::default();
        if let Some(first) = &q.first {
            let _ = app.ask(first, &mut s, &opts);
        }
        s
    };
    for _ in 1..repeat {
        for q in questions {
            let mut s = session(q);
            let started = Instant::now();
            let _ = app.ask(&q.question, &mut s, &opts);
            latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let (mut entries, mut found1, mut found3, mut found10, mut excerpt3) = (0, 0, 0, 0, 0);
    let (mut rr_sum, mut answerable) = (0.0, 0);
    let (mut oos, mut oos_declined, mut wrongly_declined) = (0, 0, 0);
    let mut misses = Vec::new();
    for q in questions {
        let mut s = session(q);
        let started = Instant::now();
        let answer = app.ask(&q.question, &mut s, &opts);
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        let top: Vec<String> = answer
            .hits
            .iter()
            .take(3)
            .map(|h| h.doc_title.clone())
            .collect();
        // A hedged `related` answer counts as declined (../shared/eval/README.md).
        let answered = answer.status == Status::Answered && !answer.hits.is_empty();
        if q.gold.is_empty() {
            oos += 1;
            if answered {
                misses.push(miss(
                    q,
                    "out-of-scope question answered with citations",
                    None,
                    top,
                ));
            } else {
                oos_declined += 1;
            }
            continue;
        }
        answerable += 1;
        if !answered {
            wrongly_declined += 1;
        }
        let texts: Vec<String> = answer.hits.iter().map(|h| compact(&h.text)).collect();
        let excerpts: Vec<String> = answer
            .hits
            .iter()
            .map(|h| {
                compact(
                    &h.excerpt
                        .iter()
                        .map(|s| s.text.as_str())
                        .collect::<String>(),
                )
            })
            .collect();
        let rank_of = |hay: &[String], snippet: &str| hay.iter().position(|t| t.contains(snippet));
        let mut first: Option<usize> = None;
        let mut all_in_top3 = true;
        for g in &q.gold {
            entries += 1;
            let snippet = compact(&g.snippet);
            let rank = rank_of(&texts, &snippet);
            all_in_top3 &= rank.is_some_and(|r| r < 3);
            if let Some(r) = rank {
                first = Some(first.map_or(r, |f| f.min(r)));
                found1 += usize::from(r < 1);
                found3 += usize::from(r < 3);
                found10 += usize::from(r < 10);
            }
            if rank_of(&excerpts, &snippet).is_some_and(|r| r < 3) {
                excerpt3 += 1;
            }
        }
        rr_sum += first.map_or(0.0, |r| 1.0 / (r as f64 + 1.0));
        if !answered {
            misses.push(miss(q, "answerable question declined", None, top));
        } else if !all_in_top3 {
            let problem = match first {
                Some(r) if r < 3 => "some gold entries not in top 3",
                Some(_) => "gold below top 3",
                None => "gold not found",
            };
            misses.push(miss(q, problem, first.map(|r| r + 1), top));
        }
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        if latencies.is_empty() {
            0.0
        } else {
            latencies[((latencies.len() - 1) as f64 * p).round() as usize]
        }
    };
    let share = |n: usize| {
        if entries == 0 {
            0.0
        } else {
            n as f64 / entries as f64
        }
    };
    Report {
        questions: questions.len(),
        gold_entries: entries,
        recall_at_1: share(found1),
        recall_at_3: share(found3),
        recall_at_10: share(found10),
        excerpt_recall_at_3: share(excerpt3),
        mrr: if answerable == 0 {
            0.0
        } else {
            rr_sum / answerable as f64
        },
        out_of_scope: oos,
        out_of_scope_declined: oos_declined,
        wrongly_declined,
        latency_p50_ms: pct(0.5),
        latency_p95_ms: pct(0.95),
        latency_p99_ms: pct(0.99),
        misses,
    }
}

fn miss(q: &GoldQuestion, problem: &str, first_rank: Option<usize>, top: Vec<String>) -> Miss {
    Miss {
        id: q.id.clone(),
        question: q.question.clone(),
        problem: problem.to_string(),
        first_rank,
        top,
    }
}

impl Report {
    /// Human-readable summary with the misses.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "questions {}  gold entries {}\nrecall@1 {:.3}  recall@3 {:.3}  recall@10 {:.3}  \
             MRR {:.3}  (excerpt recall@3 {:.3})\nout-of-scope declined {}/{}  answerable \
             wrongly declined {}\nlatency p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms\n",
            self.questions,
            self.gold_entries,
            self.recall_at_1,
            self.recall_at_3,
            self.recall_at_10,
            self.mrr,
            self.excerpt_recall_at_3,
            self.out_of_scope_declined,
            self.out_of_scope,
            self.wrongly_declined,
            self.latency_p50_ms,
            self.latency_p95_ms,
            self.latency_p99_ms,
        );
        if !self.misses.is_empty() {
            s.push_str(&format!("misses ({}):\n", self.misses.len()));
            for m in &self.misses {
                let rank = m.first_rank.map_or("-".to_string(), |r| r.to_string());
                s.push_str(&format!(
                    "  {} [{}] rank {} — {}\n      top: {}\n",
                    m.id,
                    m.problem,
                    rank,
                    m.question,
                    m.top.join(" | ")
                ));
            }
        }
        s
    }
}
