//! The workflow tools: validate, render, list, start, status, answer,
//! cancel, resume; and the run behind an MCP task.

use std::borrow::Cow;
use std::sync::Arc;

use consort_coordinator::Coordinator;
use consort_protocol::{StepNumber, WorkflowSpec};
use consort_workflow::RunWatch;
use consort_workflow::{
    JsonMap, RenderFormat, RunState, RunStatus, WorkflowGraph, render as draw, render_with_states,
};
use rmcp::RoleServer;
use rmcp::model::{
    CallToolResponse, CreateTaskResult, InputRequiredResult, ProtocolVersion, Task, TaskStatus,
};
use rmcp::service::RequestContext;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::{Call, ToolOutput, schema, structured};
use crate::elicitation::{self, AnswerError};
use crate::error::ToolError;
use crate::progress;

/// The graph of the workflow a call names, one the server was given (by
/// `name`) or one written inline (`definition`), validated against the
/// registry.
async fn graph_of(
    coordinator: &Coordinator,
    name: Option<String>,
    definition: Option<WorkflowSpec>,
) -> Result<Arc<WorkflowGraph>, ToolError> {
    match (name, definition) {
        (Some(name), None) => Ok(coordinator.workflow(&name)?),
        (None, Some(spec)) => Ok(Arc::new(coordinator.build_graph(&spec).await?)),
        (Some(_), Some(_)) => Err(ToolError::InvalidArguments(
            "give either `name` or `definition`, not both".to_owned(),
        )),
        (None, None) => Err(ToolError::InvalidArguments(
            "give `name` (a served workflow) or `definition` (inline)".to_owned(),
        )),
    }
}

/// Arguments of `workflow_validate`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ValidateArgs {
    /// The definition to check: `workflow_name`, `description`,
    /// `participants` and `workflow_steps` (docs/inputs.md).
    #[schemars(schema_with = "schema::object")]
    definition: WorkflowSpec,
}

/// One problem of a definition.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ProblemEntry {
    /// JSON path of the offending value (`workflow_steps[1].primary_expert`).
    path: String,
    /// What is wrong, naming the step and the expert involved.
    message: String,
}

/// Result of `workflow_validate`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Validation {
    /// Whether the definition can run here.
    valid: bool,
    /// Every problem found; empty when valid.
    problems: Vec<ProblemEntry>,
}

impl ToolOutput for Validation {}

pub(crate) async fn validate(call: Call, args: ValidateArgs) -> Result<Validation, ToolError> {
    let problems: Vec<ProblemEntry> = call
        .coordinator
        .validate_workflow(&args.definition)
        .await?
        .iter()
        .map(|p| ProblemEntry {
            path: p.path().to_owned(),
            message: p.to_string(),
        })
        .collect();
    Ok(Validation {
        valid: problems.is_empty(),
        problems,
    })
}

/// Drawing formats.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Format {
    /// Mermaid `flowchart TD`.
    #[default]
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

impl Format {
    fn render_format(self) -> RenderFormat {
        match self {
            Self::Mermaid => RenderFormat::Mermaid,
            Self::Dot => RenderFormat::Dot,
        }
    }
}

/// Arguments of `workflow_render`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RenderArgs {
    /// The name of a definition the server was given (`workflows_list`).
    #[serde(default)]
    name: Option<String>,
    /// A definition written inline instead: `workflow_name`, `description`,
    /// `participants` and `workflow_steps`, as in the spec's workflow files
    /// (docs/inputs.md).
    #[serde(default)]
    #[schemars(schema_with = "schema::optional_object")]
    definition: Option<WorkflowSpec>,
    /// `mermaid` (the default) or `dot`.
    #[serde(default)]
    format: Format,
    /// Colour each step by its state in this run.
    #[serde(default)]
    run_id: Option<String>,
}

/// Result of `workflow_render`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Drawing {
    /// The workflow's name.
    workflow: String,
    /// `mermaid` or `dot`.
    format: &'static str,
    /// The drawing.
    text: String,
}

impl ToolOutput for Drawing {}

