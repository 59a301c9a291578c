//! Outgoing calls to the Bot API: every message waits for its chat's turn ([`Pacer`]: per chat,
//! so one chat's limit or 429 never holds up another), then goes out through [`Api`] (no 10 s
//! pause after a 5xx). Failures are handled by what they say about the request:
//!
//! - 429: that chat waits `retry_after`, then the message is sent again;
//! - not processed (no connection, 503): sent again after a short exponential backoff (200 ms,
//!   doubling, [`ATTEMPTS`] in all: one failure costs a fraction of a second, not 10 s);
//! - refused (4xx): returned; HTML Telegram cannot parse is sent again once as plain text;
//! - outcome unknown (500, 502, 504, a timeout or broken connection after sending): a
//!   `sendMessage` is **not** sent again but logged `in doubt` with its chat and returned as
//!   [`SendError::InDoubt`]. Telegram may have delivered it, and the Bot API offers no way to ask
//!   (no idempotency key, a bot cannot read a chat's history), so a resend is a visible
//!   duplicate whenever it did, which is what Telegram's 502s mostly are; we accept losing the
//!   message in the rarer case that it did not, and say so in the log. Calls that are harmless
//!   to repeat (answerCallbackQuery, answerInlineQuery, getChatMember, setMyCommands,
//!   getWebhookInfo, deleteWebhook) are retried like the not-processed ones.
//!
//! Messages being sent are registered, so that a shutdown can log those it gives up on. Sends,
//! retries, 429s and failures are counted in [`crate::metrics`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use teloxide::payloads::{
    AnswerCallbackQuery, AnswerCallbackQuerySetters, AnswerInlineQuery, AnswerInlineQuerySetters,
    DeleteWebhook, GetChatMember, GetWebhookInfo, SendMessage, SendMessageSetters, SetMyCommands,
};
use teloxide::types::{
    BotCommand, CallbackQueryId, ChatId, ChatMember, InlineKeyboardMarkup, InlineQueryId,
    InlineQueryResult, InlineQueryResultsButton, LinkPreviewOptions, MessageId, ParseMode,
    ReplyParameters, True, UserId, WebhookInfo,
};
use teloxide::{ApiError, RequestError};

use super::api::{Api, CallError};
use super::pace::Pacer;
use crate::metrics;
use crate::render::telegram::escape;

/// Attempts per call when it was not processed, the first included.
pub const ATTEMPTS: u32 = 5;
/// First backoff delay; doubled per attempt.
const BACKOFF: Duration = Duration::from_millis(200);
/// Longest backoff delay.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// 429s waited out per call before giving up.
const MAX_RETRY_AFTER: u32 = 10;

/// Why a call did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Telegram refused the call (bot blocked or kicked, group migrated, bad request…).
    #[error("{0}")]
    Refused(RequestError),
    /// The call kept failing without being processed (no connection, 503, 429s).
    #[error("gave up after {attempts} attempts: {last}")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// A message went out and Telegram's answer was lost (5xx, timeout): it may have been
    /// delivered, so it was not sent again.
    #[error("in doubt, not sent again (Telegram may have delivered it): {0}")]
    InDoubt(String),
}

/// Where a reply goes.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// Chat to send to.
    pub chat: ChatId,
    /// Message to reply to (groups), if any.
    pub reply_to: Option<MessageId>,
}

/// Sends through the Bot API, paced per chat (unless limits are off), retrying what is safe to
/// retry.
#[derive(Clone)]
pub struct Sender {
    api: Api,
    pacer: Option<Arc<Pacer>>,
    in_flight: Arc<InFlight>,
}

/// Messages being sent now (waiting for their turn, a 429 or a retry), so that a shutdown
/// deadline can name those it abandons instead of dropping them silently.
#[derive(Default)]
struct InFlight {
    next: AtomicU64,
    sends: Mutex<HashMap<u64, (ChatId, Instant)>>,
}

/// Removes its send from [`InFlight`] when the send ends, however it ends.
struct Registered<'a> {
    in_flight: &'a InFlight,
    id: u64,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.in_flight.lock().remove(&self.id);
    }
}

impl InFlight {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, (ChatId, Instant)>> {
        self.sends
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn register(&self, chat: ChatId) -> Registered<'_> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, (chat, Instant::now()));
        Registered {
            in_flight: self,
            id,
        }
    }
}

impl Sender {
    /// Sends through `api`, pacing messages with `pacer` (none: unpaced, for a local Bot API
    /// server or benchmarks).
    #[must_use]
    pub fn new(api: Api, pacer: Option<Arc<Pacer>>) -> Self {
        Sender {
            api,
            pacer,
            in_flight: Arc::default(),
        }
    }

