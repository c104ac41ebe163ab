//! Provider credentials of an organization: created encrypted (AES-256-GCM, the row's id as
//! associated data, the current key version recorded), listed without their secret, deleted.
//! Needs `credentials.manage`; creation and deletion are audited. The API never returns a
//! secret: only name, type and dates.

use anyhow::anyhow;
use diesel_async::AsyncPgConnection;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::write::{RecordIn, Tx};
use crate::{
    auth::{
        crypto::Keyring,
        grant::{Grant, Granted},
    },
    db::{enums::CredentialType, new_id},
    error::{AppError, AppResult, FieldError},
    models::credential::{CredentialPatch, CredentialRow, NewCredential},
};

/// Longest secret accepted, in bytes.
pub const MAX_SECRET_BYTES: usize = 16 * 1024;

/// Stores a new credential of the granted organization.
pub async fn create(
    tx: &mut Tx,
    grant: &Grant,
    keyring: &Keyring,
    name: &str,
    credential_type: CredentialType,
    secret: &SecretString,
) -> AppResult<CredentialRow> {
    let name = name.trim();
    let mut errors = Vec::new();
    errors.extend(FieldError::check_length("name", name, 100));
    let secret = secret.expose_secret();
    if secret.is_empty() || secret.len() > MAX_SECRET_BYTES {
        errors.push(FieldError::input(
            "secret",
            "INVALID_LENGTH",
            format!("secret must be 1 to {MAX_SECRET_BYTES} bytes"),
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let id = new_id();
    let (encrypted_data, key_version) = keyring.encrypt(secret.as_bytes(), &CredentialRow::associated_data(id))?;
    let new = NewCredential {
        id,
        organization_id: grant.organization_id(),
        name: name.to_owned(),
        credential_type,
        encrypted_data,
        key_version,
        created_by: Some(grant.caller().user.id),
    };
    let row = new.insert(tx.conn()).await.map_err(|e| match e {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
            AppError::from(FieldError::input(
                "name",
                "NAME_TAKEN",
                "the organization already has a credential with this name",
            ))
        }
        other => other.into(),
    })?;
    tx.audit(grant)
        .on("credential", row.id)
        .details(json!({ "name": row.name, "type": row.credential_type.as_str() }))
        .record_in(tx)
        .await?;
    Ok(row)
}

/// The credentials of the granted organization (their secrets stay encrypted).
pub async fn list(conn: &mut AsyncPgConnection, grant: &Grant) -> AppResult<Vec<CredentialRow>> {
    Ok(CredentialRow::for_organization(conn, grant.organization_id()).await?)
}

/// Deletes a credential.
pub async fn delete(tx: &mut Tx, row: &Granted<CredentialRow>) -> AppResult<()> {
    CredentialRow::delete(tx.conn(), row.id).await?;
    tx.audit(row.grant())
        .on("credential", row.id)
        .details(json!({ "name": row.name }))
        .record_in(tx)
        .await?;
    Ok(())
}

/// Rotates a credential: re-encrypts its secret (or `secret`,
/// when a new one is given) under the keyring's current key version, with a fresh nonce.
pub async fn rotate(
    tx: &mut Tx,
    keyring: &Keyring,
    row: &Granted<CredentialRow>,
    secret: Option<&SecretString>,
) -> AppResult<CredentialRow> {
    let plaintext = match secret {
        Some(secret) => {
            let secret = secret.expose_secret();
            if secret.is_empty() || secret.len() > MAX_SECRET_BYTES {
                return Err(FieldError::input(
                    "secret",
                    "INVALID_LENGTH",
                    format!("secret must be 1 to {MAX_SECRET_BYTES} bytes"),
                )
                .into());
            }
            SecretString::from(secret.to_owned())
        }
        None => reveal(keyring, row)?,
    };
    let (encrypted_data, key_version) = keyring.encrypt(
        plaintext.expose_secret().as_bytes(),
        &CredentialRow::associated_data(row.id),
    )?;
    let patch = CredentialPatch {
        encrypted_data: Some(encrypted_data),
        key_version: Some(key_version),
        ..Default::default()
    };
    let rotated = patch.apply(tx.conn(), row.id).await?;
    tx.audit(row.grant())
        .on("credential", row.id)
        .details(json!({
            "name": row.name,
            "fromKeyVersion": row.key_version,
            "toKeyVersion": key_version,
            "newSecret": secret.is_some(),
        }))
        .record_in(tx)
        .await?;
    Ok(rotated)
}

/// The secret of a credential, for calling its provider (never for the API).
pub fn reveal(keyring: &Keyring, row: &CredentialRow) -> AppResult<SecretString> {
    let bytes = keyring.decrypt(
        &row.encrypted_data,
        row.key_version,
        &CredentialRow::associated_data(row.id),
    )?;
    String::from_utf8(bytes)
        .map(SecretString::from)
        .map_err(|_| AppError::Internal(anyhow!("a decrypted credential is not UTF-8")))
}
