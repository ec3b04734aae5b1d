//! Progress notifications for a run: one per finished step (`n of N`, with
//! the step's name) to a client that sent a progress token.

use consort_workflow::{ProgressKind, RunState, RunWatch};
use rmcp::RoleServer;
use rmcp::model::ProgressNotificationParam;
use rmcp::service::RequestContext;
use tokio::task::JoinHandle;

/// Forwards `watch` to the client of `request` as progress notifications,
/// until the run stops moving on its own (it finished, waits for a human or
/// was paused) or the client goes away; `None` (and the watch dropped) when
/// the request carries no progress token.
pub(crate) fn forward(
    request: &RequestContext<RoleServer>,
    mut watch: RunWatch,
) -> Option<JoinHandle<()>> {
    let token = request.meta.get_progress_token()?;
    let peer = request.peer.clone();
    Some(tokio::spawn(async move {
        while let Some(update) = watch.recv().await {
            let Ok(update) = update else {
                // The watch reports a backend failure and ends; the run's
                // status stays readable through workflow_status.
                return;
            };
            let message = match (update.kind, &update.step_name) {
                (ProgressKind::StepCompleted, Some(name)) => {
                    format!("{} of {}: {name} completed", update.completed, update.total)
                }
                (ProgressKind::WaitingForHuman, _) => format!(
                    "{} of {}: waiting for a human: {}",
                    update.completed,
                    update.total,
                    update.detail.as_deref().unwrap_or("see workflow_status")
                ),
                (ProgressKind::Completed | ProgressKind::Failed | ProgressKind::Cancelled, _) => {
                    format!(
                        "{} of {}: run {}",
                        update.completed, update.total, update.run_state
                    )
                }
                (ProgressKind::Paused, _) => {
                    format!("{} of {}: run paused", update.completed, update.total)
                }
                _ if update.run_state == RunState::WaitingForHuman => format!(
                    "{} of {}: waiting for a human",
                    update.completed, update.total
                ),
                // An expert's progress within a step (ProgressKind::StepProgress)
                // is not forwarded: MCP wants each notification's progress
                // to grow, and it does not move the run's count.
                _ => continue,
            };
            #[expect(clippy::cast_precision_loss, reason = "step counts are far below 2^52")]
            let param = ProgressNotificationParam::new(token.clone(), update.completed as f64)
                .with_total(update.total as f64)
                .with_message(message);
            let settled = update.run_state.is_finished()
                || matches!(
                    update.run_state,
                    RunState::WaitingForHuman | RunState::Paused
                );
            if peer.notify_progress(param).await.is_err() || settled {
                return;
            }
        }
    }))
}

/// Whether the client of `request` declared MCP's tasks extension.
pub(crate) fn client_supports_tasks(request: &RequestContext<RoleServer>) -> bool {
    request
        .client_capabilities()
        .is_some_and(|capabilities| capabilities.supports_tasks())
}
