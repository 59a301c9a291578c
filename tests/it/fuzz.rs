//! Issue 9 long run (not in CI: `#[ignore]`): random inputs through the compendium parser, the
//! Telegram callback codec and the question path (normalisers, validation, `App::ask`), 100,000
//! each by default (`FUZZ_CASES` to change), 0 panics allowed. Run in release:
//! `cargo test --release --test it fuzz -- --ignored --nocapture`.

use std::time::Instant;

use policybot::app::{self, AskOptions};
use policybot::session::Session;
use policybot::telegram::callback::{Callback, MAX_CALLBACK_DATA};
use policybot::text::normalize::{Normalized, normalize};
use policybot::text::numbers::normalize_numbers;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::kb;

/// Inputs per target.
fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

/// Runs `check` on `cases()` inputs of `strategy`, no shrinking or persistence (a failure prints
/// the input), and reports the count and the time.
fn fuzz<S: Strategy>(name: &str, strategy: S, check: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let cases = cases();
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 0,
        failure_persistence: None,
        ..Config::default()
    });
    let started = Instant::now();
    let result = runner.run(&strategy, check);
    let secs = started.elapsed().as_secs_f64();
    eprintln!("fuzz {name}: {cases} inputs in {secs:.1} s: {result:?}");
    result.unwrap_or_else(|e| panic!("fuzz {name}: {e}"));
}

/// Text that looks like a compendium (headings, 文号, dates, tables, tags) or like nothing.
fn compendium_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[一二三四五六七八九十（）()〔〕\\[\\]、。，：；#|*\\-\t\n 0-9a-zA-Z第章条号年月日关于通知附件责任单位牵头负责发改豫安新政办人民政府]{0,600}",
        "\\PC{0,400}",
        ".{0,200}",
    ]
}

#[test]
#[ignore = "long run: cargo test --release --test it fuzz -- --ignored"]
fn fuzz_parser() {
    fuzz("parser", compendium_text(), |text| {
        let corpus = policybot::corpus::parse_file("fuzz.txt", &text, super::kb::places());
        for clause in &corpus.clauses {
            prop_assert!(clause.doc < corpus.documents.len());
        }
        Ok(())
    });
}

/// Callback data: what the bot produces, near misses, and anything.
fn callback_data() -> impl Strategy<Value = String> {
    prop_oneof![
        "[mtravepqdx]:[0-9a-z]{0,14}(:[0-9]{0,22})?",
        "[mtravepqdx:0-9a-zA-Z_\\-]{0,70}",
        "\\PC{0,80}",
        any::<String>(),
    ]
}

#[test]
#[ignore = "long run: cargo test --release --test it fuzz -- --ignored"]
fn fuzz_callback_codec() {
    fuzz("callback codec", callback_data(), |data| {
        if let Some(callback) = Callback::parse(&data) {
            let encoded = callback.encode();
            prop_assert!(encoded.len() <= MAX_CALLBACK_DATA, "{encoded}");
            prop_assert_eq!(Callback::parse(&encoded), Some(callback));
        }
        Ok(())
    });
}

/// Questions: policy words with numbers, places and typos, or anything.
fn question() -> impl Strategy<Value = String> {
    prop_oneof![
        "[贷款贴息担保社保缓缴房租减免补贴奖励上市专精特新安阳新乡获嘉济源临夏河南多少万元个点百分之半年两吗呢怎么申请条件代款 0-9wk千百.%？?，]{1,40}",
        "\\PC{0,80}",
        ".{0,120}",
    ]
}

#[test]
#[ignore = "long run: cargo test --release --test it fuzz -- --ignored"]
fn fuzz_question_path() {
    let app = kb::app();
    let opts = AskOptions::default();
    fuzz("question path", question(), |q| {
        let normalized = Normalized::new(&q);
        prop_assert_eq!(&normalized.text, &normalize(&q));
        prop_assert_eq!(normalized.original_end(normalized.text.len()), q.len());
        let _ = normalize_numbers(&q);
        let valid = app::validate(&q).is_ok();
        let answer = app.ask(&q, &mut Session::default(), &opts);
        prop_assert!(valid || answer.hits.is_empty());
        Ok(())
    });
}
