//! The authorization core for reads. A [`Scope`] says who is reading; the queries that read
//! tenant data take a `&Scope`, and the only way to get one is [`Scope::of`] a request's
//! caller, so a read that forgets the check does not compile.
//!
//! Rules (data-model.md, Identity and access): nothing in a deleted project or organization
//! is seen by anyone. A platform admin sees everything else. A user sees
//! the organizations they belong to, and the live projects of an organization where their
//! organization role grants `project.read` (owner, admin), plus every project they are a
//! member of (and that project's organization). A chat is seen by anyone when `public`, by
//! whoever sees its project when `project`, and by its owner only when `private`; what was
//! made in a chat (artifacts, audit records naming it) is seen exactly as the chat. Anonymous
//! callers see public chats and nothing else. An API token narrowed to an organization sees
//! nothing outside it.
//!
//! The rules live in SQL (the `chatgraph_project_readers` and `chatgraph_organization_readers`
//! views, migration 13, and the conditions below), checked inside each read statement by key:
//! a request never loads, or ships to PostgreSQL, the list of everything its caller may see,
//! so its cost does not grow with the number of projects the caller works in, and a change of
//! rights counts from the next statement on. Each check is an `EXISTS (… OFFSET 0)`: the
//! `OFFSET 0` keeps PostgreSQL from turning it into a hash of everything the caller may read
//! (what it prefers when it cannot know how much that is), so it stays a few primary-key probes.
//! Every read statement binds the caller as `$3`
//! (platform admin), `$4` (user id, null when anonymous) and `$5` (the organization an API
//! token is narrowed to, or null); see [`Scope::bind`].

