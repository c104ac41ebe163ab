//! Keyset pagination, for one list or for the lists of many parents at once.
//!
//! A list is ordered by a timestamp expression and the row id (unique, so the order is total
//! and stable). A page starts after a position and/or ends before one, and holds the first or
//! the last `size` rows between them. One SQL statement serves a whole batch of parents: a
//! window partitioned by parent counts each list (for `totalCount` and the page flags) and
//! numbers the rows between the positions, and only the first `size` + 1 of each parent come
//! back. Never OFFSET, so deep pages cost what the first one costs.

use chrono::{DateTime, Utc};
use diesel::{
    QueryResult, QueryableByName,
    pg::Pg,
    query_builder::{BoxedSqlQuery, SqlQuery},
    row::NamedRow,
    sql_types::{Array, BigInt, Bool, Nullable, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::authz::Scope;

/// Where a row stands in its list: its sort key and its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    /// The value of the list's sort expression.
    pub key: DateTime<Utc>,
    /// The row's id (breaks ties).
    pub id: Uuid,
}

/// Which page of a list to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    /// How many rows at most.
    pub size: i64,
    /// Take the last `size` rows between the positions instead of the first.
    pub from_end: bool,
    /// Only rows after this position.
    pub after: Option<Position>,
    /// Only rows before this position.
    pub before: Option<Position>,
}

/// One page of a list, in list order.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows with their positions.
    pub rows: Vec<(Position, T)>,
    /// How many rows the whole list holds.
    pub total: i64,
    /// Whether rows come before this page.
    pub has_previous: bool,
    /// Whether rows come after this page.
    pub has_next: bool,
}

impl<T> Page<T> {
    /// A page of a list with no rows.
    pub fn empty() -> Self {
        Page {
            rows: Vec::new(),
            total: 0,
            has_previous: false,
            has_next: false,
        }
    }
}

/// A paginated list: which table, which column points at the parent (none for a root list),
/// the sort expression and direction, and the visibility condition. All parts are fixed SQL
/// written in this crate, never client input. Conditions may use `$3` (the caller is a
/// platform admin), `$4` (the projects the caller sees), `$5` (the caller's user id, null if
/// anonymous) and `$6` (the organizations the caller sees); the table's alias is `c`.
#[derive(Debug, Clone, Copy)]
pub struct List {
    /// Name used in cursors, so a cursor of one list is refused by another.
    pub name: &'static str,
    /// Table of the rows.
    pub table: &'static str,
    /// Column holding the parent's id; None for a root list.
    pub parent_column: Option<&'static str>,
    /// A `timestamptz` expression to order by (ties broken by id).
    pub sort_key: &'static str,
    /// Newest first.
    pub descending: bool,
    /// Extra `WHERE` condition deciding what the caller may see, or `TRUE`.
    pub condition: &'static str,
}

/// A row of `T` with the paging columns the list query adds.
struct Ranked<T> {
    row: T,
    page_key: DateTime<Utc>,
    page_parent: Option<Uuid>,
    page_id: Uuid,
    page_total: i64,
    page_until_after: i64,
    page_from_before: i64,
}

impl<T: QueryableByName<Pg>> QueryableByName<Pg> for Ranked<T> {
    fn build<'a>(row: &impl NamedRow<'a, Pg>) -> diesel::deserialize::Result<Self> {
        Ok(Ranked {
            row: T::build(row)?,
            page_key: NamedRow::get::<Timestamptz, _>(row, "page_key")?,
            page_parent: NamedRow::get::<Nullable<SqlUuid>, _>(row, "page_parent")?,
            page_id: NamedRow::get::<SqlUuid, _>(row, "page_id")?,
            page_total: NamedRow::get::<BigInt, _>(row, "page_total")?,
            page_until_after: NamedRow::get::<BigInt, _>(row, "page_until_after")?,
            page_from_before: NamedRow::get::<BigInt, _>(row, "page_from_before")?,
        })
    }
}

/// Loads one page of the list of every parent in `parents` (ignored for a root list, which
/// is returned under `Uuid::nil()`), as `scope` may see them, in one statement.
pub async fn load_pages<T>(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    list: List,
    parents: &[Uuid],
    page: PageRequest,
) -> QueryResult<Vec<(Uuid, Page<T>)>>
where
    T: QueryableByName<Pg> + Send + 'static,
{
    let (ahead, behind) = if list.descending { ("<", ">") } else { (">", "<") };
    let (forward, backward) = if list.descending {
        ("DESC", "ASC")
    } else {
        ("ASC", "DESC")
    };
    let sql = format!(
        "{base}, counted AS ( \
           SELECT base.*, {counts} FROM base WINDOW w AS (PARTITION BY page_parent) \
         ), ranked AS ( \
           SELECT counted.*, row_number() OVER (PARTITION BY page_parent ORDER BY page_key {order}, page_id {order}) AS page_rank \
           FROM counted \
           WHERE ($7::timestamptz IS NULL OR (page_key, page_id) {ahead} ($7, $8)) \
             AND ($9::timestamptz IS NULL OR (page_key, page_id) {behind} ($9, $10)) \
         ) \
         SELECT * FROM ranked WHERE page_rank <= $2 ORDER BY page_parent, page_rank",
        base = base_cte(list),
        counts = counts(list, " OVER w"),
        order = if page.from_end { backward } else { forward },
    );
    let rows: Vec<Ranked<T>> = bind_all(diesel::sql_query(sql).into_boxed(), scope, parents, page.size + 1, page)
        .load(conn)
        .await?;
    let mut pages: Vec<(Uuid, Page<T>)> = Vec::new();
    let mut counts: Vec<(i64, i64, i64)> = Vec::new();
    for ranked in rows {
        let parent = ranked.page_parent.unwrap_or_else(Uuid::nil);
        if pages.last().is_none_or(|(last, _)| *last != parent) {
            pages.push((parent, Page::empty()));
            counts.push((ranked.page_total, ranked.page_until_after, ranked.page_from_before));
        }
        let position = Position {
            key: ranked.page_key,
            id: ranked.page_id,
        };
        if let Some((_, current)) = pages.last_mut() {
            current.rows.push((position, ranked.row));
        }
    }
    // Parents with no row between the positions still have a list: count it on its own (one
    // more statement, only when a page comes back empty).
    let wanted: Vec<Uuid> = if list.parent_column.is_some() {
        parents.to_vec()
    } else {
        vec![Uuid::nil()]
    };
    let empty: Vec<Uuid> = wanted
        .iter()
        .filter(|p| !pages.iter().any(|(parent, _)| parent == *p))
        .copied()
        .collect();
    if !empty.is_empty() {
        for counted in count_lists(conn, scope, list, &empty, page).await? {
            pages.push((counted.page_parent.unwrap_or_else(Uuid::nil), Page::empty()));
            counts.push((counted.page_total, counted.page_until_after, counted.page_from_before));
        }
    }
    for ((_, current), (total, until_after, from_before)) in pages.iter_mut().zip(counts) {
        let more = current.rows.len() as i64 > page.size;
        current.rows.truncate(page.size as usize);
        if page.from_end {
            current.rows.reverse();
        }
        current.total = total;
        current.has_previous = if page.from_end {
            more || until_after > 0
        } else {
            until_after > 0
        };
        current.has_next = if page.from_end {
            from_before > 0
        } else {
            more || from_before > 0
        };
    }
    Ok(pages)
}