    /// Sends HTML `html` (already escaped and within limits) with an optional keyboard.
    pub async fn html(
        &self,
        target: Target,
        html: &str,
        keyboard: Option<&InlineKeyboardMarkup>,
    ) -> Result<(), SendError> {
        let _registered = self.in_flight.register(target.chat);
        match self
            .message(target, html, Some(ParseMode::Html), keyboard)
            .await
        {
            Err(SendError::Refused(RequestError::Api(ApiError::CantParseEntities(why)))) => {
                tracing::warn!(%why, "Telegram rejected the HTML; sending plain text");
                self.message(target, &plain_text(html), None, keyboard)
                    .await
            }
            sent => sent,
        }
    }

    /// Messages still being sent (chat, since when), oldest first.
    #[must_use]
    pub fn in_flight(&self) -> Vec<(ChatId, Duration)> {
        let mut sends: Vec<(ChatId, Duration)> = self
            .in_flight
            .lock()
            .values()
            .map(|&(chat, since)| (chat, since.elapsed()))
            .collect();
        sends.sort_by_key(|s| std::cmp::Reverse(s.1));
        sends
    }

    /// Sends a fixed text (escaped here) with an optional keyboard.
    pub async fn text(
        &self,
        target: Target,
        text: &str,
        keyboard: Option<&InlineKeyboardMarkup>,
    ) -> Result<(), SendError> {
        self.html(target, &escape(text), keyboard).await
    }

    /// Sends `text` as it is, without parse mode (nothing in it is markup), e.g. for copying.
    pub async fn plain(&self, target: Target, text: &str) -> Result<(), SendError> {
        let _registered = self.in_flight.register(target.chat);
        self.message(target, text, None, None).await
    }

    /// Answers a callback query, with an optional toast text.
    pub async fn answer_callback(
        &self,
        id: &CallbackQueryId,
        text: Option<&str>,
    ) -> Result<(), SendError> {
        let mut payload = AnswerCallbackQuery::new(id.clone());
        if let Some(text) = text {
            payload = payload.text(text);
        }
        self.repeatable::<True>("answerCallbackQuery", &payload)
            .await
            .map(drop)
    }

    /// Answers an inline query with `results` (answerInlineQuery; harmless to repeat: a second
    /// answer to one query is refused). `button` is shown above the results.
    pub async fn answer_inline(
        &self,
        id: &InlineQueryId,
        results: Vec<InlineQueryResult>,
        button: Option<InlineQueryResultsButton>,
        cache_time: u32,
    ) -> Result<(), SendError> {
        // Personal: the results depend on the asker's /region, so a cached answer must never
        // be shown to someone else typing the same words.
        let mut payload = AnswerInlineQuery::new(id.clone(), results)
            .cache_time(cache_time)
            .is_personal(true);
        if let Some(button) = button {
            payload = payload.button(button);
        }
        self.repeatable::<True>("answerInlineQuery", &payload)
            .await
            .map(drop)
    }

    /// Whether `user` is an owner or administrator of `chat` (getChatMember).
    pub async fn is_admin(&self, chat: ChatId, user: UserId) -> Result<bool, SendError> {
        let payload = GetChatMember::new(chat, user);
        self.repeatable::<ChatMember>("getChatMember", &payload)
            .await
            .map(|member| member.is_privileged())
    }

    /// setMyCommands.
    pub async fn set_commands(&self, commands: Vec<BotCommand>) -> Result<(), SendError> {
        self.repeatable::<True>("setMyCommands", &SetMyCommands::new(commands))
            .await
            .map(drop)
    }

    /// Removes a webhook left set by an earlier webhook-mode run (getWebhookInfo, then
    /// deleteWebhook if one is set): Telegram refuses getUpdates while a webhook is set.
    pub async fn delete_webhook(&self) -> Result<(), SendError> {
        let info: WebhookInfo = self
            .repeatable("getWebhookInfo", &GetWebhookInfo::new())
            .await?;
        if info.url.is_some() {
            self.repeatable::<True>("deleteWebhook", &DeleteWebhook::new())
                .await?;
        }
        Ok(())
    }

    /// One sendMessage: paced, 429s waited out for this chat only, retried while not
    /// processed, never repeated once its outcome is unknown.
    async fn message(
        &self,
        target: Target,
        text: &str,
        mode: Option<ParseMode>,
        keyboard: Option<&InlineKeyboardMarkup>,
    ) -> Result<(), SendError> {
        let mut payload = SendMessage::new(target.chat, text).link_preview_options(no_preview());
        if let Some(mode) = mode {
            payload = payload.parse_mode(mode);
        }
        if let Some(keyboard) = keyboard {
            payload = payload.reply_markup(keyboard.clone());
        }
        if let Some(id) = target.reply_to {
            payload =
                payload.reply_parameters(ReplyParameters::new(id).allow_sending_without_reply());
        }
        let chat = target.chat;
        let pacer = self.pacer.as_deref();
        let call = || async {
            if let Some(pacer) = pacer {
                pacer.turn(chat).await;
            }
            // The sent message Telegram returns is not read (nothing uses it): parsing it into
            // a teloxide `Message` cost more than the rest of the send.
            self.api.call_unread("sendMessage", &payload).await
        };
        let held = |after| {
            if let Some(pacer) = pacer {
                pacer.hold(chat, after);
            }
        };
        let sent = retry("sendMessage", Repeat::OnlyUnprocessed, call, held).await;
        if let Err(SendError::InDoubt(why)) = &sent {
            tracing::warn!(
                chat = chat.0,
                %why,
                "reply in doubt: Telegram may have delivered it; not sent again"
            );
        }
        sent
    }

