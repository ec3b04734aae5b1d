//! The one error type of this crate and the JSON entry points that produce it.

use serde::de::DeserializeOwned;

/// Why a document could not be turned into consort types.
///
/// Every variant carries the JSON path of the offending value (for example
/// `expert_registry.finance_accountant.priority_level`), so a message can be
/// acted on without reading the parser's source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The text is not JSON, or a value does not have the expected shape.
    #[error("{}: {message}", display_path(path))]
    Parse {
        /// JSON path of the bad value; empty for the document root.
        path: String,
        /// What the parser expected and found.
        message: String,
    },
    /// The JSON has the right shape but breaks a rule of the type (an empty
    /// id, a range whose minimum exceeds its maximum, ...).
    #[error("{}: {reason}", display_path(path))]
    Invalid {
        /// JSON path of the bad value; empty for the document root.
        path: String,
        /// The rule that was broken.
        reason: String,
    },
}

impl ProtocolError {
    /// The JSON path of the offending value (`""` for the root).
    pub fn path(&self) -> &str {
        match self {
            Self::Parse { path, .. } | Self::Invalid { path, .. } => path,
        }
    }

    pub(crate) fn invalid(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// The same error with `prefix` put in front of its path, for errors found
    /// in a nested value.
    #[must_use]
    pub fn within(self, prefix: &str) -> Self {
        let join = |path: String| match (prefix.is_empty(), path.is_empty()) {
            (true, _) => path,
            (false, true) => prefix.to_owned(),
            (false, false) if path.starts_with('[') => format!("{prefix}{path}"),
            (false, false) => format!("{prefix}.{path}"),
        };
        match self {
            Self::Parse { path, message } => Self::Parse {
                path: join(path),
                message,
            },
            Self::Invalid { path, reason } => Self::Invalid {
                path: join(path),
                reason,
            },
        }
    }
}

fn display_path(path: &str) -> &str {
    if path.is_empty() {
        "(document root)"
    } else {
        path
    }
}

/// Parses `text` as JSON into `T`, naming the JSON path of the first bad value
/// on failure.
///
/// ```
/// use consort_protocol::{from_json_str, PriorityLevel};
/// let err = from_json_str::<Vec<PriorityLevel>>(r#"["high", "urgent"]"#).unwrap_err();
/// assert_eq!(err.path(), "[1]");
/// ```
pub fn from_json_str<T: DeserializeOwned>(text: &str) -> Result<T, ProtocolError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(path_error)?;
    // Trailing characters after the document are an error too.
    de.end().map_err(|e| ProtocolError::Parse {
        path: String::new(),
        message: e.to_string(),
    })?;
    Ok(value)
}

/// Converts an already parsed JSON value into `T`, naming the JSON path of the
/// first bad value on failure.
pub fn from_json_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ProtocolError> {
    serde_path_to_error::deserialize(value).map_err(path_error)
}

fn path_error(err: serde_path_to_error::Error<serde_json::Error>) -> ProtocolError {
    let path = err.path().to_string();
    ProtocolError::Parse {
        // serde_path_to_error writes `.` for the root.
        path: if path == "." { String::new() } else { path },
        message: err.into_inner().to_string(),
    }
}

/// Result alias of this crate.
pub type Result<T, E = ProtocolError> = std::result::Result<T, E>;
