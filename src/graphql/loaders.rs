//! Per-request DataLoaders. One loader type, [`DbLoader`], implements `Loader<K>` for many
//! small key types: `...ById` keys load rows by primary key, `...By<Parent>` keys load one
//! keyset page of the children of many parents, with their counts. Every `load` is one SQL
//! statement, so the number of
//! statements of a query grows with its depth, never with the number of rows. Each loader
//! carries its request's caller: rows the caller may not see are filtered out in SQL (child
//! lists) or dropped before they reach a resolver (by id), so they look like missing rows.

use std::{collections::HashMap, hash::Hash, sync::Arc};

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::{
    auth::authz::{LazyScope, Scope},
    db::Pool,
    models::{
        chat::ChatRow,
        message::MessageRow,
        organization::OrganizationRow,
        page::{List, Page, PageRequest, load_pages},
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

    /// Loads one page of the visible list of every parent in `keys`: one statement per
    /// distinct page request (in practice one).
    async fn pages<K, T>(&self, keys: &[K], list: List) -> Result<HashMap<K, Page<T>>, LoadError>
    where
        K: PageKey,
        T: diesel::QueryableByName<diesel::pg::Pg> + Send + 'static,
    {
        let scope = self.scope().await?;
        let mut conn = self.conn().await?;
        let mut by_page: HashMap<PageRequest, Vec<&K>> = HashMap::new();
        for key in keys {
            by_page.entry(key.page()).or_default().push(key);
        }
        let mut result = HashMap::with_capacity(keys.len());
        for (page, group) in by_page {
            let parents: Vec<Uuid> = group.iter().map(|k| k.parent()).collect();
            let mut pages: HashMap<Uuid, Page<T>> = load_pages(&mut conn, scope, list, &parents, page)
                .await
                .map_err(load_error)?
                .into_iter()
                .collect();
            for key in group {
                result.insert(key.clone(), pages.remove(&key.parent()).unwrap_or_else(Page::empty));
            }
        }
        Ok(result)
    }
}

/// A key that asks for one page of the list of one parent.
pub trait PageKey: Clone + Eq + Hash + Send + Sync + 'static {
    /// The parent's id.
    fn parent(&self) -> Uuid;
    /// Which page.
    fn page(&self) -> PageRequest;
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

macro_rules! page_loader {
    ($key:ident { $parent:ident } => $row:ident, $list:expr) => {
        /// Loads one page of the visible list of one parent.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key {
            pub $parent: Uuid,
            pub page: PageRequest,
        }

        impl PageKey for $key {
            fn parent(&self) -> Uuid {
                self.$parent
            }
            fn page(&self) -> PageRequest {
                self.page
            }
        }

        impl Loader<$key> for DbLoader {
            type Value = Page<$row>;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Page<$row>>, LoadError> {
                self.pages(keys, $list).await
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

page_loader!(ProjectsByOrganization { organization_id } => ProjectRow, ProjectRow::BY_ORGANIZATION);
page_loader!(ChatsByProject { project_id } => ChatRow, ChatRow::BY_PROJECT);
page_loader!(MessagesByChat { chat_id } => MessageRow, MessageRow::BY_CHAT);
