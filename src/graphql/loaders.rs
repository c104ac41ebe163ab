//! Per-request DataLoaders. One loader type, [`DbLoader`], implements `Loader<K>` for many
//! small key types: `...ById` keys load rows by primary key, [`Children`] keys load one
//! keyset page of the children of many parents, with their counts. Every `load` is one SQL
//! statement, so the number of
//! statements of a query grows with its depth, never with the number of rows. Each loader
//! carries its request's caller: rows the caller may not see are filtered out in SQL (child
//! lists) or dropped before they reach a resolver (by id), so they look like missing rows.

use std::{collections::HashMap, hash::Hash, marker::PhantomData, sync::Arc};

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::{
    auth::authz::Scope,
    db::Pool,
    models::{
        assistant::AssistantRow,
        chat::ChatRow,
        citation::CitationRow,
        datasource::DatasourceRow,
        document::{DocumentChunkRow, DocumentRow},
        file::{FileAttachmentRow, FileRow},
        lists,
        message::MessageRow,
        message::{MessageFeedbackRow, MessageStreamRow},
        organization::OrganizationRow,
        page::{Filter, List, Page, PageRequest, find_many_visible, load_pages},
        project::{ProjectQuotaRow, ProjectRow, ProjectSettingsRow},
        role::{PermissionRow, RoleRow},
        summary::{self, FeedbackCounts, FeedbackOwner, UsageBucket, UsageGrouping, UsageOwner},
        user::UserRow,
    },
};

/// The error a load reports (shared between the fields that awaited it).
pub type LoadError = Arc<anyhow::Error>;

fn load_error(error: impl Into<anyhow::Error>) -> LoadError {
    Arc::new(error.into())
}

/// Loads rows for one request, as its caller may see them.
pub struct DbLoader {
    pool: Pool,
    scope: Arc<Scope>,
}

impl DbLoader {
    /// A loader over this pool for the caller of `scope`.
    pub fn new(pool: Pool, scope: Arc<Scope>) -> Self {
        DbLoader { pool, scope }
    }

    async fn conn(&self) -> Result<crate::db::PooledConn, LoadError> {
        self.pool.get().await.map_err(load_error)
    }
}

/// The values of `pairs` gathered by key, in their order.
fn grouped<K: Eq + Hash, V>(pairs: impl IntoIterator<Item = (K, V)>) -> HashMap<K, Vec<V>> {
    let mut groups: HashMap<K, Vec<V>> = HashMap::new();
    for (key, value) in pairs {
        groups.entry(key).or_default().push(value);
    }
    groups
}

macro_rules! by_id_loader {
    ($key:ident => $row:ident) => {
        /// Loads one row by primary key (its resolvers decide who may follow the reference).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub Uuid);

        impl Loader<$key> for DbLoader {
            type Value = $row;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $row>, LoadError> {
                let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
                let rows = $row::find_many(&mut *self.conn().await?, &ids)
                    .await
                    .map_err(load_error)?;
                Ok(rows.into_iter().map(|row| ($key(row.id), row)).collect())
            }
        }
    };
    ($key:ident => $row:ident, $by_id:expr) => {
        /// Loads one row by primary key, if the caller may see it (checked in the statement).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub Uuid);

        impl Loader<$key> for DbLoader {
            type Value = $row;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $row>, LoadError> {
                let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
                let rows: Vec<$row> = find_many_visible(&mut *self.conn().await?, &self.scope, &$by_id, &ids)
                    .await
                    .map_err(load_error)?;
                Ok(rows.into_iter().map(|row| ($key(row.id), row)).collect())
            }
        }
    };
}

by_id_loader!(OrganizationById => OrganizationRow, lists::ORGANIZATION_BY_ID);
by_id_loader!(ProjectById => ProjectRow, lists::PROJECT_BY_ID);
by_id_loader!(ChatById => ChatRow, lists::CHAT_BY_ID);
// Rows below are reached only from a visible parent (a chat's assistant, a member's user and
// role, a chunk's document, an attachment's file); their resolvers decide who may follow the
// reference, so the loader itself checks only the project where there is one.
by_id_loader!(UserById => UserRow);
by_id_loader!(RoleById => RoleRow);
by_id_loader!(AssistantById => AssistantRow, lists::ASSISTANT_BY_ID);
by_id_loader!(DatasourceById => DatasourceRow, lists::DATASOURCE_BY_ID);
by_id_loader!(DocumentById => DocumentRow, lists::DOCUMENT_BY_ID);
by_id_loader!(FileById => FileRow, lists::FILE_BY_ID);

