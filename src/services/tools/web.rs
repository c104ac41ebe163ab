//! `fetch_url`: the text of a public web page, read under the outbound policy (every
//! redirect hop resolved and checked against internal addresses, a size and a time limit)
//! and converted like a web document (HTML to markdown, PDF to text).

use serde_json::{Value, json};

use super::Toolbox;
use crate::{
    outbound,
    providers::ToolDefinition,
    services::extraction::{self, Format},
};

/// Most bytes of a page read.
pub const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;
/// How long reading a page may take (within the call's own limit).
pub const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// What the model is told of the tool.
pub fn definition() -> ToolDefinition {
    ToolDefinition {
        name: "fetch_url".into(),
        description: "Read a public web page (http or https) and return its text.".into(),
        parameters: json!({
            "type": "object",
            "properties": { "url": { "type": "string", "description": "The page's address." } },
            "required": ["url"],
        }),
    }
}

/// Reads `arguments.url`.
pub(super) async fn fetch(toolbox: &Toolbox, arguments: &Value) -> Result<String, String> {
    let url = arguments
        .get("url")
        .and_then(Value::as_str)
        .ok_or("`url` (text) is required")?;
    let url = reqwest::Url::parse(url.trim()).map_err(|_| format!("{url:?} is not a URL"))?;
    let policy = toolbox.context.authenticator.outbound.for_pages();
    if let Some(why) = policy.refuses(&url) {
        return Err(format!("the URL is refused: {why}"));
    }
    let page = outbound::fetch(&policy, url, MAX_PAGE_BYTES, FETCH_TIMEOUT)
        .await
        .map_err(|why| format!("the page could not be read: {why}"))?;
    let format = Format::of(page.content_type.as_deref(), page.url.path()).ok_or_else(|| {
        format!(
            "pages of type {} cannot be read",
            page.content_type.as_deref().unwrap_or("unknown")
        )
    })?;
    let text = extraction::extract(format, page.bytes)
        .await
        .map_err(|why| format!("the page could not be read: {why}"))?;
    Ok(format!("{}\n\n{}", page.url, text.trim()))
}
