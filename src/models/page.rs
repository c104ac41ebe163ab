//! Keyset pagination, for one list or for the lists of many parents at once.
//!
//! A list is ordered by a time or integer expression and the row id (unique, so the order is total
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
    sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::authz::Scope;

/// Where a row stands in its list: its sort key and its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    /// The value of the list's sort expression (microseconds since the epoch for a time).
    pub key: i64,
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
///
/// Two lists over the same rows in different orders are two `List`s (`Project.chats` by last
/// activity and by creation), each with its own name, so their cursors cannot be mixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct List {
    /// Name used in cursors, so a cursor of one list is refused by another.
    pub name: &'static str,
    /// Table of the rows.
    pub table: &'static str,
    /// Column holding the parent's id; None for a root list.
    pub parent_column: Option<&'static str>,
    /// A `uuid` expression unique among the rows of one parent (`c.id`, or the member's
    /// `c.user_id` for membership tables keyed by parent and user).
    pub id_column: &'static str,
    /// The expression to order by (ties broken by the id column).
    pub sort_key: SortKey,
    /// Newest first.
    pub descending: bool,
    /// Extra `WHERE` condition deciding what the caller may see, or `TRUE`.
    pub condition: &'static str,
}

/// What a list is ordered by: an expression of the table (alias `c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKey {
    /// A `timestamptz` expression (compared in microseconds).
    Time(&'static str),
    /// An integer expression (such as a chunk's index).
    Integer(&'static str),
}

impl SortKey {
    /// The key as a `bigint` SQL expression.
    fn sql(self) -> String {
        match self {
            SortKey::Time(expression) => format!("(extract(epoch FROM {expression}) * 1000000)::bigint"),
            SortKey::Integer(expression) => format!("({expression})::bigint"),
        }
    }
}

/// A value a client chose for a filter, bound as a query parameter (never spliced into SQL).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FilterValue {
    /// A boolean.
    Bool(bool),
    /// A string.
    Text(String),
    /// A UUID.
    Uuid(Uuid),
    /// A point in time.
    Time(DateTime<Utc>),
    /// Several strings (for `= ANY`).
    Texts(Vec<String>),
}

/// Conditions a client chose for a list, ANDed with its visibility condition: each is fixed
/// SQL written in this crate with one placeholder `$?` for its value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Filter(Vec<(&'static str, FilterValue)>);

impl Filter {
    /// No condition.
    pub fn none() -> Self {
        Filter::default()
    }

    /// Adds `sql` (with `$?` standing for the value) when the client gave a value.
    pub fn with<V>(mut self, sql: &'static str, value: Option<V>, wrap: impl FnOnce(V) -> FilterValue) -> Self {
        if let Some(value) = value {
            self.0.push((sql, wrap(value)));
        }
        self
    }

    /// The conditions as one SQL expression, numbering their parameters from `first`.
    pub fn sql(&self, first: usize) -> String {
        if self.0.is_empty() {
            return "TRUE".to_owned();
        }
        let parts: Vec<String> = self
            .0
            .iter()
            .enumerate()
            .map(|(i, (sql, _))| format!("({})", sql.replace("$?", &format!("${}", first + i))))
            .collect();
        parts.join(" AND ")
    }

    /// Binds the values in the order of [`Filter::sql`].
    pub fn bind<'a>(&self, mut query: BoxedSqlQuery<'a, Pg, SqlQuery>) -> BoxedSqlQuery<'a, Pg, SqlQuery> {
        for (_, value) in &self.0 {
            query = match value.clone() {
                FilterValue::Bool(v) => query.bind::<Bool, _>(v),
                FilterValue::Text(v) => query.bind::<Text, _>(v),
                FilterValue::Uuid(v) => query.bind::<SqlUuid, _>(v),
                FilterValue::Time(v) => query.bind::<Timestamptz, _>(v),
                FilterValue::Texts(v) => query.bind::<Array<Text>, _>(v),
            };
        }
        query
    }
}

/// One row of the list query: a parent's counts, and one of its rows unless its page is
/// empty (then the row's columns are null and only the counts matter).
struct Ranked<T> {
    row: Option<(Position, T)>,
    parent: Option<Uuid>,
    total: i64,
    until_after: i64,
    from_before: i64,
}

impl<T: QueryableByName<Pg>> QueryableByName<Pg> for Ranked<T> {
    fn build<'a>(row: &impl NamedRow<'a, Pg>) -> diesel::deserialize::Result<Self> {
        let id = NamedRow::get::<Nullable<SqlUuid>, Option<Uuid>>(row, "page_id")?;
        let row_and_position = match id {
            Some(id) => {
                let key = NamedRow::get::<BigInt, _>(row, "page_key")?;
                Some((Position { key, id }, T::build(row)?))
            }
            None => None,
        };
        Ok(Ranked {
            row: row_and_position,
            parent: NamedRow::get::<Nullable<SqlUuid>, _>(row, "summary_parent")?,
            total: NamedRow::get::<BigInt, _>(row, "page_total")?,
            until_after: NamedRow::get::<BigInt, _>(row, "page_until_after")?,
            from_before: NamedRow::get::<BigInt, _>(row, "page_from_before")?,
        })
    }
}

