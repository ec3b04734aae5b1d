//! How workflow steps are executed, for `workflow run`, `workflow resume`
//! and `serve`: by the experts' MCP servers (`--deploy`) or simulated
//! (`--simulate`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use consort_mcp::experts::{Deployment, ExpertCheck, McpExecutor};
use consort_protocol::ExpertProfile;
use consort_registry::ExpertRegistry;
use consort_state::StateBackend;
use consort_workflow::{SimulatedExecutor, StepExecutor, WorkflowGraph};

use crate::error::{CliError, read_input};
use crate::say;

/// The flags choosing how steps run.
#[derive(Debug, clap::Args)]
pub(crate) struct Execution {
    /// Call each expert's MCP server, as this deployment file says
    /// (docs/mcp.md, "Deployment file"); every expert is checked first.
    #[arg(long, value_name = "DEPLOY.json", conflicts_with = "simulate")]
    deploy: Option<PathBuf>,
    /// Simulate the experts: each step returns its declared outputs with
    /// placeholder values.
    #[arg(long)]
    simulate: bool,
    /// Simulated time per step, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 0, requires = "simulate")]
    delay_ms: u64,
}

/// The executor the flags chose, with the MCP one kept to close it.
pub(crate) struct Steps {
    executor: Arc<dyn StepExecutor>,
    experts: Option<Arc<McpExecutor>>,
}

impl Execution {
    /// The executor, or `None` when neither `--deploy` nor `--simulate` was
    /// given. `profiles` check the deployment's expert ids and give the
    /// endpoints of `http` experts without a `url`; calls in flight count
    /// on `load`'s load slots (for `serve`, whose registry routing reads).
    pub(crate) fn steps(
        &self,
        profiles: Option<&[ExpertProfile]>,
        backend: &Arc<dyn StateBackend>,
        load: Option<&ExpertRegistry>,
    ) -> Result<Option<Steps>, CliError> {
        if self.simulate {
            let simulated =
                SimulatedExecutor::new().with_delay(Duration::from_millis(self.delay_ms));
            return Ok(Some(Steps {
                executor: Arc::new(simulated),
                experts: None,
            }));
        }
        let Some(file) = &self.deploy else {
            return Ok(None);
        };
        let deployment = load_deployment(file, profiles)?;
        let mut executor =
            McpExecutor::new(&deployment).with_events(Arc::clone(backend), "consort-cli");
        if let Some(registry) = load {
            executor = executor.with_registry(registry.clone());
        }
        let executor = Arc::new(executor);
        Ok(Some(Steps {
            executor: Arc::clone(&executor) as Arc<dyn StepExecutor>,
            experts: Some(executor),
        }))
    }

    /// The deployment file of `--deploy`.
    pub(crate) fn deploy_file(&self) -> Option<&Path> {
        self.deploy.as_deref()
    }

    /// [`steps`](Self::steps), where one of the flags is required.
    pub(crate) fn required_steps(
        &self,
        profiles: Option<&[ExpertProfile]>,
        backend: &Arc<dyn StateBackend>,
    ) -> Result<Steps, CliError> {
        self.steps(profiles, backend, None)?.ok_or_else(|| {
            CliError::BadInput(
                "say how steps run: --deploy DEPLOY.json calls the experts' MCP servers, \
                 --simulate fakes them"
                    .into(),
            )
        })
    }
}

impl Steps {
    pub(crate) fn executor(&self) -> Arc<dyn StepExecutor> {
        Arc::clone(&self.executor)
    }

    /// Before a run: the workflow's experts all have a server, and every
    /// deployed expert answers and has its tool (bad input otherwise).
    pub(crate) async fn preflight(
        &self,
        deploy: &Path,
        graph: Option<&WorkflowGraph>,
    ) -> Result<(), CliError> {
        let Some(experts) = &self.experts else {
            return Ok(());
        };
        if let Some(graph) = graph {
            let needed = needed_experts(graph);
            let missing: Vec<&str> = needed
                .iter()
                .map(String::as_str)
                .filter(|id| !experts.serves(id))
                .collect();
            if !missing.is_empty() {
                return Err(CliError::BadInput(format!(
                    "{}: no server for {} (the workflow needs {})",
                    deploy.display(),
                    missing.join(", "),
                    if missing.len() == 1 { "it" } else { "them" }
                )));
            }
        }
        report_checks(deploy, &experts.check().await)
    }

    /// Ends the experts' sessions (stdio experts stop).
    pub(crate) async fn close(&self) {
        if let Some(experts) = &self.experts {
            experts.close().await;
        }
    }
}

/// Reads a deployment file; every problem is bad input naming the file and
/// the JSON path.
pub(crate) fn load_deployment(
    file: &Path,
    registry: Option<&[ExpertProfile]>,
) -> Result<Deployment, CliError> {
    Deployment::from_json_str(&read_input(file)?, registry).map_err(|e| CliError::in_file(file, &e))
}

/// Prints a line per expert that failed its check; bad input if any did.
pub(crate) fn report_checks(deploy: &Path, checks: &[ExpertCheck]) -> Result<(), CliError> {
    let failed: Vec<String> = checks
        .iter()
        .filter_map(|c| Some(format!("  {}: {}", c.expert, c.problem.as_deref()?)))
        .collect();
    if failed.is_empty() {
        say(&format!(
            "{}: {} expert{} answered",
            deploy.display(),
            checks.len(),
            if checks.len() == 1 { "" } else { "s" }
        ));
        return Ok(());
    }
    Err(CliError::BadInput(format!(
        "{}: {} of {} experts failed their check:\n{}",
        deploy.display(),
        failed.len(),
        checks.len(),
        failed.join("\n")
    )))
}

/// Every expert a step of `graph` calls: primary experts and validators.
fn needed_experts(graph: &WorkflowGraph) -> Vec<String> {
    let mut ids: Vec<String> = graph
        .steps()
        .iter()
        .flat_map(|step| {
            std::iter::once(step.primary_expert.to_string()).chain(
                step.collaboration_points
                    .iter()
                    .map(|p| p.with_expert.to_string()),
            )
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}
