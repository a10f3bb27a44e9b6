//! Conformance runner (below).
