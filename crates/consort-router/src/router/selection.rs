//! Selection: the primary expert and its collaborators among the ranked
//! candidates.

use std::ops::Range;

use consort_protocol::PriorityLevel;

use crate::decision::RouteDecision;
use crate::scratch::Acc;

use super::Router;
use super::matches::{Scored, claimed};

impl Router {
    /// Whether all of an expert's lexical evidence is fewer related-term
    /// matches than `min_related_matches`: such an expert can neither lead
    /// nor join a decision. Experts without lexical evidence (found by
    /// context or an extra signal) are not weak.
    pub(super) fn weak_only(&self, acc: &Acc) -> bool {
        acc.exact == 0
            && acc.related > 0
            && usize::from(acc.related) < self.config.min_related_matches
    }

    /// Chooses primary and collaborators among ranked candidates whose
    /// first one can lead (it cleared `min_score` and its evidence is not
    /// only weak links).
    pub(super) fn select(
        &self,
        ranked: &[Scored<'_>],
        best_relevance: f64,
        coordination: bool,
        covered: &mut Vec<Range<usize>>,
        decision: &mut RouteDecision,
    ) {
        let cfg = &self.config;
        let strong = |c: &Scored<'_>| {
            !self.weak_only(&c.acc)
                && c.acc.score >= cfg.min_score
                && c.acc.relevance >= cfg.strong_relevance
                && c.acc.relevance >= cfg.collaboration_ratio * best_relevance
        };
        let mut chosen: Vec<&Scored<'_>> = Vec::with_capacity(ranked.len());
        covered.clear();
        if let Some(first) = ranked.first() {
            chosen.push(first);
            covered.extend(claimed(&first.matches));
        }
        if ranked.first().is_some_and(strong) {
            for candidate in ranked.iter().skip(1) {
                if chosen.len() > cfg.max_collaborators {
                    break;
                }
                if !strong(candidate) {
                    continue;
                }
                if self.is_novel(&candidate.matches, covered) {
                    covered.extend(claimed(&candidate.matches));
                    chosen.push(candidate);
                }
            }
        }
        decision.requires_collaboration = chosen.len() > 1;
        let coordinator = (decision.requires_collaboration && coordination)
            .then(|| {
                ranked.iter().find(|c| {
                    c.expert.priority == PriorityLevel::Coordinator && c.acc.score >= cfg.min_score
                })
            })
            .flatten();
        let primary = coordinator.or_else(|| chosen.first().copied());
        decision.primary = primary.map(|p| p.expert.profile.id.clone());
        decision.collaborators = chosen
            .iter()
            .filter(|c| primary.is_none_or(|p| p.slot != c.slot))
            .take(cfg.max_collaborators)
            .map(|c| c.expert.profile.id.clone())
            .collect();
    }
}
