//! What is routed: the request text and its conversation context.

use std::collections::BTreeMap;

use consort_protocol::{Availability, ExpertId};
use serde::{Deserialize, Serialize};

/// A request to route.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RouteRequest {
    /// What the user asked, in natural language.
    pub text: String,
    /// Where the conversation stands; all optional.
    #[serde(default)]
    pub context: RouteContext,
}

impl RouteRequest {
    /// A request without context.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            context: RouteContext::default(),
        }
    }

    /// The same request with `context`.
    #[must_use]
    pub fn with_context(mut self, context: RouteContext) -> Self {
        self.context = context;
        self
    }
}

/// Conversation context and a live status snapshot. Every field is optional;
/// unknown fields are rejected so a typo does not silently change routing.
///
/// `availability` and `load` override the profiles' `availability_status`
/// and `current_load` for this request only, so a live registry snapshot
/// applies without rebuilding the index. Ids that are not in the registry
/// are ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouteContext {
    /// The expert that handled the previous turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_expert: Option<ExpertId>,
    /// Experts already in the collaboration.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub collaborators: Vec<ExpertId>,
    /// Data keys in play (`budget_constraints`), matched against the
    /// experts' `data_sharing` ignoring case and `_`/`-`/space differences.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shared_data: Vec<String>,
    /// Live availability per expert id.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub availability: BTreeMap<ExpertId, Availability>,
    /// Live load (work items in progress) per expert id.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub load: BTreeMap<ExpertId, u32>,
}

/// The form data keys are compared in: lower case, words joined by `_`.
pub(crate) fn normalize_data_key(key: &str) -> String {
    key.trim()
        .chars()
        .map(|c| {
            if c == '-' || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .flat_map(char::to_lowercase)
        .collect()
}
