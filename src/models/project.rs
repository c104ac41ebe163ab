//! Projects (workspaces inside an organization): members, settings and quota.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::{find_by_id, insert_returning, organization::OrganizationRow, update_returning};
use crate::db::{
    enums::{ProjectStatus, QuotaPeriod},
    schema::{project_members, project_quotas, project_settings, projects},
};

/// A workspace inside an organization, holding chats, documents and settings.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = projects, check_for_backend(diesel::pg::Pg))]
#[diesel(belongs_to(OrganizationRow, foreign_key = organization_id))]
pub struct ProjectRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub description: String,
    pub icon_url: Option<String>,
    pub is_default: bool,
    pub status: ProjectStatus,
    pub language: Option<String>,
    pub is_published: bool,
    pub confidence_threshold: Option<f64>,
    pub created_by: Option<Uuid>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new project.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = projects)]
pub struct NewProject {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub description: String,
    pub icon_url: Option<String>,
    pub is_default: bool,
    pub language: Option<String>,
    pub created_by: Option<Uuid>,
}

/// A change to a project.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = projects)]
pub struct ProjectPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub icon_url: Option<Option<String>>,
    pub status: Option<ProjectStatus>,
    pub language: Option<Option<String>>,
    pub is_published: Option<bool>,
    pub confidence_threshold: Option<Option<f64>>,
    pub deleted_at: Option<Option<DateTime<Utc>>>,
}

find_by_id!(ProjectRow, projects);
insert_returning!(NewProject => ProjectRow, projects);
update_returning!(ProjectPatch => ProjectRow, projects);

/// A user's membership in a project, with their project-scope role.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = project_members, check_for_backend(diesel::pg::Pg))]
#[diesel(primary_key(project_id, user_id))]
#[diesel(belongs_to(ProjectRow, foreign_key = project_id))]
pub struct ProjectMemberRow {
    pub project_id: Uuid,
    pub user_id: Uuid,
    pub role_id: Uuid,
    pub added_by: Option<Uuid>,
    pub joined_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The project's organization, kept by a trigger (the read rules probe it by index).
    pub organization_id: Uuid,
}

/// A new project membership.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = project_members)]
pub struct NewProjectMember {
    pub project_id: Uuid,
    pub user_id: Uuid,
    pub role_id: Uuid,
    pub added_by: Option<Uuid>,
}

/// A change to a project membership (its role).
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = project_members)]
pub struct ProjectMemberPatch {
    pub role_id: Option<Uuid>,
}

insert_returning!(NewProjectMember => ProjectMemberRow, project_members);

impl ProjectMemberRow {
    /// The membership of `user_id` in `project_id`, if any.
    pub async fn find(
        conn: &mut diesel_async::AsyncPgConnection,
        project_id: Uuid,
        user_id: Uuid,
    ) -> QueryResult<Option<Self>> {
        project_members::table
            .find((project_id, user_id))
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Adds `user_id` to the project with `role_id`, or changes their role.
    pub async fn upsert(conn: &mut diesel_async::AsyncPgConnection, new: &NewProjectMember) -> QueryResult<Self> {
        diesel::insert_into(project_members::table)
            .values(new)
            .on_conflict((project_members::project_id, project_members::user_id))
            .do_update()
            .set(project_members::role_id.eq(new.role_id))
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }
}

/// Generation defaults, enabled models and tools, branding and free custom values of a project.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = project_settings, check_for_backend(diesel::pg::Pg))]
#[diesel(primary_key(project_id))]
#[diesel(belongs_to(ProjectRow, foreign_key = project_id))]
pub struct ProjectSettingsRow {
    pub project_id: Uuid,
    pub default_model: Option<String>,
    pub enabled_models: Vec<String>,
    pub enabled_tools: Vec<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<i32>,
    pub top_p: Option<f64>,
    pub tone: Option<String>,
    pub welcome_message: Option<String>,
    pub brand_color: Option<String>,
    pub logo_url: Option<String>,
    pub custom: Value,
    pub updated_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Settings for a new project.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = project_settings)]
