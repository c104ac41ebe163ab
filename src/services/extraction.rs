//! The text of an uploaded file or a fetched page, for indexing: plain text, markdown, HTML
//! (converted to markdown with `htmd`, so headings stay headings; scripts, styles and
//! navigation dropped), PDF (poppler's `pdftotext`, run as a separate process with a time
//! limit, so a malformed or hostile PDF cannot crash or hang the worker; pages are separated
//! by form feeds), JSON (pretty-printed) and CSV (as it is).

use std::{process::Stdio, time::Duration};

use tokio::{io::AsyncReadExt, process::Command};

use super::knowledge::MAX_CONTENT;

/// How long `pdftotext` may take.
pub const PDF_TIMEOUT: Duration = Duration::from_secs(30);

/// The formats whose text can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain text.
    Text,
    /// Markdown.
    Markdown,
    /// HTML.
    Html,
    /// PDF.
    Pdf,
    /// JSON.
    Json,
    /// Comma-separated values.
    Csv,
}

/// What the formats are called in error messages.
pub const SUPPORTED: &str = "plain text, markdown, HTML, PDF, JSON or CSV";

impl Format {
    /// The format of a content type (parameters ignored), or else of the name's extension.
    pub fn of(content_type: Option<&str>, name: &str) -> Option<Format> {
        let essence = content_type
            .and_then(|t| t.split(';').next())
            .map(|t| t.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let by_type = match essence.as_str() {
            "text/markdown" | "text/x-markdown" => Some(Format::Markdown),
            "text/html" | "application/xhtml+xml" => Some(Format::Html),
            "application/pdf" => Some(Format::Pdf),
            "application/json" => Some(Format::Json),
            "text/csv" | "application/csv" => Some(Format::Csv),
            _ => None,
        };
        let path = name.split(['?', '#']).next().unwrap_or_default().to_ascii_lowercase();
        let extension = path.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
        let by_name = match extension {
            "md" | "markdown" => Some(Format::Markdown),
            "html" | "htm" => Some(Format::Html),
            "pdf" => Some(Format::Pdf),
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "txt" | "text" => Some(Format::Text),
            _ => None,
        };
        let plain = essence.starts_with("text/") || essence.is_empty();
        by_type.or(by_name).or_else(|| plain.then_some(Format::Text))
    }

    /// Whether the extracted text is markdown (chunked at headings).
    pub fn is_markdown(self) -> bool {
        matches!(self, Format::Markdown | Format::Html)
    }
}

/// Reads the text of `bytes` in `format`; the error says why it could not, for the user.
pub async fn extract(format: Format, bytes: Vec<u8>) -> Result<String, String> {
    let text = match format {
        Format::Pdf => pdf_text(&bytes).await?,
        Format::Html => tokio::task::spawn_blocking(move || html_text(&bytes))
            .await
            .map_err(|_| "the HTML could not be read".to_owned())??,
        Format::Json => {
            let value: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|e| format!("the JSON is not valid ({e})"))?;
            serde_json::to_string_pretty(&value).map_err(|_| "the JSON could not be written out".to_owned())?
        }
        Format::Text | Format::Markdown | Format::Csv => utf8(bytes)?,
    };
    if text.chars().count() > MAX_CONTENT {
        return Err(format!("its text is longer than {MAX_CONTENT} characters"));
    }
    Ok(text)
}

fn utf8(bytes: Vec<u8>) -> Result<String, String> {
    let text = String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_owned())?;
    if text.contains('\0') {
        return Err("it is not text (it holds NUL characters)".to_owned());
    }
    Ok(text)
}

fn html_text(bytes: &[u8]) -> Result<String, String> {
    let html = String::from_utf8_lossy(bytes);
    htmd::HtmlToMarkdown::builder()
        .skip_tags(vec![
            "script", "style", "noscript", "nav", "head", "iframe", "svg", "form",
        ])
        .build()
        .convert(&html)
        .map(|markdown| markdown.trim().to_owned())
        .map_err(|_| "the HTML could not be read".to_owned())
}

/// The text of a PDF by `pdftotext` (pages separated by form feeds), in a process of its own
/// that is killed after [`PDF_TIMEOUT`].
async fn pdf_text(bytes: &[u8]) -> Result<String, String> {
    if !bytes.starts_with(b"%PDF-") {
        return Err("it is not a PDF".to_owned());
    }
    let path = std::env::temp_dir().join(format!("chatgraph-pdf-{}.pdf", crate::db::new_id()));
    tokio::fs::write(&path, bytes)
        .await
        .map_err(|_| "the PDF could not be staged for reading".to_owned())?;
    let read = read_pdf(&path).await;
    if let Err(error) = tokio::fs::remove_file(&path).await {
        tracing::warn!(error = %error, "cannot remove a staged PDF");
    }
    read
}

