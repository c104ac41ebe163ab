//! Writes on conversations through the HTTP endpoint: posting, editing and deleting
//! messages; votes, ratings and comments; artifacts with versions and suggestions. Each with
//! its happy path, exact `userErrors` that write nothing, callers without the right, and the
//! audit row.

use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use crate::{
    support::Team,
    support::{TestDb, audit_trail, code, names, user_errors},
};

const CREATE_CHAT: &str =
    "mutation($input: CreateChatInput!) { createChat(input: $input) { chat { id uuid } userErrors { code } } }";
const POST: &str = "mutation($input: PostMessageInput!) { postMessage(input: $input) { \
    message { id role content author { email } chat { lastMessageAt } } userErrors { field code } } }";
const EDIT: &str = "mutation($input: EditMessageInput!) { editMessage(input: $input) { message { id content } userErrors { field code } } }";
const DELETE: &str =
    "mutation($input: DeleteMessageInput!) { deleteMessage(input: $input) { deletedMessageId userErrors { code } } }";
const VOTE: &str = "mutation($input: VoteMessageInput!) { voteMessage(input: $input) { \
    feedback { isUpvoted rating comment } message { id feedbackSummary { upvotes downvotes } } userErrors { field code } } }";
const RATE: &str = "mutation($input: RateMessageInput!) { rateMessage(input: $input) { \
    feedback { isUpvoted rating comment } userErrors { field code } } }";
const UNVOTE: &str = "mutation($input: RemoveMessageFeedbackInput!) { removeMessageFeedback(input: $input) { \
    feedback { rating } message { feedbackSummary { upvotes downvotes } } userErrors { code } } }";

async fn chat(team: &Team, token: &str, visibility: &str) -> (Value, String) {
    let (payload, body) = team
        .mutate(
            token,
            "createChat",
            CREATE_CHAT,
            json!({ "projectId": team.project, "visibility": visibility }),
        )
        .await;
    let chat = &payload["chat"];
    assert!(chat["id"].is_string(), "{body}");
    (chat["id"].clone(), chat["uuid"].as_str().expect("uuid").to_owned())
}

