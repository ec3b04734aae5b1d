//! Misspelt and empty hand-written inputs are exit 2 with the JSON path, the
//! line and column, and the field that was most likely meant.
//!
//! Each typo of issue 11 used to load silently and change what happened
//! (`nextstep` started step 3 before step 2, `availability` routed to an
//! offline expert, ...). Each test first shows the correctly spelt document
//! is accepted, then that the typo is refused. A property test gives every
//! loader arbitrary JSON: the command never panics, and either accepts the
//! document or exits 2 naming a path that exists in it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use consort_protocol::seeds;
use proptest::prelude::*;
use serde_json::{Value, json};

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        let files = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        files.write("registry.json", seeds::EXPERT_REGISTRY);
        files.json("recommendations.json", &recommendations());
        files
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn json(&self, name: &str, doc: &Value) -> PathBuf {
        self.write(name, &serde_json::to_string_pretty(doc).unwrap())
    }

    fn registry(&self) -> PathBuf {
        self.dir.path().join("registry.json")
    }

    fn recommendations(&self) -> PathBuf {
        self.dir.path().join("recommendations.json")
    }
}

fn consort(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_consort"))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_ok(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
}

/// Exit 2, and stderr names `file`, then `message` (which starts with the
/// JSON path, or with `:LINE:` for a line of a JSON Lines file), then a line
/// and column.
fn assert_refused(out: &Output, file: &Path, message: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let expected = if message.starts_with(':') {
        format!("consort: {}{message}", file.display())
    } else {
        format!("consort: {}: {message}", file.display())
    };
    assert!(
        err.starts_with(&expected),
        "expected {expected:?}\n     got {err:?}"
    );
    assert!(err.contains(" (line "), "no line and column: {err}");
    assert!(
        out.stdout.is_empty(),
        "nothing is done with a refused input"
    );
}

fn workflow() -> Value {
    serde_json::from_str(seeds::MARKETING_CAMPAIGN_WORKFLOW).unwrap()
}

fn registry() -> Value {
    serde_json::from_str(seeds::EXPERT_REGISTRY).unwrap()
}

fn recommendations() -> Value {
    serde_json::from_str(consort_conflict::BUDGET_DISAGREEMENT).unwrap()
}

fn rename(object: &mut Value, from: &str, to: &str) {
    let map = object.as_object_mut().unwrap();
    let value = map.remove(from).unwrap();
    map.insert(to.to_owned(), value);
}

/// `consort workflow validate` accepts `doc`, and refuses it with `from`
/// renamed to `to` in the object at `pointer`.
fn workflow_typo(pointer: &str, from: &str, to: &str, path: &str) {
    let files = Files::new();
    let good = files.json("good.json", &workflow());
    assert_ok(&consort(&[&"workflow", &"validate", &good]));

    let mut doc = workflow();
    rename(doc.pointer_mut(pointer).unwrap(), from, to);
    let bad = files.json("bad.json", &doc);
    let out = consort(&[&"workflow", &"validate", &bad]);
    assert_refused(
        &out,
        &bad,
        &format!("{path}: unknown field; did you mean \"{from}\"?"),
    );
}

#[test]
fn nextstep_no_longer_starts_step_3_before_step_2() {
    workflow_typo(
        "/workflow_steps/1",
        "next_step",
        "nextstep",
        "workflow_steps[1].nextstep",
    );
}

#[test]
fn collaboration_point_no_longer_drops_the_budget_check() {
    workflow_typo(
        "/workflow_steps/1",
        "collaboration_points",
        "collaboration_point",
        "workflow_steps[1].collaboration_point",
    );
}

#[test]
fn participant_no_longer_empties_all() {
    workflow_typo("", "participants", "participant", "participant");
}

/// `consort resolve` accepts the budget example, and refuses it with
/// `from` renamed to `to` in recommendation `index`.
fn recommendation_typo(index: usize, from: &str, to: &str) {
    let files = Files::new();
    let good = files.json("good.json", &recommendations());
    assert_ok(&consort(&[
        &"resolve",
        &"--experts",
        &files.registry(),
        &good,
    ]));

    let mut doc = recommendations();
    rename(&mut doc["recommendations"][index], from, to);
    let bad = files.json("bad.json", &doc);
    let out = consort(&[&"resolve", &"--experts", &files.registry(), &bad]);
    assert_refused(
        &out,
        &bad,
        &format!("recommendations[{index}].{to}: unknown field; did you mean \"{from}\"?"),
    );
}

