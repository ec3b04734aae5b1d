//! A probability-like confidence, checked to lie in `0.0..=1.0`.

use serde::{Deserialize, Serialize};

use crate::ProtocolError;

/// How sure an expert is of an answer or recommendation: a finite number in
/// `0.0..=1.0` (`confidence_level` in the spec).
///
/// Construction always checks the range, so a `Confidence` in hand is valid;
/// parsing JSON with `1.5` fails with the path of the value.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Confidence(f64);

impl Confidence {
    /// Full confidence.
    pub const CERTAIN: Self = Self(1.0);

    /// Checks that `value` is finite and within `0.0..=1.0`.
    pub fn new(value: f64) -> Result<Self, ProtocolError> {
        if value.is_finite() && (0.0..=1.0).contains(&value) {
            Ok(Self(value))
        } else {
            Err(ProtocolError::invalid(
                "",
                format!("confidence must be within 0.0..=1.0, got {value}"),
            ))
        }
    }

    /// The value, in `0.0..=1.0`.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Confidence {
    type Error = String;

    fn try_from(value: f64) -> Result<Self, Self::Error> {
        Self::new(value).map_err(|_| format!("confidence must be within 0.0..=1.0, got {value}"))
    }
}

impl From<Confidence> for f64 {
    fn from(c: Confidence) -> Self {
        c.0
    }
}

impl std::fmt::Display for Confidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}
