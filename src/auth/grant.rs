//! The authorization core for writes. A caller's rights in a tenant's place are the union of
//! the permissions of their organization role there and their project role there (`roles`,
//! `role_permissions`); platform roles count only for platform-wide rights
//! ([`authorize_platform`]), never inside a tenant; a platform admin holds every permission.
//! Nobody gives a role with rights they do not hold themselves ([`Grant::covers`]).
//!
//! Every service that changes tenant data takes a [`Grant`] or a [`Granted`] row, and the
//! only ways to get one are [`authorize`] (a place, for creating something there) and
//! [`authorize_row`] (an existing row, checked in *its own* place), which check that the
//! caller may see the place (otherwise NOT_FOUND, so ids cannot be probed) and holds the
//! permission there (otherwise FORBIDDEN). A grant carries the place's ids and a granted row
//! carries its grant, so a write cannot aim at another place than the one checked.
//!
//! What a row needs beyond its place (a chat's visibility and owner, a message's chat) is
//! written once, in its [`Placed`] implementation (`auth/placed.rs`).

use crate::db::cached::cached;
use diesel::{
    QueryableByName,
    sql_types::{Nullable, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::authz::Scope;
use crate::{
    auth::caller::Caller,
    db::enums::{OrganizationStatus, ProjectStatus},
    error::{AppError, AppResult},
    models::{organization::OrganizationRow, project::ProjectRow},
};

/// A permission of the `permissions` table that writes check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read and change platform-wide configuration.
    PlatformConfigure,
    /// Create, rotate and delete provider credentials.
    CredentialsManage,
    /// Add, remove and change the roles of project members.
    ProjectMembersManage,
    /// Change a project, its settings and quota.
    ProjectUpdate,
    /// Create chats and post messages.
    ChatWrite,
    /// Rename an organization and change its settings.
    OrganizationUpdate,
    /// Delete an organization.
    OrganizationDelete,
    /// Add, remove and change the roles of organization members.
    MembersManage,
    /// Create projects.
    ProjectCreate,
    /// Archive and delete a project.
    ProjectDelete,
    /// Create and change datasources and documents.
    DocumentsWrite,
    /// Read chats and messages shared with the project (and report analytics events).
    ChatRead,
}

impl Permission {
    /// The name in the `permissions` table.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::PlatformConfigure => "platform.configure",
            Permission::CredentialsManage => "credentials.manage",
            Permission::ProjectMembersManage => "project.members.manage",
            Permission::ProjectUpdate => "project.update",
            Permission::ChatWrite => "chat.write",
            Permission::OrganizationUpdate => "organization.update",
            Permission::OrganizationDelete => "organization.delete",
            Permission::MembersManage => "members.manage",
            Permission::ProjectCreate => "project.create",
            Permission::ProjectDelete => "project.delete",
            Permission::DocumentsWrite => "documents.write",
            Permission::ChatRead => "chat.read",
        }
    }
}

/// Where a write happens.
#[derive(Debug, Clone, Copy)]
pub enum Place {
    /// An organization (and nothing narrower).
    Organization(Uuid),
    /// A project (and its organization).
    Project(Uuid),
}

/// Proof that a caller holds a permission in a place. Made only by [`authorize`].
#[derive(Debug, Clone)]
pub struct Grant {
    caller: Caller,
    organization_id: Uuid,
    project_id: Option<Uuid>,
    permissions: Vec<String>,
}

impl Grant {
    /// Who was granted.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The organization of the place.
    pub fn organization_id(&self) -> Uuid {
        self.organization_id
    }

    /// The project, when the place is one.
    pub fn project_id(&self) -> Option<Uuid> {
        self.project_id
    }

    /// Whether the caller also holds `permission` in this place.
    pub fn allows(&self, permission: Permission) -> bool {
        self.permissions.iter().any(|p| p == permission.as_str())
    }

