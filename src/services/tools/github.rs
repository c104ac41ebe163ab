//! `github`: read-only tools over the GitHub repositories the person who asked has connected
//! (`connectRepository`, active ones only): list a folder, read a file, search code. They
//! call the GitHub REST API (`CHATGRAPH_GITHUB_API_URL`) with the organization's `github`
//! credential as bearer token (without one, public repositories only). A repository the
//! person has not connected is refused, whatever the model asks.

use std::time::Duration;

use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
use diesel_async::RunQueryDsl;
use reqwest::header;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::{Toolbox, failure};
use crate::{
    db::{
        enums::{CredentialType, RepositoryProvider},
        schema::repositories,
    },
    models::{credential::CredentialRow, repository::RepositoryRow},
    providers::ToolDefinition,
    services::credentials,
};

/// The API of github.com.
pub const GITHUB_API: &str = "https://api.github.com";
/// Longest a GitHub request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Most bytes of a file read.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// The tools' names.
pub const LIST_FILES: &str = "github_list_files";
/// Reads a file.
pub const READ_FILE: &str = "github_read_file";
/// Searches code.
pub const SEARCH_CODE: &str = "github_search_code";

/// What the model is told of the tools.
pub fn definitions() -> Vec<ToolDefinition> {
    let repository = json!({ "type": "string", "description": "owner/name of one of the connected repositories." });
    vec![
        ToolDefinition {
            name: LIST_FILES.into(),
            description: "List the files and folders of a folder of a connected GitHub repository.".into(),
            parameters: json!({ "type": "object", "properties": { "repository": repository,
                "path": { "type": "string", "description": "The folder; the root when not given." } },
                "required": ["repository"] }),
        },
        ToolDefinition {
            name: READ_FILE.into(),
            description: "Read a file of a connected GitHub repository (its default branch).".into(),
            parameters: json!({ "type": "object", "properties": { "repository": repository,
                "path": { "type": "string" } }, "required": ["repository", "path"] }),
        },
        ToolDefinition {
            name: SEARCH_CODE.into(),
            description: "Search the code of a connected GitHub repository.".into(),
            parameters: json!({ "type": "object", "properties": { "repository": repository,
                "query": { "type": "string" } }, "required": ["repository", "query"] }),
        },
    ]
}

