//! Shared test fixtures: a real Redis server per test (or `TEST_REDIS_URL`).

pub mod redis;
