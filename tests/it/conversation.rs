//! The shared session logic of `App::ask` (used by `chat` and the bot): follow-ups by number,
//! "那安阳呢", aspect follow-ups, paging, intents and bad input.

use policybot::answer::{Answer, Cited, Followup, Status};
use policybot::app::{Action, AskOptions, Reply};
use policybot::render;
use policybot::session::Session;

use super::kb::app;

#[test]
fn region_follow_up_re_asks_the_last_question_for_that_place() {
    let mut s = Session::default();
    let first = app().ask("小店房租能减免吗", &mut s, &AskOptions::default());
    assert_eq!(first.status, Status::Answered);
    let narrowed = app().ask("那安阳呢", &mut s, &AskOptions::default());
    assert_eq!(narrowed.status, Status::Answered);
    assert_eq!(narrowed.region.as_deref(), Some("河南省/安阳市"));
    assert!(narrowed.question.contains("房租"), "{}", narrowed.question);
}

#[test]
fn aspect_follow_up_combines_with_the_last_question() {
    let mut s = Session::default();
    let _ = app().ask("创业担保贷款", &mut s, &AskOptions::default());
    let a = app().ask("申请条件呢", &mut s, &AskOptions::default());
    assert!(
        a.question.contains("创业担保贷款") && a.question.contains("申请条件"),
        "{}",
        a.question
    );
    let fresh = app().ask("专精特新小巨人有什么奖励", &mut s, &AskOptions::default());
    assert_eq!(
        fresh.question, "专精特新小巨人有什么奖励",
        "a standalone question starts fresh"
    );
}

#[test]
fn numbered_follow_ups_page_and_open_full_text() {
    let mut s = Session::default();
    let a = app().ask("融资担保费率", &mut s, &AskOptions::default());
    assert_eq!(a.hits.len(), 3);
    let more = a
        .followups
        .iter()
        .position(|f| *f == Followup::More)
        .expect("更多结果 offered")
        + 1;
    let full = a
        .followups
        .iter()
        .position(|f| matches!(f, Followup::FullText { rank: 1, .. }))
        .expect("全文 1 offered")
        + 1;
    let press = |n: usize, s: &mut Session| {
        let kind = s.followups[n - 1].kind();
        let action = Action::Followup {
            answer_id: s.answer_id,
            n,
            kind,
        };
        app().press(s, action)
    };
    match press(full, &mut s.clone()) {
        Some(Reply::FullText(t)) => assert_eq!(t.text, a.hits[0].text),
        other => panic!("expected full text, got {other:?}"),
    }
    // Typed, by number or label, a follow-up is pressed exactly like its button.
    for typed in [full.to_string(), "全文 1".to_string(), "全文1".to_string()] {
        let reply = app().message(&typed, &mut s.clone(), &AskOptions::default());
        assert_eq!(Some(reply), press(full, &mut s.clone()), "{typed:?}");
    }
    let next = match app().message(&more.to_string(), &mut s, &AskOptions::default()) {
        Reply::Answer(next) => next,
        other => panic!("expected the next page, got {other:?}"),
    };
    assert_eq!(
        next.hits.first().map(|h| h.rank),
        Some(4),
        "page 2 starts at rank 4"
    );
    assert!(
        next.hits
            .iter()
            .all(|h| a.hits.iter().all(|p| p.clause_id != h.clause_id))
    );
    let stale = Action::Followup {
        answer_id: s.answer_id + 1,
        n: 1,
        kind: Followup::More.kind(),
    };
    assert!(
        app().press(&mut s, stale).is_none(),
        "another answer's button"
    );
    match app().message("99", &mut s, &AskOptions::default()) {
        Reply::Answer(a) => assert_eq!(a.status, Status::Invalid, "{}", a.lead),
        other => panic!("expected an explanation, got {other:?}"),
    }
    // 全文 N for a rank the answer did not cite is explained, not searched for.
    for typed in ["全文 9", "全文9"] {
        match app().message(typed, &mut s, &AskOptions::default()) {
            Reply::Answer(a) => {
                assert_eq!(a.status, Status::Invalid, "{typed}: {}", a.lead);
                assert!(a.lead.contains("第 9 条"), "{}", a.lead);
                assert!(a.hits.is_empty());
            }
            other => panic!("expected an explanation, got {other:?}"),
        }
    }
}

#[test]
fn greetings_are_intents_and_bad_input_is_explained() {
    let mut s = Session::default();
    assert_eq!(
        app().ask("你好", &mut s, &AskOptions::default()).status,
        Status::Intent
    );
    for bad in ["", "🎉🎉", "\u{7}贷款"] {
        let a = app().ask(bad, &mut s, &AskOptions::default());
        assert_eq!(a.status, Status::Invalid, "{bad:?}");
        assert!(a.hits.is_empty() && !a.lead.is_empty());
    }
}

