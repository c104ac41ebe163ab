//! `Repository`: a code repository the signed-in user connected, and its mutations.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    mutation::{UserError, write},
    node::{global_id, input_id},
};
use crate::{
    db::enums::RepositoryProvider,
    models::repository::RepositoryRow,
    services::{
        audit::Action,
        repositories::{self, RepositoryFields},
    },
};

/// A code repository a user connected (for code-aware assistants).
pub struct Repository(pub RepositoryRow);

/// A code repository a user connected (for code-aware assistants).
#[Object]
impl Repository {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("Repository", self.0.id)
    }

    /// Where it is hosted.
    async fn provider(&self) -> RepositoryProvider {
        self.0.provider
    }

    /// Owner (user or organization) on the host.
    async fn owner(&self) -> &str {
        &self.0.owner
    }

    /// Repository name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Web address.
    async fn url(&self) -> &str {
        &self.0.url
    }

    /// Branch used by default.
    async fn default_branch(&self) -> &str {
        &self.0.default_branch
    }

    /// Whether assistants may use it.
    async fn is_active(&self) -> bool {
        self.0.is_active
    }

    /// When an assistant last read it.
    async fn last_accessed_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_accessed_at
    }

    /// When it was connected.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Input of `connectRepository`.
#[derive(InputObject)]
pub struct ConnectRepositoryInput {
    /// Where it is hosted; GITHUB when omitted.
    pub provider: Option<RepositoryProvider>,
    /// The owning account on the host (1 to 100 letters, digits or `-`).
    pub owner: String,
    /// The repository's name (1 to 100 letters, digits, `-`, `_` or `.`).
    pub name: String,
    /// The branch assistants read; `main` when omitted.
    pub default_branch: Option<String>,
}

/// Input of the mutations on one repository.
#[derive(InputObject)]
pub struct RepositoryInput {
    /// One of the caller's repositories.
    pub id: ID,
}

/// The result of `connectRepository`, `deactivateRepository` and `activateRepository`.
#[derive(SimpleObject)]
pub struct RepositoryPayload {
    /// The repository as it is now, unless there were user errors.
    pub repository: Option<Repository>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// The result of `disconnectRepository`.
#[derive(SimpleObject)]
pub struct DisconnectRepositoryPayload {
    /// The id of the disconnected repository (for removing it from client caches).
    pub disconnected_repository_id: Option<ID>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// Repository mutations.
#[derive(Default)]
pub struct RepositoryMutation;

impl RepositoryMutation {
    async fn set_active(ctx: &Context<'_>, input: RepositoryInput, active: bool) -> Result<RepositoryPayload> {
        let action = if active {
            Action::RepositoryActivate
        } else {
            Action::RepositoryDeactivate
        };
        let (repository, user_errors) = write(ctx, action, async |tx| {
            let repository = repositories::own(tx, input_id(&input.id, "Repository", "id")?).await?;
            repositories::set_active(tx, &repository, active).await
        })
        .await?;
        Ok(RepositoryPayload {
            repository: repository.map(Repository),
            user_errors,
        })
    }
}

#[Object]
impl RepositoryMutation {
    /// Connects a code repository for the signed-in user.
    async fn connect_repository(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: ConnectRepositoryInput,
    ) -> Result<RepositoryPayload> {
        let (repository, user_errors) = write(ctx, Action::RepositoryConnect, async |tx| {
            let caller = tx.account_holder()?;
            let fields = RepositoryFields {
                provider: input.provider.unwrap_or(RepositoryProvider::Github),
                owner: input.owner,
                name: input.name,
                default_branch: input.default_branch,
            };
            repositories::connect(tx, &caller, fields).await
        })
        .await?;
        Ok(RepositoryPayload {
            repository: repository.map(Repository),
            user_errors,
        })
    }

    /// Deactivates one of the caller's repositories: assistants stop reading it.
    async fn deactivate_repository(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: RepositoryInput,
    ) -> Result<RepositoryPayload> {
        Self::set_active(ctx, input, false).await
    }

    /// Activates one of the caller's deactivated repositories again.
    async fn activate_repository(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: RepositoryInput,
    ) -> Result<RepositoryPayload> {
        Self::set_active(ctx, input, true).await
    }

    /// Disconnects (removes) one of the caller's repositories.
    async fn disconnect_repository(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: RepositoryInput,
    ) -> Result<DisconnectRepositoryPayload> {
        let (disconnected_repository_id, user_errors) = write(ctx, Action::RepositoryDisconnect, async |tx| {
            let repository = repositories::own(tx, input_id(&input.id, "Repository", "id")?).await?;
            repositories::disconnect(tx, &repository).await?;
            Ok(global_id("Repository", repository.id))
        })
        .await?;
        Ok(DisconnectRepositoryPayload {
            disconnected_repository_id,
            user_errors,
        })
    }
}
