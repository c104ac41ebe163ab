//! Relay object identification: opaque global ids that encode a type name and a key, the
//! `Node` interface, and page-size checks shared by list fields.

use async_graphql::{Context, ID, Interface};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use super::{
    analytics_event::AnalyticsEvent,
    api_token::ApiToken,
    artifact::{Artifact, ArtifactSuggestion},
    assistant::Assistant,
    audit_log::AuditLog,
    chat::Chat,
    context::ContextExt,
    credential::Credential,
    datasource::Datasource,
    document::{Document, DocumentChunk},
    file::{File, FileAttachment},
    invitation::OrganizationInvitation,
    job::Job,
    loaders::{
        ChatById, FileById, MessageById, OrganizationById, ProjectById, QuotaByProject, RoleById, SettingsByProject,
        load,
    },
    member::{OrganizationMember, Permission, ProjectMember, Role},
    message::{Message, MessageFeedback, MessageStream},
    organization::Organization,
    platform::PlatformConfig,
    project::Project,
    repository::Repository,
    settings::{ProjectQuota, ProjectSettings},
    usage::UsageEvent,
    user::{Session, User},
    webhook::WebhookSubscription,
};
use crate::{
    auth::grant::{self, Permission as Right, Place},
    error::{AppError, AppResult},
    models::{
        api_token::ApiTokenRow,
        credential::CredentialRow,
        file::FileAttachmentRow,
        filters::VersionAt,
        lists,
        message::MessageStreamRow,
        page::{Filter, find_visible},
        platform_config::PlatformConfigRow,
        role::PermissionRow,
        session::SessionRow,
        user::UserRow,
    },
};

/// An object with a globally unique id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Globally unique, opaque id of this object."))]
pub enum Node {
    /// An organization.
    Organization(Organization),
    /// A project.
    Project(Project),
    /// A chat.
    Chat(Chat),
    /// A message.
    Message(Message),
    /// A user.
    User(User),
    /// A signed-in session.
    Session(Session),
    /// An API token.
    ApiToken(ApiToken),
    /// A provider credential.
    Credential(Credential),
    /// A platform configuration entry.
    PlatformConfig(PlatformConfig),
    /// A membership in an organization.
    OrganizationMember(OrganizationMember),
    /// An invitation to an organization.
    OrganizationInvitation(OrganizationInvitation),
    /// A membership in a project.
    ProjectMember(ProjectMember),
    /// A role.
    Role(Role),
    /// A permission.
    Permission(Permission),
    /// A project's settings.
    ProjectSettings(ProjectSettings),
    /// A project's quota.
    ProjectQuota(ProjectQuota),
    /// An assistant.
    Assistant(Assistant),
    /// A datasource.
    Datasource(Datasource),
    /// A document.
    Document(Document),
    /// A document chunk.
    DocumentChunk(DocumentChunk),
    /// A file.
    File(File),
    /// A file attachment.
    FileAttachment(FileAttachment),
    /// One version of an artifact.
    Artifact(Artifact),
    /// A suggested edit to an artifact.
    ArtifactSuggestion(ArtifactSuggestion),
    /// A webhook subscription.
    WebhookSubscription(WebhookSubscription),
    /// A background job.
    Job(Job),
    /// An analytics event.
    AnalyticsEvent(AnalyticsEvent),
    /// An audit record.
    AuditLog(AuditLog),
    /// A usage record.
    UsageEvent(UsageEvent),
    /// Feedback on a message.
    MessageFeedback(MessageFeedback),
    /// A model answer stream.
    MessageStream(MessageStream),
    /// A connected code repository.
    Repository(Repository),
}

