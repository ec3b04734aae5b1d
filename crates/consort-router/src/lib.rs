//! Routes a request to the right expert(s), and says why.
//!
//! Pure and deterministic: no I/O, no async, no clock, no randomness. A
//! [`Router`] is built once from [`ExpertProfile`]s into an inverted index;
//! [`Router::route`] scores only the experts that share a term (or a context
//! link) with the request, so a call over 10,000 experts costs little more
//! than one over 8.
//!
//! ```
//! use consort_protocol::{load_registry, seeds};
//! use consort_router::{RouteOutcome, RouteContext, RouteRequest, Router, RouterConfig};
//!
//! let experts = load_registry(seeds::EXPERT_REGISTRY)?;
//! let router = Router::new(&experts, RouterConfig::default())?;
//!
//! let decision = router.route(&RouteRequest::new("Plan a campaign and check the budget with finance"));
//! assert_eq!(decision.outcome, RouteOutcome::Routed);
//! assert!(decision.requires_collaboration);
//! assert!(decision.experts().any(|e| e == "marketing_sales"));
//! assert!(decision.experts().any(|e| e == "finance_accountant"));
//! println!("{decision}"); // ranked candidates with their score breakdown
//!
//! // A short follow-up with no strong domain terms stays with the previous expert.
//! let context = RouteContext::default().with_previous_expert("legal_consultant");
//! let decision = router.route(&RouteRequest::new("yes, go ahead").with_context(context));
//! assert_eq!(decision.primary.as_deref(), Some("legal_consultant"));
//! assert!(decision.follow_up);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The rules
//!
//! ## Lexical analysis
//!
//! Text is split into words by Unicode word segmentation (UAX #29), `snake_case`
//! identifiers are split at `_` (`budget_analysis` → budget, analysis),
//! words are lower-cased, English stop words dropped and the rest stemmed
//! (Snowball English: `planning` → `plan`). Each multi-word profile entry also
//! indexes its adjacent word pairs as phrases (`cash flow`, `budget analysis`);
//! a request matches a phrase when the two words are adjacent in it, stop
//! words aside (`return on investment`). A phrase counts `phrase_weight`
//! (1.0) of its field's weight on top of its words' own matches.
//! Two adjacent request words whose concatenation is a word the router knows
//! (a profile word or a related term) match as that word, and their own
//! matches are dropped: `sign up` and `sign-up` are `signup`, not a
//! signature; `write off` is `writeoff`.
//!
//! A built-in related-terms table (a small business thesaurus, see
//! `RouterConfig::related_terms`) maps everyday words to profile vocabulary
//! (`lawyer` → law, `invoice` → accounting, `logo` → design); such a match
//! counts 0.6 of an exact one and shows as `lawyer→law` in `matched_terms`.
//! Each distinct term counts once per request, at its strongest weight, and
//! the terms one request word (or phrase) leads to count once per expert, at
//! the strongest: `customer` reaching an expert's `sales`, `audience` and
//! description word `customers` is one piece of evidence, not three.
//!
//! **Word-frequency prior.** Words common in everyday English say little
//! about the expert a request needs ("people", "look", "year"). With
//! `word_frequency_prior` (on), a request word's evidence (exact or related)
//! is multiplied by 1 up to Zipf frequency 4.5, falling linearly to 0.25 at
//! Zipf 6, from SUBTLEX-US (51 million words of film and TV subtitles).
//! Phrases keep their full weight. With `min_related_matches` at 2 (default
//! 1, off), an expert whose only evidence is related-term matches from such
//! common words needs two of them to lead or join a decision.
//!
//! **Learned corrections.** [`Router::learn`] associates a corrected
//! request's words with the right expert; such words add to that expert's
//! domain evidence (shown as `Breakdown::learned` and `word (learned)`).
//!
//! **Semantic signal** (feature `semantic`). `Router::with_semantic` adds
//! Model2Vec similarity between the request and each profile item to the
//! domain evidence (shown as `Breakdown::semantic`).
//!
//! ## Fields and signals
//!
//! | profile field | domain signal | capability signal |
//! |---|---|---|
//! | `expertise_domains` | 1.0 | — |
//! | `keywords` | 0.8 | — |
//! | `id` and `name` words | 0.6 | — |
//! | `description` | 0.35 | — |
//! | `collaboration_capabilities` | — | 1.0 |
//! | `data_sharing` | — | 0.5 |
//! | `examples` (sample requests) | 0.5 | — |
//!
//! A term in several fields counts once per signal, at its strongest field.
//! Each term is weighted by its IDF across the registry,
//! `idf = ln(1 + N/df) / ln(1 + N)` (1 for a term only one expert has, about
//! 0.32 for one all 8 seed experts have). An expert's raw signal is
//! `Σ query_weight × field_weight × idf` over the request terms it has, and
//! the signal is `1 - exp(-raw)`: one distinctive exact domain term gives
//! 0.63, more terms approach 1. *Lexical relevance* is the larger of the
//! domain and capability signals.
//!
//! **Complexity.** The request earns points: 12+ words 1, 25+ words 2; 2+
//! constraint words or conjunctions (`and`, `but`, `within`, `must`, …) 1, 4+
//! of them 2; 2 distinct domains hit 2, 3+ of them 4, where a domain hit is a
//! strong match (relevance at least `strong_relevance`) that matches mostly
//! request words the stronger ones did not (the novelty rule below). 0–1 points is
//! `Low`, 2–3 `Medium`, 4+ `High`. The complexity signal is 1 when the level
//! is inside the expert's `complexity_range`, 0.5 one level outside, 0
//! further, and `unknown_complexity_fit` (0.5) when the expert declares no
//! range — no evidence either way, so declaring a matching range helps.
//!
//! **Context.** `min(1, 0.5 if previous expert + 0.3 if already a
//! collaborator + 0.5 × share of shared_data keys in the expert's
//! data_sharing)`; on a follow-up the previous expert's context is 1.
//!
//! **Extra signals.** Any number of [`Signal`]s with their own weights
//! ([`Router::with_signal`]); scores are clamped to `0..=1` and listed in
//! `Breakdown::extra`.
//!
//! ## Score, availability and load
//!
//! Weights are validated (finite, `>= 0`, positive sum) and divided by their
//! sum. `score = (Σ weight × signal) × availability`, in `0..=1`.
//! `availability` is 1 for an available expert and `busy_factor` (0.7) for a
//! busy one, times `1 - load_penalty × min(1, current_load / max_concurrent)`
//! (no factor without `max_concurrent`): an expert at capacity is penalised
//! like a busy one (0.7 with the defaults) and stays eligible. **Offline
//! experts are never scored**: they appear neither among candidates nor as
//! primary, collaborator or fallback. [`Router::set_status`] applies an
//! expert's live status and load to every later request without rebuilding
//! the index; `RouteContext::availability` and `RouteContext::load` override
//! them for one request. [`Router::check_context`] rejects a context naming
//! an expert the registry lacks, which routing would silently ignore.
//!
//! Only experts with evidence are scored: a request term in their profile, a
//! context link (previous expert, collaborator, shared data key), or, when
//! extra signals are registered, every eligible expert.
//!
//! ## Ranking and ties
//!
//! Candidates are ordered by score rounded to a multiple of `tie_epsilon`
//! (0.01), higher first; within a near-tie the faster `response_time_sla`
//! wins, then the higher `priority_level`, then the smaller expert id. The
//! order is total, so the same registry and request always give the same
//! decision, whatever order the profiles were given in.
//!
//! ## RouteDecision
//!
//! 1. **Follow-up.** When `previous_expert` is set and eligible, the request
//!    has at most `follow_up_max_words` (6) words and no expert is a strong
//!    match (relevance below `strong_relevance`, 0.35), the request ("yes, go
//!    ahead") stays with the previous expert: `Routed`, no collaborators.
//! 2. **Fallback.** Otherwise, when no candidate that can lead scores at
//!    least `min_score` (0.2), the request goes to `fallback_expert` when
//!    configured and not offline, else (with `coordinator_fallback`, on) to
//!    the registry's coordinator: the best-ranked coordinator-level
//!    candidate, else the available coordinator-level expert with the
//!    fastest SLA. The outcome is `Fallback` and `RouteDecision::fallback`
//!    says which; with neither, it is `NoMatch` with no primary. The best
//!    candidates are listed either way.
//! 3. **Collaboration.** Otherwise the top candidate is chosen. If it is a
//!    strong match, the next candidates (in rank order, up to
//!    `max_collaborators`, 3) join when they are strong matches too — score
//!    at least `min_score`, relevance at least `strong_relevance` and at least
//!    `collaboration_ratio` (0.5) of the best relevance — and at least
//!    `collaboration_novelty` (0.5) of their matched term weight comes from
//!    request words no expert chosen so far matched (each brings a different
//!    part of the request). `requires_collaboration` is true when two or more
//!    experts were chosen.
//! 4. **Primary.** The top scorer, except when collaboration is required and
//!    the request is about coordinating (`coordinate`, `orchestrate`,
//!    `involve`, `together`, …): then the best-ranked `coordinator`-level
//!    expert scoring at least `min_score` leads and the chosen experts are
//!    its collaborators. Collaborators are ordered by score.
//!
//! `candidates` lists the best `top_k` (5) with per-signal breakdowns and
//! matched terms; collaborators are drawn from the best
//! `max(top_k, max_collaborators + 1)`.
//!
//! ## Common terms in large registries
//!
//! A term found in more than `max(64, N/32)` experts is *common*. Its
//! postings are not scanned to find candidates; instead its weight is added
//! to every expert the request's other terms (or the context) found. Common
//! terms find candidates themselves only when no other term found any. An
//! expert sharing only common terms with such a request is therefore not
//! scored: it would score low anyway, and scanning those postings would touch
//! a large share of a big registry. Below 2,048 experts only terms in more
//! than 64 experts are affected. A term the request reaches only through
//! the related-terms table is common from `max(64, N/128)` experts: such a
//! link is weaker evidence, and everyday words (`friday`, `team`) lead to
//! concepts large registries share widely.
//!
//! ## Cost
//!
//! Building is a full pass over the profiles; [`Router::update_profiles`]
//! rebuilds. Routing costs the request's words (hash look-ups and stemming)
//! plus the postings of its terms, plus the touched experts; per-call memory
//! comes from a pool and only touched entries are reset. A touched expert
//! whose bounds (its signals bounded without `exp`) show that it can neither
//! enter the kept candidates nor change the best relevance or the strong
//! matches is not fully scored; the decision is the same as when every
//! touched expert is.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod analyzer;
mod complexity;
mod compound;
mod config;
mod decision;
mod error;
mod frequency;
mod index;
mod learned;
mod lexicon;
mod query;
mod related;
mod request;
mod router;
mod saturation;
mod scratch;
#[cfg(feature = "semantic")]
mod semantic;
mod signal;

pub use config::{RouterConfig, Weights};
pub use consort_protocol::{ComplexityLevel, ExpertId, ExpertProfile};
pub use decision::{Breakdown, Candidate, FallbackReason, RouteDecision, RouteOutcome};
pub use error::{Result, RouterError};
pub use learned::Correction;
pub use request::{RouteContext, RouteRequest};
pub use router::Router;
#[cfg(feature = "semantic")]
#[cfg_attr(docsrs, doc(cfg(feature = "semantic")))]
pub use semantic::{ModelError, SemanticModel};
pub use signal::Signal;
