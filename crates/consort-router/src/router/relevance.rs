//! Lexical relevance: availability and saturation of the touched experts'
//! totals, the best relevance, the strong matches, and how many distinct
//! domains they cover.

use std::ops::Range;

use crate::query::Query;
use crate::request::RouteContext;
use crate::scratch::Scratch;

use super::Router;
use super::matches::{Match, claimed, matches, overlaps};

/// How many strong matches the complexity assessment inspects for distinct
/// domains.
pub(super) const DOMAIN_PROBE: usize = 8;

impl Router {
    /// Applies availability and saturates the lexical totals where that can
    /// matter; returns the best relevance among eligible experts, and leaves
    /// the strongest [`DOMAIN_PROBE`] strong matches, best first, in
    /// `scratch.strong`.
    pub(super) fn lexical_pass(&self, context: &RouteContext, scratch: &mut Scratch) -> f64 {
        let threshold = self.config.strong_relevance;
        // Up to DOMAIN_PROBE touched experts nearly all need their signals
        // anyway, and bounding them first would only add work.
        let prune = self.pruning && scratch.accs.len() > DOMAIN_PROBE;
        let mut best = 0.0_f64;
        let Scratch { accs, strong, .. } = scratch;
        for acc in accs {
            acc.availability = self.availability(acc.expert, context);
            if acc.availability.is_none() {
                continue;
            }
            if prune {
                // Most touched experts can neither raise the best relevance
                // nor enter the strong list: their `exp`s wait for ranking,
                // which skips most of them too.
                acc.bound_signals();
                let bound = acc.domain.max(acc.capability);
                let may_be_strong = bound >= threshold
                    && (strong.len() < DOMAIN_PROBE
                        || strong.last().is_some_and(|(weakest, _)| bound >= *weakest));
                if bound < best && !may_be_strong {
                    continue;
                }
            }
            acc.saturate();
            best = best.max(acc.relevance);
            if acc.relevance >= threshold {
                let entry = (acc.relevance, acc.expert);
                let at = strong.partition_point(|e| stronger(e, &entry));
                if at < DOMAIN_PROBE {
                    strong.insert(at, entry);
                    strong.truncate(DOMAIN_PROBE);
                }
            }
        }
        best
    }

    /// How many different domains the request hits: among the strongest
    /// [`DOMAIN_PROBE`] strong matches, those that each match mostly request
    /// words the ones before them did not (the collaboration novelty rule).
    /// Also returns the matches of those experts, by expert number.
    /// `covered` is a buffer for the spans of the domains found.
    pub(super) fn distinct_domains<'a>(
        &'a self,
        query: &Query,
        strong: &[(f64, u32)],
        covered: &mut Vec<Range<usize>>,
    ) -> (usize, Vec<(u32, Vec<Match<'a>>)>) {
        covered.clear();
        let mut domains = 0;
        let mut all = Vec::with_capacity(strong.len());
        for &(_, number) in strong {
            let Some(expert) = self.index.expert(number) else {
                continue;
            };
            let found = matches(&self.index, &self.learned, (expert, number), query);
            if self.is_novel(&found, covered) {
                domains += 1;
                covered.extend(claimed(&found));
            }
            all.push((number, found));
        }
        (domains, all)
    }

    /// Whether at least `collaboration_novelty` of the matched weight comes
    /// from request words outside `covered`.
    pub(super) fn is_novel(&self, found: &[Match<'_>], covered: &[Range<usize>]) -> bool {
        let total: f64 = found.iter().map(|m| m.strength).sum();
        let novel: f64 = found
            .iter()
            .filter(|m| !covered.iter().any(|c| overlaps(c, &m.span)))
            .map(|m| m.strength)
            .sum();
        total > 0.0 && novel >= self.config.collaboration_novelty * total
    }
}

/// Higher relevance first, then the smaller expert number.
fn stronger(a: &(f64, u32), b: &(f64, u32)) -> bool {
    a.0.total_cmp(&b.0).reverse().then(a.1.cmp(&b.1)).is_lt()
}
