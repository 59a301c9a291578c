//! Handler capacity: question → `App::ask` → Telegram HTML + keyboard, with the session read
//! from and written back to the store (Redis at `BENCH_REDIS_URL`, default
//! `redis://127.0.0.1:6379/`, falling back to memory when unreachable), two concurrent workers
//! on a two-thread runtime. No network to Telegram.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use policybot::app::{App, AskOptions};
use policybot::render;
use policybot::session::{MemoryStore, RedisStore, SessionKey, SessionStore};

/// Answers per measured batch.
const BATCH: u64 = 64;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = common::config(dir.path());
    let (app, _) = App::load(&cfg, false, &mut |_, _| {}).expect("open");
    let app = Arc::new(app);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let url = std::env::var("BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let ttl = Duration::from_secs(60);
    let redis = rt.block_on(async {
        let s = RedisStore::connect(&url, "policybot-bench:", ttl)
            .await
            .expect("valid url");
        let probe = SessionKey { chat: -1, user: 0 };
        let mut session = s.load(probe).await;
        session.shown = 1;
        s.save(probe, &session).await;
        (s.load(probe).await.shown == 1).then_some(s)
    });
    match redis {
        Some(redis) => {
            eprintln!("benchmarking with Redis at {url}");
            run(c, &rt, &app, redis);
        }
        None => {
            eprintln!("Redis at {url} unreachable: benchmarking the in-memory store");
            run(c, &rt, &app, MemoryStore::new(ttl, 10_000));
        }
    }
}

fn run<S: SessionStore + 'static>(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    app: &Arc<App>,
    sessions: S,
) {
    let sessions = Arc::new(sessions);
    let mut group = c.benchmark_group("handler");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("ask_render_session_roundtrip", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            rt.block_on(async {
                for _ in 0..iters {
                    let mut workers = Vec::new();
                    for w in 0..2u64 {
                        let (app, sessions) = (app.clone(), sessions.clone());
                        workers.push(tokio::spawn(async move {
                            for i in 0..BATCH / 2 {
                                let key = SessionKey {
                                    chat: (i % 50) as i64,
                                    user: w,
                                };
                                let mut session = sessions.load(key).await;
                                let q = common::QUESTIONS[(i as usize) % common::QUESTIONS.len()];
                                let answer = app.ask(q, &mut session, &AskOptions::default());
                                let html = render::telegram::answer(&answer, None);
                                let keys =
                                    render::telegram::keyboard(&answer, session.answer_id, false);
                                sessions.save(key, &session).await;
                                std::hint::black_box((html, keys));
                            }
                        }));
                    }
                    for w in workers {
                        w.await.expect("worker");
                    }
                }
            });
            started.elapsed()
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