#[test]
fn a_typed_homophone_is_read_as_the_corpus_word_and_the_reply_says_so() {
    let a = app().ask(
        "创业担保代款能贴息吗",
        &mut Session::default(),
        &AskOptions::default(),
    );
    assert_eq!(a.status, Status::Answered, "{}", a.lead);
    assert!(a.lead.contains("“代款”按“贷款”理解"), "{}", a.lead);
    assert!(
        a.hits[0].text.contains("担保贷款"),
        "the repaired word ranks the clause: {}",
        a.hits[0].text
    );
    let b = app().ask(
        "专精特心企业有啥奖励",
        &mut Session::default(),
        &AskOptions::default(),
    );
    assert!(b.lead.contains("“专精特心”按“专精特新”理解"), "{}", b.lead);
    assert!(b.hits.iter().any(|h| h.text.contains("专精特新")), "{b:?}");
}

/// Issue 8 (#8): typos that jieba glues to a stop-word character (神请, 公四在), typos of a place
/// (安样: the place then narrows the answer, as a place typed right does) and typos of a question
/// word (多绍: stripped as 多少, not searched as a content word); and no repair of a particle or
/// modal verb beside a content word (期能, 高得), which the corpus never pairs either.
#[test]
fn typos_beside_stop_words_of_places_and_of_question_words_are_read_right() {
    let ask = |q: &str| app().ask(q, &mut Session::default(), &AskOptions::default());
    for (q, typed, read_as) in [
        ("科技贷去哪里神请", "神请", "申请"),
        (
            "我们公四在融资信用平台上的信息，自己查要收钱吗",
            "公四",
            "公司",
        ),
        ("要在这个行业干满多绍年", "多绍", "多少"),
        ("安样个人创业担保贷款最多能贷多少", "安样", "安阳"),
    ] {
        let a = ask(q);
        let note = format!("“{typed}”按“{read_as}”理解");
        assert!(a.lead.contains(&note), "{q}: {}", a.lead);
    }
    let place = ask("安样个人创业担保贷款最多能贷多少");
    assert_eq!(
        place.region.as_deref(),
        Some("河南省/安阳市"),
        "{}",
        place.lead
    );
    for q in ["整改期能延长吗", "违约金高得离谱，我们能请求法院调减吗"] {
        let a = ask(q);
        assert!(!a.lead.contains("理解"), "{q}: {}", a.lead);
    }
}

#[test]
fn requests_outside_support_policy_are_not_answered_with_citations() {
    for q in ["注销公司要多长时间", "我想注册商标，商标申请怎么交材料"] {
        let a = app().ask(q, &mut Session::default(), &AskOptions::default());
        assert_ne!(a.status, Status::Answered, "{q}: {}", a.lead);
        if a.status == Status::Related {
            assert!(a.lead.contains("没有找到直接规定"), "{}", a.lead);
        } else {
            assert!(a.hits.is_empty() && a.lead.contains("12345"), "{}", a.lead);
        }
    }
}

#[test]
fn a_short_aspect_or_place_follow_up_keeps_the_last_topic() {
    let mut s = Session::default();
    let _ = app().ask(
        "创业担保贷款个人最高能贷多少",
        &mut s,
        &AskOptions::default(),
    );
    let a = app().ask("咋申请", &mut s, &AskOptions::default());
    assert!(a.question.contains("创业担保贷款"), "{}", a.question);
    assert!(
        !a.question.contains("多少"),
        "the last question's question words are dropped: {}",
        a.question
    );
    let b = app().ask("安阳有没有", &mut s, &AskOptions::default());
    assert_eq!(b.region.as_deref(), Some("河南省/安阳市"), "{}", b.question);
    assert!(b.question.contains("创业担保贷款"), "{}", b.question);
}

/// Issue 8 (#8): the words of a follow-up can dilute an answerable question below the coverage
/// floor ("降到" is in none of the clauses about the rate cut); rather than "no match", the last
/// question is asked again with the follow-up's question words, which still ask for a date.
#[test]
fn a_follow_up_that_finds_nothing_asks_the_last_question_for_its_kind_of_answer() {
    let mut s = Session::default();
    let first = app().ask(
        "河南工伤保险费率今年还降不降",
        &mut s,
        &AskOptions::default(),
    );
    assert_eq!(first.status, Status::Answered);
    let a = app().ask("降到啥时候", &mut s, &AskOptions::default());
    assert_eq!(a.status, Status::Answered, "{}", a.lead);
    assert!(
        a.question.contains("工伤保险费率") && a.question.contains("啥时候"),
        "{}",
        a.question
    );
    assert!(!a.question.contains("降到"), "{}", a.question);
    assert!(
        a.hits.iter().any(|h| h.text.contains("2023 年 4 月 30 日")),
        "the end date of the cut is cited: {:?}",
        a.hits.iter().map(|h| &h.text).collect::<Vec<_>>()
    );
}

