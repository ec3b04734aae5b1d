//! [`ToolsConfig`]: which tools, under which names, with which limits.

use std::collections::{BTreeMap, BTreeSet};

use crate::rate_limit::RateLimit;
use crate::tool_name::ConsortTool;

/// The tool prefix unless [`ToolsConfig::with_prefix`] says otherwise.
pub const DEFAULT_PREFIX: &str = "consort_";

/// How consort's tools are offered: their name prefix, which of them, whether
/// runs may be started here, and rate limits. `Default` offers every tool as
/// `consort_*` without limits.
///
/// ```
/// use consort_mcp::{ConsortTool, ToolsConfig};
/// // Read-only tools under the prefix `coord_`.
/// let config = ToolsConfig::default().with_prefix("coord_").read_only();
/// assert_eq!(config.name_of(ConsortTool::Route), "coord_route");
/// assert!(!config.offers(ConsortTool::ExpertRegister));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ToolsConfig {
    prefix: String,
    tools: BTreeSet<ConsortTool>,
    runs_refused: Option<String>,
    tasks: bool,
    rate_limit: Option<RateLimit>,
    tool_rate_limits: BTreeMap<ConsortTool, RateLimit>,
}

impl Default for ToolsConfig {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_PREFIX.to_owned(),
            tools: ConsortTool::ALL.into_iter().collect(),
            runs_refused: None,
            tasks: false,
            rate_limit: None,
            tool_rate_limits: BTreeMap::new(),
        }
    }
}

impl ToolsConfig {
    /// Puts `prefix` before every tool name (`consort_` by default; empty
    /// for none). Tool names may hold ASCII letters, digits, `_`, `-` and
    /// `.`; [`consort_tools`](crate::consort_tools) refuses a prefix with
    /// anything else.
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Offers exactly `tools`.
    #[must_use]
    pub fn with_tools(mut self, tools: impl IntoIterator<Item = ConsortTool>) -> Self {
        self.tools = tools.into_iter().collect();
        self
    }

    /// Offers only the tools that change nothing
    /// ([`ConsortTool::is_read_only`]).
    #[must_use]
    pub fn read_only(mut self) -> Self {
        self.tools.retain(|tool| tool.is_read_only());
        self
    }

    /// Stops offering `tool`.
    #[must_use]
    pub fn without(mut self, tool: ConsortTool) -> Self {
        self.tools.remove(&tool);
        self
    }

    /// Refuses to start, answer or resume runs here, with `reason` as the
    /// tool error (the status of runs stays readable). `consort serve` does
    /// this without `--simulate` until steps can call experts over MCP.
    #[must_use]
    pub fn with_runs_refused(mut self, reason: impl Into<String>) -> Self {
        self.runs_refused = Some(reason.into());
        self
    }

    /// Lets `workflow_start` answer with an MCP task (the tasks extension)
    /// when the client supports tasks. The host must then advertise the
    /// extension and answer `tasks/get` and `tasks/cancel` with
    /// [`get_task`](crate::get_task) and [`cancel_task`](crate::cancel_task);
    /// [`ConsortServer`](crate::ConsortServer) does both.
    #[must_use]
    pub fn with_tasks(mut self, tasks: bool) -> Self {
        self.tasks = tasks;
        self
    }

    /// Limits every tool, per client, to `limit` (unless the tool has its
    /// own limit).
    #[must_use]
    pub fn with_rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Limits `tool`, per client, to `limit`.
    #[must_use]
    pub fn with_tool_rate_limit(mut self, tool: ConsortTool, limit: RateLimit) -> Self {
        self.tool_rate_limits.insert(tool, limit);
        self
    }

    /// The name prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether `tool` is offered.
    pub fn offers(&self, tool: ConsortTool) -> bool {
        self.tools.contains(&tool)
    }

    /// The tools offered.
    pub fn tools(&self) -> impl Iterator<Item = ConsortTool> + '_ {
        self.tools.iter().copied()
    }

    /// The wire name of `tool`: the prefix and its base name.
    pub fn name_of(&self, tool: ConsortTool) -> String {
        format!("{}{}", self.prefix, tool.base_name())
    }

    /// Why runs are refused here, if they are.
    pub fn runs_refused(&self) -> Option<&str> {
        self.runs_refused.as_deref()
    }

    /// Whether `workflow_start` may answer with a task.
    pub fn tasks(&self) -> bool {
        self.tasks
    }

    /// The limit of every tool without its own.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
    }

    /// The tools with their own limits.
    pub fn tool_rate_limits(&self) -> &BTreeMap<ConsortTool, RateLimit> {
        &self.tool_rate_limits
    }

    /// The first character of the prefix a tool name may not hold.
    pub(crate) fn bad_prefix_char(&self) -> Option<char> {
        self.prefix
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    }
}
