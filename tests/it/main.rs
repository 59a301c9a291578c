//! Integration tests: one binary, one module per area.

mod broadcast;
mod cli;
mod conversation;
mod corpus;
mod fake_bot_api;
mod fuzz;
mod inbox;
mod ingest;
mod ingest_safety;
mod integrity;
mod kb;
mod load;
mod pinned;
mod retrieval;
mod review;
mod session;
mod shutdown;
mod support;
mod telegram;
