//! Relay connections: `first`/`after`/`last`/`before` arguments, opaque cursors, `edges`,
//! `nodes`, `pageInfo` and `totalCount`, over the keyset pages of `models::page`.
//!
//! A cursor encodes the list it belongs to and a position (sort key and id), so a cursor of
//! one list is refused by another, and a page after a cursor is a keyset query, never OFFSET.

use async_graphql::{Object, connection::PageInfo};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::{
    analytics_event::AnalyticsEvent,
    artifact::{Artifact, ArtifactSuggestion},
    assistant::Assistant,
    audit_log::AuditLog,
    chat::Chat,
    datasource::Datasource,
    document::{Document, DocumentChunk},
    file::File,
    invitation::OrganizationInvitation,
    job::Job,
    loaders::Children,
    member::{OrganizationMember, ProjectMember},
    message::{Message, MessageFeedback},
    node::{DEFAULT_PAGE_SIZE, checked_size},
    organization::Organization,
    project::Project,
    repository::Repository,
    usage::UsageEvent,
    webhook::WebhookSubscription,
};
use crate::{
    error::{AppError, AppResult},
    models::page::{Count, Filter, List, Page, PageRequest, Position},
};

/// A connection type: a page of `Node`s with their cursors, the page's flags and the list's
/// size. One concrete GraphQL type per node type (`ChatConnection`, `ChatEdge`), so that
/// every type in `schema.graphql` carries a description.
pub trait RelayConnection: Sized {
    /// The type of the listed objects.
    type Node;
    /// The connection of these edges (cursor and node, in list order).
    fn assemble(edges: Vec<(String, Self::Node)>, page_info: PageInfo, total_count: i64) -> Self;
}

macro_rules! connection_types {
    ($($node:ident => $connection:ident, $edge:ident;)+) => {$(
        /// A page of a list (a Relay connection): its items with their cursors, where the page
        /// stands in the list, and how many items the whole list holds.
        pub struct $connection {
            edges: Vec<$edge>,
            page_info: PageInfo,
            total_count: i64,
        }

        /// A page of a list (a Relay connection): its items with their cursors, where the page
        /// stands in the list, and how many items the whole list holds.
        #[Object]
        impl $connection {
            /// The items of this page with their cursors.
            async fn edges(&self) -> &[$edge] {
                &self.edges
            }

            /// The items of this page.
            async fn nodes(&self) -> Vec<&$node> {
                self.edges.iter().map(|edge| &edge.node).collect()
            }

            /// Where this page stands in the list, and the cursors of its ends.
            async fn page_info(&self) -> &PageInfo {
                &self.page_info
            }

            /// How many items the whole list holds, whatever the page. Exact by default, at
            /// a cost that grows with the list's length; with `atMost`, counting stops there
            /// (a result equal to `atMost` means at least that many), at the cost of that many.
            async fn total_count(
                &self,
                ctx: &async_graphql::Context<'_>,
                #[graphql(desc = "Count no further than this (1 or more).")] at_most: Option<i32>,
            ) -> async_graphql::Result<i64> {
                use super::context::ContextExt;
                match at_most {
                    Some(cap) if cap < 1 => Err(ctx.error(AppError::BadUserInput("atMost must be 1 or more".into()))),
                    Some(cap) => Ok(self.total_count.min(i64::from(cap))),
                    None => Ok(self.total_count),
                }
            }
        }

        /// An item of a list and its cursor.
        pub struct $edge {
            cursor: String,
            node: $node,
        }

        /// An item of a list and its cursor.
        #[Object]
        impl $edge {
            /// Opaque position of this item, for `after` and `before`.
            async fn cursor(&self) -> &str {
                &self.cursor
            }

            /// The item.
            async fn node(&self) -> &$node {
                &self.node
            }
        }

        impl RelayConnection for $connection {
            type Node = $node;

            fn assemble(edges: Vec<(String, $node)>, page_info: PageInfo, total_count: i64) -> Self {
                $connection {
                    edges: edges.into_iter().map(|(cursor, node)| $edge { cursor, node }).collect(),
                    page_info,
                    total_count,
                }
            }
        }
    )+};
}

