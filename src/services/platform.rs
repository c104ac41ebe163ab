//! Platform-wide configuration (`platform_configs`): read and written only by holders of
//! `platform.configure` (platform admins). Changes are audited.

use serde_json::{Value, json};

use super::{
    auth::Caller,
    write::{RecordIn, Tx},
};
use crate::{
    db::new_id,
    error::{AppError, AppResult, FieldError},
    models::platform_config::{NewPlatformConfig, PlatformConfigRow},
    providers::registry::{self, Providers},
    pubsub::{self, Notice},
};

/// Largest configuration value accepted, serialised, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// Sets a configuration entry. `admin` must come from `grant::authorize_platform`.
/// `configured` are the server's own providers, which the entry `providers` adds to.
pub async fn set(
    tx: &mut Tx,
    admin: &Caller,
    key: &str,
    value: Value,
    description: Option<String>,
    configured: &Providers,
) -> AppResult<PlatformConfigRow> {
    let mut errors = Vec::new();
    let key_ok = key.len() <= 128
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c));
    if !key_ok {
        errors.push(FieldError::input(
            "key",
            "INVALID_KEY",
            "key must start with a lower-case letter and hold only a-z, 0-9, '_', '.', '-' (at most 128)",
        ));
    }
    if value.to_string().len() > MAX_VALUE_BYTES {
        errors.push(FieldError::input(
            "value",
            "TOO_LARGE",
            format!("value must be at most {MAX_VALUE_BYTES} bytes"),
        ));
    }
    if key == super::rate_limits::CONFIG_KEY {
        errors.extend(super::rate_limits::check_config(&value));
    }
    if key == registry::PLATFORM_KEY
        && let Err(error) = configured.with_platform(&value)
    {
        errors.push(FieldError::input("value", "INVALID_PROVIDERS", format!("{error:#}")));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let new = NewPlatformConfig {
        id: new_id(),
        key: key.to_owned(),
        value,
        description: description.unwrap_or_default(),
        updated_by: Some(admin.user.id),
    };
    let row = PlatformConfigRow::upsert(tx.conn(), &new).await?;
    if key == registry::PLATFORM_KEY {
        // Every replica reloads its providers when this commits.
        pubsub::publish(tx.conn(), Notice::Providers).await?;
    }
    tx.event()
        .on("platform_config", row.id)
        .details(json!({ "key": row.key }))
        .record_in(tx)
        .await?;
    Ok(row)
}
