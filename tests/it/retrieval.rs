//! Retrieval behaviour on the bundled compendium: region awareness, honest declines, grouping
//! of copies, paging, and the quality floors on the gold sets (regression floors for CI).

use std::collections::HashSet;

use policybot::answer::Status;
use policybot::app::AskOptions;
use policybot::corpus::Level;
use policybot::eval;
use policybot::index::SearchOptions;
use policybot::places::{Relation, relation};
use policybot::session::Session;

use super::kb::{app, root};

fn search(q: &str, region: Option<&str>, k: usize, offset: usize) -> policybot::index::Retrieval {
    app().kb().search(
        q,
        &SearchOptions {
            k,
            offset,
            region: region.map(str::to_string),
            ..SearchOptions::default()
        },
    )
}

fn regions(r: &policybot::index::Retrieval) -> Vec<String> {
    let kb = app().kb();
    let corpus = &kb.corpus;
    r.hits
        .iter()
        .map(|h| {
            corpus.documents[corpus.clauses[h.clause].doc]
                .region
                .clone()
        })
        .collect()
}

#[test]
fn a_named_place_ranks_its_own_and_parent_policies_first() {
    let r = search("安阳这边上市有奖励没", None, 3, 0);
    assert_eq!(r.region.as_deref(), Some("河南省/安阳市"));
    for region in regions(&r) {
        assert_ne!(
            relation("河南省/安阳市", &region),
            Relation::Other,
            "{region} in {r:?}"
        );
    }
}

#[test]
fn an_explicit_region_overrides_and_keeps_other_cities_below() {
    let r = search("创业担保贷款贴息", Some("新乡"), 5, 0);
    assert_eq!(r.region.as_deref(), Some("河南省/新乡市"));
    let top = regions(&r);
    assert!(!top.is_empty());
    assert_ne!(
        relation("河南省/新乡市", &top[0]),
        Relation::Other,
        "{top:?}"
    );
}

#[test]
fn without_a_region_national_and_provincial_policies_are_not_buried() {
    let r = search("社保费能缓缴吗", None, 3, 0);
    let kb = app().kb();
    let corpus = &kb.corpus;
    assert!(
        r.hits.iter().any(|h| matches!(
            corpus.documents[corpus.clauses[h.clause].doc].level,
            Level::National | Level::Province
        )),
        "{:?}",
        regions(&r)
    );
}

#[test]
fn questions_outside_the_compendium_are_never_answered() {
    // Mostly words no clause contains: no citation at all.
    for q in ["美元汇率多少", "发票抬头开错了还能作废重开吗"] {
        let r = search(q, None, 5, 0);
        assert!(r.declined && r.hits.is_empty(), "{q}: {r:?}");
    }
    // A year and 河南 occur in clauses: at most a hedged "related" answer, never "answered".
    for q in ["河南2022年高考一本线多少分", "美元汇率多少"] {
        let a = app().ask(q, &mut Session::default(), &AskOptions::default());
        assert!(
            matches!(a.status, Status::NoMatch | Status::Related),
            "{q}: {:?}",
            a.status
        );
    }
    let r = search("小店房租能减免吗", None, 5, 0);
    assert!(!r.declined && !r.hits.is_empty());
}

#[test]
fn copies_of_one_measure_do_not_fill_the_top_three() {
    let kb = app().kb();
    let corpus = &kb.corpus;
    for q in [
        "普惠小微贷款支持工具资金支持比例",
        "扩大实施社保费缓缴政策",
        "房租减免",
    ] {
        let r = search(q, None, 3, 0);
        let texts: Vec<HashSet<(char, char)>> = r
            .hits
            .iter()
            .map(|h| {
                let c: Vec<char> = corpus.clauses[h.clause]
                    .text
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                c.windows(2).map(|w| (w[0], w[1])).collect()
            })
            .collect();
        for i in 0..texts.len() {
            for j in 0..i {
                let inter = texts[i].intersection(&texts[j]).count() as f32;
                let union = (texts[i].len() + texts[j].len()) as f32 - inter;
                assert!(inter / union < 0.6, "{q}: hits {j} and {i} are copies");
            }
        }
    }
}

#[test]
fn pages_do_not_repeat_clauses() {
    let first = search("创业担保贷款", None, 5, 0);
    let second = search("创业担保贷款", None, 5, 5);
    let a: HashSet<usize> = first.hits.iter().map(|h| h.clause).collect();
    assert_eq!(second.hits.len(), 5);
    assert!(second.hits.iter().all(|h| !a.contains(&h.clause)));
}

