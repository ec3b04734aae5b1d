//! Ranking: final scores of the eligible experts and the best of them, in a
//! total order.

use std::cmp::Reverse;

use consort_protocol::{ComplexityLevel, PriorityLevel};

use crate::RouteRequest;
use crate::complexity;
use crate::index::IndexedExpert;
use crate::scratch::Scratch;
use crate::signal::clamp_unit;

use super::Router;
use super::context::context_relevance;

impl Router {
    /// Final scores of eligible experts that can rank, and the best
    /// `max(top_k, max_collaborators + 1)` of them, best first, in
    /// `scratch.top`.
    ///
    /// Once that many are kept, an expert whose score bound rounds below the
    /// worst kept one's tie bucket cannot displace it, so it is skipped
    /// unscored: the kept list, and so the decision, is the same as when
    /// every expert is scored. Extra signals are unbounded until called, so
    /// with them every expert is scored.
    pub(super) fn rank(
        &self,
        request: &RouteRequest,
        level: ComplexityLevel,
        follow_up: bool,
        scratch: &mut Scratch,
    ) {
        let keep = self.config.top_k.max(self.config.max_collaborators + 1);
        let epsilon = self.config.tie_epsilon;
        let prune = self.pruning && self.signals.is_empty();
        // `score / epsilon` below this cannot enter `top`.
        let mut entry = f64::NEG_INFINITY;
        let shared = request.context.shared_data.len();
        let Scratch {
            accs, extra, top, ..
        } = scratch;
        for (slot, acc) in accs.iter_mut().enumerate() {
            let (Some(availability), Some(expert)) =
                (acc.availability, self.index.expert(acc.expert))
            else {
                continue;
            };
            acc.complexity = complexity::fit(
                expert.complexity_range,
                level,
                self.config.unknown_complexity_fit,
            );
            acc.context = context_relevance(acc, follow_up, shared);
            if prune && top.len() == keep {
                let bound = self.weighted(acc) * availability;
                if bound / epsilon < entry {
                    continue;
                }
            }
            acc.saturate();
            acc.extra_at = extra.len();
            let mut sum = self.weighted(acc);
            for (signal, weight) in self.signals.iter().zip(&self.weights.extra) {
                let value = clamp_unit(signal.signal.score(request, &expert.profile));
                sum += weight * value;
                extra.push(value);
            }
            acc.score = (sum * availability).clamp(0.0, 1.0);
            let key = RankKey::new(acc.score, epsilon, expert, acc.expert);
            if top.len() < keep || top.last().is_some_and(|(worst, _)| key < *worst) {
                let at = top.partition_point(|(k, _)| *k < key);
                top.insert(at, (key, slot));
                top.truncate(keep);
                if top.len() == keep {
                    entry = top.last().map_or(entry, |(worst, _)| worst.entry_ratio());
                }
            }
        }
    }
}

/// Sort key: score rounded to the tie grid (higher first), then faster SLA,
/// higher priority level, and expert number (= id order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RankKey {
    bucket: Reverse<i64>,
    sla_ms: u64,
    priority: Reverse<PriorityLevel>,
    id_order: u32,
}

impl RankKey {
    fn new(score: f64, epsilon: f64, expert: &IndexedExpert, number: u32) -> Self {
        Self {
            bucket: Reverse((score / epsilon).round() as i64),
            sla_ms: expert.sla_ms,
            priority: Reverse(expert.priority),
            id_order: number,
        }
    }

    /// The least `score / epsilon` whose key can come before this one: a
    /// ratio below `bucket - 0.5` rounds to a lower bucket. `bucket - 0.5`
    /// is exact below 2^52; beyond (only with a tiny `tie_epsilon`) nothing
    /// is ruled out.
    fn entry_ratio(&self) -> f64 {
        let Reverse(bucket) = self.bucket;
        if bucket.unsigned_abs() < 1 << 52 {
            bucket as f64 - 0.5
        } else {
            f64::NEG_INFINITY
        }
    }
}
