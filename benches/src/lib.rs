//! Benchmarks for onbeat; see `benches/`.
