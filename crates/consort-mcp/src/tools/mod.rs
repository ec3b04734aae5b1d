//! The tools as an rmcp [`ToolRouter`]: one route per [`ConsortTool`], each
//! a thin adapter that parses its arguments strictly, calls the
//! [`Coordinator`] and returns structured content.

mod conflicts;
mod experts;
mod meta;
mod routing;
mod schema;
mod workflows;

use std::future::Future;
use std::sync::Arc;

use consort_coordinator::Coordinator;
use consort_protocol::from_json_value;
use rmcp::RoleServer;
use rmcp::handler::server::tool::{ToolCallContext, ToolRoute, ToolRouter};
use rmcp::handler::server::tool::{schema_for_input, schema_for_output};
use rmcp::model::{
    CallToolResponse, CallToolResult, ContentBlock, InputResponses, JsonObject, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::ToolsConfig;
use crate::error::{McpError, Result, ToolError};
use crate::rate_limit::Limiters;
use crate::tool_name::ConsortTool;

pub(crate) use workflows::{run_task, task_status};

/// A host whose tools include consort's: anything that can hand out the
/// [`Coordinator`] the tools act on. A server type that holds a
/// `Coordinator` implements it in one line.
///
/// ```
/// use consort_coordinator::Coordinator;
/// use consort_mcp::CoordinatorHost;
///
/// struct MyServer {
///     coordinator: Coordinator,
/// }
///
/// impl CoordinatorHost for MyServer {
///     fn coordinator(&self) -> &Coordinator {
///         &self.coordinator
///     }
/// }
/// ```
pub trait CoordinatorHost: Send + Sync + 'static {
    /// The coordinator consort's tools act on.
    fn coordinator(&self) -> &Coordinator;
}

impl CoordinatorHost for Coordinator {
    fn coordinator(&self) -> &Coordinator {
        self
    }
}

/// consort's tools, as `config` chooses and names them, for a host of type
/// `S`. An existing rmcp server adds them to its own with one `+`:
///
/// ```
/// use consort_coordinator::Coordinator;
/// use consort_mcp::{consort_tools, CoordinatorHost, ToolsConfig};
/// use rmcp::handler::server::tool::ToolRouter;
///
/// struct MyServer {
///     coordinator: Coordinator,
///     tools: ToolRouter<MyServer>,
/// }
///
/// impl CoordinatorHost for MyServer {
///     fn coordinator(&self) -> &Coordinator {
///         &self.coordinator
///     }
/// }
///
/// fn tools(own: ToolRouter<MyServer>) -> consort_mcp::Result<ToolRouter<MyServer>> {
///     Ok(own + consort_tools(ToolsConfig::default().read_only())?)
/// }
/// # let _ = tools;
/// ```
///
/// Fails only when the configured prefix makes invalid tool names.
pub fn consort_tools<S: CoordinatorHost>(config: ToolsConfig) -> Result<ToolRouter<S>> {
    if let Some(bad) = config.bad_prefix_char() {
        return Err(McpError::InvalidPrefix {
            prefix: config.prefix().to_owned(),
            bad,
        });
    }
    let limiters = Limiters::new(config.rate_limit(), config.tool_rate_limits());
    let tools = Arc::new(Tools { config, limiters });
    let mut router = ToolRouter::new();
    for tool in tools.config.tools() {
        router.add_route(route_of(&tools, tool));
    }
    Ok(router)
}

/// What every route of one tool set shares.
#[derive(Debug)]
pub(crate) struct Tools {
    pub(crate) config: ToolsConfig,
    limiters: Limiters,
}

/// One call, as its handler sees it.
pub(crate) struct Call {
    pub(crate) coordinator: Coordinator,
    pub(crate) tools: Arc<Tools>,
    pub(crate) request: RequestContext<RoleServer>,
    /// Set when the client calls again with the answers to an
    /// input-required result this tool returned (protocol 2026-07-28).
    pub(crate) retry: Option<Retry>,
}

/// A call repeated with the answers to its input requests.
pub(crate) struct Retry {
    /// What the tool put in its input-required result, echoed back.
    pub(crate) request_state: String,
    /// The client's answers, by input request key.
    pub(crate) input_responses: InputResponses,
}

impl Call {
    /// A refusal when runs are refused here.
    pub(crate) fn check_runs_allowed(&self) -> Result<(), ToolError> {
        match self.tools.config.runs_refused() {
            Some(reason) => Err(ToolError::Refused(reason.to_owned())),
            None => Ok(()),
        }
    }
}

