//! `policybot eval` (recall, declines and latency on gold questions) and `policybot calibrate`
//! (fits the answered/related decision).

use std::path::Path;

use anyhow::Context;

use super::Outcome;
use super::out::{out, outln};
use crate::app::App;
use crate::config::Config;
use crate::eval::{self, GoldQuestion, Half};

/// Scores `file` (or one half of it), text or JSON; refused when recall@3 is below `min_recall3`.
pub(super) fn eval(
    app: &App,
    file: &Path,
    k: usize,
    json: bool,
    repeat: usize,
    min_recall3: Option<f64>,
    half: Option<Half>,
) -> anyhow::Result<Outcome> {
    let mut questions = labelled(file, eval::load(file)?);
    if let Some(half) = half {
        questions.retain(|q| half.contains(&q.id));
    }
    if questions.is_empty() {
        eprintln!("{} 中没有可评分的已标注问题。", file.display());
        return Ok(Outcome::Refused);
    }
    let report = eval::run(app, &questions, k, repeat);
    if json {
        outln!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        out!("{}", report.to_text())?;
    }
    match min_recall3 {
        Some(floor) if report.recall_at_3 < floor => {
            eprintln!(
                "recall@3 {:.3} is below the floor {floor:.3}",
                report.recall_at_3
            );
            Ok(Outcome::Refused)
        }
        _ => Ok(Outcome::Done),
    }
}

/// Fits the model to `files` (`FILE`, `FILE:even`, `FILE:odd`), prints the declines and, with
/// `write`, stores it in the data directory.
pub(super) fn calibrate(
    cfg: &Config,
    app: &App,
    files: &[String],
    folds: usize,
    write: bool,
) -> anyhow::Result<Outcome> {
    let mut questions = Vec::new();
    for spec in files {
        let (path, half) = match spec.rsplit_once(':') {
            Some((p, "even")) => (p, Some(Half::Even)),
            Some((p, "odd")) => (p, Some(Half::Odd)),
            _ => (spec.as_str(), None),
        };
        let mut q = labelled(Path::new(path), eval::load(Path::new(path))?);
        if let Some(half) = half {
            q.retain(|q| half.contains(&q.id));
        }
        questions.extend(q);
    }
    if questions.is_empty() {
        eprintln!("没有可用于拟合的已标注问题。");
        return Ok(Outcome::Refused);
    }
    let report = eval::calibrate(app, &questions, folds);
    out!("{}", report.text)?;
    if write {
        let path = cfg.data_dir.join(crate::answer::answerability::MODEL_FILE);
        let header = format!(
            "Fitted by `policybot calibrate {}` ({} samples).\n{}",
            files.join(" "),
            report.samples,
            report.text.trim_end()
        );
        std::fs::write(&path, report.model.to_toml(&header))
            .with_context(|| format!("writing {}", path.display()))?;
        outln!("wrote {}", path.display())?;
    }
    Ok(Outcome::Done)
}

/// The labelled questions of `file` ([`GoldQuestion::is_labelled`]); says on stderr how many
/// were skipped (e.g. lines from `policybot review --jsonl-gold` an editor has not labelled yet).
fn labelled(file: &Path, questions: Vec<GoldQuestion>) -> Vec<GoldQuestion> {
    let (labelled, skipped): (Vec<GoldQuestion>, Vec<GoldQuestion>) =
        questions.into_iter().partition(GoldQuestion::is_labelled);
    if !skipped.is_empty() {
        let ids: Vec<&str> = skipped.iter().take(5).map(|q| q.id.as_str()).collect();
        let more = if skipped.len() > ids.len() {
            " …"
        } else {
            ""
        };
        eprintln!(
            "{}: 跳过 {} 条未标注的问题（kind 为空，或 gold 与 kind 不符）: {}{more}",
            file.display(),
            skipped.len(),
            ids.join(", ")
        );
    }
    labelled
}
