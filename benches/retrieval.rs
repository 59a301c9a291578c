//! Criterion benchmarks on the bundled compendium: full index build (parse + index) and warm
//! question → answer latency through `App::ask` (the path the CLI and the bot share).

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use policybot::app::{App, AskOptions};
use policybot::config::Config;
use policybot::session::Session;

const QUESTIONS: &[&str] = &[
    "小店房租能减免吗",
    "安阳这边上市有奖励没",
    "专精特新小巨人认定条件",
    "社保费能缓缴吗",
    "创业担保贷款最高能贷多少",
    "新乡招应届毕业生有补贴吗",
    "科技贷去哪里申请",
    "政府采购合同能融资吗",
];

fn config(index_dir: PathBuf) -> Config {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    Config {
        data_dir: root.join("data"),
        intents_dir: root.join("intents"),
        index_dir,
        ..Config::default()
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path().to_path_buf());
    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    group.bench_function("full_index_build", |b| {
        b.iter(|| App::load(&cfg, true, &mut |_, _| {}).expect("build"));
    });
    group.finish();

    let (app, _) = App::load(&cfg, false, &mut |_, _| {}).expect("open");
    let opts = AskOptions::default();
    let mut i = 0;
    c.bench_function("ask_warm", |b| {
        b.iter(|| {
            i = (i + 1) % QUESTIONS.len();
            app.ask(QUESTIONS[i], &mut Session::default(), &opts)
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
