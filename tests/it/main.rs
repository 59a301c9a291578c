//! Integration tests (one binary).

mod corpus;
