//! Inline queries (`@bot 问题` typed in any chat): the top answers as inline results.

use std::sync::Arc;
use std::time::Instant;

use teloxide::types::InlineQuery;

use super::HandlerResult;
use crate::app::AskOptions;
use crate::metrics;
use crate::render::telegram as render;
use crate::session::{BotStore, Session, SessionKey, Source};
use crate::telegram::{Ctx, Knowledge};

/// Answers offered for an inline query.
const INLINE_RESULTS: usize = 10;

/// How long Telegram may keep an inline query's results for the asker (a /region change shows
/// after this long at most).
const INLINE_CACHE_SECS: u32 = 60;

/// An inline query (`@bot 问题` typed in any chat) → [`App::ask`](crate::app::App::ask) on a
/// scratch session holding only the asker's /region (of their private chat with the bot), so
/// the conversation there is left as it was → the top answers as inline results. An empty query
/// gets no results and a button into the private chat (an article would post a hint into the
/// chat where it was tapped).
pub async fn on_inline_query<A: Knowledge, S: BotStore>(
    q: InlineQuery,
    ctx: Arc<Ctx<A, S>>,
) -> HandlerResult {
    let question = q.query.trim().to_string();
    if question.is_empty() {
        let hint = Some(render::inline_hint());
        ctx.sender
            .answer_inline(&q.id, Vec::new(), hint, INLINE_CACHE_SECS)
            .await?;
        return Ok(());
    }
    let started = Instant::now();
    let key = SessionKey {
        chat: i64::try_from(q.from.id.0).unwrap_or_default(),
        user: q.from.id.0,
    };
    let region = ctx.sessions.load(key).await.region;
    let answer = ctx
        .answer(move |app| {
            let mut scratch = Session {
                region,
                ..Session::default()
            };
            let opts = AskOptions {
                region: None,
                k: Some(INLINE_RESULTS),
                ..AskOptions::default()
            };
            app.ask(&question, &mut scratch, &opts)
        })
        .await?;
    let results = render::inline_results(&answer);
    ctx.sender
        .answer_inline(&q.id, results, None, INLINE_CACHE_SECS)
        .await?;
    metrics::question(
        answer.status,
        Source::Inline,
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}
