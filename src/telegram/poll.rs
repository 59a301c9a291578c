//! Long polling: the update listener that fetches getUpdates through [`Api`] and feeds the
//! dispatcher, with its own recovery from failed fetches; and the start-up getMe ([`get_me`]),
//! repeated with the same backoff.
//!
//! Written here instead of using teloxide's `Polling`: every teloxide request sleeps a fixed
//! 10 s after a 5xx before it even returns (see [`super::api`]), and `Polling` then waits 1 s,
//! 2 s, … 64 s more per failure, so one 502 from Telegram's front end cost 10 s or more of
//! silence. Here a failed fetch (5xx, no connection, a timeout) is repeated after
//! [`FIRST_BACKOFF`], doubling up to [`MAX_BACKOFF`], back to the first delay as soon as a fetch
//! works; a 429 waits its `retry_after`. A run of failures is logged once when it starts (warn)
//! and once when it ends (info), not once per attempt, and nothing is handed to the dispatcher's
//! error handler.
//!
//! Confirmation, as with `Polling`: the next fetch asks for `offset` = last update id + 1, which
//! confirms the batch to Telegram. With an [`Inbox`], each fetched batch is recorded there in one
//! round trip before its first update is handed out (redeliveries of updates recorded before are
//! dropped), so every update is recorded before it is confirmed. On the stop token the fetch under way is dropped, the updates already fetched are
//! still handed out (they are in flight), and a last call with `timeout = 0, limit = 1`
//! confirms them before the stream ends.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use teloxide::RequestError;
use teloxide::payloads::GetMe;
use teloxide::payloads::{GetUpdates, GetUpdatesSetters};
use teloxide::stop::{StopFlag, StopToken, mk_stop_token};
use teloxide::types::{AllowedUpdate, Me, Update};
use teloxide::update_listeners::{AsUpdateStream, UpdateListener};
use tokio::time::Instant;

use super::api::{Api, CallError};
use super::inbox::Inbox;
use crate::metrics;

/// Delay before fetching again after the first failure of a run.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Longest delay between two fetches while they keep failing.
pub const MAX_BACKOFF: Duration = Duration::from_secs(4);
/// Upper bound on the call that confirms the last updates at a stop.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(5);

/// The long-polling update listener.
pub struct LongPoll {
    api: Api,
    timeout: Duration,
    inbox: Option<Arc<Inbox>>,
    allowed: Option<Vec<AllowedUpdate>>,
    token: StopToken,
    flag: StopFlag,
}

impl LongPoll {
    /// Fetches through `api`, each getUpdates held open by Telegram for up to `timeout` (whole
    /// seconds), recording each batch in `inbox` (if any) before handing it out. The HTTP client
    /// of `api` must wait longer than `timeout`.
    #[must_use]
    pub fn new(api: Api, timeout: Duration, inbox: Option<Arc<Inbox>>) -> Self {
        let (token, flag) = mk_stop_token();
        LongPoll {
            api,
            timeout,
            inbox,
            allowed: None,
            token,
            flag,
        }
    }
}

impl UpdateListener for LongPoll {
    /// Failed fetches are retried and logged here, never handed to the dispatcher.
    type Err = Infallible;

    fn stop_token(&mut self) -> StopToken {
        self.token.clone()
    }

    fn hint_allowed_updates(&mut self, hint: &mut dyn Iterator<Item = AllowedUpdate>) {
        self.allowed = Some(hint.collect());
    }
}

impl<'a> AsUpdateStream<'a> for LongPoll {
    type StreamErr = Infallible;
    type Stream = BoxStream<'a, Result<Update, Infallible>>;

    fn as_stream(&'a mut self) -> Self::Stream {
        let fetcher = Fetcher {
            api: self.api.clone(),
            inbox: self.inbox.clone(),
            server: self.api.server(),
            timeout: u32::try_from(self.timeout.as_secs()).unwrap_or(u32::MAX),
            allowed: self.allowed.clone(),
            flag: self.flag.clone(),
            offset: None,
            batch: VecDeque::new(),
            failing: None,
        };
        stream::unfold(fetcher, |mut fetcher| async move {
            let update = fetcher.next().await?;
            Some((Ok(update), fetcher))
        })
        .boxed()
    }
}

/// A run of failed fetches: when it started and how many.
struct Failing {
    since: Instant,
    failures: u32,
}

/// The polling state behind the stream.
struct Fetcher {
    api: Api,
    /// Where each batch is recorded before it is handed out.
    inbox: Option<Arc<Inbox>>,
    /// The Bot API server, named in the logs.
    server: String,
    timeout: u32,
    /// Sent until a fetch succeeds (Telegram keeps the setting).
    allowed: Option<Vec<AllowedUpdate>>,
    flag: StopFlag,
    /// Last fetched update id + 1; `None` before the first update.
    offset: Option<i32>,
    /// Fetched, not yet handed out.
    batch: VecDeque<Update>,
    failing: Option<Failing>,
}