async fn read_pdf(path: &std::path::Path) -> Result<String, String> {
    let mut child = Command::new("pdftotext")
        .args(["-enc", "UTF-8", "-q"])
        .arg(path)
        .arg("-")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| {
            tracing::error!(error = %error, "cannot run pdftotext (is poppler-utils installed?)");
            "PDF text extraction is not available on this server".to_owned()
        })?;
    let mut stdout = child.stdout.take().ok_or("pdftotext gave no output")?;
    let run = async {
        let mut out = Vec::new();
        // Bounded: four bytes a character at most.
        let limit = u64::try_from(MAX_CONTENT * 4 + 1).unwrap_or(u64::MAX);
        (&mut stdout)
            .take(limit)
            .read_to_end(&mut out)
            .await
            .map_err(|_| "the PDF's text could not be read".to_owned())?;
        let status = child.wait().await.map_err(|_| "pdftotext failed".to_owned())?;
        Ok::<_, String>((status, out))
    };
    let (status, out) = tokio::time::timeout(PDF_TIMEOUT, run)
        .await
        .map_err(|_| format!("reading the PDF took longer than {} s", PDF_TIMEOUT.as_secs()))??;
    if !status.success() {
        return Err("the PDF could not be read (it may be damaged or encrypted)".to_owned());
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    if text
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{c}')
        .is_empty()
    {
        return Err("the PDF has no text (it may be scanned images)".to_owned());
    }
    Ok(text)
}

/// The page (1 first) at byte `offset` of a PDF's text: one more than the form feeds before.
pub fn page_at(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\x0c')
        .count()
}

/// The markdown headings above byte `offset` of `text`, outermost first (`["Guide",
/// "Install"]` for a chunk under `## Install` under `# Guide`).
pub fn heading_path(headings: &[(usize, usize, String)], offset: usize) -> Vec<String> {
    let mut path: Vec<(usize, &str)> = Vec::new();
    for (at, level, title) in headings {
        if *at > offset {
            break;
        }
        path.retain(|(l, _)| l < level);
        path.push((*level, title));
    }
    path.into_iter().map(|(_, t)| t.to_owned()).collect()
}

/// Where the body of a chunk starts: the byte offset of its first line that is neither blank
/// nor a heading (so a chunk that opens with headings is placed under them).
pub fn body_offset(chunk: &str) -> usize {
    let mut offset = 0;
    for line in chunk.split_inclusive('\n') {
        let trimmed = line.trim();
        if !trimmed.is_empty() && !trimmed.starts_with('#') {
            return offset;
        }
        offset += line.len();
    }
    0
}

/// The markdown ATX headings of `text`: (byte offset, level, title), in order.
pub fn headings(text: &str) -> Vec<(usize, usize, String)> {
    let mut found = Vec::new();
    let mut offset = 0;
    let mut fenced = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fenced = !fenced;
        }
        let level = trimmed.chars().take_while(|c| *c == '#').count();
        if !fenced && (1..=6).contains(&level) && trimmed[level..].starts_with(' ') {
            found.push((offset, level, trimmed[level..].trim().to_owned()));
        }
        offset += line.len();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_the_type_then_the_name() {
        assert_eq!(Format::of(Some("text/html; charset=utf-8"), "x"), Some(Format::Html));
        assert_eq!(Format::of(Some("text/plain"), "notes.md"), Some(Format::Markdown));
        assert_eq!(Format::of(Some("application/pdf"), "scan"), Some(Format::Pdf));
        assert_eq!(Format::of(None, "https://x.test/data.csv?v=1"), Some(Format::Csv));
        assert_eq!(Format::of(Some("text/plain"), "readme"), Some(Format::Text));
        assert_eq!(Format::of(Some("image/png"), "cat.png"), None);
    }

    #[tokio::test]
    async fn html_keeps_headings_and_drops_scripts_json_is_pretty_text_must_be_utf8() {
        let html = b"<html><head><title>T</title><script>alert(1)</script></head><body>\
            <nav>Menu</nav><h1>Guide</h1><p>Hello <b>there</b>.</p><h2>Install</h2><p>Run it.</p></body></html>";
        let text = extract(Format::Html, html.to_vec()).await.expect("html");
        assert!(text.contains("# Guide") && text.contains("## Install"), "{text}");
        assert!(!text.contains("alert") && !text.contains("Menu"), "{text}");
        let json = extract(Format::Json, br#"{"a":[1,2]}"#.to_vec()).await.expect("json");
        assert!(json.contains("\"a\": [\n"), "{json}");
        let refused = extract(Format::Json, b"{oops".to_vec()).await.err().unwrap_or_default();
        assert!(refused.contains("not valid"), "{refused}");
        let refused = extract(Format::Text, vec![0xff, 0xfe]).await.err().unwrap_or_default();
        assert!(refused.contains("UTF-8"), "{refused}");
        let refused = extract(Format::Pdf, b"hello".to_vec()).await.err().unwrap_or_default();
        assert!(refused.contains("not a PDF"), "{refused}");
    }

    #[test]
    fn chunks_know_their_headings_and_pages() {
        let text = "# Guide\nintro\n## Install\nsteps\n```\n# not a heading\n```\n## Use\nmore\n# Other\nend";
        let found = headings(text);
        let titles: Vec<&str> = found.iter().map(|(_, _, t)| t.as_str()).collect();
        assert_eq!(titles, ["Guide", "Install", "Use", "Other"]);
        assert_eq!(
            heading_path(&found, text.find("steps").expect("steps")),
            ["Guide", "Install"]
        );
        assert_eq!(heading_path(&found, text.find("more").expect("more")), ["Guide", "Use"]);
        assert_eq!(heading_path(&found, text.find("end").expect("end")), ["Other"]);
        assert_eq!(heading_path(&found, 0), ["Guide"]);
        let opening = "# Terms\n\n## Warranty\n\nTwo years.";
        assert_eq!(
            heading_path(&headings(opening), body_offset(opening)),
            ["Terms", "Warranty"]
        );
        let pdf = "one\u{c}two\u{c}three";
        assert_eq!((page_at(pdf, 0), page_at(pdf, 5), page_at(pdf, 9)), (1, 2, 3));
    }
}
