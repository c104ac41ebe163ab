//! Every model inserts and reads back unchanged: jsonb, numeric, inet, bytea, text[],
//! vectors and composite keys included.

use std::str::FromStr;

use bigdecimal::BigDecimal;
use chatgraph::{
    db::{enums::*, new_id, schema::document_chunks},
    models::{
        analytics_event::*, api_token::*, artifact::*, assistant::*, audit_log::*, chat::*, credential::*,
        datasource::*, document::*, error_log::*, file::*, identity::*, job::*, message::*, organization::*,
        platform_config::*, project::*, rate_limit::*, repository::*, role::*, session::*, usage_event::*, user::*,
        webhook::*,
    },
    providers::embedding::OfflineHashingEmbedder,
};
use chrono::{Duration, Utc};
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;
use pgvector::VectorExpressionMethods;
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::support::{TestDb, fixtures};

/// Inserts `$new`, then reads it back with `$row::find` and checks both are equal.
macro_rules! round_trip {
    ($conn:expr, $row:ident, $new:expr) => {{
        let inserted = $new.insert($conn).await.expect(concat!("insert ", stringify!($row)));
        let found = $row::find($conn, inserted.id).await.expect("find").expect("row exists");
        assert_eq!(found, inserted);
        inserted
    }};
}

#[tokio::test]
async fn every_model_inserts_and_reads_back() {
    let db = TestDb::migrated().await;
    let conn = &mut db.conn().await;
    let tree = fixtures::tree(conn, "acme").await;
    let (org, user, project, chat) = (&tree.organization, &tree.user, &tree.project, &tree.chat);

    // Identity and access.
    assert_eq!(
        OrganizationRow::find(conn, org.id).await.expect("find"),
        Some(org.clone())
    );
    assert_eq!(
        UserRow::find_by_email(conn, "ACME@example.com").await.expect("find"),
        Some(user.clone())
    );
    let owner = RoleRow::find_by_name(conn, RoleScope::Organization, "owner")
        .await
        .expect("owner role");
    let member = NewOrganizationMember {
        organization_id: org.id,
        user_id: user.id,
        role_id: owner.id,
        invited_by: None,
    }
    .insert(conn)
    .await
    .expect("membership");
    assert_eq!(
        OrganizationMemberRow::for_organizations(conn, &[org.id])
            .await
            .expect("members"),
        vec![member]
    );
    let platform_user = RoleRow::find_by_name(conn, RoleScope::Platform, "user")
        .await
        .expect("role");
    NewUserRole {
        user_id: user.id,
        role_id: platform_user.id,
    }
    .insert_if_missing(conn)
    .await
    .expect("grant");
    assert_eq!(
        NewUserRole {
            user_id: user.id,
            role_id: platform_user.id
        }
        .insert_if_missing(conn)
        .await
        .expect("again"),
        0
    );
    let permissions = PermissionRow::names_for_roles(conn, &[owner.id])
        .await
        .expect("permissions");
    assert!(permissions.contains(&"members.manage".to_owned()));
    let role = round_trip!(
        conn,
        RoleRow,
        NewRole {
            id: new_id(),
            scope: RoleScope::Project,
            name: "reviewer".into(),
            description: "Reviews answers".into(),
        }
    );
    assert_eq!(role.scope, RoleScope::Project);
    round_trip!(
        conn,
        PermissionRow,
        NewPermission {
            id: new_id(),
            name: "answers.review".into(),
            description: String::new()
        }
    );

    let session = round_trip!(
        conn,
        SessionRow,
        NewSession {
            id: new_id(),
            user_id: user.id,
            token_hash: vec![7; 32],
            user_agent: Some("test".into()),
            ip_address: Some("203.0.113.7/32".parse().expect("ip")),
            expires_at: Utc::now() + Duration::days(30),
        }
    );
    round_trip!(
        conn,
        RefreshTokenRow,
        NewRefreshToken {
            id: new_id(),
            session_id: session.id,
            user_id: user.id,
            token_hash: vec![8; 32],
            expires_at: Utc::now() + Duration::days(30),
        }
    );
    let token = round_trip!(
        conn,
        ApiTokenRow,
        NewApiToken {
            id: new_id(),
            user_id: user.id,
            organization_id: Some(org.id),
            name: "ci".into(),
            token_prefix: "cg_abcd".into(),
            token_hash: vec![9; 32],
            scopes: vec!["read".into(), "write".into()],
            expires_at: None,
        }
    );
    assert_eq!(token.scopes, ["read", "write"]);
    let credential = round_trip!(
        conn,
        CredentialRow,
        NewCredential {
            id: new_id(),
            organization_id: org.id,
            name: "OpenAI".into(),
            credential_type: CredentialType::Openai,
            encrypted_data: vec![1, 2, 3, 4],
            key_version: 1,
            created_by: Some(user.id),
        }
    );

    // Projects.
    let project_owner = RoleRow::find_by_name(conn, RoleScope::Project, "owner")
        .await
        .expect("role");
    NewProjectMember {
        project_id: project.id,
        user_id: user.id,
        role_id: project_owner.id,
        added_by: None,
    }
    .insert(conn)
    .await
    .expect("project member");
    let settings = NewProjectSettings {
        project_id: project.id,
        default_model: Some("gpt-4o-mini".into()),
        enabled_models: vec!["gpt-4o-mini".into()],
        enabled_tools: vec!["search".into()],
        temperature: Some(0.5),
        max_tokens: Some(512),
        top_p: Some(0.9),
        tone: None,
        welcome_message: Some("Hi".into()),
        brand_color: Some("#112233".into()),
        logo_url: None,
        custom: json!({ "nested": { "list": [1, 2, 3] } }),
        updated_by: Some(user.id),
    }
    .insert(conn)
    .await
    .expect("settings");
    assert_eq!(settings.custom["nested"]["list"][2], 3);
    let quota = NewProjectQuota {
        project_id: project.id,
        tokens_limit: Some(1000),
        requests_limit: None,
        storage_limit_bytes: Some(1 << 40),
        period: QuotaPeriod::Monthly,
        reset_at: None,
    }
    .insert(conn)
    .await
    .expect("quota");
    assert!(quota.reset_at > Utc::now(), "the default reset time lies ahead");
    round_trip!(
        conn,
        UserIdentityRow,
        NewUserIdentity {
            id: new_id(),
            user_id: user.id,
            issuer: "https://accounts.google.com".into(),
            subject: "1234567890".into(),
            email: Some("someone@example.com".into()),
            last_sign_in_at: Some(Utc::now()),
        }
    );
    let window_start = Utc::now() - Duration::minutes(5);
    round_trip!(
        conn,
        RateLimitCounterRow,
        NewRateLimitCounter {
            id: new_id(),
            user_id: Some(user.id),
            scope: "chat".into(),
            window_kind: RateLimitWindow::Hourly,
            window_start,
            window_end: window_start + Duration::hours(1),
            request_count: 3,
            limit_value: 100,
            subject: None,
        }
    );

    // Conversations.
    let assistant = round_trip!(
        conn,
        AssistantRow,
        NewAssistant {
            id: new_id(),
            organization_id: Some(org.id),
            project_id: Some(project.id),
            name: "Helper".into(),
            description: String::new(),
            instructions: "Be brief.".into(),
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            temperature: Some(0.2),
            tools: json!([{ "type": "search" }]),
            external_id: Some("asst_123".into()),
            created_by: Some(user.id),
        }
    );
    round_trip!(
        conn,
        PlatformConfigRow,
        NewPlatformConfig {
            id: new_id(),
            key: "routing_agent".into(),
            value: json!({ "model": "gpt-4o-mini" }),
            description: String::new(),
            updated_by: Some(user.id),
        }
    );
    let cost = BigDecimal::from_str("0.001234").expect("decimal");
    let answer = round_trip!(
        conn,
        MessageRow,
        NewMessage {
            parent_id: Some(tree.message.id),
            role: MessageRole::Assistant,
            status: MessageStatus::Streaming,
            cost: Some(cost.clone()),
            parts: Some(json!([{ "type": "text", "text": "Hi" }])),
            input_tokens: Some(10),
            output_tokens: Some(2),
            ..fixtures::message(chat.id, None, "Hi")
        }
    );
    assert_eq!(answer.cost, Some(cost.clone()), "numeric(14,6) keeps every digit");
    round_trip!(
        conn,
        MessageFeedbackRow,
        NewMessageFeedback {
            id: new_id(),
            message_id: answer.id,
            chat_id: chat.id,
            user_id: user.id,
            is_upvoted: Some(true),
            rating: Some(4),
            comment: None,
        }
    );
    round_trip!(
        conn,
        MessageStreamRow,
        NewMessageStream {
            id: new_id(),
            chat_id: chat.id,
            message_id: answer.id
        }
    );
    let file = round_trip!(
        conn,
        FileRow,
        NewFile {
            id: new_id(),
            organization_id: org.id,
            project_id: Some(project.id),
            uploaded_by: Some(user.id),
            filename: "notes.txt".into(),
            content_type: "text/plain".into(),
            size_bytes: 5,
            sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824".into(),
            storage_key: format!("files/{}", new_id()),
            external_id: None,
            chat_id: None,
        }
    );
    round_trip!(
        conn,
        FileAttachmentRow,
        NewFileAttachment {
            id: new_id(),
            file_id: file.id,
            assistant_id: Some(assistant.id),
            chat_id: None,
            message_id: None,
        }
    );

    // An artifact with two versions: same id, two rows.
    let artifact_id = new_id();
    let first = NewArtifact {
        id: artifact_id,
        created_at: Some(Utc::now() - Duration::minutes(1)),
        project_id: project.id,
        chat_id: Some(chat.id),
        user_id: user.id,
        title: "Plan".into(),
        kind: ArtifactKind::Text,
        content: Some("v1".into()),
    }
    .insert(conn)
    .await
    .expect("version 1");
    let second = NewArtifact {
        created_at: None,
        content: Some("v2".into()),
        ..first_version(&first)
    }
    .insert(conn)
    .await
    .expect("version 2");
    assert_eq!(
        ArtifactRow::versions(conn, artifact_id).await.expect("versions"),
        vec![first.clone(), second]
    );
    assert_eq!(
        ArtifactRow::find_version(conn, artifact_id, first.created_at)
            .await
            .expect("find"),
        Some(first.clone())
    );
    round_trip!(
        conn,
        ArtifactSuggestionRow,
        NewArtifactSuggestion {
            id: new_id(),
            artifact_id,
            artifact_created_at: first.created_at,
            user_id: user.id,
            original_text: "v1".into(),
            suggested_text: "version one".into(),
            description: Some("clearer".into()),
        }
    );
    round_trip!(
        conn,
        RepositoryRow,
        NewRepository {
            id: new_id(),
            user_id: user.id,
            provider: RepositoryProvider::Github,
            owner: "acme".into(),
            name: "docs".into(),
            url: "https://github.com/acme/docs".into(),
            default_branch: "main".into(),
        }
    );

    // Knowledge, with real vectors.
    let datasource = round_trip!(
        conn,
        DatasourceRow,
        NewDatasource {
            id: new_id(),
            project_id: project.id,
            name: "Help".into(),
            kind: DatasourceKind::Manual,
            config: json!({}),
            credential_id: Some(credential.id),
            embedding_model: "offline/chatgraph-offline-hashing-v1".into(),
        }
    );
    let document = round_trip!(
        conn,
        DocumentRow,
        NewDocument {
            id: new_id(),
            project_id: project.id,
            datasource_id: Some(datasource.id),
            external_id: Some("doc-1".into()),
            title: "Passwords".into(),
            source_url: None,
            content: "Reset your password in settings.".into(),
            content_hash: None,
            mime_type: Some("text/plain".into()),
            metadata: json!({ "lang": "en" }),
            status: DocumentStatus::Indexed,
            indexed_at: Some(Utc::now()),
            origin: chatgraph::db::enums::DocumentOrigin::Text,
            file_id: None,
        }
    );
    let embedder = OfflineHashingEmbedder;
    let texts = [
        "Reset your password in settings.",
        "Invoices arrive monthly.",
        "Tokens are shown once.",
    ];
    for (index, text) in texts.iter().enumerate() {
        round_trip!(
            conn,
            DocumentChunkRow,
            NewDocumentChunk {
                id: new_id(),
                document_id: document.id,
                project_id: project.id,
                chunk_index: index as i32,
                content: (*text).into(),
                token_count: 5,
                embedding: Some(embedder.embed_one(text)),
                embedding_model: Some(embedder.model().into()),
                metadata: json!({}),
            }
        );
    }
    let nearest: Vec<String> = document_chunks::table
        .filter(document_chunks::project_id.eq(project.id))
        .order(document_chunks::embedding.cosine_distance(embedder.embed_one("how to reset a password")))
        .select(document_chunks::content)
        .limit(1)
        .load(conn)
        .await
        .expect("nearest neighbour");
    assert_eq!(nearest, ["Reset your password in settings."]);

    // Records and operations.
    round_trip!(
        conn,
        UsageEventRow,
        NewUsageEvent {
            id: new_id(),
            organization_id: org.id,
            project_id: Some(project.id),
            user_id: Some(user.id),
            chat_id: Some(chat.id),
            message_id: Some(answer.id),
            api_token_id: Some(token.id),
            operation: UsageOperation::Chat,
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            input_tokens: 10,
            output_tokens: 2,
            cached_input_tokens: 0,
            total_tokens: 12,
            input_cost: BigDecimal::from_str("0.001").expect("decimal"),
            output_cost: BigDecimal::from_str("0.000234").expect("decimal"),
            total_cost: cost,
            status: Outcome::Success,
            requested_at: Utc::now(),
            responded_at: Some(Utc::now()),
            duration_ms: Some(120),
            metadata: json!({}),
        }
    );
    round_trip!(
        conn,
        AuditLogRow,
        NewAuditLog {
            id: new_id(),
            organization_id: Some(org.id),
            project_id: Some(project.id),
            actor_user_id: Some(user.id),
            api_token_id: None,
            action: "project.update".into(),
            resource_type: Some("project".into()),
            resource_id: Some(project.id.to_string()),
            details: json!({ "changed": ["name"] }),
            ip_address: Some("2001:db8::1/128".parse().expect("ip")),
            user_agent: Some("test".into()),
            status: Outcome::Success,
            error_message: None,
            chat_id: None,
        }
    );
    round_trip!(
        conn,
        ErrorLogRow,
        NewErrorLog {
            id: new_id(),
            request_id: Some("req-1".into()),
            user_id: Some(user.id),
            operation: Some("sendMessage".into()),
            path: Some("/graphql".into()),
            code: "INTERNAL".into(),
            message: "provider timed out".into(),
            details: json!({}),
        }
    );
    round_trip!(
        conn,
        AnalyticsEventRow,
        NewAnalyticsEvent {
            id: new_id(),
            project_id: project.id,
            user_id: Some(user.id),
            chat_id: Some(chat.id),
            name: "chat_opened".into(),
            properties: json!({ "source": "sidebar" }),
            occurred_at: Utc::now(),
        }
    );
    round_trip!(
        conn,
        WebhookSubscriptionRow,
        NewWebhookSubscription {
            id: new_id(),
            project_id: project.id,
            url: "https://hooks.example.com/chatgraph".into(),
            encrypted_secret: vec![42; 44],
            key_version: 1,
            event_types: vec!["message.created".into()],
            description: String::new(),
            created_by: Some(user.id),
        }
    );
    let job = round_trip!(
        conn,
        JobRow,
        NewJob {
            id: new_id(),
            project_id: Some(project.id),
            kind: "document.ingest".into(),
            payload: json!({ "document_id": document.id }),
            priority: 5,
            max_attempts: 3,
            run_at: None,
            unique_key: None,
        }
    );
    assert_eq!(job.status, JobStatus::Queued);
}

