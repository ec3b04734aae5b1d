//! Drawing a [`WorkflowGraph`] as Mermaid (`flowchart TD`) or Graphviz DOT,
//! optionally coloured by the state of each step of a run.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use consort_protocol::StepNumber;

use crate::graph::WorkflowGraph;
use crate::status::{RunStatus, StepState};

/// Output format of [`render`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RenderFormat {
    /// Mermaid `flowchart TD` (renders on GitHub and in most Markdown tools).
    Mermaid,
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
}

/// The graph without run states.
///
/// ```
/// use consort_protocol::{load_workflow, seeds};
/// use consort_workflow::{render, RenderFormat, WorkflowGraph};
/// let graph = WorkflowGraph::build(&load_workflow(seeds::MARKETING_CAMPAIGN_WORKFLOW)?)?;
/// let mermaid = render(&graph, RenderFormat::Mermaid);
/// assert!(mermaid.starts_with("flowchart TD"));
/// assert!(mermaid.contains("s1 --> s2"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render(graph: &WorkflowGraph, format: RenderFormat) -> String {
    draw(graph, format, &BTreeMap::new())
}

/// The graph with each step coloured by its state in `status` (steps the
/// status does not mention stay uncoloured).
pub fn render_with_states(
    graph: &WorkflowGraph,
    status: &RunStatus,
    format: RenderFormat,
) -> String {
    let states = status.steps.iter().map(|s| (s.id, s.state)).collect();
    draw(graph, format, &states)
}

/// Fill and stroke colours per state.
fn colours(state: StepState) -> (&'static str, &'static str) {
    match state {
        StepState::Pending => ("#eeeeee", "#9e9e9e"),
        StepState::Running => ("#bbdefb", "#1565c0"),
        StepState::Completed => ("#c8e6c9", "#2e7d32"),
        StepState::Failed => ("#ffcdd2", "#c62828"),
        StepState::WaitingForHuman => ("#fff9c4", "#f9a825"),
        StepState::Skipped => ("#f5f5f5", "#bdbdbd"),
        StepState::Cancelled => ("#d7ccc8", "#5d4037"),
    }
}

fn draw(
    graph: &WorkflowGraph,
    format: RenderFormat,
    states: &BTreeMap<StepNumber, StepState>,
) -> String {
    match format {
        RenderFormat::Mermaid => mermaid(graph, states),
        RenderFormat::Dot => dot(graph, states),
    }
}

fn mermaid(graph: &WorkflowGraph, states: &BTreeMap<StepNumber, StepState>) -> String {
    // Writing to a String cannot fail; the results are ignored for that reason.
    let mut out = String::from("flowchart TD\n");
    for step in graph.steps() {
        let label = format!("{}. {}<br/>{}", step.number, step.name, step.primary_expert);
        let _ = writeln!(out, "    s{}[\"{}\"]", step.number, mermaid_escape(&label));
    }
    for (from, to) in graph.edges() {
        let _ = writeln!(out, "    s{from} --> s{to}");
    }
    let mut by_state: BTreeMap<StepState, Vec<String>> = BTreeMap::new();
    for (number, state) in states {
        if graph.index_of(*number).is_some() {
            by_state
                .entry(*state)
                .or_default()
                .push(format!("s{number}"));
        }
    }
    for (state, nodes) in &by_state {
        let (fill, stroke) = colours(*state);
        let _ = writeln!(
            out,
            "    classDef {} fill:{fill},stroke:{stroke}",
            state.as_str()
        );
        let _ = writeln!(out, "    class {} {}", nodes.join(","), state.as_str());
    }
    out
}

fn mermaid_escape(text: &str) -> String {
    text.replace('"', "#quot;")
}

