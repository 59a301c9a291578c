//! `policybot review`: the operator's review of the logs the bot keeps in Redis — unanswered,
//! weakly answered and 👎 questions grouped, as text, JSON or unlabelled eval lines — and
//! `--purge`, which deletes the logs.

use std::time::Duration;

use super::out::{out, outln};
use super::{Outcome, redis_url};
use crate::config::Config;
use crate::review;
use crate::session::{OperatorLog, RedisStore, unix_now};

/// How `review` prints the grouped questions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    /// A report for people.
    Text,
    /// One JSON document.
    Json,
    /// Eval JSONL lines with `kind` and `gold` left for an editor.
    JsonlGold,
}

/// Prints the questions of the last `since` in `format`, or with `purge` deletes the logs;
/// unavailable without Redis.
pub(super) fn run(
    cfg: &Config,
    since: Duration,
    format: Format,
    purge: bool,
) -> anyhow::Result<Outcome> {
    let Some(url) = redis_url(cfg) else {
        eprintln!("未配置 REDIS_URL：没有运营日志（机器人只在 Redis 中保存未答问题和反馈）。");
        return Ok(Outcome::Unavailable);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let ttl = Duration::from_secs(cfg.session_ttl_secs);
        let store = RedisStore::connect(url, &cfg.redis_prefix, ttl)
            .await?
            .with_logs(cfg.log_policy());
        if !store.is_up() {
            eprintln!("Redis 不可达，无法读取运营日志。");
            return Ok(Outcome::Unavailable);
        }
        if purge {
            return Ok(match store.purge_logs().await {
                Some(n) => {
                    outln!("已删除运营日志（未答问题和反馈，共 {n} 条）。")?;
                    Outcome::Done
                }
                None => {
                    eprintln!("Redis 不可达，运营日志未删除。");
                    Outcome::Unavailable
                }
            });
        }
        let from = unix_now().saturating_sub(since).as_secs();
        let items = review::group(&store.logs(from).await);
        match format {
            Format::Text => out!("{}", review::to_text(&items, since))?,
            Format::Json => {
                let out = serde_json::json!({
                    "window": review::window(since),
                    "since": from,
                    "items": items,
                });
                outln!("{}", serde_json::to_string_pretty(&out)?)?;
            }
            Format::JsonlGold => {
                for item in &items {
                    outln!("{}", item.gold_line())?;
                }
            }
        }
        anyhow::Ok(Outcome::Done)
    })
}
