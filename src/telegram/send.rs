//! Outgoing calls to the Bot API with a retry layer on top of teloxide's `Throttle`: Throttle
//! paces sends and waits out 429 `retry_after`; this layer also retries transient failures
//! (network errors, 5xx, unparseable gateway pages) with bounded exponential backoff, then
//! gives up and returns the error for the dispatcher's error handler to log. A message whose
//! HTML Telegram rejects ("can't parse entities") is sent again as plain text. Messages being
//! sent are registered, so that a shutdown can log those it gives up on.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use teloxide::adaptors::Throttle;
use teloxide::payloads::{AnswerCallbackQuerySetters, SendMessageSetters};
use teloxide::prelude::*;
use teloxide::requests::Request;
use teloxide::types::{
    BotCommand, CallbackQueryId, ChatId, InlineKeyboardMarkup, LinkPreviewOptions, Me, MessageId,
    ParseMode, ReplyParameters, UserId,
};
use teloxide::{ApiError, RequestError};

use crate::render::telegram::escape;

/// Attempts per call, the first included.
const ATTEMPTS: u32 = 5;
/// First backoff delay; doubled per attempt.
const BACKOFF: Duration = Duration::from_millis(250);
/// Longest backoff delay.
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// Where a reply goes.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// Chat to send to.
    pub chat: ChatId,
    /// Message to reply to (groups), if any.
    pub reply_to: Option<MessageId>,
}

/// Sends through a bot (throttled unless limits are off), retrying transient failures.
#[derive(Clone)]
pub struct Sender {
    via: Via,
    in_flight: Arc<InFlight>,
}

/// Messages being sent now (waiting on the throttle, a 429 or a retry), so that a shutdown
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

#[derive(Clone)]
enum Via {
    Throttled(Throttle<Bot>),
    Direct(Bot),
}

/// Runs `$e` with `$b` bound to whichever bot the sender holds.
macro_rules! via {
    ($sender:expr, $b:ident => $e:expr) => {
        match &$sender.via {
            Via::Throttled($b) => $e,
            Via::Direct($b) => $e,
        }
    };
}

impl Sender {
    /// Sends through `Throttle` (Telegram's limits, 429 waited out).
    #[must_use]
    pub fn throttled(bot: Throttle<Bot>) -> Self {
        Sender {
            via: Via::Throttled(bot),
            in_flight: Arc::default(),
        }
    }

    /// Sends directly: for a Bot API server without limits (benchmarks, local server).
    #[must_use]
    pub fn direct(bot: Bot) -> Self {
        Sender {
            via: Via::Direct(bot),
            in_flight: Arc::default(),
        }
    }

    /// Sends HTML `html` (already escaped and within limits) with an optional keyboard.
    pub async fn html(
        &self,
        target: Target,
        html: &str,
        keyboard: Option<&InlineKeyboardMarkup>,
    ) -> Result<Message, RequestError> {
        let _registered = self.in_flight.register(target.chat);
        via!(self, bot => send_html(bot, target, html, keyboard).await)
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
    ) -> Result<Message, RequestError> {
        self.html(target, &escape(text), keyboard).await
    }

    /// Answers a callback query, with an optional toast text.
    pub async fn answer_callback(
        &self,
        id: &CallbackQueryId,
        text: Option<&str>,
    ) -> Result<(), RequestError> {
        via!(self, bot => answer_callback(bot, id, text).await)
    }

    /// Whether `user` is an owner or administrator of `chat` (getChatMember).
    pub async fn is_admin(&self, chat: ChatId, user: UserId) -> Result<bool, RequestError> {
        via!(self, bot => retry("getChatMember", || bot.get_chat_member(chat, user).send())
            .await
            .map(|member| member.is_privileged()))
    }

    /// getMe.
    pub async fn me(&self) -> Result<Me, RequestError> {
        via!(self, bot => retry("getMe", || bot.get_me().send()).await)
    }

    /// setMyCommands.
    pub async fn set_commands(&self, commands: Vec<BotCommand>) -> Result<(), RequestError> {
        via!(self, bot => retry("setMyCommands", || bot.set_my_commands(commands.clone()).send())
            .await
            .map(drop))
    }
}

