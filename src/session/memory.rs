//! `MemoryStore`: sessions in process memory, bounded (least-recently-used evicted first) and
//! expiring after the TTL; flood counters for the current minute; operator logs capped and
//! expiring by their [`LogPolicy`] (the salt, unless configured, is made per process).
//! The default when no Redis URL is configured. Lost on restart.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{
    Feedback, FloodGate, LogPolicy, Logs, OperatorLog, Session, SessionKey, SessionStore,
    Unanswered, flood_window, random_salt, unix_now,
};

/// Bounded in-memory session store; thread-safe.
pub struct MemoryStore {
    ttl: Duration,
    max_entries: usize,
    logs: LogPolicy,
    /// Salt of the user hashes in the logs.
    salt: String,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<SessionKey, Entry>,
    /// Last-use tick → key; the first entry is the least recently used.
    recency: BTreeMap<u64, SessionKey>,
    /// Monotonic use counter feeding `recency`.
    tick: u64,
    /// Window (minute) the counters in `flood` belong to.
    flood_window: u64,
    flood: HashMap<SessionKey, u32>,
    feedback: VecDeque<Feedback>,
    unanswered: VecDeque<Unanswered>,
}

struct Entry {
    session: Session,
    expires: Instant,
    tick: u64,
}

impl fmt::Debug for MemoryStore {
    // By hand: users' questions in the sessions and logs do not belong in debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("ttl", &self.ttl)
            .field("max_entries", &self.max_entries)
            .field("logs", &self.logs)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// A store keeping at most `max_entries` sessions (at least 1), each for `ttl` after its last
    /// use.
    #[must_use]
    pub fn new(ttl: Duration, max_entries: usize) -> Self {
        MemoryStore {
            ttl,
            max_entries: max_entries.max(1),
            logs: LogPolicy::default(),
            salt: random_salt(),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The same store keeping its operator logs by `policy`.
    #[must_use]
    pub fn with_logs(mut self, policy: LogPolicy) -> Self {
        if let Some(salt) = &policy.salt {
            self.salt.clone_from(salt);
        }
        self.logs = policy;
        self
    }

    /// Number of sessions held (expired ones may still count until evicted).
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().sessions.len()
    }

    /// True when no session is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The state, even if a panicking thread poisoned the lock: every update below leaves it
    /// consistent, so the data stays usable.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl MemoryStore {
    /// Stores `session` for `key` under the held lock.
    fn put(&self, inner: &mut Inner, key: SessionKey, session: &Session) {
        let now = Instant::now();
        inner.remove(key);
        inner.make_room(self.max_entries, now);
        let tick = inner.next_tick();
        inner.recency.insert(tick, key);
        inner.sessions.insert(
            key,
            Entry {
                session: session.clone(),
                expires: now + self.ttl,
                tick,
            },
        );
    }
}

impl Inner {
    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    fn remove(&mut self, key: SessionKey) {
        if let Some(entry) = self.sessions.remove(&key) {
            self.recency.remove(&entry.tick);
        }
    }

    /// Makes room for one more session: drops expired ones, then the least recently used.
    fn make_room(&mut self, max_entries: usize, now: Instant) {
        if self.sessions.len() < max_entries {
            return;
        }
        let recency = &mut self.recency;
        self.sessions.retain(|_, e| {
            let keep = e.expires > now;
            if !keep {
                recency.remove(&e.tick);
            }
            keep
        });
        while self.sessions.len() >= max_entries {
            let Some((_, key)) = self.recency.pop_first() else {
                break;
            };
            self.sessions.remove(&key);
        }
    }
}

/// Pushes `item` at the front of a log holding at most `policy.cap` entries, none expired
/// (`at` gives an entry's time).
fn push_log<T>(log: &mut VecDeque<T>, item: T, policy: &LogPolicy, at: impl Fn(&T) -> u64) {
    log.push_front(item);
    log.truncate(policy.cap.max(1));
    let cutoff = policy.cutoff(unix_now().as_secs());
    while log.back().is_some_and(|e| at(e) < cutoff) {
        log.pop_back();
    }
}

impl SessionStore for MemoryStore {
    async fn load(&self, key: SessionKey) -> Session {
        let now = Instant::now();
        let mut inner = self.lock();
        let tick = inner.next_tick();
        let Some(entry) = inner.sessions.get_mut(&key) else {
            return Session::default();
        };
        if entry.expires <= now {
            inner.remove(key);
            return Session::default();
        }
        let old = std::mem::replace(&mut entry.tick, tick);
        entry.expires = now + self.ttl;
        let session = entry.session.clone();
        inner.recency.remove(&old);
        inner.recency.insert(tick, key);
        session
    }

    async fn save(&self, key: SessionKey, session: &Session) {
        self.put(&mut self.lock(), key, session);
    }

    async fn save_if(&self, key: SessionKey, old: &Session, new: &Session) -> bool {
        let now = Instant::now();
        let mut inner = self.lock();
        let current = inner
            .sessions
            .get(&key)
            .filter(|e| e.expires > now)
            .map(|e| &e.session);
        let unchanged = match current {
            Some(current) => current == old,
            None => *old == Session::default(),
        };
        if unchanged {
            self.put(&mut inner, key, new);
        }
        unchanged
    }

