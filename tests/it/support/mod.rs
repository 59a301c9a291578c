//! Shared test fixtures: a real Redis server per test (or `TEST_REDIS_URL`), log capture,
//! ingest files.

pub mod files;
pub mod logs;
pub mod redis;
