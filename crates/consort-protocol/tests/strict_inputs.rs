//! Hand-written inputs are strict, wire messages tolerant.
//!
//! A misspelt field in a workflow, a registry or a recommendation is an
//! error with its JSON path, line, column and the field it most likely
//! means; an unknown field in an event or an expert message (written by a
//! newer process) is ignored.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use consort_protocol::{
    Event, ExpertMessage, ExpertRecommendation, ExpertResponse, Location, ProtocolError,
    RegistryDocument, from_json_str, load_registry, load_workflow, seeds,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Loads `doc` (as pretty JSON text) with `load` and returns the error,
/// which must be an unknown field.
fn unknown_field<T: std::fmt::Debug>(
    doc: &Value,
    load: impl Fn(&str) -> Result<T, ProtocolError>,
) -> (ProtocolError, String) {
    let text = serde_json::to_string_pretty(doc).unwrap();
    let err = load(&text).unwrap_err();
    assert!(
        matches!(err, ProtocolError::UnknownField { .. }),
        "expected an unknown field, got {err}"
    );
    (err, text)
}

/// The error's location points just past the quoted field name in `text`.
fn assert_located_at_field(err: &ProtocolError, text: &str, field: &str) {
    let Location { line, column } = err.location().expect("read from text");
    let before = &text.lines().nth(line - 1).unwrap()[..column];
    assert!(
        before.ends_with(&format!("\"{field}\"")),
        "line {line} column {column} is not at {field:?}: {before:?}"
    );
}

fn workflow() -> Value {
    serde_json::from_str(seeds::MARKETING_CAMPAIGN_WORKFLOW).unwrap()
}

fn registry() -> Value {
    serde_json::from_str(seeds::EXPERT_REGISTRY).unwrap()
}

fn rename(object: &mut Value, from: &str, to: &str) {
    let map = object.as_object_mut().unwrap();
    let value = map.remove(from).unwrap();
    map.insert(to.to_owned(), value);
}

#[test]
fn workflow_typos_name_path_line_column_and_the_likely_field() {
    let cases: [(&str, &str, &str, &str); 5] = [
        (
            "/workflow_steps/1",
            "next_step",
            "nextstep",
            "workflow_steps[1].nextstep",
        ),
        (
            "/workflow_steps/1",
            "collaboration_points",
            "collaboration_point",
            "workflow_steps[1].collaboration_point",
        ),
        ("", "participants", "participant", "participant"),
        (
            "/workflow_steps/1/collaboration_points/0",
            "validation_needed",
            "validation_need",
            "workflow_steps[1].collaboration_points[0].validation_need",
        ),
        ("", "success_metrics", "sucess_metrics", "sucess_metrics"),
    ];
    for (pointer, from, to, path) in cases {
        let mut doc = workflow();
        rename(doc.pointer_mut(pointer).unwrap(), from, to);
        let (err, text) = unknown_field(&doc, load_workflow);
        assert_eq!(err.path(), path);
        assert_eq!(err.suggestion(), Some(from), "{err}");
        assert_located_at_field(&err, &text, to);
        assert!(
            err.to_string().starts_with(&format!(
                "{path}: unknown field; did you mean \"{from}\"? (line "
            )),
            "{err}"
        );
    }

    let mut doc = workflow();
    doc["workflow_steps"][0]["retry"] = json!({"max_attempts": 3, "backoff_ms": 10});
    let (err, _) = unknown_field(&doc, load_workflow);
    assert_eq!(err.path(), "workflow_steps[0].retry.backoff_ms");
    assert_eq!(err.suggestion(), Some("max_backoff_ms"));
}

