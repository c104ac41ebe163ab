//! A schema-driven fuzz test: every root query and mutation field, called by four kinds of
//! caller (anonymous, a project member, the organization's owner, an outsider), twice each
//! with generated arguments of four kinds (plausible, wrongly typed,
//! holding NUL characters, extreme), must answer without a 5xx and with a code on every error,
//! never INTERNAL: bad input is the client's error, named, and never reaches PostgreSQL raw.

use serde_json::{Map, Value, json};

use crate::support::{Api, Team, TestDb};

const TYPE_REF: &str = "kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

/// The kinds of generated input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plausible,
    WrongType,
    Nul,
    Extreme,
}

/// A deterministic pseudo-random sequence (so a failure reproduces).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[usize::try_from(self.next()).unwrap_or_default() % items.len()]
    }
}

struct Schema {
    types: Map<String, Value>,
}

impl Schema {
    async fn load(api: &Api, token: &str) -> Schema {
        let query = format!(
            "{{ __schema {{ types {{ name kind enumValues {{ name }} \
               inputFields {{ name type {{ {TYPE_REF} }} }} \
               fields {{ name type {{ {TYPE_REF} }} args {{ name type {{ {TYPE_REF} }} }} }} }} }} }}"
        );
        let (_, body) = api.run(Some(token), &query, json!({})).await;
        let types = body["data"]["__schema"]["types"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|t| (t["name"].as_str().expect("name").to_owned(), t.clone()))
            .collect();
        Schema { types }
    }

    fn fields(&self, root: &str) -> Vec<Value> {
        self.types[root]["fields"].as_array().cloned().unwrap_or_default()
    }

