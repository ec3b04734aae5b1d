//! The router: its construction and the pipeline of one routing call.
//! Each stage lives in its own module: gathering evidence, lexical
//! relevance, availability, context, ranking, selection, fallback and the
//! explanation of the decision.

mod availability;
mod context;
mod context_check;
mod explain;
mod fallback;
mod gather;
mod learning;
mod matches;
mod ranking;
mod relevance;
mod selection;
#[cfg(feature = "semantic")]
mod semantic;
mod weights;

use std::fmt;

use consort_protocol::ExpertProfile;

use crate::complexity;
use crate::config::check_weight;
use crate::decision::{RouteDecision, RouteOutcome};
use crate::index::{Index, IndexOptions};
use crate::learned::Learned;
use crate::query::{Query, Sources};
use crate::scratch::Pool;
use crate::{RouteRequest, RouterConfig, RouterError, Signal};

pub(crate) use ranking::RankKey;

use matches::{Scored, matches};
use weights::NormalizedWeights;

/// Routes requests to experts. Built once from the profiles; see the crate
/// docs for every rule it applies.
///
/// `Router` is `Send + Sync`: share one behind an `Arc` and call
/// [`route`](Self::route) from any number of threads.
pub struct Router {
    config: RouterConfig,
    index: Index,
    /// Each expert's availability factor from its profile alone (`None`
    /// when offline), by expert number: what routing uses unless the request
    /// overrides status or load, which is the usual case.
    resting: Vec<Option<f64>>,
    signals: Vec<ExtraSignal>,
    /// What corrections taught, kept across `update_profiles`.
    learned: Learned,
    #[cfg(feature = "semantic")]
    semantic: Option<crate::semantic::SemanticIndex>,
    weights: NormalizedWeights,
    pool: Pool,
    /// Whether routing skips the experts whose score bounds rule them out;
    /// turned off only by tests, to check that against scoring every expert.
    pruning: bool,
}

struct ExtraSignal {
    signal: Box<dyn Signal>,
    weight: f64,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("experts", &self.index.experts.len())
            .field("terms", &self.index.term_text.len())
            .field(
                "signals",
                &self
                    .signals
                    .iter()
                    .map(|s| s.signal.name())
                    .collect::<Vec<_>>(),
            )
            .field("config", &self.config)
            .finish()
    }
}

impl Router {
    /// Builds the index over `profiles` (any order: experts are ordered by
    /// id internally).
    ///
    /// Fails on an invalid or duplicate profile, an invalid setting or
    /// weight, or a `fallback_expert` that is not in `profiles`.
    pub fn new(profiles: &[ExpertProfile], config: RouterConfig) -> Result<Self, RouterError> {
        config.validate()?;
        let index = Index::build(profiles, IndexOptions::of(&config))?;
        let mut router = Self {
            config,
            index,
            resting: Vec::new(),
            signals: Vec::new(),
            learned: Learned::default(),
            #[cfg(feature = "semantic")]
            semantic: None,
            weights: NormalizedWeights::default(),
            pool: Pool::default(),
            pruning: true,
        };
        router.check_fallback()?;
        router.weights = router.normalized_weights()?;
        router.resting = router.resting_availability();
        Ok(router)
    }

