//! Every tool through a real rmcp client, with good and bad input: schemas,
//! strict arguments with JSON paths, prefixes, chosen tools, rate limits,
//! progress notifications, human answers and tasks.

// Integration tests: unwrap/panic report failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use consort_coordinator::Coordinator;
use consort_mcp::{ConsortServer, ConsortTool, McpError, RateLimit, ToolsConfig, consort_tools};
use consort_protocol::{load_registry, load_workflow, seeds};
use consort_state::MemoryBackend;
use consort_workflow::{
    JsonMap, SimulatedExecutor, StepContext, StepExecutor, StepKind, StepOutcome,
};
use rmcp::model::{
    CallToolResponse, ElicitRequestParams, ElicitResult, ElicitationAction, GetTaskParams,
    InputRequest, InputResponses, ProtocolVersion, TaskPayload, TaskStatus, UpdateTaskParams,
};
use serde_json::{Value, json};
use support::{Recorder, call, call_once, connect, error, ok};

/// Step 2 of a workflow asks a human, then completes with the answer.
struct AsksForBudget;

#[async_trait]
impl StepExecutor for AsksForBudget {
    async fn execute(&self, ctx: StepContext) -> StepOutcome {
        if ctx.step().number == 2 && *ctx.kind() == StepKind::Execute {
            return match ctx.inputs().human_answer() {
                Some(answer) => {
                    let mut outputs = JsonMap::new();
                    for output in &ctx.step().outputs {
                        outputs.insert(output.clone(), answer.clone());
                    }
                    StepOutcome::Completed(outputs)
                }
                None => StepOutcome::NeedsHuman {
                    question: "What budget may we spend?".into(),
                },
            };
        }
        SimulatedExecutor::new().execute(ctx).await
    }
}

async fn coordinator(executor: Arc<dyn StepExecutor>) -> Coordinator {
    let backend = Arc::new(MemoryBackend::new("mcp-tools").unwrap());
    let coordinator = Coordinator::builder(backend)
        .with_executor(executor)
        .build()
        .await
        .unwrap();
    for expert in load_registry(seeds::EXPERT_REGISTRY).unwrap() {
        coordinator.register_expert(&expert).await.unwrap();
    }
    coordinator
        .add_workflow(load_workflow(seeds::MARKETING_CAMPAIGN_WORKFLOW).unwrap())
        .await
        .unwrap();
    coordinator
}

async fn client_with(config: ToolsConfig, executor: Arc<dyn StepExecutor>) -> support::Client {
    let server = ConsortServer::new(coordinator(executor).await, config).unwrap();
    connect(server, Recorder::new("tools-test", false)).await
}

async fn client() -> support::Client {
    client_with(ToolsConfig::default(), Arc::new(SimulatedExecutor::new())).await
}

fn marketing_json() -> Value {
    serde_json::from_str(seeds::MARKETING_CAMPAIGN_WORKFLOW).unwrap()
}

#[tokio::test]
async fn every_tool_is_listed_with_described_inputs_and_an_output_schema() {
    let client = client().await;
    let tools = client.peer().list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(tools.len(), ConsortTool::ALL.len(), "{names:?}");
    for tool in &tools {
        let name = tool.name.as_ref();
        assert!(name.starts_with("consort_"), "{name}");
        let base = ConsortTool::from_base_name(&name["consort_".len()..]).unwrap();
        assert!(
            tool.description.as_deref().is_some_and(|d| d.len() > 20),
            "{name}"
        );
        assert!(tool.output_schema.is_some(), "{name} has no outputSchema");
        let schema = &tool.input_schema;
        assert_eq!(schema.get("type"), Some(&json!("object")), "{name}");
        if let Some(Value::Object(properties)) = schema.get("properties") {
            for (field, property) in properties {
                assert!(
                    property.get("description").is_some(),
                    "{name}.{field} has no description: {property}"
                );
            }
        }
        let hints = tool.annotations.as_ref().unwrap();
        assert_eq!(hints.read_only_hint, Some(base.is_read_only()), "{name}");
    }
}

