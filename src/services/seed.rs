//! Seed data: the platform administrator from configuration, and the demo data set of
//! data-model.md (three users of seed 001, an organization, a project with settings and quota,
//! an assistant, chats with messages, a datasource with documents and embedded chunks).
//! Both are idempotent: running them again changes nothing (the admin's password is reset to
//! the configured one).

use bigdecimal::BigDecimal;
use chrono::{Duration, Utc};
use diesel::result::Error as DieselError;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    auth::password,
    db::{
        enums::{
            ChatVisibility, DatasourceKind, DocumentStatus, MessageRole, Outcome, QuotaPeriod, RoleScope,
            UsageOperation,
        },
        new_id,
    },
    error::{AppError, AppResult},
    models::{
        assistant::NewAssistant,
        chat::NewChat,
        datasource::NewDatasource,
        document::{NewDocument, NewDocumentChunk},
        message::{MessageRow, NewMessage, NewMessageFeedback},
        organization::{NewOrganization, NewOrganizationMember, OrganizationRow},
        project::{NewProject, NewProjectMember, NewProjectQuota, NewProjectSettings},
        role::RoleRow,
        usage_event::NewUsageEvent,
        user::{NewUser, NewUserRole, UserPatch, UserRow},
    },
    providers::embedding::OfflineHashingEmbedder,
};

/// The demo organization's slug; its presence means the demo data is loaded.
pub const DEMO_ORGANIZATION_SLUG: &str = "acme";
/// The password of every demo user (seed 004's bootstrap password). Local demo only.
pub const DEMO_PASSWORD: &str = "ChangeMe123!";

/// Creates the platform administrator, or updates the existing user with that email to be
/// one (active, with the given password). Returns the user.
pub async fn seed_admin(conn: &mut AsyncPgConnection, email: &str, password_text: &str) -> AppResult<UserRow> {
    super::auth::validate_email(email)?;
    password::check_policy(password_text, email)?;
    let password_hash = password::hash(password_text)?;
    let email = email.to_owned();
    conn.transaction::<_, AppError, _>(async |conn| {
        let admin_role = RoleRow::find_by_name(conn, RoleScope::Platform, "admin").await?;
        let user = match UserRow::find_by_email(conn, &email).await? {
            Some(existing) => {
                let patch = UserPatch {
                    password_hash: Some(Some(password_hash)),
                    is_platform_admin: Some(true),
                    status: Some(crate::db::enums::UserStatus::Active),
                    ..Default::default()
                };
                patch.apply(conn, existing.id).await?
            }
            None => {
                new_user(&email, "Platform Admin", password_hash, true)
                    .insert(conn)
                    .await?
            }
        };
        NewUserRole {
            user_id: user.id,
            role_id: admin_role.id,
        }
        .insert_if_missing(conn)
        .await?;
        Ok(user)
    })
    .await
}

/// What [`seed_demo`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoSeed {
    /// The demo data was loaded now.
    Loaded { organization_id: Uuid },
    /// It was there already; nothing changed.
    AlreadyPresent { organization_id: Uuid },
}

/// Loads the demo data set unless it is already there, in one transaction.
pub async fn seed_demo(conn: &mut AsyncPgConnection) -> AppResult<DemoSeed> {
    if let Some(org) = OrganizationRow::find_by_slug(conn, DEMO_ORGANIZATION_SLUG).await? {
        return Ok(DemoSeed::AlreadyPresent {
            organization_id: org.id,
        });
    }
    // Hash once, outside the transaction: argon2 is deliberately slow.
    let password_hash = password::hash(DEMO_PASSWORD)?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let organization_id = insert_demo(conn, &password_hash).await?;
        Ok(DemoSeed::Loaded { organization_id })
    })
    .await
}

