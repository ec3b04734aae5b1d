//! The input document of `consort resolve`, and a ready-made example.

use std::collections::BTreeMap;

use consort_protocol::{ExpertProfile, ExpertRecommendation};
use serde::{Deserialize, Serialize};

use crate::{ConflictError, ConflictResolver, Policy, Report};

/// Recommendations with optional capacities and policy:
/// `{"recommendations": [...], "capacities": {"budget": 60000}, "policy": {...}}`.
///
/// Parse it with [`consort_protocol::from_json_str`] so that errors carry the
/// JSON path (`recommendations[2].confidence_level: ...`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveInput {
    /// The recommendations to reconcile.
    pub recommendations: Vec<ExpertRecommendation>,
    /// Resource capacities by name; empty means nothing is scarce.
    #[serde(default)]
    pub capacities: BTreeMap<String, f64>,
    /// Thresholds; defaults when absent.
    #[serde(default)]
    pub policy: Policy,
}

impl ResolveInput {
    /// Resolves the recommendations against `profiles` with the default
    /// strategies.
    pub fn resolve(&self, profiles: &[ExpertProfile]) -> Result<Report, ConflictError> {
        ConflictResolver::new(profiles, self.policy.clone())?
            .resolve(&self.recommendations, &self.capacities)
    }
}

/// A [`ResolveInput`] document for the spec's seed experts: marketing_sales
/// wants a 50,000 campaign budget and finance_accountant says 30,000; the
/// budget is over-requested; legal_consultant and finance_accountant agree
/// on a contract review but not on its priority; and two precedence claims
/// contradict each other.
pub const BUDGET_DISAGREEMENT: &str = include_str!("../examples/budget_disagreement.json");
