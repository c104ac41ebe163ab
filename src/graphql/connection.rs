//! Relay connections: `first`/`after`/`last`/`before` arguments, opaque cursors, `edges`,
//! `nodes`, `pageInfo` and `totalCount`, over the keyset pages of `models::page`.
//!
//! A cursor encodes the list it belongs to and a position (sort key and id), so a cursor of
//! one list is refused by another, and a page after a cursor is a keyset query, never OFFSET.

use async_graphql::{
    OutputType, SimpleObject,
    connection::{Connection, Edge},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::{
    loaders::Children,
    node::{DEFAULT_PAGE_SIZE, checked_size},
};
use crate::{
    error::{AppError, AppResult},
    models::page::{Filter, List, Page, PageRequest, Position},
};

/// What every connection adds to Relay's fields.
#[derive(SimpleObject)]
pub struct ListInfo {
    /// How many items the whole list holds, whatever the page.
    pub total_count: i64,
}

/// A Relay connection of `N` (named `<N>Connection`, its edges `<N>Edge`).
pub type RelayConnection<N> = Connection<String, N, ListInfo>;

/// The page that Relay's arguments ask for: the first `first` (default 20) after `after`, or
/// the last `last` before `before`. Sizes run from 1 to 100; asking for both `first` and
/// `last`, or for a cursor of another list, is BAD_USER_INPUT.
pub fn page_request(
    list: &List,
    first: Option<i32>,
    after: Option<&str>,
    last: Option<i32>,
    before: Option<&str>,
) -> AppResult<PageRequest> {
    let (size, from_end) = match (first, last) {
        (Some(_), Some(_)) => {
            return Err(AppError::BadUserInput("pass first or last, not both".into()));
        }
        (Some(n), None) => (checked_size("first", n)?, false),
        (None, Some(n)) => (checked_size("last", n)?, true),
        (None, None) => (i64::from(DEFAULT_PAGE_SIZE), false),
    };
    Ok(PageRequest {
        size,
        from_end,
        after: after.map(|c| decode_cursor(list, "after", c)).transpose()?,
        before: before.map(|c| decode_cursor(list, "before", c)).transpose()?,
    })
}

/// The opaque cursor of `position` in `list`.
pub fn encode_cursor(list: &List, position: Position) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}|{}", list.name, position.key, position.id))
}

/// The position a cursor of `list` stands for; anything else is BAD_USER_INPUT.
pub fn decode_cursor(list: &List, argument: &str, cursor: &str) -> AppResult<Position> {
    let invalid = || AppError::BadUserInput(format!("{argument} is not a cursor of {}", list.name));
    let bytes = URL_SAFE_NO_PAD.decode(cursor.as_bytes()).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.split('|');
    let (Some(name), Some(key), Some(id), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(invalid());
    };
    if name != list.name {
        return Err(invalid());
    }
    let key = key.parse::<i64>().map_err(|_| invalid())?;
    let id = uuid::Uuid::parse_str(id).map_err(|_| invalid())?;
    Ok(Position { key, id })
}

/// A connection of a loaded page, each row wrapped into its GraphQL type.
pub fn connection<T, N: OutputType>(list: &List, page: Page<T>, wrap: impl Fn(T) -> N) -> RelayConnection<N> {
    let mut connection = Connection::with_additional_fields(
        page.has_previous,
        page.has_next,
        ListInfo {
            total_count: page.total,
        },
    );
    connection.edges.extend(
        page.rows
            .into_iter()
            .map(|(position, row)| Edge::new(encode_cursor(list, position), wrap(row))),
    );
    connection
}

/// Relay's four arguments, as a field received them.
#[derive(Debug, Default)]
pub struct PageArgs {
    /// Items from the start of the page.
    pub first: Option<i32>,
    /// Items after this cursor.
    pub after: Option<String>,
    /// Items from the end of the page.
    pub last: Option<i32>,
    /// Items before this cursor.
    pub before: Option<String>,
}

impl PageArgs {
    /// The arguments of a connection field.
    pub fn new(first: Option<i32>, after: Option<String>, last: Option<i32>, before: Option<String>) -> Self {
        PageArgs {
            first,
            after,
            last,
            before,
        }
    }
}

/// Resolves a nested connection through the request's DataLoader: the pages of all parents
/// of a level (same list, page and filter) load in one statement.
pub async fn load_connection<T, N>(
    ctx: &async_graphql::Context<'_>,
    list: List,
    parent: uuid::Uuid,
    args: PageArgs,
    filter: Filter,
    wrap: impl Fn(T) -> N,
) -> async_graphql::Result<RelayConnection<N>>
where
    T: diesel::QueryableByName<diesel::pg::Pg> + Clone + Send + Sync + 'static,
    N: OutputType,
{
    use super::context::ContextExt;
    let page = page_request(
        &list,
        args.first,
        args.after.as_deref(),
        args.last,
        args.before.as_deref(),
    )
    .map_err(|e| ctx.error(e))?;
    let loaded = ctx
        .loader()
        .load_one(Children::<T>::new(list, parent, page, filter))
        .await
        .map_err(|e| ctx.error(e))?;
    Ok(connection(&list, loaded.unwrap_or_else(Page::empty), wrap))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::lists;

    #[test]
    fn cursors_round_trip_and_belong_to_their_list() {
        let list = lists::PROJECT_CHATS;
        let position = Position {
            key: 1_763_800_000_123_456,
            id: uuid::Uuid::now_v7(),
        };
        let cursor = encode_cursor(&list, position);
        assert_eq!(decode_cursor(&list, "after", &cursor).expect("decode"), position);
        let other = crate::models::lists::CHAT_MESSAGES;
        assert!(
            decode_cursor(&other, "after", &cursor).is_err(),
            "another list's cursor"
        );
        assert!(decode_cursor(&list, "after", "garbage!").is_err());
        assert!(page_request(&list, Some(1), None, Some(1), None).is_err());
        assert!(page_request(&list, Some(101), None, None, None).is_err());
        assert!(page_request(&list, None, None, Some(0), None).is_err());
        let page = page_request(&list, None, None, Some(5), Some(&cursor)).expect("page");
        assert_eq!((page.size, page.from_end, page.before), (5, true, Some(position)));
    }
}