    /// A call that is harmless to repeat: retried whether or not it was processed.
    async fn repeatable<T: DeserializeOwned>(
        &self,
        method: &'static str,
        payload: &(impl Serialize + Sync),
    ) -> Result<T, SendError> {
        retry(
            method,
            Repeat::Always,
            || self.api.call(method, payload),
            |_| {},
        )
        .await
    }
}

/// Which failed calls [`retry`] repeats (429s are always waited out and repeated).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// Only calls that were not processed: a call whose outcome is unknown ends in
    /// [`SendError::InDoubt`].
    OnlyUnprocessed,
    /// Also calls whose outcome is unknown (the call is harmless to repeat).
    Always,
}

/// Runs `call` until it succeeds, is refused, ends in doubt, or [`ATTEMPTS`] tries (or
/// [`MAX_RETRY_AFTER`] 429s) are used up. A 429 is reported to `held` (so that the chat's other
/// messages wait too) and waited out.
async fn retry<T, F, Fut>(
    method: &'static str,
    repeat: Repeat,
    mut call: F,
    held: impl Fn(Duration),
) -> Result<T, SendError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CallError>>,
{
    let (mut attempt, mut waits) = (1, 0);
    loop {
        let why = match call().await {
            Ok(value) => {
                if method == "sendMessage" {
                    metrics::telegram_sent();
                }
                return Ok(value);
            }
            Err(CallError::Refused(error)) => {
                metrics::telegram_failed(method, "refused");
                return Err(SendError::Refused(error));
            }
            Err(CallError::Unknown(why)) if repeat == Repeat::OnlyUnprocessed => {
                metrics::telegram_failed(method, "in_doubt");
                return Err(SendError::InDoubt(why));
            }
            Err(CallError::RetryAfter(after)) => {
                metrics::telegram_rate_limited(method);
                waits += 1;
                if waits > MAX_RETRY_AFTER {
                    metrics::telegram_failed(method, "gave_up");
                    tracing::error!(method, waits, "still rate-limited; giving up");
                    return Err(SendError::GaveUp {
                        attempts: attempt + waits - 1,
                        last: format!("429: retry after {after:?}"),
                    });
                }
                tracing::warn!(method, ?after, "429: waiting");
                held(after);
                tokio::time::sleep(after).await;
                continue;
            }
            Err(CallError::NotProcessed(why) | CallError::Unknown(why)) => why,
        };
        if attempt >= ATTEMPTS {
            metrics::telegram_failed(method, "gave_up");
            tracing::error!(method, attempts = attempt, error = %why, "giving up");
            return Err(SendError::GaveUp {
                attempts: attempt,
                last: why,
            });
        }
        let delay = backoff(attempt);
        tracing::warn!(method, attempt, error = %why, ?delay, "transient failure; retrying");
        metrics::telegram_retry(method);
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

/// Delay before attempt `attempt + 1`: [`BACKOFF`] doubled per attempt, at most [`MAX_BACKOFF`].
fn backoff(attempt: u32) -> Duration {
    (BACKOFF * 2u32.saturating_pow(attempt.saturating_sub(1))).min(MAX_BACKOFF)
}

/// The text of Telegram HTML: tags removed, entities decoded.
fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        match rest[lt..].find('>') {
            Some(gt) => rest = &rest[lt + gt + 1..],
            None => {
                out.push_str(&rest[lt..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

fn no_preview() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_drops_tags_and_decodes_entities() {
        assert_eq!(
            plain_text("<b>标题</b> a &lt;b&gt; &amp;lt; <i>x</i>"),
            "标题 a <b> &lt; x"
        );
        assert_eq!(plain_text("a < b"), "a < b");
    }

    #[test]
    fn backoff_doubles_up_to_its_bound() {
        assert_eq!(backoff(1), BACKOFF);
        assert_eq!(backoff(3), BACKOFF * 4);
        assert_eq!(backoff(30), MAX_BACKOFF);
        let all: Duration = (1..ATTEMPTS).map(backoff).sum();
        assert!(
            all < Duration::from_secs(4),
            "help: giving up takes {all:?}"
        );
    }
}
