//! File uploads end to end over real HTTP with the GraphQL multipart request spec: stored
//! bytes match their SHA-256, the content type comes from the bytes, empty and oversized
//! files are refused, a failed transaction leaves no bytes behind, attachments, deletion.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    support::Api,
    support::Team,
    support::{MAX_UPLOAD_BYTES, TestDb, code, files_dir, names, spawn_app_with_files, user_errors},
};

const UPLOAD: &str = "mutation($input: UploadFileInput!) { uploadFile(input: $input) { \
    file { id filename contentType sizeBytes sha256 } userErrors { field code } } }";

/// Posts `bytes` as the `file` of `uploadFile` (multipart: operations, map, the file part).
pub(crate) async fn upload(
    api: &Api,
    token: &str,
    project: &Value,
    name: &str,
    mime: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    upload_with(api, token, json!({ "projectId": project }), name, mime, bytes).await
}

/// [`upload`] with this input (beside its `file`).
pub(crate) async fn upload_with(
    api: &Api,
    token: &str,
    mut input: Value,
    name: &str,
    mime: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    input["file"] = Value::Null;
    let operations = json!({ "query": UPLOAD, "variables": { "input": input } });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.input.file"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(name.to_owned())
                .mime_str(mime)
                .expect("mime"),
        );
    post(api, token, form).await
}

