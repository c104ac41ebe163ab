//! The authorization core for reads. A [`Scope`] says what one caller may see; the queries
//! that read tenant data take a `&Scope`, and the only way to get one is [`Scope::load`], so a
//! read that forgets the check does not compile.
//!
//! Rules (data-model.md, Identity and access): a platform admin sees everything. A user sees
//! the organizations they belong to, and the live projects of an organization where their
//! organization role grants `project.read` (owner, admin), plus every project they are a
//! member of (and that project's organization). A chat is seen by anyone when `public`, by
//! whoever sees its project when `project`, and by its owner only when `private`. Anonymous
//! callers see public chats and nothing else. An API token narrowed to an organization sees
//! nothing outside it.

use crate::db::cached::cached;
use diesel::{
    QueryResult, QueryableByName,
    sql_types::{Bool, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::{db::enums::ChatVisibility, models::chat::ChatRow, services::auth::Caller};

/// What one caller may read. Built only by [`Scope::load`].
#[derive(Debug, Clone, Default)]
pub struct Scope {
    user_id: Option<Uuid>,
    admin: bool,
    organization_ids: Vec<Uuid>,
    project_ids: Vec<Uuid>,
}

#[derive(QueryableByName)]
struct VisibleProject {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    organization_id: Uuid,
}

#[derive(QueryableByName)]
struct Membership {
    #[diesel(sql_type = SqlUuid)]
    organization_id: Uuid,
    #[diesel(sql_type = Bool)]
    reads_all_projects: bool,
}

impl Scope {
    /// Computes what `caller` (None: anonymous) may read: two queries for a signed-in user.
    pub async fn load(conn: &mut AsyncPgConnection, caller: Option<&Caller>) -> QueryResult<Scope> {
        let Some(caller) = caller else {
            return Ok(Scope::default());
        };
        let user_id = caller.user.id;
        if caller.user.is_platform_admin && caller.narrowed_to.is_none() {
            return Ok(Scope {
                user_id: Some(user_id),
                admin: true,
                ..Scope::default()
            });
        }
        let memberships: Vec<Membership> = cached(
            "SELECT m.organization_id, coalesce(bool_or(p.name = 'project.read'), false) AS reads_all_projects \
             FROM organization_members m \
             JOIN organizations o ON o.id = m.organization_id AND o.deleted_at IS NULL \
             LEFT JOIN role_permissions rp ON rp.role_id = m.role_id \
             LEFT JOIN permissions p ON p.id = rp.permission_id \
             WHERE m.user_id = $1 GROUP BY m.organization_id",
        )
        .bind::<SqlUuid, _>(user_id)
        .load(conn)
        .await?;
        let reads_all: Vec<Uuid> = memberships
            .iter()
            .filter(|m| m.reads_all_projects)
            .map(|m| m.organization_id)
            .collect();
        let projects: Vec<VisibleProject> = cached(
            "SELECT p.id, p.organization_id FROM projects p \
             JOIN organizations o ON o.id = p.organization_id AND o.deleted_at IS NULL \
             WHERE p.deleted_at IS NULL AND (p.organization_id = ANY($2) \
               OR p.id IN (SELECT project_id FROM project_members WHERE user_id = $1))",
        )
        .bind::<SqlUuid, _>(user_id)
        .bind::<diesel::sql_types::Array<SqlUuid>, _>(&reads_all)
        .load(conn)
        .await?;
        let mut organization_ids: Vec<Uuid> = memberships.iter().map(|m| m.organization_id).collect();
        organization_ids.extend(projects.iter().map(|p| p.organization_id));
        let mut project_ids: Vec<Uuid> = projects.iter().map(|p| p.id).collect();
        if let Some(only) = caller.narrowed_to {
            organization_ids.retain(|id| *id == only);
            project_ids = projects
                .iter()
                .filter(|p| p.organization_id == only)
                .map(|p| p.id)
                .collect();
        }
        organization_ids.sort_unstable();
        organization_ids.dedup();
        Ok(Scope {
            user_id: Some(user_id),
            admin: false,
            organization_ids,
            project_ids,
        })
    }

    /// True for a platform admin (who sees everything).
    pub fn is_admin(&self) -> bool {
        self.admin
    }

    /// The caller's user id; None when anonymous.
    pub fn user_id(&self) -> Option<Uuid> {
        self.user_id
    }

    /// Organizations the caller may see (empty for an admin, who sees all).
    pub fn organization_ids(&self) -> &[Uuid] {
        &self.organization_ids
    }

    /// Live projects the caller may see (empty for an admin, who sees all).
    pub fn project_ids(&self) -> &[Uuid] {
        &self.project_ids
    }

    /// Whether the caller may see this organization.
    pub fn sees_organization(&self, id: Uuid) -> bool {
        self.admin || self.organization_ids.contains(&id)
    }

    /// Whether the caller may see this project.
    pub fn sees_project(&self, id: Uuid) -> bool {
        self.admin || self.project_ids.contains(&id)
    }

    /// Whether the caller may see this chat (and so its messages).
    pub fn sees_chat(&self, chat: &ChatRow) -> bool {
        self.admin
            || chat.visibility == ChatVisibility::Public
            || (self.sees_project(chat.project_id)
                && (chat.visibility == ChatVisibility::Project || self.user_id == Some(chat.user_id)))
    }
}

/// A request's scope, computed on first use (a request that reads no tenant data never pays
/// for it) and then shared by its resolvers and DataLoaders. A mutation that changes what
/// its caller may see (a new project, a new membership) calls [`LazyScope::refresh`], so the
/// payload it returns is read with the rights as they are now.
#[derive(Clone)]
pub struct LazyScope {
    cell: std::sync::Arc<std::sync::Mutex<std::sync::Arc<tokio::sync::OnceCell<std::sync::Arc<Scope>>>>>,
    caller: Option<Caller>,
    pool: crate::db::Pool,
}

impl LazyScope {
    /// The scope of `caller` (None: anonymous), not computed yet.
    pub fn new(pool: crate::db::Pool, caller: Option<Caller>) -> Self {
        LazyScope {
            cell: Default::default(),
            caller,
            pool,
        }
    }

    fn current(&self) -> std::sync::Arc<tokio::sync::OnceCell<std::sync::Arc<Scope>>> {
        match self.cell.lock() {
            Ok(cell) => cell.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The scope, computing it on first use.
    pub async fn get(&self) -> crate::error::AppResult<std::sync::Arc<Scope>> {
        let cell = self.current();
        let scope = cell
            .get_or_try_init(|| async {
                let mut conn = self.pool.get().await?;
                let scope = Scope::load(&mut conn, self.caller.as_ref()).await?;
                Ok::<_, crate::error::AppError>(std::sync::Arc::new(scope))
            })
            .await?;
        Ok(scope.clone())
    }

    /// Forgets the computed scope: the next read computes it again.
    pub fn refresh(&self) {
        let mut cell = match self.cell.lock() {
            Ok(cell) => cell,
            Err(poisoned) => poisoned.into_inner(),
        };
        *cell = Default::default();
    }
}
