//! The one integration-test binary: `cargo test --test it`.

mod session;
mod support;
