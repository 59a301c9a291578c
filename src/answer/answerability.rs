//! Answerability: whether the clauses found answer the question (`answered`) or only touch it
//! (`related`). A logistic model over signals of the search (coverage of the question by the best
//! clause and the best five, words the corpus lacks, the rarest word missing from the best
//! clause, score margin) and of the intents (an out-of-scope request word the best clause lacks,
//! a policy topic). Its weights are data (`data/model/answerability.toml`), fitted by
//! `policybot calibrate` with cross-validation. Pure.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::index::Signals;

/// Names of the features, in the order of [`features`].
pub const FEATURES: [&str; 7] = [
    "best_coverage",
    "union_coverage",
    "unknown",
    "missing_head",
    "log_margin",
    "out_of_scope",
    "topic",
];

/// The model file inside the data directory.
pub const MODEL_FILE: &str = "model/answerability.toml";

/// Share of answerable training questions allowed below the threshold when fitting.
const TARGET_WRONGLY_DECLINED: f64 = 0.01;

/// The feature vector of one search: [`Signals`], whether an out-of-scope request word occurs in
/// the question but not in the best clause, and whether the question names a policy topic.
#[must_use]
pub fn features(signals: &Signals, out_of_scope: bool, topic: bool) -> [f64; 7] {
    [
        f64::from(signals.best_coverage),
        f64::from(signals.union_coverage),
        f64::from(signals.unknown),
        f64::from(signals.missing_head),
        f64::from(signals.margin.max(1.0)).ln(),
        f64::from(u8::from(out_of_scope)),
        f64::from(u8::from(topic)),
    ]
}

/// Logistic model: `p = σ(bias + Σ wᵢ xᵢ)`; answered when `p ≥ threshold`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Intercept.
    pub bias: f64,
    /// Decision threshold on the probability.
    pub threshold: f64,
    /// Weight per feature name (see [`FEATURES`]); a missing name weighs 0.
    pub weights: BTreeMap<String, f64>,
}

/// The model shipped with the source (used when the data directory has none).
const EMBEDDED: &str = include_str!("../../data/model/answerability.toml");

impl Default for Model {
    fn default() -> Self {
        toml::from_str(EMBEDDED).unwrap_or(Model {
            bias: 0.0,
            threshold: 0.0,
            weights: BTreeMap::new(),
        })
    }
}

