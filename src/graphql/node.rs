//! Relay object identification: opaque global ids that encode a type name and a key, the
//! `Node` interface, and page-size checks shared by list fields.

use async_graphql::{ID, Interface};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use super::{chat::Chat, message::Message, organization::Organization, project::Project};
use crate::error::{AppError, AppResult};

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
    match first.unwrap_or(DEFAULT_PAGE_SIZE) {
        n @ 1..=MAX_PAGE_SIZE => Ok(i64::from(n)),
        n => Err(AppError::BadUserInput(format!(
            "first must be between 1 and {MAX_PAGE_SIZE}, got {n}"
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
