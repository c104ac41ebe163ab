//! The `Granted` rule (`auth/placed.rs`) through the HTTP endpoint: a write on an existing
//! object is checked in that object's own place. A caller with every right in their own
//! project still finds another project's objects NOT_FOUND; and the writes that touch a chat
//! (attaching files, detaching them, artifacts, analytics events) take the right to write to
//! that chat, not only a right somewhere in its project.

use chatgraph::graphql::node::{decode_global_id, global_id};
use serde_json::{Value, json};

use crate::{
    support::Team,
    support::{TestDb, code, user_errors},
    uploads::{team_with_files, upload},
};

/// A chat of the team's project by `token` with `visibility`.
async fn chat(team: &Team, token: &str, visibility: &str) -> Value {
    let (payload, body) = team
        .mutate(
            token,
            "createChat",
            "mutation($input: CreateChatInput!) { createChat(input: $input) { chat { id } } }",
            json!({ "projectId": team.project, "visibility": visibility }),
        )
        .await;
    assert!(payload["chat"]["id"].is_string(), "{body}");
    payload["chat"]["id"].clone()
}

/// Creates an object of the team's project as the owner and returns its id.
async fn made(team: &Team, field: &str, query: &str, input: Value, object: &str) -> Value {
    let (payload, body) = team.mutate(&team.owner, field, query, input).await;
    let id = payload[object]["id"].clone();
    assert!(id.is_string(), "{field}: {body}");
    id
}

