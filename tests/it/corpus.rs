//! Corpus parser tests on the real `data/compendium/` files and on short real excerpts.

use std::collections::BTreeMap;
use std::path::Path;

use policybot::corpus::{Corpus, load_dir};

fn data() -> Corpus {
    load_dir(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/compendium"
    )))
    .expect("load data")
}

#[test]
fn dump_stats() {
    let c = data();
    let mut kinds = BTreeMap::new();
    for cl in &c.clauses {
        *kinds.entry(format!("{:?}", cl.kind)).or_insert(0) += 1;
    }
    let mut discards = BTreeMap::new();
    for d in &c.discards {
        *discards.entry(format!("{:?}", d.class)).or_insert(0) += 1;
    }
    for d in &c.documents {
        println!(
            "{} {}:{} [{}] {:?} {:?} {:?} {:?} {} parent={:?} srcs={}",
            d.id,
            d.sources[0].file,
            d.sources[0].line,
            d.title,
            d.doc_number,
            d.issuer,
            d.date,
            d.level,
            d.region,
            d.parent,
            d.sources.len()
        );
    }
    println!(
        "docs {} kinds {kinds:?} discards {discards:?}",
        c.documents.len()
    );
}

fn squash(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfkc().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn every_nonblank_line_is_accounted_for_exactly_once() {
    let c = data();
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data/compendium"));
    let mut seen: BTreeMap<(String, usize), usize> = BTreeMap::new();
    for cl in &c.clauses {
        let file = &cl.sources[0].file;
        for &l in &cl.lines {
            *seen.entry((file.clone(), l)).or_default() += 1;
        }
    }
    for d in &c.discards {
        *seen.entry((d.file.clone(), d.line)).or_default() += 1;
    }
    let mut missing = Vec::new();
    let mut twice = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match seen.get(&(name.clone(), i + 1)) {
                None => missing.push(format!("{name}:{}", i + 1)),
                Some(1) => {}
                Some(_) => twice.push(format!("{name}:{}", i + 1)),
            }
        }
    }
    assert!(
        missing.is_empty(),
        "help: {} lines lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert!(
        twice.is_empty(),
        "help: {} lines counted twice, e.g. {:?}",
        twice.len(),
        &twice[..twice.len().min(10)]
    );
}

#[test]
fn dev_gold_snippets_are_substrings_of_clauses() {
    let c = data();
    let texts: Vec<String> = c.clauses.iter().map(|cl| squash(&cl.text)).collect();
    let dev = std::fs::read_to_string("/work/shared/eval/dev.jsonl").or_else(|_| {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/eval/dev.jsonl"
        ))
    });
    let Ok(dev) = dev else { return };
    let mut failed = Vec::new();
    let mut n = 0;
    for line in dev.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for g in v["gold"].as_array().into_iter().flatten() {
            let snippet = squash(g["snippet"].as_str().unwrap_or_default());
            n += 1;
            if !texts.iter().any(|t| t.contains(&snippet)) {
                failed.push(snippet);
            }
        }
    }
    assert!(n > 0);
    assert!(
        failed.is_empty(),
        "help: snippets not found in any clause: {failed:?}"
    );
}

#[test]
fn debug_lines() {
    let Ok(want) = std::env::var("DEBUG_LINES") else {
        return;
    };
    let c = data();
    for w in want.split(',') {
        let (f, l) = w.split_once(':').unwrap();
        let l: usize = l.parse().unwrap();
        for cl in &c.clauses {
            if cl.sources[0].file.starts_with(f) && cl.lines.contains(&l) {
                println!(
                    "== {w} {:?} {:?} {:?}\n{}\n",
                    cl.kind, cl.path, cl.lines, cl.text
                );
            }
        }
        for d in &c.discards {
            if d.file.starts_with(f) && d.line == l {
                println!("== {w} discarded {:?}", d.class);
            }
        }
    }
}