#[test]
fn resources_no_longer_hides_a_resource_conflict() {
    recommendation_typo(2, "requested_resources", "resources");
}

#[test]
fn preceeds_no_longer_hides_a_precedence_cycle() {
    recommendation_typo(1, "precedes", "preceeds");
}

#[test]
fn prio_no_longer_hides_a_priority_conflict() {
    recommendation_typo(0, "priority", "prio");
}

#[test]
fn domian_no_longer_changes_the_authority_weighed() {
    recommendation_typo(0, "domain", "domian");
}

/// `consort route` accepts the seed registry with `from` set to `value` on
/// finance_accountant, and refuses it with `from` misspelt as `to`.
fn registry_typo(from: &str, value: &Value, to: &str) {
    let files = Files::new();
    let mut doc = registry();
    doc["expert_registry"]["finance_accountant"][from] = value.clone();
    let good = files.json("good.json", &doc);
    assert_ok(&consort(&[
        &"route",
        &"--experts",
        &good,
        &"quarterly tax filing",
    ]));

    rename(&mut doc["expert_registry"]["finance_accountant"], from, to);
    let bad = files.json("bad.json", &doc);
    let out = consort(&[&"route", &"--experts", &bad, &"quarterly tax filing"]);
    assert_refused(
        &out,
        &bad,
        &format!(
            "expert_registry.finance_accountant.{to}: unknown field; did you mean \"{from}\"?"
        ),
    );
}

#[test]
fn availability_no_longer_routes_to_an_offline_expert() {
    registry_typo("availability_status", &json!("offline"), "availability");
}

#[test]
fn max_concurent_is_no_longer_ignored() {
    registry_typo("max_concurrent", &json!(2), "max_concurent");
}

#[test]
fn keyword_is_no_longer_ignored() {
    registry_typo("keywords", &json!(["vat return"]), "keyword");
}

#[test]
fn route_context_and_batch_typos_name_the_likely_field() {
    let files = Files::new();
    let registry = files.registry();
    let good = files.json(
        "good.json",
        &json!({"previous_expert": "finance_accountant"}),
    );
    assert_ok(&consort(&[
        &"route",
        &"--experts",
        &registry,
        &"--context",
        &good,
        &"tax",
    ]));
    let bad = files.json(
        "bad.json",
        &json!({"previous_experts": "finance_accountant"}),
    );
    let out = consort(&[
        &"route",
        &"--experts",
        &registry,
        &"--context",
        &bad,
        &"tax",
    ]);
    assert_refused(
        &out,
        &bad,
        "previous_experts: unknown field; did you mean \"previous_expert\"?",
    );

    let batch = files.write(
        "batch.jsonl",
        "{\"request\": \"tax\"}\n{\"id\": \"b\", \"requests\": \"vat\"}\n",
    );
    let out = consort(&[&"route", &"--experts", &registry, &"--batch", &batch]);
    assert_refused(
        &out,
        &batch,
        ":2: requests: unknown field; did you mean \"request\"?",
    );
}

#[test]
fn a_misspelt_policy_setting_names_the_setting() {
    let files = Files::new();
    let mut doc = recommendations();
    doc["policy"] = json!({"min_margn": 0.3});
    let bad = files.json("bad.json", &doc);
    let out = consort(&[&"resolve", &"--experts", &files.registry(), &bad]);
    assert_refused(
        &out,
        &bad,
        "policy.min_margn: unknown field; did you mean \"min_margin\"?",
    );
}

/// Exit 2 with stderr starting `consort: {start}`.
fn assert_refused_with(out: &Output, start: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with(&format!("consort: {start}")), "{err}");
}

