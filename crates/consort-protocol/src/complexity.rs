//! How demanding a request is, and the range an expert declares it handles.

use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

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
/// In JSON either `{"min": "low", "max": "medium"}` (no other fields) or a
/// single level (`"high"`), which means that level only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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

impl<'de> Deserialize<'de> for ComplexityRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RangeVisitor)
    }
}

/// Reads a single level or a strict `{"min", "max"}` object. (An untagged
/// enum would hide a misspelt bound behind "did not match any variant".)
struct RangeVisitor;

impl<'de> Visitor<'de> for RangeVisitor {
    type Value = ComplexityRange;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a complexity level ("low", "medium", "high") or {"min": ..., "max": ...}"#)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        let level = ComplexityLevel::deserialize(text.into_deserializer())?;
        Ok(ComplexityRange {
            min: level,
            max: level,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let Bounds { min, max } = Bounds::deserialize(MapAccessDeserializer::new(map))?;
        ComplexityRange::new(min, max).map_err(|e| match e {
            ProtocolError::Invalid { reason, .. } => de::Error::custom(reason),
            other => de::Error::custom(other),
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Bounds {
    min: ComplexityLevel,
    max: ComplexityLevel,
}
