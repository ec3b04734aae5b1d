//! The tunable thresholds and tables of conflict resolution.

use std::collections::BTreeMap;

use consort_protocol::{ExpertId, Priority};
use serde::{Deserialize, Serialize};

use crate::ConflictError;

/// Thresholds and tables that steer resolution. Every field has a default, so
/// `{}` is a valid policy in JSON; unknown fields are errors.
///
/// ```
/// use consort_conflict::{AuthorityTable, Policy};
///
/// let policy: Policy = consort_protocol::from_json_str(
///     r#"{"min_margin": 0.3, "authority": {"other": 0.1}}"#,
/// )?;
/// assert_eq!(policy.min_margin, 0.3);
/// assert_eq!(policy.authority.expertise, 1.0);
/// assert_eq!(policy.authority.other, 0.1);
///
/// let built = Policy::default()
///     .with_min_margin(0.3)
///     .with_authority(AuthorityTable::default().with_other(0.1));
/// assert_eq!(built, policy);
/// # Ok::<(), consort_protocol::ProtocolError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Policy {
    /// Smallest winning margin, `(top - second) / total` weight, that a
    /// weighted selection may decide on its own; below it the contradiction
    /// goes to human review. Default `0.2`.
    pub min_margin: f64,
    /// Share of the total weight that, when backed by two or more experts,
    /// makes a position a consensus. Must exceed `0.5` so that only one
    /// position can reach it. Default `0.6`.
    pub consensus_share: f64,
    /// Two weights (or shares) closer than this are a tie. Default `1e-9`.
    pub tie_epsilon: f64,
    /// How much an expert's word counts in a domain.
    pub authority: AuthorityTable,
    /// How much a recommendation's own priority counts when sharing a scarce
    /// resource.
    pub priority_factors: PriorityFactors,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            min_margin: 0.2,
            consensus_share: 0.6,
            tie_epsilon: 1e-9,
            authority: AuthorityTable::default(),
            priority_factors: PriorityFactors::default(),
        }
    }
}

/// Domain authority by how an expert relates to the domain in question.
///
/// | the domain matches the expert's | authority |
/// |---|---|
/// | `expertise_domains` | `expertise` (1.0) |
/// | `collaboration_capabilities` or `data_sharing` | `collaboration` (0.6) |
/// | nothing | `other` (0.3) |
///
/// `overrides` replaces the table for one expert in one domain:
/// `{"marketing_sales": {"budgeting": 0.8}}`. Override domains are compared
/// with the recommendation's domain (or, without one, its subject) exactly.
///
/// ```
/// use consort_conflict::AuthorityTable;
///
/// let table = AuthorityTable::default().with_override("marketing_sales", "budgeting", 0.8);
/// assert_eq!(table.overrides["marketing_sales"]["budgeting"], 0.8);
/// assert_eq!(table.expertise, 1.0);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AuthorityTable {
    /// Authority in one of the expert's own expertise domains.
    pub expertise: f64,
    /// Authority where the domain matches a collaboration capability or a
    /// kind of data the expert shares.
    pub collaboration: f64,
    /// Authority anywhere else.
    pub other: f64,
    /// Per-expert, per-domain replacements for the table.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<ExpertId, BTreeMap<String, f64>>,
}

impl Default for AuthorityTable {
    fn default() -> Self {
        Self {
            expertise: 1.0,
            collaboration: 0.6,
            other: 0.3,
            overrides: BTreeMap::new(),
        }
    }
}

/// Multipliers applied to a recommendation's [`Priority`] when a resource is
/// shared out.
///
/// ```
/// use consort_conflict::PriorityFactors;
/// use consort_protocol::Priority;
///
/// let factors = PriorityFactors::default().with_high(2.0);
/// assert_eq!(factors.factor(Priority::High), 2.0);
/// assert_eq!(factors.factor(Priority::Low), 0.5);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PriorityFactors {
    /// Factor for `high` (default 1.5).
    pub high: f64,
    /// Factor for `medium` (default 1.0).
    pub medium: f64,
    /// Factor for `low` (default 0.5).
    pub low: f64,
}

impl Default for PriorityFactors {
    fn default() -> Self {
        Self {
            high: 1.5,
            medium: 1.0,
            low: 0.5,
        }
    }
}

impl Policy {
    /// Sets [`min_margin`](Self::min_margin).
    #[must_use]
    pub fn with_min_margin(mut self, min_margin: f64) -> Self {
        self.min_margin = min_margin;
        self
    }

    /// Sets [`consensus_share`](Self::consensus_share).
    #[must_use]
    pub fn with_consensus_share(mut self, consensus_share: f64) -> Self {
        self.consensus_share = consensus_share;
        self
    }

    /// Sets [`tie_epsilon`](Self::tie_epsilon).
    #[must_use]
    pub fn with_tie_epsilon(mut self, tie_epsilon: f64) -> Self {
        self.tie_epsilon = tie_epsilon;
        self
    }

