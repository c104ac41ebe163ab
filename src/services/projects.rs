//! Writing projects: create (`project.create` in the organization; the creator becomes the
//! project's owner), update (`project.update`), archive, restore and soft delete
//! (`project.delete`), and settings (`project.update`). Inputs are validated as the
//! database's constraints would (errors as data, every problem at once); a name taken by a
//! concurrent request comes back from the unique index as the same user error. Each change
//! and its audit row are one transaction.

use anyhow::anyhow;
use chrono::Utc;
use diesel::ExpressionMethods;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    tools,
    write::{RecordIn, Tx},
};
use crate::{
    auth::grant::Grant,
    db::{
        enums::{ProjectStatus, RoleScope},
        new_id,
        schema::project_settings,
    },
    error::{AppError, AppResult, ConstraintRule, FieldError, constraint_error},
    models::{
        mcp_server::McpServerRow,
        project::{NewProject, NewProjectMember, ProjectPatch, ProjectRow, ProjectSettingsPatch, ProjectSettingsRow},
        role::RoleRow,
    },
};

/// Longest project name.
pub const MAX_NAME: usize = 200;
/// Longest project description.
pub const MAX_DESCRIPTION: usize = 10_000;

const NAME_TAKEN: ConstraintRule = ConstraintRule {
    constraint: "projects_organization_id_name_key",
    field: "name",
    code: "NAME_TAKEN",
    message: "the organization has a project with this name",
};

/// What `create` and `update` take; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ProjectFields {
    /// Name, unique (ignoring case) among the organization's live projects; 1 to 200 characters.
    pub name: Option<String>,
    /// Description, at most 10,000 characters.
    pub description: Option<String>,
    /// BCP 47 language tag such as `en` or `pt-BR`; empty clears it.
    pub language: Option<String>,
}

fn valid_language(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn validated(fields: ProjectFields) -> AppResult<ProjectFields> {
    let mut errors = Vec::new();
    let name = fields.name.map(|n| n.trim().to_owned());
    if let Some(error) = name
        .as_deref()
        .and_then(|n| FieldError::check_length("name", n, MAX_NAME))
    {
        errors.push(error);
    }
    if fields
        .description
        .as_deref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
    {
        errors.push(FieldError::input(
            "description",
            "INVALID_LENGTH",
            format!("description must be at most {MAX_DESCRIPTION} characters"),
        ));
    }
    if let Some(tag) = fields
        .language
        .as_deref()
        .filter(|t| !t.is_empty() && !valid_language(t))
    {
        errors.push(FieldError::input(
            "language",
            "INVALID_LANGUAGE",
            format!("{tag:?} is not a language tag such as en or pt-BR"),
        ));
    }
    if errors.is_empty() {
        Ok(ProjectFields { name, ..fields })
    } else {
        Err(AppError::Invalid(errors))
    }
}

/// Creates a project in the granted organization, with the caller as its owner.
pub async fn create(tx: &mut Tx, grant: &Grant, fields: ProjectFields) -> AppResult<ProjectRow> {
    if fields.name.is_none() {
        return Err(FieldError::input("name", "REQUIRED", "name is required").into());
    }
    let fields = validated(fields)?;
    let owner = RoleRow::find_by_name(tx.conn(), RoleScope::Project, "owner").await?;
    let caller = grant.caller();
    let project = NewProject {
        id: new_id(),
        organization_id: grant.organization_id(),
        name: fields.name.unwrap_or_default(),
        description: fields.description.unwrap_or_default(),
        icon_url: None,
        is_default: false,
        language: fields.language.filter(|l| !l.is_empty()),
        created_by: Some(caller.user.id),
    }
    .insert(tx.conn())
    .await
    .map_err(|e| constraint_error(e, &[NAME_TAKEN]))?;
    NewProjectMember {
        project_id: project.id,
        user_id: caller.user.id,
        role_id: owner.id,
        added_by: None,
    }
    .insert(tx.conn())
    .await?;
    diesel::insert_into(project_settings::table)
        .values((
            project_settings::project_id.eq(project.id),
            project_settings::updated_by.eq(caller.user.id),
        ))
        .execute(tx.conn())
        .await?;
    super::quotas::give_default(tx.conn(), project.id).await?;
    tx.event()
        .within(Some(project.organization_id), Some(project.id))
        .on("project", project.id)
        .details(json!({ "name": project.name }))
        .record_in(tx)
        .await?;
    Ok(project)
}

fn project_of(grant: &Grant) -> AppResult<Uuid> {
    grant
        .project_id()
        .ok_or_else(|| AppError::Internal(anyhow!("a project change needs a project grant")))
}

/// Changes the granted project's name, description or language.
pub async fn update(tx: &mut Tx, grant: &Grant, fields: ProjectFields) -> AppResult<ProjectRow> {
    let fields = validated(fields)?;
    let details =
        json!({ "name": fields.name, "description": fields.description.is_some(), "language": fields.language });
    let patch = ProjectPatch {
        name: fields.name,
        description: fields.description,
        language: fields.language.map(|l| Some(l).filter(|l| !l.is_empty())),
        ..Default::default()
    };
    changed(tx, grant, patch, details).await
}

/// What `set_status` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Read-only and out of default lists.
    Archive,
    /// Back in use.
    Restore,
    /// Gone from every list (kept for recovery and its records).
    Delete,
}