    async fn reset(&self, key: SessionKey) {
        self.lock().remove(key);
    }
}

impl FloodGate for MemoryStore {
    async fn allow(&self, key: SessionKey, limit: u32) -> bool {
        let window = flood_window();
        let mut inner = self.lock();
        if inner.flood_window != window {
            inner.flood_window = window;
            inner.flood.clear();
        }
        // Counters live one minute, so the map holds only users active this minute; past the
        // bound a newcomer is let through uncounted rather than growing memory.
        if inner.flood.len() >= self.max_entries && !inner.flood.contains_key(&key) {
            return true;
        }
        let count = inner.flood.entry(key).or_insert(0);
        *count = count.saturating_add(1);
        *count <= limit
    }
}

impl OperatorLog for MemoryStore {
    async fn record_feedback(&self, key: SessionKey, mut feedback: Feedback) {
        feedback.who = Some(LogPolicy::who(&self.salt, key.user));
        push_log(&mut self.lock().feedback, feedback, &self.logs, |e| e.at);
    }

    async fn record_unanswered(&self, key: SessionKey, mut entry: Unanswered) {
        entry.who = Some(LogPolicy::who(&self.salt, key.user));
        push_log(&mut self.lock().unanswered, entry, &self.logs, |e| e.at);
    }

    async fn logs(&self, since: u64) -> Logs {
        let since = since.max(self.logs.cutoff(unix_now().as_secs()));
        let inner = self.lock();
        Logs {
            unanswered: inner
                .unanswered
                .iter()
                .filter(|e| e.at >= since)
                .cloned()
                .collect(),
            feedback: inner
                .feedback
                .iter()
                .filter(|e| e.at >= since)
                .cloned()
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(user: u64) -> SessionKey {
        SessionKey { chat: -1, user }
    }

    fn session(q: &str) -> Session {
        Session {
            last_question: Some(q.to_string()),
            ..Session::default()
        }
    }

    #[tokio::test]
    async fn evicts_least_recently_used() {
        let store = MemoryStore::new(Duration::from_secs(60), 2);
        store.save(key(1), &session("a")).await;
        store.save(key(2), &session("b")).await;
        // Using 1 makes 2 the least recently used.
        assert_eq!(store.load(key(1)).await, session("a"));
        store.save(key(3), &session("c")).await;
        assert_eq!(store.len(), 2);
        assert_eq!(
            store.load(key(2)).await,
            Session::default(),
            "help: LRU entry 2 should go"
        );
        assert_eq!(store.load(key(1)).await, session("a"));
        assert_eq!(store.load(key(3)).await, session("c"));
    }

    #[tokio::test]
    async fn overwrite_does_not_evict() {
        let store = MemoryStore::new(Duration::from_secs(60), 2);
        store.save(key(1), &session("a")).await;
        store.save(key(2), &session("b")).await;
        store.save(key(2), &session("b2")).await;
        assert_eq!(store.load(key(1)).await, session("a"));
        assert_eq!(store.load(key(2)).await, session("b2"));
        assert_eq!(
            store.inner.lock().unwrap().recency.len(),
            2,
            "help: stale ticks left behind"
        );
    }

    #[tokio::test]
    async fn expired_entries_are_evicted_before_live_ones() {
        let store = MemoryStore::new(Duration::from_millis(30), 2);
        store.save(key(1), &session("a")).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        store.save(key(2), &session("b")).await;
        // 1 is expired and 2 is live: making room drops 1, keeps 2.
        store.save(key(3), &session("c")).await;
        assert_eq!(store.load(key(2)).await, session("b"));
        assert_eq!(store.load(key(3)).await, session("c"));
    }

    #[tokio::test]
    async fn logs_are_bounded_newest_first() {
        let policy = LogPolicy {
            cap: 5,
            ..LogPolicy::default()
        };
        let store = MemoryStore::new(Duration::from_secs(60), 2).with_logs(policy);
        for i in 0..8 {
            let entry = Unanswered::new(
                &format!("q{i}"),
                crate::answer::Status::NoMatch,
                super::super::Source::Private,
                Vec::new(),
            );
            store.record_unanswered(key(1), entry).await;
        }
        let all = store.logs(0).await.unanswered;
        assert_eq!(all.len(), 5);
        assert_eq!(all[0].question, "q7");
    }

    #[tokio::test]
    async fn expired_entries_are_dropped_and_never_read() {
        let store = MemoryStore::new(Duration::from_secs(60), 2);
        let mut old = Feedback::new(1, false, "旧问题", Vec::new());
        old.at -= super::super::LOG_EXPIRY.as_secs() + 10;
        store.record_feedback(key(1), old).await;
        assert!(
            store.logs(0).await.feedback.is_empty(),
            "help: an expired entry is not read"
        );
        store
            .record_feedback(key(1), Feedback::new(2, true, "新问题", Vec::new()))
            .await;
        assert_eq!(store.lock().feedback.len(), 1, "help: and dropped on write");
    }
}