#[tokio::test]
async fn messages_are_posted_edited_and_deleted_by_those_who_may() {
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let (chat, _) = chat(&team, &team.member, "PROJECT").await;

    let (payload, body) = team
        .mutate(
            &team.member,
            "postMessage",
            POST,
            json!({ "chatId": chat, "content": "Hello there" }),
        )
        .await;
    let message = &payload["message"];
    assert_eq!(
        (&message["role"], &message["content"], &message["author"]["email"]),
        (&json!("USER"), &json!("Hello there"), &json!("member@example.com")),
        "{body}"
    );
    assert!(message["chat"]["lastMessageAt"].is_string(), "{body}");
    let first = message["id"].clone();

    // Validation: nothing written.
    let conn = &mut db.conn().await;
    let count = "SELECT count(*)::text AS name FROM messages";
    let before = names(conn, count).await;
    let (payload, _) = team
        .mutate(
            &team.member,
            "postMessage",
            POST,
            json!({ "chatId": chat, "content": "   " }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.content:INVALID_LENGTH"]);
    let (payload, _) = team
        .mutate(
            &team.member,
            "postMessage",
            POST,
            json!({ "chatId": chat, "content": "x", "parentId": team.project }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.parentId:INVALID_ID"]);
    assert_eq!(names(conn, count).await, before);

    // A reply to the first message.
    let (payload, body) = team
        .mutate(
            &team.member,
            "postMessage",
            POST,
            json!({ "chatId": chat, "content": "And more", "parentId": first }),
        )
        .await;
    assert_eq!(user_errors(&payload), Vec::<String>::new(), "{body}");

    // Who may not: the viewer reads the project chat but never writes; the outsider cannot
    // see it; anonymous callers must sign in.
    let (_, body) = team
        .mutate(
            &team.viewer,
            "postMessage",
            POST,
            json!({ "chatId": chat, "content": "hi" }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, body) = team
        .mutate(
            &team.outsider,
            "postMessage",
            POST,
            json!({ "chatId": chat, "content": "hi" }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    let (_, body) = team
        .api
        .run(None, POST, json!({ "input": { "chatId": chat, "content": "hi" } }))
        .await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
    assert_eq!(
        names(conn, count).await,
        vec![(before[0].parse::<i32>().expect("n") + 1).to_string()]
    );

    // Edits: the author only.
    let (payload, body) = team
        .mutate(
            &team.member,
            "editMessage",
            EDIT,
            json!({ "id": first, "content": "Hello again" }),
        )
        .await;
    assert_eq!(payload["message"]["content"], "Hello again", "{body}");
    let (_, body) = team
        .mutate(
            &team.owner,
            "editMessage",
            EDIT,
            json!({ "id": first, "content": "Not mine" }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (payload, _) = team
        .mutate(&team.member, "editMessage", EDIT, json!({ "id": first, "content": "" }))
        .await;
    assert_eq!(user_errors(&payload), vec!["input.content:INVALID_LENGTH"]);

    // Deletes: the author, or someone who may change the chat (the owner holds project.update).
    let (_, body) = team
        .mutate(&team.viewer, "deleteMessage", DELETE, json!({ "id": first }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (payload, body) = team
        .mutate(&team.owner, "deleteMessage", DELETE, json!({ "id": first }))
        .await;
    assert_eq!(payload["deletedMessageId"], first, "{body}");
    let (_, body) = team
        .mutate(&team.owner, "deleteMessage", DELETE, json!({ "id": first }))
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");

    assert_eq!(
        audit_trail(&db, "message.post").await,
        vec![
            "success::member@example.com",
            "failed:INVALID_LENGTH:member@example.com",
            "failed:INVALID_ID:member@example.com",
            "success::member@example.com",
            "failed:FORBIDDEN:viewer@example.com",
            "failed:NOT_FOUND:outsider@example.com",
        ]
    );
    assert_eq!(
        audit_trail(&db, "message.edit").await,
        vec![
            "success::member@example.com",
            "failed:FORBIDDEN:owner@example.com",
            "failed:INVALID_LENGTH:member@example.com"
        ]
    );
    assert_eq!(
        audit_trail(&db, "message.delete").await[1],
        "success::owner@example.com"
    );
    assert_eq!(
        audit_trail(&db, "chat.create").await,
        vec!["success::member@example.com"]
    );
}

#[tokio::test]
async fn answers_get_one_vote_rating_and_comment_per_user() {
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let (chat, chat_uuid) = chat(&team, &team.member, "PROJECT").await;
    let (payload, _) = team
        .mutate(
            &team.member,
            "postMessage",
            POST,
            json!({ "chatId": chat, "content": "Question" }),
        )
        .await;
    let question = payload["message"]["id"].clone();
    let conn = &mut db.conn().await;
    let answer_uuid = chatgraph::db::new_id();
    diesel::sql_query(
        "INSERT INTO messages (id, chat_id, role, content, model) VALUES ($1, $2, 'assistant', 'Answer', 'm')",
    )
    .bind::<diesel::sql_types::Uuid, _>(answer_uuid)
    .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::parse_str(&chat_uuid).expect("uuid"))
    .execute(conn)
    .await
    .expect("answer");
    let answer = chatgraph::graphql::node::global_id("Message", answer_uuid);

    let (payload, body) = team
        .mutate(
            &team.member,
            "voteMessage",
            VOTE,
            json!({ "messageId": answer, "vote": "UP" }),
        )
        .await;
    assert_eq!(payload["feedback"]["isUpvoted"], true, "{body}");
    assert_eq!(payload["message"]["feedbackSummary"]["upvotes"], 1, "{body}");
    // The viewer may read, so may vote; voting again changes the vote, never adds one.
    team.mutate(
        &team.viewer,
        "voteMessage",
        VOTE,
        json!({ "messageId": answer, "vote": "UP" }),
    )
    .await;
    let (payload, body) = team
        .mutate(
            &team.member,
            "voteMessage",
            VOTE,
            json!({ "messageId": answer, "vote": "DOWN" }),
        )
        .await;
    assert_eq!(
        payload["message"]["feedbackSummary"],
        json!({ "upvotes": 1, "downvotes": 1 }),
        "{body}"
    );
    // A rating keeps the vote; a comment is trimmed.
    let (payload, body) = team
        .mutate(
            &team.member,
            "rateMessage",
            RATE,
            json!({ "messageId": answer, "rating": 4, "comment": "  Useful  " }),
        )
        .await;
    assert_eq!(
        payload["feedback"],
        json!({ "isUpvoted": false, "rating": 4, "comment": "Useful" }),
        "{body}"
    );
    let feedback_rows = "SELECT count(*)::text AS name FROM message_feedback";
    assert_eq!(names(conn, feedback_rows).await, vec!["2"]);

    // Bad input and wrong targets.
    let (payload, _) = team
        .mutate(
            &team.member,
            "rateMessage",
            RATE,
            json!({ "messageId": answer, "rating": 6 }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.rating:OUT_OF_RANGE"]);
    let (payload, _) = team
        .mutate(
            &team.member,
            "rateMessage",
            RATE,
            json!({ "messageId": answer, "rating": 3, "comment": "x".repeat(5_001) }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.comment:INVALID_LENGTH"]);
    let (payload, _) = team
        .mutate(
            &team.member,
            "voteMessage",
            VOTE,
            json!({ "messageId": question, "vote": "UP" }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.messageId:NOT_AN_ANSWER"]);
    let (_, body) = team
        .mutate(
            &team.outsider,
            "voteMessage",
            VOTE,
            json!({ "messageId": answer, "vote": "UP" }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    assert_eq!(
        names(
            conn,
            "SELECT rating::text AS name FROM message_feedback WHERE rating IS NOT NULL"
        )
        .await,
        vec!["4"]
    );

    // Removing takes the vote, rating and comment away.
    let (payload, body) = team
        .mutate(
            &team.member,
            "removeMessageFeedback",
            UNVOTE,
            json!({ "messageId": answer }),
        )
        .await;
    assert_eq!(payload["feedback"], Value::Null, "{body}");
    assert_eq!(
        payload["message"]["feedbackSummary"],
        json!({ "upvotes": 1, "downvotes": 0 }),
        "{body}"
    );
    assert_eq!(names(conn, feedback_rows).await, vec!["1"]);
    // Successes and failures of one mutation share its action (they used to be split
    // between `message_feedback.set` and `message_feedback.vote`/`.rate`).
    assert_eq!(
        audit_trail(&db, "message_feedback.vote").await,
        vec![
            "success::member@example.com",
            "success::viewer@example.com",
            "success::member@example.com",
            "failed:NOT_AN_ANSWER:member@example.com",
            "failed:NOT_FOUND:outsider@example.com"
        ],
        "three votes and two refusals"
    );
    let rated = audit_trail(&db, "message_feedback.rate").await;
    assert_eq!(
        rated.iter().filter(|r| r.starts_with("success:")).count(),
        1,
        "one rating: {rated:?}"
    );
    assert_eq!(
        rated.iter().filter(|r| r.starts_with("failed:")).collect::<Vec<_>>(),
        vec![
            "failed:OUT_OF_RANGE:member@example.com",
            "failed:INVALID_LENGTH:member@example.com"
        ]
    );
    assert_eq!(
        audit_trail(&db, "message_feedback.remove").await,
        vec!["success::member@example.com"]
    );
}

const CREATE_ARTIFACT: &str = "mutation($input: CreateArtifactInput!) { createArtifact(input: $input) { \
    artifact { id uuid title kind content } userErrors { field code } } }";
const SAVE: &str = "mutation($input: SaveArtifactVersionInput!) { saveArtifactVersion(input: $input) { \
    artifact { id uuid title content createdAt versions { totalCount nodes { content } } } userErrors { field code } } }";
const SUGGEST: &str = "mutation($input: CreateArtifactSuggestionInput!) { createArtifactSuggestion(input: $input) { \
    suggestion { id artifactVersionId originalText suggestedText isResolved } userErrors { field code } } }";
const RESOLVE: &str = "mutation($input: ResolveArtifactSuggestionInput!) { resolveArtifactSuggestion(input: $input) { \
    suggestion { id isResolved } userErrors { field code } } }";

#[tokio::test]
async fn artifacts_keep_every_version_and_take_suggestions() {
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let (chat, _) = chat(&team, &team.member, "PROJECT").await;

    let (payload, _) = team
        .mutate(
            &team.member,
            "createArtifact",
            CREATE_ARTIFACT,
            json!({ "projectId": team.project, "title": " ", "kind": "SHEET" }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.title:INVALID_LENGTH"]);
    let (payload, _) = team
        .mutate(
            &team.member,
            "createArtifact",
            CREATE_ARTIFACT,
            json!({ "projectId": team.project, "title": "Plan", "chatId": team.project }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.chatId:INVALID_ID"]);
    let conn = &mut db.conn().await;
    assert_eq!(
        names(conn, "SELECT count(*)::text AS name FROM artifacts").await,
        vec!["0"]
    );

    let (payload, body) = team
        .mutate(
            &team.member,
            "createArtifact",
            CREATE_ARTIFACT,
            json!({ "projectId": team.project, "chatId": chat, "title": "Plan", "kind": "CODE", "content": "v1" }),
        )
        .await;
    let first = payload["artifact"].clone();
    assert_eq!(
        (&first["kind"], &first["content"]),
        (&json!("CODE"), &json!("v1")),
        "{body}"
    );

    let (payload, body) = team
        .mutate(
            &team.owner,
            "saveArtifactVersion",
            SAVE,
            json!({ "artifactId": first["id"], "content": "v2" }),
        )
        .await;
    let second = payload["artifact"].clone();
    assert_eq!(
        (&second["uuid"], &second["title"]),
        (&first["uuid"], &json!("Plan")),
        "{body}"
    );
    assert_ne!(second["id"], first["id"]);
    // A version saved from an old version's id still follows the newest one.
    let (payload, body) = team
        .mutate(
            &team.member,
            "saveArtifactVersion",
            SAVE,
            json!({ "artifactId": first["id"], "title": "Plan B", "content": "v3" }),
        )
        .await;
    assert_eq!(payload["artifact"]["versions"]["totalCount"], 3, "{body}");
    assert_eq!(
        payload["artifact"]["versions"]["nodes"],
        json!([{ "content": "v1" }, { "content": "v2" }, { "content": "v3" }])
    );
    assert_eq!(
        names(conn, "SELECT content AS name FROM artifacts ORDER BY created_at").await,
        vec!["v1", "v2", "v3"]
    );

    let (_, body) = team
        .mutate(
            &team.viewer,
            "saveArtifactVersion",
            SAVE,
            json!({ "artifactId": first["id"], "content": "no" }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, body) = team
        .mutate(
            &team.outsider,
            "saveArtifactVersion",
            SAVE,
            json!({ "artifactId": first["id"], "content": "no" }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");

    // Suggestions on the second version.
    let (payload, _) = team
        .mutate(
            &team.member,
            "createArtifactSuggestion",
            SUGGEST,
            json!({ "artifactVersionId": second["id"], "originalText": "", "suggestedText": "v2.1" }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.originalText:INVALID_LENGTH"]);
    let (payload, body) = team
        .mutate(
            &team.member,
            "createArtifactSuggestion",
            SUGGEST,
            json!({ "artifactVersionId": second["id"], "originalText": "v2", "suggestedText": "v2.1", "description": "bump" }),
        )
        .await;
    let suggestion = payload["suggestion"].clone();
    assert_eq!(
        (&suggestion["artifactVersionId"], &suggestion["isResolved"]),
        (&second["id"], &json!(false)),
        "{body}"
    );
    let (payload, body) = team
        .mutate(
            &team.owner,
            "resolveArtifactSuggestion",
            RESOLVE,
            json!({ "id": suggestion["id"] }),
        )
        .await;
    assert_eq!(payload["suggestion"]["isResolved"], true, "{body}");
    let (payload, _) = team
        .mutate(
            &team.owner,
            "resolveArtifactSuggestion",
            RESOLVE,
            json!({ "id": suggestion["id"] }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.id:ALREADY_RESOLVED"]);
    let (_, body) = team
        .mutate(
            &team.outsider,
            "resolveArtifactSuggestion",
            RESOLVE,
            json!({ "id": suggestion["id"] }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");

    assert_eq!(
        audit_trail(&db, "artifact.create").await.last().map(String::as_str),
        Some("success::member@example.com")
    );
    assert_eq!(
        audit_trail(&db, "artifact.save_version").await,
        vec![
            "success::owner@example.com",
            "success::member@example.com",
            "failed:FORBIDDEN:viewer@example.com",
            "failed:NOT_FOUND:outsider@example.com"
        ]
    );
    assert_eq!(
        audit_trail(&db, "artifact_suggestion.resolve").await[0],
        "success::owner@example.com"
    );
}

#[tokio::test]
async fn artifacts_of_a_private_chat_are_seen_exactly_as_the_chat_is() {
    // The review's finding: artifacts made in a private chat were listed, with their content,
    // to every reader of the project.
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let (private, _) = chat(&team, &team.member, "PRIVATE").await;
    let (payload, body) = team
        .mutate(
            &team.member,
            "createArtifact",
            CREATE_ARTIFACT,
            json!({ "projectId": team.project, "chatId": private, "title": "Diary", "content": "secret" }),
        )
        .await;
    let artifact = payload["artifact"]["id"].clone();
    assert!(artifact.is_string(), "{body}");
    let (payload, _) = team
        .mutate(
            &team.member,
            "createArtifact",
            CREATE_ARTIFACT,
            json!({ "projectId": team.project, "title": "Shared plan", "content": "open" }),
        )
        .await;
    assert!(payload["artifact"]["id"].is_string());

    const LISTED: &str = "query($id: ID!, $artifact: ID!) { node(id: $id) { ... on Project { \
        artifacts(first: 10) { totalCount nodes { title content } } } } artifact: node(id: $artifact) { id } }";
    let titles = async |token: &str| {
        let (_, body) = team
            .api
            .run(Some(token), LISTED, json!({ "id": team.project, "artifact": artifact }))
            .await;
        let project = &body["data"]["node"]["artifacts"];
        let titles: Vec<String> = project["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|n| n["title"].as_str().expect("title").to_owned())
            .collect();
        assert_eq!(project["totalCount"], titles.len(), "{body}");
        (titles, !body["data"]["artifact"].is_null())
    };
    assert_eq!(
        titles(&team.member).await,
        (vec!["Shared plan".to_owned(), "Diary".to_owned()], true)
    );
    // The owner administers the project and still does not read another's private chat.
    for reader in [&team.owner, &team.viewer] {
        assert_eq!(titles(reader).await, (vec!["Shared plan".to_owned()], false));
    }
    // Nor write to it: not found, as if it did not exist.
    let (_, body) = team
        .mutate(
            &team.owner,
            "saveArtifactVersion",
            SAVE,
            json!({ "artifactId": artifact, "content": "overwritten" }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    let (_, body) = team
        .mutate(
            &team.owner,
            "createArtifactSuggestion",
            SUGGEST,
            json!({ "artifactVersionId": artifact, "originalText": "secret", "suggestedText": "x" }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
}

#[tokio::test]
async fn audit_records_about_a_private_chat_withhold_its_ids_from_project_admins() {
    // The review's finding: private chat and message ids were readable by project admins in
    // audit-log details.
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let (private, private_uuid) = chat(&team, &team.member, "PRIVATE").await;
    let (_, shared_uuid) = chat(&team, &team.member, "PROJECT").await;
    let (_, body) = team
        .mutate(
            &team.member,
            "createArtifact",
            CREATE_ARTIFACT,
            json!({ "projectId": team.project, "chatId": private, "title": "Diary", "content": "secret" }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    const TRAIL: &str = "query($id: ID!) { node(id: $id) { ... on Project { auditLogs(first: 50) { nodes { \
        action resourceType resourceId details withheld actor { email } } } } } }";
    let trail = async |token: &str| {
        let (_, body) = team.api.run(Some(token), TRAIL, json!({ "id": team.project })).await;
        body["data"]["node"]["auditLogs"]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .filter(|n| n["action"] == "chat.create" || n["action"] == "artifact.create")
            .cloned()
            .collect::<Vec<Value>>()
    };
    let admin = trail(&team.owner).await;
    assert_eq!(admin.len(), 3, "{admin:?}");
    let text = serde_json::to_string(&admin).expect("json");
    assert!(!text.contains(&private_uuid), "{text}");
    assert!(text.contains(&shared_uuid), "the shared chat stays named: {text}");
    let withheld: Vec<(&Value, &Value)> = admin
        .iter()
        .filter(|n| n["withheld"] == true)
        .map(|n| (&n["action"], &n["actor"]["email"]))
        .collect();
    assert_eq!(
        withheld,
        vec![
            (&json!("artifact.create"), &json!("member@example.com")),
            (&json!("chat.create"), &json!("member@example.com"))
        ],
        "who did what stays on record"
    );
    let conn = &mut db.conn().await;
    assert_eq!(
        names(
            conn,
            &format!("SELECT count(*)::text AS name FROM audit_logs WHERE chat_id = '{private_uuid}'")
        )
        .await,
        vec!["2"]
    );
}