    /// Whether the caller holds every one of `permissions` (by name) in this place: a role
    /// granting more than that is above their own, and they may not give it.
    pub fn covers(&self, permissions: &[String]) -> bool {
        permissions.iter().all(|wanted| self.permissions.contains(wanted))
    }
}

/// A row that lives in a place: how to find it and where it lies. Implemented in
/// `auth/placed.rs` for every row a write changes.
pub trait Placed: Sized + Send + Sync {
    /// What NOT_FOUND calls it (`"document"`).
    const NAME: &'static str;

    /// The live row `id` (deleted rows are not found).
    fn find(conn: &mut AsyncPgConnection, id: Uuid) -> impl Future<Output = AppResult<Option<Self>>> + Send;

    /// The place the row lies in.
    fn place(&self) -> Place;

    /// Whether the caller sees the row by a rule of its own (a public chat is seen by people
    /// outside its project, a private one only by its owner); `None`: exactly when they see
    /// its place. A row seen by its own rule but not writable is FORBIDDEN, not NOT_FOUND.
    fn seen(
        &self,
        _conn: &mut AsyncPgConnection,
        _scope: &Scope,
    ) -> impl Future<Output = AppResult<Option<bool>>> + Send {
        async { Ok(None) }
    }

    /// What the row asks of a caller beyond `permission` in its place (FORBIDDEN otherwise).
    fn admits(&self, _grant: &Grant, _permission: Permission) -> bool {
        true
    }
}

/// A row together with the grant that was checked on the row's own place. Made only by
/// [`authorize_row`]; services that change an existing row take one.
#[derive(Debug, Clone)]
pub struct Granted<R> {
    row: R,
    grant: Grant,
}

impl<R> Granted<R> {
    /// The row as checked.
    pub fn row(&self) -> &R {
        &self.row
    }

    /// The grant on its place.
    pub fn grant(&self) -> &Grant {
        &self.grant
    }

    /// The row, giving up the grant.
    pub fn into_row(self) -> R {
        self.row
    }
}

impl<R> std::ops::Deref for Granted<R> {
    type Target = R;

    fn deref(&self) -> &R {
        &self.row
    }
}

