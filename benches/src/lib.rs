//! Benchmarks for onbeat; see `benches/`.
#![forbid(unsafe_code)]