impl Model {
    /// Reads a model file.
    ///
    /// # Errors
    /// Unreadable or malformed file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        crate::config::read_toml(path)
    }

    /// Probability that the best clauses answer the question.
    #[must_use]
    pub fn probability(&self, x: &[f64; 7]) -> f64 {
        let z = self.bias
            + FEATURES
                .iter()
                .zip(x)
                .map(|(name, v)| self.weights.get(*name).copied().unwrap_or(0.0) * v)
                .sum::<f64>();
        sigmoid(z)
    }

    /// Whether the clauses count as an answer.
    #[must_use]
    pub fn answers(&self, x: &[f64; 7]) -> bool {
        self.probability(x) >= self.threshold
    }

    /// Fits a model to `(features, answerable)` samples: L2-regularised logistic regression with
    /// the classes weighted equally, then the threshold that leaves at most
    /// [`TARGET_WRONGLY_DECLINED`] of the answerable samples below it.
    #[must_use]
    pub fn fit(samples: &[([f64; 7], bool)]) -> Model {
        let positives = samples.iter().filter(|s| s.1).count().max(1) as f64;
        let negatives = samples.iter().filter(|s| !s.1).count().max(1) as f64;
        let (mut w, mut b) = ([0.0f64; 7], 0.0f64);
        let (rate, l2) = (0.5, 0.01);
        for _ in 0..3000 {
            let (mut gw, mut gb) = ([0.0f64; 7], 0.0f64);
            for (x, y) in samples {
                let z = b + w.iter().zip(x).map(|(a, v)| a * v).sum::<f64>();
                let weight = if *y { 0.5 / positives } else { 0.5 / negatives };
                let err = (sigmoid(z) - f64::from(u8::from(*y))) * weight;
                for (g, v) in gw.iter_mut().zip(x) {
                    *g += err * v;
                }
                gb += err;
            }
            for (a, g) in w.iter_mut().zip(gw) {
                *a -= rate * (g + l2 * *a);
            }
            b -= rate * gb;
        }
        let mut model = Model {
            bias: b,
            threshold: 0.0,
            weights: FEATURES
                .iter()
                .zip(w)
                .map(|(n, v)| ((*n).to_string(), v))
                .collect(),
        };
        let mut answerable: Vec<f64> = samples
            .iter()
            .filter(|s| s.1)
            .map(|s| model.probability(&s.0))
            .collect();
        answerable.sort_by(f64::total_cmp);
        let allowed = (answerable.len() as f64 * TARGET_WRONGLY_DECLINED).floor() as usize;
        model.threshold = answerable.get(allowed).copied().unwrap_or(0.5) - 1e-9;
        model
    }

    /// The model as TOML, with `header` as leading comment lines.
    #[must_use]
    pub fn to_toml(&self, header: &str) -> String {
        let mut s: String = header.lines().map(|l| format!("# {l}\n")).collect();
        s.push_str(&toml::to_string(self).unwrap_or_default());
        s
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Declines and wrong declines of `model` on labelled samples:
/// (out-of-scope declined, out-of-scope, answerable declined, answerable).
#[must_use]
pub fn confusion(model: &Model, samples: &[([f64; 7], bool)]) -> (usize, usize, usize, usize) {
    let mut c = (0, 0, 0, 0);
    for (x, answerable) in samples {
        let answered = model.answers(x);
        if *answerable {
            c.3 += 1;
            c.2 += usize::from(!answered);
        } else {
            c.1 += 1;
            c.0 += usize::from(!answered);
        }
    }
    c
}

/// `folds`-fold cross-validation (samples assigned round-robin): the confusion counts summed
/// over the held-out folds, each scored by a model fitted on the other folds.
#[must_use]
pub fn cross_validate(samples: &[([f64; 7], bool)], folds: usize) -> (usize, usize, usize, usize) {
    let folds = folds.max(2);
    let mut total = (0, 0, 0, 0);
    for k in 0..folds {
        let train: Vec<_> = samples
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds != k)
            .map(|(_, s)| *s)
            .collect();
        let test: Vec<_> = samples
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds == k)
            .map(|(_, s)| *s)
            .collect();
        let c = confusion(&Model::fit(&train), &test);
        total = (total.0 + c.0, total.1 + c.1, total.2 + c.2, total.3 + c.3);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_model_parses_and_names_known_features() {
        let m: Model = toml::from_str(EMBEDDED).expect("data/model/answerability.toml parses");
        for name in m.weights.keys() {
            assert!(
                FEATURES.contains(&name.as_str()),
                "help: unknown feature {name}"
            );
        }
        assert!((0.0..1.0).contains(&m.threshold));
    }

    #[test]
    fn fitting_separates_a_separable_signal() {
        let sample = |cov: f64, y: bool| ([cov, cov, 0.0, 1.0 - cov, 0.5, 0.0, 1.0], y);
        let samples: Vec<_> = (0..40)
            .map(|i| sample(0.6 + f64::from(i % 10) * 0.04, true))
            .chain((0..20).map(|i| sample(0.1 + f64::from(i % 10) * 0.03, false)))
            .collect();
        let m = Model::fit(&samples);
        let (oos_declined, oos, wrong, _) = confusion(&m, &samples);
        assert_eq!((oos_declined, oos, wrong), (20, 20, 0), "{m:?}");
        let cv = cross_validate(&samples, 5);
        assert_eq!(cv.1, 20);
    }
}
