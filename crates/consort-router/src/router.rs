//! The router: scoring, availability, ranking and selection.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use consort_protocol::{Availability, ExpertId, ExpertProfile, PriorityLevel};

use crate::complexity;
use crate::config::check_weight;
use crate::decision::{Breakdown, Candidate, RouteDecision, RouteOutcome};
use crate::index::{Index, IndexedExpert, Posting, TermId};
use crate::query::{Query, QueryTerm};
use crate::request::{RouteContext, normalize_data_key};
use crate::scratch::{Acc, Pool, Scratch};
use crate::signal::clamp_unit;
use crate::{RouteRequest, RouterConfig, RouterError, Signal};

/// How many strong matches the complexity assessment inspects for distinct
/// domains.
const DOMAIN_PROBE: usize = 8;
/// Context relevance of the previous expert (1 on a follow-up).
const CONTEXT_PREVIOUS: f64 = 0.5;
/// Context relevance of an expert already in the collaboration.
const CONTEXT_COLLABORATOR: f64 = 0.3;
/// Context relevance when every shared data key is one the expert shares.
const CONTEXT_SHARED_DATA: f64 = 0.5;

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

#[derive(Debug, Default)]
struct NormalizedWeights {
    builtin: [f64; 4],
    extra: Vec<f64>,
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
        let index = Index::build(profiles, config.related_terms)?;
        let mut router = Self {
            config,
            index,
            resting: Vec::new(),
            signals: Vec::new(),
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

    /// Rebuilds the index for a new set of profiles, keeping the settings
    /// and extra signals. Costs the same as [`Router::new`]: a full pass over
    /// every profile. On error the router is left unchanged.
    pub fn update_profiles(&mut self, profiles: &[ExpertProfile]) -> Result<(), RouterError> {
        let index = Index::build(profiles, self.config.related_terms)?;
        let previous = std::mem::replace(&mut self.index, index);
        if let Err(err) = self.check_fallback() {
            self.index = previous;
            return Err(err);
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

    fn resting_availability(&self) -> Vec<Option<f64>> {
        self.index
            .experts
            .iter()
            .map(|e| self.availability_factor(e.status, e.load, e.max_concurrent))
            .collect()
    }

    fn check_fallback(&self) -> Result<(), RouterError> {
        match &self.config.fallback_expert {
            Some(id) if !self.index.ids.contains_key(id) => {
                Err(RouterError::UnknownFallback { expert: id.clone() })
            }
            _ => Ok(()),
        }
    }

    fn normalized_weights(&self) -> Result<NormalizedWeights, RouterError> {
        let mut builtin = [0.0; 4];
        for (slot, (name, value)) in builtin.iter_mut().zip(self.config.weights.named()) {
            *slot = check_weight(name, value)?;
        }
        let mut extra = Vec::with_capacity(self.signals.len());
        for s in &self.signals {
            extra.push(check_weight(s.signal.name(), s.weight)?);
        }
        let total: f64 = builtin.iter().chain(&extra).sum();
        if !(total > 0.0 && total.is_finite()) {
            return Err(RouterError::ZeroWeights);
        }
        builtin
            .iter_mut()
            .chain(&mut extra)
            .for_each(|w| *w /= total);
        Ok(NormalizedWeights { builtin, extra })
    }

    /// Routes one request. Never fails: a request nothing matches gives
    /// `RouteOutcome::NoMatch`.
    pub fn route(&self, request: &RouteRequest) -> RouteDecision {
        let index = &self.index;
        let mut scratch = self.pool.take(index.experts.len());
        let terms = std::mem::take(&mut scratch.query_terms);
        let query = Query::parse(index, &request.text, &mut scratch.memo, terms);
        self.gather(&query, &request.context, &mut scratch);

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
                    || matches(index, expert, &query),
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
            complexity: level,
            candidates: Vec::new(),
        };
        let best_score = candidates.first().map_or(0.0, |c| c.acc.score);
        if follow_up {
            decision.outcome = RouteOutcome::Routed;
            decision.primary = previous
                .and_then(|p| index.expert(p))
                .map(|e| e.profile.id.clone());
        } else if best_score >= self.config.min_score && !candidates.is_empty() {
            decision.outcome = RouteOutcome::Routed;
            self.select(
                &candidates,
                best_relevance,
                query.coordination,
                &mut scratch.covered,
                &mut decision,
            );
        } else {
            decision.primary = self.fallback(&request.context);
        }
        decision.candidates = candidates
            .iter()
            .take(self.config.top_k)
            .map(|c| self.candidate(c, &scratch, &request.text))
            .collect();
        scratch.query_terms = query.terms;
        self.pool.give_back(scratch);
        decision
    }

    /// Touches every expert with evidence: a shared term, a context link, or
    /// (with extra signals) all of them.
    fn gather(&self, query: &Query, context: &RouteContext, scratch: &mut Scratch) {
        let index = &self.index;
        // Collected because the merge below walks them once per touched
        // expert; empty (no allocation) whenever no term is common, which is
        // always the case in registries of 64 experts or fewer.
        let common: Vec<&QueryTerm> = query.terms.iter().filter(|t| t.common).collect();
        let scan = |scratch: &mut Scratch, terms: &mut dyn Iterator<Item = &QueryTerm>| {
            for term in terms {
                for posting in index.postings(term.term) {
                    if let Some(acc) = scratch.touch(posting.expert) {
                        add(acc, term, posting);
                    }
                }
            }
        };
        scan(scratch, &mut query.terms.iter().filter(|t| !t.common));
        // Common terms find candidates only when no other term did;
        // otherwise they are added below to the experts already found.
        let complete_common = !scratch.accs.is_empty();
        if !complete_common {
            scan(scratch, &mut common.iter().copied());
        }
        let number = |id: &str| index.ids.get(id).copied();
        if let Some(acc) = context
            .previous_expert
            .as_deref()
            .and_then(number)
            .and_then(|n| scratch.touch(n))
        {
            acc.previous = true;
        }
        for id in &context.collaborators {
            if let Some(acc) = number(id).and_then(|n| scratch.touch(n)) {
                acc.collaborator = true;
            }
        }
        for key in &context.shared_data {
            for &holder in index
                .data_keys
                .get(&normalize_data_key(key))
                .map_or(&[][..], Vec::as_slice)
            {
                if let Some(acc) = scratch.touch(holder) {
                    acc.data_hits += 1;
                }
            }
        }
        if !self.signals.is_empty() {
            for n in 0..index.experts.len() {
                scratch.touch(u32::try_from(n).unwrap_or(u32::MAX));
            }
        }
        if complete_common && !common.is_empty() {
            for acc in &mut scratch.accs {
                let Some(expert) = index.expert(acc.expert) else {
                    continue;
                };
                // Both lists are sorted by term: one merge pass, which reads
                // the expert's terms sequentially (prefetch-friendly).
                let mut own: &[(TermId, Posting)] = &expert.terms;
                for term in &common {
                    while let [(t, _), rest @ ..] = own
                        && *t < term.term
                    {
                        own = rest;
                    }
                    if let [(t, posting), rest @ ..] = own
                        && *t == term.term
                    {
                        add(acc, term, posting);
                        own = rest;
                    }
                }
            }
        }
    }

    /// Applies availability and saturates the lexical totals where that can
    /// matter; returns the best relevance among eligible experts, and leaves
    /// the strongest [`DOMAIN_PROBE`] strong matches, best first, in
    /// `scratch.strong`.
    fn lexical_pass(&self, context: &RouteContext, scratch: &mut Scratch) -> f64 {
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
    fn distinct_domains<'a>(
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
            let found = matches(&self.index, expert, query);
            if self.is_novel(&found, covered) {
                domains += 1;
                covered.extend(found.iter().map(|m| m.span.clone()));
            }
            all.push((number, found));
        }
        (domains, all)
    }

    /// Whether at least `collaboration_novelty` of the matched weight comes
    /// from request words outside `covered`.
    fn is_novel(&self, found: &[Match<'_>], covered: &[Range<usize>]) -> bool {
        let total: f64 = found.iter().map(|m| m.strength).sum();
        let novel: f64 = found
            .iter()
            .filter(|m| !covered.iter().any(|c| overlaps(c, &m.span)))
            .map(|m| m.strength)
            .sum();
        total > 0.0 && novel >= self.config.collaboration_novelty * total
    }

    /// The availability factor of expert `number`, or `None` when it is
    /// offline.
    #[inline]
    fn availability(&self, number: u32, context: &RouteContext) -> Option<f64> {
        if context.availability.is_empty() && context.load.is_empty() {
            self.resting.get(number as usize).copied().flatten()
        } else {
            self.overridden_availability(number, context)
        }
    }

    /// [`Self::availability`] when the request overrides some status or
    /// load.
    fn overridden_availability(&self, number: u32, context: &RouteContext) -> Option<f64> {
        let expert = self.index.expert(number)?;
        let status = if context.availability.is_empty() {
            expert.status
        } else {
            context
                .availability
                .get(&expert.profile.id)
                .copied()
                .unwrap_or(expert.status)
        };
        let load = if context.load.is_empty() {
            expert.load
        } else {
            context
                .load
                .get(&expert.profile.id)
                .copied()
                .unwrap_or(expert.load)
        };
        self.availability_factor(status, load, expert.max_concurrent)
    }

    fn availability_factor(
        &self,
        status: Availability,
        load: u32,
        max_concurrent: Option<u32>,
    ) -> Option<f64> {
        let base = match status {
            Availability::Available => 1.0,
            Availability::Busy => self.config.busy_factor,
            Availability::Offline => return None,
        };
        let load_factor = match max_concurrent {
            Some(max) if max > 0 => {
                1.0 - self.config.load_penalty * (f64::from(load) / f64::from(max)).min(1.0)
            }
            _ => 1.0,
        };
        Some(base * load_factor)
    }

    /// Final scores of eligible experts that can rank, and the best
    /// `max(top_k, max_collaborators + 1)` of them, best first, in
    /// `scratch.top`.
    ///
    /// Once that many are kept, an expert whose score bound rounds below the
    /// worst kept one's tie bucket cannot displace it, so it is skipped
    /// unscored: the kept list, and so the decision, is the same as when
    /// every expert is scored. Extra signals are unbounded until called, so
    /// with them every expert is scored.
    fn rank(
        &self,
        request: &RouteRequest,
        level: consort_protocol::ComplexityLevel,
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

    /// The weighted sum of the built-in signals: of their bounds until the
    /// expert is saturated. One expression for both, so a bound's sum is
    /// never below the signals' sum.
    fn weighted(&self, acc: &Acc) -> f64 {
        let [w_domain, w_capability, w_complexity, w_context] = self.weights.builtin;
        w_domain * acc.domain
            + w_capability * acc.capability
            + w_complexity * acc.complexity
            + w_context * acc.context
    }

    /// Chooses primary and collaborators among ranked candidates whose best
    /// score cleared `min_score`.
    fn select(
        &self,
        ranked: &[Scored<'_>],
        best_relevance: f64,
        coordination: bool,
        covered: &mut Vec<Range<usize>>,
        decision: &mut RouteDecision,
    ) {
        let cfg = &self.config;
        let strong = |c: &Scored<'_>| {
            c.acc.score >= cfg.min_score
                && c.acc.relevance >= cfg.strong_relevance
                && c.acc.relevance >= cfg.collaboration_ratio * best_relevance
        };
        let mut chosen: Vec<&Scored<'_>> = Vec::with_capacity(ranked.len());
        covered.clear();
        if let Some(first) = ranked.first() {
            chosen.push(first);
            covered.extend(first.matches.iter().map(|m| m.span.clone()));
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
                    covered.extend(candidate.matches.iter().map(|m| m.span.clone()));
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

    /// The configured fallback expert, unless it is offline.
    fn fallback(&self, context: &RouteContext) -> Option<ExpertId> {
        let id = self.config.fallback_expert.as_ref()?;
        let number = *self.index.ids.get(id)?;
        let expert = self.index.expert(number)?;
        self.availability(number, context)
            .map(|_| expert.profile.id.clone())
    }

    fn candidate(&self, scored: &Scored<'_>, scratch: &Scratch, text: &str) -> Candidate {
        let acc = &scored.acc;
        let extra: BTreeMap<String, f64> = self
            .signals
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let value = scratch.extra.get(acc.extra_at + k).copied().unwrap_or(0.0);
                (s.signal.name().to_owned(), value)
            })
            .collect();
        let mut matched_terms: Vec<String> = Vec::with_capacity(scored.matches.len());
        for m in &scored.matches {
            let word = text.get(m.span.clone()).unwrap_or("");
            let related = m.related_to.map_or(0, |term| '→'.len_utf8() + term.len());
            let mut shown = String::with_capacity(word.len() + related);
            if word.is_ascii() {
                shown.push_str(word);
                shown.make_ascii_lowercase();
            } else {
                shown.push_str(&word.to_lowercase());
            }
            if let Some(term) = m.related_to {
                shown.push('→');
                shown.push_str(term);
            }
            if !matched_terms.contains(&shown) {
                matched_terms.push(shown);
            }
        }
        Candidate {
            expert: scored.expert.profile.id.clone(),
            score: acc.score,
            breakdown: Breakdown {
                domain: acc.domain,
                capability: acc.capability,
                complexity: acc.complexity,
                context: acc.context,
                availability: acc.availability.unwrap_or(0.0),
                extra,
            },
            matched_terms,
        }
    }
}

/// A ranked candidate with the request terms it matched.
struct Scored<'a> {
    acc: Acc,
    slot: usize,
    expert: &'a IndexedExpert,
    matches: Vec<Match<'a>>,
}

struct Match<'a> {
    span: Range<usize>,
    strength: f64,
    related_to: Option<&'a str>,
}

/// The request terms `expert` has, in request order.
fn matches<'a>(index: &'a Index, expert: &IndexedExpert, query: &Query) -> Vec<Match<'a>> {
    let mut found: Vec<Match<'a>> = Vec::with_capacity(query.terms.len());
    found.extend(query.terms.iter().filter_map(|t| {
        let at = expert
            .terms
            .binary_search_by_key(&t.term, |&(term, _)| term)
            .ok()?;
        let (_, posting) = expert.terms.get(at)?;
        Some(Match {
            span: t.span.clone(),
            strength: t.weight * f64::from(posting.domain.max(posting.capability)),
            related_to: t
                .related
                .then(|| index.term_text.get(t.term as usize).map(|s| &**s))
                .flatten(),
        })
    }));
    found.sort_by_key(|m| (m.span.start, m.span.end));
    found
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