/// Runs `tool` with `arguments`.
pub(super) async fn run(toolbox: &Toolbox, tool: &str, arguments: &Value) -> Result<String, String> {
    let text = |key: &str| arguments.get(key).and_then(Value::as_str).map(str::trim);
    let asked = text("repository").ok_or("`repository` (owner/name) is required")?;
    let repository = connected(toolbox, asked).await?;
    let (owner, name) = (&repository.owner, &repository.name);
    let path = text("path").unwrap_or("").trim_matches('/');
    if path.split('/').any(|part| part == "..") {
        return Err("`path` may not go up a folder".into());
    }
    let path: String = path
        .split('/')
        .map(|part| percent_encoding::utf8_percent_encode(part, percent_encoding::NON_ALPHANUMERIC).to_string())
        .collect::<Vec<_>>()
        .join("/");
    let branch = &repository.default_branch;
    match tool {
        LIST_FILES => {
            let listed = get(
                toolbox,
                &format!("repos/{owner}/{name}/contents/{path}?ref={branch}"),
                false,
            )
            .await?;
            let listed: Value = serde_json::from_str(&listed).map_err(|_| "GitHub's answer could not be read")?;
            let entries = listed.as_array().ok_or("the path is a file, not a folder")?;
            let lines: Vec<String> = entries
                .iter()
                .map(|e| {
                    let kind = if e["type"] == "dir" { "folder" } else { "file" };
                    format!("{} ({kind}, {} bytes)", e["path"].as_str().unwrap_or("?"), e["size"])
                })
                .collect();
            Ok(if lines.is_empty() {
                "The folder is empty.".into()
            } else {
                lines.join("\n")
            })
        }
        READ_FILE => {
            if path.is_empty() {
                return Err("`path` (the file) is required".into());
            }
            get(
                toolbox,
                &format!("repos/{owner}/{name}/contents/{path}?ref={branch}"),
                true,
            )
            .await
        }
        SEARCH_CODE => {
            let query = text("query").filter(|q| !q.is_empty()).ok_or("`query` is required")?;
            let q = format!("{query} repo:{owner}/{name}");
            let q = percent_encoding::utf8_percent_encode(&q, percent_encoding::NON_ALPHANUMERIC);
            let found = get(toolbox, &format!("search/code?q={q}&per_page=20"), false).await?;
            let found: Value = serde_json::from_str(&found).map_err(|_| "GitHub's answer could not be read")?;
            let paths: Vec<&str> = found["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i["path"].as_str())
                .collect();
            Ok(if paths.is_empty() {
                format!("No file matches {query:?}.")
            } else {
                paths.join("\n")
            })
        }
        other => Err(format!("there is no tool named {other:?} here")),
    }
}

/// The asker's active GitHub repository `owner/name` (case-insensitive, as GitHub).
async fn connected(toolbox: &Toolbox, asked: &str) -> Result<RepositoryRow, String> {
    let mut conn = toolbox.context.pool.get().await.map_err(|e| failure(e.into()))?;
    use repositories::dsl as r;
    let rows: Vec<RepositoryRow> = repositories::table
        .filter(r::user_id.eq(toolbox.context.caller.user.id))
        .filter(r::provider.eq(RepositoryProvider::Github))
        .filter(r::is_active.eq(true))
        .select(RepositoryRow::as_select())
        .load(&mut conn)
        .await
        .map_err(|e| failure(e.into()))?;
    rows.into_iter()
        .find(|row| format!("{}/{}", row.owner, row.name).eq_ignore_ascii_case(asked))
        .ok_or_else(|| format!("{asked:?} is not one of the GitHub repositories the person who asked has connected"))
}

/// The HTTP client of the GitHub tools, built once.
fn client() -> Result<&'static reqwest::Client, String> {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client);
    }
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .map_err(|_| "GitHub could not be reached".to_owned())?;
    Ok(CLIENT.get_or_init(|| client))
}

/// GETs `path` of the GitHub API (raw file content when `raw`), with the organization's
/// `github` credential when it has one.
async fn get(toolbox: &Toolbox, path: &str, raw: bool) -> Result<String, String> {
    let context = &toolbox.context;
    let token = {
        let mut conn = context.pool.get().await.map_err(|e| failure(e.into()))?;
        let found = CredentialRow::for_organization(&mut conn, context.organization_id)
            .await
            .map_err(|e| failure(e.into()))?
            .into_iter()
            .find(|c| c.credential_type == CredentialType::Github);
        found
            .map(|row| credentials::reveal(&context.authenticator.keyring, &row))
            .transpose()
            .map_err(failure)?
    };
    let accept = if raw {
        "application/vnd.github.raw"
    } else {
        "application/vnd.github+json"
    };
    let mut request = client()?
        .get(format!("{}/{path}", context.github_api.trim_end_matches('/')))
        .header(header::ACCEPT, accept)
        .header(header::USER_AGENT, concat!("chatgraph/", env!("CARGO_PKG_VERSION")))
        .header("X-GitHub-Api-Version", "2022-11-28");
    if let Some(token) = &token {
        request = request.bearer_auth(token.expose_secret());
    }
    let response = request
        .send()
        .await
        .map_err(|_| "GitHub could not be reached".to_owned())?;
    match response.status().as_u16() {
        200 => {}
        401 | 403 => return Err("GitHub refused the request (the organization's GitHub credential)".into()),
        404 => return Err("GitHub has no such repository, folder or file".into()),
        status => return Err(format!("GitHub failed (HTTP {status})")),
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|_| "GitHub's answer broke off".to_owned())?;
    let shown = &bytes[..bytes.len().min(MAX_FILE_BYTES)];
    Ok(String::from_utf8_lossy(shown).into_owned())
}
