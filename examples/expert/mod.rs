//! The deterministic, rule-based expert (no LLM) of the `expert_server` and
//! `mcp_campaign` examples: an MCP server with the `consult` tool of
//! consort's expert contract (docs/mcp.md, "Writing an expert"), for any
//! seed role.
//!
//! - An execution answers every declared output of the step from its inputs.
//!   An output whose name says `budget` is a number: the run's
//!   `params.proposed_budget` on a first attempt, capped at
//!   `params.budget_limit` on later ones (the expert heard the objection).
//! - `finance_accountant` really checks: a validation of outputs holding a
//!   budget above `params.budget_limit` fails, with the figures. Every other
//!   validation passes.
//! - Each call sends one progress notification when the caller asked for
//!   progress.
//!
//! Flags for tests and demos: `--journal FILE` appends one JSON line per call
//! (`{"event":"call","key":…,"attempt":…}`) and per cancellation, so a test
//! can count calls per idempotency key across restarts; `--delay-ms N` waits
//! before answering; `--hang-step N` never answers step N (until cancelled);
//! `--crash-once-step N` exits mid-call the first time step N is called
//! (needs `--journal`); `--fail-calls N` answers the first N calls of the
//! process with a retryable error; `--omit OUTPUT` leaves a declared output
//! out, breaking the contract; `--ask-human-step N` answers step N with a
//! question for a human until the step's inputs hold the answer.

#![allow(
    clippy::print_stderr,
    reason = "an expert logs on stderr, as MCP servers do"
)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, ListToolsResult,
    PaginatedRequestParams, ProgressNotificationParam, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Map, Value, json};

/// What this process was told to be and do.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    role: String,
    journal: Option<PathBuf>,
    delay: Duration,
    hang_step: Option<u64>,
    crash_once_step: Option<u64>,
    fail_calls: u32,
    omit: Vec<String>,
    ask_human_step: Option<u64>,
}

#[derive(Debug, Clone)]
struct Expert {
    options: Arc<Options>,
    calls: Arc<AtomicU32>,
}

fn consult_tool() -> Tool {
    let schema = json!({
        "type": "object",
        "properties": {
            "run_id": {"type": "string", "description": "The workflow run."},
            "attempt": {"type": "integer", "description": "Attempt number, 1 for the first."},
            "kind": {"type": "string", "enum": ["execute", "validate"], "description": "Run the step, or check another expert's outputs."},
            "step": {"type": "object", "description": "The step: number, name, actions, outputs."},
            "collaborators": {"type": "array", "items": {"type": "string"}, "description": "The step's helping experts."},
            "inputs": {"type": "object", "description": "params and the outputs of earlier steps (step_N)."},
            "validation": {"description": "For kind validate: needed, data_shared, outputs."}
        },
        "required": ["run_id", "attempt", "kind", "step", "inputs"]
    });
    let Value::Object(schema) = schema else {
        unreachable!("a JSON object literal")
    };
    Tool::new(
        "consult",
        "Run a workflow step as this expert, or validate another expert's outputs.",
        Arc::new(schema),
    )
}

impl ServerHandler for Expert {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_server_info(
            Implementation::new(
                format!("consort-example-{}", self.options.role),
                env!("CARGO_PKG_VERSION"),
            ),
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(vec![consult_tool()]))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if request.name != "consult" {
            return Err(ErrorData::invalid_params(
                format!("no tool {:?}; this expert has `consult`", request.name),
                None,
            ));
        }
        let args = Value::Object(request.arguments.unwrap_or_default());
        // rmcp hands the request's `_meta` to the handler in its context.
        let key = context
            .meta
            .get("consort/idempotency_key")
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_owned();
        let kind = args
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("execute");
        let step = args
            .pointer("/step/number")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let attempt = args.get("attempt").and_then(Value::as_u64).unwrap_or(1);
        let earlier_calls = self.journal_calls(&key);
        self.journal(
            &json!({"event": "call", "key": key, "attempt": attempt, "kind": kind,
                            "role": self.options.role, "pid": std::process::id()}),
        );

        if kind == "execute" && self.options.crash_once_step == Some(step) && earlier_calls == 0 {
            // Mid-call, before any answer: what a crash looks like to consort.
            std::process::exit(101);
        }
        if let Some(token) = context.meta.get_progress_token() {
            let progress = ProgressNotificationParam::new(token, 1.0)
                .with_total(2.0)
                .with_message(format!("{} is working on step {step}", self.options.role));
            let _ = context.peer.notify_progress(progress).await;
        }
        if kind == "execute"
            && self.options.ask_human_step == Some(step)
            && args.pointer("/inputs/human_answer").is_none()
        {
            return Ok(CallToolResult::structured(json!({
                "needs_human": format!("{} needs the campaign's launch date", self.options.role),
            }))
            .into());
        }
        let hang = kind == "execute" && self.options.hang_step == Some(step);
        let wait = if hang {
            Duration::MAX
        } else {
            self.options.delay
        };
        if !wait.is_zero() {
            tokio::select! {
                () = context.ct.cancelled() => {
                    self.journal(&json!({"event": "cancelled", "key": key, "attempt": attempt}));
                    return Err(ErrorData::internal_error("cancelled", None));
                }
                () = tokio::time::sleep(wait) => {}
            }
        }
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.options.fail_calls {
            return Ok(CallToolResult::structured_error(json!({
                "error": format!("{} is overloaded; try again", self.options.role),
                "retryable": true,
            }))
            .into());
        }
        let answer = match kind {
            "validate" => self.validate(&args),
            _ => self.execute(&args),
        };
        Ok(CallToolResult::structured(Value::Object(answer)).into())
    }
}