pub(crate) async fn render(call: Call, args: RenderArgs) -> Result<Drawing, ToolError> {
    let graph = graph_of(&call.coordinator, args.name, args.definition).await?;
    let format = args.format.render_format();
    let text = match args.run_id {
        Some(run_id) => {
            let status = call.coordinator.workflow_status(&run_id).await?;
            render_with_states(&graph, &status, format)
        }
        None => draw(&graph, format),
    };
    Ok(Drawing {
        workflow: graph.name().to_owned(),
        format: match args.format {
            Format::Mermaid => "mermaid",
            Format::Dot => "dot",
        },
        text,
    })
}

/// Arguments of `workflows_list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListArgs {}

/// One served definition.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct WorkflowEntry {
    /// Its name, for `workflow_start`.
    name: String,
    /// What it is for.
    description: String,
    /// How many steps it has.
    steps: usize,
    /// The experts taking part.
    participants: Vec<String>,
}

/// Result of `workflows_list`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct WorkflowList {
    /// The definitions, sorted by name.
    workflows: Vec<WorkflowEntry>,
}

impl ToolOutput for WorkflowList {}

pub(crate) async fn list(call: Call, _args: ListArgs) -> Result<WorkflowList, ToolError> {
    let mut workflows: Vec<WorkflowEntry> = call
        .coordinator
        .workflows()
        .iter()
        .map(|graph| {
            let spec = graph.spec();
            WorkflowEntry {
                name: spec.workflow_name.clone(),
                description: spec.description.clone(),
                steps: graph.len(),
                participants: spec.participants.iter().map(ToString::to_string).collect(),
            }
        })
        .collect();
    workflows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(WorkflowList { workflows })
}

/// Arguments of `workflow_start`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StartArgs {
    /// The name of a definition the server was given (`workflows_list`).
    #[serde(default)]
    name: Option<String>,
    /// A definition written inline instead: `workflow_name`, `description`,
    /// `participants` and `workflow_steps`, as in the spec's workflow files
    /// (docs/inputs.md).
    #[serde(default)]
    #[schemars(schema_with = "schema::optional_object")]
    definition: Option<WorkflowSpec>,
    /// The run's parameters, available to every step as `inputs.params`.
    #[serde(default)]
    params: JsonMap,
    /// An id of your own for the run (a retry with the same id is refused
    /// instead of starting a second run); generated when absent.
    #[serde(default)]
    run_id: Option<String>,
    /// Return only when the run finishes or waits for a human, with its
    /// status (progress notifications meanwhile). When false (the default),
    /// return at once with the run id.
    #[serde(default)]
    wait: bool,
}

/// The state of a run a tool started, answered, cancelled or resumed.
#[derive(Debug, Serialize)]
pub(crate) struct RunReport {
    /// The run.
    run_id: String,
    /// Its state now.
    state: RunState,
    /// Its full status, when the tool waited for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<RunStatus>,
    /// Set when the client supports MCP tasks: the call answers with this
    /// task instead.
    #[serde(skip)]
    task: Option<Task>,
    /// Set when the run waits for a human and the client answers input
    /// requests (protocol 2026-07-28): the call answers with these instead.
    #[serde(skip)]
    input_required: Option<InputRequiredResult>,
}

impl JsonSchema for RunReport {
    fn schema_name() -> Cow<'static, str> {
        "RunReport".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "required": ["run_id", "state"],
            "properties": {
                "run_id": {"description": "The run: give it to workflow_status, workflow_answer, workflow_cancel and workflow_resume.", "type": "string"},
                "state": {"description": "The run's state now.", "type": "string", "enum": RUN_STATES},
                "status": {"description": "The run's full status (as workflow_status returns it), when the call waited for the run.", "type": "object"}
            }
        })
    }
}

/// Every run state, as JSON spells it.
const RUN_STATES: [&str; 6] = [
    "running",
    "waiting_for_human",
    "paused",
    "completed",
    "failed",
    "cancelled",
];

