//! Priority scales: an expert's standing and a message's urgency.

use serde::{Deserialize, Serialize};

/// An expert's standing in the registry (`priority_level` in the spec).
///
/// The order is the spec's precedence: `Coordinator` outranks `High`, which
/// outranks `Medium`, then `Low`. `Ord` follows that order, so
/// `PriorityLevel::Coordinator > PriorityLevel::Low`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum PriorityLevel {
    /// Lowest standing.
    Low,
    /// The default standing.
    #[default]
    Medium,
    /// A senior domain expert.
    High,
    /// The expert that coordinates the others (the spec's personal assistant).
    Coordinator,
}

impl PriorityLevel {
    /// The spec's spelling of this level.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Coordinator => "coordinator",
        }
    }
}

/// Urgency of a message or a recommendation (`"high | medium | low"`).
///
/// `Ord` puts `High` above `Medium` above `Low`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Can wait.
    Low,
    /// The default.
    #[default]
    Medium,
    /// Needs attention first.
    High,
}

impl Priority {
    /// The spec's spelling of this priority.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}