/// Loads the row of `list` with key `key` (and `parent`, for two-part keys) if the caller
/// sees it in that list, wrapped as a node.
macro_rules! listed {
    ($ctx:expr, $list:expr, $parent:expr, $key:expr, $filter:expr, $variant:ident) => {{
        let scope = $ctx.request().scope();
        let mut conn = $ctx.conn().await?;
        find_visible(&mut conn, scope, $list, $parent, $key, &$filter)
            .await
            .map_err(|e| $ctx.error(e))?
            .map(|row| Node::$variant($variant(row)))
    }};
    ($ctx:expr, $list:expr, $key:expr, $variant:ident) => {
        listed!($ctx, $list, None, $key, Filter::none(), $variant)
    };
}

/// Resolves a node with a two-part key: members (parent and user) and artifact versions
/// (id and time in microseconds).
async fn resolve_composite(ctx: &Context<'_>, id: &ID) -> async_graphql::Result<Option<Node>> {
    let (type_name, first, second) = decode_composite_id(id).map_err(|e| ctx.error(e))?;
    let invalid = || ctx.error(AppError::BadUserInput(format!("{:?} is not a valid id", id.as_str())));
    let node = match type_name.as_str() {
        "OrganizationMember" | "ProjectMember" => {
            let user = Uuid::parse_str(&second).map_err(|_| invalid())?;
            if type_name == "OrganizationMember" {
                listed!(
                    ctx,
                    lists::ORGANIZATION_MEMBERS,
                    Some(first),
                    user,
                    Filter::none(),
                    OrganizationMember
                )
            } else {
                listed!(
                    ctx,
                    lists::PROJECT_MEMBERS,
                    Some(first),
                    user,
                    Filter::none(),
                    ProjectMember
                )
            }
        }
        "Artifact" => {
            let at = second
                .parse::<i64>()
                .ok()
                .and_then(chrono::DateTime::from_timestamp_micros)
                .ok_or_else(invalid)?;
            let version = Filter::from(VersionAt(at));
            listed!(ctx, lists::ARTIFACT_VERSIONS, None, first, version, Artifact)
        }
        _ => return Err(invalid()),
    };
    Ok(node)
}

