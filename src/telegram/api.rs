//! One Bot API call over HTTP, classified by what its failure says about the request: refused
//! (4xx: repeating cannot help), rate-limited (429 `retry_after`), not processed (the connection
//! could not be made, or 503: safe to repeat) or outcome unknown (500/502/504, a timeout or a
//! broken connection after the request went out, an unreadable answer: Telegram may have carried
//! it out).
//!
//! Calls go through the bot's HTTP client but not through teloxide's request path, which sleeps
//! a fixed 10 s after every 5xx before returning (`DELAY_ON_SERVER_ERROR` in teloxide-core's
//! `net/request.rs`, for every method, whether or not `Throttle` is used) and keeps only the
//! description of the error, not its status code, which is what tells "not processed" from
//! "unknown" apart.

use std::time::Duration;

use serde::Deserialize;
use serde::Serialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use teloxide::prelude::*;
use teloxide::types::ResponseParameters;
use teloxide::{ApiError, RequestError};

/// How a call failed.
#[derive(Debug)]
pub enum CallError {
    /// Telegram refused the request (4xx); repeating it cannot help.
    Refused(RequestError),
    /// 429: nothing more for this chat (or method) for that long.
    RetryAfter(Duration),
    /// The request was not processed (no connection, 503): safe to repeat.
    NotProcessed(String),
    /// The request went out and its outcome is unknown (500, 502, 504, a timeout or broken
    /// connection after sending, an unreadable answer): Telegram may have carried it out.
    Unknown(String),
}

/// The Bot API endpoint of a bot (its HTTP client, token and server URL).
#[derive(Clone)]
pub struct Api {
    bot: Bot,
}

/// How Telegram's success answers start.
const SUCCESS: &[u8] = br#"{"ok":true,"#;

/// A Bot API answer (`ok`, then `result` or `description` with `parameters`).
#[derive(Deserialize)]
struct Answer<T> {
    ok: bool,
    result: Option<T>,
    description: Option<ApiError>,
    parameters: Option<ResponseParameters>,
}

impl Api {
    /// Calls through `bot`'s client, token and API URL.
    #[must_use]
    pub fn new(bot: Bot) -> Self {
        Api { bot }
    }

    /// The Bot API server (`host:port`, no token), for logs.
    #[must_use]
    pub fn server(&self) -> String {
        let url = self.bot.api_url();
        let host = url.host_str().unwrap_or_default();
        match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    /// Calls `method` with the JSON `payload`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        payload: &impl Serialize,
    ) -> Result<T, CallError> {
        let (status, bytes) = self.post(method, payload).await?;
        classify(status, bytes.as_ref())
    }

    /// Calls `method` with the JSON `payload` when its result is not read (a sent message,
    /// which Telegram echoes whole). An answer that starts as Telegram's success answers do,
    /// `{"ok":true,`, is a success without reading the rest; any other is read as by
    /// [`Api::call`].
    pub async fn call_unread(
        &self,
        method: &str,
        payload: &impl Serialize,
    ) -> Result<(), CallError> {
        let (status, bytes) = self.post(method, payload).await?;
        unread(status, bytes.as_ref())
    }

    /// Posts `payload` to `method`: the answer's HTTP status and body.
    async fn post(
        &self,
        method: &str,
        payload: &impl Serialize,
    ) -> Result<(u16, impl AsRef<[u8]>), CallError> {
        let body = serde_json::to_vec(payload)
            .map_err(|e| CallError::Refused(RequestError::Api(ApiError::Unknown(e.to_string()))))?;
        let mut url = self.bot.api_url();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.push(&format!("bot{}", self.bot.token()));
            segments.push(method);
        }
        let sent = self
            .bot
            .client()
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            // No connection was made: the request never reached Telegram.
            Err(e) if e.is_connect() => return Err(CallError::NotProcessed(without_url(&e))),
            Err(e) => return Err(CallError::Unknown(without_url(&e))),
        };
        let status = response.status().as_u16();
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => return Err(CallError::Unknown(without_url(&e))),
        };
        Ok((status, bytes))
    }
}

/// The outcome of an answer whose result is not read ([`Api::call_unread`]).
fn unread(status: u16, body: &[u8]) -> Result<(), CallError> {
    if (200..=299).contains(&status) && body.starts_with(SUCCESS) {
        return Ok(());
    }
    classify::<IgnoredAny>(status, body).map(drop)
}

