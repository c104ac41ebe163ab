//! Deletion behaves as data-model.md says: what lies beneath goes with its parent, records
//! that outlive it keep a null reference.

use bigdecimal::BigDecimal;
use chatgraph::{
    db::{enums::*, new_id, schema},
    models::{
        chat::ChatRow,
        document::{DocumentChunkRow, DocumentRow, NewDocument, NewDocumentChunk},
        message::{MessageFeedbackRow, MessageRow, MessageStreamRow, NewMessageFeedback, NewMessageStream},
        usage_event::{NewUsageEvent, UsageEventRow},
    },
    providers::embedding::OfflineHashingEmbedder,
};
use chrono::Utc;
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::support::{TestDb, fixtures};

#[tokio::test]
async fn deleting_a_chat_removes_its_messages_feedback_and_streams_but_keeps_usage() {
    let db = TestDb::migrated().await;
    let conn = &mut db.conn().await;
    let tree = fixtures::tree(conn, "chatdel").await;
    let feedback = NewMessageFeedback {
        id: new_id(),
        message_id: tree.message.id,
        chat_id: tree.chat.id,
        user_id: tree.user.id,
        is_upvoted: Some(false),
        rating: None,
        comment: None,
    }
    .insert(conn)
    .await
    .expect("feedback");
    let stream = NewMessageStream {
        id: new_id(),
        chat_id: tree.chat.id,
        message_id: tree.message.id,
    }
    .insert(conn)
    .await
    .expect("stream");
    let usage = NewUsageEvent {
        id: new_id(),
        organization_id: tree.organization.id,
        project_id: Some(tree.project.id),
        user_id: Some(tree.user.id),
        chat_id: Some(tree.chat.id),
        message_id: Some(tree.message.id),
        api_token_id: None,
        operation: UsageOperation::Chat,
        provider: "offline".into(),
        model: "m".into(),
        input_tokens: 1,
        output_tokens: 1,
        cached_input_tokens: 0,
        total_tokens: 2,
        input_cost: BigDecimal::from(0),
        output_cost: BigDecimal::from(0),
        total_cost: BigDecimal::from(0),
        status: Outcome::Success,
        requested_at: Utc::now(),
        responded_at: None,
        duration_ms: None,
        metadata: json!({}),
    }
    .insert(conn)
    .await
    .expect("usage");

    let deleted = diesel::delete(schema::chats::table.find(tree.chat.id))
        .execute(conn)
        .await
        .expect("delete chat");
    assert_eq!(deleted, 1);
    assert_eq!(MessageRow::find(conn, tree.message.id).await.expect("find"), None);
    assert_eq!(MessageFeedbackRow::find(conn, feedback.id).await.expect("find"), None);
    assert_eq!(MessageStreamRow::find(conn, stream.id).await.expect("find"), None);
    let kept = UsageEventRow::find(conn, usage.id)
        .await
        .expect("find")
        .expect("usage event kept");
    assert_eq!((kept.chat_id, kept.message_id), (None, None));
    assert_eq!(kept.project_id, Some(tree.project.id));
}

#[tokio::test]
async fn deleting_a_project_removes_its_chats_documents_and_chunks() {
    let db = TestDb::migrated().await;
    let conn = &mut db.conn().await;
    let tree = fixtures::tree(conn, "projdel").await;
    let document = NewDocument {
        id: new_id(),
        project_id: tree.project.id,
        datasource_id: None,
        external_id: None,
        title: "Doc".into(),
        source_url: None,
        content: "text".into(),
        content_hash: None,
        mime_type: None,
        metadata: json!({}),
        status: DocumentStatus::Indexed,
        indexed_at: None,
        origin: chatgraph::db::enums::DocumentOrigin::Text,
        file_id: None,
    }
    .insert(conn)
    .await
    .expect("document");
    let chunk = NewDocumentChunk {
        id: new_id(),
        document_id: document.id,
        project_id: tree.project.id,
        chunk_index: 0,
        content: "text".into(),
        token_count: 1,
        embedding: Some(OfflineHashingEmbedder.embed_one("text")),
        embedding_model: Some("offline/chatgraph-offline-hashing-v1".into()),
        metadata: json!({}),
    }
    .insert(conn)
    .await
    .expect("chunk");

    diesel::delete(schema::projects::table.find(tree.project.id))
        .execute(conn)
        .await
        .expect("delete project");
    assert_eq!(ChatRow::find(conn, tree.chat.id).await.expect("find"), None);
    assert_eq!(MessageRow::find(conn, tree.message.id).await.expect("find"), None);
    assert_eq!(DocumentRow::find(conn, document.id).await.expect("find"), None);
    assert_eq!(DocumentChunkRow::find(conn, chunk.id).await.expect("find"), None);
    let organizations: i64 = schema::organizations::table
        .filter(schema::organizations::id.eq(tree.organization.id))
        .count()
        .get_result(conn)
        .await
        .expect("count");
    assert_eq!(organizations, 1, "the parent organization stays");
}