#[test]
fn registry_typos_name_the_expert() {
    for (from, to) in [
        ("availability_status", "availability"),
        ("max_concurrent", "max_concurent"),
        ("keywords", "keyword"),
    ] {
        let mut doc = registry();
        let finance = &mut doc["expert_registry"]["finance_accountant"];
        finance[from] = match from {
            "availability_status" => json!("offline"),
            "max_concurrent" => json!(2),
            _ => json!(["cash flow"]),
        };
        rename(finance, from, to);
        let (err, text) = unknown_field(&doc, load_registry);
        assert_eq!(
            err.path(),
            format!("expert_registry.finance_accountant.{to}")
        );
        assert_eq!(err.suggestion(), Some(from), "{err}");
        assert_located_at_field(&err, &text, to);
    }

    let mut doc = registry();
    doc["expert_registry"]["art_design"]["complexity_range"] =
        json!({"min": "low", "maximum": "high"});
    let (err, _) = unknown_field(&doc, load_registry);
    assert_eq!(
        err.path(),
        "expert_registry.art_design.complexity_range.maximum"
    );
    assert_eq!(err.suggestion(), Some("max"));

    let (err, _) = unknown_field(
        &json!({"expert_registry": registry()["expert_registry"], "mcp_servr": {}}),
        load_registry,
    );
    assert_eq!(err.path(), "mcp_servr");
    assert_eq!(err.suggestion(), Some("mcp_server"));
}

#[test]
fn recommendation_typos_name_the_likely_field() {
    let base = json!({"expert": "finance_accountant", "subject": "campaign_budget",
                      "domain": "budgeting", "position": 30000, "confidence_level": 0.9,
                      "priority": "high", "precedes": ["campaign_launch"],
                      "requested_resources": {"budget": 30000}});
    for (from, to) in [
        ("requested_resources", "resources"),
        ("precedes", "preceeds"),
        ("priority", "prio"),
        ("domain", "domian"),
    ] {
        let mut doc = base.clone();
        rename(&mut doc, from, to);
        let (err, text) = unknown_field(&doc, from_json_str::<ExpertRecommendation>);
        assert_eq!(err.path(), to);
        assert_eq!(err.suggestion(), Some(from), "{err}");
        assert_located_at_field(&err, &text, to);
    }
}

#[test]
fn an_unknown_field_without_a_close_match_lists_the_known_ones() {
    let mut doc = workflow();
    doc["workflow_steps"][0]["colour"] = json!("blue");
    let (err, _) = unknown_field(&doc, load_workflow);
    assert_eq!(err.suggestion(), None);
    let message = err.to_string();
    assert!(
        message.starts_with(
            "workflow_steps[0].colour: unknown field; expected one of: step, name, primary_expert,"
        ),
        "{message}"
    );
}

#[test]
fn the_seed_documents_load_as_written_and_keep_their_extra_fields() {
    let spec = load_workflow(seeds::MARKETING_CAMPAIGN_WORKFLOW).unwrap();
    assert!(
        spec.description
            .starts_with("End-to-end marketing campaign")
    );
    assert_eq!(spec.success_metrics["client_satisfaction"], "> 4.5/5");
    let again: Value = serde_json::to_value(&spec).unwrap();
    assert_eq!(again["description"], workflow()["description"]);
    assert_eq!(again["success_metrics"], workflow()["success_metrics"]);
    load_workflow(seeds::BUSINESS_EXPANSION_WORKFLOW).unwrap();

    // The spec's registry with its `mcp_server` block beside it: both kept,
    // and written back they load again to the same document.
    let mcp_server: Value = serde_json::from_str(seeds::MCP_SERVER).unwrap();
    let whole = json!({"mcp_server": mcp_server["mcp_server"],
                       "expert_registry": registry()["expert_registry"]});
    let doc = RegistryDocument::parse(&whole.to_string()).unwrap();
    let server = doc.mcp_server.as_ref().unwrap();
    assert_eq!(server.name, "Pixel-AI MCP Coordinator");
    assert_eq!(server.version, "1.0.0");
    assert_eq!(server.capabilities.len(), 5);
    assert_eq!(
        server.api_endpoints["expert_register"],
        "/mcp/experts/register"
    );
    let written = serde_json::to_value(&doc).unwrap();
    assert_eq!(written["mcp_server"], mcp_server["mcp_server"]);
    assert_eq!(RegistryDocument::parse(&written.to_string()).unwrap(), doc);
    // `Value` sorts keys, so compare the experts by id.
    let mut experts = doc.experts.clone();
    experts.sort_by(|a, b| a.id.cmp(&b.id));
    let mut seed = load_registry(seeds::EXPERT_REGISTRY).unwrap();
    seed.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(experts, seed);
}