#[test]
fn an_empty_registry_is_refused() {
    let files = Files::new();
    for (name, text, message) in [
        (
            "object.json",
            r#"{"expert_registry": {}}"#,
            "expert_registry: the registry has no experts",
        ),
        (
            "array.json",
            "[]",
            "(document root): the registry has no experts",
        ),
    ] {
        let empty = files.write(name, text);
        let start = format!("{}: {message}", empty.display());
        let resolve = consort(&[&"resolve", &"--experts", &empty, &files.recommendations()]);
        assert_refused_with(&resolve, &start);
        let route = consort(&[&"route", &"--experts", &empty, &"quarterly tax filing"]);
        assert_refused_with(&route, &start);
    }
}

#[test]
fn nothing_to_resolve_is_refused() {
    let files = Files::new();
    let nothing = files.json("nothing.json", &json!({"recommendations": []}));
    let out = consort(&[&"resolve", &"--experts", &files.registry(), &nothing]);
    let start = format!("{}: recommendations: the list is empty", nothing.display());
    assert_refused_with(&out, &start);
}

#[test]
fn an_empty_request_or_batch_is_refused() {
    let files = Files::new();
    let route = |args: &[&dyn AsRef<std::ffi::OsStr>]| {
        let mut all: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"route", &"--experts"];
        let registry = files.registry();
        all.push(&registry);
        all.extend_from_slice(args);
        consort(&all)
    };
    for request in ["", "   "] {
        assert_refused_with(&route(&[&request]), "REQUEST: the request text is empty");
    }
    for (name, text, start) in [
        ("empty.jsonl", "", ": the file is empty"),
        ("blank.jsonl", "\n  \n", ": the file is empty"),
        (
            "blank_request.jsonl",
            "{\"request\": \"quarterly tax filing\"}\n{\"request\": \" \"}\n",
            ":2: request: the request text is empty",
        ),
    ] {
        let batch = files.write(name, text);
        let out = route(&[&"--batch", &batch]);
        assert_refused_with(&out, &format!("{}{start}", batch.display()));
    }
}

#[test]
fn retries_and_timeouts_out_of_bounds_are_refused_at_validate() {
    let files = Files::new();
    let mut doc = workflow();
    doc["workflow_steps"][0]["retry"] =
        json!({"max_attempts": 4_294_967_295_u64, "max_backoff_ms": u64::MAX});
    doc["workflow_steps"][3]["timeout_ms"] = json!(u64::MAX);
    let bad = files.json("bad.json", &doc);
    let out = consort(&[&"workflow", &"validate", &bad]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for path in [
        "workflow_steps[0].retry.max_attempts: 4294967295 attempts is more than the limit of 100",
        "workflow_steps[0].retry.max_backoff_ms: 18446744073709551615 ms is longer than the limit",
        "workflow_steps[3].timeout_ms: 18446744073709551615 ms is longer than the limit",
    ] {
        assert!(
            err.contains(&format!("{}: {path}", bad.display())),
            "{path}\n{err}"
        );
    }
}

/// A JSON path as the CLI prints it, split into object keys and array
/// indices.
#[derive(Debug)]
enum Segment {
    Key(String),
    Index(usize),
}

fn segments(path: &str) -> Vec<Segment> {
    if path == "(document root)" {
        return Vec::new();
    }
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, indices) = part
            .split_once('[')
            .map_or((part, ""), |(k, rest)| (k, rest));
        if !key.is_empty() {
            out.push(Segment::Key(key.to_owned()));
        }
        for index in indices.split('[') {
            if let Ok(i) = index.trim_end_matches(']').parse() {
                out.push(Segment::Index(i));
            }
        }
    }
    out
}

/// Whether every segment of `path` but the last leads somewhere in `doc`
/// (the last may name a missing field).
fn parent_exists(doc: &Value, path: &str) -> bool {
    let segments = segments(path);
    let mut at = doc;
    for segment in segments.iter().take(segments.len().saturating_sub(1)) {
        let next = match segment {
            Segment::Key(key) => at.get(key),
            Segment::Index(i) => at.get(*i),
        };
        match next {
            Some(value) => at = value,
            None => return false,
        }
    }
    true
}

fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        "[a-z_]{1,10}",
        prop::sample::select(vec![
            "expert_registry",
            "recommendations",
            "policy",
            "capacities",
            "expert",
            "subject",
            "position",
            "confidence_level",
            "workflow_name",
            "workflow_steps",
            "step",
            "name",
            "primary_expert",
            "next_step",
            "depends_on",
            "retry",
            "max_attempts",
            "expertise_domains",
            "mcp_endpoint",
            "priority_level",
            "response_time_sla",
            "availability",
            "load",
            "min_margin",
            "authority",
        ])
        .prop_map(str::to_owned),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1.0e6..1.0e6_f64).prop_map(Value::from),
        "[a-z <>0-9]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every JSON pointer in `doc`, the root first.