/// Issue 8 (#8): a follow-up that cites a clause the last answer cited too shows, in its
/// excerpt, the sentence with the follow-up's own words ("要什么材料": the 佐证材料 sentence),
/// not the same excerpt again.
#[test]
fn a_follow_up_excerpt_shows_the_sentence_with_its_own_words() {
    let mut s = Session::default();
    let opts = AskOptions::default();
    let first = app().ask("安阳研发费用补助咋补的", &mut s, &opts);
    let a = app().ask("要什么材料", &mut s, &opts);
    let excerpt_of = |answer: &Answer, id: &str| {
        (answer.hits.iter())
            .find(|h| h.clause_id == id)
            .map(Cited::excerpt_text)
    };
    let again: Vec<(String, String)> = (a.hits.iter())
        .filter_map(|h| Some((excerpt_of(&first, &h.clause_id)?, h.excerpt_text())))
        .collect();
    assert!(
        !again.is_empty(),
        "the follow-up cites a clause of the last answer"
    );
    assert!(
        again
            .iter()
            .any(|(before, now)| !before.contains("材料") && now.contains("材料")),
        "{again:?}"
    );
}

/// Issue 12 (#12): the 📋 工单格式 press (`App::press`) gives the last answer's question and its
/// cited clauses in full, as cited (rank, text, departments, validity, sources); the ticket text
/// names every source. A press for an older answer is refused.
#[test]
fn ticket_holds_the_last_answers_clauses_in_full() {
    let mut s = Session::default();
    let a = app().ask("小店房租能减免吗", &mut s, &AskOptions::default());
    assert_eq!(a.status, Status::Answered);
    let id = s.answer_id;
    let Some(Reply::Ticket(t)) = app().press(&mut s, Action::Ticket { answer_id: id }) else {
        panic!("help: no ticket");
    };
    assert_eq!(t.question, a.question);
    let cited = |c: &policybot::answer::Cited| {
        let d = (c.departments.clone(), c.validity.clone(), c.sources.clone());
        (
            c.rank,
            c.clause_id.clone(),
            c.doc_number.clone(),
            c.text.clone(),
            d,
        )
    };
    let want: Vec<_> = a.hits.iter().map(cited).collect();
    assert!(!want.is_empty());
    assert_eq!(t.clauses.iter().map(cited).collect::<Vec<_>>(), want);
    let text = render::plain::ticket(&t);
    for hit in &a.hits {
        assert!(
            text.contains(&hit.sources_line()),
            "help: {}",
            hit.sources_line()
        );
    }
    assert_eq!(
        app().press(&mut s, Action::Ticket { answer_id: id + 1 }),
        None
    );
}

/// A place switched to after an answer ("那安阳呢") asks for that place's own policies: they rank
/// before its parents' (province, national), which the first answer already offered. Compared
/// with the same question asked with that region favoured as `/region` does, the place's own
/// clauses never rank lower, and in some conversations higher.
#[test]
fn a_place_switch_puts_the_places_own_documents_first() {
    let pairs = [
        ("小店房租能减免吗", "那安阳呢"),
        ("担保公司降了担保费 国家给奖补吗", "安阳这边呢"),
        ("创业担保贷款个人最高能贷多少", "那新乡呢"),
        ("专利能拿去银行质押贷款吗", "新乡呢"),
        ("企业上市有什么奖励", "那安阳呢"),
    ];
    let mut gained = 0.0;
    for (first, then) in pairs {
        let mut s = Session::default();
        let _ = app().ask(first, &mut s, &AskOptions::default());
        let narrowed = app().ask(then, &mut s, &AskOptions::default());
        let region = narrowed
            .region
            .clone()
            .expect("a place switch sets the region");
        let favoured = app().ask(
            &narrowed.question,
            &mut Session::default(),
            &AskOptions {
                region: Some(region.clone()),
                ..AskOptions::default()
            },
        );
        // Reciprocal ranks of the place's own clauses.
        let own = |a: &policybot::answer::Answer| -> f64 {
            a.hits
                .iter()
                .filter(|h| h.region == region)
                .map(|h| 1.0 / h.rank as f64)
                .sum()
        };
        let (o, f) = (own(&narrowed), own(&favoured));
        assert!(
            o >= f,
            "{first} → {then}: own clauses rank lower ({o} < {f})"
        );
        gained += o - f;
        assert!(s.own_region, "paging keeps the switch");
    }
    assert!(
        gained > 0.0,
        "no conversation put the place's own clauses higher"
    );
}

/// `/region`: a place sets the sticky region; an empty name or a clear word (`clear_region` in
/// `intents/conversation.toml`) clears it; an unknown place leaves it alone.
#[test]
fn region_is_set_by_a_place_and_cleared_by_a_clear_word() {
    let mut s = Session::default();
    let anyang = Some("河南省/安阳市".to_string());
    assert_eq!(app().set_region(&mut s, "安阳"), Ok(anyang.clone()));
    assert_eq!(s.region, anyang);
    assert!(app().set_region(&mut s, "火星").is_err());
    assert_eq!(s.region, anyang, "help: an unknown place changes nothing");
    for clear in ["清除", " 不限 ", "取消", ""] {
        s.region.clone_from(&anyang);
        assert_eq!(app().set_region(&mut s, clear), Ok(None), "help: {clear:?}");
        assert_eq!(s.region, None, "help: {clear:?}");
    }
}
