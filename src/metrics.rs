//! Prometheus metrics of `serve`, one process-wide registry ([`prometheus_client`]) served as
//! OpenMetrics text at `GET /metrics` on the health listener: questions by status and source,
//! answer latency, Telegram sends, retries, 429s and failures, Redis command errors and
//! reachability, announcement deliveries, and the index in use. Recording is a few atomic
//! operations; nothing here blocks.

use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::answer::Status;
use crate::session::{Source, unix_now};

/// The content type of [`encode_text`].
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels = Vec<(&'static str, &'static str)>;

struct Metrics {
    registry: Registry,
    questions: Family<Labels, Counter>,
    answer_seconds: Histogram,
    sends: Counter,
    retries: Family<Labels, Counter>,
    rate_limited: Family<Labels, Counter>,
    failures: Family<Labels, Counter>,
    redis_errors: Counter,
    redis_up: Gauge,
    broadcast: Family<Labels, Gauge>,
    index_info: Family<Vec<(&'static str, String)>, Gauge>,
    index_documents: Gauge,
    index_clauses: Gauge,
    index_loaded: Gauge<f64, AtomicU64>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::default();
    let m = Metrics {
        registry: Registry::default(),
        questions: Family::default(),
        // 5 ms … about 20 s.
        answer_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 13)),
        sends: Counter::default(),
        retries: Family::default(),
        rate_limited: Family::default(),
        failures: Family::default(),
        redis_errors: Counter::default(),
        redis_up: Gauge::default(),
        broadcast: Family::default(),
        index_info: Family::default(),
        index_documents: Gauge::default(),
        index_clauses: Gauge::default(),
        index_loaded: Gauge::default(),
    };
    registry.register(
        "policybot_questions",
        "Questions answered, by status (answered, related, no_match, intent, invalid) and source (private, group, forward, inline)",
        m.questions.clone(),
    );
    registry.register(
        "policybot_answer_seconds",
        "Time from receiving a question to its answer being sent",
        m.answer_seconds.clone(),
    );
    registry.register(
        "policybot_telegram_sends",
        "Messages Telegram accepted (sendMessage)",
        m.sends.clone(),
    );
    registry.register(
        "policybot_telegram_retries",
        "Bot API calls sent again after a failure that was not processed, by method",
        m.retries.clone(),
    );
    registry.register(
        "policybot_telegram_rate_limited",
        "429 Too Many Requests answers, by method",
        m.rate_limited.clone(),
    );
    registry.register(
        "policybot_telegram_failures",
        "Bot API calls that failed for good, by method and reason (refused, gave_up, in_doubt)",
        m.failures.clone(),
    );
    registry.register(
        "policybot_redis_errors",
        "Redis commands of the session store that failed",
        m.redis_errors.clone(),
    );
    registry.register(
        "policybot_redis_up",
        "1 while the session store's Redis answers, 0 when it does not or none is configured",
        m.redis_up.clone(),
    );
    registry.register(
        "policybot_broadcast_deliveries",
        "Announcement deliveries over all announced documents, by state (pending, delivered, failed)",
        m.broadcast.clone(),
    );
    registry.register(
        "policybot_index_info",
        "The index generation answering questions (value 1)",
        m.index_info.clone(),
    );
    registry.register(
        "policybot_index_documents",
        "Documents in the index in use",
        m.index_documents.clone(),
    );
    registry.register(
        "policybot_index_clauses",
        "Clauses in the index in use",
        m.index_clauses.clone(),
    );
    registry.register(
        "policybot_index_loaded_timestamp_seconds",
        "When the index in use was loaded (Unix time)",
        m.index_loaded.clone(),
    );
    // Known series start at 0, so that rates and alerts see them before the first event.
    for status in [
        Status::Answered,
        Status::Related,
        Status::NoMatch,
        Status::Intent,
        Status::Invalid,
    ] {
        for source in [
            Source::Private,
            Source::Group,
            Source::Forward,
            Source::Inline,
        ] {
            m.questions
                .get_or_create(&vec![
                    ("status", status_name(status)),
                    ("source", source.as_str()),
                ])
                .inc_by(0);
        }
    }
    let send = vec![("method", "sendMessage")];
    m.retries.get_or_create(&send).inc_by(0);
    m.rate_limited.get_or_create(&send).inc_by(0);
    for reason in ["refused", "gave_up", "in_doubt"] {
        m.failures
            .get_or_create(&vec![("method", "sendMessage"), ("reason", reason)])
            .inc_by(0);
    }
    for state in ["pending", "delivered", "failed"] {
        m.broadcast.get_or_create(&vec![("state", state)]).set(0);
    }
    Metrics { registry, ..m }
});

