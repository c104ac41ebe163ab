//! Model and embedding providers. For now: the built-in offline embedder.

pub mod embedding;