fn pointers(doc: &Value) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut i = 0;
    while let Some(pointer) = out.get(i).cloned() {
        match doc.pointer(&pointer) {
            Some(Value::Object(map)) => out.extend(map.keys().map(|k| format!("{pointer}/{k}"))),
            Some(Value::Array(items)) => {
                out.extend((0..items.len()).map(|n| format!("{pointer}/{n}")));
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The commands whose loaders are tried, each with the seed document it
/// reads and how it is invoked on a file.
const LOADERS: [&str; 5] = [
    "registry",
    "workflow",
    "recommendations",
    "context",
    "batch",
];

fn seed(loader: &str) -> Value {
    match loader {
        "registry" => registry(),
        "workflow" => workflow(),
        "recommendations" => recommendations(),
        "context" => {
            json!({"previous_expert": "finance_accountant", "collaborators": ["legal_consultant"],
                   "shared_data": ["budget_constraints"], "availability": {"art_design": "busy"}})
        }
        _ => json!({"id": "a", "request": "quarterly tax filing"}),
    }
}

fn run(loader: &str, files: &Files, file: &Path) -> Output {
    let registry = files.registry();
    let good = files.recommendations();
    match loader {
        "registry" => consort(&[&"resolve", &"--experts", &file, &good]),
        "workflow" => consort(&[&"workflow", &"validate", &file]),
        "recommendations" => consort(&[&"resolve", &"--experts", &registry, &file]),
        "context" => consort(&[
            &"route",
            &"--experts",
            &registry,
            &"--context",
            &file,
            &"tax",
        ]),
        _ => consort(&[&"route", &"--experts", &registry, &"--batch", &file]),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Any JSON, alone or put anywhere into a seed document, given to any
    /// loader: exit 0, or exit 2 with every error naming a path whose
    /// parent exists in the document. Never a panic (101) or a failure (1).
    #[test]
    fn no_document_makes_a_loader_panic_or_lose_the_path(
        loader in prop::sample::select(LOADERS.to_vec()),
        replace in any::<prop::sample::Index>(),
        whole in any::<bool>(),
        value in json_value(),
    ) {
        let mut doc = seed(loader);
        if whole {
            doc = value;
        } else {
            let pointers = pointers(&doc);
            let pointer = &pointers[replace.index(pointers.len())];
            *doc.pointer_mut(pointer).unwrap() = value;
        }
        let files = Files::new();
        let text = if loader == "batch" {
            serde_json::to_string(&doc).unwrap()
        } else {
            serde_json::to_string_pretty(&doc).unwrap()
        };
        let file = files.write("input.json", &text);
        let out = run(loader, &files, &file);
        let err = stderr(&out);
        match out.status.code() {
            Some(0) => {}
            Some(2) => {
                // `consort: FILE: PATH: ...` (`FILE:LINE: PATH: ...` for JSON
                // Lines), or one problem per line for a workflow. The file
                // may be another input the document was checked against
                // (a registry without the recommendations' experts).
                let inputs = [
                    (file, doc.clone()),
                    (files.registry(), registry()),
                    (files.recommendations(), recommendations()),
                ];
                let mut named = 0;
                for line in err.lines() {
                    let line = line.trim_start_matches("consort: ");
                    for (input, input_doc) in &inputs {
                        let Some(rest) = line.strip_prefix(&*input.display().to_string()) else {
                            continue;
                        };
                        let Some(rest) = rest.trim_start_matches(":1").strip_prefix(": ") else {
                            continue;
                        };
                        let path = rest.split(": ").next().unwrap();
                        prop_assert!(parent_exists(input_doc, path), "{} is not in {}: {}", path, input_doc, err);
                        named += 1;
                    }
                }
                prop_assert!(named > 0, "no error names an input: {}", err);
            }
            other => prop_assert!(false, "exit {:?}: {}", other, err),
        }
    }
}