/// Higher relevance first, then the smaller expert number.
fn stronger(a: &(f64, u32), b: &(f64, u32)) -> bool {
    a.0.total_cmp(&b.0).reverse().then(a.1.cmp(&b.1)).is_lt()
}

fn add(acc: &mut Acc, term: &QueryTerm, posting: &Posting) {
    acc.domain_raw += term.weight * f64::from(posting.domain);
    acc.capability_raw += term.weight * f64::from(posting.capability);
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

fn context_relevance(acc: &Acc, follow_up: bool, shared: usize) -> f64 {
    // Most touched experts have no context link, and the sum below is then
    // exactly 0.
    if !acc.previous && !acc.collaborator && acc.data_hits == 0 {
        return 0.0;
    }
    let previous = match (acc.previous, follow_up) {
        (true, true) => return 1.0,
        (true, false) => CONTEXT_PREVIOUS,
        (false, _) => 0.0,
    };
    let collaborator = if acc.collaborator {
        CONTEXT_COLLABORATOR
    } else {
        0.0
    };
    let data = if shared == 0 {
        0.0
    } else {
        CONTEXT_SHARED_DATA * (acc.data_hits.min(shared) as f64 / shared as f64)
    };
    (previous + collaborator + data).min(1.0)
}

#[cfg(test)]
mod tests;