    /// Adds an extra signal with `weight` (finite, `>= 0`); weights are
    /// normalised again with it.
    ///
    /// ```
    /// use consort_protocol::{load_registry, seeds, ExpertProfile};
    /// use consort_router::{RouteRequest, Router, RouterConfig, Signal};
    ///
    /// /// Prefers experts whose endpoint the request mentions.
    /// struct Mentions;
    ///
    /// impl Signal for Mentions {
    ///     fn name(&self) -> &str {
    ///         "mentions"
    ///     }
    ///     fn score(&self, request: &RouteRequest, expert: &ExpertProfile) -> f64 {
    ///         let endpoint = expert.mcp_endpoint.rsplit('/').next().unwrap_or("");
    ///         f64::from(u8::from(request.text.contains(endpoint)))
    ///     }
    /// }
    ///
    /// let experts = load_registry(seeds::EXPERT_REGISTRY)?;
    /// let router = Router::new(&experts, RouterConfig::default())?.with_signal(Mentions, 0.3)?;
    /// let decision = router.route(&RouteRequest::new("ask legal about the logo files"));
    /// let top = &decision.candidates[0];
    /// assert_eq!(top.expert, "legal_consultant");
    /// assert_eq!(top.breakdown.extra["mentions"], 1.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_signal(
        mut self,
        signal: impl Signal + 'static,
        weight: f64,
    ) -> Result<Self, RouterError> {
        let name = signal.name().to_owned();
        check_weight(&name, weight)?;
        if self.signals.iter().any(|s| s.signal.name() == name) {
            return Err(RouterError::DuplicateSignal { name });
        }
        self.signals.push(ExtraSignal {
            signal: Box::new(signal),
            weight,
        });
        self.weights = self.normalized_weights()?;
        Ok(self)
    }

    /// Rebuilds the index for a new set of profiles, keeping the settings,
    /// extra signals and learned corrections (those of experts no longer in
    /// the registry are dropped). Costs the same as [`Router::new`]: a full pass over
    /// every profile. On error the router is left unchanged.
    pub fn update_profiles(&mut self, profiles: &[ExpertProfile]) -> Result<(), RouterError> {
        let index = Index::build(profiles, IndexOptions::of(&self.config))?;
        let previous = std::mem::replace(&mut self.index, index);
        if let Err(err) = self.check_fallback() {
            self.index = previous;
            return Err(err);
        }
        let (old, new) = (&previous.experts, &self.index.ids);
        self.learned.renumber(|number| {
            let id = &old.get(number as usize)?.profile.id;
            new.get(id).copied()
        });
        #[cfg(feature = "semantic")]
        if let Some(semantic) = &self.semantic {
            self.semantic = Some(semantic.rebuild(self.profiles()));
        }
        self.resting = self.resting_availability();
        self.pool.clear();
        Ok(())
    }

    /// The settings in force.
    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    /// The indexed profiles, ordered by id.
    pub fn profiles(&self) -> impl ExactSizeIterator<Item = &ExpertProfile> {
        self.index.experts.iter().map(|e| &*e.profile)
    }

    /// Routes one request. Never fails: a request nothing matches gives
    /// `RouteOutcome::Fallback` (to the fallback expert or the registry's
    /// coordinator) or `RouteOutcome::NoMatch`.
    pub fn route(&self, request: &RouteRequest) -> RouteDecision {
        let index = &self.index;
        let mut scratch = self.pool.take(index.experts.len());
        let buffers = (
            std::mem::take(&mut scratch.query_terms),
            std::mem::take(&mut scratch.learned_terms),
        );
        let sources = Sources {
            index,
            learned: &self.learned,
            prior: self.config.word_frequency_prior,
        };
        let query = Query::parse(sources, &request.text, &mut scratch.memo, buffers);
        self.gather(&query, request, &mut scratch);

        let previous = request
            .context
            .previous_expert
            .as_ref()
            .and_then(|id| index.ids.get(id).copied());
        let best_relevance = self.lexical_pass(&request.context, &mut scratch);
        let (domains, mut strong_matches) =
            self.distinct_domains(&query, &scratch.strong, &mut scratch.covered);
        let follow_up = previous
            .is_some_and(|p| scratch.get(p).is_some_and(|a| a.availability.is_some()))
            && query.words <= self.config.follow_up_max_words
            && best_relevance < self.config.strong_relevance;
        let level = complexity::assess(query.words, query.constraints, domains);
        self.rank(request, level, follow_up, &mut scratch);

        // Sized up front: growing a vector of these (large) entries costs
        // more than the rest of building it.
        let mut candidates: Vec<Scored<'_>> = Vec::with_capacity(scratch.top.len());
        candidates.extend(scratch.top.iter().filter_map(|&(_, slot)| {
            let acc = scratch.accs.get(slot)?.clone();
            let expert = index.expert(acc.expert)?;
            // Strong matches are usually the top candidates: reuse what
            // the complexity assessment already worked out.
            let matches = strong_matches
                .iter_mut()
                .find(|(number, _)| *number == acc.expert)
                .map_or_else(
                    || matches(index, &self.learned, (expert, acc.expert), &query),
                    |(_, found)| std::mem::take(found),
                );
            Some(Scored {
                acc,
                slot,
                expert,
                matches,
            })
        }));

        let mut decision = RouteDecision {
            outcome: RouteOutcome::NoMatch,
            primary: None,
            collaborators: Vec::new(),
            requires_collaboration: false,
            follow_up,
            fallback: None,
            complexity: level,
            candidates: Vec::new(),
        };
        // The first candidate that can lead: weak links alone cannot.
        let lead = candidates
            .iter()
            .position(|c| !self.weak_only(&c.acc))
            .and_then(|at| candidates.get(at..))
            .filter(|ranked| {
                ranked
                    .first()
                    .is_some_and(|c| c.acc.score >= self.config.min_score)
            });
        if follow_up {
            decision.outcome = RouteOutcome::Routed;
            decision.primary = previous
                .and_then(|p| index.expert(p))
                .map(|e| e.profile.id.clone());
        } else if let Some(ranked) = lead {
            decision.outcome = RouteOutcome::Routed;
            self.select(
                ranked,
                best_relevance,
                query.coordination,
                &mut scratch.covered,
                &mut decision,
            );
        } else if let Some((expert, reason)) = self.fallback(&request.context, &candidates) {
            decision.outcome = RouteOutcome::Fallback;
            decision.primary = Some(expert);
            decision.fallback = Some(reason);
        }
        decision.candidates = candidates
            .iter()
            .take(self.config.top_k)
            .map(|c| self.candidate(c, &scratch, &request.text))
            .collect();
        scratch.query_terms = query.terms;
        scratch.learned_terms = query.learned;
        self.pool.give_back(scratch);
        decision
    }
}

#[cfg(test)]
mod learning_tests;
#[cfg(test)]
mod pruning_tests;
#[cfg(test)]
mod status_tests;
#[cfg(test)]
mod test_strategies;