#[tokio::test]
async fn experts_are_registered_listed_updated_and_removed() {
    let client = client().await;
    let profile = json!({"id": "tax_advisor", "expertise_domains": ["tax", "vat"],
                         "mcp_endpoint": "/mcp/experts/tax", "priority_level": "medium", "response_time_sla": "< 3 seconds"});
    let registered = ok(
        "register",
        call(
            &client,
            "consort_expert_register",
            json!({"profile": profile}),
        )
        .await,
    );
    assert_eq!(registered["id"], "tax_advisor");
    assert_eq!(registered["availability"], "available");

    let listed = ok(
        "list",
        call(&client, "consort_experts_list", json!({})).await,
    );
    let tax = listed["experts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == "tax_advisor")
        .unwrap();
    assert_eq!(tax["heartbeat_live"], true);
    assert!(tax["heartbeat_age_ms"].as_u64().unwrap() < 30_000, "{tax}");
    assert_eq!(tax["current_load"], 0);

    let busy = ok(
        "update",
        call(
            &client,
            "consort_expert_update",
            json!({"id": "tax_advisor", "availability": "offline"}),
        )
        .await,
    );
    assert_eq!(busy["availability"], "offline");
    let available = ok(
        "list",
        call(
            &client,
            "consort_experts_list",
            json!({"available_only": true}),
        )
        .await,
    );
    assert!(
        available["experts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["id"] != "tax_advisor")
    );

    ok(
        "heartbeat",
        call(
            &client,
            "consort_expert_heartbeat",
            json!({"id": "tax_advisor"}),
        )
        .await,
    );
    let gone = ok(
        "deregister",
        call(
            &client,
            "consort_expert_deregister",
            json!({"id": "tax_advisor"}),
        )
        .await,
    );
    assert_eq!(gone["change"], "deregistered");
    let message = error(
        "heartbeat",
        call(
            &client,
            "consort_expert_heartbeat",
            json!({"id": "tax_advisor"}),
        )
        .await,
    );
    assert!(message.contains("tax_advisor"), "{message}");
}

#[tokio::test]
async fn bad_expert_input_names_the_json_path_and_stores_nothing() {
    let client = client().await;
    let message = error(
        "register",
        call(&client, "consort_expert_register", json!({"profile": {"id": "x", "expertise_domain": ["a"], "mcp_endpoint": "/x", "priority_level": "low", "response_time_sla": "< 3 seconds"}})).await,
    );
    assert!(
        message.starts_with("invalid arguments: profile.expertise_domain"),
        "{message}"
    );
    assert!(
        message.contains("did you mean \"expertise_domains\""),
        "{message}"
    );

    let message = error(
        "register",
        call(&client, "consort_expert_register", json!({"profile": {"id": "x", "expertise_domains": ["a"], "mcp_endpoint": "/x", "priority_level": "urgent", "response_time_sla": "< 3 seconds"}})).await,
    );
    assert!(message.contains("profile.priority_level"), "{message}");

    let message = error(
        "register",
        call(&client, "consort_expert_register", json!({"profil": {}})).await,
    );
    assert!(message.contains("did you mean \"profile\""), "{message}");

    let message = error(
        "update",
        call(&client, "consort_expert_update", json!({"id": "legal_consultant", "profile": {"id": "other", "expertise_domains": ["a"], "mcp_endpoint": "/x", "priority_level": "low", "response_time_sla": "< 3 seconds"}})).await,
    );
    assert!(message.contains("profile.id"), "{message}");
    let message = error(
        "update",
        call(
            &client,
            "consort_expert_update",
            json!({"id": "legal_consultant"}),
        )
        .await,
    );
    assert!(message.contains("nothing to update"), "{message}");

    let listed = ok(
        "list",
        call(&client, "consort_experts_list", json!({})).await,
    );
    assert!(
        listed["experts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["id"] != "x" && e["id"] != "other")
    );
}

#[tokio::test]
async fn route_explains_its_decision_and_rejects_bad_requests() {
    let client = client().await;
    let decision = ok(
        "route",
        call(
            &client,
            "consort_route",
            json!({"request": "Review the NDA before we sign"}),
        )
        .await,
    );
    assert_eq!(decision["outcome"], "routed");
    assert_eq!(decision["primary"], "legal_consultant");
    let best = &decision["candidates"][0];
    assert_eq!(best["expert"], "legal_consultant");
    assert!(best["breakdown"]["domain"].as_f64().unwrap() > 0.0);
    for candidate in decision["candidates"].as_array().unwrap() {
        let numbers = candidate["breakdown"]
            .as_object()
            .unwrap()
            .values()
            .chain([&candidate["score"]]);
        for number in numbers {
            let text = number.to_string();
            let decimals = text.split_once('.').map_or(0, |(_, d)| d.len());
            assert!(
                decimals <= 4,
                "scores are sent to four decimals: {candidate}"
            );
        }
    }

    let with_context = ok(
        "route",
        call(
            &client,
            "consort_route",
            json!({"request": "and the budget for it?",
            "context": {"previous_expert": "finance_accountant"}}),
        )
        .await,
    );
    assert!(with_context["primary"].is_string());

    let with_top = |top: u32| {
        call(
            &client,
            "consort_route",
            json!({"request": "Review the NDA before we sign", "top": top}),
        )
    };
    // Every ranked candidate, runners-up included.
    let wide = ok("route", with_top(100).await);
    let ranked = wide["candidates"].as_array().unwrap();
    let chosen = |c: &&Value| {
        c["expert"] == decision["primary"]
            || decision["collaborators"]
                .as_array()
                .unwrap()
                .contains(&c["expert"])
    };
    assert!(
        ranked.iter().any(|c| !chosen(&c)),
        "the NDA request ranks runners-up: {wide}"
    );
    // By default, the chosen experts' candidates only, in rank order.
    let expected: Vec<&Value> = ranked.iter().filter(chosen).collect();
    let default: Vec<&Value> = decision["candidates"].as_array().unwrap().iter().collect();
    assert_eq!(default, expected);
    let short = ok("route", with_top(1).await);
    assert_eq!(short["candidates"].as_array().unwrap().len(), 1);
    assert_eq!(short["candidates"][0], wide["candidates"][0]);
    assert_eq!(short["primary"], decision["primary"]);
    assert_eq!(short["collaborators"], decision["collaborators"]);
    let message = error("route", with_top(0).await);
    assert!(message.contains("top: "), "{message}");

    let message = error(
        "route",
        call(&client, "consort_route", json!({"request": "  "})).await,
    );
    assert!(message.contains("request"), "{message}");
    let message = error(
        "route",
        call(
            &client,
            "consort_route",
            json!({"request": "x", "context": {"previous_expert": "nobody"}}),
        )
        .await,
    );
    assert!(message.contains("nobody"), "{message}");
    let message = error(
        "route",
        call(&client, "consort_route", json!({"requset": "x"})).await,
    );
    assert!(message.contains("did you mean \"request\""), "{message}");
}

#[tokio::test]
async fn conflicts_are_resolved_with_rationale_and_bad_input_is_refused() {
    let client = client().await;
    let input: Value = serde_json::from_str(consort_conflict::BUDGET_DISAGREEMENT).unwrap();
    let report = ok(
        "resolve",
        call(&client, "consort_resolve_conflicts", input.clone()).await,
    );
    let conflicts = report["conflicts"].as_array().unwrap();
    assert!(!conflicts.is_empty());
    assert!(
        conflicts
            .iter()
            .all(|c| c["rationale"].as_str().is_some_and(|r| !r.is_empty()))
    );
    assert!(report["unified"]["allocations"].is_object());

    let mut bad = input.clone();
    bad["recommendations"][1]["confidence_level"] = json!(1.5);
    let message = error(
        "resolve",
        call(&client, "consort_resolve_conflicts", bad).await,
    );
    assert!(
        message.contains("recommendations[1].confidence_level"),
        "{message}"
    );
    let message = error(
        "resolve",
        call(
            &client,
            "consort_resolve_conflicts",
            json!({"recommendations": []}),
        )
        .await,
    );
    assert!(message.contains("empty"), "{message}");
}

#[tokio::test]
async fn workflows_are_validated_rendered_and_listed() {
    let client = client().await;
    let valid = ok(
        "validate",
        call(
            &client,
            "consort_workflow_validate",
            json!({"definition": marketing_json()}),
        )
        .await,
    );
    assert_eq!(valid["valid"], true);

    let mut unknown = marketing_json();
    unknown["workflow_steps"][0]["primary_expert"] = json!("nobody");
    let invalid = ok(
        "validate",
        call(
            &client,
            "consort_workflow_validate",
            json!({"definition": unknown}),
        )
        .await,
    );
    assert_eq!(invalid["valid"], false);
    assert_eq!(
        invalid["problems"][0]["path"],
        "workflow_steps[0].primary_expert"
    );

    let message = error(
        "validate",
        call(
            &client,
            "consort_workflow_validate",
            json!({"definition": {"workflow_name": "x", "workflow_step": []}}),
        )
        .await,
    );
    assert!(message.contains("definition.workflow_step"), "{message}");

    let listed = ok(
        "list",
        call(&client, "consort_workflows_list", json!({})).await,
    );
    assert_eq!(
        listed["workflows"][0]["name"],
        marketing_json()["workflow_name"]
    );

    let mermaid = ok(
        "render",
        call(
            &client,
            "consort_workflow_render",
            json!({"definition": marketing_json()}),
        )
        .await,
    );
    assert!(
        mermaid["text"]
            .as_str()
            .unwrap()
            .starts_with("flowchart TD")
    );
    let name = marketing_json()["workflow_name"].clone();
    let dot = ok(
        "render",
        call(
            &client,
            "consort_workflow_render",
            json!({"name": name, "format": "dot"}),
        )
        .await,
    );
    assert!(dot["text"].as_str().unwrap().starts_with("digraph"));
    let message = error(
        "render",
        call(&client, "consort_workflow_render", json!({"name": "nope"})).await,
    );
    assert!(message.contains("nope"), "{message}");
    let message = error(
        "render",
        call(
            &client,
            "consort_workflow_render",
            json!({"format": "svg", "name": name}),
        )
        .await,
    );
    assert!(message.contains("format"), "{message}");
}

#[tokio::test]
async fn a_run_reports_progress_per_step_and_can_be_inspected() {
    let server = ConsortServer::new(
        coordinator(Arc::new(SimulatedExecutor::new())).await,
        ToolsConfig::default(),
    )
    .unwrap();
    let recorder = Recorder::new("progress-test", false);
    let client = connect(server, recorder.clone()).await;
    let name = marketing_json()["workflow_name"].clone();
    let CallToolResponse::Complete(result) = call_once(
        &client,
        "consort_workflow_start",
        json!({"name": name, "wait": true}),
        Some(7),
    )
    .await
    else {
        panic!("a client without tasks gets a result");
    };
    let report = ok("start", result);
    assert_eq!(report["state"], "completed");
    let steps = report["status"]["steps"].as_array().unwrap().len();
    let messages = recorder.messages();
    let completed: Vec<&String> = messages
        .iter()
        .filter(|m| m.contains("completed"))
        .collect();
    assert!(completed.len() >= steps, "{messages:?}");
    assert!(
        completed[0].starts_with(&format!("1 of {steps}: ")),
        "{messages:?}"
    );

    let run_id = report["run_id"].as_str().unwrap();
    let status = ok(
        "status",
        call(
            &client,
            "consort_workflow_status",
            json!({"run_id": run_id}),
        )
        .await,
    );
    assert_eq!(status["percent_complete"], 100.0);
    let coloured = ok(
        "render",
        call(
            &client,
            "consort_workflow_render",
            json!({"name": name, "run_id": run_id}),
        )
        .await,
    );
    assert!(coloured["text"].as_str().unwrap().contains("#c8e6c9"));
    let resumed = ok(
        "resume",
        call(
            &client,
            "consort_workflow_resume",
            json!({"run_id": run_id}),
        )
        .await,
    );
    assert_eq!(resumed["state"], "completed");
    let message = error(
        "status",
        call(
            &client,
            "consort_workflow_status",
            json!({"run_id": "no-such-run"}),
        )
        .await,
    );
    assert!(message.contains("not found"), "{message}");
}

#[tokio::test]
async fn a_human_answers_a_waiting_step_through_the_tools() {
    let client = client_with(ToolsConfig::default(), Arc::new(AsksForBudget)).await;
    let name = marketing_json()["workflow_name"].clone();
    let waiting = ok(
        "start",
        call(
            &client,
            "consort_workflow_start",
            json!({"name": name, "wait": true}),
        )
        .await,
    );
    assert_eq!(waiting["state"], "waiting_for_human");
    let run_id = waiting["run_id"].as_str().unwrap().to_owned();
    let asking = waiting["status"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["state"] == "waiting_for_human")
        .unwrap();
    assert_eq!(asking["question"], "What budget may we spend?");

    let message = error(
        "answer",
        call(
            &client,
            "consort_workflow_answer",
            json!({"run_id": run_id, "step": 1, "answer": 5}),
        )
        .await,
    );
    assert!(message.contains("not waiting for a human"), "{message}");
    ok(
        "answer",
        call(
            &client,
            "consort_workflow_answer",
            json!({"run_id": run_id, "step": 2, "answer": 30000}),
        )
        .await,
    );
    let done = ok(
        "status",
        call(
            &client,
            "consort_workflow_status",
            json!({"run_id": run_id, "wait": true}),
        )
        .await,
    );
    assert_eq!(done["state"], "completed", "{done}");
}

/// Before 2026-07-28 the question is asked mid-call with
/// `elicitation/create`; from 2026-07-28 on, the call returns an
/// input-required result and rmcp's client calls again with the answer.
/// Either way the user is asked once and the run goes on.
#[tokio::test]
async fn a_client_with_elicitation_is_asked_the_question_and_the_run_goes_on() {
    for version in [
        ProtocolVersion::LATEST_WITH_INITIALIZE,
        ProtocolVersion::V_2026_07_28,
    ] {
        asked_once_and_the_run_goes_on(version).await;
    }
}

async fn asked_once_and_the_run_goes_on(version: ProtocolVersion) {
    let server = ConsortServer::new(
        coordinator(Arc::new(AsksForBudget)).await,
        ToolsConfig::default(),
    )
    .unwrap();
    let recorder = Recorder::answering("elicitation-test", "30000").speaking(version.clone());
    let client = connect(server, recorder.clone()).await;
    let name = marketing_json()["workflow_name"].clone();
    let done = ok(
        "start",
        call(
            &client,
            "consort_workflow_start",
            json!({"name": name, "wait": true}),
        )
        .await,
    );
    assert_eq!(done["state"], "completed", "{version}: {done}");
    let asked = recorder.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1, "{version}: {asked:?}");
    assert!(asked[0].contains("What budget may we spend?"), "{asked:?}");
    let step = done["status"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == 2)
        .unwrap();
    let outputs = step["outputs"].as_object().unwrap();
    assert!(outputs.values().all(|v| v == &json!(30000)), "{outputs:?}");
}

/// Calls `tool` again with `request_state` and one answer to `key`.
async fn answer_again(
    client: &support::Client,
    tool: &str,
    arguments: Value,
    request_state: &str,
    key: &str,
    answer: &ElicitResult,
) -> CallToolResponse {
    let Value::Object(arguments) = arguments else {
        unreachable!()
    };
    let params = rmcp::model::CallToolRequestParams::new(tool.to_owned())
        .with_arguments(arguments)
        .with_input_responses(one_response(key, answer))
        .with_request_state(request_state);
    client.peer().call_tool_once(params).await.unwrap()
}

#[tokio::test]
async fn on_2026_07_28_a_waiting_call_returns_its_questions_and_the_retry_answers_them() {
    let server = ConsortServer::new(
        coordinator(Arc::new(AsksForBudget)).await,
        ToolsConfig::default(),
    )
    .unwrap();
    let recorder =
        Recorder::answering("mrtr-test", "unused").speaking(ProtocolVersion::V_2026_07_28);
    let client = connect(server.clone(), recorder).await;
    let name = marketing_json()["workflow_name"].clone();
    let start = json!({"name": name, "wait": true});

    let without_elicitation =
        Recorder::new("mrtr-test-plain", false).speaking(ProtocolVersion::V_2026_07_28);
    let plain = connect(server, without_elicitation).await;
    let waiting = ok(
        "start",
        call(&plain, "consort_workflow_start", start.clone()).await,
    );
    assert_eq!(
        waiting["state"], "waiting_for_human",
        "a client that cannot answer forms gets the waiting run: {waiting}"
    );
    let response = call_once(&client, "consort_workflow_start", start.clone(), None).await;
    let CallToolResponse::InputRequired(asked) = response else {
        panic!("the run waits for a budget: {response:?}");
    };
    let run_id = asked.request_state.clone().unwrap();
    let requests = asked.input_requests.unwrap();
    let key = requests.keys().next().unwrap().clone();
    assert_eq!(key, "step-2-attempt-1");

    let mut accept = ElicitResult::new(ElicitationAction::Accept);
    accept.content = Some(json!({"answer": "45000"}));
    let status = json!({"run_id": run_id, "wait": true});
    let wrong_run = answer_again(
        &client,
        "consort_workflow_status",
        status.clone(),
        "another-run",
        &key,
        &accept,
    )
    .await;
    let CallToolResponse::Complete(wrong_run) = wrong_run else {
        panic!("a tool error");
    };
    let message = error("status", wrong_run);
    assert!(message.contains("requestState"), "{message}");
    let CallToolResponse::Complete(unknown) = answer_again(
        &client,
        "consort_workflow_status",
        status,
        &run_id,
        "step-7-attempt-1",
        &accept,
    )
    .await
    else {
        panic!("a tool error");
    };
    let message = error("status", unknown);
    assert!(
        message.contains("inputResponses.step-7-attempt-1") && message.contains(&key),
        "{message}"
    );

    let CallToolResponse::Complete(done) = answer_again(
        &client,
        "consort_workflow_start",
        start,
        &run_id,
        &key,
        &accept,
    )
    .await
    else {
        panic!("the answered run completes");
    };
    let done = ok("start", done);
    assert_eq!(
        done["run_id"],
        run_id.as_str(),
        "the retry starts no new run"
    );
    assert_eq!(done["state"], "completed", "{done}");
    let step = done["status"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == 2)
        .unwrap();
    assert!(
        step["outputs"]
            .as_object()
            .unwrap()
            .values()
            .all(|v| v == &json!(45000)),
        "{step}"
    );
}

#[tokio::test]
async fn a_run_is_started_inline_and_cancelled() {
    let slow = SimulatedExecutor::new().with_delay(Duration::from_secs(30));
    let client = client_with(ToolsConfig::default(), Arc::new(slow)).await;
    let started = ok(
        "start",
        call(
            &client,
            "consort_workflow_start",
            json!({"definition": marketing_json(), "run_id": "inline-1", "params": {"budget": 1}}),
        )
        .await,
    );
    assert_eq!(started["run_id"], "inline-1");
    assert_eq!(started["state"], "running");
    let message = error(
        "start",
        call(
            &client,
            "consort_workflow_start",
            json!({"definition": marketing_json(), "run_id": "inline-1"}),
        )
        .await,
    );
    assert!(message.contains("\"inline-1\""), "{message}");
    let message = error(
        "start",
        call(
            &client,
            "consort_workflow_start",
            json!({"definition": marketing_json(), "name": "x"}),
        )
        .await,
    );
    assert!(message.contains("not both"), "{message}");

    ok(
        "cancel",
        call(
            &client,
            "consort_workflow_cancel",
            json!({"run_id": "inline-1"}),
        )
        .await,
    );
    let status = ok(
        "status",
        call(
            &client,
            "consort_workflow_status",
            json!({"run_id": "inline-1", "wait": true}),
        )
        .await,
    );
    assert_eq!(status["state"], "cancelled");
}

/// A client with tasks, and the task it got for a run of the marketing
/// workflow on `executor`.
async fn started_as_task(
    executor: Arc<dyn StepExecutor>,
    client: &str,
) -> (support::Client, String) {
    let server = ConsortServer::new(coordinator(executor).await, ToolsConfig::default()).unwrap();
    let client = connect(server, Recorder::new(client, true)).await;
    let name = marketing_json()["workflow_name"].clone();
    let CallToolResponse::Task(created) = call_once(
        &client,
        "consort_workflow_start",
        json!({"name": name}),
        None,
    )
    .await
    else {
        panic!("a client with tasks gets a task");
    };
    (client, created.task.task_id)
}

#[tokio::test]
async fn a_client_with_tasks_gets_the_run_as_a_task() {
    let (client, task_id) = started_as_task(
        Arc::new(SimulatedExecutor::new().with_delay(Duration::from_millis(5))),
        "tasks-test",
    )
    .await;
    let result = loop {
        let got = client
            .peer()
            .get_task(GetTaskParams::new(task_id.clone()))
            .await
            .unwrap();
        match got.task.payload {
            TaskPayload::Completed { result } => break result,
            TaskPayload::Working => tokio::time::sleep(Duration::from_millis(20)).await,
            other => panic!("unexpected task state {other:?}"),
        }
    };
    assert_eq!(
        result["structuredContent"]["state"], "completed",
        "{result:?}"
    );
    assert_eq!(result["structuredContent"]["run_id"], task_id.as_str());
    let missing = client
        .peer()
        .get_task(GetTaskParams::new("no-such-task"))
        .await;
    assert!(missing.is_err());
    let again = client
        .peer()
        .get_task(GetTaskParams::new(task_id))
        .await
        .unwrap();
    assert_eq!(again.task.task.status, TaskStatus::Completed);
}

/// Polls the task until `done` accepts its payload.
async fn poll_task(
    client: &support::Client,
    task_id: &str,
    done: impl Fn(&TaskPayload) -> bool,
) -> TaskPayload {
    for _ in 0..500 {
        let got = client
            .peer()
            .get_task(GetTaskParams::new(task_id))
            .await
            .unwrap();
        if done(&got.task.payload) {
            return got.task.payload;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("task {task_id} never reached the awaited state");
}

/// `answer` as the only input response, to `key`.
fn one_response(key: &str, answer: &ElicitResult) -> InputResponses {
    let mut responses = InputResponses::new();
    responses.insert(key.to_owned(), serde_json::to_value(answer).unwrap());
    responses
}

fn update(task_id: &str, key: &str, result: &ElicitResult) -> UpdateTaskParams {
    UpdateTaskParams::new(task_id, one_response(key, result))
}

#[tokio::test]
async fn a_question_makes_the_task_input_required_and_tasks_update_answers_it() {
    let (client, task_id) = started_as_task(Arc::new(AsksForBudget), "input-required-test").await;
    let TaskPayload::InputRequired { input_requests } =
        poll_task(&client, &task_id, |p| !matches!(p, TaskPayload::Working)).await
    else {
        panic!("the run asks for a budget");
    };
    let (key, request) = input_requests.into_iter().next().unwrap();
    assert_eq!(key, "step-2-attempt-1");
    let InputRequest::Elicitation(elicit) = request else {
        panic!("the question is an elicitation form");
    };
    let ElicitRequestParams::FormElicitationParams { message, .. } = &elicit.params else {
        panic!("a form");
    };
    assert!(message.contains("What budget may we spend?"), "{message}");

    let got = client
        .peer()
        .get_task(GetTaskParams::new(task_id.clone()))
        .await
        .unwrap();
    assert_eq!(got.task.task.status, TaskStatus::InputRequired);

    let mut accept = ElicitResult::new(ElicitationAction::Accept);
    accept.content = Some(json!({"answer": "30000"}));
    let unknown = client
        .peer()
        .update_task(update(&task_id, "step-9-attempt-1", &accept))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        unknown.contains("inputResponses.step-9-attempt-1") && unknown.contains("step-2-attempt-1"),
        "{unknown}"
    );
    let declined = ElicitResult::new(ElicitationAction::Decline);
    client
        .peer()
        .update_task(update(&task_id, &key, &declined))
        .await
        .unwrap();
    let got = client
        .peer()
        .get_task(GetTaskParams::new(task_id.clone()))
        .await
        .unwrap();
    assert_eq!(
        got.task.task.status,
        TaskStatus::InputRequired,
        "a declined form leaves the question open"
    );

    client
        .peer()
        .update_task(update(&task_id, &key, &accept))
        .await
        .unwrap();
    let TaskPayload::Completed { result } = poll_task(&client, &task_id, |p| {
        matches!(p, TaskPayload::Completed { .. })
    })
    .await
    else {
        unreachable!()
    };
    let status = &result["structuredContent"];
    assert_eq!(status["state"], "completed", "{result:?}");
    let step = status["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == 2)
        .unwrap();
    assert!(
        step["outputs"]
            .as_object()
            .unwrap()
            .values()
            .all(|v| v == &json!(30000)),
        "{step}"
    );
}

#[tokio::test]
async fn tools_can_be_renamed_chosen_limited_and_runs_refused() {
    let one = NonZeroU32::MIN;
    let config = ToolsConfig::default()
        .with_prefix("coord.")
        .read_only()
        .with_tool_rate_limit(ConsortTool::Ping, RateLimit::per_minute(one))
        .with_runs_refused("no executor here");
    let client = client_with(config, Arc::new(SimulatedExecutor::new())).await;
    let tools = client.peer().list_all_tools().await.unwrap();
    assert!(tools.iter().all(|t| t.name.starts_with("coord.")));
    assert!(
        tools
            .iter()
            .all(|t| !t.name.contains("register") && !t.name.contains("start"))
    );
    ok("ping", call(&client, "coord.ping", json!({})).await);
    let message = error("ping", call(&client, "coord.ping", json!({})).await);
    assert!(
        message.contains("rate limit") && message.contains("retry in"),
        "{message}"
    );
    let capabilities = ok(
        "capabilities",
        call(&client, "coord.capabilities", json!({})).await,
    );
    assert_eq!(capabilities["backend"], "memory");
    assert_eq!(capabilities["runs_workflows"], false);
    assert_eq!(capabilities["runs_refused"], "no executor here");
    assert_eq!(capabilities["experts"], 8);

    let refusing = client_with(
        ToolsConfig::default().with_runs_refused("no executor here"),
        Arc::new(SimulatedExecutor::new()),
    )
    .await;
    let name = marketing_json()["workflow_name"].clone();
    let message = error(
        "start",
        call(&refusing, "consort_workflow_start", json!({"name": name})).await,
    );
    assert_eq!(message, "no executor here");

    let bad = consort_tools::<Coordinator>(ToolsConfig::default().with_prefix("bad prefix "));
    assert!(matches!(bad, Err(McpError::InvalidPrefix { bad: ' ', .. })));
}

/// An rmcp server with a tool of its own that adds consort's read-only tools.
struct Host {
    coordinator: Coordinator,
    tool_router: rmcp::handler::server::tool::ToolRouter<Host>,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Text {
    /// The text.
    text: String,
}

#[rmcp::tool_router]
impl Host {
    #[rmcp::tool(description = "Count the words of a text.")]
    fn word_count(
        &self,
        rmcp::handler::server::wrapper::Parameters(Text { text }): rmcp::handler::server::wrapper::Parameters<Text>,
    ) -> String {
        text.split_whitespace().count().to_string()
    }
}

impl consort_mcp::CoordinatorHost for Host {
    fn coordinator(&self) -> &Coordinator {
        &self.coordinator
    }
}

#[rmcp::tool_handler(router = self.tool_router)]
impl rmcp::ServerHandler for Host {}

#[tokio::test]
async fn an_existing_rmcp_server_gains_consort_tools_with_one_plus() {
    let host = Host {
        coordinator: coordinator(Arc::new(SimulatedExecutor::new())).await,
        tool_router: Host::tool_router()
            + consort_tools(ToolsConfig::default().read_only()).unwrap(),
    };
    let client = connect(host, Recorder::new("embed-test", false)).await;
    let tools = client.peer().list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert!(names.contains(&"word_count"), "{names:?}");
    let read_only = ConsortTool::ALL.iter().filter(|t| t.is_read_only()).count();
    assert_eq!(names.len(), 1 + read_only, "{names:?}");
    let counted = call(&client, "word_count", json!({"text": "one two three"})).await;
    assert_eq!(counted.content[0].as_text().unwrap().text, "3");
    let decision = ok(
        "route",
        call(
            &client,
            "consort_route",
            json!({"request": "Review the NDA"}),
        )
        .await,
    );
    assert_eq!(decision["primary"], "legal_consultant");
}

#[tokio::test]
async fn experts_list_shows_an_open_circuit_recorded_by_any_process() {
    let coordinator = coordinator(Arc::new(SimulatedExecutor::new())).await;
    // What an McpExecutor (of this or another process) records when the
    // circuit of finance's server opens.
    let record = json!({"state": "open", "consecutive_failures": 5,
                        "detail": "no answer within 30s", "opened_at": "2026-11-30T07:00:00Z"});
    coordinator
        .backend()
        .set(
            "mcp:circuit:finance_accountant",
            record.to_string().into(),
            Some(std::time::Duration::from_secs(60)),
        )
        .await
        .unwrap();
    let server = ConsortServer::new(coordinator, ToolsConfig::default()).unwrap();
    let client = connect(server, Recorder::new("circuit-test", false)).await;
    let listed = ok(
        "list",
        call(&client, "consort_experts_list", json!({})).await,
    );
    let experts = listed["experts"].as_array().unwrap();
    let finance = experts
        .iter()
        .find(|e| e["id"] == "finance_accountant")
        .unwrap();
    assert_eq!(finance["circuit"], record);
    let legal = experts
        .iter()
        .find(|e| e["id"] == "legal_consultant")
        .unwrap();
    assert!(legal.get("circuit").is_none(), "{legal}");
}
