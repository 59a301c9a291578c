//! Pacing of outgoing messages per chat, so that one chat's limit never holds up another: each
//! chat has its own schedule (a GCRA token bucket: private chats one message a second with a
//! short burst, groups 20 a minute), all messages share one overall pace (30 a second), and a 429
//! `retry_after` holds only the chat it was answered for.
//!
//! Written here rather than taken from teloxide's `Throttle` or a rate-limiting crate: `Throttle`
//! freezes every send of the bot while it waits out one chat's 429, counts private chats against
//! the group limit of 20 a minute (a user reading a long clause in several parts waited up to
//! 10 s) and wakes its worker only every 250 ms; keyed limiters such as `governor` give no way to
//! hold a single key for a server-given `retry_after`, which is half of the job. The whole
//! scheduler is a map of two instants per chat under a mutex; a send waiting for its chat's turn
//! reserves nothing, so the overall pace is only taken by sends that can go now.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use teloxide::types::ChatId;
use tokio::time::Instant;

/// Telegram's published limits, or any others (tests, a local Bot API server).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Messages per second over all chats (Telegram: about 30).
    pub overall_per_sec: u32,
    /// Messages per second to one private chat, sustained (Telegram: about 1).
    pub private_per_sec: u32,
    /// Messages a private chat may get at once before that pace applies (Telegram allows short
    /// bursts), e.g. a long clause sent in several parts.
    pub private_burst: u32,
    /// Messages per minute to one group or supergroup (Telegram: 20).
    pub group_per_min: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            overall_per_sec: 30,
            private_per_sec: 1,
            private_burst: 3,
            group_per_min: 20,
        }
    }
}

/// One token bucket in GCRA form: a send is due at `tat - tolerance` (theoretical arrival time),
/// and each send moves `tat` on by `interval`.
#[derive(Clone, Copy, Debug)]
struct Rate {
    interval: Duration,
    tolerance: Duration,
}

impl Rate {
    /// `count` messages per `period`, `burst` of them at once (at least one).
    fn new(count: u32, period: Duration, burst: u32) -> Self {
        let interval = period / count.max(1);
        Rate {
            interval,
            tolerance: interval * (burst.max(1) - 1),
        }
    }

    /// When the next send is allowed, given the bucket's `tat`.
    fn due(&self, tat: Instant) -> Instant {
        tat.checked_sub(self.tolerance).unwrap_or(tat)
    }

    /// The `tat` after a send at `now`.
    fn after_send(&self, tat: Instant, now: Instant) -> Instant {
        tat.max(now) + self.interval
    }
}

/// Schedule of one chat.
#[derive(Clone, Copy, Debug)]
struct Chat {
    tat: Instant,
    /// Telegram answered 429 for this chat: nothing goes to it before then.
    held_until: Instant,
}

struct State {
    overall_tat: Instant,
    chats: HashMap<ChatId, Chat>,
    /// Chats kept before idle ones are forgotten.
    prune_at: usize,
}

/// Chats remembered before the idle ones are dropped (their schedule is in the past anyway).
const PRUNE_AT: usize = 1024;

/// The per-chat scheduler; shared by every send of the bot.
pub struct Pacer {
    overall: Rate,
    private: Rate,
    group: Rate,
    state: Mutex<State>,
}

