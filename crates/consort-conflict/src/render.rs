//! A readable text form of a [`Report`].

use std::fmt;

use consort_protocol::Priority;

use crate::strategy::describe_position as position;
use crate::{Report, StrategyName};

impl fmt::Display for Report {
    /// Conflicts with their rationale and ranked options, then the unified
    /// recommendation and the escalations.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let escalated = self.escalated().count();
        writeln!(
            f,
            "{} conflict(s), {} resolved automatically ({:.1}%), {} escalated; experts agree on {:.1}% of subjects",
            self.conflicts.len(),
            self.conflicts.len() - escalated,
            self.automatic_resolution_rate * 100.0,
            escalated,
            self.agreement_rate * 100.0
        )?;
        for r in &self.conflicts {
            writeln!(f)?;
            let flag = if r.escalated { " [ESCALATED]" } else { "" };
            writeln!(f, "{} on {}: {}{flag}", r.kind, r.subject, r.strategy)?;
            if let Some(selected) = &r.selected {
                let priority = selected
                    .priority
                    .map(|p| format!(" (priority {})", p.as_str()))
                    .unwrap_or_default();
                writeln!(
                    f,
                    "  selected: {}{priority} from {}",
                    position(&selected.position),
                    selected.experts.join(", ")
                )?;
            }
            writeln!(f, "  why: {}", r.rationale)?;
            for (rank, option) in r.alternatives.iter().enumerate() {
                let priority = option
                    .priority
                    .map(|p| format!(" priority {}", p.as_str()))
                    .unwrap_or_default();
                writeln!(
                    f,
                    "  {}. {}{priority}  weight {:.2} ({:.1}%)  {}",
                    rank + 1,
                    position(&option.position),
                    option.weight,
                    option.share * 100.0,
                    option.experts.join(", ")
                )?;
            }
            for (resource, grants) in &r.allocations {
                for (expert, amount) in grants {
                    writeln!(f, "  {resource} -> {expert}: {amount:.2}")?;
                }
            }
        }
        writeln!(f)?;
        writeln!(f, "unified recommendation:")?;
        for (subject, d) in &self.unified.decisions {
            writeln!(
                f,
                "  {subject} = {} (priority {}, {}; {})",
                position(&d.position),
                d.priority.map_or("none", Priority::as_str),
                d.strategy.as_ref().map_or("none", StrategyName::as_str),
                d.experts.join(", ")
            )?;
        }
        if !self.unified.allocations.is_empty() {
            writeln!(f, "allocations:")?;
        }
        for (resource, grants) in &self.unified.allocations {
            for (expert, amount) in grants {
                writeln!(f, "  {resource} -> {expert}: {amount:.2}")?;
            }
        }
        if !self.unified.escalations.is_empty() {
            writeln!(f, "for human review:")?;
            for e in &self.unified.escalations {
                writeln!(f, "  {} on {}: {}", e.kind, e.subject, e.reason)?;
            }
        }
        Ok(())
    }
}
