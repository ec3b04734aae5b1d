//! What an expert recommends, as input to conflict resolution.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Confidence, ExpertId, Priority, ProtocolError};

/// One expert's recommendation on one subject.
///
/// Two recommendations on the same `subject` with different `position`s
/// contradict each other; requests for the same resource compete for its
/// capacity. A hand-written input, so strict: an unknown field (`resources`,
/// `prio`) is an error naming the field it most likely means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpertRecommendation {
    /// Who recommends.
    pub expert: ExpertId,
    /// What it is about (`campaign_budget`).
    pub subject: String,
    /// The domain the subject belongs to (`budgeting`), used to weigh domain
    /// authority; `None` lets the resolver infer it from the subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The recommendation itself: a number, a string, an object.
    pub position: Value,
    /// How sure the expert is, in `0.0..=1.0`.
    #[serde(alias = "confidence")]
    pub confidence_level: Confidence,
    /// How urgent the expert says it is.
    #[serde(default)]
    pub priority: Priority,
    /// Subjects this recommendation says must happen after this one
    /// (a precedence claim).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub precedes: Vec<String>,
    /// Resources it needs, by name (`{"budget": 30000}`); amounts are
    /// non-negative.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requested_resources: BTreeMap<String, f64>,
    /// Why, in the expert's words.
    #[serde(default)]
    pub rationale: String,
}

impl ExpertRecommendation {
    /// Checks what serde cannot: a non-blank expert and subject, and finite,
    /// non-negative resource amounts. Paths are relative to the recommendation.
    pub fn validate(&self) -> Result<(), ProtocolError> {
        if self.expert.trim().is_empty() {
            return Err(ProtocolError::invalid("expert", "missing expert id"));
        }
        if self.subject.trim().is_empty() {
            return Err(ProtocolError::invalid("subject", "missing subject"));
        }
        for (name, amount) in &self.requested_resources {
            if !amount.is_finite() || *amount < 0.0 {
                return Err(ProtocolError::invalid(
                    format!("requested_resources.{name}"),
                    format!("amount must be a finite number >= 0, got {amount}"),
                ));
            }
        }
        Ok(())
    }
}