async fn insert_demo(conn: &mut AsyncPgConnection, password_hash: &str) -> Result<Uuid, DieselError> {
    let platform_admin = role_id(conn, RoleScope::Platform, "admin").await?;
    let platform_user = role_id(conn, RoleScope::Platform, "user").await?;
    let platform_pm = role_id(conn, RoleScope::Platform, "project_manager").await?;
    let org_owner = role_id(conn, RoleScope::Organization, "owner").await?;
    let org_admin = role_id(conn, RoleScope::Organization, "admin").await?;
    let org_member = role_id(conn, RoleScope::Organization, "member").await?;
    let project_owner = role_id(conn, RoleScope::Project, "owner").await?;
    let project_member = role_id(conn, RoleScope::Project, "member").await?;

    let organization = NewOrganization {
        id: new_id(),
        name: "Acme Research".into(),
        slug: DEMO_ORGANIZATION_SLUG.into(),
        plan: Some(crate::db::enums::OrganizationPlan::Pro),
        is_personal: false,
        metadata: Some(json!({ "industry": "research", "demo": true })),
    }
    .insert(conn)
    .await?;

    // Seed 001's three users: an administrator, a regular user and a project manager.
    let people = [
        ("admin@example.com", "Ada Admin", true, platform_admin, org_owner),
        ("user@example.com", "Uma User", false, platform_user, org_member),
        ("pm@example.com", "Pat Manager", false, platform_pm, org_admin),
    ];
    let mut users = Vec::new();
    for (email, name, is_admin, platform_role, org_role) in people {
        let mut user = new_user(email, name, password_hash.to_owned(), is_admin);
        user.default_organization_id = Some(organization.id);
        let user = user.insert(conn).await?;
        NewUserRole {
            user_id: user.id,
            role_id: platform_role,
        }
        .insert_if_missing(conn)
        .await?;
        NewOrganizationMember {
            organization_id: organization.id,
            user_id: user.id,
            role_id: org_role,
            invited_by: None,
        }
        .insert(conn)
        .await?;
        users.push(user);
    }
    let (admin, user, pm) = (&users[0], &users[1], &users[2]);

    let project = NewProject {
        id: new_id(),
        organization_id: organization.id,
        name: "Support Assistant".into(),
        description: "Answers customer questions from the help center.".into(),
        icon_url: None,
        is_default: true,
        language: Some("en".into()),
        created_by: Some(pm.id),
    }
    .insert(conn)
    .await?;
    for (member, project_role) in [(pm, project_owner), (user, project_member)] {
        NewProjectMember {
            project_id: project.id,
            user_id: member.id,
            role_id: project_role,
            added_by: Some(pm.id),
        }
        .insert(conn)
        .await?;
    }
    NewProjectSettings {
        project_id: project.id,
        default_model: Some("offline/offline".into()),
        enabled_models: vec!["offline/offline".into(), "gpt-4o-mini".into()],
        enabled_tools: vec!["knowledge_search".into()],
        temperature: Some(0.7),
        max_tokens: Some(1024),
        top_p: Some(1.0),
        tone: Some("friendly".into()),
        welcome_message: Some("Hi! Ask me anything about Acme.".into()),
        brand_color: Some("#3355FF".into()),
        logo_url: None,
        custom: json!({ "escalation_email": "support@example.com" }),
        updated_by: Some(pm.id),
    }
    .insert(conn)
    .await?;
    NewProjectQuota {
        project_id: project.id,
        tokens_limit: Some(1_000_000),
        requests_limit: Some(10_000),
        storage_limit_bytes: Some(1 << 30),
        period: QuotaPeriod::Monthly,
        reset_at: None,
    }
    .insert(conn)
    .await?;

    let assistant = NewAssistant {
        id: new_id(),
        organization_id: Some(organization.id),
        project_id: Some(project.id),
        name: "Support Bot".into(),
        description: "Answers from the help center documents.".into(),
        instructions: "Answer briefly and cite the help center.".into(),
        provider: "offline".into(),
        model: crate::providers::offline::NAME.into(),
        temperature: Some(0.3),
        tools: json!([{ "type": "document_search" }]),
        external_id: None,
        created_by: Some(admin.id),
    }
    .insert(conn)
    .await?;

    let conversations: [DemoChat<'_>; 2] = [
        (
            user,
            "Getting started",
            ChatVisibility::Project,
            &[
                (
                    "How do I reset my password?",
                    "Open Settings, choose Security, then Reset password. A link arrives by email.",
                ),
                (
                    "And if the email never arrives?",
                    "Check the spam folder, then ask an administrator to resend the invitation.",
                ),
            ],
        ),
        (
            pm,
            "Billing questions",
            ChatVisibility::Private,
            &[(
                "When are invoices sent?",
                "Invoices are sent on the first day of each month.",
            )],
        ),
    ];
    let start = Utc::now() - Duration::hours(2);
    for (index, (owner, title, visibility, turns)) in conversations.into_iter().enumerate() {
        let chat = NewChat {
            id: new_id(),
            project_id: project.id,
            user_id: owner.id,
            assistant_id: Some(assistant.id),
            title: title.into(),
            model: Some("offline/offline".into()),
            visibility,
            is_default: index == 0,
            external_id: None,
        }
        .insert(conn)
        .await?;
        let mut parent = None;
        let mut last_answer: Option<MessageRow> = None;
        for (question, answer) in turns {
            let asked = NewMessage {
                parent_id: parent,
                ..NewMessage::text(chat.id, Some(owner.id), MessageRole::User, question)
            }
            .insert(conn)
            .await?;
            let (input_tokens, output_tokens) = (word_count(question) * 4 / 3 + 20, word_count(answer) * 4 / 3);
            let cost = BigDecimal::from(input_tokens + output_tokens) / BigDecimal::from(1_000_000);
            let answered = NewMessage {
                parent_id: Some(asked.id),
                model: Some(crate::providers::offline::NAME.into()),
                provider: Some("offline".into()),
                input_tokens: Some(input_tokens as i32),
                output_tokens: Some(output_tokens as i32),
                cost: Some(cost.clone()),
                ..NewMessage::text(chat.id, None, MessageRole::Assistant, answer)
            }
            .insert(conn)
            .await?;
            NewUsageEvent {
                id: new_id(),
                organization_id: organization.id,
                project_id: Some(project.id),
                user_id: Some(owner.id),
                chat_id: Some(chat.id),
                message_id: Some(answered.id),
                api_token_id: None,
                operation: UsageOperation::Chat,
                provider: "offline".into(),
                model: crate::providers::offline::NAME.into(),
                input_tokens,
                output_tokens,
                cached_input_tokens: 0,
                total_tokens: input_tokens + output_tokens,
                input_cost: BigDecimal::from(input_tokens) / BigDecimal::from(1_000_000),
                output_cost: BigDecimal::from(output_tokens) / BigDecimal::from(1_000_000),
                total_cost: cost,
                status: Outcome::Success,
                requested_at: start,
                responded_at: Some(start + Duration::milliseconds(850)),
                duration_ms: Some(850),
                metadata: json!({}),
            }
            .insert(conn)
            .await?;
            parent = Some(answered.id);
            last_answer = Some(answered);
        }
        crate::models::chat::ChatPatch {
            last_message_at: Some(Some(Utc::now())),
            ..Default::default()
        }
        .apply(conn, chat.id)
        .await?;
        if let Some(answer) = last_answer.filter(|_| index == 0) {
            NewMessageFeedback {
                id: new_id(),
                message_id: answer.id,
                chat_id: chat.id,
                user_id: owner.id,
                is_upvoted: Some(true),
                rating: Some(5),
                comment: Some("Clear and quick.".into()),
            }
            .insert(conn)
            .await?;
        }
    }

    let datasource = NewDatasource {
        id: new_id(),
        project_id: project.id,
        name: "Help center".into(),
        kind: DatasourceKind::Manual,
        config: json!({}),
        credential_id: None,
        embedding_model: OfflineHashingEmbedder.model().into(),
    }
    .insert(conn)
    .await?;
    let embedder = OfflineHashingEmbedder;
    for (slug, title, body) in HELP_CENTER {
        let document = NewDocument {
            id: new_id(),
            project_id: project.id,
            datasource_id: Some(datasource.id),
            external_id: Some((*slug).into()),
            title: (*title).into(),
            source_url: Some(format!("https://help.example.com/{slug}")),
            content: (*body).into(),
            content_hash: Some(hex(&Sha256::digest(body.as_bytes()))),
            mime_type: Some("text/plain".into()),
            metadata: json!({}),
            status: DocumentStatus::Indexed,
            indexed_at: Some(Utc::now()),
            origin: crate::db::enums::DocumentOrigin::Text,
            file_id: None,
        }
        .insert(conn)
        .await?;
        for (chunk_index, paragraph) in body.split("\n\n").enumerate() {
            NewDocumentChunk {
                id: new_id(),
                document_id: document.id,
                project_id: project.id,
                chunk_index: chunk_index as i32,
                content: paragraph.into(),
                token_count: word_count(paragraph) as i32,
                embedding: Some(embedder.embed_one(paragraph)),
                embedding_model: Some(embedder.model().into()),
                metadata: json!({}),
            }
            .insert(conn)
            .await?;
        }
    }
    Ok(organization.id)
}