/// Posts a multipart `form` as `token` (with the preflight header); the status and the body
/// (as JSON when it is).
async fn post(api: &Api, token: &str, form: reqwest::multipart::Form) -> (u16, Value) {
    let response = api
        .client
        .post(format!("http://{}/graphql", api.address))
        .bearer_auth(token)
        .header("apollo-require-preflight", "true")
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Every file stored under `dir`.
fn stored(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

pub(crate) async fn team_with_files(db: &TestDb) -> (Team, PathBuf) {
    let dir = files_dir();
    let api = Api {
        client: reqwest::Client::new(),
        address: spawn_app_with_files(db.pool(), &dir).await,
    };
    (Team::on(api).await, dir)
}

#[tokio::test]
async fn an_upload_is_stored_with_its_checksum_and_detected_type() {
    let db = TestDb::migrated().await;
    let (team, dir) = team_with_files(&db).await;
    let text = b"# Notes\n\nThe plan.\n".to_vec();
    let (status, body) = upload(
        &team.api,
        &team.member,
        &team.project,
        "../notes.md",
        "text/markdown",
        text.clone(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let file = &body["data"]["uploadFile"]["file"];
    let sha = format!("{:x}", Sha256::digest(&text));
    assert_eq!(
        (
            &file["filename"],
            &file["contentType"],
            &file["sizeBytes"],
            &file["sha256"]
        ),
        (
            &json!("notes.md"),
            &json!("text/markdown"),
            &json!(text.len().to_string()),
            &json!(sha)
        ),
        "{body}"
    );
    let files = stored(&dir);
    assert_eq!(files.len(), 1);
    let on_disk = std::fs::read(&files[0]).expect("stored bytes");
    assert_eq!(format!("{:x}", Sha256::digest(&on_disk)), sha);

    // The name and the declared type do not decide what a file is: its bytes do.
    let png = [
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0, 1,
    ];
    let (_, body) = upload(
        &team.api,
        &team.member,
        &team.project,
        "picture.txt",
        "text/plain",
        png.to_vec(),
    )
    .await;
    assert_eq!(body["data"]["uploadFile"]["file"]["contentType"], "image/png", "{body}");
    let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
    elf.resize(64, 0);
    let (_, body) = upload(&team.api, &team.member, &team.project, "tool.txt", "text/plain", elf).await;
    assert_eq!(
        user_errors(&body["data"]["uploadFile"]),
        vec!["input.file:UNSUPPORTED_TYPE"]
    );

    // Empty, too large, not allowed: refused, and nothing stored.
    let (_, body) = upload(
        &team.api,
        &team.member,
        &team.project,
        "empty.txt",
        "text/plain",
        Vec::new(),
    )
    .await;
    assert_eq!(user_errors(&body["data"]["uploadFile"]), vec!["input.file:EMPTY_FILE"]);
    let big = vec![b'a'; MAX_UPLOAD_BYTES + 1];
    let (_, body) = upload(&team.api, &team.member, &team.project, "big.txt", "text/plain", big).await;
    assert_eq!(
        user_errors(&body["data"]["uploadFile"]),
        vec!["input.file:FILE_TOO_LARGE"]
    );
    let huge = vec![b'a'; MAX_UPLOAD_BYTES + 512 * 1024];
    let (status, _) = upload(&team.api, &team.member, &team.project, "huge.txt", "text/plain", huge).await;
    assert_eq!(status, 413, "a body past the upload limit is refused before it is read");
    let (_, body) = upload(
        &team.api,
        &team.viewer,
        &team.project,
        "v.txt",
        "text/plain",
        b"v".to_vec(),
    )
    .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, body) = upload(
        &team.api,
        &team.outsider,
        &team.project,
        "o.txt",
        "text/plain",
        b"o".to_vec(),
    )
    .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    assert_eq!(stored(&dir).len(), 2);
    let conn = &mut db.conn().await;
    assert_eq!(names(conn, "SELECT count(*)::text AS name FROM files").await, vec!["2"]);
    assert_eq!(
        names(
            conn,
            "SELECT status || ':' || coalesce(error_message, '') AS name FROM audit_logs WHERE action = 'file.upload' ORDER BY created_at"
        )
        .await,
        vec![
            "success:",
            "success:",
            "failed:UNSUPPORTED_TYPE",
            "failed:EMPTY_FILE",
            "failed:FILE_TOO_LARGE",
            "failed:FORBIDDEN",
            "failed:NOT_FOUND"
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_failed_upload_leaves_no_bytes_and_deleting_gives_storage_back() {
    let db = TestDb::migrated().await;
    let (team, dir) = team_with_files(&db).await;
    let (payload, body) = team
        .mutate(
            &team.owner,
            "setProjectQuota",
            "mutation($input: SetProjectQuotaInput!) { setProjectQuota(input: $input) { quota { storageBytes { limit } } userErrors { code } } }",
            json!({ "projectId": team.project, "storageLimitBytes": "30" }),
        )
        .await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    let (_, body) = upload(
        &team.api,
        &team.member,
        &team.project,
        "a.txt",
        "text/plain",
        vec![b'a'; 20],
    )
    .await;
    let file = body["data"]["uploadFile"]["file"].clone();
    assert!(file["id"].is_string(), "{body}");
    // 20 + 20 > 30: the transaction fails after the bytes were stored; they are removed.
    let (_, body) = upload(
        &team.api,
        &team.member,
        &team.project,
        "b.txt",
        "text/plain",
        vec![b'b'; 20],
    )
    .await;
    assert_eq!(code(&body), "QUOTA_EXCEEDED", "{body}");
    assert!(body["errors"][0]["extensions"]["resetAt"].is_string(), "{body}");
    assert_eq!(stored(&dir).len(), 1);
    let conn = &mut db.conn().await;
    assert_eq!(names(conn, "SELECT count(*)::text AS name FROM files").await, vec!["1"]);
    // The team's project ("Work"; every project has a quota).
    let used = "SELECT q.storage_used_bytes::text AS name FROM project_quotas q \
                JOIN projects p ON p.id = q.project_id WHERE p.name = 'Work'";
    assert_eq!(names(conn, used).await, vec!["20"]);

    // Attach to a chat, once.
    let (payload, _) = team
        .mutate(
            &team.member,
            "createChat",
            "mutation($input: CreateChatInput!) { createChat(input: $input) { chat { id } } }",
            json!({ "projectId": team.project }),
        )
        .await;
    let chat = payload["chat"]["id"].clone();
    let attach = "mutation($input: AttachFileInput!) { attachFile(input: $input) { attachment { id file { filename } } userErrors { field code } } }";
    let (payload, body) = team
        .mutate(
            &team.member,
            "attachFile",
            attach,
            json!({ "fileId": file["id"], "chatId": chat }),
        )
        .await;
    assert_eq!(payload["attachment"]["file"]["filename"], "a.txt", "{body}");
    let attachment = payload["attachment"]["id"].clone();
    let (payload, _) = team
        .mutate(
            &team.member,
            "attachFile",
            attach,
            json!({ "fileId": file["id"], "chatId": chat }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.chatId:ALREADY_ATTACHED"]);
    let (payload, _) = team
        .mutate(&team.member, "attachFile", attach, json!({ "fileId": file["id"] }))
        .await;
    assert_eq!(user_errors(&payload), vec!["input:ONE_TARGET"]);
    let (payload, _) = team
        .mutate(
            &team.member,
            "detachFile",
            "mutation($input: DetachFileInput!) { detachFile(input: $input) { deletedId userErrors { code } } }",
            json!({ "attachmentId": attachment }),
        )
        .await;
    assert_eq!(payload["deletedId"], attachment);

    // Deleting: only the uploader or a project admin; the bytes go, the storage comes back.
    let delete = "mutation($input: DeleteFileInput!) { deleteFile(input: $input) { deletedId userErrors { code } } }";
    let (_, body) = team
        .mutate(&team.viewer, "deleteFile", delete, json!({ "id": file["id"] }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (payload, body) = team
        .mutate(&team.member, "deleteFile", delete, json!({ "id": file["id"] }))
        .await;
    assert_eq!(payload["deletedId"], file["id"], "{body}");
    assert!(stored(&dir).is_empty());
    assert_eq!(names(conn, used).await, vec!["0"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Posts a multipart request of `operations`, `map` and `files` (name, bytes).
async fn multipart(
    api: &Api,
    token: &str,
    operations: Value,
    map: Value,
    files: Vec<(String, Vec<u8>)>,
) -> (u16, Value) {
    let mut form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", map.to_string());
    for (name, bytes) in files {
        form = form.part(
            name.clone(),
            reqwest::multipart::Part::bytes(bytes).file_name(format!("{name}.txt")),
        );
    }
    post(api, token, form).await
}

/// Asserts a 413 whose GraphQL error says `why`, with a code.
fn too_large((status, body): (u16, Value), why: &str) {
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(why), "{body}");
}

#[tokio::test]
async fn multipart_bodies_keep_the_plain_limit_for_all_but_their_files() {
    // Files up to 1 MiB, everything else up to the plain 64 KiB.
    let db = TestDb::migrated().await;
    let settings = chatgraph::http::HttpSettings {
        max_upload_bytes: 1 << 20,
        ..crate::support::http_settings()
    };
    let team = Team::on(Api {
        client: reqwest::Client::new(),
        address: crate::support::spawn_app(db.pool(), settings).await,
    })
    .await;
    let upload = |variables: Value| json!({ "query": UPLOAD, "variables": variables });
    let input = |project: &Value| json!({ "input": { "projectId": project, "file": null } });
    let mut padded = input(&team.project);
    padded["padding"] = json!("x".repeat(80 * 1024));

    // Without a file, a small operation runs; a large one meets the plain limit.
    let small = json!({ "query": "{ apiVersion }" });
    let (status, body) = multipart(&team.api, &team.member, small, json!({}), Vec::new()).await;
    assert_eq!((status, body["data"]["apiVersion"].is_string()), (200, true), "{body}");
    let large =
        json!({ "query": "query($padding: String) { apiVersion }", "variables": { "padding": "x".repeat(80 * 1024) } });
    too_large(
        multipart(&team.api, &team.member, large, json!({}), Vec::new()).await,
        "at most 65536 bytes",
    );

    // Beside a file, likewise.
    let answer = multipart(
        &team.api,
        &team.member,
        upload(padded),
        json!({ "0": ["variables.input.file"] }),
        vec![("0".into(), b"small".to_vec())],
    )
    .await;
    too_large(answer, "at most 65536 bytes");

    // Eleven files.
    let map: serde_json::Map<String, Value> = (0..11)
        .map(|i| (i.to_string(), json!(["variables.input.file"])))
        .collect();
    let files = (0..11).map(|i| (i.to_string(), b"f".to_vec())).collect();
    let answer = multipart(&team.api, &team.member, upload(input(&team.project)), json!(map), files).await;
    too_large(answer, "at most 10 files");

    // A file past the per-file limit ends the request as it streams.
    let (status, body) = multipart(
        &team.api,
        &team.member,
        upload(input(&team.project)),
        json!({ "0": ["variables.input.file"] }),
        vec![("0".into(), vec![b'a'; (1 << 20) + 100])],
    )
    .await;
    assert_eq!(status, 413, "{body}");

    // One file, in bounds: stored.
    let (status, body) = multipart(
        &team.api,
        &team.member,
        upload(input(&team.project)),
        json!({ "0": ["variables.input.file"] }),
        vec![("0".into(), b"hello".to_vec())],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["uploadFile"]["file"]["sizeBytes"], "5", "{body}");
    let conn = &mut db.conn().await;
    assert_eq!(names(conn, "SELECT count(*)::text AS name FROM files").await, vec!["1"]);
}

#[tokio::test]
async fn files_uploaded_for_a_private_chat_are_seen_exactly_as_the_chat_is() {
    // The review's finding: files made in a private chat were listed to every reader of the
    // project.
    let db = TestDb::migrated().await;
    let (team, dir) = team_with_files(&db).await;
    let chat = async |visibility: &str| {
        let (payload, _) = team
            .mutate(
                &team.member,
                "createChat",
                "mutation($input: CreateChatInput!) { createChat(input: $input) { chat { id } } }",
                json!({ "projectId": team.project, "visibility": visibility }),
            )
            .await;
        payload["chat"]["id"].clone()
    };
    let (private, shared) = (chat("PRIVATE").await, chat("PROJECT").await);
    let input = json!({ "projectId": team.project, "chatId": private });
    let (_, body) = upload_with(
        &team.api,
        &team.member,
        input.clone(),
        "diary.txt",
        "text/plain",
        b"dear diary".to_vec(),
    )
    .await;
    let file = body["data"]["uploadFile"]["file"]["id"].clone();
    assert!(file.is_string(), "{body}");
    // Only for a chat the uploader may write to.
    let (_, body) = upload_with(&team.api, &team.owner, input, "x.txt", "text/plain", b"x".to_vec()).await;
    assert_eq!(
        user_errors(&body["data"]["uploadFile"]),
        vec!["input.chatId:NOT_FOUND"],
        "{body}"
    );

    const FILES: &str = "query($project: ID!, $file: ID!) { node(id: $project) { ... on Project { \
        files(first: 10) { totalCount nodes { filename } } } } file: node(id: $file) { id } }";
    let seen = async |token: &str| {
        let (_, body) = team
            .api
            .run(Some(token), FILES, json!({ "project": team.project, "file": file }))
            .await;
        (
            body["data"]["node"]["files"]["totalCount"].clone(),
            !body["data"]["file"].is_null(),
        )
    };
    assert_eq!(seen(&team.member).await, (json!(1), true));
    for other in [&team.owner, &team.viewer] {
        assert_eq!(
            seen(other).await,
            (json!(0), false),
            "the project's admin and viewer do not see it"
        );
    }
    // It is attached only in its own chat.
    const ATTACH: &str = "mutation($input: AttachFileInput!) { attachFile(input: $input) { \
        attachment { id } userErrors { field code } } }";
    let (payload, body) = team
        .mutate(
            &team.member,
            "attachFile",
            ATTACH,
            json!({ "fileId": file, "chatId": shared }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.chatId:OTHER_CHAT"], "{body}");
    let (payload, body) = team
        .mutate(
            &team.member,
            "attachFile",
            ATTACH,
            json!({ "fileId": file, "chatId": private }),
        )
        .await;
    assert!(payload["attachment"]["id"].is_string(), "{body}");

    // Deleting the chat deletes its files, their bytes and their storage.
    let (_, body) = team
        .mutate(
            &team.member,
            "deleteChat",
            "mutation($input: DeleteChatInput!) { deleteChat(input: $input) { deletedChatId } }",
            json!({ "id": private }),
        )
        .await;
    assert!(body["data"]["deleteChat"]["deletedChatId"].is_string(), "{body}");
    assert_eq!(seen(&team.member).await, (json!(0), false));
    let conn = &mut db.conn().await;
    assert_eq!(
        crate::support::names(conn, "SELECT storage_used_bytes::text AS name FROM project_quotas q JOIN projects p ON p.id = q.project_id WHERE p.name = 'Work'").await,
        vec!["0"]
    );
    let left = stored(&dir);
    assert!(left.is_empty(), "{left:?}");
}