    /// A value for an input of type `ty`.
    fn value(&self, ty: &Value, kind: Kind, rng: &mut Rng, depth: usize) -> Value {
        match ty["kind"].as_str() {
            Some("NON_NULL") => self.value(&ty["ofType"], kind, rng, depth),
            Some("LIST") if kind == Kind::WrongType && rng.next().is_multiple_of(2) => json!({ "not": "a list" }),
            Some("LIST") => json!([self.value(&ty["ofType"], kind, rng, depth)]),
            Some("ENUM") => match kind {
                Kind::WrongType | Kind::Nul => json!("NOT_A_VALUE"),
                _ => {
                    let values = self.types[ty["name"].as_str().expect("enum")]["enumValues"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    values.first().map_or(Value::Null, |v| v["name"].clone())
                }
            },
            Some("INPUT_OBJECT") if depth > 3 => Value::Null,
            Some("INPUT_OBJECT") if kind == Kind::WrongType && rng.next().is_multiple_of(3) => json!("not an object"),
            Some("INPUT_OBJECT") => {
                let fields = self.types[ty["name"].as_str().expect("input")]["inputFields"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let mut object = Map::new();
                for field in fields {
                    let required = field["type"]["kind"] == "NON_NULL";
                    if required || rng.next().is_multiple_of(2) {
                        let value = self.value(&field["type"], kind, rng, depth + 1);
                        object.insert(field["name"].as_str().expect("field").to_owned(), value);
                    }
                }
                Value::Object(object)
            }
            _ => scalar(ty["name"].as_str().unwrap_or(""), kind, rng),
        }
    }

    /// Whether a field of type `ty` needs a selection set.
    fn composite(&self, ty: &Value) -> bool {
        match ty["kind"].as_str() {
            Some("NON_NULL" | "LIST") => self.composite(&ty["ofType"]),
            Some("OBJECT" | "INTERFACE" | "UNION") => true,
            _ => false,
        }
    }
}

/// The type as written in a variable definition.
fn type_name(ty: &Value) -> String {
    match ty["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", type_name(&ty["ofType"])),
        Some("LIST") => format!("[{}]", type_name(&ty["ofType"])),
        _ => ty["name"].as_str().unwrap_or("String").to_owned(),
    }
}

fn scalar(name: &str, kind: Kind, rng: &mut Rng) -> Value {
    let nul = || json!(format!("a\u{0}b"));
    match (name, kind) {
        (_, Kind::Nul) => nul(),
        ("Int", Kind::Plausible) => json!(rng.next() % 50),
        ("Int", Kind::WrongType) => json!("seven"),
        ("Int", Kind::Extreme) => rng
            .pick(&[json!(i32::MAX), json!(i32::MIN), json!(1e12), json!(-1)])
            .clone(),
        ("Float", Kind::Plausible) => json!(0.5),
        ("Float", Kind::WrongType) => json!([1]),
        ("Float", Kind::Extreme) => rng.pick(&[json!(1e308), json!(-1e308), json!(-0.0)]).clone(),
        ("Boolean", Kind::WrongType) => json!("yes"),
        ("Boolean", _) => json!(rng.next().is_multiple_of(2)),
        ("DateTime", Kind::Plausible) => json!("2026-01-01T00:00:00Z"),
        ("DateTime", Kind::WrongType) => json!("yesterday"),
        ("DateTime", Kind::Extreme) => rng
            .pick(&[
                json!("-5000-01-01T00:00:00Z"),
                json!("+275760-09-13T00:00:00Z"),
                json!("9999-12-31T23:59:59Z"),
            ])
            .clone(),
        ("ID", Kind::Plausible) => {
            let types: [&str; 6] = ["Project", "Chat", "Message", "Organization", "File", "User"];
            let type_name = types[usize::try_from(rng.next()).unwrap_or_default() % types.len()];
            json!(chatgraph::graphql::node::global_id(type_name, uuid::Uuid::new_v4()).to_string())
        }
        ("ID" | "UUID", Kind::WrongType) => json!(42),
        ("ID", Kind::Extreme) => rng.pick(&[json!(""), json!("%%%"), json!("x".repeat(5_000))]).clone(),
        ("UUID", Kind::Plausible) => json!(uuid::Uuid::new_v4()),
        ("UUID", Kind::Extreme) => json!("00000000-0000-0000-0000-00000000000g"),
        ("BigInt" | "Decimal", Kind::Plausible) => json!("10"),
        ("BigInt" | "Decimal", Kind::WrongType) => json!({ "n": 1 }),
        ("BigInt" | "Decimal", Kind::Extreme) => json!("99999999999999999999999999999999999999"),
        ("JSON", Kind::Plausible) => json!({ "a": [1, "b"] }),
        ("JSON", Kind::WrongType) => json!("\"not an object\""),
        ("JSON", Kind::Extreme) => {
            let mut deep = json!(1);
            for _ in 0..60 {
                deep = json!({ "d": deep });
            }
            deep
        }
        ("Upload", _) => json!("not a file"),
        (_, Kind::Plausible) => json!("plain text"),
        (_, Kind::WrongType) => json!(7),
        (_, Kind::Extreme) => rng
            .pick(&[json!(""), json!("%_\\'\""), json!("é".repeat(40_000)), json!("  ")])
            .clone(),
    }
}

/// The request calling `field` of `operation` with generated arguments.
fn request(schema: &Schema, operation: &str, field: &Value, kind: Kind, rng: &mut Rng) -> Value {
    let args = field["args"].as_array().cloned().unwrap_or_default();
    let mut definitions = Vec::new();
    let mut uses = Vec::new();
    let mut variables = Map::new();
    for arg in &args {
        let name = arg["name"].as_str().expect("arg");
        definitions.push(format!("${name}: {}", type_name(&arg["type"])));
        uses.push(format!("{name}: ${name}"));
        variables.insert(name.to_owned(), schema.value(&arg["type"], kind, rng, 0));
    }
    let name = field["name"].as_str().expect("field");
    let selection = if schema.composite(&field["type"]) {
        " { __typename }"
    } else {
        ""
    };
    let (definitions, uses) = if args.is_empty() {
        (String::new(), String::new())
    } else {
        (
            format!("({})", definitions.join(", ")),
            format!("({})", uses.join(", ")),
        )
    };
    json!({ "query": format!("{operation} Fuzz{definitions} {{ {name}{uses}{selection} }}"), "variables": variables })
}

#[tokio::test]
async fn generated_bad_input_to_every_root_field_is_a_named_client_error() {
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let schema = Schema::load(&team.api, &team.owner).await;
    let mut rng = Rng(0x5eed);
    let mut problems = Vec::new();
    let mut sent = 0;
    for (operation, root) in [("query", "Query"), ("mutation", "Mutation")] {
        for field in schema.fields(root) {
            // Signing out would end the signed-in caller's session for the rest of the run.
            if field["name"] == "signOut" {
                continue;
            }
            let kinds = [Kind::Plausible, Kind::WrongType, Kind::Nul, Kind::Extreme];
            for kind in kinds.into_iter().chain(kinds) {
                for token in [None, Some(&team.member), Some(&team.owner), Some(&team.outsider)] {
                    let body = request(&schema, operation, &field, kind, &mut rng);
                    let response = team
                        .api
                        .client
                        .post(format!("http://{}/graphql", team.api.address))
                        .json(&body);
                    let response = match token {
                        Some(token) => response.bearer_auth(token),
                        None => response,
                    }
                    .send()
                    .await
                    .expect("an answer");
                    sent += 1;
                    let status = response.status().as_u16();
                    let answer: Value = response.json().await.unwrap_or(Value::Null);
                    let codes: Vec<&str> = answer["errors"]
                        .as_array()
                        .map(|errors| {
                            errors
                                .iter()
                                .map(|e| e["extensions"]["code"].as_str().unwrap_or("(none)"))
                                .collect()
                        })
                        .unwrap_or_default();
                    if status >= 500 || codes.iter().any(|c| *c == "(none)" || *c == "INTERNAL") {
                        problems.push(format!("{status} {kind:?} {}: {answer}", body["query"]));
                    }
                }
            }
        }
    }
    assert!(sent > 2_000, "only {sent} requests");
    // The server still answers.
    let (status, _) = team.api.run(None, "{ apiVersion }", json!({})).await;
    assert_eq!(status, 200);
    assert!(
        problems.is_empty(),
        "{} of {sent} requests:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
