//! The path every question and press shares: the session updated off the async workers and
//! stored before anything is sent, then the answer (with its buttons), a clause's full text, a
//! ticket or a 👍/👎 record; unanswered questions logged for the operator, questions counted.

use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinError;

use super::HandlerResult;
use crate::answer::{Answer, FullText};
use crate::app::{AskOptions, Reply};
use crate::metrics;
use crate::render::telegram as render;
use crate::session::{
    self, BotStore, ClauseRef, Feedback, Session, SessionKey, Source, Unanswered,
};
use crate::telegram::send::Target;
use crate::telegram::{Ctx, Knowledge, texts};

/// A typed message → [`App::message`](crate::app::App::message) with the session (a question,
/// or a follow-up typed by number or label) → the reply.
pub(super) async fn ask<A: Knowledge, S: BotStore>(
    ctx: &Ctx<A, S>,
    target: Target,
    key: SessionKey,
    question: String,
    header: Option<String>,
) -> HandlerResult {
    let Some(loaded) = ctx.sessions.admit(key, ctx.flood_per_minute).await else {
        ctx.sender.text(target, texts::FLOOD, None).await?;
        return Ok(());
    };
    let message = move |app: &A, session: &mut Session| {
        app.message(&question, session, &AskOptions::default())
    };
    let started = Instant::now();
    let (session, reply) = match update(ctx, key, Some(loaded), message).await {
        Ok(done) => done,
        Err(error) => {
            ctx.sender.text(target, texts::APOLOGY, None).await?;
            return Err(error.into());
        }
    };
    let status = match &reply {
        Reply::Answer(answer) => Some(answer.status),
        Reply::FullText(_) | Reply::Ticket(_) | Reply::Rated { .. } => None,
    };
    let delivered = deliver(ctx, target, key, session, reply, header.as_deref()).await;
    if let Some(status) = status {
        let source = source(target, header.as_deref());
        metrics::question(status, source, started.elapsed().as_secs_f64());
    }
    delivered
}

/// Where a question came from: a forward (it has a `header`), a group or a private chat.
fn source(target: Target, header: Option<&str>) -> Source {
    match (header, target.chat.0 < 0) {
        (Some(_), _) => Source::Forward,
        (None, true) => Source::Group,
        (None, false) => Source::Private,
    }
}

/// Runs `change` on the (chat, user) session off the async workers (it may search) and stores
/// the result before anything is sent, so a quick press finds it; two updates of one session at
/// once both count ([`session::update`]; `loaded`: the session as just loaded, if it was).
/// `Err` when `change` panicked (the session is kept).
pub(super) async fn update<A, S, T>(
    ctx: &Ctx<A, S>,
    key: SessionKey,
    loaded: Option<Session>,
    change: impl Fn(&A, &mut Session) -> T + Send + Sync + 'static,
) -> Result<(Session, T), JoinError>
where
    A: Knowledge,
    S: BotStore,
    T: Send + 'static,
{
    let change = Arc::new(change);
    let (session, out) = session::update(&ctx.sessions, key, loaded, |mut session| {
        let change = Arc::clone(&change);
        let before = session.clone();
        async move {
            let joined = ctx
                .answer(move |app| {
                    let out = change(app, &mut session);
                    (session, out)
                })
                .await;
            match joined {
                Ok((session, out)) => (session, Ok(out)),
                Err(error) => (before, Err(error)),
            }
        }
    })
    .await;
    Ok((session, out?))
}

/// Sends what a message or a press produced: an answer (with its buttons), a clause's full text
/// (split into messages), an answer laid out for a ticket (plain text), or records a 👍/👎.
pub(super) async fn deliver<A: Knowledge, S: BotStore>(
    ctx: &Ctx<A, S>,
    target: Target,
    key: SessionKey,
    session: Session,
    produced: Reply,
    header: Option<&str>,
) -> HandlerResult {
    match produced {
        Reply::Answer(answer) => reply(ctx, target, key, session.answer_id, &answer, header).await,
        Reply::FullText(full) => send_full_text(ctx, target, &full).await,
        Reply::Ticket(ticket) => {
            // Plain text, no parse mode: what is copied into the ticket is what was shown.
            let text = crate::render::plain::ticket(&ticket);
            ctx.sender.plain(target, &text).await?;
            Ok(())
        }
        Reply::Rated {
            answer_id,
            useful,
            question,
            clauses,
        } => {
            let feedback = Feedback::new(answer_id, useful, &question, clauses);
            ctx.sessions.record_feedback(key, feedback).await;
            Ok(())
        }
    }
}

/// Sends the answer with its buttons (they carry the session's new answer id; a forwarded
/// question's, with a `header`, also 📋 工单格式), after logging it for the operator when it is
/// unanswered (once per question: its further pages are not logged again).
async fn reply<A: Knowledge, S: BotStore>(
    ctx: &Ctx<A, S>,
    target: Target,
    key: SessionKey,
    answer_id: u64,
    answer: &Answer,
    header: Option<&str>,
) -> HandlerResult {
    if answer.status.is_unanswered() && !answer.continued {
        let clauses = answer
            .hits
            .iter()
            .map(|h| ClauseRef {
                id: h.clause_id.clone(),
                title: h.doc_title.clone(),
            })
            .collect();
        let source = source(target, header);
        let entry = Unanswered::new(&answer.question, answer.status, source, clauses);
        ctx.sessions.record_unanswered(key, entry).await;
    }
    let html = render::answer(answer, header);
    let keyboard = render::keyboard(answer, answer_id, header.is_some());
    ctx.sender.html(target, &html, keyboard.as_ref()).await?;
    Ok(())
}

/// The full text of a clause, split into as many messages as it needs, in order.
pub(super) async fn send_full_text<A: Knowledge, S: BotStore>(
    ctx: &Ctx<A, S>,
    target: Target,
    full: &FullText,
) -> HandlerResult {
    for message in render::full_text(full) {
        ctx.sender.html(target, &message, None).await?;
    }
    Ok(())
}
