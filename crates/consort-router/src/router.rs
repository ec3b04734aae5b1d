//! The router: scoring, availability, ranking and selection.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use consort_protocol::{Availability, ExpertProfile, PriorityLevel};

use crate::complexity;
use crate::config::check_weight;
use crate::decision::{Breakdown, Candidate, Decision, Outcome};
use crate::index::{Index, IndexedExpert, Posting};
use crate::query::{Query, QueryTerm};
use crate::request::{RouteContext, normalize_data_key};
use crate::scratch::{Acc, Pool, Scratch};
use crate::signal::clamp_unit;
use crate::{Error, RouteRequest, RouterConfig, Signal};

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
    signals: Vec<ExtraSignal>,
    weights: NormalizedWeights,
    pool: Pool,
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
    pub fn new(profiles: &[ExpertProfile], config: RouterConfig) -> Result<Self, Error> {
        config.validate()?;
        let index = Index::build(profiles, config.related_terms)?;
        let mut router = Self {
            config,
            index,
            signals: Vec::new(),
            weights: NormalizedWeights::default(),
            pool: Pool::default(),
        };
        router.check_fallback()?;
        router.weights = router.normalized_weights()?;
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
    ) -> Result<Self, Error> {
        let name = signal.name().to_owned();
        check_weight(&name, weight)?;
        if self.signals.iter().any(|s| s.signal.name() == name) {
            return Err(Error::DuplicateSignal { name });
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
    pub fn update_profiles(&mut self, profiles: &[ExpertProfile]) -> Result<(), Error> {
        let index = Index::build(profiles, self.config.related_terms)?;
        let previous = std::mem::replace(&mut self.index, index);
        if let Err(err) = self.check_fallback() {
            self.index = previous;
            return Err(err);
        }
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

    fn check_fallback(&self) -> Result<(), Error> {
        match &self.config.fallback_expert {
            Some(id) if !self.index.ids.contains_key(id) => {
                Err(Error::UnknownFallback { expert: id.clone() })
            }
            _ => Ok(()),
        }
    }

    fn normalized_weights(&self) -> Result<NormalizedWeights, Error> {
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
            return Err(Error::ZeroWeights);
        }
        builtin
            .iter_mut()
            .chain(&mut extra)
            .for_each(|w| *w /= total);
        Ok(NormalizedWeights { builtin, extra })
    }

    /// Routes one request. Never fails: a request nothing matches gives
    /// `Outcome::NoMatch`.
    pub fn route(&self, request: &RouteRequest) -> Decision {
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
        let (best_relevance, strong) = self.lexical_pass(&request.context, &mut scratch);
        let (domains, mut strong_matches) = self.distinct_domains(&query, &strong);
        let follow_up = previous.is_some_and(|p| {
            scratch
                .accs
                .iter()
                .any(|a| a.expert == p && a.availability.is_some())
        }) && query.words <= self.config.follow_up_max_words
            && best_relevance < self.config.strong_relevance;
        let level = complexity::assess(query.words, query.constraints, domains);
        let ranked = self.rank(request, level, follow_up, &mut scratch);

        let candidates: Vec<Scored<'_>> = ranked
            .iter()
            .filter_map(|&slot| {
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
            })
            .collect();

        let mut decision = Decision {
            outcome: Outcome::NoMatch,
            primary: None,
            collaborators: Vec::new(),
            requires_collaboration: false,
            follow_up,
            complexity: level,
            candidates: Vec::new(),
        };
        let best_score = candidates.first().map_or(0.0, |c| c.acc.score);
        if follow_up {
            decision.outcome = Outcome::Routed;
            decision.primary = previous
                .and_then(|p| index.expert(p))
                .map(|e| e.profile.id.clone());
        } else if best_score >= self.config.min_score && !candidates.is_empty() {
            decision.outcome = Outcome::Routed;
            self.select(
                &candidates,
                best_relevance,
                query.coordination,
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
                let mut own = expert.terms.iter().peekable();
                for term in &common {
                    while own.next_if(|(t, _)| *t < term.term).is_some() {}
                    if let Some((_, posting)) = own.next_if(|(t, _)| *t == term.term) {
                        add(acc, term, posting);
                    }
                }
            }
        }
    }

    /// Saturates the lexical totals and applies availability; returns the
    /// best relevance and the strong matches among eligible experts.
    fn lexical_pass(
        &self,
        context: &RouteContext,
        scratch: &mut Scratch,
    ) -> (f64, Vec<(f64, u32)>) {
        let mut best = 0.0_f64;
        // The strongest DOMAIN_PROBE strong matches, best first.
        let mut strong: Vec<(f64, u32)> = Vec::with_capacity(DOMAIN_PROBE + 1);
        for acc in &mut scratch.accs {
            let Some(expert) = self.index.expert(acc.expert) else {
                continue;
            };
            acc.availability = self.availability(expert, context);
            if acc.availability.is_none() {
                continue;
            }
            acc.domain = saturate(acc.domain_raw);
            acc.capability = saturate(acc.capability_raw);
            acc.relevance = acc.domain.max(acc.capability);
            best = best.max(acc.relevance);
            if acc.relevance >= self.config.strong_relevance {
                let entry = (acc.relevance, acc.expert);
                let at = strong.partition_point(|e| stronger(e, &entry));
                if at < DOMAIN_PROBE {
                    strong.insert(at, entry);
                    strong.truncate(DOMAIN_PROBE);
                }
            }
        }
        (best, strong)
    }

    /// How many different domains the request hits: among the strongest
    /// [`DOMAIN_PROBE`] strong matches, those that each match mostly request
    /// words the ones before them did not (the collaboration novelty rule).
    /// Also returns the matches of those experts, by expert number.
    fn distinct_domains<'a>(
        &'a self,
        query: &Query,
        strong: &[(f64, u32)],
    ) -> (usize, Vec<(u32, Vec<Match<'a>>)>) {
        let mut covered: Vec<Range<usize>> = Vec::new();
        let mut domains = 0;
        let mut all = Vec::with_capacity(strong.len());
        for &(_, number) in strong {
            let Some(expert) = self.index.expert(number) else {
                continue;
            };
            let found = matches(&self.index, expert, query);
            if self.is_novel(&found, &covered) {
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

    /// The availability factor, or `None` for an offline expert.
    fn availability(&self, expert: &IndexedExpert, context: &RouteContext) -> Option<f64> {
        let status = if context.availability.is_empty() {
            expert.status
        } else {
            context
                .availability
                .get(&expert.profile.id)
                .copied()
                .unwrap_or(expert.status)
        };
        let base = match status {
            Availability::Available => 1.0,
            Availability::Busy => self.config.busy_factor,
            Availability::Offline => return None,
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
        let load_factor = match expert.max_concurrent {
            Some(max) if max > 0 => {
                1.0 - self.config.load_penalty * (f64::from(load) / f64::from(max)).min(1.0)
            }
            _ => 1.0,
        };
        Some(base * load_factor)
    }

    /// Final scores of eligible experts, and the best `max(top_k,
    /// max_collaborators + 1)` of them as positions in `scratch.accs`, best
    /// first.
    fn rank(
        &self,
        request: &RouteRequest,
        level: consort_protocol::ComplexityLevel,
        follow_up: bool,
        scratch: &mut Scratch,
    ) -> Vec<usize> {
        let keep = self.config.top_k.max(self.config.max_collaborators + 1);
        let mut top: Vec<(RankKey, usize)> = Vec::with_capacity(keep + 1);
        let [w_domain, w_capability, w_complexity, w_context] = self.weights.builtin;
        let shared = request.context.shared_data.len();
        for slot in 0..scratch.accs.len() {
            let Some(acc) = scratch.accs.get_mut(slot) else {
                continue;
            };
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
            acc.extra_at = scratch.extra.len();
            let mut sum = w_domain * acc.domain
                + w_capability * acc.capability
                + w_complexity * acc.complexity
                + w_context * acc.context;
            for (extra, weight) in self.signals.iter().zip(&self.weights.extra) {
                let value = clamp_unit(extra.signal.score(request, &expert.profile));
                sum += weight * value;
                scratch.extra.push(value);
            }
            let score = (sum * availability).clamp(0.0, 1.0);
            let acc_expert = acc.expert;
            if let Some(acc) = scratch.accs.get_mut(slot) {
                acc.score = score;
            }
            let key = RankKey::new(score, self.config.tie_epsilon, expert, acc_expert);
            if top.len() < keep || top.last().is_some_and(|(worst, _)| key < *worst) {
                let at = top.partition_point(|(k, _)| *k < key);
                top.insert(at, (key, slot));
                top.truncate(keep);
            }
        }
        top.into_iter().map(|(_, slot)| slot).collect()
    }

    /// Chooses primary and collaborators among ranked candidates whose best
    /// score cleared `min_score`.
    fn select(
        &self,
        ranked: &[Scored<'_>],
        best_relevance: f64,
        coordination: bool,
        decision: &mut Decision,
    ) {
        let cfg = &self.config;
        let strong = |c: &Scored<'_>| {
            c.acc.score >= cfg.min_score
                && c.acc.relevance >= cfg.strong_relevance
                && c.acc.relevance >= cfg.collaboration_ratio * best_relevance
        };
        let mut chosen: Vec<&Scored<'_>> = Vec::new();
        let mut covered: Vec<Range<usize>> = Vec::new();
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
                if self.is_novel(&candidate.matches, &covered) {
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
    fn fallback(&self, context: &RouteContext) -> Option<String> {
        let id = self.config.fallback_expert.as_ref()?;
        let expert = self.index.expert(*self.index.ids.get(id)?)?;
        self.availability(expert, context)
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
            let mut shown = text.get(m.span.clone()).unwrap_or("").to_lowercase();
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
struct RankKey {
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
}

/// Higher relevance first, then the smaller expert number.
fn stronger(a: &(f64, u32), b: &(f64, u32)) -> bool {
    a.0.total_cmp(&b.0).reverse().then(a.1.cmp(&b.1)).is_lt()
}

fn add(acc: &mut Acc, term: &QueryTerm, posting: &Posting) {
    acc.domain_raw += term.weight * f64::from(posting.domain);
    acc.capability_raw += term.weight * f64::from(posting.capability);
}

fn saturate(raw: f64) -> f64 {
    // `exp` is the costliest step per touched expert, and a zero total is
    // common (an expert matched only in domain fields has no capability
    // evidence); 1 - e^0 is exactly 0, as is the result for a negative or
    // NaN total.
    if raw > 0.0 { 1.0 - (-raw).exp() } else { 0.0 }
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

fn context_relevance(acc: &Acc, follow_up: bool, shared: usize) -> f64 {
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
