//! Durable MCP tasks: a task is a consort run. `tasks/get` reads the run
//! from the backend and `tasks/cancel` cancels it, so with Redis a task
//! outlives the server process that started it; a run left without a
//! driver is taken over by the server the client polls. A run that waits
//! for a human is an `input_required` task whose input requests are
//! elicitation forms, one per question; `tasks/update` answers them.

use consort_coordinator::{Coordinator, CoordinatorError};
use consort_workflow::WorkflowError;
use rmcp::ErrorData;
use rmcp::model::{
    CancelTaskParams, DetailedTask, GetTaskParams, GetTaskResult, JsonObject, TaskPayload,
    TaskStatus, UpdateTaskParams,
};

use crate::elicitation::{self, AnswerError};
use crate::tools::{run_task, task_status};

/// Answers `tasks/get` for a task `workflow_start` created: the run's
/// state; while it waits for a human, its questions as input requests;
/// and once it is over the `workflow_status` result (an error result when
/// the run failed).
pub async fn get_task(
    coordinator: &Coordinator,
    request: GetTaskParams,
) -> Result<GetTaskResult, ErrorData> {
    let (mut task, status) = task_status(coordinator, &request.task_id, true)
        .await
        .map_err(|e| task_error(&request.task_id, &e))?;
    let payload = match task.status {
        TaskStatus::Completed => TaskPayload::Completed {
            result: as_object(&run_task(&status)),
        },
        TaskStatus::Cancelled => TaskPayload::Cancelled,
        TaskStatus::InputRequired => {
            let input_requests = elicitation::input_requests(&status);
            if input_requests.is_empty() {
                // A waiting run always has a question; should its form not
                // build, the status message still carries it.
                task.status = TaskStatus::Working;
                TaskPayload::Working
            } else {
                TaskPayload::InputRequired { input_requests }
            }
        }
        _ => TaskPayload::Working,
    };
    Ok(GetTaskResult::new(DetailedTask::new(task, payload)))
}

/// Answers `tasks/update`: each response answers the question its key
/// names, as `workflow_answer` would; a declined form leaves the question
/// open. A key that names no open question, or a response that is not an
/// elicitation result, is an invalid-params error; responses before it were
/// applied.
pub async fn update_task(
    coordinator: &Coordinator,
    request: UpdateTaskParams,
) -> Result<(), ErrorData> {
    let task_id = request.task_id.as_str();
    elicitation::answer_all(coordinator, task_id, request.input_responses)
        .await
        .map_err(|e| match e {
            AnswerError::Input(message) => ErrorData::invalid_params(message, None),
            AnswerError::Coordinator(e) => task_error(task_id, &e),
        })
}

/// Answers `tasks/cancel`: cancels the run behind the task.
pub async fn cancel_task(
    coordinator: &Coordinator,
    request: CancelTaskParams,
) -> Result<(), ErrorData> {
    coordinator
        .cancel_workflow(&request.task_id)
        .await
        .map_err(|e| task_error(&request.task_id, &e))
}

/// A protocol error for a task request: an unknown task is the client's
/// mistake (invalid params); anything else is the server's.
fn task_error(task_id: &str, err: &CoordinatorError) -> ErrorData {
    match err {
        CoordinatorError::Workflow(WorkflowError::RunNotFound { .. }) => {
            ErrorData::invalid_params(format!("no task {task_id:?}"), None)
        }
        _ => ErrorData::internal_error(format!("task {task_id:?}: {err}"), None),
    }
}

/// A result as the JSON object a task carries.
fn as_object(result: &rmcp::model::CallToolResult) -> JsonObject {
    match serde_json::to_value(result) {
        Ok(serde_json::Value::Object(object)) => object,
        _ => JsonObject::new(),
    }
}
