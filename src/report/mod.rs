//! Turning outcomes into what the operator reads: table, JSON, NDJSON.

pub mod sanitize;
