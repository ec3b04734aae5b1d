//! What routing returns: the decision, its ranked candidates and why.

use std::collections::BTreeMap;
use std::fmt;

use consort_protocol::{ComplexityLevel, ExpertId};
use serde::{Deserialize, Serialize};

/// Whether a request was routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RouteOutcome {
    /// A primary expert was chosen on the merits (or kept for a follow-up).
    Routed,
    /// Nothing matched well enough; `primary` is the fallback chosen for
    /// the reason in `RouteDecision::fallback`.
    Fallback,
    /// Nothing matched well enough and there is no fallback: no primary.
    NoMatch,
}

/// Why a request went to a fallback expert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FallbackReason {
    /// The configured `RouterConfig::fallback_expert`.
    FallbackExpert,
    /// The registry's coordinator (`RouterConfig::coordinator_fallback`).
    Coordinator,
}

/// One routing decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RouteDecision {
    /// Routed or abstained.
    pub outcome: RouteOutcome,
    /// The expert that leads the request.
    pub primary: Option<ExpertId>,
    /// Experts that work with the primary, best first.
    pub collaborators: Vec<ExpertId>,
    /// Whether the request needs several experts.
    pub requires_collaboration: bool,
    /// Whether the request was taken as a follow-up and kept with the
    /// previous expert.
    pub follow_up: bool,
    /// Why `primary` is a fallback, when the outcome is `Fallback`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<FallbackReason>,
    /// The assessed complexity of the request.
    pub complexity: ComplexityLevel,
    /// The best candidates, best first (at most `top_k`).
    pub candidates: Vec<Candidate>,
}

/// A scored expert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Candidate {
    /// The expert.
    pub expert: ExpertId,
    /// Final score in `0..=1`: the weighted signals times availability.
    pub score: f64,
    /// The score's parts.
    pub breakdown: Breakdown,
    /// Request words that matched the expert's profile; a match through the
    /// related-terms table reads `word→term`.
    pub matched_terms: Vec<String>,
}

/// Per-signal scores, each in `0..=1`, before weighting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Breakdown {
    /// Domain signal.
    pub domain: f64,
    /// Capability signal.
    pub capability: f64,
    /// Complexity fit.
    pub complexity: f64,
    /// Context relevance.
    pub context: f64,
    /// Availability and load factor the weighted sum was multiplied by.
    pub availability: f64,
    /// How much learned corrections contributed to the domain signal:
    /// `1 - e^-w` of their weight `w` alone (0 when none did).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub learned: f64,
    /// The semantic signal (feature `semantic`): the request's largest
    /// cosine similarity to the expert's profile items, rescaled so that
    /// `semantic_floor` is 0 (0 when no model is attached).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub semantic: f64,
    /// Extra signals by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, f64>,
}

fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

impl RouteDecision {
    /// A multi-line, human-readable account of the decision (same as
    /// `Display`).
    pub fn explain(&self) -> String {
        self.to_string()
    }

    /// The primary followed by the collaborators.
    pub fn experts(&self) -> impl Iterator<Item = &ExpertId> {
        self.primary.iter().chain(&self.collaborators)
    }

    /// Keeps only the candidates of the chosen experts (the primary and
    /// the collaborators), in rank order, for a reader who wants to know why
    /// they were chosen rather than how the runners-up scored. When none of
    /// them is ranked (the router abstained, or fell back to an expert it
    /// did not rank), the best candidate stays: it shows how close the
    /// request came.
    pub fn retain_chosen(&mut self) {
        let (primary, collaborators) = (&self.primary, &self.collaborators);
        let chosen = |c: &Candidate| {
            primary.as_ref() == Some(&c.expert) || collaborators.contains(&c.expert)
        };
        if self.candidates.iter().any(chosen) {
            self.candidates.retain(chosen);
        } else {
            self.candidates.truncate(1);
        }
    }

    /// Rounds every score to `decimals` places (at most 15; more leaves
    /// them as they are), for a reader who learns nothing from an `f64`'s
    /// seventeen digits, often a model that pays per token. A `learned` or
    /// `semantic` part that rounds to 0 is then left out when serialized,
    /// like one that contributed nothing.
    pub fn round_scores(&mut self, decimals: u8) {
        if decimals > 15 {
            return;
        }
        let scale = 10f64.powi(i32::from(decimals));
        let round = |x: &mut f64| *x = (*x * scale).round() / scale;
        for candidate in &mut self.candidates {
            round(&mut candidate.score);
            // Every field by name: a new score must be rounded too.
            let Breakdown {
                domain,
                capability,
                complexity,
                context,
                availability,
                learned,
                semantic,
                extra,
            } = &mut candidate.breakdown;
            for score in [
                domain,
                capability,
                complexity,
                context,
                availability,
                learned,
                semantic,
            ] {
                round(score);
            }
            for score in extra.values_mut() {
                round(score);
            }
        }
    }
}

impl fmt::Display for RouteDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.outcome, &self.primary) {
            (RouteOutcome::Routed, Some(primary)) => write!(f, "routed to {primary}")?,
            (_, Some(fallback)) => match self.fallback {
                Some(FallbackReason::Coordinator) => write!(
                    f,
                    "no expert matched; handed to the registry's coordinator {fallback}"
                )?,
                _ => write!(f, "no expert matched; falling back to {fallback}")?,
            },
            (_, None) => f.write_str("no match")?,
        }
        if !self.collaborators.is_empty() {
            write!(f, " with {}", self.collaborators.join(", "))?;
        }
        write!(f, " (complexity {}", self.complexity.as_str())?;
        if self.requires_collaboration {
            f.write_str(", collaboration required")?;
        }
        if self.follow_up {
            f.write_str(", follow-up kept with the previous expert")?;
        }
        f.write_str(")")?;
        for (rank, c) in self.candidates.iter().enumerate() {
            let b = &c.breakdown;
            write!(
                f,
                "\n  {}. {} {:.3} = domain {:.2}, capability {:.2}, complexity {:.2}, context {:.2}",
                rank + 1,
                c.expert,
                c.score,
                b.domain,
                b.capability,
                b.complexity,
                b.context
            )?;
            if b.learned > 0.0 {
                write!(f, ", learned {:.2}", b.learned)?;
            }
            if b.semantic > 0.0 {
                write!(f, ", semantic {:.2}", b.semantic)?;
            }
            for (name, value) in &b.extra {
                write!(f, ", {name} {value:.2}")?;
            }
            write!(f, "; availability x{:.2}", b.availability)?;
            if !c.matched_terms.is_empty() {
                write!(f, " [{}]", c.matched_terms.join(", "))?;
            }
        }
        Ok(())
    }
}