impl ToolOutput for RunReport {
    fn into_response(mut self) -> Result<CallToolResponse, ToolError> {
        if let Some(task) = self.task.take() {
            return Ok(CallToolResponse::Task(CreateTaskResult::new(task)));
        }
        if let Some(input_required) = self.input_required.take() {
            return Ok(CallToolResponse::InputRequired(input_required));
        }
        structured(&self)
    }
}

impl RunReport {
    fn of(run_id: &str, state: RunState) -> Self {
        Self {
            run_id: run_id.to_owned(),
            state,
            status: None,
            task: None,
            input_required: None,
        }
    }

    fn waited(waited: Waited) -> Self {
        Self {
            run_id: waited.status.run_id.clone(),
            state: waited.status.state,
            status: Some(waited.status),
            task: None,
            input_required: waited.input_required,
        }
    }
}

pub(crate) async fn start(call: Call, args: StartArgs) -> Result<RunReport, ToolError> {
    call.check_runs_allowed()?;
    if let Some(retry) = &call.retry {
        // The client answers the questions of the run this call started
        // and waited for: the run goes on; no new run starts.
        let run_id = retry.request_state.clone();
        let watch = call.coordinator.watch_workflow(&run_id).await?;
        return Ok(RunReport::waited(follow(&call, &run_id, watch).await?));
    }
    let graph = graph_of(&call.coordinator, args.name, args.definition).await?;
    let mut run = call
        .coordinator
        .engine()
        .new_run(&graph)
        .with_params(args.params);
    if let Some(run_id) = args.run_id {
        run = run.with_run_id(run_id);
    }
    let (handle, watch) = run
        .start_watched()
        .await
        .map_err(consort_coordinator::CoordinatorError::from)?;
    let run_id = handle.run_id().to_owned();
    if args.wait {
        return Ok(RunReport::waited(follow(&call, &run_id, watch).await?));
    }
    // Notifications go on after the response; clients may ignore them.
    drop(progress::forward(&call.request, watch));
    if call.tools.config.tasks() && progress::client_supports_tasks(&call.request) {
        let mut report = RunReport::of(&run_id, RunState::Running);
        report.task = Some(new_task(&run_id, TaskStatus::Working));
        return Ok(report);
    }
    Ok(RunReport::of(&run_id, RunState::Running))
}

/// How a wait for a run ended.
struct Waited {
    /// The run's status when the wait ended.
    status: RunStatus,
    /// The questions the run waits on, for a client that answers them by
    /// calling again.
    input_required: Option<InputRequiredResult>,
}

/// Applies a retried call's answers, then waits for the run as
/// [`wait_for`] does, forwarding its progress meanwhile.
async fn follow(call: &Call, run_id: &str, watch: RunWatch) -> Result<Waited, ToolError> {
    if let Some(retry) = &call.retry {
        if retry.request_state != run_id {
            return Err(ToolError::InvalidArguments(format!(
                "requestState: names run {:?}, but this call follows run {run_id:?}",
                retry.request_state
            )));
        }
        elicitation::answer_all(&call.coordinator, run_id, retry.input_responses.clone())
            .await
            .map_err(|e| match e {
                AnswerError::Input(message) => ToolError::InvalidArguments(message),
                AnswerError::Coordinator(e) => e.into(),
            })?;
    }
    let forwarding = progress::forward(&call.request, watch);
    let waited = wait_for(call, run_id).await?;
    if let Some(forwarding) = forwarding {
        // The last notifications go out before the result.
        forwarding.await.ok();
    }
    Ok(waited)
}

