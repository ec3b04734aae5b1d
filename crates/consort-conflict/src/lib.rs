//! Detect and resolve conflicts between expert recommendations.
//!
//! Implements the "Conflict Resolution System" of the MCP coordination spec:
//! given [`ExpertRecommendation`]s, the experts' profiles, optional resource
//! capacities and a [`Policy`], a [`ConflictResolver`] finds
//!
//! | kind | when | default strategy |
//! |---|---|---|
//! | [`DirectContradiction`](ConflictKind::DirectContradiction) | different positions on one subject | [`WeightedSelection`]: authority x confidence, consensus, or escalation on a narrow margin or tie |
//! | [`PriorityConflict`](ConflictKind::PriorityConflict) | one position, different priorities; or a cycle of `precedes` claims | [`PriorityOrder`]: coordinator > high > medium > low, then authority, then confidence |
//! | [`ResourceConflict`](ConflictKind::ResourceConflict) | requests exceed a capacity | [`ProportionalAllocation`]: weighted water-filling, capped at each request |
//! | [`Unclassified`](ConflictKind::Unclassified) | a subject said to precede itself; a resource with no known capacity | [`HumanReview`]: always escalated |
//!
//! and returns a [`Report`]: one [`Resolution`] per conflict (the deciding
//! [`StrategyName`], a rationale naming the experts and their weights, the
//! selected and the ranked alternative [`Stance`]s, allocations), a
//! [`UnifiedRecommendation`] (a stance per subject), and the agreement and
//! automatic-resolution rates. Pure (no I/O, no async), deterministic and independent of the
//! order of the recommendations. Any strategy can be replaced with
//! [`ConflictResolver::with_strategy`].
//!
//! A budget disagreement between marketing_sales and finance_accountant:
//!
//! ```
//! use consort_conflict::{ConflictKind, ResolveInput, StrategyName, BUDGET_DISAGREEMENT};
//! use consort_protocol::{from_json_str, load_registry, seeds};
//!
//! let experts = load_registry(seeds::EXPERT_REGISTRY)?;
//! let input: ResolveInput = from_json_str(BUDGET_DISAGREEMENT)?;
//! let report = input.resolve(&experts)?;
//!
//! let budget = report.conflict(ConflictKind::DirectContradiction, "campaign_budget").unwrap();
//! assert_eq!(budget.strategy, StrategyName::WeightedSelection);
//! assert_eq!(budget.selected.as_ref().unwrap().position, 30000);
//! assert!(budget.rationale.starts_with(
//!     "30000 from finance_accountant (authority 1.00 x confidence 0.90 = 0.90) outweighs \
//!      50000 from marketing_sales (authority 0.30 x confidence 0.85 = 0.26)"));
//! assert_eq!(report.unified.allocations["budget"]["art_design"], 20000.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Building recommendations in code:
//!
//! ```
//! use std::collections::BTreeMap;
//! use consort_conflict::{ConflictResolver, Policy};
//! use consort_protocol::{load_registry, seeds, Confidence, ExpertRecommendation, Priority};
//!
//! let experts = load_registry(seeds::EXPERT_REGISTRY)?;
//! let rec = |expert: &str, position: &str, confidence| -> Result<_, Box<dyn std::error::Error>> {
//!     Ok(ExpertRecommendation {
//!         expert: expert.into(), subject: "logo_style".into(), domain: Some("design".into()),
//!         position: position.into(), confidence_level: Confidence::new(confidence)?,
//!         priority: Priority::Medium, precedes: vec![], requested_resources: BTreeMap::new(),
//!         rationale: String::new(),
//!     })
//! };
//! let recs = [rec("art_design", "minimal", 0.7)?, rec("marketing_sales", "bold", 0.8)?];
//! let report = ConflictResolver::new(&experts, Policy::default())?.resolve(&recs, &BTreeMap::new())?;
//! assert_eq!(report.unified.decisions["logo_style"].position, "minimal");
//! assert_eq!(report.agreement_rate, 0.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod allocation;
mod authority;
mod canonical;
mod conflict;
mod detect;
mod error;
mod graph;
mod input;
mod policy;
mod prioritize;
mod render;
mod report;
mod resolver;
mod stance;
mod strategy;
mod unify;

pub use canonical::canonical_position;
pub use conflict::{Cause, Conflict, ConflictKind, Member};
pub use error::{ConflictError, Result};
pub use input::{BUDGET_DISAGREEMENT, ResolveInput};
pub use policy::{AuthorityTable, Policy, PriorityFactors};
pub use prioritize::PrioritizedRecommendation;
pub use report::{Allocations, Escalation, Report, Resolution, UnifiedRecommendation};
pub use resolver::ConflictResolver;
pub use stance::Stance;
pub use strategy::{
    HumanReview, PriorityOrder, ProportionalAllocation, Strategy, StrategyContext, StrategyName,
    WeightedSelection,
};

#[cfg(doc)]
use consort_protocol::ExpertRecommendation;
