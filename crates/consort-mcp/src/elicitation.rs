//! A run's questions for a human as MCP elicitation forms, and the answers
//! that come back. A question reaches the client one of three ways: asked
//! mid-call with `elicitation/create` (protocols before 2026-07-28, when
//! the client supports elicitation), as the input requests of an
//! input-required result that the client answers by calling again
//! (2026-07-28), or as the input requests of an `input_required` task
//! answered with `tasks/update` (see [`tasks`](crate::tasks)).

use consort_coordinator::{Coordinator, CoordinatorError};
use consort_protocol::StepNumber;
use consort_workflow::RunStatus;
use rmcp::RoleServer;
use rmcp::model::{
    ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema,
    InputRequest, InputRequests, InputResponses,
};
use rmcp::service::RequestContext;
use serde_json::Value;

/// The field of the form the client shows.
const FIELD: &str = "answer";

/// A question a run waits on, as an elicitation form.
#[derive(Debug)]
pub(crate) struct Question {
    /// The step that asks.
    pub(crate) step: StepNumber,
    /// Names this question among a task's input requests: the step and its
    /// attempt, so that a later question of the same step gets a new key.
    pub(crate) key: String,
    /// The form.
    pub(crate) form: ElicitRequestParams,
}

/// Every question `status` waits on, by step number.
pub(crate) fn questions(status: &RunStatus) -> Vec<Question> {
    status
        .steps
        .iter()
        .filter_map(|step| {
            let question = step.question.as_ref()?;
            let schema = ElicitationSchema::builder()
                .required_string(FIELD)
                .build()
                .ok()?;
            Some(Question {
                step: step.id,
                key: format!("step-{}-attempt-{}", step.id, step.attempts),
                form: ElicitRequestParams::FormElicitationParams {
                    meta: None,
                    message: format!(
                        "Run {} asks, at step {} ({}): {question}",
                        status.run_id, step.id, step.name
                    ),
                    requested_schema: schema,
                },
            })
        })
        .collect()
}

/// What the user answered in the form; `None` when they declined,
/// cancelled, or left the field out.
///
/// The answer is taken as JSON when it reads as JSON (`30000`, `true`,
/// `{"budget": 1}`), and as text otherwise.
pub(crate) fn answer(result: &ElicitResult) -> Option<Value> {
    if result.action != ElicitationAction::Accept {
        return None;
    }
    let text = result.content.as_ref()?.get(FIELD)?.as_str()?;
    Some(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())))
}

/// Asks the client of `request` the first question `status` waits on;
/// `None` when there is none, the client does not support elicitation (or
/// cannot be asked within this request), or the user declined.
pub(crate) async fn ask(
    request: &RequestContext<RoleServer>,
    status: &RunStatus,
) -> Option<(StepNumber, Value)> {
    request.client_capabilities()?.elicitation.as_ref()?;
    let question = questions(status).into_iter().next()?;
    match request.peer.create_elicitation(question.form).await {
        Ok(result) => Some((question.step, answer(&result)?)),
        Err(e) => {
            tracing::debug!(run = %status.run_id, "elicitation failed: {e}");
            None
        }
    }
}

/// Every question `status` waits on, as input requests keyed by
/// [`Question::key`].
pub(crate) fn input_requests(status: &RunStatus) -> InputRequests {
    questions(status)
        .into_iter()
        .map(|q| (q.key, InputRequest::Elicitation(ElicitRequest::new(q.form))))
        .collect()
}

/// Why answers from a client were not applied.
#[derive(Debug)]
pub(crate) enum AnswerError {
    /// A response names no open question, or is not an elicitation result;
    /// the message names it by its JSON path.
    Input(String),
    /// Reading or answering the run failed.
    Coordinator(CoordinatorError),
}

/// Applies a client's responses to run `run_id`'s questions: each accepted
/// form answers its step, as `workflow_answer` would; a declined one leaves
/// the question open (for another client, or `workflow_answer`). Responses
/// before a failing one were applied.
pub(crate) async fn answer_all(
    coordinator: &Coordinator,
    run_id: &str,
    responses: InputResponses,
) -> Result<(), AnswerError> {
    let status = coordinator
        .workflow_status(run_id)
        .await
        .map_err(AnswerError::Coordinator)?;
    let questions = questions(&status);
    for (key, response) in responses {
        let Some(question) = questions.iter().find(|q| q.key == key) else {
            let open: Vec<&str> = questions.iter().map(|q| q.key.as_str()).collect();
            return Err(AnswerError::Input(format!(
                "inputResponses.{key}: run {run_id:?} has no such open question (open: {open:?})"
            )));
        };
        let result: ElicitResult = serde_json::from_value(response).map_err(|e| {
            AnswerError::Input(format!(
                "inputResponses.{key}: not an elicitation result: {e}"
            ))
        })?;
        if let Some(answer) = answer(&result) {
            coordinator
                .answer_workflow(run_id, question.step, answer)
                .await
                .map_err(AnswerError::Coordinator)?;
        }
    }
    Ok(())
}