/// Waits for the end of a run, unless the client cancels the request
/// first. A question for a human goes to the client through MCP: as an
/// input-required result on protocol 2026-07-28 (the client calls again
/// with the answers), or asked with elicitation mid-call on older protocols
/// when the client supports it (and the run goes on with the answer).
/// Otherwise, or when the user declines, the wait returns with the run
/// waiting, for `workflow_answer`.
async fn wait_for(call: &Call, run_id: &str) -> Result<Waited, ToolError> {
    loop {
        let status = tokio::select! {
            status = call.coordinator.await_workflow(run_id) => status?,
            () = call.request.ct.cancelled() => return Err(ToolError::Refused(format!(
                "the request was cancelled; run {run_id:?} goes on (workflow_status follows it)"
            ))),
        };
        if status.state != RunState::WaitingForHuman || call.check_runs_allowed().is_err() {
            return Ok(Waited {
                status,
                input_required: None,
            });
        }
        if answers_input_requests(&call.request) {
            let input_requests = elicitation::input_requests(&status);
            let input_required = (!input_requests.is_empty())
                .then(|| InputRequiredResult::new(Some(input_requests), Some(run_id.to_owned())));
            return Ok(Waited {
                status,
                input_required,
            });
        }
        let Some((step, answer)) = elicitation::ask(&call.request, &status).await else {
            return Ok(Waited {
                status,
                input_required: None,
            });
        };
        call.coordinator
            .answer_workflow(run_id, step, answer)
            .await?;
    }
}

/// Whether the client of `request` supports elicitation and speaks protocol
/// 2026-07-28 or later, where a server asks through input-required results,
/// never mid-call.
fn answers_input_requests(request: &RequestContext<RoleServer>) -> bool {
    request
        .protocol_version()
        .is_some_and(|version| version >= ProtocolVersion::V_2026_07_28)
        && request
            .client_capabilities()
            .is_some_and(|capabilities| capabilities.elicitation.is_some())
}

/// A task for the run `run_id`: its id is the run's id, so it survives the
/// server (the run is in the backend).
fn new_task(run_id: &str, status: TaskStatus) -> Task {
    let now = jiff::Timestamp::now().to_string();
    Task::new(run_id, status, now.clone(), now).with_poll_interval_ms(TASK_POLL_MS)
}

/// How often a client is asked to poll a task.
const TASK_POLL_MS: u64 = 500;

/// Arguments of `workflow_status`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusArgs {
    /// The run.
    run_id: String,
    /// Return only when the run finishes or waits for a human (progress
    /// notifications meanwhile when a progress token is sent).
    #[serde(default)]
    wait: bool,
}

/// A run's status, as the engine reports it.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub(crate) struct StatusResult {
    status: RunStatus,
    /// Set when the run waits for a human and the client answers input
    /// requests: the call answers with these instead.
    #[serde(skip)]
    input_required: Option<InputRequiredResult>,
}

impl JsonSchema for StatusResult {
    fn schema_name() -> Cow<'static, str> {
        "RunStatus".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "required": ["run_id", "workflow", "state", "percent_complete", "steps"],
            "properties": {
                "run_id": {"description": "The run.", "type": "string"},
                "workflow": {"description": "The workflow's name.", "type": "string"},
                "state": {"description": "The run's state.", "type": "string", "enum": RUN_STATES},
                "percent_complete": {"description": "Share of steps completed, 0 to 100.", "type": "number"},
                "error": {"description": "Why the run failed, when it did.", "type": "string"},
                "steps": {
                    "description": "Every step by number: `id`, `name`, `expert`, `state`, `attempts`, `started_at`, `finished_at`, `outputs`, `error`, and `question` while it waits for a human (answer it with workflow_answer).",
                    "type": "array", "items": {"type": "object"}
                },
                "settings": {"description": "The settings the run executes with.", "type": "object"},
                "owner": {"description": "The engine driving the run now (`holder`) and when its lease lapses (`lease_lapses_in`).", "type": "object"}
            }
        })
    }
}

impl ToolOutput for StatusResult {
    fn into_response(mut self) -> Result<CallToolResponse, ToolError> {
        if let Some(input_required) = self.input_required.take() {
            return Ok(CallToolResponse::InputRequired(input_required));
        }
        structured(&self)
    }
}

pub(crate) async fn status(call: Call, args: StatusArgs) -> Result<StatusResult, ToolError> {
    if !args.wait && call.retry.is_none() {
        return Ok(StatusResult {
            status: call.coordinator.workflow_status(&args.run_id).await?,
            input_required: None,
        });
    }
    let watch = call.coordinator.watch_workflow(&args.run_id).await?;
    let waited = follow(&call, &args.run_id, watch).await?;
    Ok(StatusResult {
        status: waited.status,
        input_required: waited.input_required,
    })
}

