//! Tunable settings: signal weights, thresholds, penalties.

use consort_protocol::ExpertId;
use serde::{Deserialize, Serialize};

use crate::RouterError;

/// `with_*` setters, one per field, each documented by a link to its field.
macro_rules! setters {
    ($($field:ident: $ty:ty => $setter:ident),+ $(,)?) => {
        $(
            #[doc = concat!("Sets [`", stringify!($field), "`](Self::", stringify!($field), ").")]
            #[must_use]
            pub fn $setter(mut self, value: $ty) -> Self {
                self.$field = value;
                self
            }
        )+
    };
}

/// Weights of the four built-in signals. The defaults are the spec's
/// (domain 0.4, capability 0.3, complexity 0.2, context 0.1).
///
/// Weights (with those of extra signals) must be finite and `>= 0` with a
/// positive sum; they are divided by their sum, so only ratios matter.
///
/// ```
/// use consort_router::Weights;
///
/// let weights = Weights::default().with_context(0.3);
/// assert_eq!(weights.context, 0.3);
/// assert_eq!(weights.domain, 0.4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Weights {
    /// Request terms matching the expert's domains, keywords, description.
    pub domain: f64,
    /// Request terms matching the expert's capabilities, data, description.
    pub capability: f64,
    /// Fit between the request's complexity and the expert's range.
    pub complexity: f64,
    /// Conversation context: previous expert, collaborators, shared data.
    pub context: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            domain: 0.4,
            capability: 0.3,
            complexity: 0.2,
            context: 0.1,
        }
    }
}

impl Weights {
    setters! {
        domain: f64 => with_domain,
        capability: f64 => with_capability,
        complexity: f64 => with_complexity,
        context: f64 => with_context,
    }

    pub(crate) fn named(&self) -> [(&'static str, f64); 4] {
        [
            ("domain", self.domain),
            ("capability", self.capability),
            ("complexity", self.complexity),
            ("context", self.context),
        ]
    }
}

/// Checks one weight: finite and `>= 0`.
pub(crate) fn check_weight(signal: &str, value: f64) -> Result<f64, RouterError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(RouterError::InvalidWeight {
            signal: signal.to_owned(),
            value,
        })
    }
}

/// Router settings. Every field has a documented default; change the ones
/// you need with the `with_*` setters. Unknown fields in JSON are errors.
///
/// ```
/// use consort_router::{RouterConfig, Weights};
///
/// let config = RouterConfig::default()
///     .with_top_k(3)
///     .with_fallback_expert("personal_assistant")
///     .with_weights(Weights::default().with_context(0.2));
/// assert_eq!(config.top_k, 3);
/// assert_eq!(config.min_score, 0.2);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RouterConfig {
    /// Signal weights.
    pub weights: Weights,
    /// Lowest final score that routes (default 0.2); below it the decision
    /// is `NoMatch`.
    pub min_score: f64,
    /// How many ranked candidates a decision lists (default 5, at least 1).
    pub top_k: usize,
    /// Expert to hand a request to when nothing clears `min_score` (default
    /// none). Ignored while that expert is offline.
    pub fallback_expert: Option<ExpertId>,
    /// Availability factor of a busy expert (default 0.7), in `0..=1`.
    pub busy_factor: f64,
    /// Largest load penalty (default 0.3), in `0..=1`: the availability
    /// factor is multiplied by `1 - load_penalty * min(1, load / max_concurrent)`.
    pub load_penalty: f64,
    /// Scores equal after rounding to a multiple of this (default 0.01) are
    /// near-ties, broken by SLA then priority level. Must be `> 0`.
    pub tie_epsilon: f64,
    /// Complexity fit of an expert without a `complexity_range` (default
    /// 0.5): no evidence of fit either way.
    pub unknown_complexity_fit: f64,
    /// Lexical relevance (the larger of the domain and capability scores) an
    /// expert needs to count as a strong match (default 0.35): strong matches
    /// are the collaboration candidates and the "domains hit" of the
    /// complexity assessment; a request with none can be a follow-up.
    pub strong_relevance: f64,
    /// A collaborator's relevance must be at least this share of the best
    /// candidate's (default 0.5).
    pub collaboration_ratio: f64,
    /// Share of a collaborator's matched term weight that no expert already
    /// chosen matched (default 0.5): collaborators bring different terms.
    pub collaboration_novelty: f64,
    /// Most collaborators besides the primary (default 3).
    pub max_collaborators: usize,
    /// Longest request, in words, that can be a follow-up kept with the
    /// previous expert (default 6).
    pub follow_up_max_words: usize,
    /// Whether the built-in related-terms table expands requests (default
    /// true).
    pub related_terms: bool,
    /// A two-word profile phrase (`cash flow`) found in a request counts this
    /// share of its field's weight on top of its two words' own matches
    /// (default 1.0, at least 0): adjacent words mean more together.
    pub phrase_weight: f64,
    /// Whether request words common in everyday English ("people", "look",
    /// "year") count less, by the general word-frequency prior (default
    /// true; see the crate docs).
    pub word_frequency_prior: bool,
    /// An expert whose only lexical evidence is weak associations (related
    /// terms reached from words the word-frequency prior marks as common,
    /// such as "look" → design) needs at least this many of them to lead or
    /// join a decision (default 1: off). At 2, a single weak association
    /// cannot decide a request on its own; on the evaluation set that cost
    /// 0.6-1.8 points of top-1 (docs/routing.md), so it is opt-in.
    pub min_related_matches: usize,
    /// Whether a request nothing matches goes to the registry's coordinator
    /// (an expert with `priority_level: coordinator`, not offline) when no
    /// `fallback_expert` is set (default true). Off, such a request is
    /// `NoMatch` with no primary.
    pub coordinator_fallback: bool,
    /// With a semantic model attached (feature `semantic`), an expert's
    /// rescaled similarity adds this much to its domain evidence (default
    /// 1.0, at least 0): at 1, a perfect match counts like one distinctive
    /// expertise domain.
    pub semantic_weight: f64,
    /// Cosine similarities at or below this count as no semantic evidence;
    /// above it they are rescaled to `0..=1` (default 0.2, in `0..1`).
    pub semantic_floor: f64,
}

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            weights: Weights::default(),
            min_score: 0.2,
            top_k: 5,
            fallback_expert: None,
            busy_factor: 0.7,
            load_penalty: 0.3,
            tie_epsilon: 0.01,
            unknown_complexity_fit: 0.5,
            strong_relevance: 0.35,
            collaboration_ratio: 0.5,
            collaboration_novelty: 0.5,
            max_collaborators: 3,
            follow_up_max_words: 6,
            related_terms: true,
            phrase_weight: 1.0,
            word_frequency_prior: true,
            min_related_matches: 1,
            coordinator_fallback: true,
            semantic_weight: 1.0,
            semantic_floor: 0.2,
        }
    }
}

