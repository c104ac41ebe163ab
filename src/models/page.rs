//! Keyset pagination, for one list or for the lists of many parents at once.
//!
//! A list is ordered by a time or integer expression and the row id (unique, so the order is total
//! and stable). A page starts after a position and/or ends before one, and holds the first or
//! the last `size` rows between them. One SQL statement serves a whole batch of parents, and
//! each parent's page in it is an index range scan of `size + 1` rows: never OFFSET, never a
//! window over the whole list, so the first, the sixth and the last page of a list of 200,000
//! rows cost what a page of a list of 20 costs. Counting a list (`totalCount`) is the one
//! cost that grows with its length, and it is paid only when asked for.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    QueryResult, QueryableByName,
    pg::Pg,
    row::NamedRow,
    sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::{
    auth::authz::Scope,
    db::cached::{CachedSql, cached},
};

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
    /// Whether and how far to count the list (`totalCount` was asked for).
    pub count: Count,
    /// Find out whether rows lie beyond the cursors (`pageInfo` was asked for).
    pub probe: bool,
}

/// How far a page request counts its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Count {
    /// Not at all.
    No,
    /// Every row (the cost grows with the list's length).
    Exact,
    /// Up to this many rows (the cost of that many, whatever the list's length).
    AtMost(i64),
}

/// One page of a list, in list order.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows with their positions.
    pub rows: Vec<(Position, T)>,
    /// How many rows the whole list holds (0 unless the page request asked to count).
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
/// written in this crate, never client input. Conditions may use the caller's parameters
/// `$3`..`$5` (see `auth::authz`); the table's alias is `c`.
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