/// A tool's structured output. Its schema is the tool's `outputSchema`;
/// [`into_response`](Self::into_response) may turn it into a task.
pub(crate) trait ToolOutput: Serialize + JsonSchema + Send + Sized + 'static {
    fn into_response(self) -> std::result::Result<CallToolResponse, ToolError> {
        structured(&self)
    }
}

/// `output` as structured content, and the same JSON as its text block:
/// the spec asks for that copy, and some hosts read nothing else.
///
/// What rmcp's `CallToolResult::structured` does, but the text is written
/// from `output` itself rather than from the `Value` through `Display`,
/// which passes every token through `fmt::Formatter` and walks the map
/// nodes: that was a third of the cost of the route tool's answer.
pub(crate) fn structured(
    output: &impl Serialize,
) -> std::result::Result<CallToolResponse, ToolError> {
    let failed = |e: serde_json::Error| ToolError::Failed {
        message: format!("cannot serialise the result: {e}"),
        transient: false,
    };
    let text = serde_json::to_string(output).map_err(failed)?;
    let value = serde_json::to_value(output).map_err(failed)?;
    Ok(with_text(value, text, false).into())
}

/// A result whose structured content is `value`, with the same JSON as its
/// text block (see [`structured`]).
pub(crate) fn structured_value(value: Value, is_error: bool) -> CallToolResult {
    // Serialising a `Value` cannot fail: its map keys are strings.
    let text = serde_json::to_string(&value).unwrap_or_default();
    with_text(value, text, is_error)
}

fn with_text(value: Value, text: String, is_error: bool) -> CallToolResult {
    let mut result = if is_error {
        CallToolResult::error(vec![ContentBlock::text(text)])
    } else {
        CallToolResult::success(vec![ContentBlock::text(text)])
    };
    result.structured_content = Some(value);
    result
}

/// The route of `tool`.
fn route_of<S: CoordinatorHost>(tools: &Arc<Tools>, tool: ConsortTool) -> ToolRoute<S> {
    match tool {
        ConsortTool::ExpertsList => route(tools, tool, experts::list),
        ConsortTool::ExpertRegister => route(tools, tool, experts::register),
        ConsortTool::ExpertUpdate => route(tools, tool, experts::update),
        ConsortTool::ExpertHeartbeat => route(tools, tool, experts::heartbeat),
        ConsortTool::ExpertDeregister => route(tools, tool, experts::deregister),
        ConsortTool::Route => route(tools, tool, routing::route),
        ConsortTool::ResolveConflicts => route(tools, tool, conflicts::resolve),
        ConsortTool::WorkflowValidate => route(tools, tool, workflows::validate),
        ConsortTool::WorkflowRender => route(tools, tool, workflows::render),
        ConsortTool::WorkflowsList => route(tools, tool, workflows::list),
        ConsortTool::WorkflowStart => route(tools, tool, workflows::start),
        ConsortTool::WorkflowStatus => route(tools, tool, workflows::status),
        ConsortTool::WorkflowAnswer => route(tools, tool, workflows::answer),
        ConsortTool::WorkflowCancel => route(tools, tool, workflows::cancel),
        ConsortTool::WorkflowResume => route(tools, tool, workflows::resume),
        ConsortTool::Ping => route(tools, tool, meta::ping),
        ConsortTool::Capabilities => route(tools, tool, meta::capabilities),
    }
}

/// The route of `tool`, calling `handler` with strictly parsed arguments.
fn route<S, In, Out, F, Fut>(tools: &Arc<Tools>, tool: ConsortTool, handler: F) -> ToolRoute<S>
where
    S: CoordinatorHost,
    In: DeserializeOwned + JsonSchema + Send + 'static,
    Out: ToolOutput,
    F: Fn(Call, In) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<Out, ToolError>> + Send + 'static,
{
    let name = tools.config.name_of(tool);
    let attr = describe::<In, Out>(name.clone(), tool);
    let tools = Arc::clone(tools);
    ToolRoute::new_dyn(attr, move |context: ToolCallContext<'_, S>| {
        let retry = context.request_state.map(|request_state| Retry {
            request_state,
            input_responses: context.input_responses.unwrap_or_default(),
        });
        let call = Call {
            coordinator: context.service.coordinator().clone(),
            tools: Arc::clone(&tools),
            request: context.request_context,
            retry,
        };
        let arguments = context.arguments;
        let name = name.clone();
        Box::pin(async move {
            let answer = async {
                call.tools
                    .limiters
                    .check(tool, || client_of(&call.request))
                    .map_err(|refused| {
                        ToolError::rate_limited(name, refused.limit, refused.retry_after)
                    })?;
                let input = parse::<In>(arguments)?;
                handler(call, input).await?.into_response()
            };
            Ok(answer.await.unwrap_or_else(|e| e.into_result().into()))
        })
    })
}

