//! Embeddings: the [`Embedder`] trait (texts in, one vector each out), implemented by the
//! OpenAI-compatible `/v1/embeddings` endpoint ([`super::openai`]) and by the built-in offline
//! embedder here.
//!
//! The offline embedder: feature hashing ("the hashing trick") of words and word pairs into a
//! 1536-dimension vector, L2-normalised. It needs no key, no network and no model file, and it
//! is a real embedding: texts that share words get close vectors, so vector search over it
//! ranks lexical overlap. It is no semantic model; configure a real provider for that.

use async_graphql::futures_util::future::{self, BoxFuture};
use pgvector::Vector;
use sha2::{Digest, Sha256};

use super::ProviderError;

/// The offline embedder's model id (its provider is `offline`).
pub const OFFLINE_MODEL: &str = "chatgraph-offline-hashing-v1";
/// The offline embedder's model as `provider/model`, recorded with each vector it made.
pub const OFFLINE_EMBEDDING_MODEL: &str = "offline/chatgraph-offline-hashing-v1";
/// The dimension of the offline embedder's vectors.
pub const OFFLINE_DIMENSIONS: usize = 1536;

/// Vectors of some texts, in their order, and the tokens the provider counted (0 when it
/// does not say).
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    /// One vector per text.
    pub vectors: Vec<Vector>,
    /// Tokens read.
    pub tokens: i64,
}

/// A model that turns texts into vectors of a fixed dimension.
pub trait Embedder: Send + Sync {
    /// Embeds `texts` (any number: an implementation batches its requests), one vector each.
    fn embed(&self, texts: Vec<String>) -> BoxFuture<'static, Result<Embeddings, ProviderError>>;
}

impl Embedder for OfflineHashingEmbedder {
    fn embed(&self, texts: Vec<String>) -> BoxFuture<'static, Result<Embeddings, ProviderError>> {
        let vectors = texts.iter().map(|text| self.embed_one(text)).collect();
        Box::pin(future::ready(Ok(Embeddings { vectors, tokens: 0 })))
    }
}

/// Embeds texts offline by feature hashing.
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineHashingEmbedder;

impl OfflineHashingEmbedder {
    /// The model name stored with each vector (`provider/model`).
    pub fn model(&self) -> &'static str {
        OFFLINE_EMBEDDING_MODEL
    }

    /// Embeds one text. Empty or word-less text gives the zero vector.
    pub fn embed_one(&self, text: &str) -> Vector {
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        let mut values = vec![0f32; OFFLINE_DIMENSIONS];
        let features = words
            .iter()
            .map(|w| (w.clone(), 1.0))
            .chain(words.windows(2).map(|pair| (format!("{} {}", pair[0], pair[1]), 0.5)));
        for (feature, weight) in features {
            let digest = Sha256::digest(feature.as_bytes());
            let bucket = u64::from_le_bytes(digest[..8].try_into().unwrap_or_default());
            let index = (bucket % OFFLINE_DIMENSIONS as u64) as usize;
            let sign = if digest[8] & 1 == 0 { 1.0 } else { -1.0 };
            values[index] += sign * weight;
        }
        let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            values.iter_mut().for_each(|v| *v /= norm);
        }
        Vector::from(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &Vector, b: &Vector) -> f32 {
        a.as_slice().iter().zip(b.as_slice()).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn vectors_are_unit_length_deterministic_and_ranked_by_overlap() {
        let embedder = OfflineHashingEmbedder;
        let query = embedder.embed_one("How do I reset my password?");
        assert_eq!(query.as_slice().len(), OFFLINE_DIMENSIONS);
        let norm: f32 = query.as_slice().iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        assert_eq!(query, embedder.embed_one("how do i reset my PASSWORD"));

        let related = embedder.embed_one("To reset your password, open settings.");
        let unrelated = embedder.embed_one("Invoices are sent on the first of the month.");
        assert!(cosine(&query, &related) > cosine(&query, &unrelated) + 0.1);
        assert!(embedder.embed_one("  ...  ").as_slice().iter().all(|v| *v == 0.0));
    }
}
