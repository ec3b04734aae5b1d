//! The consult contract between consort and an expert's MCP server: the
//! arguments of each call and how the answer becomes a [`StepOutcome`].
//! docs/mcp.md ("Writing an expert") is the expert author's side of it.

use consort_workflow::{JsonMap, StepContext, StepKind, StepOutcome};
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Value, json};

/// The `_meta` key carrying the idempotency key: run + step (+ check), the
/// same on every attempt.
pub const IDEMPOTENCY_META_KEY: &str = "consort/idempotency_key";

/// The arguments of the consult call for `ctx`.
pub(crate) fn arguments(ctx: &StepContext) -> JsonMap {
    let step = ctx.step();
    let (kind, validation) = match ctx.kind() {
        StepKind::Execute => ("execute", Value::Null),
        StepKind::Validate { point, outputs, .. } => (
            "validate",
            json!({
                "needed": point.validation_needed,
                "data_shared": point.data_shared,
                "outputs": outputs,
            }),
        ),
        // A kind this version does not know: the expert is told its name.
        other => ("unknown", json!({ "kind": format!("{other:?}") })),
    };
    let mut args = JsonMap::with_capacity(7);
    args.insert("run_id".into(), ctx.run_id().into());
    args.insert("attempt".into(), ctx.attempt().into());
    args.insert("kind".into(), kind.into());
    args.insert(
        "step".into(),
        json!({
            "number": step.number,
            "name": step.name,
            "actions": step.actions,
            "outputs": step.outputs,
        }),
    );
    args.insert(
        "collaborators".into(),
        Value::Array(
            ctx.collaborators()
                .iter()
                .map(|c| Value::String(c.to_string()))
                .collect(),
        ),
    );
    args.insert("inputs".into(), Value::Object(ctx.inputs().to_json()));
    args.insert("validation".into(), validation);
    args
}

/// What the expert's answer means for the step; `expert` names it in
/// messages.
pub(crate) fn outcome(ctx: &StepContext, expert: &str, result: CallToolResult) -> StepOutcome {
    // The text is read only when the structured content does not say it
    // all: an answer that has it (nearly all) is not copied.
    let content = result.content;
    let text = || text_of(&content);
    let structured = result.structured_content;
    if result.is_error == Some(true) {
        let retryable = structured
            .as_ref()
            .and_then(|s| s.get("retryable"))
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let message = structured
            .as_ref()
            .and_then(|s| s.get("error"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(text)
            .unwrap_or_else(|| "no message".to_owned());
        return StepOutcome::Failed {
            error: format!("{expert} answered with an error: {message}"),
            retryable,
        };
    }
    let answer = match structured {
        Some(Value::Object(map)) => map,
        Some(other) => {
            return broken(
                expert,
                &format!("structured content is {}, not an object", kind_of(&other)),
            );
        }
        None => match text() {
            // Servers without structured output (the Python SDK's for a
            // tool returning a bare `dict`) send the object as JSON text.
            Some(text) => match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(map)) => map,
                _ => return plain_text(ctx, expert, text),
            },
            None => return broken(expert, "neither structured content nor text"),
        },
    };
    if let Some(question) = answer.get("needs_human") {
        return match question.as_str() {
            Some(q) if !q.trim().is_empty() => StepOutcome::NeedsHuman {
                question: q.to_owned(),
            },
            _ => broken(expert, "`needs_human` must be a non-empty question"),
        };
    }
    match ctx.kind() {
        StepKind::Validate { .. } => validation(expert, &answer),
        _ => execution(ctx, expert, answer),
    }
}

fn execution(ctx: &StepContext, expert: &str, answer: JsonMap) -> StepOutcome {
    let missing: Vec<&str> = ctx
        .step()
        .outputs
        .iter()
        .map(String::as_str)
        .filter(|name| !answer.contains_key(*name))
        .collect();
    if missing.is_empty() {
        return StepOutcome::Completed(answer);
    }
    let present: Vec<&str> = answer.keys().map(String::as_str).collect();
    broken(
        expert,
        &format!(
            "the answer lacks the step's declared output{} {} (it has: {})",
            if missing.len() == 1 { "" } else { "s" },
            quoted(&missing),
            if present.is_empty() {
                "nothing".to_owned()
            } else {
                quoted(&present)
            },
        ),
    )
}

fn validation(expert: &str, answer: &JsonMap) -> StepOutcome {
    let reason = answer
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or("no reason given");
    match answer.get("passed").and_then(Value::as_bool) {
        Some(true) => StepOutcome::Completed(JsonMap::new()),
        // The engine reads a failed validation as the check failing, and
        // applies the step's on_validation_failure.
        Some(false) => StepOutcome::fail(reason.to_owned()),
        None => broken(
            expert,
            "a validation answer is {\"passed\": true|false, \"reason\": \"...\"}",
        ),
    }
}

/// A plain-text answer to an execution: fine when the step declares no
/// outputs, a broken contract otherwise.
fn plain_text(ctx: &StepContext, expert: &str, text: String) -> StepOutcome {
    match ctx.kind() {
        StepKind::Execute if ctx.step().outputs.is_empty() => {
            let mut outputs = JsonMap::new();
            outputs.insert("text".into(), Value::String(text));
            StepOutcome::Completed(outputs)
        }
        StepKind::Execute => broken(
            expert,
            &format!(
                "a plain-text answer, but the step declares outputs {}: answer with structured content",
                quoted(
                    &ctx.step()
                        .outputs
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                )
            ),
        ),
        _ => broken(
            expert,
            "a plain-text answer to a validation: answer {\"passed\": true|false, \"reason\": \"...\"}",
        ),
    }
}

/// An answer that breaks the contract: no retry will fix the expert.
fn broken(expert: &str, what: &str) -> StepOutcome {
    StepOutcome::fail(format!("{expert} broke the consult contract: {what}"))
}

fn text_of(content: &[ContentBlock]) -> Option<String> {
    let texts: Vec<&str> = content
        .iter()
        .filter_map(|block| block.as_text().map(|t| t.text.as_str()))
        .collect();
    (!texts.is_empty()).then(|| texts.join("\n"))
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}
