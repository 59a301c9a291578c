//! `policybot serve`: the Telegram bot with its session store, announcement queue and the hot
//! reload of a newly ingested index.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use super::{Outcome, load_app, redis_url};
use crate::app::App;
use crate::broadcast::store::BroadcastStore;
use crate::config::Config;
use crate::session::{MemoryStore, RedisStore};

/// Runs the bot until SIGTERM/SIGINT.
pub(super) fn run(cfg: &Config) -> anyhow::Result<Outcome> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let mut bot = crate::telegram::BotConfig::from_config(cfg)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let served = runtime.block_on(async move {
        // Up first, so a container probe sees "starting" (503) while the index is checked or
        // rebuilt, and "ok" once it has passed its self-test.
        let ready = crate::telegram::Readiness::default();
        if let Some(addr) = bot.health {
            let bound = crate::telegram::spawn_health(addr, ready.clone())
                .await
                .with_context(|| format!("health endpoint {addr}"))?;
            tracing::info!(%bound, "health endpoint at /healthz (503 until the index is ready)");
        }
        // The HTTP client (TLS roots) is built while the index opens.
        let connecting = {
            let bot = bot.clone();
            tokio::task::spawn_blocking(move || crate::telegram::client(&bot))
        };
        let loading = cfg.clone();
        let app = tokio::task::spawn_blocking(move || load_app(&loading, false)).await??;
        bot.client = Some(connecting.await??);
        let app = Arc::new(app);
        index_metrics(&app);
        ready.set_ready();
        tokio::spawn(watch_index(Arc::clone(&app), cfg.reload_poll()));
        let ttl = Duration::from_secs(cfg.session_ttl_secs);
        let logs = cfg.log_policy();
        let broadcasts = match redis_url(cfg) {
            Some(url) => Some(Arc::new(
                BroadcastStore::open(url, &cfg.redis_prefix, &cfg.replica)?
                    .stale_after(cfg.broadcast_stale()),
            )),
            None => {
                tracing::info!("no REDIS_URL: subscriptions and announcements are off");
                None
            }
        };
        // Redis being down is no error (the store starts empty and reconnects); a bad URL is.
        match redis_url(cfg) {
            Some(url) => {
                let sessions = RedisStore::connect(url, &cfg.redis_prefix, ttl)
                    .await?
                    .with_logs(logs);
                crate::telegram::run(app, sessions, broadcasts, bot).await?;
            }
            None => {
                let sessions = MemoryStore::new(ttl, cfg.memory_sessions).with_logs(logs);
                crate::telegram::run(app, sessions, broadcasts, bot).await?;
            }
        }
        anyhow::Ok(())
    });
    // `run` has waited out the shutdown grace period: do not wait again for work left on the
    // runtime's threads (an index reload, an answer being computed).
    runtime.shutdown_timeout(Duration::from_millis(500));
    served.map(|()| Outcome::Done)
}

/// Tells the metrics which index answers now.
fn index_metrics(app: &App) {
    let kb = app.kb();
    let generation = kb.generation();
    let name = generation.file_name().map_or_else(
        || generation.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    crate::metrics::index_loaded(&name, kb.corpus.documents.len(), kb.corpus.clauses.len());
}

/// Hot reload for `serve` (file watch by polling `CURRENT` `every` `reload_poll_ms`): when
/// `ingest` or `index` has swapped in a new generation, the app re-opens it; questions under way
/// finish on the old one.
async fn watch_index(app: Arc<App>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let reloading = Arc::clone(&app);
        match tokio::task::spawn_blocking(move || reloading.reload()).await {
            Ok(Ok(true)) => {
                index_metrics(&app);
                tracing::info!("knowledge base reloaded from the new index generation");
            }
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::warn!("index reload failed, keeping the current one: {e}"),
            Err(e) => tracing::warn!("index reload task failed: {e}"),
        }
    }
}
