//! `policybot ingest`: new policy files into the data directory and the live index, and the
//! announcements of their added and revised (修订) documents queued in Redis.

use std::path::PathBuf;

use anyhow::Context;

use super::broadcast::queue_at;
use super::out::outln;
use super::{Outcome, load_app, redis_url};
use crate::broadcast::store::BroadcastStore;
use crate::config::Config;
use crate::index::KnowledgeBase;

/// Ingests `files` and, when `announce`, queues their added documents for announcement, and
/// their revised ones (same 文号, clauses added or removed) as 修订 unless `announce_revisions`
/// is off; refused when a file is rejected, the rebuild fails or Redis cannot queue.
pub(super) fn run(cfg: &Config, files: &[PathBuf], announce: bool) -> anyhow::Result<Outcome> {
    let paths = crate::index::Paths {
        data_dir: cfg.data_dir.clone(),
        index_dir: cfg.index_dir.clone(),
    };
    // Announcing needs Redis: check it before anything changes, so a document is never added
    // without its announcement being queued.
    let queue = match announce_queue(cfg, announce) {
        Ok(queue) => queue,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("未做任何更改。加 --no-announce 可只导入、不推送。");
            return Ok(Outcome::Refused);
        }
    };
    // A revision is told against the corpus as it was before this ingest.
    let before = match (&queue, cfg.announce_revisions) {
        (Some(_), true) => match load_app(cfg, false) {
            Ok(app) => Some(app.kb()),
            Err(e) => {
                eprintln!("{e:#}");
                eprintln!("未做任何更改。");
                return Ok(Outcome::Refused);
            }
        },
        _ => None,
    };
    let limits = cfg.ingest_limits();
    let mut waiting = || super::waiting_for_lock(&cfg.index_dir);
    let report = match crate::ingest::ingest(&paths, files, &limits, &mut waiting, &mut |_, _| {}) {
        Ok(r) => r,
        Err(crate::ingest::IngestError::Rejected(rejections)) => {
            for r in rejections {
                eprintln!("拒绝导入 {r}");
            }
            eprintln!("未做任何更改，索引保持不变。");
            return Ok(Outcome::Refused);
        }
        Err(e) => {
            eprintln!("导入失败: {e}（数据已恢复，索引保持不变）");
            return Ok(Outcome::Refused);
        }
    };
    for file in &report.files {
        match &file.stored_as {
            Some(name) => outln!(
                "{} → {}/compendium/{name}",
                file.source.display(),
                cfg.data_dir.display()
            )?,
            None => outln!("{}（没有新内容，未保存）", file.source.display())?,
        }
        for old in &file.replaced {
            outln!("  取代旧文件 {old}")?;
        }
        for d in &file.documents {
            let number = d
                .doc_number
                .as_deref()
                .map(|n| format!("（{n}）"))
                .unwrap_or_default();
            outln!("  {} 《{}》{number}", d.outcome.label(), d.title)?;
            for f in &d.old_kept_in {
                outln!("       旧版本仍在 {f} 中（汇编文件不改动；索引只收录新版本）")?;
            }
        }
    }
    match &report.rebuilt {
        Some(open) => outln!(
            "索引已更新: {} 份文件, {} 条条款 ({:.0} ms)；运行中的 serve 将在数秒内自动加载。",
            open.manifest.documents,
            open.manifest.clauses,
            open.build_ms.unwrap_or_default()
        )?,
        None => outln!("没有变化，索引未重建。")?,
    }
    let documents = || report.files.iter().flat_map(|f| &f.documents);
    let added: Vec<&crate::ingest::DocReport> = documents()
        .filter(|d| d.outcome == crate::ingest::Outcome::Added)
        .collect();
    let revised: Vec<&str> = documents()
        .filter(|d| d.outcome == crate::ingest::Outcome::Changed)
        .filter_map(|d| d.doc_number.as_deref())
        .collect();
    if added.is_empty() && revised.is_empty() {
        return Ok(Outcome::Done);
    }
    if !revised.is_empty() && !cfg.announce_revisions {
        outln!("announce_revisions = false：不推送修订。")?;
    }
    let revisions = before.as_deref().map(|old| (old, revised.as_slice()));
    match queue {
        Some((runtime, store)) => {
            match queue_announcements(cfg, &runtime, &store, &added, revisions) {
                Ok(()) => Ok(Outcome::Done),
                Err(e) if super::out::closed(&e) => Err(e),
                Err(e) => {
                    eprintln!(
                        "推送排队失败: {e:#}（文件已导入；修复 Redis 后重新导入同一文件不会重复推送）"
                    );
                    Ok(Outcome::Refused)
                }
            }
        }
        None if !announce => {
            outln!("--no-announce：不推送新增或修订的文件。")?;
            Ok(Outcome::Done)
        }
        None => {
            outln!("未配置 REDIS_URL：不推送新增或修订的文件。")?;
            Ok(Outcome::Done)
        }
    }
}

/// The Redis queue for announcements, checked reachable; `None` when not announcing or when no
/// Redis is configured.
fn announce_queue(
    cfg: &Config,
    announce: bool,
) -> anyhow::Result<Option<(tokio::runtime::Runtime, BroadcastStore)>> {
    let Some(url) = redis_url(cfg).filter(|_| announce) else {
        return Ok(None);
    };
    let (runtime, store) = queue_at(cfg, url)?;
    runtime
        .block_on(store.ping())
        .context("Redis 不可达，无法为新增文件排队推送")?;
    Ok(Some((runtime, store)))
}

/// Queues the announcement of every added document (found in the rebuilt knowledge base by
/// 文号, else title), and with `revisions` (the knowledge base before the ingest, the 文号 of
/// the changed documents) the 修订 of each changed one; a document, or a revision of the same
/// text, announced before is not queued again.
fn queue_announcements(
    cfg: &Config,
    runtime: &tokio::runtime::Runtime,
    store: &BroadcastStore,
    added: &[&crate::ingest::DocReport],
    revisions: Option<(&KnowledgeBase, &[&str])>,
) -> anyhow::Result<()> {
    let app = load_app(cfg, false)?;
    let kb = app.kb();
    if let Some((old, numbers)) = revisions {
        for number in numbers {
            let Some(a) = app.revision(&old.corpus, number) else {
                outln!("  {number}：没有条款增删，不推送修订")?;
                continue;
            };
            match runtime.block_on(store.enqueue(&a))? {
                Some(_) => outln!("  已排队推送修订《{}》给订阅者", a.title)?,
                None => outln!("  《{}》的这次修订以前推送过，不再推送", a.title)?,
            }
        }
    }
    for d in added {
        let found = kb.corpus.documents.iter().find(|doc| match &d.doc_number {
            Some(n) => doc.doc_number.as_ref() == Some(n),
            None => doc.title == d.title,
        });
        let Some(a) = found.and_then(|doc| app.announcement(&doc.id)) else {
            outln!("  《{}》不在新索引中，未推送", d.title)?;
            continue;
        };
        match runtime.block_on(store.enqueue(&a))? {
            Some(_) => outln!("  已排队推送《{}》给订阅者", a.title)?,
            None => outln!("  《{}》以前推送过，不再推送", a.title)?,
        }
    }
    Ok(())
}
