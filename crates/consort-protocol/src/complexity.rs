//! How demanding a request is, and the range an expert declares it handles.

use serde::{Deserialize, Serialize};

use crate::ProtocolError;

/// A coarse complexity scale shared by requests and experts.
///
/// `Ord` runs from `Low` to `High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComplexityLevel {
    /// A quick question or a single action.
    Low,
    /// Several considerations, one domain.
    Medium,
    /// Many constraints, several domains, or long horizons.
    High,
}

impl ComplexityLevel {
    /// Position on the scale: 0 for `Low`, 1 for `Medium`, 2 for `High`.
    pub fn rank(self) -> u8 {
        match self {
            Self::Low => 0,
            Self::Medium => 1,
            Self::High => 2,
        }
    }

    /// The spelling used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// The complexity an expert declares it handles, inclusive at both ends.
///
/// In JSON either `{"min": "low", "max": "medium"}` or a single level
/// (`"high"`), which means that level only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawRange")]
pub struct ComplexityRange {
    min: ComplexityLevel,
    max: ComplexityLevel,
}

impl ComplexityRange {
    /// A range from `min` to `max`; fails when `min > max`.
    pub fn new(min: ComplexityLevel, max: ComplexityLevel) -> Result<Self, ProtocolError> {
        if min > max {
            return Err(ProtocolError::invalid(
                "",
                format!(
                    "complexity range minimum {} is above its maximum {}",
                    min.as_str(),
                    max.as_str()
                ),
            ));
        }
        Ok(Self { min, max })
    }

    /// The lowest level handled.
    pub fn min(self) -> ComplexityLevel {
        self.min
    }

    /// The highest level handled.
    pub fn max(self) -> ComplexityLevel {
        self.max
    }

    /// Whether `level` lies within the range.
    pub fn contains(self, level: ComplexityLevel) -> bool {
        (self.min..=self.max).contains(&level)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRange {
    Single(ComplexityLevel),
    Range {
        min: ComplexityLevel,
        max: ComplexityLevel,
    },
}

impl TryFrom<RawRange> for ComplexityRange {
    type Error = String;

    fn try_from(raw: RawRange) -> Result<Self, Self::Error> {
        let (min, max) = match raw {
            RawRange::Single(level) => (level, level),
            RawRange::Range { min, max } => (min, max),
        };
        Self::new(min, max).map_err(|e| match e {
            ProtocolError::Invalid { reason, .. } => reason,
            other => other.to_string(),
        })
    }
}