impl Fetcher {
    /// The next update; `None` once stopped and the batch is handed out.
    async fn next(&mut self) -> Option<Update> {
        loop {
            if let Some(update) = self.batch.pop_front() {
                return Some(update);
            }
            if self.flag.is_stopped() {
                self.confirm().await;
                return None;
            }
            let mut payload = GetUpdates::new().timeout(self.timeout);
            payload.offset = self.offset;
            payload.allowed_updates.clone_from(&self.allowed);
            let fetched = tokio::select! {
                biased;
                () = self.flag.clone() => continue,
                fetched = self.api.call::<Vec<Update>>("getUpdates", &payload) => fetched,
            };
            let delay = match fetched {
                Ok(updates) => {
                    self.recovered();
                    self.allowed = None;
                    if let Some(last) = updates.last() {
                        self.offset = Some(last.id.as_offset());
                    }
                    let updates = match &self.inbox {
                        Some(inbox) if !updates.is_empty() => inbox.accept_all(updates).await,
                        _ => updates,
                    };
                    self.batch = updates.into();
                    continue;
                }
                Err(error) => self.failed(&error),
            };
            tokio::select! {
                biased;
                () = self.flag.clone() => {}
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// Counts a failed fetch (logging the first of a run) and says how long to wait.
    fn failed(&mut self, error: &CallError) -> Duration {
        let (why, delay) = match error {
            CallError::RetryAfter(after) => {
                metrics::telegram_rate_limited("getUpdates");
                (format!("429: retry after {after:?}"), *after)
            }
            CallError::Refused(e) => (e.to_string(), self.backoff()),
            CallError::NotProcessed(why) | CallError::Unknown(why) => (why.clone(), self.backoff()),
        };
        metrics::telegram_retry("getUpdates");
        let run = self.failing.get_or_insert_with(|| {
            tracing::warn!(
                server = %self.server,
                error = %why,
                first_retry_ms = delay.as_millis() as u64,
                "getUpdates failed; fetching again with backoff (250 ms doubling, at most 4 s) until it works"
            );
            Failing {
                since: Instant::now(),
                failures: 0,
            }
        });
        run.failures += 1;
        delay
    }

    /// Delay before the next fetch of the failure run under way.
    fn backoff(&self) -> Duration {
        backoff(self.failing.as_ref().map_or(0, |f| f.failures))
    }

    /// A fetch worked: ends the failure run, if any (logged once).
    fn recovered(&mut self) {
        if let Some(run) = self.failing.take() {
            tracing::info!(
                server = %self.server,
                failures = run.failures,
                after_ms = run.since.elapsed().as_millis() as u64,
                "getUpdates works again"
            );
        }
    }

    /// Confirms the updates handed out (one call, not retried: unconfirmed updates come again
    /// at the next start, where the inbox drops the ones already handled).
    async fn confirm(&self) {
        let Some(offset) = self.offset else {
            return;
        };
        let payload = GetUpdates::new().offset(offset).limit(1).timeout(0);
        let call = self.api.call::<Vec<Update>>("getUpdates", &payload);
        let why = match tokio::time::timeout(CONFIRM_TIMEOUT, call).await {
            Ok(Ok(_)) => return,
            Ok(Err(error)) => format!("{error:?}"),
            Err(_) => "timed out".to_string(),
        };
        tracing::warn!(
            offset,
            error = %why,
            "could not confirm the last updates at stop; Telegram will send them again"
        );
    }
}

/// Delay before the next call after `failures` earlier failures of a run: [`FIRST_BACKOFF`]
/// doubled per earlier failure, at most [`MAX_BACKOFF`].
fn backoff(failures: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(failures))
        .min(MAX_BACKOFF)
}

/// The bot's identity (getMe) at start, asked until Telegram answers: a 5xx, a lost connection
/// or a timeout is asked again after the polling backoff ([`FIRST_BACKOFF`] doubling to
/// [`MAX_BACKOFF`]), a 429 after its `retry_after`, each failure logged; a refusal (401: a bad
/// token) is returned, since asking again cannot help. The caller races it against the stop
/// signal.
///
/// # Errors
/// Telegram refused the call.
pub async fn get_me(api: &Api) -> Result<Me, RequestError> {
    let mut failures = 0;
    loop {
        let delay = match api.call::<Me>("getMe", &GetMe::new()).await {
            Ok(me) => {
                if failures > 0 {
                    tracing::info!(server = %api.server(), failures, "getMe works again");
                }
                return Ok(me);
            }
            Err(CallError::Refused(error)) => return Err(error),
            Err(CallError::RetryAfter(after)) => {
                metrics::telegram_rate_limited("getMe");
                tracing::warn!(server = %api.server(), ?after, "getMe: 429, waiting");
                after
            }
            Err(CallError::NotProcessed(why) | CallError::Unknown(why)) => {
                let delay = backoff(failures);
                tracing::warn!(
                    server = %api.server(),
                    error = %why,
                    retry_ms = delay.as_millis() as u64,
                    "getMe failed; asking again"
                );
                delay
            }
        };
        metrics::telegram_retry("getMe");
        failures += 1;
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_bound_and_restarts_after_a_success() {
        let mut f = Fetcher {
            api: Api::new(teloxide::Bot::new("1:T")),
            inbox: None,
            server: "api.telegram.org".to_string(),
            timeout: 1,
            allowed: None,
            flag: mk_stop_token().1,
            offset: None,
            batch: VecDeque::new(),
            failing: None,
        };
        let down = CallError::NotProcessed("connection refused".to_string());
        let delays: Vec<Duration> = (0..7).map(|_| f.failed(&down)).collect();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(
            delays,
            [
                ms(250),
                ms(500),
                ms(1000),
                ms(2000),
                ms(4000),
                ms(4000),
                ms(4000)
            ]
        );
        assert_eq!(
            f.failed(&CallError::RetryAfter(Duration::from_secs(7))),
            Duration::from_secs(7),
            "help: a 429 waits its retry_after"
        );
        f.recovered();
        assert_eq!(f.failed(&down), FIRST_BACKOFF, "help: a success resets");
    }
}
