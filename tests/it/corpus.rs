//! Corpus parser tests on the real `data/compendium/` files and on short real excerpts.

use std::collections::BTreeMap;
use std::path::Path;

use policybot::corpus::{Corpus, load_dir};

fn data() -> Corpus {
    load_dir(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data/compendium"))).expect("load data")
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
            d.id, d.sources[0].file, d.sources[0].line, d.title, d.doc_number, d.issuer, d.date, d.level, d.region,
            d.parent, d.sources.len()
        );
    }
    println!("docs {} kinds {kinds:?} discards {discards:?}", c.documents.len());
}
