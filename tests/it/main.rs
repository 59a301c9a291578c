//! Integration tests: one binary, one module per area.

/// The allocator of the `policybot` binary (see `src/main.rs`), so that what runs the bot here
/// (the load run above all) allocates as the deployed binary does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