/// Loads one message by id, if the caller may see its chat (one statement per batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageById(pub Uuid);

impl Loader<MessageById> for DbLoader {
    type Value = MessageRow;
    type Error = LoadError;

    async fn load(&self, keys: &[MessageById]) -> Result<HashMap<MessageById, MessageRow>, LoadError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let messages: Vec<MessageRow> =
            find_many_visible(&mut *self.conn().await?, &self.scope, &lists::MESSAGE_BY_ID, &ids)
                .await
                .map_err(load_error)?;
        Ok(messages.into_iter().map(|m| (MessageById(m.id), m)).collect())
    }
}

/// Loads the rows whose `$column` is one of the keys, grouped by key (one `= ANY` statement
/// per batch). `one` keeps the first row of each key (for one-to-one tables).
macro_rules! rows_by_column {
    ($key:ident => Vec<$row:ident>, $table:ident . $column:ident, order: $order:ident) => {
        /// Loads every row of one parent (a short list that cannot grow much).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub Uuid);

        impl Loader<$key> for DbLoader {
            type Value = Vec<$row>;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Vec<$row>>, LoadError> {
                use crate::db::schema::$table;
                use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
                use diesel_async::RunQueryDsl;
                let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
                let rows: Vec<$row> = $table::table
                    .filter($table::$column.eq_any(&ids))
                    .order(($table::$order, $table::id))
                    .select($row::as_select())
                    .load(&mut *self.conn().await?)
                    .await
                    .map_err(load_error)?;
                Ok(grouped(rows.into_iter().filter_map(|row| {
                    Option::<Uuid>::from(row.$column).map(|parent| ($key(parent), row))
                })))
            }
        }
    };
    ($key:ident => $row:ident, $table:ident . $column:ident) => {
        /// Loads the one row of a parent (a one-to-one table).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub Uuid);

        impl Loader<$key> for DbLoader {
            type Value = $row;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $row>, LoadError> {
                use crate::db::schema::$table;
                use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
                use diesel_async::RunQueryDsl;
                let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
                let rows: Vec<$row> = $table::table
                    .filter($table::$column.eq_any(&ids))
                    .select($row::as_select())
                    .load(&mut *self.conn().await?)
                    .await
                    .map_err(load_error)?;
                Ok(rows.into_iter().map(|row| ($key(row.$column), row)).collect())
            }
        }
    };
}

rows_by_column!(SettingsByProject => ProjectSettingsRow, project_settings.project_id);
rows_by_column!(QuotaByProject => ProjectQuotaRow, project_quotas.project_id);
rows_by_column!(StreamsByChat => Vec<MessageStreamRow>, message_streams.chat_id, order: created_at);
rows_by_column!(StreamsByMessage => Vec<MessageStreamRow>, message_streams.message_id, order: created_at);
rows_by_column!(ChildrenOf => Vec<MessageRow>, messages.parent_id, order: created_at);
rows_by_column!(AttachmentsByChat => Vec<FileAttachmentRow>, file_attachments.chat_id, order: created_at);
rows_by_column!(AttachmentsByMessage => Vec<FileAttachmentRow>, file_attachments.message_id, order: created_at);
rows_by_column!(AttachmentsByAssistant => Vec<FileAttachmentRow>, file_attachments.assistant_id, order: created_at);
rows_by_column!(CitationsByMessage => Vec<CitationRow>, message_citations.message_id, order: position);
by_id_loader!(ChunkById => DocumentChunkRow);

/// Loads the permissions of a role, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PermissionsByRole(pub Uuid);

impl Loader<PermissionsByRole> for DbLoader {
    type Value = Vec<PermissionRow>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[PermissionsByRole],
    ) -> Result<HashMap<PermissionsByRole, Vec<PermissionRow>>, LoadError> {
        use crate::db::schema::{permissions, role_permissions};
        use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
        use diesel_async::RunQueryDsl;
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows: Vec<(Uuid, PermissionRow)> = role_permissions::table
            .inner_join(permissions::table)
            .filter(role_permissions::role_id.eq_any(&ids))
            .order(permissions::name)
            .select((role_permissions::role_id, PermissionRow::as_select()))
            .load(&mut *self.conn().await?)
            .await
            .map_err(load_error)?;
        Ok(grouped(
            rows.into_iter()
                .map(|(role, permission)| (PermissionsByRole(role), permission)),
        ))
    }
}