    /// Sets the [`authority`](Self::authority) table.
    #[must_use]
    pub fn with_authority(mut self, authority: AuthorityTable) -> Self {
        self.authority = authority;
        self
    }

    /// Sets the [`priority_factors`](Self::priority_factors).
    #[must_use]
    pub fn with_priority_factors(mut self, priority_factors: PriorityFactors) -> Self {
        self.priority_factors = priority_factors;
        self
    }
}

impl AuthorityTable {
    /// Sets the authority in an expert's own expertise domains.
    #[must_use]
    pub fn with_expertise(mut self, expertise: f64) -> Self {
        self.expertise = expertise;
        self
    }

    /// Sets the authority where a collaboration capability or shared data
    /// matches.
    #[must_use]
    pub fn with_collaboration(mut self, collaboration: f64) -> Self {
        self.collaboration = collaboration;
        self
    }

    /// Sets the authority anywhere else.
    #[must_use]
    pub fn with_other(mut self, other: f64) -> Self {
        self.other = other;
        self
    }

    /// Replaces every override.
    #[must_use]
    pub fn with_overrides(mut self, overrides: BTreeMap<ExpertId, BTreeMap<String, f64>>) -> Self {
        self.overrides = overrides;
        self
    }

    /// Sets `expert`'s authority in `domain`, replacing the table there.
    #[must_use]
    pub fn with_override(
        mut self,
        expert: impl Into<ExpertId>,
        domain: impl Into<String>,
        authority: f64,
    ) -> Self {
        self.overrides
            .entry(expert.into())
            .or_default()
            .insert(domain.into(), authority);
        self
    }
}

impl PriorityFactors {
    /// Sets the factor for `high`.
    #[must_use]
    pub fn with_high(mut self, high: f64) -> Self {
        self.high = high;
        self
    }

    /// Sets the factor for `medium`.
    #[must_use]
    pub fn with_medium(mut self, medium: f64) -> Self {
        self.medium = medium;
        self
    }

    /// Sets the factor for `low`.
    #[must_use]
    pub fn with_low(mut self, low: f64) -> Self {
        self.low = low;
        self
    }

    /// The factor for `priority`.
    pub fn factor(&self, priority: Priority) -> f64 {
        match priority {
            Priority::High => self.high,
            Priority::Medium => self.medium,
            Priority::Low => self.low,
        }
    }
}

impl Policy {
    /// Checks that every threshold is finite and in range.
    pub fn validate(&self) -> Result<(), ConflictError> {
        check(
            "min_margin",
            self.min_margin,
            |v| (0.0..=1.0).contains(&v),
            "within 0..=1",
        )?;
        check(
            "consensus_share",
            self.consensus_share,
            |v| v > 0.5 && v <= 1.0,
            "above 0.5 and at most 1",
        )?;
        check(
            "tie_epsilon",
            self.tie_epsilon,
            |v| (0.0..1.0).contains(&v),
            "within 0..1",
        )?;
        let non_negative = |v: f64| v >= 0.0;
        let table = &self.authority;
        check("authority.expertise", table.expertise, non_negative, ">= 0")?;
        check(
            "authority.collaboration",
            table.collaboration,
            non_negative,
            ">= 0",
        )?;
        check("authority.other", table.other, non_negative, ">= 0")?;
        for (expert, domains) in &table.overrides {
            for (domain, value) in domains {
                check(
                    &format!("authority.overrides.{expert}.{domain}"),
                    *value,
                    non_negative,
                    ">= 0",
                )?;
            }
        }
        let factors = &self.priority_factors;
        check("priority_factors.high", factors.high, non_negative, ">= 0")?;
        check(
            "priority_factors.medium",
            factors.medium,
            non_negative,
            ">= 0",
        )?;
        check("priority_factors.low", factors.low, non_negative, ">= 0")
    }
}

fn check(
    field: &str,
    value: f64,
    ok: impl Fn(f64) -> bool,
    rule: &str,
) -> Result<(), ConflictError> {
    if value.is_finite() && ok(value) {
        Ok(())
    } else {
        Err(ConflictError::InvalidPolicy {
            field: field.to_owned(),
            reason: format!("must be a finite number {rule}, got {value}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_empty_json_gives_them() {
        let parsed: Policy = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, Policy::default());
        parsed.validate().unwrap();
    }

    #[test]
    fn out_of_range_settings_name_their_field() {
        let policy = Policy::default().with_consensus_share(0.5);
        let err = policy.validate().unwrap_err();
        assert!(
            err.to_string().starts_with("policy.consensus_share: "),
            "{err}"
        );

        let policy = Policy::default().with_authority(AuthorityTable::default().with_override(
            "legal_consultant",
            "contracts",
            -1.0,
        ));
        let err = policy.validate().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("policy.authority.overrides.legal_consultant.contracts: "),
            "{err}"
        );
    }

    #[test]
    fn unknown_settings_are_rejected() {
        assert!(serde_json::from_str::<Policy>(r#"{"min_margn": 0.1}"#).is_err());
    }
}