#[tokio::test]
async fn a_write_on_an_existing_object_is_checked_in_that_objects_place() {
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let project = team.project.clone();
    let chat = chat(&team, &team.owner, "PROJECT").await;
    let message = made(
        &team,
        "postMessage",
        "mutation($input: PostMessageInput!) { postMessage(input: $input) { message { id } } }",
        json!({ "chatId": chat, "content": "hello" }),
        "message",
    )
    .await;
    let datasource = made(
        &team,
        "createDatasource",
        "mutation($input: CreateDatasourceInput!) { createDatasource(input: $input) { datasource { id } } }",
        json!({ "projectId": project, "name": "Docs" }),
        "datasource",
    )
    .await;
    let document = made(
        &team,
        "createDocument",
        "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { document { id } } }",
        json!({ "projectId": project, "title": "Notes", "content": "text" }),
        "document",
    )
    .await;
    let assistant = made(
        &team,
        "createAssistant",
        "mutation($input: CreateAssistantInput!) { createAssistant(input: $input) { assistant { id } } }",
        json!({ "projectId": project, "name": "Helper", "provider": "openai", "model": "gpt-4o" }),
        "assistant",
    )
    .await;
    let artifact = made(
        &team,
        "createArtifact",
        "mutation($input: CreateArtifactInput!) { createArtifact(input: $input) { artifact { id } } }",
        json!({ "projectId": project, "title": "Plan", "content": "v1" }),
        "artifact",
    )
    .await;
    let webhook = made(
        &team,
        "createWebhookSubscription",
        "mutation($input: CreateWebhookSubscriptionInput!) { createWebhookSubscription(input: $input) { webhookSubscription { id } } }",
        json!({ "projectId": project, "url": "https://hooks.example.com/in", "eventTypes": ["chat.created"] }),
        "webhookSubscription",
    )
    .await;
    let credential = made(
        &team,
        "createCredential",
        "mutation($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id } } }",
        json!({ "organizationId": team.organization, "name": "OpenAI", "credentialType": "OPENAI", "secret": "sk-test" }),
        "credential",
    )
    .await;

    let suggestion = made(
        &team,
        "createArtifactSuggestion",
        "mutation($input: CreateArtifactSuggestionInput!) { createArtifactSuggestion(input: $input) { suggestion { id } } }",
        json!({ "artifactVersionId": artifact, "originalText": "v1", "suggestedText": "v2" }),
        "suggestion",
    )
    .await;
    let invitation = made(
        &team,
        "inviteOrganizationMember",
        "mutation($input: InviteOrganizationMemberInput!) { inviteOrganizationMember(input: $input) { invitation { id } } }",
        json!({ "organizationId": team.organization, "email": "newcomer@example.com", "role": "MEMBER" }),
        "invitation",
    )
    .await;

    // The outsider holds every right in their own workspace, and none here: each of these
    // writes on one of these objects is NOT_FOUND, never FORBIDDEN (which would confirm the id).
    let writes = [
        ("updateChat", "UpdateChatInput", json!({ "id": chat, "title": "x" })),
        ("deleteChat", "DeleteChatInput", json!({ "id": chat })),
        (
            "editMessage",
            "EditMessageInput",
            json!({ "id": message, "content": "x" }),
        ),
        ("deleteMessage", "DeleteMessageInput", json!({ "id": message })),
        (
            "updateDatasource",
            "UpdateDatasourceInput",
            json!({ "id": datasource, "name": "x" }),
        ),
        ("deleteDatasource", "DeleteKnowledgeInput", json!({ "id": datasource })),
        (
            "updateDocument",
            "UpdateDocumentInput",
            json!({ "id": document, "title": "x" }),
        ),
        ("deleteDocument", "DeleteKnowledgeInput", json!({ "id": document })),
        (
            "updateAssistant",
            "UpdateAssistantInput",
            json!({ "id": assistant, "name": "x" }),
        ),
        ("deactivateAssistant", "AssistantStateInput", json!({ "id": assistant })),
        ("activateAssistant", "AssistantStateInput", json!({ "id": assistant })),
        (
            "saveArtifactVersion",
            "SaveArtifactVersionInput",
            json!({ "artifactId": artifact, "content": "x" }),
        ),
        (
            "updateWebhookSubscription",
            "UpdateWebhookSubscriptionInput",
            json!({ "id": webhook, "description": "x" }),
        ),
        (
            "pauseWebhookSubscription",
            "WebhookSubscriptionInput",
            json!({ "id": webhook }),
        ),
        (
            "resumeWebhookSubscription",
            "WebhookSubscriptionInput",
            json!({ "id": webhook }),
        ),
        (
            "deleteWebhookSubscription",
            "WebhookSubscriptionInput",
            json!({ "id": webhook }),
        ),
        (
            "createArtifactSuggestion",
            "CreateArtifactSuggestionInput",
            json!({ "artifactVersionId": artifact, "originalText": "v1", "suggestedText": "x" }),
        ),
        (
            "resolveArtifactSuggestion",
            "ResolveArtifactSuggestionInput",
            json!({ "id": suggestion }),
        ),
        ("revokeInvitation", "RevokeInvitationInput", json!({ "id": invitation })),
        ("rotateCredential", "RotateCredentialInput", json!({ "id": credential })),
        ("deleteCredential", "DeleteCredentialInput", json!({ "id": credential })),
    ];
    assert_eq!(writes.len(), 21);
    let mut compared = 0;
    for (field, input_type, input) in &writes {
        let query = format!("mutation($input: {input_type}!) {{ {field}(input: $input) {{ __typename }} }}");
        let (_, body) = team
            .api
            .run(Some(&team.outsider), &query, json!({ "input": input }))
            .await;
        assert_eq!(code(&body), "NOT_FOUND", "{field} by an outsider: {body}");
        // Another tenant's object and one that does not exist answer alike, word for word.
        let Some(absent) = absent_twin(input) else { continue };
        let (_, missing) = team
            .api
            .run(Some(&team.outsider), &query, json!({ "input": absent }))
            .await;
        assert_eq!(
            body["errors"][0]["message"], missing["errors"][0]["message"],
            "{field}: {body} / {missing}"
        );
        compared += 1;
    }
    assert_eq!(
        compared, 19,
        "all but the two writes that take a composite artifact version id"
    );
    // And nothing changed: the owner still reads every object as it was.
    let (_, body) = team
        .api
        .run(
            Some(&team.owner),
            "query($ids: [ID!]!) { nodes(ids: $ids) { __typename } }",
            json!({ "ids": [chat, message, datasource, document, assistant, webhook, credential, suggestion, invitation] }),
        )
        .await;
    let found = body["data"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|n| n.is_object())
        .count();
    assert_eq!(found, 9, "{body}");
}