/// Loads the datasources an assistant answers from (ids, oldest link first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DatasourcesOfAssistant(pub Uuid);

impl Loader<DatasourcesOfAssistant> for DbLoader {
    type Value = Vec<Uuid>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[DatasourcesOfAssistant],
    ) -> Result<HashMap<DatasourcesOfAssistant, Vec<Uuid>>, LoadError> {
        use crate::db::schema::assistant_datasources as a;
        use diesel::{ExpressionMethods, QueryDsl};
        use diesel_async::RunQueryDsl;
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows: Vec<(Uuid, Uuid)> = a::table
            .filter(a::assistant_id.eq_any(&ids))
            .order((a::created_at, a::datasource_id))
            .select((a::assistant_id, a::datasource_id))
            .load(&mut *self.conn().await?)
            .await
            .map_err(load_error)?;
        Ok(grouped(rows.into_iter().map(|(assistant, datasource)| {
            (DatasourcesOfAssistant(assistant), datasource)
        })))
    }
}

/// Asks for one page of the visible `list` of one parent, narrowed by `filter`: the rows
/// are `T`. Keys of one row type batch together; one statement per distinct list, page and
/// filter (in practice one per level of a query).
pub struct Children<T> {
    /// Which list (table, order, visibility).
    pub list: List,
    /// The parent's id (nil for a root list).
    pub parent: Uuid,
    /// Which page.
    pub page: PageRequest,
    /// The client's conditions.
    pub filter: Filter,
    row: PhantomData<fn() -> T>,
}

impl<T> Children<T> {
    /// The key of one page of `list` under `parent`.
    pub fn new(list: List, parent: Uuid, page: PageRequest, filter: Filter) -> Self {
        Children {
            list,
            parent,
            page,
            filter,
            row: PhantomData,
        }
    }

    fn batch(&self) -> (List, PageRequest, Filter) {
        (self.list, self.page, self.filter.clone())
    }
}

impl<T> Clone for Children<T> {
    fn clone(&self) -> Self {
        Children::new(self.list, self.parent, self.page, self.filter.clone())
    }
}

impl<T> PartialEq for Children<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.list, self.parent, self.page, &self.filter) == (other.list, other.parent, other.page, &other.filter)
    }
}

impl<T> Eq for Children<T> {}

impl<T> Hash for Children<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.list, self.parent, self.page, &self.filter).hash(state);
    }
}

impl<T> Loader<Children<T>> for DbLoader
where
    T: diesel::QueryableByName<diesel::pg::Pg> + Clone + Send + Sync + 'static,
{
    type Value = Page<T>;
    type Error = LoadError;

    async fn load(&self, keys: &[Children<T>]) -> Result<HashMap<Children<T>, Page<T>>, LoadError> {
        let scope = self.scope.as_ref();
        let mut conn = self.conn().await?;
        let batches = grouped(keys.iter().map(|key| (key.batch(), key)));
        let mut result = HashMap::with_capacity(keys.len());
        for ((list, page, filter), group) in batches {
            let parents: Vec<Uuid> = group.iter().map(|k| k.parent).collect();
            let mut pages: HashMap<Uuid, Page<T>> = load_pages(&mut conn, scope, list, &parents, page, &filter)
                .await
                .map_err(load_error)?
                .into_iter()
                .collect();
            for key in group {
                result.insert(key.clone(), pages.remove(&key.parent).unwrap_or_else(Page::empty));
            }
        }
        Ok(result)
    }
}

/// Asks for the usage of one parent, grouped and filtered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsageOf {
    /// Whose usage.
    pub owner: UsageOwner,
    /// The organization, project, user or chat.
    pub parent: Uuid,
    /// How to split it.
    pub grouping: Option<UsageGrouping>,
    /// The client's conditions.
    pub filter: Filter,
}

impl Loader<UsageOf> for DbLoader {
    type Value = Vec<UsageBucket>;
    type Error = LoadError;