/// The object behind a global id, if the caller may see it: tenant data through the
/// request's loaders (batched, filtered by the caller's scope); a user to themselves and to
/// platform admins; sessions and API tokens to their owner; credentials to holders of
/// `credentials.manage` in their organization; platform configuration to platform admins.
pub async fn resolve(ctx: &Context<'_>, id: &ID) -> async_graphql::Result<Option<Node>> {
    if decode_composite_id(id).is_ok() {
        return resolve_composite(ctx, id).await;
    }
    let (type_name, key) = decode_global_id(id).map_err(|e| ctx.error(e))?;
    let request = ctx.request();
    let caller = request.caller();
    let node = match type_name.as_str() {
        "Organization" => load(ctx, OrganizationById(key))
            .await?
            .map(|r| Node::Organization(Organization(r))),
        "Project" => load(ctx, ProjectById(key)).await?.map(|r| Node::Project(Project(r))),
        "Chat" => load(ctx, ChatById(key)).await?.map(|r| Node::Chat(Chat(r))),
        "Message" => load(ctx, MessageById(key)).await?.map(|r| Node::Message(Message(r))),
        "User" => {
            if !request.scope().sees_user(key) {
                return Ok(None);
            }
            let mut conn = ctx.conn().await?;
            UserRow::find(&mut conn, key)
                .await
                .map_err(|e| ctx.error(e))?
                .map(|r| Node::User(User(r)))
        }
        "Session" => {
            let mut conn = ctx.conn().await?;
            SessionRow::find(&mut conn, key)
                .await
                .map_err(|e| ctx.error(e))?
                .filter(|s| request.scope().is_caller(s.user_id))
                .map(|row| {
                    let current = caller.is_some_and(|c| c.session_id == Some(row.id));
                    Node::Session(Session { row, current })
                })
        }
        "ApiToken" => {
            let mut conn = ctx.conn().await?;
            ApiTokenRow::find(&mut conn, key)
                .await
                .map_err(|e| ctx.error(e))?
                .filter(|t| request.scope().is_caller(t.user_id))
                .map(|r| Node::ApiToken(ApiToken(r)))
        }
        "Credential" => {
            let mut conn = ctx.conn().await?;
            let Some(row) = CredentialRow::find(&mut conn, key).await.map_err(|e| ctx.error(e))? else {
                return Ok(None);
            };
            let place = Place::Organization(row.organization_id);
            match request.permitted(&mut conn, place, Right::CredentialsManage).await {
                Ok(_) => Some(Node::Credential(Credential(row))),
                Err(AppError::NotFound(_) | AppError::Forbidden | AppError::Unauthenticated) => None,
                Err(other) => return Err(ctx.error(other)),
            }
        }
        "PlatformConfig" => {
            let mut conn = ctx.conn().await?;
            match grant::authorize_platform(&mut conn, caller, Right::PlatformConfigure).await {
                Ok(_) => PlatformConfigRow::find(&mut conn, key)
                    .await
                    .map_err(|e| ctx.error(e))?
                    .map(|r| Node::PlatformConfig(PlatformConfig(r))),
                Err(AppError::Forbidden | AppError::Unauthenticated) => None,
                Err(other) => return Err(ctx.error(other)),
            }
        }
        "Role" => load(ctx, RoleById(key)).await?.map(|r| Node::Role(Role(r))),
        "Permission" => {
            let mut conn = ctx.conn().await?;
            PermissionRow::find(&mut conn, key)
                .await
                .map_err(|e| ctx.error(e))?
                .map(|r| Node::Permission(Permission(r)))
        }
        "ProjectSettings" | "ProjectQuota" => {
            if load(ctx, ProjectById(key)).await?.is_none() {
                return Ok(None);
            }
            if type_name == "ProjectSettings" {
                load(ctx, SettingsByProject(key))
                    .await?
                    .map(|r| Node::ProjectSettings(ProjectSettings(r)))
            } else {
                load(ctx, QuotaByProject(key))
                    .await?
                    .map(|r| Node::ProjectQuota(ProjectQuota(r)))
            }
        }
        "Assistant" => listed!(ctx, lists::PROJECT_ASSISTANTS, key, Assistant),
        "OrganizationInvitation" => listed!(ctx, lists::ORGANIZATION_INVITATIONS, key, OrganizationInvitation),
        "Datasource" => listed!(ctx, lists::PROJECT_DATASOURCES, key, Datasource),
        "Document" => listed!(ctx, lists::PROJECT_DOCUMENTS, key, Document),
        "DocumentChunk" => listed!(ctx, lists::DOCUMENT_CHUNKS, key, DocumentChunk),
        "File" => listed!(ctx, lists::PROJECT_FILES, key, File),
        "ArtifactSuggestion" => listed!(ctx, lists::ARTIFACT_SUGGESTIONS, key, ArtifactSuggestion),
        "WebhookSubscription" => listed!(ctx, lists::PROJECT_WEBHOOKS, key, WebhookSubscription),
        "Job" => listed!(ctx, lists::PROJECT_JOBS, key, Job),
        "AnalyticsEvent" => listed!(ctx, lists::PROJECT_ANALYTICS, key, AnalyticsEvent),
        "AuditLog" => match listed!(ctx, lists::ORGANIZATION_AUDIT_LOGS, key, AuditLog) {
            Some(node) => Some(node),
            None => listed!(ctx, lists::PROJECT_AUDIT_LOGS, key, AuditLog),
        },
        "UsageEvent" => match listed!(ctx, lists::ORGANIZATION_USAGE, key, UsageEvent) {
            Some(node) => Some(node),
            None => listed!(ctx, lists::PROJECT_USAGE, key, UsageEvent),
        },
        "MessageFeedback" => listed!(ctx, lists::MESSAGE_FEEDBACK, key, MessageFeedback),
        "Repository" => listed!(ctx, lists::USER_REPOSITORIES, key, Repository),
        "MessageStream" => {
            let mut conn = ctx.conn().await?;
            let Some(row) = MessageStreamRow::find(&mut conn, key).await.map_err(|e| ctx.error(e))? else {
                return Ok(None);
            };
            load(ctx, ChatById(row.chat_id))
                .await?
                .map(|_| Node::MessageStream(MessageStream(row)))
        }
        "FileAttachment" => {
            let mut conn = ctx.conn().await?;
            let Some(row) = FileAttachmentRow::find(&mut conn, key)
                .await
                .map_err(|e| ctx.error(e))?
            else {
                return Ok(None);
            };
            load(ctx, FileById(row.file_id))
                .await?
                .map(|_| Node::FileAttachment(FileAttachment(row)))
        }
        _ => {
            return Err(ctx.error(AppError::BadUserInput(format!("{:?} is not a valid id", id.as_str()))));
        }
    };
    Ok(node)
}