#[test]
fn an_empty_registry_is_rejected_in_both_shapes() {
    for (text, path) in [
        (r#"{"expert_registry": {}}"#, "expert_registry"),
        ("[]", ""),
    ] {
        let err = load_registry(text).unwrap_err();
        assert_eq!(err.path(), path, "{text}");
        assert!(
            err.to_string().contains("the registry has no experts"),
            "{err}"
        );
    }
}

#[test]
fn retries_and_timeouts_out_of_bounds_are_rejected() {
    let cases = [
        (
            json!({"retry": {"max_attempts": 4_294_967_295_u64, "initial_backoff_ms": u64::MAX,
                             "max_backoff_ms": u64::MAX}}),
            vec![
                "workflow_steps[2].retry.max_attempts: 4294967295 attempts is more than the limit of 100",
                "workflow_steps[2].retry.initial_backoff_ms: 18446744073709551615 ms is longer than the limit of 3600000 ms (one hour)",
                "workflow_steps[2].retry.max_backoff_ms: 18446744073709551615 ms is longer than the limit of 3600000 ms (one hour)",
            ],
        ),
        (
            json!({"retry": {"max_attempts": 101}}),
            vec![
                "workflow_steps[2].retry.max_attempts: 101 attempts is more than the limit of 100",
            ],
        ),
        (
            json!({"retry": {"max_attempts": 0}}),
            vec!["workflow_steps[2].retry.max_attempts: at least one attempt is needed"],
        ),
        (
            json!({"timeout_ms": 86_400_001_u64}),
            vec![
                "workflow_steps[2].timeout_ms: 86400001 ms is longer than the limit of 86400000 ms (24 hours); omit it for none",
            ],
        ),
    ];
    for (patch, expected) in cases {
        let mut doc = workflow();
        for (key, value) in patch.as_object().unwrap() {
            doc["workflow_steps"][2][key] = value.clone();
        }
        let spec: consort_protocol::WorkflowSpec = from_json_str(&doc.to_string()).unwrap();
        let problems: Vec<String> = spec
            .structural_problems()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(problems, expected, "{patch}");
    }

    // The bounds themselves are accepted.
    let mut doc = workflow();
    doc["workflow_steps"][2]["retry"] =
        json!({"max_attempts": 100, "initial_backoff_ms": 3_600_000, "max_backoff_ms": 3_600_000});
    doc["workflow_steps"][2]["timeout_ms"] = json!(86_400_000);
    load_workflow(&doc.to_string()).unwrap();
}

#[test]
fn wire_messages_ignore_fields_from_newer_versions() {
    let event = json!({"type": "task:claimed", "source": "hub", "timestamp": "2026-11-23T09:00:00Z",
                       "data": {"taskId": "t-1", "agentId": "a-1", "claimedVia": "queue"},
                       "traceId": "abc"});
    let parsed: Event = from_json_str(&event.to_string()).unwrap();
    assert_eq!(parsed.event_type(), "task:claimed");

    let message = json!({"message_id": "m-1", "sender_expert": "marketing_sales",
                         "recipient_expert": "finance_accountant", "message_type": "request",
                         "payload": {"data": {}, "priority": "high", "attachments": []},
                         "session_id": "s-1", "timestamp": "2026-11-23T09:00:00Z",
                         "hop_count": 2});
    let parsed: ExpertMessage = from_json_str(&message.to_string()).unwrap();
    assert_eq!(parsed.sender_expert, "marketing_sales");

    let response = json!({"message_id": "m-2", "responding_expert": "finance_accountant",
                          "original_message_id": "m-1", "response_type": "answer",
                          "payload": {"confidence_level": 0.8, "citations": ["q3 report"]},
                          "model": "v2"});
    let parsed: ExpertResponse = from_json_str(&response.to_string()).unwrap();
    assert_eq!(parsed.payload.confidence_level.get(), 0.8);
}

/// Every object of `doc` whose fields are a type's (not a map's keys), by
/// JSON pointer, with the path an error would name.
fn struct_objects(doc: &Value, maps: &[&str]) -> Vec<(String, String)> {
    fn walk(
        value: &Value,
        pointer: &str,
        path: &str,
        maps: &[&str],
        out: &mut Vec<(String, String)>,
    ) {
        match value {
            Value::Object(fields) => {
                out.push((pointer.to_owned(), path.to_owned()));
                for (key, child) in fields {
                    let child_pointer = format!("{pointer}/{key}");
                    let child_path = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    if maps.contains(&key.as_str()) {
                        // A map: its values may be types again (registry entries).
                        if let Value::Object(entries) = child {
                            for (name, entry) in entries {
                                if entry.is_object() {
                                    walk(
                                        entry,
                                        &format!("{child_pointer}/{name}"),
                                        &format!("{child_path}.{name}"),
                                        maps,
                                        out,
                                    );
                                }
                            }
                        }
                    } else {
                        walk(child, &child_pointer, &child_path, maps, out);
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(
                        item,
                        &format!("{pointer}/{i}"),
                        &format!("{path}[{i}]"),
                        maps,
                        out,
                    );
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, "", "", maps, &mut out);
    out
}

/// One edit to a field name: a letter dropped, doubled or swapped with the
/// next.
fn misspell(name: &str, edit: usize, at: usize) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    let at = at % chars.len();
    match edit % 3 {
        0 => {
            chars.remove(at);
        }
        1 => chars.insert(at, chars[at]),
        _ if at + 1 < chars.len() => chars.swap(at, at + 1),
        _ => chars.push('s'),
    }
    chars.into_iter().collect()
}

/// A hand-written seed document, the keys in it whose values are maps
/// rather than types, and the loader it goes through.
struct Seed {
    doc: Value,
    maps: &'static [&'static str],
    load: fn(&str) -> Result<(), ProtocolError>,
}

fn seeds_with_loaders() -> Vec<Seed> {
    vec![
        Seed {
            doc: workflow(),
            maps: &["success_metrics"],
            load: |t| load_workflow(t).map(drop),
        },
        Seed {
            doc: serde_json::from_str(seeds::BUSINESS_EXPANSION_WORKFLOW).unwrap(),
            maps: &["success_metrics"],
            load: |t| load_workflow(t).map(drop),
        },
        Seed {
            doc: registry(),
            maps: &["expert_registry"],
            load: |t| load_registry(t).map(drop),
        },
        Seed {
            doc: json!({"expert": "legal_consultant", "subject": "contract",
                        "position": {"term": 2}, "confidence_level": 0.7,
                        "precedes": ["launch"], "rationale": "",
                        "requested_resources": {"hours": 3}}),
            maps: &["requested_resources", "position"],
            load: |t| from_json_str::<ExpertRecommendation>(t).map(drop),
        },
    ]
}

proptest! {
    /// Misspelling any field of any hand-written seed document is an error
    /// at exactly that field, located at it, suggesting the real name.
    #[test]
    fn any_misspelt_field_is_caught_where_it_is(
        pick in any::<prop::sample::Index>(),
        object in any::<prop::sample::Index>(),
        field in any::<prop::sample::Index>(),
        edit in 0usize..3,
        at in 0usize..64,
    ) {
        let mut seeds = seeds_with_loaders();
        let index = pick.index(seeds.len());
        let Seed { mut doc, maps, load } = seeds.swap_remove(index);
        let objects = struct_objects(&doc, maps);
        let (pointer, path) = objects[object.index(objects.len())].clone();
        let target = doc.pointer_mut(&pointer).unwrap();
        let names: Vec<String> = target.as_object().unwrap().keys().cloned().collect();
        prop_assume!(!names.is_empty());
        let name = names[field.index(names.len())].clone();
        let typo = misspell(&name, edit, at);
        // Some edits give back the name, or another real one.
        prop_assume!(typo != name && !names.contains(&typo) && !["confidence", "id"].contains(&typo.as_str()));
        rename(target, &name, &typo);

        let text = serde_json::to_string_pretty(&doc).unwrap();
        let err = load(&text).unwrap_err();
        let expected_path = if path.is_empty() { typo.clone() } else { format!("{path}.{typo}") };
        prop_assert_eq!(err.path(), expected_path.as_str(), "{}", err);
        prop_assert!(matches!(err, ProtocolError::UnknownField { .. }), "{}", err);
        prop_assert_eq!(err.suggestion(), Some(name.as_str()), "{}", err);
        let Location { line, column } = err.location().unwrap();
        let before = &text.lines().nth(line - 1).unwrap()[..column];
        prop_assert!(before.ends_with(&format!("\"{typo}\"")), "{before:?}");
    }
}
