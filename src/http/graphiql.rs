//! The GraphiQL page. Its scripts (GraphiQL and React, pinned versions) are served from a local
//! directory when `make setup` has put them there (`vendor/graphiql`), so the page works on
//! machines without general internet access; otherwise they load from the unpkg CDN.

use std::path::Path;

/// Where the local assets are served.
pub const ASSETS_PATH: &str = "/graphiql/assets";

const REACT: &str = "react.production.min.js";
const REACT_DOM: &str = "react-dom.production.min.js";
const GRAPHIQL_JS: &str = "graphiql.min.js";
const GRAPHIQL_CSS: &str = "graphiql.min.css";

const CDN: [&str; 4] = [
    "https://unpkg.com/react@18.3.1/umd/react.production.min.js",
    "https://unpkg.com/react-dom@18.3.1/umd/react-dom.production.min.js",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.js",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.css",
];

/// The query GraphiQL opens with: the demo tree.
const DEFAULT_QUERY: &str = "# Welcome to chatgraph. Sign in first (demo: pm@example.com / ChangeMe123!):
#   mutation { signIn(input: { email: \"pm@example.com\", password: \"ChangeMe123!\" }) { session { accessToken } } }
# then put {\"Authorization\": \"Bearer <accessToken>\"} in the Headers tab below, and run this.
{
  apiVersion
  organizations {
    totalCount
    nodes {
      name
      projects {
        nodes {
          name
          chats(first: 10) {
            totalCount
            pageInfo { hasNextPage endCursor }
            nodes {
              title
              visibility
              messages(first: 10) {
                nodes { role content }
              }
            }
          }
        }
      }
    }
  }
}
";

/// True when `dir` holds every asset the page needs.
pub fn has_local_assets(dir: &Path) -> bool {
    [REACT, REACT_DOM, GRAPHIQL_JS, GRAPHIQL_CSS]
        .iter()
        .all(|file| dir.join(file).is_file())
}

/// The page, loading its assets locally (`local`) or from the CDN.
pub fn page(local: bool) -> String {
    let [react, react_dom, js, css] = if local {
        [REACT, REACT_DOM, GRAPHIQL_JS, GRAPHIQL_CSS].map(|file| format!("{ASSETS_PATH}/{file}"))
    } else {
        CDN.map(str::to_owned)
    };
    let default_query = serde_json::to_string(DEFAULT_QUERY).unwrap_or_else(|_| "\"\"".to_owned());
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>chatgraph · GraphiQL</title>
  <link rel="stylesheet" href="{css}">
  <style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="{react}"></script>
  <script src="{react_dom}"></script>
  <script src="{js}"></script>
  <script>
    const fetcher = GraphiQL.createFetcher({{ url: new URL('/graphql', window.location.href).toString() }});
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, {{ fetcher, defaultQuery: {default_query}, defaultEditorToolsVisibility: true }})
    );
  </script>
</body>
</html>
"#
    )
}