/// A demo chat: its owner, title, visibility, and (question, answer) turns.
type DemoChat<'a> = (
    &'a UserRow,
    &'static str,
    ChatVisibility,
    &'static [(&'static str, &'static str)],
);

const HELP_CENTER: &[(&str, &str, &str)] = &[
    (
        "reset-password",
        "Resetting your password",
        "Open Settings, choose Security, then Reset password. A reset link arrives by email within a minute.\n\n\
         If the email does not arrive, check your spam folder or ask an administrator to resend it.",
    ),
    (
        "invoices",
        "Invoices and billing",
        "Invoices are sent on the first day of each month to the billing contact.\n\n\
         Plans can be changed at any time; the difference is prorated on the next invoice.",
    ),
    (
        "api-tokens",
        "Using API tokens",
        "Create an API token under Settings, API tokens. The token is shown once: store it safely.\n\n\
         Send it as a bearer token in the Authorization header of each request.",
    ),
];

async fn role_id(conn: &mut AsyncPgConnection, scope: RoleScope, name: &str) -> Result<Uuid, DieselError> {
    Ok(RoleRow::find_by_name(conn, scope, name).await?.id)
}

fn new_user(email: &str, name: &str, password_hash: String, is_platform_admin: bool) -> NewUser {
    NewUser {
        password_hash: Some(password_hash),
        is_platform_admin,
        email_confirmed_at: Some(Utc::now()),
        ..NewUser::new(email, name)
    }
}

fn word_count(text: &str) -> i64 {
    text.split_whitespace().count() as i64
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
