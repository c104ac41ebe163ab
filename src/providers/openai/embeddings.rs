//! OpenAI-compatible embeddings: `POST {base_url}/embeddings` with `{model, input: [...],
//! encoding_format: "float"}` (and `dimensions` when the model is configured to shorten its
//! vectors), as OpenAI, Azure OpenAI, Ollama, vLLM and Hugging Face TEI answer it. Texts go in
//! batches of [`BATCH`]; each batch is retried like a completion (transient failures, three
//! attempts). A vector of another length than configured is refused, never stored.

use async_graphql::futures_util::future::BoxFuture;
use pgvector::Vector;
use serde::Deserialize;
use serde_json::json;

use super::OpenAiProvider;
use crate::providers::{
    ProviderError,
    embedding::{Embedder, Embeddings},
};

/// Texts per request (OpenAI takes 2,048, TEI 32 by default, Cohere-style gateways 96).
pub const BATCH: usize = 32;

/// One embedding model of an OpenAI-compatible endpoint.
#[derive(Clone, Debug)]
pub struct OpenAiEmbedder {
    /// The endpoint and its key.
    pub provider: OpenAiProvider,
    /// The model id.
    pub model: String,
    /// The length of its vectors.
    pub dimensions: usize,
    /// Whether to ask for `dimensions` (models that shorten their vectors, such as OpenAI's
    /// `text-embedding-3-*`).
    pub send_dimensions: bool,
}

#[derive(Deserialize)]
struct Answer {
    data: Vec<Item>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Item {
    index: usize,
    embedding: Vec<f32>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: i64,
}

impl OpenAiEmbedder {
    async fn batch(&self, texts: &[String]) -> Result<(Vec<Vector>, i64), ProviderError> {
        let mut body = json!({ "model": self.model, "input": texts, "encoding_format": "float" });
        if self.send_dimensions {
            body["dimensions"] = json!(self.dimensions);
        }
        let response = self.provider.open("embeddings", "application/json", &body).await?;
        let limit = std::time::Duration::from_millis(self.provider.timeouts.first_token_ms);
        let answer: Answer = match tokio::time::timeout(limit, response.json()).await {
            Err(_) => return Err(ProviderError::Timeout("embeddings")),
            Ok(Err(_)) => return Err(ProviderError::Protocol),
            Ok(Ok(answer)) => answer,
        };
        let mut vectors: Vec<Option<Vector>> = vec![None; texts.len()];
        for item in answer.data {
            if item.embedding.len() != self.dimensions {
                tracing::warn!(
                    model = %self.model,
                    expected = self.dimensions,
                    got = item.embedding.len(),
                    "an embedding has another dimension than configured"
                );
                return Err(ProviderError::Protocol);
            }
            let slot = vectors.get_mut(item.index).ok_or(ProviderError::Protocol)?;
            *slot = Some(Vector::from(item.embedding));
        }
        let vectors = vectors
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or(ProviderError::Protocol)?;
        Ok((vectors, answer.usage.map_or(0, |u| u.prompt_tokens)))
    }
}

impl Embedder for OpenAiEmbedder {
    fn embed(&self, texts: Vec<String>) -> BoxFuture<'static, Result<Embeddings, ProviderError>> {
        let embedder = self.clone();
        Box::pin(async move {
            let mut embeddings = Embeddings {
                vectors: Vec::with_capacity(texts.len()),
                tokens: 0,
            };
            for batch in texts.chunks(BATCH) {
                let (vectors, tokens) = embedder.batch(batch).await?;
                embeddings.vectors.extend(vectors);
                embeddings.tokens += tokens;
            }
            Ok(embeddings)
        })
    }
}