    async fn load(&self, keys: &[UsageOf]) -> Result<HashMap<UsageOf, Vec<UsageBucket>>, LoadError> {
        let scope = self.scope.as_ref();
        let mut conn = self.conn().await?;
        let batches = grouped(
            keys.iter()
                .map(|key| ((key.owner, key.grouping, key.filter.clone()), key)),
        );
        let mut result = HashMap::with_capacity(keys.len());
        for ((owner, grouping, filter), group) in batches {
            let parents: Vec<Uuid> = group.iter().map(|k| k.parent).collect();
            let buckets = summary::usage(&mut conn, scope, owner, &parents, grouping, &filter)
                .await
                .map_err(load_error)?;
            for key in group {
                let mine = buckets.iter().filter(|b| b.parent == key.parent).cloned().collect();
                result.insert(key.clone(), mine);
            }
        }
        Ok(result)
    }
}

/// Asks for the feedback counts of one message or assistant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FeedbackOf {
    /// Counted by message or by assistant.
    pub owner: FeedbackOwner,
    /// The message or assistant.
    pub parent: Uuid,
}

impl Loader<FeedbackOf> for DbLoader {
    type Value = FeedbackCounts;
    type Error = LoadError;

    async fn load(&self, keys: &[FeedbackOf]) -> Result<HashMap<FeedbackOf, FeedbackCounts>, LoadError> {
        let scope = self.scope.as_ref();
        let mut conn = self.conn().await?;
        let mut result = HashMap::with_capacity(keys.len());
        for owner in [FeedbackOwner::Message, FeedbackOwner::Assistant] {
            let parents: Vec<Uuid> = keys.iter().filter(|k| k.owner == owner).map(|k| k.parent).collect();
            if parents.is_empty() {
                continue;
            }
            for counts in summary::feedback(&mut conn, scope, owner, &parents)
                .await
                .map_err(load_error)?
            {
                result.insert(
                    FeedbackOf {
                        owner,
                        parent: counts.parent,
                    },
                    counts,
                );
            }
        }
        Ok(result)
    }
}

/// Loads the caller's own feedback on a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ViewerFeedback(pub Uuid);

impl Loader<ViewerFeedback> for DbLoader {
    type Value = MessageFeedbackRow;
    type Error = LoadError;

    async fn load(&self, keys: &[ViewerFeedback]) -> Result<HashMap<ViewerFeedback, MessageFeedbackRow>, LoadError> {
        use crate::db::schema::message_feedback;
        use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
        use diesel_async::RunQueryDsl;
        let Some(user_id) = self.scope.user_id() else {
            return Ok(HashMap::new());
        };
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows: Vec<MessageFeedbackRow> = message_feedback::table
            .filter(message_feedback::message_id.eq_any(&ids))
            .filter(message_feedback::user_id.eq(user_id))
            .select(MessageFeedbackRow::as_select())
            .load(&mut *self.conn().await?)
            .await
            .map_err(load_error)?;
        Ok(rows
            .into_iter()
            .map(|row| (ViewerFeedback(row.message_id), row))
            .collect())
    }
}

/// Loads one value that must exist (a reference the row holds): NOT_FOUND `what` otherwise.
pub async fn load_required<K>(
    ctx: &async_graphql::Context<'_>,
    key: K,
    what: &'static str,
) -> async_graphql::Result<<DbLoader as Loader<K>>::Value>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    DbLoader: Loader<K, Error = LoadError>,
{
    use super::context::ContextExt;
    load(ctx, key)
        .await?
        .ok_or_else(|| ctx.error(crate::error::AppError::NotFound(what)))
}

/// Loads one value through the request's DataLoader, as a resolver needs it.
pub async fn load<K>(
    ctx: &async_graphql::Context<'_>,
    key: K,
) -> async_graphql::Result<Option<<DbLoader as Loader<K>>::Value>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    DbLoader: Loader<K, Error = LoadError>,
{
    use super::context::ContextExt;
    ctx.loader().load_one(key).await.map_err(|e| ctx.error(e))
}

/// A list hanging off an item of a page: what `key` loads (batched with the other items'),
/// cut to [`MAX_ITEM_LIST_ITEMS`](super::node::MAX_ITEM_LIST_ITEMS) (the first ones, or the
/// `newest`), each made a `T`.
pub async fn item_list<K, R, T>(
    ctx: &async_graphql::Context<'_>,
    key: K,
    newest: bool,
    item: impl FnMut(R) -> T,
) -> async_graphql::Result<Vec<T>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    DbLoader: Loader<K, Value = Vec<R>, Error = LoadError>,
{
    use super::node::{MAX_ITEM_LIST_ITEMS, capped};
    let rows = load(ctx, key).await?.unwrap_or_default();
    Ok(capped(rows, MAX_ITEM_LIST_ITEMS, newest, item))
}