fn dot(graph: &WorkflowGraph, states: &BTreeMap<StepNumber, StepState>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", dot_escape(graph.name()));
    out.push_str("    rankdir=TB;\n    node [shape=box, style=\"rounded\"];\n");
    for step in graph.steps() {
        let label = format!(
            "{}. {}\\n{}",
            step.number,
            dot_escape(&step.name),
            dot_escape(&step.primary_expert)
        );
        match states.get(&step.number) {
            Some(state) => {
                let (fill, stroke) = colours(*state);
                let _ = writeln!(
                    out,
                    "    s{} [label=\"{label}\", style=\"rounded,filled\", fillcolor=\"{fill}\", color=\"{stroke}\", tooltip=\"{}\"];",
                    step.number,
                    state.as_str()
                );
            }
            None => {
                let _ = writeln!(out, "    s{} [label=\"{label}\"];", step.number);
            }
        }
    }
    for (from, to) in graph.edges() {
        let _ = writeln!(out, "    s{from} -> s{to};");
    }
    out.push_str("}\n");
    out
}

fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use consort_protocol::{load_workflow, seeds};

    use super::*;
    use crate::status::{RunState, StepStatus};

    fn graph() -> WorkflowGraph {
        WorkflowGraph::build(&load_workflow(seeds::MARKETING_CAMPAIGN_WORKFLOW).unwrap()).unwrap()
    }

    fn status(states: &[(StepNumber, StepState)]) -> RunStatus {
        RunStatus {
            run_id: "r".into(),
            workflow: "w".into(),
            state: RunState::Running,
            percent_complete: 0.0,
            error: None,
            steps: states
                .iter()
                .map(|&(id, state)| StepStatus {
                    id,
                    name: Arc::from(""),
                    expert: Arc::from(""),
                    state,
                    attempts: 0,
                    started_at: None,
                    finished_at: None,
                    outputs: None,
                    error: None,
                    question: None,
                })
                .collect(),
            settings: None,
            settings_changes: Vec::new(),
            owner: None,
        }
    }

    #[test]
    fn mermaid_lists_nodes_and_edges() {
        let text = render(&graph(), RenderFormat::Mermaid);
        assert!(
            text.contains("s2[\"2. Strategy Development<br/>marketing_sales\"]"),
            "{text}"
        );
        assert_eq!(text.matches("-->").count(), 4);
        assert!(!text.contains("classDef"));
    }

    #[test]
    fn states_colour_mermaid_and_dot() {
        let status = status(&[
            (1, StepState::Completed),
            (2, StepState::Completed),
            (3, StepState::Running),
        ]);
        let mermaid = render_with_states(&graph(), &status, RenderFormat::Mermaid);
        assert!(
            mermaid.contains("classDef completed fill:#c8e6c9"),
            "{mermaid}"
        );
        assert!(mermaid.contains("class s1,s2 completed"), "{mermaid}");
        assert!(mermaid.contains("class s3 running"), "{mermaid}");
        let dot = render_with_states(&graph(), &status, RenderFormat::Dot);
        assert!(
            dot.starts_with("digraph \"comprehensive_marketing_campaign\" {"),
            "{dot}"
        );
        assert!(dot.contains("s3 [label=\"3. Creative Development\\nart_design\", style=\"rounded,filled\", fillcolor=\"#bbdefb\""), "{dot}");
        assert!(
            dot.contains("s4 [label=\"4. Project Coordination\\nproject_management\"];"),
            "{dot}"
        );
        assert_eq!(dot.matches(" -> ").count(), 4);
    }

    #[test]
    fn labels_are_escaped() {
        let spec = consort_protocol::from_json_str(
            r#"{"workflow_name": "q\"w", "workflow_steps": [{"step": 1, "name": "say \"hi\"", "primary_expert": "x"}]}"#,
        )
        .unwrap();
        let g = WorkflowGraph::build(&spec).unwrap();
        assert!(render(&g, RenderFormat::Mermaid).contains("say #quot;hi#quot;"));
        assert!(render(&g, RenderFormat::Dot).contains("say \\\"hi\\\""));
    }
}
