//! Bounds on a GraphQL document, checked on its text before the parser sees it.
//!
//! The parser recurses once per nesting level of lists, objects, selections and arguments,
//! and it limits only the nesting of selections: an 18 KB document of 3,000 nested `[` would
//! overflow the stack and abort the whole process. So every document (every request, through
//! [`admit`], and the transports' own look at the operation type) is first scanned by a small
//! lexer that counts its bytes, its tokens and the depth of its brackets, braces and
//! parentheses, without recursion.
//!
//! Once parsed, a document is bounded in what is cheap to write and costly to answer
//! (OWASP's GraphQL cheat sheet): aliases, root fields per operation and `__schema` fields;
//! and introspection is allowed to whom [`Introspection`] says.

use std::collections::HashSet;

use async_graphql::{
    ErrorExtensionValues, Name, Positioned, ServerError, ServerResult,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

/// Largest document accepted, in bytes (GraphiQL's introspection query is about 2 KB).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// Most tokens (names, numbers, strings, punctuators) a document may hold.
pub const MAX_DOCUMENT_TOKENS: usize = 10_000;
/// Deepest nesting of `[`, `{` and `(` a document may have (selections are further limited
/// by the depth limit of the schema).
pub const MAX_DOCUMENT_NESTING: usize = 64;

/// Why a document was refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentTooLarge {
    /// More bytes than [`MAX_DOCUMENT_BYTES`].
    #[error("the document is {0} bytes long; at most {MAX_DOCUMENT_BYTES} are accepted")]
    Bytes(usize),
    /// More tokens than [`MAX_DOCUMENT_TOKENS`].
    #[error("the document has more than {MAX_DOCUMENT_TOKENS} tokens")]
    Tokens,
    /// Nested deeper than [`MAX_DOCUMENT_NESTING`].
    #[error("the document nests brackets, braces or parentheses deeper than {MAX_DOCUMENT_NESTING} levels")]
    Nesting,
}

/// Checks a document's size, token count and nesting depth, in one pass over its bytes.
/// Comments and the contents of strings and block strings are skipped; anything the lexer
/// does not understand is left for the parser to report.
pub fn check(document: &str) -> Result<(), DocumentTooLarge> {
    let bytes = document.as_bytes();
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(DocumentTooLarge::Bytes(bytes.len()));
    }
    let (mut i, mut tokens, mut depth) = (0, 0usize, 0usize);
    while i < bytes.len() {
        let byte = bytes[i];
        let start = i;
        i += 1;
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => continue,
            b'#' => {
                while i < bytes.len() && !matches!(bytes[i], b'\n' | b'\r') {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes[start..].starts_with(b"\"\"\"") => {
                i = start + 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 3;
            }
            b'"' => {
                while i < bytes.len() && !matches!(bytes[i], b'"' | b'\n' | b'\r') {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'[' | b'{' | b'(' => {
                depth += 1;
                if depth > MAX_DOCUMENT_NESTING {
                    return Err(DocumentTooLarge::Nesting);
                }
            }
            b']' | b'}' | b')' => depth = depth.saturating_sub(1),
            b'.' if bytes[start..].starts_with(b"...") => i = start + 3,
            b'_' | b'-' | b'+' | b'.' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'.' | b'-' | b'+'))
                {
                    i += 1;
                }
            }
            _ => {}
        }
        tokens += 1;
        if tokens > MAX_DOCUMENT_TOKENS {
            return Err(DocumentTooLarge::Tokens);
        }
    }
    Ok(())
}

/// Why a document or its variables holding U+0000 is refused.
pub const NUL_REFUSED: &str = "text may not contain the NUL character (U+0000)";

