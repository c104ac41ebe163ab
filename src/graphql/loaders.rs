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
    auth::authz::{LazyScope, Scope},
    db::Pool,
    models::{
        chat::ChatRow,
        message::MessageRow,
        organization::OrganizationRow,
        page::{Filter, List, Page, PageRequest, load_pages},
        project::ProjectRow,
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
    scope: LazyScope,
}

impl DbLoader {
    /// A loader over this pool for the caller behind `scope`.
    pub fn new(pool: Pool, scope: LazyScope) -> Self {
        DbLoader { pool, scope }
    }

    async fn conn(&self) -> Result<crate::db::PooledConn, LoadError> {
        self.pool.get().await.map_err(load_error)
    }

    async fn scope(&self) -> Result<&Scope, LoadError> {
        self.scope.get().await.map_err(|e| load_error(anyhow::anyhow!("{e}")))
    }
}

macro_rules! by_id_loader {
    ($key:ident => $row:ident, visible: $visible:expr) => {
        /// Loads one row by primary key, if the caller may see it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub Uuid);

        impl Loader<$key> for DbLoader {
            type Value = $row;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $row>, LoadError> {
                let scope = self.scope().await?;
                let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
                let rows = $row::find_many(&mut *self.conn().await?, &ids)
                    .await
                    .map_err(load_error)?;
                let visible: fn(&Scope, &$row) -> bool = $visible;
                Ok(rows
                    .into_iter()
                    .filter(|row| visible(scope, row))
                    .map(|row| ($key(row.id), row))
                    .collect())
            }
        }
    };
}

by_id_loader!(OrganizationById => OrganizationRow, visible: |scope, row| row.deleted_at.is_none() && scope.sees_organization(row.id));
by_id_loader!(ProjectById => ProjectRow, visible: |scope, row| row.deleted_at.is_none() && scope.sees_project(row.id));
by_id_loader!(ChatById => ChatRow, visible: |scope, row| scope.sees_chat(row));

/// Loads one message by id, if the caller may see its chat (two statements per batch: the
/// messages, then their chats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageById(pub Uuid);

impl Loader<MessageById> for DbLoader {
    type Value = MessageRow;
    type Error = LoadError;

    async fn load(&self, keys: &[MessageById]) -> Result<HashMap<MessageById, MessageRow>, LoadError> {
        let scope = self.scope().await?;
        let mut conn = self.conn().await?;
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let messages = MessageRow::find_many(&mut conn, &ids).await.map_err(load_error)?;
        let chat_ids: Vec<Uuid> = messages.iter().map(|m| m.chat_id).collect();
        let visible_chats: std::collections::HashSet<Uuid> = ChatRow::find_many(&mut conn, &chat_ids)
            .await
            .map_err(load_error)?
            .into_iter()
            .filter(|chat| scope.sees_chat(chat))
            .map(|chat| chat.id)
            .collect();
        Ok(messages
            .into_iter()
            .filter(|m| visible_chats.contains(&m.chat_id))
            .map(|m| (MessageById(m.id), m))
            .collect())
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
        let scope = self.scope().await?;
        let mut conn = self.conn().await?;
        let mut batches: HashMap<(List, PageRequest, Filter), Vec<&Children<T>>> = HashMap::new();
        for key in keys {
            batches.entry(key.batch()).or_default().push(key);
        }
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