/// Issue 11: a later page (更多结果) is read off the ranking its first page kept; it must be the
/// page a search of its own gives. A second app over the same index has kept nothing yet, so
/// its first search of each page is a search of its own.
#[test]
fn a_page_read_off_the_kept_ranking_is_the_page_a_search_gives() {
    let fresh = super::kb::fresh_app();
    let kb = fresh.kb();
    let questions = eval::load(&root().join("tests/data/gold.jsonl")).expect("gold set loads");
    let mut asked: Vec<(String, Option<&str>)> = (questions.iter().take(40))
        .map(|q| (q.question.clone(), None))
        .collect();
    asked.push(("创业担保贷款贴息".to_string(), Some("新乡")));
    asked.push(("社保费能缓缴吗？缓缴期间还能提取公积金吗".to_string(), None));
    let mut read_off = 0;
    for (q, region) in &asked {
        let opts = |offset| SearchOptions {
            k: 6,
            offset,
            region: region.map(str::to_string),
            ..SearchOptions::default()
        };
        let searched = kb.search(q, &opts(6));
        let first = kb.search(q, &opts(0));
        assert!(first.hits.iter().all(|h| !searched.hits.contains(h)), "{q}");
        let kept = kb.search(q, &opts(6));
        assert_eq!(kept, searched, "{q}");
        read_off += usize::from(!kept.hits.is_empty());
    }
    assert!(
        read_off >= 30,
        "only {read_off} questions had a second page"
    );
}

/// The quality bars: recall@3 ≥ 0.90 and MRR ≥ 0.80.
fn assert_quality_floors(r: &eval::Report) {
    assert!(
        r.recall_at_3 >= 0.90,
        "recall@3 {:.3}\n{}",
        r.recall_at_3,
        r.to_text()
    );
    assert!(r.mrr >= 0.80, "MRR {:.3}\n{}", r.mrr, r.to_text());
}

#[test]
fn own_gold_set_meets_the_floors() {
    let questions = eval::load(&root().join("tests/data/gold.jsonl")).expect("gold set loads");
    assert!(questions.len() >= 150);
    let r = eval::run(app(), &questions, 10, 1);
    assert_quality_floors(&r);
    assert!(r.wrongly_declined <= 2, "{}", r.to_text());
    assert!(r.out_of_scope_declined >= 9, "{}", r.to_text());
}

/// A shared eval file, or `None` (skip locally, fail under `CI=true`).
fn shared(name: &str) -> Option<Vec<eval::GoldQuestion>> {
    let path = root().join("../shared/eval").join(name);
    if !path.is_file() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must have {}",
            path.display()
        );
        eprintln!("SKIPPED: {} not found", path.display());
        return None;
    }
    Some(eval::load(&path).expect("shared eval set loads"))
}

#[test]
fn dev_set_meets_the_floors() {
    let Some(questions) = shared("dev.jsonl") else {
        return;
    };
    let r = eval::run(app(), &questions, 10, 1);
    assert_quality_floors(&r);
    assert!(r.out_of_scope_declined >= 3, "{}", r.to_text());
    assert_eq!(r.wrongly_declined, 0, "{}", r.to_text());
}

/// Floors just under the figures measured when measure-word counts and the 解读 prior landed
/// (session 17: r@3 0.888, MRR 0.864; held-out half r@3 0.862), so a change that loses quality
/// on the independent set fails CI. The held-out (odd) half is scored
/// separately: it is never tuned on.
#[test]
fn independent_set_holds_its_figures() {
    let Some(questions) = shared("dev2.jsonl") else {
        return;
    };
    let r = eval::run(app(), &questions, 10, 1);
    assert!(r.recall_at_3 >= 0.88, "{}", r.to_text());
    assert!(r.mrr >= 0.86, "{}", r.to_text());
    assert!(r.out_of_scope_declined >= 18, "{}", r.to_text());
    assert!(r.wrongly_declined <= 4, "{}", r.to_text());
    let odd: Vec<_> = questions
        .into_iter()
        .filter(|q| eval::Half::Odd.contains(&q.id))
        .collect();
    let r = eval::run(app(), &odd, 10, 1);
    assert!(r.recall_at_3 >= 0.85, "held-out half\n{}", r.to_text());
    assert!(
        r.out_of_scope_declined >= 7,
        "held-out half\n{}",
        r.to_text()
    );
}

/// Hard out-of-scope questions written in session 19 from classes of hotline requests the
/// compendium mentions but does not answer (tax rates, standing rates, addresses, procedures),
/// never used to fit the answerability model: a measure of how often the bot still cites a
/// loosely related clause. Declined 6 of 28 when written; the floor is just under it.
#[test]
fn hard_out_of_scope_questions_keep_their_declines() {
    let questions =
        eval::load(&root().join("tests/data/out_of_scope.jsonl")).expect("out-of-scope set loads");
    assert!(questions.len() >= 25 && questions.iter().all(|q| q.gold.is_empty()));
    let r = eval::run(app(), &questions, 10, 1);
    assert!(r.out_of_scope_declined >= 5, "{}", r.to_text());
}

#[test]
fn follow_ups_find_their_clause_in_context() {
    let questions =
        eval::load(&root().join("tests/data/followups.jsonl")).expect("two-turn cases load");
    assert!(questions.len() >= 30 && questions.iter().all(|q| q.first.is_some()));
    let r = eval::run(app(), &questions, 10, 1);
    // Session 17: 0.702.
    assert!(r.recall_at_3 >= 0.68, "{}", r.to_text());
}