impl Expert {
    /// Every declared output, made from the inputs by rule.
    fn execute(&self, args: &Value) -> Map<String, Value> {
        let params = args.pointer("/inputs/params");
        let number = |name: &str| params.and_then(|p| p.get(name)).and_then(Value::as_f64);
        let attempt = args.get("attempt").and_then(Value::as_u64).unwrap_or(1);
        let step_name = args
            .pointer("/step/name")
            .and_then(Value::as_str)
            .unwrap_or("the step");
        let earlier: Vec<&str> = args
            .get("inputs")
            .and_then(Value::as_object)
            .map(|inputs| inputs.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let outputs = args
            .pointer("/step/outputs")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut answer = Map::new();
        let kept = outputs
            .iter()
            .filter_map(Value::as_str)
            .filter(|name| !self.options.omit.iter().any(|o| o == name));
        for name in kept {
            let value = if name.contains("budget") {
                let proposed = number("proposed_budget").unwrap_or(50_000.0);
                let limit = number("budget_limit").unwrap_or(f64::INFINITY);
                let budget = if attempt > 1 {
                    proposed.min(limit)
                } else {
                    proposed
                };
                json!(budget)
            } else {
                json!(format!(
                    "{name} for {step_name} by {} (from {})",
                    self.options.role,
                    earlier.join(", ")
                ))
            };
            answer.insert(name.to_owned(), value);
        }
        answer
    }

    /// Finance checks budgets against `params.budget_limit`; others agree.
    fn validate(&self, args: &Value) -> Map<String, Value> {
        let limit = args
            .pointer("/inputs/params/budget_limit")
            .and_then(Value::as_f64);
        let over = args
            .pointer("/validation/outputs")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(name, _)| name.contains("budget"))
            .filter_map(|(name, value)| Some((name, value.as_f64()?)))
            .find(|(_, budget)| limit.is_some_and(|limit| *budget > limit));
        let answer = match (self.options.role.as_str(), over, limit) {
            ("finance_accountant", Some((name, budget)), Some(limit)) => json!({
                "passed": false,
                "reason": format!("{name} {budget} exceeds the limit of {limit}"),
            }),
            (role, _, _) => json!({"passed": true, "reason": format!("{role} agrees")}),
        };
        match answer {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    fn journal(&self, line: &Value) {
        let Some(path) = &self.options.journal else {
            return;
        };
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| writeln!(file, "{line}"));
        if let Err(e) = written {
            eprintln!("expert_server: writing the journal {}: {e}", path.display());
        }
    }

    /// Calls of `key` the journal already holds (from any process).
    fn journal_calls(&self, key: &str) -> usize {
        let Some(text) = self
            .options
            .journal
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
        else {
            return 0;
        };
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line["event"] == "call" && line["key"] == key)
            .count()
    }
}

/// Where to serve.
pub(crate) enum Serve {
    /// On stdin and stdout.
    Stdio,
    /// Streamable HTTP at this address, endpoint `/mcp`.
    Http(String),
}

/// Reads the expert's flags from `args`.
pub(crate) fn parse_args(
    args: impl IntoIterator<Item = String>,
) -> Result<(Options, Serve), String> {
    let mut options = Options::default();
    let mut serve = Serve::Stdio;
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number = |text: String| text.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--role" => options.role = value()?,
            "--stdio" => serve = Serve::Stdio,
            "--http" => serve = Serve::Http(value()?),
            "--journal" => options.journal = Some(value()?.into()),
            "--delay-ms" => options.delay = Duration::from_millis(number(value()?)?),
            "--hang-step" => options.hang_step = Some(number(value()?)?),
            "--crash-once-step" => options.crash_once_step = Some(number(value()?)?),
            "--fail-calls" => {
                options.fail_calls = u32::try_from(number(value()?)?).map_err(|e| e.to_string())?;
            }
            "--omit" => options.omit.push(value()?),
            "--ask-human-step" => options.ask_human_step = Some(number(value()?)?),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if options.role.is_empty() {
        return Err("--role ID is required".into());
    }
    if options.crash_once_step.is_some() && options.journal.is_none() {
        return Err("--crash-once-step needs --journal to know the first call".into());
    }
    Ok((options, serve))
}

/// Serves the expert until its client goes away (stdio) or for ever (HTTP).
pub(crate) async fn serve(
    options: Options,
    serve: Serve,
) -> Result<(), Box<dyn std::error::Error>> {
    let expert = Expert {
        options: Arc::new(options),
        calls: Arc::default(),
    };
    match serve {
        Serve::Stdio => {
            let running = expert.serve(rmcp::transport::stdio()).await?;
            running.waiting().await?;
        }
        Serve::Http(addr) => serve_http(expert, &addr).await?,
    }
    Ok(())
}

async fn serve_http(expert: Expert, addr: &str) -> Result<(), Box<dyn std::error::Error>> {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };

    let role = expert.options.role.clone();
    let service = StreamableHttpService::new(
        move || Ok(expert.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    // Tests read this line for the port when ADDR ends in :0.
    eprintln!(
        "{role} serving MCP at http://{}/mcp",
        listener.local_addr()?
    );
    let app = axum::Router::new().nest_service("/mcp", service);
    axum::serve(listener, app).await?;
    Ok(())
}
