use std::time::Instant;
fn main() {
    let t = Instant::now();
    let seg =
        policybot::text::segment::Segmenter::load(std::path::Path::new("data/lexicon")).unwrap();
    println!("jieba load {:?}", t.elapsed());
    let t = Instant::now();
    let c = policybot::corpus::load_dir(std::path::Path::new("data/compendium")).unwrap();
    println!("parse {:?} clauses {}", t.elapsed(), c.clauses.len());
    let t = Instant::now();
    let mut n = 0;
    for cl in &c.clauses {
        n += seg.tokens(&cl.text).len();
    }
    println!("tokenize all {:?} tokens {}", t.elapsed(), n);
    let t = Instant::now();
    let j = serde_json::to_vec(&c).unwrap();
    println!("json {:?} bytes {}", t.elapsed(), j.len());
    let t = Instant::now();
    let _c2: policybot::corpus::Corpus = serde_json::from_slice(&j).unwrap();
    println!("json load {:?}", t.elapsed());
}