/// The global id of the object of type `type_name` with key `key`.
pub fn global_id(type_name: &str, key: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{type_name}:{key}")))
}

/// The global id of an object with a two-part key: a UUID and a second part (a member's
/// user id, an artifact version's time in microseconds).
pub fn composite_id(type_name: &str, key: Uuid, part: impl std::fmt::Display) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{type_name}:{key}:{part}")))
}

/// Splits a global id into its type name and its key text.
fn split_global_id(id: &ID) -> AppResult<(String, String)> {
    let invalid = || AppError::BadUserInput(format!("{:?} is not a valid id", id.as_str()));
    let bytes = URL_SAFE_NO_PAD.decode(id.as_bytes()).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (type_name, key) = text.split_once(':').ok_or_else(invalid)?;
    Ok((type_name.to_owned(), key.to_owned()))
}

/// Splits a global id into its type name and key. Anything else is BAD_USER_INPUT.
pub fn decode_global_id(id: &ID) -> AppResult<(String, Uuid)> {
    let (type_name, key) = split_global_id(id)?;
    let key =
        Uuid::parse_str(&key).map_err(|_| AppError::BadUserInput(format!("{:?} is not a valid id", id.as_str())))?;
    Ok((type_name, key))
}

/// Splits a two-part global id into its type name, UUID and second part.
pub fn decode_composite_id(id: &ID) -> AppResult<(String, Uuid, String)> {
    let invalid = || AppError::BadUserInput(format!("{:?} is not a valid id", id.as_str()));
    let (type_name, key) = split_global_id(id)?;
    let (first, second) = key.split_once(':').ok_or_else(invalid)?;
    let first = Uuid::parse_str(first).map_err(|_| invalid())?;
    Ok((type_name, first, second.to_owned()))
}

/// The key of a global id of `type_name` given in input field `field`; anything else is a
/// user error on that field.
pub fn input_id(id: &ID, type_name: &str, field: &str) -> AppResult<Uuid> {
    match decode_global_id(id) {
        Ok((kind, key)) if kind == type_name => Ok(key),
        _ => Err(crate::error::FieldError::input(field, "INVALID_ID", format!("not the id of a {type_name}")).into()),
    }
}

/// Like [`input_id`] for an optional input field.
pub fn optional_id(id: Option<&ID>, type_name: &str, field: &str) -> AppResult<Option<Uuid>> {
    id.map(|id| input_id(id, type_name, field)).transpose()
}

/// Like [`argument_id`] for an optional argument.
pub fn optional_argument_id(id: Option<&ID>, type_name: &str, argument: &str) -> AppResult<Option<Uuid>> {
    id.map(|id| argument_id(id, type_name, argument)).transpose()
}

/// The key of a global id of `type_name` given in query argument `argument` (such as
/// `filter.assistantId`); anything else is BAD_USER_INPUT naming the argument.
pub fn argument_id(id: &ID, type_name: &str, argument: &str) -> AppResult<Uuid> {
    match decode_global_id(id) {
        Ok((kind, key)) if kind == type_name => Ok(key),
        _ => Err(AppError::BadUserInput(format!(
            "{argument} is not the id of a {type_name}"
        ))),
    }
}

