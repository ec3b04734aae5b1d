//! The entry point: [`ConflictResolver`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use consort_protocol::{ExpertId, ExpertProfile, ExpertRecommendation};

use crate::authority::{Term, Vocabulary};
use crate::detect::{Prepared, content_order, detect};
use crate::unify::unify;
use crate::{
    ConflictError, ConflictKind, HumanReview, Policy, PriorityOrder, ProportionalAllocation,
    Report, Strategy, StrategyContext, WeightedSelection, canonical_position,
};

/// Detects conflicts among expert recommendations and resolves each with the
/// strategy for its kind.
///
/// Built once from the expert profiles and a [`Policy`]; [`resolve`](Self::resolve)
/// is pure and deterministic, and its result does not depend on the order of
/// the recommendations.
pub struct ConflictResolver {
    profiles: Vec<ExpertProfile>,
    index: BTreeMap<ExpertId, usize>,
    /// Each profile's rank by id, in string order.
    expert_ranks: Vec<u32>,
    vocabularies: Vec<Vocabulary>,
    policy: Policy,
    /// One per [`ConflictKind`], in the order of [`slot`].
    strategies: [Box<dyn Strategy>; 4],
}

fn slot(kind: ConflictKind) -> usize {
    match kind {
        ConflictKind::DirectContradiction => 0,
        ConflictKind::PriorityConflict => 1,
        ConflictKind::ResourceConflict => 2,
        ConflictKind::Unclassified => 3,
    }
}

impl fmt::Debug for ConflictResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConflictResolver")
            .field("experts", &self.index.keys().collect::<Vec<_>>())
            .field("policy", &self.policy)
            .field("strategies", &self.strategies)
            .finish()
    }
}

impl ConflictResolver {
    /// A resolver over `profiles` with the default strategies.
    ///
    /// Fails on an invalid policy, an invalid profile or a repeated expert id.
    pub fn new(profiles: &[ExpertProfile], policy: Policy) -> Result<Self, ConflictError> {
        policy.validate()?;
        let mut index = BTreeMap::new();
        for (i, profile) in profiles.iter().enumerate() {
            profile
                .validate()
                .map_err(|source| ConflictError::InvalidProfile {
                    expert: profile.id.clone(),
                    source,
                })?;
            if index.insert(profile.id.clone(), i).is_some() {
                return Err(ConflictError::DuplicateExpert {
                    expert: profile.id.clone(),
                });
            }
        }
        let mut expert_ranks = vec![0; profiles.len()];
        for (rank, &slot) in (0_u32..).zip(index.values()) {
            if let Some(entry) = expert_ranks.get_mut(slot) {
                *entry = rank;
            }
        }
        Ok(Self {
            expert_ranks,
            vocabularies: profiles.iter().map(Vocabulary::new).collect(),
            profiles: profiles.to_vec(),
            index,
            policy,
            strategies: [
                Box::new(WeightedSelection),
                Box::new(PriorityOrder),
                Box::new(ProportionalAllocation),
                Box::new(HumanReview),
            ],
        })
    }