/// The status name used in metrics and logs.
fn status_name(status: Status) -> &'static str {
    match status {
        Status::Answered => "answered",
        Status::Related => "related",
        Status::NoMatch => "no_match",
        Status::Intent => "intent",
        Status::Invalid => "invalid",
    }
}

/// A question from `source` was answered with `status` after `seconds`.
pub fn question(status: Status, source: Source, seconds: f64) {
    let m = &*METRICS;
    m.questions
        .get_or_create(&vec![
            ("status", status_name(status)),
            ("source", source.as_str()),
        ])
        .inc();
    m.answer_seconds.observe(seconds);
}

/// Telegram accepted a message.
pub fn telegram_sent() {
    METRICS.sends.inc();
}

/// A call of `method` is sent again after a failure that was not processed.
pub fn telegram_retry(method: &'static str) {
    METRICS
        .retries
        .get_or_create(&vec![("method", method)])
        .inc();
}

/// Telegram answered a call of `method` with 429.
pub fn telegram_rate_limited(method: &'static str) {
    METRICS
        .rate_limited
        .get_or_create(&vec![("method", method)])
        .inc();
}

/// A call of `method` failed for good: `reason` is `refused`, `gave_up` or `in_doubt`.
pub fn telegram_failed(method: &'static str, reason: &'static str) {
    METRICS
        .failures
        .get_or_create(&vec![("method", method), ("reason", reason)])
        .inc();
}

/// A Redis command of the session store failed.
pub fn redis_error() {
    METRICS.redis_errors.inc();
}

/// Whether the session store's Redis answers.
pub fn redis_reachable(up: bool) {
    METRICS.redis_up.set(i64::from(up));
}

/// Announcement deliveries summed over all announced documents.
pub fn broadcast(pending: u64, delivered: u64, failed: u64) {
    for (state, n) in [
        ("pending", pending),
        ("delivered", delivered),
        ("failed", failed),
    ] {
        METRICS
            .broadcast
            .get_or_create(&vec![("state", state)])
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
}

/// The index `generation` with `documents` and `clauses` was loaded now.
pub fn index_loaded(generation: &str, documents: usize, clauses: usize) {
    let m = &*METRICS;
    m.index_info.clear();
    m.index_info
        .get_or_create(&vec![("generation", generation.to_string())])
        .set(1);
    m.index_documents
        .set(i64::try_from(documents).unwrap_or(i64::MAX));
    m.index_clauses
        .set(i64::try_from(clauses).unwrap_or(i64::MAX));
    m.index_loaded.set(unix_now().as_secs_f64());
}

/// Every metric in the OpenMetrics text format (which Prometheus scrapes).
#[must_use]
pub fn encode_text() -> String {
    let mut out = String::new();
    if let Err(e) = encode(&mut out, &METRICS.registry) {
        tracing::warn!(error = %e, "metrics not encodable");
    }
    out
}

/// The whole HTTP/1.1 response to `GET /metrics`.
#[must_use]
pub fn http_response() -> String {
    let body = encode_text();
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {CONTENT_TYPE}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_show_in_the_text() {
        question(Status::NoMatch, Source::Forward, 0.02);
        index_loaded("gen-7", 12, 345);
        index_loaded("gen-8", 13, 346);
        broadcast(1, 2, 3);
        let text = encode_text();
        assert!(
            text.contains(r#"policybot_questions_total{status="no_match",source="forward"}"#),
            "{text}"
        );
        assert!(text.contains("policybot_answer_seconds_bucket"), "{text}");
        assert!(text.contains(r#"policybot_index_info{generation="gen-8"} 1"#));
        assert!(
            !text.contains("gen-7"),
            "help: only the generation in use: {text}"
        );
        assert!(text.contains("policybot_index_clauses 346"));
        assert!(text.contains(r#"policybot_broadcast_deliveries{state="failed"} 3"#));
        assert!(text.ends_with("# EOF\n"));
    }
}
