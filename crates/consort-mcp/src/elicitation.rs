//! Asking a run's question for a human through MCP elicitation, when the
//! client supports it.

use consort_protocol::StepNumber;
use consort_workflow::RunStatus;
use rmcp::RoleServer;
use rmcp::model::{ElicitRequestParams, ElicitationAction, ElicitationSchema};
use rmcp::service::RequestContext;
use serde_json::Value;

/// The field of the form the client shows.
const FIELD: &str = "answer";

/// Asks the client of `request` the first question `status` waits on;
/// `None` when there is none, the client does not support elicitation (or
/// cannot be asked within this request), or the user declined.
///
/// The answer is taken as JSON when it reads as JSON (`30000`, `true`,
/// `{"budget": 1}`), and as text otherwise.
pub(crate) async fn ask(
    request: &RequestContext<RoleServer>,
    status: &RunStatus,
) -> Option<(StepNumber, Value)> {
    request.client_capabilities()?.elicitation.as_ref()?;
    let (step, question) = status
        .steps
        .iter()
        .find_map(|s| s.question.as_ref().map(|q| (s, q)))?;
    let schema = ElicitationSchema::builder()
        .required_string(FIELD)
        .build()
        .ok()?;
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: format!(
            "Run {} asks, at step {} ({}): {question}",
            status.run_id, step.id, step.name
        ),
        requested_schema: schema,
    };
    let result = match request.peer.create_elicitation(params).await {
        Ok(result) => result,
        Err(e) => {
            tracing::debug!(run = %status.run_id, "elicitation failed: {e}");
            return None;
        }
    };
    if result.action != ElicitationAction::Accept {
        return None;
    }
    let text = result.content?.get(FIELD)?.as_str()?.to_owned();
    let answer = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Some((step.id, answer))
}
