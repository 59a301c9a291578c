//! Cross-copy de-duplication: the same document printed in two compendiums (same 文号, or same
//! core title plus near-identical text when a copy lacks its 文号) is indexed once, from the richer
//! copy — or from the newer version when `ingest` listed the other as superseded; the other copy's
//! lines become [`DiscardClass::Duplicate`] and its places are recorded in `sources`.

use std::collections::{HashMap, HashSet};

use super::lines::title_key;
use super::{Clause, Corpus, Discard, DiscardClass, Superseded, identity, same_identity};

/// Minimum shingle overlap for a title-only match.
const SIMILAR: f64 = 0.6;

fn core_title(title: &str) -> String {
    let k = title_key(title);
    match k.find("关于") {
        Some(i) => k[i..].to_string(),
        None => k,
    }
}

fn shingles(clauses: &[&Clause]) -> HashSet<u64> {
    let text: String = clauses
        .iter()
        .flat_map(|c| c.text.chars())
        .filter(|c| c.is_alphanumeric())
        .collect();
    let chars: Vec<char> = text.chars().collect();
    chars
        .windows(4)
        .map(|w| {
            let mut h: u64 = 1469598103934665603;
            for &c in w {
                h = (h ^ u64::from(c)).wrapping_mul(1099511628211);
            }
            h
        })
        .collect()
}

fn similarity(a: &HashSet<u64>, b: &HashSet<u64>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let inter = a.intersection(b).count() as f64;
    inter / a.len().min(b.len()) as f64
}

/// Merges duplicate documents in place; a copy listed in `superseded` loses to any other copy.
pub(crate) fn dedup(c: &mut Corpus, superseded: &[Superseded]) {
    let n = c.documents.len();
    let old: Vec<bool> = c
        .documents
        .iter()
        .map(|d| superseded.iter().any(|s| s.covers(d)))
        .collect();
    let mut by_doc: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, cl) in c.clauses.iter().enumerate() {
        if let Some(v) = by_doc.get_mut(cl.doc) {
            v.push(i);
        }
    }
    let richness: Vec<usize> = (0..n)
        .map(|d| {
            let text: usize = by_doc[d]
                .iter()
                .map(|&i| c.clauses[i].text.chars().count())
                .sum();
            let tags: usize = by_doc[d]
                .iter()
                .map(|&i| c.clauses[i].departments.len())
                .sum();
            let doc = &c.documents[d];
            text + 200 * tags
                + 500 * usize::from(doc.doc_number.is_some())
                + 300 * usize::from(doc.date.is_some())
        })
        .collect();
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    let mut shingle_cache: HashMap<usize, HashSet<u64>> = HashMap::new();
    for i in 0..n {
        for j in i + 1..n {
            let (a, b) = (&c.documents[i], &c.documents[j]);
            let same = match (&a.doc_number, &b.doc_number) {
                (Some(x), Some(y)) => x == y,
                _ => {
                    core_title(&a.title).len() >= 12
                        && core_title(&a.title) == core_title(&b.title)
                        && {
                            for d in [i, j] {
                                shingle_cache.entry(d).or_insert_with(|| {
                                    shingles(
                                        &by_doc[d]
                                            .iter()
                                            .map(|&k| &c.clauses[k])
                                            .collect::<Vec<_>>(),
                                    )
                                });
                            }
                            similarity(&shingle_cache[&i], &shingle_cache[&j]) >= SIMILAR
                        }
                }
            };
            // A superseded copy and its newer version may differ too much for the text test.
            let replaced = old[i] != old[j]
                && same_identity(
                    &identity(a.doc_number.as_deref(), &a.title),
                    &identity(b.doc_number.as_deref(), &b.title),
                );
            if same || replaced {
                pairs.push((i, j));
            }
        }
    }
    let mut dropped = vec![false; n];
    let mut keeper_of = vec![usize::MAX; n];
    for (i, j) in pairs {
        if dropped[i] || dropped[j] {
            continue;
        }
        let (keep, drop) = if old[i] != old[j] {
            if old[i] { (j, i) } else { (i, j) }
        } else if richness[j] > richness[i] {
            (j, i)
        } else {
            (i, j)
        };
        dropped[drop] = true;
        keeper_of[drop] = keep;
        merge_sources(c, &by_doc, keep, drop);
    }
    if !dropped.iter().any(|&d| d) {
        return;
    }
    // Children of a dropped copy now belong to its keeper.
    let renames: HashMap<String, String> = (0..n)
        .filter(|&d| dropped[d])
        .map(|d| {
            (
                c.documents[d].id.clone(),
                c.documents[keeper_of[d]].id.clone(),
            )
        })
        .collect();
    for d in &mut c.documents {
        if let Some(p) = d.parent.as_ref().and_then(|p| renames.get(p)) {
            d.parent = Some(p.clone());
        }
    }
    let mut new_index = vec![usize::MAX; n];
    let mut k = 0;
    for (d, slot) in new_index.iter_mut().enumerate() {
        if !dropped[d] {
            *slot = k;
            k += 1;
        }
    }
    let mut docs = std::mem::take(&mut c.documents);
    let mut idx = 0;
    docs.retain(|_| {
        idx += 1;
        !dropped[idx - 1]
    });
    c.documents = docs;
    let clauses = std::mem::take(&mut c.clauses);
    for mut cl in clauses {
        if dropped.get(cl.doc).copied().unwrap_or(false) {
            let file = cl
                .sources
                .first()
                .map(|s| s.file.clone())
                .unwrap_or_default();
            c.discards.extend(cl.lines.iter().map(|&line| Discard {
                file: file.clone(),
                line,
                class: DiscardClass::Duplicate,
            }));
            continue;
        }
        cl.doc = new_index[cl.doc];
        c.clauses.push(cl);
    }
}

fn clause_key(cl: &Clause) -> (String, String) {
    (
        format!("{:?}", cl.kind),
        cl.text
            .chars()
            .filter(|c| c.is_alphanumeric())
            .take(12)
            .collect(),
    )
}

fn merge_sources(c: &mut Corpus, by_doc: &[Vec<usize>], keep: usize, drop: usize) {
    let other = c.documents[drop].sources.clone();
    c.documents[keep].sources.extend(other);
    let mut theirs: HashMap<(String, String), Vec<usize>> = HashMap::new();
    for &i in &by_doc[drop] {
        theirs.entry(clause_key(&c.clauses[i])).or_default().push(i);
    }
    for &i in &by_doc[keep] {
        let key = clause_key(&c.clauses[i]);
        let Some(list) = theirs.get_mut(&key) else {
            continue;
        };
        if list.is_empty() {
            continue;
        }
        let j = list.remove(0);
        if let Some(src) = c.clauses[j].sources.first().cloned() {
            c.clauses[i].sources.push(src);
        }
    }
}