/// What a list is ordered by: a column of the table (alias `c`), which an index of the
/// table holds after the parent column and before the id column, so that pages are index
/// range scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKey {
    /// A `timestamptz` column (a cursor holds it in microseconds).
    Time(&'static str),
    /// An integer column (such as a chunk's index).
    Integer(&'static str),
}

impl SortKey {
    /// The column.
    fn column(self) -> &'static str {
        match self {
            SortKey::Time(column) | SortKey::Integer(column) => column,
        }
    }

    /// The key as a `bigint` SQL expression (exact: `extract` gives a numeric).
    fn as_bigint(self) -> String {
        match self {
            SortKey::Time(column) => format!("(extract(epoch FROM {column}) * 1000000)::bigint"),
            SortKey::Integer(column) => format!("{column}::bigint"),
        }
    }

    /// The column's value for a `bigint` key given as `parameter` (an expression of
    /// parameters only, so the comparison stays an index condition).
    fn column_value(self, parameter: &str) -> String {
        match self {
            SortKey::Time(_) => format!("('epoch'::timestamptz + {parameter}::float8 * interval '1 microsecond')"),
            SortKey::Integer(_) => format!("{parameter}::bigint"),
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
    pub(in crate::models) fn with<V>(
        mut self,
        sql: &'static str,
        value: Option<V>,
        wrap: impl FnOnce(V) -> FilterValue,
    ) -> Self {
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
    pub fn bind<'a>(&self, mut query: CachedSql<'a>) -> CachedSql<'a> {
        for (_, value) in &self.0 {
            query = match value.clone() {
                FilterValue::Bool(v) => query.bind::<Bool, _>(v),
                FilterValue::Text(v) => query.bind::<Text, _>(v),
                FilterValue::Uuid(v) => query.bind::<SqlUuid, _>(v),
                FilterValue::Time(v) => query.bind::<Timestamptz, _>(storable(v)),
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
    parent: Uuid,
    total: Option<i64>,
    before_after: bool,
    after_before: bool,
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
            parent: NamedRow::get::<SqlUuid, _>(row, "page_parent")?,
            total: NamedRow::get::<Nullable<BigInt>, _>(row, "page_total")?,
            before_after: NamedRow::get::<Bool, _>(row, "page_before_after")?,
            after_before: NamedRow::get::<Bool, _>(row, "page_after_before")?,
        })
    }
}

/// Loads one page of the list of every parent in `parents` (ignored for a root list, which
/// is returned under `Uuid::nil()`), as `scope` may see them and `filter` narrows them, in
/// one statement.
///
/// Each parent's page is an index range scan of `size + 1` rows (`LATERAL … ORDER BY key, id
/// LIMIT`), so a page costs what a page costs whatever the list's length, forwards and
/// backwards. The list's size is counted only when `page.count` asks for it (up to a cap if
/// it gives one), and whether rows
/// lie beyond the cursors is probed (one index lookup each) only when `page.probe` does. The
/// statement's text depends only on the list, the page's shape and the filter's fields, so it
/// is prepared once per connection.
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
    let order = if page.from_end { backward } else { forward };
    // The parent column equals the parent's id, so the condition is written on the parent
    // where it names that column: PostgreSQL then checks the parent's part of it (such as
    // whether the caller sees the project) once per parent instead of once per row.
    let rows_of = |parent: &str| {
        let (parent_filter, condition) = match list.parent_column {
            Some(column) => (
                format!("c.{column} = {parent}"),
                on_parent(list.condition, &format!("c.{column}"), parent),
            ),
            None => ("TRUE".to_owned(), list.condition.to_owned()),
        };
        format!(
            "FROM {table} c WHERE {parent_filter} AND ({condition}) AND {filter}",
            table = list.table,
            filter = filter.sql(11),
        )
    };
    let position = |key: usize| list.sort_key.column_value(&format!("${key}"));
    let (sort_column, id_column) = (list.sort_key.column(), list.id_column);
    let after = format!("({sort_column}, {id_column}) {{}} ({}, $7)", position(6));
    let before = format!("({sort_column}, {id_column}) {{}} ({}, $9)", position(8));
    let mut bounds = String::new();
    if page.after.is_some() {
        bounds += &format!(" AND {}", after.replace("{}", ahead));
    }
    if page.before.is_some() {
        bounds += &format!(" AND {}", before.replace("{}", behind));
    }
    let probe = |bound: &str, wanted: bool| {
        if wanted && page.probe {
            format!("EXISTS (SELECT 1 {} AND {bound})", rows_of("u.id"))
        } else {
            "FALSE".to_owned()
        }
    };
    // `p`: each parent with what the page needs besides its rows (the `OFFSET 0` keeps these
    // sub-queries once per parent rather than once per row); `page`: the rows between the
    // positions, in page order, one more than the page holds.
    let sql = format!(
        "SELECT p.id AS page_parent, p.total AS page_total, p.before_after AS page_before_after, \
           p.after_before AS page_after_before, page.* \
         FROM (SELECT u.id, u.ord, {total} AS total, {before_after} AS before_after, {after_before} AS after_before \
               FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, ord) OFFSET 0) p \
         LEFT JOIN LATERAL ( \
           SELECT c.*, {key} AS page_key, {id_column} AS page_id {rows}{bounds} \
           ORDER BY {sort_column} {order}, {id_column} {order} LIMIT $2 \
         ) page ON TRUE \
         ORDER BY p.ord, page.page_key {order}, page.page_id {order}",
        total = match page.count {
            Count::No => "NULL::bigint".to_owned(),
            Count::Exact => format!("(SELECT count(*) {})", rows_of("u.id")),
            Count::AtMost(_) => format!("(SELECT count(*) FROM (SELECT 1 {} LIMIT $10) capped)", rows_of("u.id")),
        },
        before_after = probe(&after.replace("{}", &format!("{behind}=")), page.after.is_some()),
        after_before = probe(&before.replace("{}", &format!("{ahead}=")), page.before.is_some()),
        key = list.sort_key.as_bigint(),
        rows = rows_of("p.id"),
    );
    let parents = match list.parent_column {
        Some(_) => parents.to_vec(),
        None => vec![Uuid::nil()],
    };
    let query = cached(sql)
        .bind::<Array<SqlUuid>, _>(parents)
        .bind::<BigInt, _>(page.size + 1);
    // A cursor is the client's to forge: its time is kept inside what PostgreSQL stores.
    let key = |position: Position| match list.sort_key {
        SortKey::Time(_) => storable_micros(position.key),
        SortKey::Integer(_) => position.key,
    };
    let query = scope
        .bind(query)
        .bind::<Nullable<BigInt>, _>(page.after.map(key))
        .bind::<Nullable<SqlUuid>, _>(page.after.map(|p| p.id))
        .bind::<Nullable<BigInt>, _>(page.before.map(key))
        .bind::<Nullable<SqlUuid>, _>(page.before.map(|p| p.id))
        .bind::<Nullable<BigInt>, _>(match page.count {
            Count::AtMost(cap) => Some(cap),
            _ => None,
        });
    let rows: Vec<Ranked<T>> = filter.bind(query).load(conn).await?;
    let mut pages: Vec<(Uuid, Page<T>)> = Vec::new();
    for ranked in rows {
        if pages.last().is_none_or(|(last, _)| *last != ranked.parent) {
            let mut summary = Page::empty();
            summary.total = ranked.total.unwrap_or_default();
            // Until the rows are counted, the flags hold what lies outside the positions.
            summary.has_previous = ranked.before_after;
            summary.has_next = ranked.after_before;
            pages.push((ranked.parent, summary));
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

/// `condition` with the whole-word occurrences of `column` replaced by `parent`.
fn on_parent(condition: &str, column: &str, parent: &str) -> String {
    let mut out = String::with_capacity(condition.len());
    let mut rest = condition;
    while let Some(at) = rest.find(column) {
        let end = at + column.len();
        let whole = !rest[end..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
            && !rest[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.');
        out.push_str(&rest[..at]);
        out.push_str(if whole { parent } else { column });
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Loads the rows of `table` (alias `c`) whose `id` is one of `ids` and for which `condition`
/// (on the caller's parameters `$3`..`$5`) holds, in one statement.
pub async fn find_many_visible<T>(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    by_id: &super::lists::ById,
    ids: &[Uuid],
) -> QueryResult<Vec<T>>
where
    T: QueryableByName<Pg> + Send + 'static,
{
    let sql = format!(
        "SELECT c.* FROM {} c WHERE c.id = ANY($1) AND ({})",
        by_id.table, by_id.visible
    );
    // `$2` is not used: the caller's parameters are `$3`..`$5` in every read statement.
    let query = cached(sql)
        .bind::<Array<SqlUuid>, _>(ids.to_vec())
        .bind::<Nullable<Bool>, _>(None::<bool>);
    scope.bind(query).load(conn).await
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
        filter = filter.sql(6),
    );
    let query = scope.bind(cached(sql).bind::<SqlUuid, _>(id).bind::<Nullable<SqlUuid>, _>(parent));
    let mut rows: Vec<T> = filter.bind(query).load(conn).await?;
    Ok(rows.pop())
}

/// The earliest time PostgreSQL's `timestamptz` holds, rounded up to a whole year (4713 BC).
fn earliest_storable() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(-4712, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// `time`, moved into the range PostgreSQL stores (it holds years up to 294276, past what
/// chrono represents, so only the lower end moves). A bound before every stored row selects
/// the same rows as the earliest storable time, so filters and cursors keep their meaning
/// instead of failing as an internal error.
pub fn storable(time: DateTime<Utc>) -> DateTime<Utc> {
    time.max(earliest_storable())
}

/// [`storable`] for a time in microseconds since the epoch (as cursors hold it).
fn storable_micros(micros: i64) -> i64 {
    micros.max(earliest_storable().timestamp_micros())
}
