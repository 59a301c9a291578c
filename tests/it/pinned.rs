//! Pins the status and top three clause ids of every question of the dev sets and the gold set
//! (`tests/data/top3.tsv`), so that speed and structure work cannot move an answer unnoticed.
//! After an intended ranking change, `PINNED_UPDATE=1 cargo test --test it pinned` rewrites the
//! file; its diff shows which answers moved, for the commit message.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use policybot::app::AskOptions;
use policybot::eval;
use policybot::session::Session;

use super::kb::{app, root};

const PINS: &str = "tests/data/top3.tsv";

/// `set:id` → `status<TAB>id1,id2,id3` for every question of the sets present.
fn current() -> BTreeMap<String, String> {
    let mut sets = vec![("gold", root().join("tests/data/gold.jsonl"))];
    for name in ["dev", "dev2"] {
        let path = root().join(format!("../shared/eval/{name}.jsonl"));
        if path.is_file() {
            sets.push((name, path));
        } else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI must have {}",
                path.display()
            );
            eprintln!(
                "SKIPPED: {} not found; its pins are not checked",
                path.display()
            );
        }
    }
    let opts = AskOptions {
        region: None,
        k: Some(3),
        ..AskOptions::default()
    };
    let mut out = BTreeMap::new();
    for (set, path) in sets {
        for q in eval::load(&path).expect("question set loads") {
            let answer = app().ask(&q.question, &mut Session::default(), &opts);
            let ids: Vec<&str> = answer.hits.iter().map(|h| h.clause_id.as_str()).collect();
            out.insert(
                format!("{set}:{}", q.id),
                format!("{:?}\t{}", answer.status, ids.join(",")),
            );
        }
    }
    out
}

#[test]
fn top_three_clauses_of_every_question_are_pinned() {
    let now = current();
    let path = root().join(PINS);
    if std::env::var("PINNED_UPDATE").as_deref() == Ok("1") {
        let mut text = String::new();
        for (k, v) in &now {
            writeln!(text, "{k}\t{v}").expect("write to string");
        }
        std::fs::write(&path, text).expect("pins written");
        return;
    }
    let pinned: BTreeMap<String, String> = std::fs::read_to_string(&path)
        .expect("tests/data/top3.tsv exists (PINNED_UPDATE=1 writes it)")
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let moved: Vec<String> = now
        .iter()
        .filter(|(k, v)| pinned.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: pinned {:?}, now {v:?}", pinned.get(k)))
        .collect();
    assert!(
        moved.is_empty(),
        "{} answers moved (PINNED_UPDATE=1 rewrites {PINS} after an intended change):\n{}",
        moved.len(),
        moved.join("\n")
    );
    assert!(now.len() >= 200, "every set was asked: {}", now.len());
}
