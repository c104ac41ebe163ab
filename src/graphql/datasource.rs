//! `Datasource`: where a project's documents come from, and its mutations.

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    context::ContextExt,
    mutation::{UserError, change, write},
    node::{global_id, input_id, optional_id},
};
use crate::{
    auth::grant::{Permission, Place},
    db::enums::{DatasourceKind, DatasourceStatus},
    models::datasource::DatasourceRow,
    services::{
        audit::Action,
        knowledge::{self, DatasourceFields},
    },
};

/// Where documents come from: entered by hand, crawled, synced from a service.
pub struct Datasource(pub DatasourceRow);

/// Where documents come from: entered by hand, crawled, synced from a service.
#[Object]
impl Datasource {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("Datasource", self.0.id)
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What kind of source it is.
    async fn kind(&self) -> DatasourceKind {
        self.0.kind
    }

    /// Source settings (URLs, schedules; never secrets, which live in credentials).
    async fn config(&self) -> Json<&Value> {
        Json(&self.0.config)
    }

    /// Sync state.
    async fn status(&self) -> DatasourceStatus {
        self.0.status
    }

    /// When the last sync finished.
    async fn last_synced_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_synced_at
    }

    /// Why the last sync failed, if it did.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// The embedding model of its documents (`provider/model`): their chunks are embedded,
    /// and searched, with it alone.
    async fn embedding_model(&self) -> &str {
        &self.0.embedding_model
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Input of `createDatasource`.
#[derive(InputObject)]
pub struct CreateDatasourceInput {
    /// The project (needs `documents.write` there).
    pub project_id: ID,
    /// Name (1 to 200 characters).
    pub name: String,
    /// Where its documents come from; MANUAL when omitted.
    pub kind: Option<DatasourceKind>,
    /// Connector settings, a JSON object of at most 64 KiB (secrets go in a credential).
    pub config: Option<Json<Value>>,
    /// A credential of the project's organization the connector signs in with.
    pub credential_id: Option<ID>,
    /// The embedding model of its documents (`provider/model`, see `embeddingModels`); the
    /// server's default when omitted.
    pub embedding_model: Option<String>,
}

/// Input of `updateDatasource`. Omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateDatasourceInput {
    /// The datasource to change.
    pub id: ID,
    /// Name (1 to 200 characters).
    pub name: Option<String>,
    /// Connector settings (replaces them).
    pub config: Option<Json<Value>>,
    /// A credential of the organization; null unlinks it.
    pub credential_id: MaybeUndefined<ID>,
    /// False disables syncing, true enables it again.
    pub enabled: Option<bool>,
    /// Another embedding model: every document of the datasource is indexed again with it.
    pub embedding_model: Option<String>,
}

/// Input of `deleteDatasource` and `deleteDocument`.
#[derive(InputObject)]
pub struct DeleteKnowledgeInput {
    /// The datasource (with its documents) or document to delete.
    pub id: ID,
}

/// The result of `createDatasource` and `updateDatasource`.
#[derive(SimpleObject)]
pub struct DatasourcePayload {
    /// The datasource as it is now, unless there were user errors.
    pub datasource: Option<Datasource>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// The result of `deleteDatasource` and `deleteDocument`.
#[derive(SimpleObject)]
pub struct DeleteKnowledgePayload {
    /// The id of the deleted object (for removing it from client caches).
    pub deleted_id: Option<ID>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}
/// Datasource mutations.
#[derive(Default)]
pub struct DatasourceMutation;

#[Object]
impl DatasourceMutation {
    /// Creates a datasource in a project.
    async fn create_datasource(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: CreateDatasourceInput,
    ) -> Result<DatasourcePayload> {
        let providers = ctx.request().generations().providers();
        let (datasource, user_errors) = write(ctx, Action::DatasourceCreate, async |tx| {
            let project_id = input_id(&input.project_id, "Project", "projectId")?;
            let credential_id = optional_id(input.credential_id.as_ref(), "Credential", "credentialId")?;
            let grant = tx.grant(Place::Project(project_id), Permission::DocumentsWrite).await?;
            let fields = DatasourceFields {
                name: Some(input.name),
                kind: input.kind,
                config: input.config.map(|c| c.0),
                credential_id: Some(credential_id),
                enabled: None,
                embedding_model: input.embedding_model,
            };
            knowledge::create_datasource(tx, (&grant, &providers), fields).await
        })
        .await?;
        Ok(DatasourcePayload {
            datasource: datasource.map(Datasource),
            user_errors,
        })
    }

    /// Changes a datasource: name, settings, credential, enabled.
    async fn update_datasource(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: UpdateDatasourceInput,
    ) -> Result<DatasourcePayload> {
        let providers = ctx.request().generations().providers();
        let (datasource, user_errors) = write(ctx, Action::DatasourceUpdate, async |tx| {
            let id = input_id(&input.id, "Datasource", "id")?;
            let credential_id = change(input.credential_id)
                .map(|id| optional_id(id.as_ref(), "Credential", "credentialId"))
                .transpose()?;
            let datasource = tx.granted(id, Permission::DocumentsWrite).await?;
            let fields = DatasourceFields {
                name: input.name,
                kind: None,
                config: input.config.map(|c| c.0),
                credential_id,
                enabled: input.enabled,
                embedding_model: input.embedding_model,
            };
            knowledge::update_datasource(tx, (&datasource, &providers), fields).await
        })
        .await?;
        Ok(DatasourcePayload {
            datasource: datasource.map(Datasource),
            user_errors,
        })
    }

    /// Deletes a datasource with its documents.
    async fn delete_datasource(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: DeleteKnowledgeInput,
    ) -> Result<DeleteKnowledgePayload> {
        let (deleted_id, user_errors) = write(ctx, Action::DatasourceDelete, async |tx| {
            let datasource = tx
                .granted(input_id(&input.id, "Datasource", "id")?, Permission::DocumentsWrite)
                .await?;
            knowledge::delete_datasource(tx, &datasource).await?;
            Ok(global_id("Datasource", datasource.id))
        })
        .await?;
        Ok(DeleteKnowledgePayload {
            deleted_id,
            user_errors,
        })
    }
}