/// Row `id` of type `R` and the caller's grant of `permission` in the row's own place: a
/// row the caller cannot see is NOT_FOUND under its own name (so ids cannot be probed).
pub async fn authorize_row<R: Placed>(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    scope: &Scope,
    id: Uuid,
    permission: Permission,
) -> AppResult<Granted<R>> {
    caller.ok_or(AppError::Unauthenticated)?;
    let row = R::find(conn, id).await?.ok_or(AppError::NotFound(R::NAME))?;
    let seen = row.seen(conn, scope).await?;
    if seen == Some(false) {
        return Err(AppError::NotFound(R::NAME));
    }
    let grant = match authorize(conn, caller, scope, row.place(), permission).await {
        Err(AppError::NotFound(_)) if seen == Some(true) => return Err(AppError::Forbidden),
        Err(AppError::NotFound(_)) => return Err(AppError::NotFound(R::NAME)),
        other => other?,
    };
    if !row.admits(&grant, permission) {
        return Err(AppError::Forbidden);
    }
    Ok(Granted { row, grant })
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Checks that the caller may see `place` and holds `permission` there.
pub async fn authorize(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    scope: &Scope,
    place: Place,
    permission: Permission,
) -> AppResult<Grant> {
    let caller = caller.ok_or(AppError::Unauthenticated)?;
    let (organization_id, project) = match place {
        Place::Organization(id) => (id, None),
        Place::Project(id) => {
            let live = ProjectRow::find(conn, id).await?.filter(|p| p.deleted_at.is_none());
            match live {
                Some(project) if scope.sees_project(conn, id).await? => (project.organization_id, Some(project)),
                _ => return Err(AppError::NotFound("project")),
            }
        }
    };
    let project_id = project.as_ref().map(|p| p.id);
    // One lookup of the organization: whether it is live and visible (an organization place)
    // and whether it is suspended.
    let organization = OrganizationRow::find(conn, organization_id).await?;
    // A project place was checked above; an organization place is checked here.
    let visible = match (&place, &organization) {
        (Place::Project(_), _) => true,
        (Place::Organization(_), Some(o)) if o.deleted_at.is_none() => scope.sees_organization(conn, o.id).await?,
        (Place::Organization(_), _) => false,
    };
    if !visible {
        return Err(AppError::NotFound("organization"));
    }
    let permissions = permissions_in(conn, caller, Some(organization_id), project_id).await?;
    if !permissions.iter().any(|p| p == permission.as_str()) {
        return Err(AppError::Forbidden);
    }
    read_only(caller, organization.as_ref(), project.as_ref(), Some(permission))?;
    Ok(Grant {
        caller: caller.clone(),
        organization_id,
        project_id,
        permissions,
    })
}

/// The one rule for every write: a suspended organization and an archived project are
/// read-only. A project's lifecycle (archive, restore, delete: `project.delete`) still runs
/// in an archived project, and platform admins still act in a suspended organization.
/// `permission` is None for writes checked without one (feedback, accepting an invitation).
pub fn read_only(
    caller: &Caller,
    organization: Option<&OrganizationRow>,
    project: Option<&ProjectRow>,
    permission: Option<Permission>,
) -> AppResult<()> {
    let suspended = organization.is_some_and(|o| o.status == OrganizationStatus::Suspended);
    if suspended && !caller.user.is_platform_admin {
        return Err(AppError::ReadOnly("the organization is suspended"));
    }
    let archived = project.is_some_and(|p| p.status == ProjectStatus::Archived);
    if archived && permission != Some(Permission::ProjectDelete) {
        return Err(AppError::ReadOnly("the project is archived"));
    }
    Ok(())
}

/// [`read_only`] for a write in project `project_id` (or only organization
/// `organization_id`) that is checked without a [`Grant`].
pub async fn writable(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    organization_id: Uuid,
    project_id: Option<Uuid>,
) -> AppResult<()> {
    let organization = OrganizationRow::find(conn, organization_id).await?;
    let project = match project_id {
        Some(id) => ProjectRow::find(conn, id).await?,
        None => None,
    };
    read_only(caller, organization.as_ref(), project.as_ref(), None)
}

/// Checks a platform-wide permission (no tenant place): only platform roles count.
pub async fn authorize_platform(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    permission: Permission,
) -> AppResult<Caller> {
    let caller = caller.ok_or(AppError::Unauthenticated)?;
    if caller.narrowed_to.is_some() {
        return Err(AppError::Forbidden);
    }
    let permissions = permissions_in(conn, caller, None, None).await?;
    if permissions.iter().any(|p| p == permission.as_str()) {
        Ok(caller.clone())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The caller's permissions (one query): in a tenant's place (`organization_id` given) the
/// union of their organization and project roles' there; for a platform-wide check (none
/// given) their platform roles'. Every permission for a platform admin.
async fn permissions_in(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    organization_id: Option<Uuid>,
    project_id: Option<Uuid>,
) -> AppResult<Vec<String>> {
    let rows: Vec<Name> = cached(
        "SELECT DISTINCT p.name FROM permissions p \
         LEFT JOIN role_permissions rp ON rp.permission_id = p.id \
         WHERE $4 OR rp.role_id IN ( \
             SELECT role_id FROM user_roles WHERE user_id = $1 AND $2::uuid IS NULL \
             UNION ALL SELECT role_id FROM organization_members WHERE user_id = $1 AND organization_id = $2 \
             UNION ALL SELECT role_id FROM project_members WHERE user_id = $1 AND project_id = $3) \
         ORDER BY p.name",
    )
    .bind::<SqlUuid, _>(caller.user.id)
    .bind::<Nullable<SqlUuid>, _>(organization_id)
    .bind::<Nullable<SqlUuid>, _>(project_id)
    .bind::<diesel::sql_types::Bool, _>(caller.user.is_platform_admin)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}