    /// Replaces the strategy used for conflicts of `kind`.
    #[must_use]
    pub fn with_strategy(mut self, kind: ConflictKind, strategy: Box<dyn Strategy>) -> Self {
        if let Some(entry) = self.strategies.get_mut(slot(kind)) {
            *entry = strategy;
        }
        self
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The authority of `expert` in `domain` (see [`AuthorityTable`](crate::AuthorityTable)),
    /// or `None` for an unknown expert.
    pub fn authority(&self, expert: &str, domain: &str) -> Option<f64> {
        let &i = self.index.get(expert)?;
        let term = Term::new(domain);
        Some(
            self.vocabularies
                .get(i)?
                .authority(&self.policy.authority, expert, domain, &term),
        )
    }

    /// Detects and resolves every conflict among `recommendations`.
    ///
    /// `capacities` limits resources by name; empty means nothing is scarce.
    /// Fails, naming the recommendation's index, on a recommendation from an
    /// expert not among the profiles or one that fails
    /// [`ExpertRecommendation::validate`]; fails on a negative or non-finite
    /// capacity.
    pub fn resolve(
        &self,
        recommendations: &[ExpertRecommendation],
        capacities: &BTreeMap<String, f64>,
    ) -> Result<Report, ConflictError> {
        for (resource, &capacity) in capacities {
            if !capacity.is_finite() || capacity < 0.0 {
                return Err(ConflictError::InvalidCapacity {
                    resource: resource.clone(),
                    capacity,
                });
            }
        }
        let prepared = self.prepare(recommendations)?;
        let detection = detect(&prepared, capacities);
        let ctx = StrategyContext::new(&self.policy);
        let resolutions = detection
            .conflicts
            .iter()
            .map(
                |conflict| match self.strategies.get(slot(conflict.kind())) {
                    Some(strategy) => strategy.resolve(conflict, &ctx),
                    None => HumanReview.resolve(conflict, &ctx),
                },
            )
            .collect::<Result<Vec<_>, _>>()?;
        let unified = unify(&detection, &resolutions);

        let agreed = detection.subjects.iter().filter(|g| g.agreed()).count();
        let automatic = resolutions.iter().filter(|r| !r.escalated).count();
        Ok(Report {
            agreement_rate: rate(agreed, detection.subjects.len()),
            automatic_resolution_rate: rate(automatic, resolutions.len()),
            conflicts: resolutions,
            unified,
        })
    }

    pub(crate) fn prepare<'a>(
        &'a self,
        recommendations: &'a [ExpertRecommendation],
    ) -> Result<Vec<Prepared<'a>>, ConflictError> {
        // Authority per domain and expert slot, worked out once per pair.
        let mut authorities: HashMap<&str, (Term, Vec<Option<f64>>)> = HashMap::new();
        let mut prepared = Vec::with_capacity(recommendations.len());
        for (index, rec) in recommendations.iter().enumerate() {
            rec.validate()
                .map_err(|source| ConflictError::InvalidRecommendation {
                    index,
                    source: source.within(&format!("recommendations[{index}]")),
                })?;
            let unknown = || ConflictError::UnknownExpert {
                index,
                expert: rec.expert.clone(),
            };
            let &slot = self.index.get(rec.expert.as_str()).ok_or_else(unknown)?;
            let (profile, vocabulary) = self
                .profiles
                .get(slot)
                .zip(self.vocabularies.get(slot))
                .ok_or_else(unknown)?;
            let domain = rec.domain.as_deref().unwrap_or(&rec.subject);
            let (term, known) = authorities
                .entry(domain)
                .or_insert_with(|| (Term::new(domain), vec![None; self.profiles.len()]));
            let authority = match known.get_mut(slot) {
                Some(Some(value)) => *value,
                Some(entry) => *entry.insert(vocabulary.authority(
                    &self.policy.authority,
                    &rec.expert,
                    domain,
                    term,
                )),
                None => vocabulary.authority(&self.policy.authority, &rec.expert, domain, term),
            };
            prepared.push(Prepared {
                subject_rank: 0,
                expert_rank: self.expert_ranks.get(slot).copied().unwrap_or_default(),
                rec,
                profile,
                key: canonical_position(&rec.position),
                authority,
            });
        }
        rank_subjects(&mut prepared);
        // Unstable is fine: the order is total on content, so equal elements
        // are interchangeable.
        prepared.sort_unstable_by(content_order);
        Ok(prepared)
    }
}

/// Fills in each recommendation's subject rank: distinct subjects are found
/// by hashing (one look-up per recommendation), so only they need a string
/// sort.
fn rank_subjects(prepared: &mut [Prepared<'_>]) {
    // First a provisional id in order of first appearance...
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let mut distinct: Vec<&str> = Vec::new();
    for p in prepared.iter_mut() {
        let subject = p.rec.subject.as_str();
        let next = u32::try_from(distinct.len()).unwrap_or(u32::MAX);
        p.subject_rank = *ids.entry(subject).or_insert_with(|| {
            distinct.push(subject);
            next
        });
    }
    // ...then provisional id -> rank in string order.
    let mut order: Vec<usize> = (0..distinct.len()).collect();
    order.sort_unstable_by_key(|&i| distinct.get(i).copied().unwrap_or_default());
    let mut ranks = vec![0_u32; distinct.len()];
    for (rank, &id) in (0_u32..).zip(&order) {
        if let Some(slot) = ranks.get_mut(id) {
            *slot = rank;
        }
    }
    for p in prepared {
        p.subject_rank = ranks
            .get(p.subject_rank as usize)
            .copied()
            .unwrap_or_default();
    }
}

/// `part / whole`, or 1.0 when there is nothing to count.
#[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
fn rate(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}
