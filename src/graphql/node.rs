//! Relay object identification: opaque global ids that encode a type name and a key, the
//! `Node` interface, and page-size checks shared by list fields.

use async_graphql::{Context, ID, Interface};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use super::{
    api_token::ApiToken,
    chat::Chat,
    context::ContextExt,
    credential::Credential,
    loaders::{ChatById, MessageById, OrganizationById, ProjectById},
    message::Message,
    organization::Organization,
    platform::PlatformConfig,
    project::Project,
    user::{Session, User},
};
use crate::{
    auth::grant::{self, Permission, Place},
    error::{AppError, AppResult},
    models::{
        api_token::ApiTokenRow, credential::CredentialRow, platform_config::PlatformConfigRow, session::SessionRow,
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
}

/// The object behind a global id, if the caller may see it: tenant data through the
/// request's loaders (batched, filtered by the caller's scope); a user to themselves and to
/// platform admins; sessions and API tokens to their owner; credentials to holders of
/// `credentials.manage` in their organization; platform configuration to platform admins.
pub async fn resolve(ctx: &Context<'_>, id: &ID) -> async_graphql::Result<Option<Node>> {
    let (type_name, key) = decode_global_id(id).map_err(|e| ctx.error(e))?;
    let loader = ctx.loader();
    let request = ctx.request();
    let caller = request.caller();
    let owned_by_caller = |user_id: Uuid| caller.is_some_and(|c| c.user.id == user_id);
    let node = match type_name.as_str() {
        "Organization" => loader
            .load_one(OrganizationById(key))
            .await
            .map_err(|e| ctx.error(e))?
            .map(|r| Node::Organization(Organization(r))),
        "Project" => loader
            .load_one(ProjectById(key))
            .await
            .map_err(|e| ctx.error(e))?
            .map(|r| Node::Project(Project(r))),
        "Chat" => loader
            .load_one(ChatById(key))
            .await
            .map_err(|e| ctx.error(e))?
            .map(|r| Node::Chat(Chat(r))),
        "Message" => loader
            .load_one(MessageById(key))
            .await
            .map_err(|e| ctx.error(e))?
            .map(|r| Node::Message(Message(r))),
        "User" => {
            let admin = caller.is_some_and(|c| c.user.is_platform_admin && c.narrowed_to.is_none());
            if !owned_by_caller(key) && !admin {
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
                .filter(|s| owned_by_caller(s.user_id))
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
                .filter(|t| owned_by_caller(t.user_id))
                .map(|r| Node::ApiToken(ApiToken(r)))
        }
        "Credential" => {
            let mut conn = ctx.conn().await?;
            let Some(row) = CredentialRow::find(&mut conn, key).await.map_err(|e| ctx.error(e))? else {
                return Ok(None);
            };
            let place = Place::Organization(row.organization_id);
            match request.authorize(&mut conn, place, Permission::CredentialsManage).await {
                Ok(_) => Some(Node::Credential(Credential(row))),
                Err(AppError::NotFound(_) | AppError::Forbidden | AppError::Unauthenticated) => None,
                Err(other) => return Err(ctx.error(other)),
            }
        }
        "PlatformConfig" => {
            let mut conn = ctx.conn().await?;
            match grant::authorize_platform(&mut conn, caller, Permission::PlatformConfigure).await {
                Ok(_) => PlatformConfigRow::find(&mut conn, key)
                    .await
                    .map_err(|e| ctx.error(e))?
                    .map(|r| Node::PlatformConfig(PlatformConfig(r))),
                Err(AppError::Forbidden | AppError::Unauthenticated) => None,
                Err(other) => return Err(ctx.error(other)),
            }
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

/// Splits a global id into its type name and key. Anything else is BAD_USER_INPUT.
pub fn decode_global_id(id: &ID) -> AppResult<(String, Uuid)> {
    let invalid = || AppError::BadUserInput(format!("{:?} is not a valid id", id.as_str()));
    let bytes = URL_SAFE_NO_PAD.decode(id.as_bytes()).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (type_name, key) = text.split_once(':').ok_or_else(invalid)?;
    let key = Uuid::parse_str(key).map_err(|_| invalid())?;
    Ok((type_name.to_owned(), key))
}

/// The key of a global id of `type_name` given in input field `field`; anything else is a
/// user error on that field.
pub fn input_id(id: &ID, type_name: &str, field: &str) -> AppResult<Uuid> {
    match decode_global_id(id) {
        Ok((kind, key)) if kind == type_name => Ok(key),
        _ => Err(crate::error::FieldError::input(field, "INVALID_ID", format!("not the id of a {type_name}")).into()),
    }
}

/// Default number of items of a list field.
pub const DEFAULT_PAGE_SIZE: i32 = 20;
/// Largest number of items a list field returns at once.
pub const MAX_PAGE_SIZE: i32 = 100;

/// Checks a `first` argument against the page-size limit.
pub fn page_size(first: Option<i32>) -> AppResult<i64> {
    checked_size("first", first.unwrap_or(DEFAULT_PAGE_SIZE))
}

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
        assert_eq!(page_size(None).ok(), Some(20));
        assert_eq!(page_size(Some(100)).ok(), Some(100));
        assert!(page_size(Some(0)).is_err());
        assert!(page_size(Some(101)).is_err());
    }
}
