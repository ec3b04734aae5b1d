//! [`ConflictResolver::prioritize`]: recommendations ranked by how much
//! each should weigh, the spec's `prioritizeRecommendations`.

use consort_protocol::ExpertRecommendation;
use serde::Serialize;

use crate::{ConflictError, ConflictResolver};

/// One recommendation with the weight that ranks it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PrioritizedRecommendation {
    /// 1 for the recommendation that weighs most.
    pub rank: usize,
    /// The recommendation as given.
    pub recommendation: ExpertRecommendation,
    /// The expert's authority in the recommendation's domain (its `domain`,
    /// or its subject when it has none); see [`AuthorityTable`](crate::AuthorityTable).
    pub authority: f64,
    /// The policy's factor for the recommendation's priority.
    pub priority_factor: f64,
    /// `priority_factor x authority x confidence`: what ranks it.
    pub weight: f64,
}

impl ConflictResolver {
    /// Ranks `recommendations` by priority factor times domain authority
    /// times confidence, highest first. Ties are ordered by content
    /// (subject, expert, position), so the ranking does not depend on the
    /// order the recommendations arrived in.
    ///
    /// Fails like [`resolve`](Self::resolve) on a recommendation from an
    /// unknown expert or one that breaks a rule, naming its index.
    ///
    /// ```
    /// use consort_conflict::{ConflictResolver, Policy};
    /// use consort_protocol::{ExpertRecommendation, from_json_str, load_registry, seeds};
    ///
    /// let experts = load_registry(seeds::EXPERT_REGISTRY)?;
    /// let resolver = ConflictResolver::new(&experts, Policy::default())?;
    /// let recommendations: Vec<ExpertRecommendation> = from_json_str(r#"[
    ///   {"expert": "marketing_sales", "subject": "campaign_budget", "domain": "budgeting",
    ///    "position": 50000, "confidence_level": 0.9, "priority": "high"},
    ///   {"expert": "finance_accountant", "subject": "campaign_budget", "domain": "budgeting",
    ///    "position": 30000, "confidence_level": 0.9, "priority": "high"}
    /// ]"#)?;
    /// let ranked = resolver.prioritize(&recommendations)?;
    /// // Budgeting is finance's domain: its recommendation weighs more.
    /// assert_eq!(ranked[0].recommendation.expert, "finance_accountant");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prioritize(
        &self,
        recommendations: &[ExpertRecommendation],
    ) -> Result<Vec<PrioritizedRecommendation>, ConflictError> {
        let factors = &self.policy().priority_factors;
        let mut ranked: Vec<PrioritizedRecommendation> = self
            .prepare(recommendations)?
            .iter()
            .map(|prepared| {
                let member = prepared.member();
                let priority_factor = factors.factor(prepared.rec.priority);
                PrioritizedRecommendation {
                    rank: 0,
                    recommendation: prepared.rec.clone(),
                    authority: member.authority,
                    priority_factor,
                    weight: priority_factor * member.weight(),
                }
            })
            .collect();
        // Stable: ties keep the content order `prepare` sorted them into.
        ranked.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        for (rank, entry) in (1..).zip(&mut ranked) {
            entry.rank = rank;
        }
        Ok(ranked)
    }
}
