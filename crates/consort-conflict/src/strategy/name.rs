//! [`StrategyName`]: which strategy settled a conflict or a subject.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The strategy that decided, as reported in a [`Resolution`](crate::Resolution)
/// and in the unified recommendation's [`Stance`](crate::Stance)s.
///
/// Serialised as its snake_case name (`"weighted_selection"`); any other
/// name is an application strategy's ([`Custom`](Self::Custom)). Names
/// compare by spelling, so `Custom("consensus")` equals
/// [`Consensus`](Self::Consensus).
///
/// ```
/// use consort_conflict::StrategyName;
///
/// assert_eq!(StrategyName::WeightedSelection.as_str(), "weighted_selection");
/// assert_eq!(StrategyName::from("human_review"), StrategyName::HumanReview);
/// let board = StrategyName::from("ask_the_board");
/// assert_eq!(board, StrategyName::Custom("ask_the_board".into()));
/// assert_eq!(serde_json::to_string(&board)?, r#""ask_the_board""#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StrategyName {
    /// The heaviest position won by a clear margin
    /// ([`WeightedSelection`](crate::WeightedSelection)).
    WeightedSelection,
    /// Two or more experts holding most of the weight agreed
    /// ([`WeightedSelection`](crate::WeightedSelection)).
    Consensus,
    /// The expert of higher standing decided ([`PriorityOrder`](crate::PriorityOrder)).
    PriorityOrder,
    /// A scarce resource was shared out
    /// ([`ProportionalAllocation`](crate::ProportionalAllocation)).
    ProportionalAllocation,
    /// A human must decide ([`HumanReview`](crate::HumanReview), or any
    /// default strategy that could not).
    HumanReview,
    /// Nobody disagreed: the subject needed no strategy.
    Unanimous,
    /// An application strategy, by the name it reports.
    Custom(Cow<'static, str>),
}

impl StrategyName {
    /// The snake_case name used in JSON and text.
    pub fn as_str(&self) -> &str {
        match self {
            Self::WeightedSelection => "weighted_selection",
            Self::Consensus => "consensus",
            Self::PriorityOrder => "priority_order",
            Self::ProportionalAllocation => "proportional_allocation",
            Self::HumanReview => "human_review",
            Self::Unanimous => "unanimous",
            Self::Custom(name) => name,
        }
    }

    /// The built-in name spelled `name`, if there is one.
    fn builtin(name: &str) -> Option<Self> {
        Some(match name {
            "weighted_selection" => Self::WeightedSelection,
            "consensus" => Self::Consensus,
            "priority_order" => Self::PriorityOrder,
            "proportional_allocation" => Self::ProportionalAllocation,
            "human_review" => Self::HumanReview,
            "unanimous" => Self::Unanimous,
            _ => return None,
        })
    }
}

impl From<&'static str> for StrategyName {
    fn from(name: &'static str) -> Self {
        Self::builtin(name).unwrap_or(Self::Custom(Cow::Borrowed(name)))
    }
}

impl From<String> for StrategyName {
    fn from(name: String) -> Self {
        Self::builtin(&name).unwrap_or(Self::Custom(Cow::Owned(name)))
    }
}

impl PartialEq for StrategyName {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for StrategyName {}

impl Hash for StrategyName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Display for StrategyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for StrategyName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StrategyName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_json() {
        for name in [
            StrategyName::WeightedSelection,
            StrategyName::Consensus,
            StrategyName::PriorityOrder,
            StrategyName::ProportionalAllocation,
            StrategyName::HumanReview,
            StrategyName::Unanimous,
            StrategyName::from("ask_the_board"),
        ] {
            let json = serde_json::to_string(&name).unwrap_or_default();
            assert_eq!(json, format!("\"{name}\""));
            let back: StrategyName = serde_json::from_str(&json).unwrap_or(StrategyName::Unanimous);
            assert_eq!(back, name);
            assert_eq!(std::mem::discriminant(&back), std::mem::discriminant(&name));
        }
    }

    #[test]
    fn a_custom_spelling_of_a_builtin_equals_it() {
        let custom = StrategyName::Custom("consensus".into());
        assert_eq!(custom, StrategyName::Consensus);
        assert_ne!(
            StrategyName::Custom("other".into()),
            StrategyName::Consensus
        );
    }
}