/// Parses a call's arguments strictly: an unknown field is an error with
/// the field it most likely means, and every error names its JSON path.
fn parse<In: DeserializeOwned>(
    arguments: Option<JsonObject>,
) -> std::result::Result<In, ToolError> {
    from_json_value(serde_json::Value::Object(arguments.unwrap_or_default()))
        .map_err(|e| ToolError::arguments(&e))
}

/// Who calls, for rate limits: the client's name as it introduced itself.
fn client_of(request: &RequestContext<RoleServer>) -> String {
    request
        .client_info()
        .map_or_else(|| "anonymous".to_owned(), |info| info.name)
}

/// The tool's definition: name, description, schemas and hints.
fn describe<In: JsonSchema + 'static, Out: JsonSchema + 'static>(
    name: String,
    tool: ConsortTool,
) -> Tool {
    let input = schema_for_input::<In>().unwrap_or_else(|_| {
        // Every input type is a struct, whose schema is an object; an
        // object without properties is the safe reading otherwise.
        rmcp::handler::server::common::schema_for_empty_input()
    });
    let mut annotations = ToolAnnotations::new()
        .read_only(tool.is_read_only())
        .open_world(false);
    if !tool.is_read_only() {
        annotations = annotations.destructive(matches!(
            tool,
            ConsortTool::ExpertDeregister | ConsortTool::WorkflowCancel
        ));
    }
    Tool::new(name, description(tool), input)
        .with_raw_output_schema(schema_for_output::<Out>())
        .with_annotations(annotations)
}

/// What each tool does, as the client's model reads it.
fn description(tool: ConsortTool) -> &'static str {
    match tool {
        ConsortTool::ExpertsList => {
            "List the registered experts with their live availability, load and heartbeat age. \
             `available_only` leaves out offline experts."
        }
        ConsortTool::ExpertRegister => {
            "Register an expert from its profile, or replace the profile of one with the same id. \
             Counts as its first heartbeat."
        }
        ConsortTool::ExpertUpdate => {
            "Change a registered expert: replace its profile, or declare it available, busy or offline."
        }
        ConsortTool::ExpertHeartbeat => {
            "Keep an expert online for another heartbeat period; brings back one whose heartbeat lapsed."
        }
        ConsortTool::ExpertDeregister => "Remove an expert; it is never routed to again.",
        ConsortTool::Route => {
            "Pick the expert for a request (and collaborators when it spans domains), using the \
             registry's live availability and load, with the per-signal score breakdown that explains why."
        }
        ConsortTool::ResolveConflicts => {
            "Reconcile recommendations from several experts: contradictions weighed by domain authority \
             and confidence, priorities, and scarce resources. Returns the rationale, allocations and \
             what must go to a human."
        }
        ConsortTool::WorkflowValidate => {
            "Check a workflow definition against the registry: structure, cycles, and every expert it \
             names. Lists every problem with its JSON path."
        }
        ConsortTool::WorkflowRender => {
            "Draw a workflow as Mermaid or Graphviz DOT, optionally coloured by the state of each step of a run."
        }
        ConsortTool::WorkflowsList => {
            "List the workflow definitions this server was given, by name."
        }
        ConsortTool::WorkflowStart => {
            "Start a durable run of a workflow, by name or from an inline definition, with parameters. \
             Returns the run id at once (or a task, when the client supports MCP tasks); progress \
             notifications follow when a progress token is sent."
        }
        ConsortTool::WorkflowStatus => {
            "A run's status: every step's state, attempts, outputs, and any question waiting for a human. \
             `wait` returns only when the run finishes or waits for a human."
        }
        ConsortTool::WorkflowAnswer => {
            "Answer the question of a step that waits for a human; the run goes on."
        }
        ConsortTool::WorkflowCancel => {
            "Cancel a run: steps in flight are dropped, the rest skipped."
        }
        ConsortTool::WorkflowResume => {
            "Drive on a run that was paused or whose process died; completed steps never run again."
        }
        ConsortTool::Ping => "Check that the coordinator answers.",
        ConsortTool::Capabilities => {
            "What this coordinator offers: its tools, backend, experts, workflows and whether it runs workflows."
        }
    }
}
