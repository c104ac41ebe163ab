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
    let compared = answered_as_absent(&team, &writes).await;
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

/// Runs each write as the outsider: NOT_FOUND (an error or a user error), and the same
/// words as for an id that does not exist (its absent twin). Returns how many were compared.
async fn answered_as_absent(team: &Team, writes: &[(&str, &str, Value)]) -> usize {
    let mut compared = 0;
    for (field, input_type, input) in writes {
        let query = format!(
            "mutation($input: {input_type}!) {{ {field}(input: $input) {{ __typename userErrors {{ code message }} }} }}"
        );
        let answer = async |input: &Value| {
            let (_, body) = team
                .api
                .run(Some(&team.outsider), &query, json!({ "input": input }))
                .await;
            let refusal = match body["errors"][0].is_object() {
                true => body["errors"][0].clone(),
                false => body["data"][field]["userErrors"][0].clone(),
            };
            let code = refusal["extensions"]["code"].as_str().or(refusal["code"].as_str());
            assert_eq!(code, Some("NOT_FOUND"), "{field} by an outsider: {body}");
            refusal["message"].clone()
        };
        let message = answer(input).await;
        // Another tenant's object and one that does not exist answer alike, word for word.
        let Some(absent) = absent_twin(input) else { continue };
        assert_eq!(message, answer(&absent).await, "{field}");
        compared += 1;
    }
    compared
}

#[tokio::test]
async fn every_write_naming_a_place_answers_an_outsider_as_if_it_did_not_exist() {
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let (project, organization) = (team.project.clone(), team.organization.clone());
    let member = team.user_id(&team.member).await;
    let chat = chat(&team, &team.owner, "PROJECT").await;
    let (payload, body) = team
        .mutate(
            &team.owner,
            "sendMessage",
            "mutation($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }",
            json!({ "chatId": chat, "content": "hello" }),
        )
        .await;
    let answer = payload["assistantMessage"]["id"].clone();
    assert!(answer.is_string(), "{body}");
    let (payload, _) = team
        .mutate(
            &team.owner,
            "createApiToken",
            "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { apiToken { id } } }",
            json!({ "name": "ci" }),
        )
        .await;
    let api_token = payload["apiToken"]["id"].clone();
    let (payload, _) = team
        .mutate(
            &team.owner,
            "connectRepository",
            "mutation($input: ConnectRepositoryInput!) { connectRepository(input: $input) { repository { id } } }",
            json!({ "owner": "acme", "name": "site" }),
        )
        .await;
    let repository = payload["repository"]["id"].clone();
    assert!(api_token.is_string() && repository.is_string());

    let writes = [
        (
            "updateProject",
            "UpdateProjectInput",
            json!({ "id": project, "name": "x" }),
        ),
        ("archiveProject", "ProjectLifecycleInput", json!({ "id": project })),
        ("restoreProject", "ProjectLifecycleInput", json!({ "id": project })),
        ("deleteProject", "ProjectLifecycleInput", json!({ "id": project })),
        (
            "setProjectMemberRole",
            "SetProjectMemberRoleInput",
            json!({ "projectId": project, "userId": member, "role": "VIEWER" }),
        ),
        (
            "removeProjectMember",
            "RemoveProjectMemberInput",
            json!({ "projectId": project, "userId": member }),
        ),
        (
            "updateProjectSettings",
            "UpdateProjectSettingsInput",
            json!({ "projectId": project, "tone": "x" }),
        ),
        ("createChat", "CreateChatInput", json!({ "projectId": project })),
        (
            "createArtifact",
            "CreateArtifactInput",
            json!({ "projectId": project, "title": "x" }),
        ),
        (
            "createAssistant",
            "CreateAssistantInput",
            json!({ "projectId": project, "name": "x", "provider": "openai", "model": "gpt-4o" }),
        ),
        (
            "createDatasource",
            "CreateDatasourceInput",
            json!({ "projectId": project, "name": "x" }),
        ),
        (
            "createDocument",
            "CreateDocumentInput",
            json!({ "projectId": project, "title": "x", "content": "x" }),
        ),
        (
            "createWebhookSubscription",
            "CreateWebhookSubscriptionInput",
            json!({ "projectId": project, "url": "https://hooks.example.com/x", "eventTypes": ["chat.created"] }),
        ),
        (
            "updateOrganization",
            "UpdateOrganizationInput",
            json!({ "id": organization, "name": "x" }),
        ),
        (
            "deleteOrganization",
            "DeleteOrganizationInput",
            json!({ "id": organization }),
        ),
        (
            "setOrganizationMemberRole",
            "SetOrganizationMemberRoleInput",
            json!({ "organizationId": organization, "userId": member, "role": "ADMIN" }),
        ),
        (
            "removeOrganizationMember",
            "RemoveOrganizationMemberInput",
            json!({ "organizationId": organization, "userId": member }),
        ),
        (
            "inviteOrganizationMember",
            "InviteOrganizationMemberInput",
            json!({ "organizationId": organization, "email": "x@example.com", "role": "MEMBER" }),
        ),
        (
            "createCredential",
            "CreateCredentialInput",
            json!({ "organizationId": organization, "name": "x", "credentialType": "OPENAI", "secret": "x" }),
        ),
        (
            "postMessage",
            "PostMessageInput",
            json!({ "chatId": chat, "content": "x" }),
        ),
        (
            "sendMessage",
            "SendMessageInput",
            json!({ "chatId": chat, "content": "x" }),
        ),
        ("regenerateMessage", "AnswerInput", json!({ "messageId": answer })),
        ("stopGeneration", "AnswerInput", json!({ "messageId": answer })),
        (
            "voteMessage",
            "VoteMessageInput",
            json!({ "messageId": answer, "vote": "UP" }),
        ),
        (
            "rateMessage",
            "RateMessageInput",
            json!({ "messageId": answer, "rating": 5 }),
        ),
        (
            "removeMessageFeedback",
            "RemoveMessageFeedbackInput",
            json!({ "messageId": answer }),
        ),
        ("revokeApiToken", "RevokeApiTokenInput", json!({ "id": api_token })),
        ("deactivateRepository", "RepositoryInput", json!({ "id": repository })),
        ("activateRepository", "RepositoryInput", json!({ "id": repository })),
        ("disconnectRepository", "RepositoryInput", json!({ "id": repository })),
    ];
    assert_eq!(answered_as_absent(&team, &writes).await, writes.len());
    // Nothing changed: the project, its chat and the owner's token and repository are there.
    let (_, body) = team
        .api
        .run(
            Some(&team.owner),
            "query($ids: [ID!]!) { nodes(ids: $ids) { __typename } viewer { apiTokens { id } repositories(first: 5) { totalCount } } }",
            json!({ "ids": [project, organization, chat, answer] }),
        )
        .await;
    assert_eq!(
        body["data"]["nodes"]
            .as_array()
            .map(|n| n.iter().filter(|n| n.is_object()).count()),
        Some(4),
        "{body}"
    );
    assert_eq!(body["data"]["viewer"]["apiTokens"][0]["id"], api_token, "{body}");
    assert_eq!(body["data"]["viewer"]["repositories"]["totalCount"], 1, "{body}");
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
