//! Which embedder turns a project's text into vectors: the model a datasource records (or the
//! server's default for documents outside any datasource), found among the configured and
//! the platform's providers, called with the organization's own key when it brought one.

use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::{
    auth::crypto::Keyring,
    error::{AppResult, FieldError},
    models::platform_config::PlatformConfigRow,
    providers::{
        embedding::Embedder,
        registry::{PLATFORM_KEY, Providers, ResolvedEmbedding},
    },
};

/// `configured` and the providers of the platform configuration (those alone when the entry
/// is absent or invalid: an invalid entry is logged, never fatal).
pub async fn with_platform(conn: &mut AsyncPgConnection, configured: &Providers) -> diesel::QueryResult<Providers> {
    let Some(value) = PlatformConfigRow::value_of(conn, PLATFORM_KEY).await? else {
        return Ok(configured.clone());
    };
    Ok(configured.with_platform(&value).unwrap_or_else(|error| {
        tracing::warn!(error = %format!("{error:#}"), "the platform's providers are not used");
        configured.clone()
    }))
}

/// The embedding model `name`, or a user error on `field`.
pub fn resolve(providers: &Providers, field: &str, name: &str) -> AppResult<ResolvedEmbedding> {
    providers.find_embedding(name.trim()).ok_or_else(|| {
        FieldError::input(
            field,
            "UNKNOWN_EMBEDDING_MODEL",
            format!("no configured provider offers the embedding model {name:?}"),
        )
        .into()
    })
}

/// The embedder of `model` for `organization_id`: with the organization's own `openai`
/// credential when the model is OpenAI-compatible and it has one.
pub async fn embedder(
    conn: &mut AsyncPgConnection,
    keyring: &Keyring,
    organization_id: Uuid,
    model: &ResolvedEmbedding,
) -> AppResult<Arc<dyn Embedder>> {
    let key = super::generation::prompt::organization_key(conn, keyring, organization_id, &model.backend).await?;
    Ok(model.embedder(key))
}