/// The outcome of an answer with HTTP `status` and `body`.
fn classify<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, CallError> {
    let answer: Option<Answer<T>> = serde_json::from_slice(body).ok();
    match (status, answer) {
        (
            200..=299,
            Some(Answer {
                ok: true,
                result: Some(result),
                ..
            }),
        ) => Ok(result),
        (200..=299, _) => Err(CallError::Unknown(format!(
            "HTTP {status} with an unreadable answer"
        ))),
        (
            _,
            Some(Answer {
                parameters: Some(ResponseParameters::RetryAfter(after)),
                ..
            }),
        ) => Err(CallError::RetryAfter(after.duration())),
        (429, _) => Err(CallError::RetryAfter(Duration::from_secs(1))),
        (503, _) => Err(CallError::NotProcessed(format!("HTTP {status}"))),
        (500..=599, answer) => Err(CallError::Unknown(
            match answer.and_then(|a| a.description) {
                Some(description) => format!("HTTP {status}: {description}"),
                None => format!("HTTP {status}"),
            },
        )),
        (
            _,
            Some(Answer {
                parameters: Some(ResponseParameters::MigrateToChatId(to)),
                ..
            }),
        ) => Err(CallError::Refused(RequestError::MigrateToChatId(to))),
        (_, answer) => Err(CallError::Refused(RequestError::Api(
            answer
                .and_then(|a| a.description)
                .unwrap_or_else(|| ApiError::Unknown(format!("HTTP {status}"))),
        ))),
    }
}

/// A transport error without its URL: the URL holds the bot token.
fn without_url(e: &impl std::fmt::Display) -> String {
    let text = e.to_string();
    match text.find(" for url (") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: u16, body: &str) -> Result<bool, CallError> {
        classify::<bool>(status, body.as_bytes())
    }

    #[test]
    fn an_unread_result_is_a_success_by_its_start_and_anything_else_is_classified() {
        let sent = r#"{"ok":true,"result":{"message_id":7,"text":"贷款"}}"#;
        assert!(unread(200, sent.as_bytes()).is_ok());
        assert!(unread(200, br#"{"result":{},"ok":true}"#).is_ok());
        assert!(matches!(unread(200, b"<html>"), Err(CallError::Unknown(_))));
        assert!(matches!(
            unread(200, br#"{"ok":false,"description":"x"}"#),
            Err(CallError::Unknown(_))
        ));
        let retry = br#"{"ok":false,"error_code":429,"parameters":{"retry_after":3}}"#;
        assert!(matches!(
            unread(429, retry),
            Err(CallError::RetryAfter(d)) if d == Duration::from_secs(3)
        ));
        assert!(
            matches!(unread(502, sent.as_bytes()), Err(CallError::Unknown(_))),
            "a success body under a failure status is not a success"
        );
    }

    #[test]
    fn classifies_answers_by_status_and_body() {
        assert!(matches!(
            outcome(200, r#"{"ok":true,"result":true}"#),
            Ok(true)
        ));
        assert!(matches!(outcome(200, "<html>"), Err(CallError::Unknown(_))));
        let retry = r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#;
        assert!(matches!(
            outcome(429, retry),
            Err(CallError::RetryAfter(d)) if d == Duration::from_secs(7)
        ));
        assert!(matches!(
            outcome(429, ""),
            Err(CallError::RetryAfter(d)) if d == Duration::from_secs(1)
        ));
        assert!(matches!(
            outcome(
                503,
                r#"{"ok":false,"error_code":503,"description":"Service Unavailable"}"#
            ),
            Err(CallError::NotProcessed(_))
        ));
        for status in [500, 502, 504] {
            let gateway =
                format!(r#"{{"ok":false,"error_code":{status},"description":"Bad Gateway"}}"#);
            assert!(
                matches!(outcome(status, &gateway), Err(CallError::Unknown(_))),
                "help: {status} is unknown"
            );
            assert!(matches!(
                outcome(status, "<html>nginx</html>"),
                Err(CallError::Unknown(_))
            ));
        }
        let kicked = r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was kicked from the supergroup chat"}"#;
        assert!(matches!(
            outcome(403, kicked),
            Err(CallError::Refused(RequestError::Api(
                ApiError::BotKickedFromSupergroup
            )))
        ));
        let migrated = r#"{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded","parameters":{"migrate_to_chat_id":-100}}"#;
        assert!(matches!(
            outcome(400, migrated),
            Err(CallError::Refused(RequestError::MigrateToChatId(ChatId(
                -100
            ))))
        ));
        assert!(matches!(
            outcome(404, "not json"),
            Err(CallError::Refused(RequestError::Api(ApiError::Unknown(_))))
        ));
    }

    #[test]
    fn transport_errors_never_show_the_token() {
        assert_eq!(
            without_url(&"error sending request for url (http://x/bot1:SECRET/sendMessage)"),
            "error sending request"
        );
    }
}