/// Arguments of `workflow_answer`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnswerArgs {
    /// The run.
    run_id: String,
    /// The number of the step whose question this answers.
    step: StepNumber,
    /// The answer: any JSON value; the step receives it as its output.
    #[schemars(schema_with = "schema::any")]
    answer: serde_json::Value,
}

pub(crate) async fn answer(call: Call, args: AnswerArgs) -> Result<RunReport, ToolError> {
    call.check_runs_allowed()?;
    let handle = call
        .coordinator
        .answer_workflow(&args.run_id, args.step, args.answer)
        .await?;
    Ok(RunReport::of(handle.run_id(), RunState::Running))
}

/// Arguments of the tools that name one run.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunArgs {
    /// The run.
    run_id: String,
}

pub(crate) async fn cancel(call: Call, args: RunArgs) -> Result<RunReport, ToolError> {
    call.coordinator.cancel_workflow(&args.run_id).await?;
    Ok(RunReport::of(&args.run_id, RunState::Cancelled))
}

pub(crate) async fn resume(call: Call, args: RunArgs) -> Result<RunReport, ToolError> {
    call.check_runs_allowed()?;
    call.coordinator.resume_workflow(&args.run_id).await?;
    // A finished run resumes to nothing: report its state as it is.
    let status = call.coordinator.workflow_status(&args.run_id).await?;
    Ok(RunReport::of(&args.run_id, status.state))
}

/// The run behind task `task_id`, as a task. A run left without a driver
/// (its server restarted, or paused on shutdown) is taken over here first,
/// unless `drive` is false: the task goes on as the client expects.
pub(crate) async fn task_status(
    coordinator: &Coordinator,
    task_id: &str,
    drive: bool,
) -> Result<(Task, RunStatus), consort_coordinator::CoordinatorError> {
    let mut status = coordinator.workflow_status(task_id).await?;
    let orphaned =
        matches!(status.state, RunState::Running | RunState::Paused) && status.owner.is_none();
    if drive && orphaned {
        match coordinator.resume_workflow(task_id).await {
            Ok(_) => status = coordinator.workflow_status(task_id).await?,
            // Another server took it over first: it drives the run.
            Err(e) => tracing::debug!(run = task_id, "not taking over the run: {e}"),
        }
    }
    let (task_status, message) = match status.state {
        RunState::Paused => (
            TaskStatus::Working,
            "paused; it goes on when a server takes it over".to_owned(),
        ),
        RunState::WaitingForHuman => (TaskStatus::InputRequired, waiting_text(&status)),
        RunState::Completed => (TaskStatus::Completed, "completed".to_owned()),
        RunState::Failed => (
            TaskStatus::Completed,
            format!(
                "failed: {}",
                status.error.as_deref().unwrap_or("see the run's steps")
            ),
        ),
        RunState::Cancelled => (TaskStatus::Cancelled, "cancelled".to_owned()),
        _ => (
            TaskStatus::Working,
            format!("{} of {} steps done", done(&status), status.steps.len()),
        ),
    };
    Ok((
        new_task(task_id, task_status).with_status_message(message),
        status,
    ))
}

/// Steps completed so far.
fn done(status: &RunStatus) -> usize {
    status
        .steps
        .iter()
        .filter(|s| s.state == consort_workflow::StepState::Completed)
        .count()
}

/// The questions a run waits on, for a task's status message.
fn waiting_text(status: &RunStatus) -> String {
    let questions: Vec<String> = status
        .steps
        .iter()
        .filter_map(|s| {
            s.question
                .as_ref()
                .map(|q| format!("step {} ({}) asks: {q}", s.id, s.name))
        })
        .collect();
    format!(
        "waiting for a human: {}; answer with workflow_answer",
        questions.join("; ")
    )
}

/// The final result of a finished run's task: the `workflow_status` result,
/// an error result when the run failed.
pub(crate) fn run_task(status: &RunStatus) -> rmcp::model::CallToolResult {
    let failed = status.state == RunState::Failed;
    let value = serde_json::to_value(status).unwrap_or_default();
    super::structured_value(value, failed)
}