/// Archives, restores or soft-deletes the granted project. The organization's default
/// project is never deleted.
pub async fn set_status(tx: &mut Tx, grant: &Grant, change: Lifecycle) -> AppResult<ProjectRow> {
    let id = project_of(grant)?;
    let project = ProjectRow::find(tx.conn(), id)
        .await?
        .ok_or(AppError::NotFound("project"))?;
    let status = match change {
        Lifecycle::Archive => ProjectStatus::Archived,
        Lifecycle::Restore => ProjectStatus::Active,
        Lifecycle::Delete => ProjectStatus::Deleted,
    };
    if change == Lifecycle::Delete && project.is_default {
        return Err(FieldError::input(
            "id",
            "DEFAULT_PROJECT",
            "the organization's default project cannot be deleted",
        )
        .into());
    }
    let patch = ProjectPatch {
        status: Some(status),
        deleted_at: (change == Lifecycle::Delete).then(|| Some(Utc::now())),
        ..Default::default()
    };
    changed(tx, grant, patch, json!({ "from": project.status.as_str() })).await
}

/// Applies `patch` to the granted project with its audit row.
async fn changed(tx: &mut Tx, grant: &Grant, patch: ProjectPatch, details: Value) -> AppResult<ProjectRow> {
    let id = project_of(grant)?;
    let project = patch
        .apply(tx.conn(), id)
        .await
        .map_err(|e| constraint_error(e, &[NAME_TAKEN]))?;
    tx.audit(grant).on("project", id).details(details).record_in(tx).await?;
    Ok(project)
}

