//! `policybot broadcast status`: delivery of announced documents and failing subscribers, read
//! from Redis.

use super::out::outln;
use super::{Outcome, redis_url};
use crate::broadcast::store::BroadcastStore;
use crate::config::Config;

/// A runtime for the command line and the broadcast store on `url` (opened inside it: the
/// connection manager spawns its driver on the current runtime).
pub(super) fn queue_at(
    cfg: &Config,
    url: &str,
) -> anyhow::Result<(tokio::runtime::Runtime, BroadcastStore)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let store = {
        let _inside = runtime.enter();
        BroadcastStore::open(url, &cfg.redis_prefix, &cfg.replica)?
    };
    Ok((runtime, store))
}

/// Prints per announced document its delivery counts, and the failing subscribers; unavailable
/// without Redis.
pub(super) fn status(cfg: &Config, json: bool) -> anyhow::Result<Outcome> {
    let Some(url) = redis_url(cfg) else {
        eprintln!("未配置 REDIS_URL：没有推送队列。");
        return Ok(Outcome::Unavailable);
    };
    let (runtime, store) = queue_at(cfg, url)?;
    let (docs, failing, subscribers) = runtime.block_on(async {
        anyhow::Ok((
            store.status().await?,
            store.failing().await?,
            store.subscriptions().await?.len(),
        ))
    })?;
    if json {
        let failing: Vec<serde_json::Value> = failing
            .iter()
            .map(|(chat, n)| serde_json::json!({"chat": chat, "failures": n}))
            .collect();
        let out = serde_json::json!({
            "subscribers": subscribers,
            "documents": docs,
            "failing_subscribers": failing,
        });
        outln!("{}", serde_json::to_string_pretty(&out)?)?;
        return Ok(Outcome::Done);
    }
    outln!("订阅者: {subscribers}")?;
    if docs.is_empty() {
        outln!("还没有推送过新政策。")?;
    }
    for d in &docs {
        let state = match (d.finished, d.targets) {
            (true, _) => "完成",
            (false, Some(_)) => "推送中",
            (false, None) => "排队中",
        };
        outln!(
            "[{state}] 《{}》 {}: 目标 {} · 已送达 {} · 待送 {} · 失败 {} · 已退订 {} · 迁移 {} · 存疑 {}",
            d.title,
            d.doc,
            d.targets.map_or("-".to_string(), |t| t.to_string()),
            d.sent,
            d.pending,
            d.failed,
            d.dropped,
            d.migrated,
            d.in_doubt
        )?;
    }
    for (chat, n) in &failing {
        outln!("持续失败的订阅者 {chat}: 连续 {n} 次")?;
    }
    Ok(Outcome::Done)
}
