use std::io::BufRead;
fn main() {
    let cfg = policybot::config::Config::default();
    let (app, _) = policybot::app::App::load(&cfg, false, &mut |_, _| {}).unwrap();
    let kb = app.kb();
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let q: serde_json::Value = serde_json::from_str(&line).unwrap();
        let question = q["question"].as_str().unwrap();
        let kind = q["kind"].as_str().unwrap();
        let r = kb.search(
            question,
            &policybot::index::SearchOptions {
                k: 5,
                offset: 0,
                region: None,
            },
        );
        let toks: Vec<String> = kb
            .segmenter
            .tokens(question)
            .into_iter()
            .map(|t| t.text)
            .collect();
        println!(
            "{} {} {} | cov {:.2} declined {} region {:?}\n   terms {:?}\n   toks {:?}",
            q["id"], kind, question, r.coverage, r.declined, r.region, r.terms, toks
        );
        for h in r.hits.iter().take(3) {
            let c = &kb.corpus.clauses[h.clause];
            println!(
                "   {:.2} {} | {}",
                h.score,
                kb.corpus.documents[c.doc].title,
                c.text.chars().take(60).collect::<String>()
            );
        }
    }
}
