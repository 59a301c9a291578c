//! Integration tests: one binary, one module per area.

mod cli;
mod corpus;
mod fake_bot_api;
mod kb;
mod session;
mod support;
mod telegram;
