//! What is routed: the request text and its conversation context.

use std::collections::BTreeMap;

use consort_protocol::{Availability, ExpertId};
use serde::{Deserialize, Serialize};

/// A request to route.
///
/// ```
/// use consort_router::{RouteContext, RouteRequest};
///
/// let request = RouteRequest::new("yes, go ahead")
///     .with_context(RouteContext::default().with_previous_expert("legal_consultant"));
/// assert_eq!(request.context.previous_expert.as_deref(), Some("legal_consultant"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
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
/// `availability` and `load` override the router's status of each expert
/// for this request only (to apply a status to every later request, use
/// [`Router::set_status`](crate::Router::set_status)). Routing ignores ids
/// that are not in the registry; [`Router::check_context`](crate::Router::check_context)
/// reports them.
///
/// ```
/// use consort_protocol::Availability;
/// use consort_router::RouteContext;
///
/// let context = RouteContext::default()
///     .with_previous_expert("marketing_sales")
///     .with_collaborators(["finance_accountant"])
///     .with_shared_data(["budget_constraints"])
///     .with_availability([("art_design", Availability::Offline)])
///     .with_load([("finance_accountant", 3)]);
/// assert_eq!(context.collaborators, ["finance_accountant"]);
/// assert_eq!(context.load["finance_accountant"], 3);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
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

impl RouteContext {
    /// Sets [`previous_expert`](Self::previous_expert).
    #[must_use]
    pub fn with_previous_expert(mut self, expert: impl Into<ExpertId>) -> Self {
        self.previous_expert = Some(expert.into());
        self
    }

    /// Sets [`collaborators`](Self::collaborators).
    #[must_use]
    pub fn with_collaborators<I>(mut self, experts: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<ExpertId>,
    {
        self.collaborators = experts.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`shared_data`](Self::shared_data).
    #[must_use]
    pub fn with_shared_data<I>(mut self, keys: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.shared_data = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`availability`](Self::availability).
    #[must_use]
    pub fn with_availability<I, K>(mut self, statuses: I) -> Self
    where
        I: IntoIterator<Item = (K, Availability)>,
        K: Into<ExpertId>,
    {
        self.availability = statuses.into_iter().map(|(k, v)| (k.into(), v)).collect();
        self
    }

    /// Sets [`load`](Self::load).
    #[must_use]
    pub fn with_load<I, K>(mut self, loads: I) -> Self
    where
        I: IntoIterator<Item = (K, u32)>,
        K: Into<ExpertId>,
    {
        self.load = loads.into_iter().map(|(k, v)| (k.into(), v)).collect();
        self
    }
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