connection_types! {
    AnalyticsEvent => AnalyticsEventConnection, AnalyticsEventEdge;
    Artifact => ArtifactConnection, ArtifactEdge;
    ArtifactSuggestion => ArtifactSuggestionConnection, ArtifactSuggestionEdge;
    Assistant => AssistantConnection, AssistantEdge;
    AuditLog => AuditLogConnection, AuditLogEdge;
    Chat => ChatConnection, ChatEdge;
    Datasource => DatasourceConnection, DatasourceEdge;
    Document => DocumentConnection, DocumentEdge;
    DocumentChunk => DocumentChunkConnection, DocumentChunkEdge;
    File => FileConnection, FileEdge;
    Job => JobConnection, JobEdge;
    Message => MessageConnection, MessageEdge;
    MessageFeedback => MessageFeedbackConnection, MessageFeedbackEdge;
    Organization => OrganizationConnection, OrganizationEdge;
    OrganizationInvitation => OrganizationInvitationConnection, OrganizationInvitationEdge;
    OrganizationMember => OrganizationMemberConnection, OrganizationMemberEdge;
    Project => ProjectConnection, ProjectEdge;
    ProjectMember => ProjectMemberConnection, ProjectMemberEdge;
    Repository => RepositoryConnection, RepositoryEdge;
    UsageEvent => UsageEventConnection, UsageEventEdge;
    WebhookSubscription => WebhookSubscriptionConnection, WebhookSubscriptionEdge;
}

/// The page that Relay's arguments ask for: the first `first` (default 20) after `after`, or
/// the last `last` before `before`, with its count and flags. Sizes run from 1 to 100; asking for both `first` and
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
        count: Count::Exact,
        probe: true,
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
pub fn connection<T, C: RelayConnection>(list: &List, page: Page<T>, wrap: impl Fn(T) -> C::Node) -> C {
    let edges: Vec<(String, C::Node)> = page
        .rows
        .into_iter()
        .map(|(position, row)| (encode_cursor(list, position), wrap(row)))
        .collect();
    let page_info = PageInfo {
        has_previous_page: page.has_previous,
        has_next_page: page.has_next,
        start_cursor: edges.first().map(|(cursor, _)| cursor.clone()),
        end_cursor: edges.last().map(|(cursor, _)| cursor.clone()),
    };
    C::assemble(edges, page_info, page.total)
}

/// How far to count for the `totalCount` selections of a connection: not at all when none,
/// exactly when one asks for an exact count, else up to the largest `atMost`.
fn count_for(selections: &async_graphql::Lookahead<'_>) -> Count {
    let mut count = Count::No;
    for field in selections.selection_fields() {
        let cap = field.arguments().ok().and_then(|arguments| {
            arguments
                .into_iter()
                .find(|(name, _)| name.as_str() == "atMost")
                .and_then(|(_, value)| match value {
                    async_graphql::Value::Number(n) => n.as_i64(),
                    _ => None,
                })
        });
        count = match (count, cap) {
            (Count::Exact, _) | (_, None) => Count::Exact,
            (Count::AtMost(a), Some(b)) => Count::AtMost(a.max(b.max(1))),
            (Count::No, Some(b)) => Count::AtMost(b.max(1)),
        };
    }
    count
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
pub async fn load_connection<T, C>(
    ctx: &async_graphql::Context<'_>,
    list: List,
    parent: uuid::Uuid,
    args: PageArgs,
    filter: Filter,
    wrap: impl Fn(T) -> C::Node,
) -> async_graphql::Result<C>
where
    T: diesel::QueryableByName<diesel::pg::Pg> + Clone + Send + Sync + 'static,
    C: RelayConnection,
{
    use super::context::ContextExt;
    let mut page = page_request(
        &list,
        args.first,
        args.after.as_deref(),
        args.last,
        args.before.as_deref(),
    )
    .map_err(|e| ctx.error(e))?;
    // What costs more than the page itself is done only when the query asks for it.
    let selection = ctx.look_ahead();
    page.count = count_for(&selection.field("totalCount"));
    page.probe = selection.field("pageInfo").exists();
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
