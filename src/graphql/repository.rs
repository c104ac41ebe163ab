//! Mutations on the signed-in user's code repositories (the `Repository` type lives with
//! `User`, whose list it is).

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::{
    auth::UserError,
    context::ContextExt,
    mutation::settle,
    node::{global_id, input_id},
    user::Repository,
};
use crate::{
    db::enums::RepositoryProvider,
    error::AppError,
    services::{
        rate_limits,
        repositories::{self, RepositoryFields},
    },
};

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
            "repository.activate"
        } else {
            "repository.deactivate"
        };
        let request = ctx.request();
        let mut conn = ctx.conn().await?;
        let result = async {
            let id = input_id(&input.id, "Repository", "id")?;
            let caller = request.limit(&mut conn, rate_limits::WRITES).await?;
            let repository = repositories::own(&mut conn, caller, id).await?;
            repositories::set_active(&mut conn, caller, request.client(), &repository, active).await
        }
        .await;
        let (repository, user_errors) = settle(ctx, &mut conn, action, result).await?;
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
        let request = ctx.request();
        let mut conn = ctx.conn().await?;
        let result = async {
            let caller = request.limit(&mut conn, rate_limits::WRITES).await?;
            let fields = RepositoryFields {
                provider: input.provider.unwrap_or(RepositoryProvider::Github),
                owner: input.owner,
                name: input.name,
                default_branch: input.default_branch,
            };
            repositories::connect(&mut conn, caller, request.client(), fields).await
        }
        .await;
        let (repository, user_errors) = settle(ctx, &mut conn, "repository.connect", result).await?;
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
        let request = ctx.request();
        let mut conn = ctx.conn().await?;
        let result = async {
            let id = input_id(&input.id, "Repository", "id")?;
            let caller = request.limit(&mut conn, rate_limits::WRITES).await?;
            let repository = repositories::own(&mut conn, caller, id).await?;
            repositories::disconnect(&mut conn, caller, request.client(), &repository).await?;
            Ok::<_, AppError>(global_id("Repository", id))
        }
        .await;
        let (disconnected_repository_id, user_errors) = settle(ctx, &mut conn, "repository.disconnect", result).await?;
        Ok(DisconnectRepositoryPayload {
            disconnected_repository_id,
            user_errors,
        })
    }
}
