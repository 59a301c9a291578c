//! Integration tests: one binary, one module per area.

mod cli;
mod corpus;
mod kb;
mod session;
mod support;
