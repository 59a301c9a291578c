//! tantivy analyzers: the jieba word tokenizer and the CJK bigram tokenizer, and their registration.

/// Name under which the jieba analyzer is registered on every index open.
pub const JIEBA: &str = "policy_jieba";
/// Name under which the CJK bigram analyzer is registered.
pub const BIGRAM: &str = "policy_bigram";
