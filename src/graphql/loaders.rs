//! Per-request DataLoaders. One loader type, [`DbLoader`], implements `Loader<K>` for many
//! small key types: `...ById` keys load rows by primary key, `...By<Parent>` keys load the
//! first N children of many parents. Every `load` is one SQL statement, so the number of
//! statements of a query grows with its depth, never with the number of rows.

use std::{collections::HashMap, hash::Hash, sync::Arc};

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::{
    db::Pool,
    models::{
        ChildList, chat::ChatRow, first_per_parent, message::MessageRow, organization::OrganizationRow,
        project::ProjectRow,
    },
};

/// The error a load reports (shared between the fields that awaited it).
pub type LoadError = Arc<anyhow::Error>;

/// Loads rows for one request.
pub struct DbLoader {
    pool: Pool,
}

impl DbLoader {
    /// A loader over this pool.
    pub fn new(pool: Pool) -> Self {
        DbLoader { pool }
    }

    async fn conn(&self) -> Result<crate::db::PooledConn, LoadError> {
        self.pool.get().await.map_err(|e| Arc::new(e.into()))
    }

    /// Loads the first `key.first()` children of every parent in `keys`, one statement per
    /// distinct page size (in practice one).
    async fn children<K, T>(
        &self,
        keys: &[K],
        list: ChildList,
        parent_of: fn(&T) -> Uuid,
    ) -> Result<HashMap<K, Vec<T>>, LoadError>
    where
        K: ChildKey,
        T: diesel::QueryableByName<diesel::pg::Pg> + Send + 'static,
    {
        let mut conn = self.conn().await?;
        let mut by_size: HashMap<i64, Vec<&K>> = HashMap::new();
        for key in keys {
            by_size.entry(key.first()).or_default().push(key);
        }
        let mut result = HashMap::with_capacity(keys.len());
        for (first, group) in by_size {
            let parents: Vec<Uuid> = group.iter().map(|k| k.parent()).collect();
            let rows: Vec<T> = first_per_parent(&mut conn, list, &parents, first)
                .await
                .map_err(|e| Arc::new(e.into()))?;
            let mut grouped: HashMap<Uuid, Vec<T>> = HashMap::new();
            for row in rows {
                grouped.entry(parent_of(&row)).or_default().push(row);
            }
            for key in group {
                result.insert(key.clone(), grouped.remove(&key.parent()).unwrap_or_default());
            }
        }
        Ok(result)
    }
}

/// A key that asks for the first N children of one parent.
pub trait ChildKey: Clone + Eq + Hash + Send + Sync + 'static {
    /// The parent's id.
    fn parent(&self) -> Uuid;
    /// How many children to load.
    fn first(&self) -> i64;
}

macro_rules! by_id_loader {
    ($key:ident => $row:ident) => {
        /// Loads one row by primary key.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub Uuid);

        impl Loader<$key> for DbLoader {
            type Value = $row;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $row>, LoadError> {
                let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
                let rows = $row::find_many(&mut *self.conn().await?, &ids)
                    .await
                    .map_err(|e| Arc::new(e.into()))?;
                Ok(rows.into_iter().map(|row| ($key(row.id), row)).collect())
            }
        }
    };
}

macro_rules! children_loader {
    ($key:ident { $parent:ident } => $row:ident, $list:expr) => {
        /// Loads the first `first` children of one parent.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key {
            pub $parent: Uuid,
            pub first: i64,
        }

        impl ChildKey for $key {
            fn parent(&self) -> Uuid {
                self.$parent
            }
            fn first(&self) -> i64 {
                self.first
            }
        }

        impl Loader<$key> for DbLoader {
            type Value = Vec<$row>;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Vec<$row>>, LoadError> {
                self.children(keys, $list, |row: &$row| row.$parent).await
            }
        }
    };
}

by_id_loader!(OrganizationById => OrganizationRow);
by_id_loader!(ProjectById => ProjectRow);
by_id_loader!(ChatById => ChatRow);
by_id_loader!(MessageById => MessageRow);

children_loader!(ProjectsByOrganization { organization_id } => ProjectRow, ProjectRow::BY_ORGANIZATION);
children_loader!(ChatsByProject { project_id } => ChatRow, ChatRow::BY_PROJECT);
children_loader!(MessagesByChat { chat_id } => MessageRow, MessageRow::BY_CHAT);
