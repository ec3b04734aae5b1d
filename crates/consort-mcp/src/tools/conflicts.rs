//! The `resolve_conflicts` tool.

use std::borrow::Cow;
use std::collections::BTreeMap;

use consort_conflict::{Policy, Report};
use consort_protocol::ExpertRecommendation;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::{Call, ToolOutput, schema};
use crate::error::ToolError;

/// Arguments of `resolve_conflicts`: the document `consort resolve` reads.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResolveArgs {
    /// The recommendations to reconcile, each with `expert`, `subject`,
    /// `position`, `confidence_level` and `priority`, and optionally
    /// `domain`, `precedes`, `requested_resources` and `rationale`
    /// (docs/inputs.md). Every expert must be registered.
    #[schemars(schema_with = "schema::objects")]
    recommendations: Vec<ExpertRecommendation>,
    /// Capacities of scarce resources by name (`{"budget": 50000}`); absent
    /// means nothing is scarce.
    #[serde(default)]
    capacities: BTreeMap<String, f64>,
    /// Thresholds for this call; the coordinator's policy when absent.
    #[serde(default)]
    #[schemars(schema_with = "schema::optional_object")]
    policy: Option<Policy>,
}

/// The report, as the resolver returns it.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub(crate) struct ResolveResult(Report);

impl JsonSchema for ResolveResult {
    fn schema_name() -> Cow<'static, str> {
        "ConflictReport".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "required": ["conflicts", "unified", "agreement_rate", "automatic_resolution_rate"],
            "properties": {
                "conflicts": {
                    "description": "One resolution per conflict: its kind, subject, the strategy that decided, what was selected, whether a human must decide, the rationale naming the experts and their weights, the alternatives and, for resources, the allocations.",
                    "type": "array", "items": {"type": "object"}
                },
                "unified": {
                    "description": "The recommendations merged into one: `decisions` by subject, `allocations` (resource -> expert -> amount) and `escalations` for a human.",
                    "type": "object"
                },
                "agreement_rate": {"description": "Subjects on which every recommendation agrees, divided by all subjects.", "type": "number"},
                "automatic_resolution_rate": {"description": "Conflicts resolved without escalation, divided by all conflicts.", "type": "number"}
            }
        })
    }
}

impl ToolOutput for ResolveResult {}

pub(crate) async fn resolve(call: Call, args: ResolveArgs) -> Result<ResolveResult, ToolError> {
    if args.recommendations.is_empty() {
        return Err(ToolError::InvalidArguments(
            "recommendations: the list is empty; there is nothing to resolve".to_owned(),
        ));
    }
    let report = match args.policy {
        Some(policy) => {
            call.coordinator
                .resolve_conflicts_under(&args.recommendations, &args.capacities, policy)
                .await?
        }
        None => {
            call.coordinator
                .resolve_conflicts(&args.recommendations, &args.capacities)
                .await?
        }
    };
    Ok(ResolveResult(report))
}