impl RouterConfig {
    setters! {
        weights: Weights => with_weights,
        min_score: f64 => with_min_score,
        top_k: usize => with_top_k,
        busy_factor: f64 => with_busy_factor,
        load_penalty: f64 => with_load_penalty,
        tie_epsilon: f64 => with_tie_epsilon,
        unknown_complexity_fit: f64 => with_unknown_complexity_fit,
        strong_relevance: f64 => with_strong_relevance,
        collaboration_ratio: f64 => with_collaboration_ratio,
        collaboration_novelty: f64 => with_collaboration_novelty,
        max_collaborators: usize => with_max_collaborators,
        follow_up_max_words: usize => with_follow_up_max_words,
        related_terms: bool => with_related_terms,
        phrase_weight: f64 => with_phrase_weight,
        word_frequency_prior: bool => with_word_frequency_prior,
        min_related_matches: usize => with_min_related_matches,
        coordinator_fallback: bool => with_coordinator_fallback,
        semantic_weight: f64 => with_semantic_weight,
        semantic_floor: f64 => with_semantic_floor,
    }

    /// Sets [`fallback_expert`](Self::fallback_expert).
    #[must_use]
    pub fn with_fallback_expert(mut self, expert: impl Into<ExpertId>) -> Self {
        self.fallback_expert = Some(expert.into());
        self
    }

    /// Checks every numeric setting; weights are checked with the extra
    /// signals when the router is built.
    pub(crate) fn validate(&self) -> Result<(), RouterError> {
        let unit = "must be a finite number in 0..=1";
        for (field, value) in [
            ("min_score", self.min_score),
            ("busy_factor", self.busy_factor),
            ("load_penalty", self.load_penalty),
            ("unknown_complexity_fit", self.unknown_complexity_fit),
            ("strong_relevance", self.strong_relevance),
            ("collaboration_ratio", self.collaboration_ratio),
            ("collaboration_novelty", self.collaboration_novelty),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(RouterError::InvalidConfig {
                    field,
                    value,
                    reason: unit,
                });
            }
        }
        for (field, value) in [
            ("phrase_weight", self.phrase_weight),
            ("semantic_weight", self.semantic_weight),
        ] {
            if !(value >= 0.0 && value.is_finite()) {
                return Err(RouterError::InvalidConfig {
                    field,
                    value,
                    reason: "must be a finite number >= 0",
                });
            }
        }
        if !(0.0..1.0).contains(&self.semantic_floor) {
            return Err(RouterError::InvalidConfig {
                field: "semantic_floor",
                value: self.semantic_floor,
                reason: "must be a finite number in 0..1",
            });
        }
        if !(self.tie_epsilon > 0.0 && self.tie_epsilon <= 1.0) {
            return Err(RouterError::InvalidConfig {
                field: "tie_epsilon",
                value: self.tie_epsilon,
                reason: "must be a finite number in (0, 1]",
            });
        }
        if self.top_k == 0 {
            return Err(RouterError::InvalidConfig {
                field: "top_k",
                value: 0.0,
                reason: "must be at least 1",
            });
        }
        Ok(())
    }
}