use diesel::{
    QueryResult, QueryableByName,
    sql_types::{Bool, Nullable, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::{
    auth::caller::Caller,
    db::{
        cached::{CachedSql, cached},
        enums::ChatVisibility,
    },
    models::chat::ChatRow,
};

/// SQL: whether the project whose id is the expression `$p` is live: neither it nor its
/// organization is deleted. Everything in a deleted place is gone from every read, for
/// everyone (platform admins and public chats included).
macro_rules! live_project {
    ($project:expr) => {
        concat!(
            "EXISTS (SELECT 1 FROM projects lp JOIN organizations lo ON lo.id = lp.organization_id \
             AND lo.deleted_at IS NULL WHERE lp.id = ",
            $project,
            " AND lp.deleted_at IS NULL OFFSET 0)"
        )
    };
}
pub(crate) use live_project;

/// SQL: whether the user `$4` reads the project `$p` by a role (the project is live then).
macro_rules! reads_project {
    ($project:expr) => {
        concat!(
            "EXISTS (SELECT 1 FROM chatgraph_project_readers r WHERE r.project_id = ",
            $project,
            " AND r.user_id = $4 AND ($5::uuid IS NULL OR r.organization_id = $5) OFFSET 0)"
        )
    };
}
pub(crate) use reads_project;

/// SQL: whether the caller (`$3`..`$5`) sees the live project whose id is the expression `$p`.
macro_rules! sees_project {
    ($project:expr) => {
        concat!(
            "(($3 AND ",
            $crate::auth::authz::live_project!($project),
            ") OR ",
            $crate::auth::authz::reads_project!($project),
            ")"
        )
    };
}
pub(crate) use sees_project;

/// SQL: whether the caller (`$3`..`$5`) sees the live organization whose id is the
/// expression `$o`.
macro_rules! sees_organization {
    ($organization:expr) => {
        concat!(
            "(($3 AND EXISTS (SELECT 1 FROM organizations lo WHERE lo.id = ",
            $organization,
            " AND lo.deleted_at IS NULL OFFSET 0)) OR (($5::uuid IS NULL OR ",
            $organization,
            " = $5) AND EXISTS (SELECT 1 FROM chatgraph_organization_readers r WHERE r.organization_id = ",
            $organization,
            " AND r.user_id = $4 OFFSET 0)))"
        )
    };
}
pub(crate) use sees_organization;

/// SQL: whether the caller (`$3`..`$5`) sees the project `$p` and holds the permission
/// `$permission` (a string literal) there (reads that need more than seeing, such as usage).
macro_rules! permits_project {
    ($project:expr, $permission:literal) => {
        concat!(
            "(",
            $crate::auth::authz::sees_project!($project),
            " AND ($3 OR EXISTS (SELECT 1 FROM chatgraph_project_permissions x WHERE x.project_id = ",
            $project,
            " AND x.user_id = $4 AND x.permission = '",
            $permission,
            "' OFFSET 0)))"
        )
    };
}
pub(crate) use permits_project;

/// SQL: whether the caller (`$3`..`$5`) sees the organization `$o` and holds the permission
/// `$permission` (a string literal) there.
macro_rules! permits_organization {
    ($organization:expr, $permission:literal) => {
        concat!(
            "(",
            $crate::auth::authz::sees_organization!($organization),
            " AND ($3 OR EXISTS (SELECT 1 FROM chatgraph_organization_permissions x WHERE x.organization_id = ",
            $organization,
            " AND x.user_id = $4 AND x.permission = '",
            $permission,
            "' OFFSET 0)))"
        )
    };
}
pub(crate) use permits_organization;

/// SQL: whether the caller (`$3`..`$5`) may read the chat of alias `$c` (the rule of
/// [`Scope::sees_chat`]): a platform admin or anyone for a public chat, while its project is
/// live; whoever reads the project for a `project` chat; its owner, reading the project,
/// for a private one.
macro_rules! sees_chat {
    ($chat:literal) => {
        concat!(
            "((($3 OR ",
            $chat,
            ".visibility = 'public') AND ",
            $crate::auth::authz::live_project!(concat!($chat, ".project_id")),
            ") OR (",
            $crate::auth::authz::reads_project!(concat!($chat, ".project_id")),
            " AND (",
            $chat,
            ".visibility = 'project' OR ",
            $chat,
            ".user_id = $4)))"
        )
    };
}
pub(crate) use sees_chat;

/// SQL: whether the caller (`$3`..`$5`) may read the row of alias `$r` that may have been
/// made in a chat (`$r.chat_id`: artifacts, files): then it is seen exactly as that chat is;
/// otherwise as its project (`$r.project_id`).
macro_rules! sees_as_its_chat {
    ($row:literal) => {
        concat!(
            "(CASE WHEN ",
            $row,
            ".chat_id IS NULL THEN ",
            $crate::auth::authz::sees_project!(concat!($row, ".project_id")),
            " ELSE EXISTS (SELECT 1 FROM chats ich WHERE ich.id = ",
            $row,
            ".chat_id AND ",
            $crate::auth::authz::sees_chat!("ich"),
            " OFFSET 0) END)"
        )
    };
}
pub(crate) use sees_as_its_chat;

/// Who is reading: built only by [`Scope::of`].
#[derive(Debug, Clone, Default)]
pub struct Scope {
    user_id: Option<Uuid>,
    admin: bool,
    narrowed_to: Option<Uuid>,
}

#[derive(QueryableByName)]
struct Seen {
    #[diesel(sql_type = Bool)]
    seen: bool,
}

impl Scope {
    /// The scope of `caller` (None: anonymous). Costs no statement: the rules are checked in
    /// the statements that read.
    pub fn of(caller: Option<&Caller>) -> Scope {
        let Some(caller) = caller else {
            return Scope::default();
        };
        Scope {
            user_id: Some(caller.user.id),
            admin: caller.user.is_platform_admin && caller.narrowed_to.is_none(),
            narrowed_to: caller.narrowed_to,
        }
    }

    /// True for a platform admin (who sees everything).
    pub fn is_admin(&self) -> bool {
        self.admin
    }

    /// The caller's user id; None when anonymous.
    pub fn user_id(&self) -> Option<Uuid> {
        self.user_id
    }

    /// Whether `user_id` is the caller: sessions, API tokens and repositories are read by
    /// their owner only.
    pub fn is_caller(&self, user_id: Uuid) -> bool {
        self.user_id == Some(user_id)
    }

    /// Whether the caller reads user `id` directly (`node`): themselves, or a platform admin.
    /// Everyone else meets users only through a visible membership or authorship.
    pub fn sees_user(&self, id: Uuid) -> bool {
        self.is_caller(id) || self.admin
    }

    /// Binds the caller as `$3`, `$4` and `$5` of a read statement (after `$1` and `$2`).
    pub fn bind<'a>(&self, query: CachedSql<'a>) -> CachedSql<'a> {
        query
            .bind::<Bool, _>(self.admin)
            .bind::<Nullable<SqlUuid>, _>(self.user_id)
            .bind::<Nullable<SqlUuid>, _>(self.narrowed_to)
    }

    async fn check(&self, conn: &mut AsyncPgConnection, sql: &'static str, id: Uuid) -> QueryResult<bool> {
        if self.user_id.is_none() {
            return Ok(false);
        }
        self.ask(conn, sql, id).await
    }

    async fn ask(&self, conn: &mut AsyncPgConnection, sql: &'static str, id: Uuid) -> QueryResult<bool> {
        let query = self.bind(
            cached(sql)
                .bind::<SqlUuid, _>(id)
                .bind::<Nullable<Bool>, _>(None::<bool>),
        );
        Ok(query.get_result::<Seen>(conn).await?.seen)
    }

    /// Whether the caller may see this organization (one statement unless admin or anonymous).
    pub async fn sees_organization(&self, conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
        self.check(conn, concat!("SELECT ", sees_organization!("$1"), " AS seen"), id)
            .await
    }

    /// Whether the caller may see this live project (one statement unless admin or anonymous).
    pub async fn sees_project(&self, conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
        self.check(conn, concat!("SELECT ", sees_project!("$1"), " AS seen"), id)
            .await
    }

    /// Whether the caller may see this chat (and so its messages and artifacts): the rule of
    /// `sees_chat!`, one statement.
    pub async fn sees_chat(&self, conn: &mut AsyncPgConnection, chat: &ChatRow) -> QueryResult<bool> {
        let public = chat.visibility == ChatVisibility::Public;
        if !public && !self.admin {
            let own = self.user_id == Some(chat.user_id);
            if self.user_id.is_none() || (chat.visibility == ChatVisibility::Private && !own) {
                return Ok(false);
            }
            return self.sees_project(conn, chat.project_id).await;
        }
        self.ask(
            conn,
            concat!("SELECT ", live_project!("$1"), " AS seen"),
            chat.project_id,
        )
        .await
    }
}
