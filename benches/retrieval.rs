//! Criterion benchmarks on the bundled compendium: full index build (parse + index) and warm
//! question → answer latency through `App::ask` (the path the CLI and the bot share).

mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use policybot::app::{App, AskOptions};
use policybot::session::Session;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = common::config(dir.path());
    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    group.bench_function("full_index_build", |b| {
        b.iter(|| App::load(&cfg, true, &mut |_, _| {}, &mut || {}).expect("build"));
    });
    group.finish();

    let (app, _) = App::load(&cfg, false, &mut |_, _| {}, &mut || {}).expect("open");
    let opts = AskOptions::default();
    let mut i = 0;
    c.bench_function("ask_warm", |b| {
        b.iter(|| {
            i = (i + 1) % common::QUESTIONS.len();
            app.ask(common::QUESTIONS[i], &mut Session::default(), &opts)
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