/// Whether `query` holds a NUL character, raw or escaped in a string (`\u0000`, `\u{0}`).
/// PostgreSQL stores no NUL in text or JSON, so such input is refused at the edge instead of
/// failing deep inside as an internal error.
fn has_nul(query: &str) -> bool {
    query.contains('\0')
        || query.match_indices("\\u").any(|(at, _)| {
            let rest = &query[at + 2..];
            let hex = match rest.strip_prefix('{') {
                Some(braced) => braced.split('}').next().unwrap_or_default(),
                None => rest.get(..4).unwrap_or_default(),
            };
            !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()) && u32::from_str_radix(hex, 16) == Ok(0)
        })
}

/// Whether a variable's value holds a NUL character in any string or object key.
fn holds_nul(value: &async_graphql::Value) -> bool {
    use async_graphql::Value;
    match value {
        Value::String(text) => text.contains('\0'),
        Value::List(items) => items.iter().any(holds_nul),
        Value::Object(fields) => fields.iter().any(|(key, value)| key.contains('\0') || holds_nul(value)),
        _ => false,
    }
}

/// Most aliased fields a document may hold.
pub const MAX_ALIASES: usize = 100;
/// Most fields an operation may select at its root (fragments expanded).
pub const MAX_ROOT_FIELDS: usize = 100;
/// Most `__schema` fields a document may hold (the whole schema, each time).
pub const MAX_SCHEMA_FIELDS: usize = 1;
/// Root fields an operation may select once at most: each creates accounts or tenants, or
/// checks a password (argon2), so aliases must not batch them.
pub const ONCE_PER_OPERATION: [&str; 4] = ["signUp", "signIn", "signInWithIdToken", "createOrganization"];

/// Who may ask the schema about itself with `__schema` and `__type` (`__typename` is always
/// allowed): `CHATGRAPH_INTROSPECTION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Introspection {
    /// Everyone (development: GraphiQL's documentation before signing in).
    On,
    /// Signed-in callers only.
    #[default]
    Authenticated,
    /// Nobody.
    Off,
}

/// What a parsed document asks for, as far as the limits care.
#[derive(Debug, Default, PartialEq, Eq)]
struct Shape {
    aliases: usize,
    /// The most root fields of one operation.
    root_fields: usize,
    schema_fields: usize,
    /// The most times one operation selects one of [`ONCE_PER_OPERATION`].
    repeated_once_fields: usize,
    /// Whether any operation selects `__schema` or `__type` at its root.
    introspects: bool,
}

impl Shape {
    fn of(document: &ExecutableDocument) -> Shape {
        let mut shape = Shape::default();
        for (_, operation) in document.operations.iter() {
            shape.aliases += aliases(&operation.node.selection_set);
            let mut names = Vec::new();
            root_fields(document, &operation.node.selection_set, &mut HashSet::new(), &mut names);
            shape.root_fields = shape.root_fields.max(names.len());
            shape.schema_fields += names.iter().filter(|n| n.as_str() == "__schema").count();
            for once in ONCE_PER_OPERATION {
                let times = names.iter().filter(|n| n.as_str() == once).count();
                shape.repeated_once_fields = shape.repeated_once_fields.max(times);
            }
            shape.introspects |= names.iter().any(|n| n.as_str() == "__schema" || n.as_str() == "__type");
        }
        for fragment in document.fragments.values() {
            shape.aliases += aliases(&fragment.node.selection_set);
        }
        shape
    }

    /// Why the document is refused, if it is: (message, code).
    fn refused(&self, introspection: Introspection, signed_in: bool) -> Option<(String, &'static str)> {
        if self.aliases > MAX_ALIASES {
            return Some((
                format!("the document has more than {MAX_ALIASES} aliases"),
                "BAD_USER_INPUT",
            ));
        }
        if self.root_fields > MAX_ROOT_FIELDS {
            return Some((
                format!("an operation selects more than {MAX_ROOT_FIELDS} root fields"),
                "BAD_USER_INPUT",
            ));
        }
        if self.schema_fields > MAX_SCHEMA_FIELDS {
            return Some((
                format!("a document may select __schema at most {MAX_SCHEMA_FIELDS} time"),
                "BAD_USER_INPUT",
            ));
        }
        if self.repeated_once_fields > 1 {
            return Some((
                format!("an operation may select each of {} once", ONCE_PER_OPERATION.join(", ")),
                "BAD_USER_INPUT",
            ));
        }
        match (self.introspects, introspection, signed_in) {
            (true, Introspection::Off, _) => Some(("introspection is disabled on this server".to_owned(), "FORBIDDEN")),
            (true, Introspection::Authenticated, false) => Some((
                "sign in to introspect the schema (or read /schema.graphql)".to_owned(),
                "UNAUTHENTICATED",
            )),
            _ => None,
        }
    }
}

