//! Retrieval evaluation: gold JSONL → recall@k, MRR, declines, latency (scoring of `../shared/eval`).
