//! The one integration-test binary: `cargo test --test it`.

mod fake_bot_api;
mod session;
mod support;
mod telegram;
