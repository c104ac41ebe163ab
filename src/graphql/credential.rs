//! The `Credential` type (name, type and dates, never the secret) and the mutations that
//! store and delete provider credentials.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use super::{
    context::ContextExt,
    mutation::{UserError, write},
    node::{global_id, input_id},
};
use crate::{
    auth::grant::{Permission, Place},
    db::enums::CredentialType,
    models::credential::CredentialRow,
    services::{audit::Action, credentials},
};

/// A secret for an outside service (an API key, a token), kept encrypted. Only its name, type
/// and dates are ever shown.
pub struct Credential(pub CredentialRow);

/// A secret for an outside service (an API key, a token), kept encrypted. Only its name, type
/// and dates are ever shown.
#[Object]
impl Credential {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("Credential", self.0.id)
    }

    /// Name, unique within the organization.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Which service it is for.
    async fn credential_type(&self) -> CredentialType {
        self.0.credential_type
    }

    /// The version of the encryption key its secret is stored under; `rotateCredential` moves
    /// it to the current one.
    async fn key_version(&self) -> i32 {
        self.0.key_version
    }

    /// When a request last used it.
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }

    /// When it was stored.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Input of `createCredential`.
#[derive(InputObject)]
pub struct CreateCredentialInput {
    /// The organization (needs `credentials.manage` there).
    pub organization_id: ID,
    /// Name, unique within the organization (1 to 100 characters).
    pub name: String,
    /// Which service it is for.
    pub credential_type: CredentialType,
    /// The secret itself (1 to 16 KiB). Stored encrypted; never shown again.
    pub secret: String,
}

/// Input of `rotateCredential`.
#[derive(InputObject)]
pub struct RotateCredentialInput {
    /// The credential to rotate.
    pub id: ID,
    /// A new secret (1 to 16 KiB); omitted: the stored secret is re-encrypted as it is.
    pub secret: Option<String>,
}

/// Input of `deleteCredential`.
#[derive(InputObject)]
pub struct DeleteCredentialInput {
    /// The credential to delete.
    pub id: ID,
}

/// The result of `createCredential` and `rotateCredential`.
#[derive(SimpleObject)]
pub struct CredentialPayload {
    /// The stored credential, unless there were user errors.
    pub credential: Option<Credential>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// The result of `deleteCredential`.
#[derive(SimpleObject)]
pub struct DeleteCredentialPayload {
    /// The id of the deleted credential.
    pub deleted_credential_id: Option<ID>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// Credential mutations.
#[derive(Default)]
pub struct CredentialMutation;

#[Object]
impl CredentialMutation {
    /// Stores a provider credential, encrypted. Audited.
    async fn create_credential(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: CreateCredentialInput,
    ) -> Result<CredentialPayload> {
        let keyring = &ctx.request().authenticator().keyring;
        let secret = SecretString::from(input.secret);
        let (credential, user_errors) = write(ctx, Action::CredentialCreate, async |tx| {
            let organization_id = input_id(&input.organization_id, "Organization", "organizationId")?;
            let place = Place::Organization(organization_id);
            let grant = tx.grant(place, Permission::CredentialsManage).await?;
            credentials::create(tx, &grant, keyring, &input.name, input.credential_type, &secret).await
        })
        .await?;
        Ok(CredentialPayload {
            credential: credential.map(Credential),
            user_errors,
        })
    }

    /// Re-encrypts a credential under the current encryption key (after a key rotation), or
    /// replaces its secret when one is given. Audited.
    async fn rotate_credential(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: RotateCredentialInput,
    ) -> Result<CredentialPayload> {
        let keyring = &ctx.request().authenticator().keyring;
        let secret = input.secret.map(SecretString::from);
        let (credential, user_errors) = write(ctx, Action::CredentialRotate, async |tx| {
            let row = tx
                .granted(input_id(&input.id, "Credential", "id")?, Permission::CredentialsManage)
                .await?;
            credentials::rotate(tx, keyring, &row, secret.as_ref()).await
        })
        .await?;
        Ok(CredentialPayload {
            credential: credential.map(Credential),
            user_errors,
        })
    }

    /// Deletes a provider credential. Audited.
    async fn delete_credential(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: DeleteCredentialInput,
    ) -> Result<DeleteCredentialPayload> {
        let (deleted_credential_id, user_errors) = write(ctx, Action::CredentialDelete, async |tx| {
            let row = tx
                .granted(input_id(&input.id, "Credential", "id")?, Permission::CredentialsManage)
                .await?;
            credentials::delete(tx, &row).await?;
            Ok(global_id("Credential", row.id))
        })
        .await?;
        Ok(DeleteCredentialPayload {
            deleted_credential_id,
            user_errors,
        })
    }
}