async fn send_html<B: Requester<Err = RequestError>>(
    bot: &B,
    target: Target,
    html: &str,
    keyboard: Option<&InlineKeyboardMarkup>,
) -> Result<Message, RequestError> {
    match send(bot, target, html, Some(ParseMode::Html), keyboard).await {
        Err(RequestError::Api(ApiError::CantParseEntities(why))) => {
            tracing::warn!(%why, "Telegram rejected the HTML; sending plain text");
            send(bot, target, &plain_text(html), None, keyboard).await
        }
        sent => sent,
    }
}

async fn send<B: Requester<Err = RequestError>>(
    bot: &B,
    target: Target,
    text: &str,
    mode: Option<ParseMode>,
    keyboard: Option<&InlineKeyboardMarkup>,
) -> Result<Message, RequestError> {
    retry("sendMessage", || {
        let mut request = bot
            .send_message(target.chat, text)
            .link_preview_options(no_preview());
        if let Some(mode) = mode {
            request = request.parse_mode(mode);
        }
        if let Some(keyboard) = keyboard {
            request = request.reply_markup(keyboard.clone());
        }
        if let Some(id) = target.reply_to {
            request =
                request.reply_parameters(ReplyParameters::new(id).allow_sending_without_reply());
        }
        request.send()
    })
    .await
}

async fn answer_callback<B: Requester<Err = RequestError>>(
    bot: &B,
    id: &CallbackQueryId,
    text: Option<&str>,
) -> Result<(), RequestError> {
    retry("answerCallbackQuery", || {
        let mut request = bot.answer_callback_query(id.clone());
        if let Some(text) = text {
            request = request.text(text);
        }
        request.send()
    })
    .await
    .map(drop)
}

/// Runs `call` until it succeeds, fails permanently, or [`ATTEMPTS`] are used up.
async fn retry<T, F, Fut>(method: &str, mut call: F) -> Result<T, RequestError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RequestError>>,
{
    let mut attempt = 1;
    loop {
        let error = match call().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let Some(delay) = transient_delay(&error, attempt) else {
            return Err(error);
        };
        if attempt >= ATTEMPTS {
            tracing::error!(method, attempts = attempt, error = %error, "giving up");
            return Err(error);
        }
        tracing::warn!(method, attempt, error = %error, ?delay, "transient failure, retrying");
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

/// How long to wait before retrying `error`, or `None` when retrying cannot help.
fn transient_delay(error: &RequestError, attempt: u32) -> Option<Duration> {
    let backoff = (BACKOFF * 2u32.saturating_pow(attempt - 1)).min(MAX_BACKOFF);
    match error {
        RequestError::RetryAfter(seconds) => Some(seconds.duration()),
        RequestError::Network(_) | RequestError::InvalidJson { .. } => Some(backoff),
        RequestError::Api(ApiError::Unknown(description)) if is_server_error(description) => {
            Some(backoff)
        }
        _ => None,
    }
}

/// Bot API descriptions of 5xx responses (teloxide keeps only the description, not the code).
fn is_server_error(description: &str) -> bool {
    const SERVER_ERRORS: [&str; 5] = [
        "Internal Server Error",
        "Bad Gateway",
        "Service Unavailable",
        "Gateway Timeout",
        "Too Many Requests",
    ];
    SERVER_ERRORS.iter().any(|e| description.contains(e))
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
    use teloxide::types::Seconds;

    #[test]
    fn plain_text_drops_tags_and_decodes_entities() {
        assert_eq!(
            plain_text("<b>标题</b> a &lt;b&gt; &amp;lt; <i>x</i>"),
            "标题 a <b> &lt; x"
        );
        assert_eq!(plain_text("a < b"), "a < b");
    }

    #[test]
    fn classifies_transient_errors() {
        let bad_gateway = RequestError::Api(ApiError::Unknown("Bad Gateway".into()));
        assert_eq!(transient_delay(&bad_gateway, 1), Some(BACKOFF));
        assert_eq!(transient_delay(&bad_gateway, 3), Some(BACKOFF * 4));
        assert_eq!(transient_delay(&bad_gateway, 30), Some(MAX_BACKOFF));
        let retry_after = RequestError::RetryAfter(Seconds::from_seconds(3));
        assert_eq!(
            transient_delay(&retry_after, 1),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            transient_delay(&RequestError::Api(ApiError::BotBlocked), 1),
            None
        );
        let bad_request =
            RequestError::Api(ApiError::Unknown("Bad Request: chat not found".into()));
        assert_eq!(transient_delay(&bad_request, 1), None);
    }
}