/// Loads one page of the list of every parent in `parents` (ignored for a root list, which
/// is returned under `Uuid::nil()`), as `scope` may see them and `filter` narrows them, in
/// one statement.
pub async fn load_pages<T>(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    list: List,
    parents: &[Uuid],
    page: PageRequest,
    filter: &Filter,
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
    let (parent_expr, parent_filter) = match list.parent_column {
        Some(column) => (format!("c.{column}"), format!("c.{column} = ANY($1)")),
        None => ("NULL::uuid".to_owned(), "TRUE".to_owned()),
    };
    // `base`: the rows the caller may see; `summary`: per parent, the list's size and how many
    // rows lie at or before `after` and at or after `before` (every parent, even one with no
    // row); `ranked`: the rows between the positions, numbered per parent in page order.
    let sql = format!(
        "WITH base AS ( \
           SELECT c.*, {sort_key} AS page_key, {parent_expr} AS page_parent, {id_column} AS page_id \
           FROM {table} c WHERE {parent_filter} AND ({condition}) AND {filter} \
         ), summary AS ( \
           SELECT p.id AS summary_parent, count(base.page_id) AS page_total, \
             count(base.page_id) FILTER (WHERE $7::bigint IS NOT NULL AND (page_key, page_id) {behind}= ($7, $8)) AS page_until_after, \
             count(base.page_id) FILTER (WHERE $9::bigint IS NOT NULL AND (page_key, page_id) {ahead}= ($9, $10)) AS page_from_before \
           FROM unnest($11::uuid[]) AS p(id) LEFT JOIN base ON base.page_parent IS NOT DISTINCT FROM p.id \
           GROUP BY p.id \
         ), ranked AS ( \
           SELECT base.*, row_number() OVER (PARTITION BY page_parent ORDER BY page_key {order}, page_id {order}) AS page_rank \
           FROM base \
           WHERE ($7::bigint IS NULL OR (page_key, page_id) {ahead} ($7, $8)) \
             AND ($9::bigint IS NULL OR (page_key, page_id) {behind} ($9, $10)) \
         ) \
         SELECT summary.*, ranked.* FROM summary \
         LEFT JOIN ranked ON ranked.page_parent IS NOT DISTINCT FROM summary.summary_parent AND ranked.page_rank <= $2 \
         ORDER BY summary.summary_parent, ranked.page_rank",
        sort_key = list.sort_key.sql(),
        id_column = list.id_column,
        filter = filter.sql(12),
        table = list.table,
        condition = list.condition,
        order = if page.from_end { backward } else { forward },
    );
    let summaries: Vec<Option<Uuid>> = match list.parent_column {
        Some(_) => parents.iter().copied().map(Some).collect(),
        None => vec![None],
    };
    let query = bind_all(diesel::sql_query(sql).into_boxed(), scope, parents, page.size + 1, page)
        .bind::<Array<Nullable<SqlUuid>>, _>(summaries);
    let rows: Vec<Ranked<T>> = filter.bind(query).load(conn).await?;
    let mut pages: Vec<(Uuid, Page<T>)> = Vec::new();
    for ranked in rows {
        let parent = ranked.parent.unwrap_or_else(Uuid::nil);
        if pages.last().is_none_or(|(last, _)| *last != parent) {
            let mut summary = Page::empty();
            summary.total = ranked.total;
            // Until the rows are counted, the flags hold what lies outside the positions.
            summary.has_previous = ranked.until_after > 0;
            summary.has_next = ranked.from_before > 0;
            pages.push((parent, summary));
        }
        if let (Some(row), Some((_, current))) = (ranked.row, pages.last_mut()) {
            current.rows.push(row);
        }
    }
    for (_, current) in &mut pages {
        let more = current.rows.len() as i64 > page.size;
        current.rows.truncate(page.size as usize);
        if page.from_end {
            current.rows.reverse();
            current.has_previous |= more;
        } else {
            current.has_next |= more;
        }
    }
    Ok(pages)
}

/// Binds the parameters of the list query: `$1` parents, `$2` row limit, `$3`..`$6` the
/// caller's scope (see [`List`]), `$7`..`$10` the positions (`$11` the summary parents and
/// `$12`.. the filter's values follow).
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
        .bind::<Nullable<BigInt>, _>(page.after.map(|p| p.key))
        .bind::<Nullable<SqlUuid>, _>(page.after.map(|p| p.id))
        .bind::<Nullable<BigInt>, _>(page.before.map(|p| p.key))
        .bind::<Nullable<SqlUuid>, _>(page.before.map(|p| p.id))
}

/// Loads the row of `list` whose id column is `id` (and, for a two-part key, whose parent is
/// `parent`), if `scope` may see it there and `filter` holds: `node(id:)` sees exactly what
/// the list shows.
pub async fn find_visible<T>(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    list: List,
    parent: Option<Uuid>,
    id: Uuid,
    filter: &Filter,
) -> QueryResult<Option<T>>
where
    T: QueryableByName<Pg> + Send + 'static,
{
    let parent_filter = match (list.parent_column, parent) {
        (Some(column), Some(_)) => format!("c.{column} = $2"),
        _ => "TRUE".to_owned(),
    };
    let sql = format!(
        "SELECT c.* FROM {table} c WHERE {id_column} = $1 AND ({parent_filter}) AND ({condition}) AND {filter} LIMIT 1",
        table = list.table,
        id_column = list.id_column,
        condition = list.condition,
        filter = filter.sql(7),
    );
    let query = diesel::sql_query(sql)
        .into_boxed()
        .bind::<SqlUuid, _>(id)
        .bind::<Nullable<SqlUuid>, _>(parent)
        .bind::<Bool, _>(scope.is_admin())
        .bind::<Array<SqlUuid>, _>(scope.project_ids().to_vec())
        .bind::<Nullable<SqlUuid>, _>(scope.user_id())
        .bind::<Array<SqlUuid>, _>(scope.organization_ids().to_vec());
    let mut rows: Vec<T> = filter.bind(query).load(conn).await?;
    Ok(rows.pop())
}
