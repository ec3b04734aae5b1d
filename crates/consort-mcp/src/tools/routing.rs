//! The `route` tool.

use std::borrow::Cow;
use std::num::NonZeroUsize;

use consort_router::{RouteContext, RouteDecision, RouteRequest};
use rmcp::model::CallToolResponse;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::{Call, ToolOutput, schema, structured};
use crate::error::ToolError;

/// Arguments of `route`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteArgs {
    /// The request, in the user's own words.
    request: String,
    /// Where the conversation stands, all optional: `previous_expert`,
    /// `collaborators`, `shared_data`, and `availability` and `load` by
    /// expert id (overriding the registry's for this request).
    #[serde(default)]
    #[schemars(schema_with = "schema::optional_object")]
    context: Option<RouteContext>,
    /// How many ranked candidates to return with their breakdowns, best
    /// first, runners-up included (at least 1; at most as many as the
    /// router ranks, 5 by default). Omit it for the candidates of the
    /// chosen experts only (`primary` and `collaborators`), or the best one
    /// when none was chosen: why they were chosen, without the runners-up's
    /// breakdowns, which a model pays for in tokens and rarely reads.
    #[serde(default)]
    top: Option<NonZeroUsize>,
}

/// The decision, as the router returns it.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub(crate) struct RouteResult(RouteDecision);

impl JsonSchema for RouteResult {
    fn schema_name() -> Cow<'static, str> {
        "RouteDecision".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "required": ["outcome", "primary", "collaborators", "requires_collaboration",
                         "follow_up", "complexity", "candidates"],
            "properties": {
                "outcome": {
                    "description": "`routed` on the merits; `fallback` when nothing matched and `primary` is the fallback; `no_match` when nothing matched and there is no fallback (the router abstains).",
                    "type": "string", "enum": ["routed", "fallback", "no_match"]
                },
                "primary": {"description": "The expert that leads the request; null when the router abstains.", "type": ["string", "null"]},
                "collaborators": {"description": "Experts that work with the primary, best first.", "type": "array", "items": {"type": "string"}},
                "requires_collaboration": {"description": "Whether the request needs several experts.", "type": "boolean"},
                "follow_up": {"description": "Whether the request was taken as a follow-up and kept with the previous expert.", "type": "boolean"},
                "fallback": {"description": "Why `primary` is a fallback: `fallback_expert` or `coordinator`.", "type": "string"},
                "complexity": {"description": "The assessed complexity of the request.", "type": "string"},
                "candidates": {
                    "description": "Candidates best first, each with its score and per-signal breakdown: those of the chosen experts (or the best one when none was chosen), or the best `top` when asked.",
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "expert": {"description": "The expert.", "type": "string"},
                            "score": {"description": "Final score in 0..=1 (four decimals): the weighted signals times availability.", "type": "number"},
                            "breakdown": {"description": "Per-signal scores in 0..=1 (four decimals) before weighting: domain, capability, complexity, context, availability, and learned, semantic and extra signals when they contributed.", "type": "object"},
                            "matched_terms": {"description": "Request words that matched the expert's profile.", "type": "array", "items": {"type": "string"}}
                        }
                    }
                }
            }
        })
    }
}

impl ToolOutput for RouteResult {
    /// Scores are sent to four decimals: a reader (often a model, paying per
    /// token) learns nothing from the seventeen digits of an `f64`, and every
    /// client parses them, twice (structured content and text).
    fn into_response(mut self) -> Result<CallToolResponse, ToolError> {
        self.0.round_scores(SCORE_DECIMALS);
        structured(&self)
    }
}

/// Decimals kept in scores.
const SCORE_DECIMALS: u8 = 4;

pub(crate) async fn route(call: Call, args: RouteArgs) -> Result<RouteResult, ToolError> {
    if args.request.trim().is_empty() {
        return Err(ToolError::InvalidArguments(
            "request: the text is empty; there is nothing to route".to_owned(),
        ));
    }
    let mut request = RouteRequest::new(args.request);
    if let Some(context) = args.context {
        request = request.with_context(context);
    }
    let mut decision = call.coordinator.route(&request).await?;
    match args.top {
        Some(top) => decision.candidates.truncate(top.get()),
        None => decision.retain_chosen(),
    }
    Ok(RouteResult(decision))
}