fn first_version(row: &ArtifactRow) -> NewArtifact {
    NewArtifact {
        id: row.id,
        created_at: Some(row.created_at),
        project_id: row.project_id,
        chat_id: row.chat_id,
        user_id: row.user_id,
        title: row.title.clone(),
        kind: row.kind,
        content: row.content.clone(),
    }
}

#[tokio::test]
async fn patches_change_only_what_they_name_and_bump_updated_at() {
    let db = TestDb::migrated().await;
    let conn = &mut db.conn().await;
    let tree = fixtures::tree(conn, "patch").await;
    let patched = ChatPatch {
        title: Some("Renamed".into()),
        is_starred: Some(true),
        ..Default::default()
    }
    .apply(conn, tree.chat.id)
    .await
    .expect("patch");
    assert_eq!(patched.title, "Renamed");
    assert!(patched.is_starred);
    assert_eq!(patched.visibility, tree.chat.visibility);
    assert!(
        patched.updated_at > tree.chat.updated_at,
        "the trigger bumps updated_at"
    );
    let cleared = ProjectPatch {
        language: Some(None),
        ..Default::default()
    }
    .apply(conn, tree.project.id)
    .await
    .expect("clear");
    assert_eq!(cleared.language, None);
    assert_eq!(cleared.name, tree.project.name);
}

/// A project membership carries its project's organization (the read rules probe it): set on
/// insert whatever the writer passes, and moved with the project.
#[tokio::test]
async fn a_project_membership_follows_its_projects_organization() {
    let db = TestDb::migrated().await;
    let conn = &mut db.conn().await;
    let tree = fixtures::tree(conn, "acme").await;
    let other = fixtures::organization("other")
        .insert(conn)
        .await
        .expect("organization");
    let member = RoleRow::find_by_name(conn, RoleScope::Project, "member")
        .await
        .expect("role");
    let membership = NewProjectMember {
        project_id: tree.project.id,
        user_id: tree.user.id,
        role_id: member.id,
        added_by: None,
    }
    .insert(conn)
    .await
    .expect("membership");
    assert_eq!(membership.organization_id, tree.organization.id);

    use chatgraph::db::schema::{project_members, projects};
    diesel::update(projects::table.find(tree.project.id))
        .set(projects::organization_id.eq(other.id))
        .execute(conn)
        .await
        .expect("move the project");
    let moved: uuid::Uuid = project_members::table
        .filter(project_members::project_id.eq(tree.project.id))
        .select(project_members::organization_id)
        .first(conn)
        .await
        .expect("membership");
    assert_eq!(moved, other.id);
}
