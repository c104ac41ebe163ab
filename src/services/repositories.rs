//! Code repositories a user connects (seed 002's GitHub repositories): connect, deactivate,
//! reactivate and disconnect. They belong to the user alone: another user's repository is
//! not found. Each change and its audit row are one transaction.

use diesel::QueryDsl;
use diesel_async::RunQueryDsl;
use serde_json::json;

use super::auth::Caller;
use super::write::{RecordIn, Tx};
use crate::{
    db::{enums::RepositoryProvider, new_id, schema::repositories},
    error::{AppError, AppResult, ConstraintRule, FieldError, constraint_error},
    models::repository::{NewRepository, RepositoryPatch, RepositoryRow},
};

const CONNECTED: ConstraintRule = ConstraintRule {
    constraint: "repositories_user_id_provider_owner_name_key",
    field: "name",
    code: "ALREADY_CONNECTED",
    message: "this repository is connected already",
};

/// What `connect` takes.
pub struct RepositoryFields {
    /// The hosting service.
    pub provider: RepositoryProvider,
    /// The owning account: letters, digits and `-`, at most 100 characters.
    pub owner: String,
    /// The repository: letters, digits, `-`, `_` and `.`, at most 100 characters.
    pub name: String,
    /// The branch assistants read; `main` when omitted.
    pub default_branch: Option<String>,
}

fn valid_branch(branch: &str) -> bool {
    !branch.is_empty()
        && branch.len() <= 255
        && !branch.starts_with(['-', '/'])
        && !branch.ends_with(['/', '.'])
        && !branch.contains("..")
        && branch.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
}

/// Connects a repository for the caller; its URL is derived from provider, owner and name.
pub async fn connect(tx: &mut Tx, caller: &Caller, fields: RepositoryFields) -> AppResult<RepositoryRow> {
    let mut errors = Vec::new();
    let owner_ok = (1..=100).contains(&fields.owner.len())
        && !fields.owner.starts_with('-')
        && fields.owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !owner_ok {
        errors.push(FieldError::input(
            "owner",
            "INVALID_NAME",
            "owner must be 1 to 100 letters, digits or '-'",
        ));
    }
    let name_ok = (1..=100).contains(&fields.name.len())
        && fields.name != "."
        && fields.name != ".."
        && fields
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !name_ok {
        errors.push(FieldError::input(
            "name",
            "INVALID_NAME",
            "name must be 1 to 100 letters, digits, '-', '_' or '.'",
        ));
    }
    let branch = fields.default_branch.unwrap_or_else(|| "main".to_owned());
    if !valid_branch(&branch) {
        errors.push(FieldError::input(
            "defaultBranch",
            "INVALID_BRANCH",
            "defaultBranch is not a valid branch name",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let url = match fields.provider {
        RepositoryProvider::Github => format!("https://github.com/{}/{}", fields.owner, fields.name),
    };
    let new = NewRepository {
        id: new_id(),
        user_id: caller.user.id,
        provider: fields.provider,
        owner: fields.owner,
        name: fields.name,
        url,
        default_branch: branch,
    };
    let row = new
        .insert(tx.conn())
        .await
        .map_err(|e| constraint_error(e, &[CONNECTED]))?;
    tx.event()
        .on("repository", row.id)
        .details(json!({ "owner": row.owner, "name": row.name }))
        .record_in(tx)
        .await?;
    Ok(row)
}

/// The caller's repository `id`; anyone else's is not found.
pub async fn own(tx: &mut Tx, id: uuid::Uuid) -> AppResult<RepositoryRow> {
    let caller = tx.caller()?;
    RepositoryRow::find(tx.conn(), id)
        .await?
        .filter(|r| r.user_id == caller.user.id)
        .ok_or(AppError::NotFound("repository"))
}

/// Deactivates (assistants stop reading it) or reactivates one of the caller's repositories.
pub async fn set_active(tx: &mut Tx, repository: &RepositoryRow, active: bool) -> AppResult<RepositoryRow> {
    let row = RepositoryPatch {
        is_active: Some(active),
        ..Default::default()
    }
    .apply(tx.conn(), repository.id)
    .await?;
    tx.event().on("repository", row.id).record_in(tx).await?;
    Ok(row)
}

/// Disconnects (deletes) one of the caller's repositories.
pub async fn disconnect(tx: &mut Tx, repository: &RepositoryRow) -> AppResult<()> {
    diesel::delete(repositories::table.find(repository.id))
        .execute(tx.conn())
        .await?;
    tx.event()
        .on("repository", repository.id)
        .details(json!({ "owner": repository.owner, "name": repository.name }))
        .record_in(tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_are_plain_git_refs() {
        for good in ["main", "release/1.2", "feature_x-y"] {
            assert!(valid_branch(good), "{good}");
        }
        for bad in ["", "-main", "/main", "main/", "main.", "a..b", "with space", "ü"] {
            assert!(!valid_branch(bad), "{bad}");
        }
    }
}