/// Most items a list that is not a connection returns when it belongs to the caller or the
/// platform (roles, permissions, sessions, API tokens, credentials, models, configuration):
/// its fixed cap, so that its cost is known before it runs.
pub const MAX_LIST_ITEMS: usize = 100;

/// Most items of a list that hangs off each item of a page (a chat's streams and
/// attachments, a message's attachments and siblings, an assistant's files): smaller, since
/// pages multiply it.
pub const MAX_ITEM_LIST_ITEMS: usize = 20;

/// The complexity of a list that is not a connection: its cap ([`MAX_LIST_ITEMS`]) times
/// what each item costs, whatever its length turns out to be.
pub fn list_cost(child_complexity: usize) -> usize {
    1 + MAX_LIST_ITEMS.saturating_mul(child_complexity)
}

/// [`list_cost`] for a list hanging off each item of a page ([`MAX_ITEM_LIST_ITEMS`]).
pub fn item_list_cost(child_complexity: usize) -> usize {
    1 + MAX_ITEM_LIST_ITEMS.saturating_mul(child_complexity)
}

/// A plain list's items: `rows` cut to `cap`, keeping the first ones (or the last ones,
/// `newest`, for lists in time order whose newest items matter most), each made a `T`.
pub fn capped<R, T>(mut rows: Vec<R>, cap: usize, newest: bool, item: impl FnMut(R) -> T) -> Vec<T> {
    if rows.len() > cap {
        if newest {
            rows.drain(..rows.len() - cap);
        } else {
            rows.truncate(cap);
        }
    }
    rows.into_iter().map(item).collect()
}

/// The complexity of a connection field: the items of its page times what each item costs,
/// so that `first: 100` four levels deep counts as the hundred million objects it could
/// return (a size outside 1..100 is refused by the resolver; it costs the maximum here).
pub fn page_cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let size = match first.or(last) {
        Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n as usize,
        Some(_) => MAX_PAGE_SIZE as usize,
        None => DEFAULT_PAGE_SIZE as usize,
    };
    1 + size.saturating_mul(child_complexity)
}

/// Default number of items of a list field.
pub const DEFAULT_PAGE_SIZE: i32 = 20;
/// Largest number of items a list field returns at once.
pub const MAX_PAGE_SIZE: i32 = 100;

/// Checks the page size given in `argument` against the limit.
pub fn checked_size(argument: &str, n: i32) -> AppResult<i64> {
    match n {
        1..=MAX_PAGE_SIZE => Ok(i64::from(n)),
        n => Err(AppError::BadUserInput(format!(
            "{argument} must be between 1 and {MAX_PAGE_SIZE}, got {n}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_and_reject_garbage() {
        let key = Uuid::now_v7();
        let id = global_id("Chat", key);
        assert_eq!(decode_global_id(&id).expect("valid"), ("Chat".to_owned(), key));
        assert!(!id.as_str().contains("Chat"), "ids are opaque");
        for bad in ["", "not base64!", "Q2hhdA", &URL_SAFE_NO_PAD.encode("Chat:not-a-uuid")] {
            assert!(
                decode_global_id(&ID(bad.to_owned())).is_err(),
                "{bad:?} must be rejected"
            );
        }
    }

    #[test]
    fn page_size_has_a_default_and_a_limit() {
        assert_eq!(checked_size("first", DEFAULT_PAGE_SIZE).ok(), Some(20));
        assert_eq!(checked_size("first", 100).ok(), Some(100));
        assert!(checked_size("first", 0).is_err());
        assert!(checked_size("last", 101).is_err());
    }

    #[test]
    fn a_capped_list_keeps_the_first_or_the_newest_items() {
        let rows = vec![1, 2, 3, 4];
        assert_eq!(capped(rows.clone(), 2, false, |n| n * 10), vec![10, 20]);
        assert_eq!(capped(rows.clone(), 2, true, |n| n * 10), vec![30, 40]);
        assert_eq!(capped(rows, 9, true, |n| n), vec![1, 2, 3, 4]);
    }
}
