//! What an expert is: the spec's `expert_registry` entry merged with the
//! TypeScript `ExpertProfile`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{ComplexityRange, ExpertId, PriorityLevel, ProtocolError, validate_expert_id};

/// Whether an expert can take work (`availability_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    /// Ready for new work.
    #[default]
    Available,
    /// Working; can still be chosen, at a penalty.
    Busy,
    /// Must not be given work.
    Offline,
}

impl Availability {
    /// The spelling used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Busy => "busy",
            Self::Offline => "offline",
        }
    }
}

/// One expert: what it knows, what it shares, how to reach it and how busy it
/// is.
///
/// Loads the spec's registry entries as written (`"response_time_sla": "< 3
/// seconds"`); fields the spec's JSON lacks but its TypeScript interface has
/// (`current_load`, `availability_status`) default to an idle, available
/// expert. A hand-written input, so strict: an unknown field is an error
/// naming the field it most likely means (`availability` ->
/// `availability_status`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpertProfile {
    /// Unique id. In the spec's `{"expert_registry": {"<id>": {...}}}` shape it
    /// comes from the key and may be omitted from the body.
    #[serde(default)]
    pub id: ExpertId,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A sentence or two about the expert, used by lexical routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Domains the expert is an authority on (`budgeting`, `ui_ux`).
    pub expertise_domains: Vec<String>,
    /// What it can do when collaborating (`budget_analysis`).
    #[serde(default)]
    pub collaboration_capabilities: Vec<String>,
    /// Data it shares with other experts (`financial_metrics`).
    #[serde(default)]
    pub data_sharing: Vec<String>,
    /// Extra routing keywords; may hold phrases (`"cash flow"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// Sample requests the expert should get, in users' words ("Move my
    /// 3pm with Dana to Thursday"); routing indexes them like the other
    /// fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    /// Where the expert is reached (`/mcp/experts/finance`).
    pub mcp_endpoint: String,
    /// Standing among experts.
    pub priority_level: PriorityLevel,
    /// Promised response time.
    #[serde(with = "crate::sla")]
    pub response_time_sla: Duration,
    /// Complexity the expert declares it handles; `None` means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complexity_range: Option<ComplexityRange>,
    /// Work items in progress.
    #[serde(default)]
    pub current_load: u32,
    /// Most work items at once; `None` means no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<u32>,
    /// Whether it can take work.
    #[serde(default)]
    pub availability_status: Availability,
}

impl ExpertProfile {
    /// A minimal profile, for building one in code; fill the public fields
    /// afterwards.
    pub fn new(id: impl Into<ExpertId>, expertise_domains: Vec<String>) -> Self {
        let id = id.into();
        Self {
            mcp_endpoint: format!("/mcp/experts/{id}"),
            id,
            name: None,
            description: None,
            expertise_domains,
            collaboration_capabilities: Vec::new(),
            data_sharing: Vec::new(),
            keywords: Vec::new(),
            examples: Vec::new(),
            priority_level: PriorityLevel::Medium,
            response_time_sla: Duration::from_secs(3),
            complexity_range: None,
            current_load: 0,
            max_concurrent: None,
            availability_status: Availability::Available,
        }
    }

    /// Checks the rules serde cannot: a well-formed id, at least one domain,
    /// no blank entries, a load limit above zero. Paths in the error are
    /// relative to the profile.
    pub fn validate(&self) -> Result<(), ProtocolError> {
        validate_expert_id(&self.id).map_err(|e| e.within("id"))?;
        if self.expertise_domains.is_empty() {
            return Err(ProtocolError::invalid(
                "expertise_domains",
                "an expert needs at least one expertise domain",
            ));
        }
        for (field, list) in [
            ("expertise_domains", &self.expertise_domains),
            (
                "collaboration_capabilities",
                &self.collaboration_capabilities,
            ),
            ("data_sharing", &self.data_sharing),
            ("keywords", &self.keywords),
            ("examples", &self.examples),
        ] {
            if let Some(index) = list.iter().position(|entry| entry.trim().is_empty()) {
                return Err(ProtocolError::invalid(
                    format!("{field}[{index}]"),
                    "entries must not be blank",
                ));
            }
        }
        if self.mcp_endpoint.trim().is_empty() {
            return Err(ProtocolError::invalid(
                "mcp_endpoint",
                "the endpoint must not be blank",
            ));
        }
        if self.max_concurrent == Some(0) {
            return Err(ProtocolError::invalid(
                "max_concurrent",
                "a load limit of 0 would make the expert unusable; omit it for no limit",
            ));
        }
        Ok(())
    }

    /// The display name, or the id when there is none.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}