/// The rows the caller may see with their sort key, parent and id (`base`).
fn base_cte(list: List) -> String {
    let (parent_expr, parent_filter) = match list.parent_column {
        Some(column) => (format!("c.{column}"), format!("c.{column} = ANY($1)")),
        None => ("NULL::uuid".to_owned(), "cardinality($1) >= 0".to_owned()),
    };
    format!(
        "WITH base AS ( \
           SELECT c.*, {sort_key} AS page_key, {parent_expr} AS page_parent, c.id AS page_id \
           FROM {table} c WHERE {parent_filter} AND ({condition}) \
         )",
        sort_key = list.sort_key,
        table = list.table,
        condition = list.condition,
    )
}

/// The list's size and how many rows lie at or before `after` and at or after `before`, as
/// aggregates (`window` empty) or window functions (`window` = " OVER w").
fn counts(list: List, window: &str) -> String {
    let (ahead, behind) = if list.descending { ("<", ">") } else { (">", "<") };
    format!(
        "count(*){window} AS page_total, \
         count(*) FILTER (WHERE $7::timestamptz IS NOT NULL AND (page_key, page_id) {behind}= ($7, $8)){window} AS page_until_after, \
         count(*) FILTER (WHERE $9::timestamptz IS NOT NULL AND (page_key, page_id) {ahead}= ($9, $10)){window} AS page_from_before"
    )
}

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    page_parent: Option<Uuid>,
    #[diesel(sql_type = BigInt)]
    page_total: i64,
    #[diesel(sql_type = BigInt)]
    page_until_after: i64,
    #[diesel(sql_type = BigInt)]
    page_from_before: i64,
}

/// Counts the lists of `parents` (for pages that came back empty). Parents with no visible
/// row at all come back with zeros.
async fn count_lists(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    list: List,
    parents: &[Uuid],
    page: PageRequest,
) -> QueryResult<Vec<Counted>> {
    let parent_ids = if list.parent_column.is_some() {
        parents.to_vec()
    } else {
        Vec::new()
    };
    let sql = format!(
        "{base} SELECT p.id AS page_parent, {counts} \
         FROM unnest($11::uuid[]) AS p(id) LEFT JOIN base ON base.page_parent IS NOT DISTINCT FROM p.id \
         GROUP BY p.id",
        base = base_cte(list),
        counts = counts(list, "").replace("count(*)", "count(base.page_id)"),
    );
    let roots: Vec<Option<Uuid>> = if list.parent_column.is_some() {
        parents.iter().copied().map(Some).collect()
    } else {
        vec![None]
    };
    bind_all(diesel::sql_query(sql).into_boxed(), scope, &parent_ids, 0, page)
        .bind::<Array<Nullable<SqlUuid>>, _>(roots)
        .load(conn)
        .await
}

/// Binds the parameters every list query uses: `$1` parents, `$2` row limit, `$3`..`$6` the
/// caller's scope (see [`List`]), `$7`..`$10` the positions.
fn bind_all<'a>(
    query: BoxedSqlQuery<'a, Pg, SqlQuery>,
    scope: &Scope,
    parents: &[Uuid],
    limit: i64,
    page: PageRequest,
) -> BoxedSqlQuery<'a, Pg, SqlQuery> {
    query
        .bind::<Array<SqlUuid>, _>(parents.to_vec())
        .bind::<BigInt, _>(limit)
        .bind::<Bool, _>(scope.is_admin())
        .bind::<Array<SqlUuid>, _>(scope.project_ids().to_vec())
        .bind::<Nullable<SqlUuid>, _>(scope.user_id())
        .bind::<Array<SqlUuid>, _>(scope.organization_ids().to_vec())
        .bind::<Nullable<Timestamptz>, _>(page.after.map(|p| p.key))
        .bind::<Nullable<SqlUuid>, _>(page.after.map(|p| p.id))
        .bind::<Nullable<Timestamptz>, _>(page.before.map(|p| p.key))
        .bind::<Nullable<SqlUuid>, _>(page.before.map(|p| p.id))
}