/// Aliased fields in a selection set and below (fragment spreads not followed: each
/// fragment's own are counted once).
fn aliases(set: &Positioned<SelectionSet>) -> usize {
    set.node
        .items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => usize::from(field.node.alias.is_some()) + aliases(&field.node.selection_set),
            Selection::InlineFragment(fragment) => aliases(&fragment.node.selection_set),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// The names of the fields a root selection set selects, through its fragments (each
/// fragment followed once).
fn root_fields<'a>(
    document: &'a ExecutableDocument,
    set: &'a Positioned<SelectionSet>,
    followed: &mut HashSet<&'a Name>,
    names: &mut Vec<&'a Name>,
) {
    for item in &set.node.items {
        match &item.node {
            Selection::Field(field) => names.push(&field.node.name.node),
            Selection::InlineFragment(fragment) => root_fields(document, &fragment.node.selection_set, followed, names),
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                if followed.insert(name)
                    && let Some(fragment) = document.fragments.get(name)
                {
                    root_fields(document, &fragment.node.selection_set, followed, names);
                }
            }
        }
    }
}

/// Checks a request's document before it runs: its text before the parser sees it, then the
/// parsed document (which stays parsed in the request: it is parsed once). `signed_in` says
/// whether the caller may introspect under [`Introspection::Authenticated`].
pub fn admit(request: &mut async_graphql::Request, introspection: Introspection, signed_in: bool) -> ServerResult<()> {
    check(&request.query).map_err(|refused| ServerError::new(refused.to_string(), None))?;
    if has_nul(&request.query) || request.variables.values().any(holds_nul) {
        return Err(ServerError::new(NUL_REFUSED, None));
    }
    let document = request.parsed_query()?;
    if let Some((message, code)) = Shape::of(document).refused(introspection, signed_in) {
        let mut error = ServerError::new(message, None);
        let mut extensions = ErrorExtensionValues::default();
        extensions.set("code", code);
        error.extensions = Some(extensions);
        return Err(error);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        format!(
            "{{ nodes(ids: {}\"x\"{}) {{ id }} }}",
            "[".repeat(levels),
            "]".repeat(levels)
        )
    }

    #[test]
    fn nesting_is_bounded_and_counted_outside_strings_and_comments() {
        assert_eq!(check(&nested(3_000)), Err(DocumentTooLarge::Nesting));
        assert_eq!(check(&nested(MAX_DOCUMENT_NESTING - 2)), Ok(()));
        assert_eq!(check(&nested(MAX_DOCUMENT_NESTING - 1)), Err(DocumentTooLarge::Nesting));
        let brackets = "[".repeat(500);
        assert_eq!(check(&format!("{{ a(s: \"{brackets}\") }}")), Ok(()));
        assert_eq!(check(&format!("{{ a(s: \"\"\"{brackets} \\\"\"\" \"\"\") }}")), Ok(()));
        assert_eq!(check(&format!("# {brackets}\n{{ a }}")), Ok(()));
        // An unterminated string hides nothing: the parser reports it.
        assert_eq!(
            check(&format!("{{ a(s: \"x\n{brackets}")),
            Err(DocumentTooLarge::Nesting)
        );
    }

    #[test]
    fn nul_characters_are_found_raw_escaped_and_in_variables() {
        assert!(has_nul("{ a(x: \"\u{0}\") }"));
        assert!(has_nul(r#"{ a(x: "a\u0000b") }"#));
        assert!(has_nul(r#"{ a(x: "\u{0000}") }"#));
        assert!(!has_nul(r#"{ a(x: "a\u0041b \u{0041} \u00e9") }"#));
        let value =
            async_graphql::Value::from_json(serde_json::json!({ "a": [1, { "b": "x\u{0}y" }] })).expect("value");
        assert!(holds_nul(&value));
        let value = async_graphql::Value::from_json(serde_json::json!({ "a": "fine" })).expect("value");
        assert!(!holds_nul(&value));
    }

    fn shape(document: &str) -> Shape {
        Shape::of(&async_graphql::parser::parse_query(document).expect("parses"))
    }

    #[test]
    fn aliases_root_fields_and_introspection_are_counted_through_fragments() {
        let aliased: String = (0..3).map(|i| format!("a{i}: apiVersion ")).collect();
        let document = format!(
            "query {{ {aliased} ...R ... on Query {{ viewer {{ x: id }} }} }} \
             fragment R on Query {{ __schema {{ types {{ name }} }} y: apiVersion ...R }}"
        );
        assert_eq!(
            shape(&document),
            Shape {
                aliases: 5,
                root_fields: 6,
                schema_fields: 1,
                repeated_once_fields: 0,
                introspects: true
            }
        );
        assert!(!shape("{ __typename apiVersion }").introspects);
        let many: String = (0..=MAX_ALIASES).map(|i| format!("a{i}: apiVersion ")).collect();
        let refused = shape(&format!("{{ {many} }}")).refused(Introspection::On, true);
        assert!(refused.is_some_and(|(m, _)| m.contains("aliases")));
        let twice = shape("{ a: __schema { queryType { name } } b: __schema { queryType { name } } }");
        assert!(twice.refused(Introspection::On, true).is_some());
        let sign_ups = shape("mutation { a: signUp(input: {}) { user { id } } b: signUp(input: {}) { user { id } } }");
        assert_eq!(sign_ups.repeated_once_fields, 2);
        assert!(
            sign_ups
                .refused(Introspection::On, false)
                .is_some_and(|(m, _)| m.contains("once"))
        );
        let one_each = shape(
            "mutation { signUp(input: {}) { user { id } } createOrganization(input: {}) { userErrors { code } } }",
        );
        assert_eq!(one_each.refused(Introspection::On, false), None);
    }

    #[test]
    fn introspection_is_allowed_as_configured() {
        let introspecting = shape("{ __type(name: \"Query\") { name } }");
        assert_eq!(introspecting.refused(Introspection::On, false), None);
        assert_eq!(introspecting.refused(Introspection::Authenticated, true), None);
        assert_eq!(
            introspecting.refused(Introspection::Authenticated, false).map(|r| r.1),
            Some("UNAUTHENTICATED")
        );
        assert_eq!(
            introspecting.refused(Introspection::Off, true).map(|r| r.1),
            Some("FORBIDDEN")
        );
        assert_eq!(shape("{ __typename }").refused(Introspection::Off, false), None);
    }

    #[test]
    fn size_and_tokens_are_bounded() {
        let many = format!("{{ {} }}", "a ".repeat(MAX_DOCUMENT_TOKENS));
        assert_eq!(check(&many), Err(DocumentTooLarge::Tokens));
        let fits = format!("{{ {} }}", "a ".repeat(MAX_DOCUMENT_TOKENS - 2));
        assert_eq!(check(&fits), Ok(()));
        let long = format!("{{ a(s: \"{}\") }}", "x".repeat(MAX_DOCUMENT_BYTES));
        assert!(matches!(check(&long), Err(DocumentTooLarge::Bytes(_))));
        // Names, numbers and spread count one token each.
        assert_eq!(check("{ a(n: -1.5e10) ...F }"), Ok(()));
    }
}