pub struct NewProjectSettings {
    pub project_id: Uuid,
    pub default_model: Option<String>,
    pub enabled_models: Vec<String>,
    pub enabled_tools: Vec<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<i32>,
    pub top_p: Option<f64>,
    pub tone: Option<String>,
    pub welcome_message: Option<String>,
    pub brand_color: Option<String>,
    pub logo_url: Option<String>,
    pub custom: Value,
    pub updated_by: Option<Uuid>,
}

/// A change to project settings: `None` leaves a value, `Some(None)` clears a nullable one.
/// `services::projects::update_settings` checks the ranges given here.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = project_settings)]
pub struct ProjectSettingsPatch {
    /// Model for new chats (at most 200 characters).
    pub default_model: Option<Option<String>>,
    /// Models chats may use.
    pub enabled_models: Option<Vec<String>>,
    /// Tools models may call.
    pub enabled_tools: Option<Vec<String>>,
    /// 0 to 2.
    pub temperature: Option<Option<f64>>,
    /// 1 to 1,000,000.
    pub max_tokens: Option<Option<i32>>,
    /// 0 to 1.
    pub top_p: Option<Option<f64>>,
    /// At most 100 characters.
    pub tone: Option<Option<String>>,
    /// At most 2,000 characters.
    pub welcome_message: Option<Option<String>>,
    /// `#rrggbb`.
    pub brand_color: Option<Option<String>>,
    /// An `https://` URL.
    pub logo_url: Option<Option<String>>,
    /// A JSON object of at most 64 KiB.
    pub custom: Option<Value>,
    /// Who changed them (set by the service).
    pub updated_by: Option<Option<Uuid>>,
}

insert_returning!(NewProjectSettings => ProjectSettingsRow, project_settings);
update_returning!(ProjectSettingsPatch => ProjectSettingsRow, project_settings);

/// Token, request and storage limits of a project and what has been used this period.
/// `None` limits mean unlimited.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = project_quotas, check_for_backend(diesel::pg::Pg))]
#[diesel(primary_key(project_id))]
#[diesel(belongs_to(ProjectRow, foreign_key = project_id))]
pub struct ProjectQuotaRow {
    pub project_id: Uuid,
    pub tokens_limit: Option<i64>,
    pub tokens_used: i64,
    pub requests_limit: Option<i64>,
    pub requests_used: i64,
    pub storage_limit_bytes: Option<i64>,
    pub storage_used_bytes: i64,
    pub period: QuotaPeriod,
    pub reset_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A quota for a new project.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = project_quotas)]
pub struct NewProjectQuota {
    pub project_id: Uuid,
    pub tokens_limit: Option<i64>,
    pub requests_limit: Option<i64>,
    pub storage_limit_bytes: Option<i64>,
    pub period: QuotaPeriod,
    pub reset_at: Option<DateTime<Utc>>,
}

/// A change to a quota.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = project_quotas)]
pub struct ProjectQuotaPatch {
    pub tokens_limit: Option<Option<i64>>,
    pub tokens_used: Option<i64>,
    pub requests_limit: Option<Option<i64>>,
    pub requests_used: Option<i64>,
    pub storage_limit_bytes: Option<Option<i64>>,
    pub storage_used_bytes: Option<i64>,
    pub period: Option<QuotaPeriod>,
    pub reset_at: Option<DateTime<Utc>>,
}

insert_returning!(NewProjectQuota => ProjectQuotaRow, project_quotas);

impl ProjectSettingsRow {
    /// The settings of a project.
    pub async fn find(conn: &mut diesel_async::AsyncPgConnection, project_id: Uuid) -> QueryResult<Option<Self>> {
        use diesel::OptionalExtension;
        project_settings::table
            .find(project_id)
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }
}
