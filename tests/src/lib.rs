//! End-to-end tests across onbeat crates live in `tests/`.