fn check_settings(changes: &ProjectSettingsPatch) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut range = |field: &str, value: Option<f64>, low: f64, high: f64| {
        if value.is_some_and(|v| !(low..=high).contains(&v) || v.is_nan()) {
            errors.push(FieldError::input(
                field,
                "OUT_OF_RANGE",
                format!("{field} must be between {low} and {high}"),
            ));
        }
    };
    range("temperature", changes.temperature.flatten(), 0.0, 2.0);
    range("topP", changes.top_p.flatten(), 0.0, 1.0);
    range(
        "maxTokens",
        changes.max_tokens.flatten().map(f64::from),
        1.0,
        1_000_000.0,
    );
    let text = |field: &str, value: Option<&str>, max: usize| {
        value.filter(|v| v.chars().count() > max).map(|_| {
            FieldError::input(
                field,
                "INVALID_LENGTH",
                format!("{field} must be at most {max} characters"),
            )
        })
    };
    errors.extend(text("tone", changes.tone.clone().flatten().as_deref(), 100));
    errors.extend(text(
        "welcomeMessage",
        changes.welcome_message.clone().flatten().as_deref(),
        2_000,
    ));
    errors.extend(text(
        "defaultModel",
        changes.default_model.clone().flatten().as_deref(),
        200,
    ));
    for (field, list) in [
        ("enabledModels", &changes.enabled_models),
        ("enabledTools", &changes.enabled_tools),
    ] {
        if list
            .as_ref()
            .is_some_and(|l| l.len() > 100 || l.iter().any(|v| v.trim().is_empty() || v.len() > 200))
        {
            errors.push(FieldError::input(
                field,
                "INVALID_LIST",
                format!("{field}: at most 100 names of 1 to 200 characters"),
            ));
        }
    }
    let color = changes.brand_color.clone().flatten();
    if color
        .as_deref()
        .is_some_and(|c| c.len() != 7 || !c.starts_with('#') || !c[1..].chars().all(|d| d.is_ascii_hexdigit()))
    {
        errors.push(FieldError::input(
            "brandColor",
            "INVALID_COLOR",
            "brandColor must look like #1a2b3c",
        ));
    }
    let logo = changes.logo_url.clone().flatten();
    if logo.as_deref().is_some_and(|u| {
        u.len() > 2_000 || reqwest::Url::parse(u).map_or(true, |url| url.scheme() != "https" || url.host().is_none())
    }) {
        errors.push(FieldError::input(
            "logoUrl",
            "INVALID_URL",
            "logoUrl must be an https:// URL",
        ));
    }
    if let Some(custom) = &changes.custom {
        if !custom.is_object() {
            errors.push(FieldError::input(
                "custom",
                "INVALID_JSON",
                "custom must be a JSON object",
            ));
        } else if custom.to_string().len() > 65_536 {
            errors.push(FieldError::input(
                "custom",
                "TOO_LARGE",
                "custom must be at most 64 KiB of JSON",
            ));
        }
    }
    errors
}

/// Changes the granted project's settings (creating the row on first use).
pub async fn update_settings(
    tx: &mut Tx,
    grant: &Grant,
    mut changes: ProjectSettingsPatch,
) -> AppResult<ProjectSettingsRow> {
    let id = project_of(grant)?;
    let mut errors = check_settings(&changes);
    if let Some(names) = &changes.enabled_tools {
        let servers = McpServerRow::for_organization(tx.conn(), grant.organization_id()).await?;
        let servers: Vec<String> = servers.into_iter().map(|s| s.name).collect();
        if let Some(unknown) = names.iter().find_map(|name| tools::refuses(name.trim(), &servers)) {
            errors.push(FieldError::input("enabledTools", "UNKNOWN_TOOL", unknown));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let caller = grant.caller();
    let changed: Vec<&str> = [
        ("defaultModel", changes.default_model.is_some()),
        ("enabledModels", changes.enabled_models.is_some()),
        ("enabledTools", changes.enabled_tools.is_some()),
        ("temperature", changes.temperature.is_some()),
        ("maxTokens", changes.max_tokens.is_some()),
        ("topP", changes.top_p.is_some()),
        ("tone", changes.tone.is_some()),
        ("welcomeMessage", changes.welcome_message.is_some()),
        ("brandColor", changes.brand_color.is_some()),
        ("logoUrl", changes.logo_url.is_some()),
        ("custom", changes.custom.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, given)| given.then_some(name))
    .collect();
    changes.updated_by = Some(Some(caller.user.id));
    diesel::insert_into(project_settings::table)
        .values(project_settings::project_id.eq(id))
        .on_conflict_do_nothing()
        .execute(tx.conn())
        .await?;
    let settings = changes.apply(tx.conn(), id).await?;
    tx.audit(grant)
        .on("project", id)
        .details(json!({ "changed": changed }))
        .record_in(tx)
        .await?;
    Ok(settings)
}