/// `input` with its id replaced by a fresh id of the same type (None for composite ids).
fn absent_twin(input: &Value) -> Option<Value> {
    let (key, id) = input
        .as_object()?
        .iter()
        .find(|(k, _)| k.ends_with("id") || k.ends_with("Id"))?;
    let (type_name, _) = decode_global_id(&async_graphql::ID(id.as_str()?.to_owned())).ok()?;
    let mut twin = input.clone();
    twin[key] = json!(global_id(&type_name, uuid::Uuid::new_v4()).0);
    Some(twin)
}

const ATTACH: &str = "mutation($input: AttachFileInput!) { attachFile(input: $input) { \
    attachment { id } userErrors { field code } } }";
const DETACH: &str =
    "mutation($input: DetachFileInput!) { detachFile(input: $input) { deletedId userErrors { code } } }";

#[tokio::test]
async fn writes_into_a_chat_take_the_right_to_write_to_that_chat() {
    let db = TestDb::migrated().await;
    let (team, _dir) = team_with_files(&db).await;
    // The owner's private chat: the member holds chat.write in the project but cannot see it.
    let private = chat(&team, &team.owner, "PRIVATE").await;
    let (_, body) = upload(
        &team.api,
        &team.member,
        &team.project,
        "notes.txt",
        "text/plain",
        b"hi".to_vec(),
    )
    .await;
    let file = body["data"]["uploadFile"]["file"]["id"].clone();
    assert!(file.is_string(), "{body}");

    // attachFile: the member's file into the owner's private chat.
    let (payload, body) = team
        .mutate(
            &team.member,
            "attachFile",
            ATTACH,
            json!({ "fileId": file, "chatId": private }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.chatId:NOT_FOUND"], "{body}");

    // detachFile: the owner attaches it to their private chat; the member may not undo it.
    let (payload, body) = team
        .mutate(
            &team.owner,
            "attachFile",
            ATTACH,
            json!({ "fileId": file, "chatId": private }),
        )
        .await;
    let attachment = payload["attachment"]["id"].clone();
    assert!(attachment.is_string(), "{body}");
    let (_, body) = team
        .api
        .run(
            Some(&team.member),
            DETACH,
            json!({ "input": { "attachmentId": attachment } }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    let (payload, body) = team
        .mutate(&team.owner, "detachFile", DETACH, json!({ "attachmentId": attachment }))
        .await;
    assert_eq!(payload["deletedId"], attachment, "{body}");

    // createArtifact in the owner's private chat.
    let (payload, body) = team
        .mutate(
            &team.member,
            "createArtifact",
            "mutation($input: CreateArtifactInput!) { createArtifact(input: $input) { artifact { id } userErrors { field code } } }",
            json!({ "projectId": team.project, "chatId": private, "title": "Plan", "content": "v1" }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.chatId:NOT_FOUND"], "{body}");

    // trackEvents about the owner's private chat, next to a good event about the member's own.
    let own = chat(&team, &team.member, "PROJECT").await;
    let (payload, body) = team
        .mutate(
            &team.member,
            "trackEvents",
            "mutation($input: TrackEventsInput!) { trackEvents(input: $input) { accepted userErrors { field code } } }",
            json!({ "projectId": team.project, "events": [
                { "name": "chat.opened", "chatId": own },
                { "name": "chat.opened", "chatId": private },
            ] }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.events.1.chatId:NOT_FOUND"], "{body}");
    assert_eq!(payload["accepted"], json!(0), "all or none: {body}");

    // The same writes into a chat the member may write to go through.
    let (payload, body) = team
        .mutate(
            &team.member,
            "attachFile",
            ATTACH,
            json!({ "fileId": file, "chatId": own }),
        )
        .await;
    assert!(payload["attachment"]["id"].is_string(), "{body}");
}

#[tokio::test]
async fn an_error_returned_with_question_mark_keeps_its_code_and_request_id() {
    // `Organization.credentials` returns the authorization core's error with `?`: the
    // conversion (`From<AppError> for async_graphql::Error`) must keep the stable code and
    // the request id, as `ctx.error` does.
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let (_, body) = team
        .api
        .run(
            Some(&team.member),
            "query($id: ID!) { node(id: $id) { ... on Organization { credentials { id } } } }",
            json!({ "id": team.organization }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    assert_eq!(body["errors"][0]["message"], "not allowed", "{body}");
    assert!(body["errors"][0]["extensions"]["requestId"].is_string(), "{body}");
}