impl Pacer {
    /// A scheduler for `limits`.
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        let now = Instant::now();
        Pacer {
            overall: Rate::new(limits.overall_per_sec, Duration::from_secs(1), 1),
            private: Rate::new(
                limits.private_per_sec,
                Duration::from_secs(1),
                limits.private_burst,
            ),
            group: Rate::new(limits.group_per_min, Duration::from_secs(60), 1),
            state: Mutex::new(State {
                overall_tat: now,
                chats: HashMap::new(),
                prune_at: PRUNE_AT,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until a message may go to `chat`, and counts it as sent.
    pub async fn turn(&self, chat: ChatId) {
        loop {
            match self.try_turn(chat, Instant::now()) {
                Ok(()) => return,
                Err(due) => tokio::time::sleep_until(due).await,
            }
        }
    }

    /// Takes a turn for `chat` at `now`, or says when to try again.
    fn try_turn(&self, chat: ChatId, now: Instant) -> Result<(), Instant> {
        let rate = match chat.is_user() {
            true => self.private,
            false => self.group,
        };
        let mut state = self.lock();
        let overall_due = self.overall.due(state.overall_tat);
        let entry = state.chats.entry(chat).or_insert(Chat {
            tat: now,
            held_until: now,
        });
        let due = rate.due(entry.tat).max(entry.held_until).max(overall_due);
        if due > now {
            return Err(due);
        }
        entry.tat = rate.after_send(entry.tat, now);
        state.overall_tat = self.overall.after_send(state.overall_tat, now);
        if state.chats.len() > state.prune_at {
            state.chats.retain(|_, c| c.tat > now || c.held_until > now);
            state.prune_at = PRUNE_AT.max(state.chats.len() * 2);
        }
        Ok(())
    }

    /// Telegram asked to wait `retry_after` before the next message to `chat` (429); other chats
    /// are not affected.
    pub fn hold(&self, chat: ChatId, retry_after: Duration) {
        let until = Instant::now() + retry_after;
        let mut state = self.lock();
        let entry = state.chats.entry(chat).or_insert(Chat {
            tat: until,
            held_until: until,
        });
        entry.held_until = entry.held_until.max(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: ChatId = ChatId(7);
    const BOB: ChatId = ChatId(8);
    const GROUP: ChatId = ChatId(-100_123);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Sends taken at `now` for `chat` until one is refused; how many, and when the next is due.
    fn burst(pacer: &Pacer, chat: ChatId, now: Instant) -> (usize, Instant) {
        let mut n = 0;
        loop {
            match pacer.try_turn(chat, now) {
                Ok(()) => n += 1,
                Err(due) => return (n, due),
            }
        }
    }

    #[test]
    fn private_chats_get_a_short_burst_then_one_a_second() {
        let pacer = Pacer::new(Limits {
            overall_per_sec: u32::MAX,
            ..Limits::default()
        });
        let t = Instant::now();
        let (n, due) = burst(&pacer, ALICE, t);
        assert_eq!(n, 3, "help: a burst of 3");
        assert!(due > t && due <= t + ms(1000), "next within a second");
        assert_eq!(
            burst(&pacer, BOB, t).0,
            3,
            "help: another chat has its own bucket"
        );
        assert_eq!(burst(&pacer, ALICE, t + ms(1000)).0, 1);
    }

    #[test]
    fn groups_get_twenty_a_minute() {
        let pacer = Pacer::new(Limits {
            overall_per_sec: u32::MAX,
            ..Limits::default()
        });
        let t = Instant::now();
        let mut sent = 0;
        for second in 0..60 {
            sent += burst(&pacer, GROUP, t + Duration::from_secs(second)).0;
        }
        assert_eq!(sent, 20, "help: 20 in the first minute");
    }

    #[test]
    fn the_overall_pace_spaces_every_chat() {
        let pacer = Pacer::new(Limits::default());
        let t = Instant::now();
        assert!(pacer.try_turn(ChatId(1), t).is_ok());
        let due = pacer
            .try_turn(ChatId(2), t)
            .expect_err("help: 30/s overall");
        assert_eq!(due, t + Duration::from_secs(1) / 30);
        let mut sent = 1;
        for i in 0..1000 {
            let at = t + ms(i);
            if pacer.try_turn(ChatId(1_000 + i as i64), at).is_ok() {
                sent += 1;
            }
        }
        assert_eq!(sent, 30, "help: 30 chats served in one second");
    }

    #[tokio::test]
    async fn a_held_chat_does_not_hold_the_others() {
        let pacer = Pacer::new(Limits::default());
        pacer.hold(ALICE, Duration::from_secs(30));
        let now = Instant::now();
        let due = pacer.try_turn(ALICE, now).expect_err("help: Alice is held");
        assert!(due >= now + Duration::from_secs(29), "held for retry_after");
        assert!(pacer.try_turn(BOB, now).is_ok(), "help: Bob is not held");
        pacer.hold(ALICE, Duration::from_secs(1));
        assert!(
            pacer.try_turn(ALICE, now).is_err(),
            "help: a shorter hold does not shorten a longer one"
        );
    }

    #[test]
    fn idle_chats_are_forgotten() {
        let pacer = Pacer::new(Limits {
            overall_per_sec: u32::MAX,
            ..Limits::default()
        });
        let t = Instant::now();
        for chat in 0..PRUNE_AT as i64 {
            pacer.try_turn(ChatId(chat + 1), t).expect("first send");
        }
        let later = t + Duration::from_secs(5);
        pacer.try_turn(ChatId(-1), later).expect("first send");
        assert!(pacer.lock().chats.len() < 10, "help: idle chats dropped");
    }
}
