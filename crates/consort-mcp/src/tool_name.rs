//! [`ConsortTool`]: the tools consort offers, by the name they have before
//! the configurable prefix.

use std::fmt;

/// One of consort's MCP tools. Its wire name is the configured prefix
/// (`consort_` by default) followed by [`base_name`](Self::base_name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ConsortTool {
    /// `experts_list`: every registered expert with availability, load and
    /// heartbeat.
    ExpertsList,
    /// `expert_register`: adds an expert, or replaces its profile.
    ExpertRegister,
    /// `expert_update`: changes a registered expert's profile or availability.
    ExpertUpdate,
    /// `expert_heartbeat`: keeps an expert online.
    ExpertHeartbeat,
    /// `expert_deregister`: removes an expert.
    ExpertDeregister,
    /// `route`: picks the expert(s) for a request, with the reasons.
    Route,
    /// `resolve_conflicts`: reconciles disagreeing recommendations.
    ResolveConflicts,
    /// `workflow_validate`: checks a definition against the registry.
    WorkflowValidate,
    /// `workflow_render`: draws a workflow as Mermaid or DOT.
    WorkflowRender,
    /// `workflows_list`: the definitions the server was given.
    WorkflowsList,
    /// `workflow_start`: starts a durable run.
    WorkflowStart,
    /// `workflow_status`: a run's progress, optionally waiting for its end.
    WorkflowStatus,
    /// `workflow_answer`: answers a step waiting for a human.
    WorkflowAnswer,
    /// `workflow_cancel`: cancels a run.
    WorkflowCancel,
    /// `workflow_resume`: drives on a paused or orphaned run.
    WorkflowResume,
    /// `ping`: liveness.
    Ping,
    /// `capabilities`: what this coordinator offers and which backend it
    /// uses.
    Capabilities,
}

impl ConsortTool {
    /// Every tool, in the order `tools/list` documents them.
    pub const ALL: [ConsortTool; 17] = [
        Self::ExpertsList,
        Self::ExpertRegister,
        Self::ExpertUpdate,
        Self::ExpertHeartbeat,
        Self::ExpertDeregister,
        Self::Route,
        Self::ResolveConflicts,
        Self::WorkflowValidate,
        Self::WorkflowRender,
        Self::WorkflowsList,
        Self::WorkflowStart,
        Self::WorkflowStatus,
        Self::WorkflowAnswer,
        Self::WorkflowCancel,
        Self::WorkflowResume,
        Self::Ping,
        Self::Capabilities,
    ];

    /// The tool's name without prefix.
    pub const fn base_name(self) -> &'static str {
        match self {
            Self::ExpertsList => "experts_list",
            Self::ExpertRegister => "expert_register",
            Self::ExpertUpdate => "expert_update",
            Self::ExpertHeartbeat => "expert_heartbeat",
            Self::ExpertDeregister => "expert_deregister",
            Self::Route => "route",
            Self::ResolveConflicts => "resolve_conflicts",
            Self::WorkflowValidate => "workflow_validate",
            Self::WorkflowRender => "workflow_render",
            Self::WorkflowsList => "workflows_list",
            Self::WorkflowStart => "workflow_start",
            Self::WorkflowStatus => "workflow_status",
            Self::WorkflowAnswer => "workflow_answer",
            Self::WorkflowCancel => "workflow_cancel",
            Self::WorkflowResume => "workflow_resume",
            Self::Ping => "ping",
            Self::Capabilities => "capabilities",
        }
    }

    /// Whether the tool only reads: it changes neither the registry nor any
    /// run. `route` and `resolve_conflicts` count as reads: they decide,
    /// they do not act.
    pub const fn is_read_only(self) -> bool {
        matches!(
            self,
            Self::ExpertsList
                | Self::Route
                | Self::ResolveConflicts
                | Self::WorkflowValidate
                | Self::WorkflowRender
                | Self::WorkflowsList
                | Self::WorkflowStatus
                | Self::Ping
                | Self::Capabilities
        )
    }

    /// The tool whose base name is `name`, if any.
    pub fn from_base_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|tool| tool.base_name() == name)
    }
}

impl fmt::Display for ConsortTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.base_name())
    }
}

#[cfg(test)]
mod tests {
    use super::ConsortTool;

    #[test]
    fn base_names_are_unique_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for tool in ConsortTool::ALL {
            assert!(seen.insert(tool.base_name()), "{tool} twice");
            assert_eq!(ConsortTool::from_base_name(tool.base_name()), Some(tool));
        }
        assert_eq!(ConsortTool::from_base_name("rout"), None);
    }
}
