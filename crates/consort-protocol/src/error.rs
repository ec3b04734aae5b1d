//! The one error type of this crate.

use std::fmt;

/// Why a document could not be turned into consort types.
///
/// Every variant carries the JSON path of the offending value (for example
/// `expert_registry.finance_accountant.priority_level`), so a message can be
/// acted on without reading the parser's source; errors found while reading
/// text also carry its [`Location`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The text is not JSON, or a value does not have the expected shape.
    #[error("{}: {message}{}", display_path(path), At(*location))]
    #[non_exhaustive]
    Parse {
        /// JSON path of the bad value; empty for the document root.
        path: String,
        /// What the parser expected and found.
        message: String,
        /// Where in the text, when the document was read from text.
        location: Option<Location>,
    },
    /// An object has a field its type does not know: a typo, or a field of
    /// another version. Hand-written documents (workflow definitions,
    /// registries, recommendations) reject these rather than ignore them.
    #[error(
        "{}: unknown field{}{}",
        display_path(path),
        Hint { suggestion: suggestion.as_deref(), expected },
        At(*location)
    )]
    #[non_exhaustive]
    UnknownField {
        /// JSON path of the unknown field itself
        /// (`workflow_steps[1].nextstep`).
        path: String,
        /// The unknown field's name (`nextstep`).
        field: Box<str>,
        /// The known field it most likely means (`next_step`), if one is
        /// close. Also [`ProtocolError::suggestion`].
        suggestion: Option<Box<str>>,
        /// Every field known at that place.
        expected: Box<[Box<str>]>,
        /// Where in the text, when the document was read from text.
        location: Option<Location>,
    },
    /// The JSON has the right shape but breaks a rule of the type (an empty
    /// id, a range whose minimum exceeds its maximum, ...).
    #[error("{}: {reason}", display_path(path))]
    #[non_exhaustive]
    Invalid {
        /// JSON path of the bad value; empty for the document root.
        path: String,
        /// The rule that was broken.
        reason: String,
    },
}

/// A place in a JSON text: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column (in bytes) on that line, from 1.
    pub column: usize,
}

impl ProtocolError {
    /// An error for a value that parsed but breaks a rule, at `path` (a JSON
    /// path such as `workflow_steps[2].retry.max_attempts`; empty for the
    /// root).
    pub fn invalid(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// The JSON path of the offending value (`""` for the root).
    pub fn path(&self) -> &str {
        match self {
            Self::Parse { path, .. }
            | Self::UnknownField { path, .. }
            | Self::Invalid { path, .. } => path,
        }
    }

    /// For an unknown field or enum variant: the known name it most likely
    /// means (`next_step` for `nextstep`).
    pub fn suggestion(&self) -> Option<&str> {
        match self {
            Self::UnknownField { suggestion, .. } => suggestion.as_deref(),
            Self::Parse { .. } | Self::Invalid { .. } => None,
        }
    }

    /// Where in the text the error was found, when the document was read
    /// from text ([`from_json_str`](crate::from_json_str)).
    pub fn location(&self) -> Option<Location> {
        match self {
            Self::Parse { location, .. } | Self::UnknownField { location, .. } => *location,
            Self::Invalid { .. } => None,
        }
    }

    /// The same error with `prefix` put in front of its path, for errors found
    /// in a nested value.
    #[must_use]
    pub fn within(mut self, prefix: &str) -> Self {
        if prefix.is_empty() {
            return self;
        }
        let path = match &mut self {
            Self::Parse { path, .. }
            | Self::UnknownField { path, .. }
            | Self::Invalid { path, .. } => path,
        };
        *path = if path.is_empty() {
            prefix.to_owned()
        } else if path.starts_with('[') {
            format!("{prefix}{path}")
        } else {
            format!("{prefix}.{path}")
        };
        self
    }

    /// The same error placed on `line` of a larger text, for a document that
    /// is one line of it (a line of a JSON Lines file); the column stays.
    #[must_use]
    pub fn on_line(mut self, line: usize) -> Self {
        if let Self::Parse {
            location: Some(location),
            ..
        }
        | Self::UnknownField {
            location: Some(location),
            ..
        } = &mut self
        {
            location.line = line;
        }
        self
    }
}

fn display_path(path: &str) -> &str {
    if path.is_empty() {
        "(document root)"
    } else {
        path
    }
}

/// ` (line 3, column 14)`, or nothing without a location.
struct At(Option<Location>);

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(Location { line, column }) => write!(f, " (line {line}, column {column})"),
            None => Ok(()),
        }
    }
}

/// What an unknown field's message offers instead: the likely field, or
/// every field known there.
struct Hint<'a> {
    suggestion: Option<&'a str>,
    expected: &'a [Box<str>],
}

impl fmt::Display for Hint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.suggestion, self.expected) {
            (Some(suggestion), _) => write!(f, "; did you mean {suggestion:?}?"),
            (None, []) => f.write_str("; no fields are allowed here"),
            (None, [first, rest @ ..]) => {
                write!(f, "; expected one of: {first}")?;
                rest.iter().try_for_each(|name| write!(f, ", {name}"))
            }
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = ProtocolError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(suggestion: Option<&str>, expected: &[&str]) -> ProtocolError {
        ProtocolError::UnknownField {
            path: "workflow_steps[1].nextstep".into(),
            field: "nextstep".into(),
            suggestion: suggestion.map(Box::from),
            expected: expected.iter().map(|s| Box::from(*s)).collect(),
            location: Some(Location {
                line: 14,
                column: 20,
            }),
        }
    }

    #[test]
    fn unknown_fields_offer_the_likely_field_or_the_known_ones() {
        assert_eq!(
            unknown(Some("next_step"), &["step", "next_step"]).to_string(),
            r#"workflow_steps[1].nextstep: unknown field; did you mean "next_step"? (line 14, column 20)"#
        );
        assert_eq!(
            unknown(None, &["step", "name"]).to_string(),
            "workflow_steps[1].nextstep: unknown field; expected one of: step, name (line 14, column 20)"
        );
        assert_eq!(
            unknown(None, &[]).to_string(),
            "workflow_steps[1].nextstep: unknown field; no fields are allowed here (line 14, column 20)"
        );
    }

    #[test]
    fn within_and_on_line_move_the_error() {
        let err = unknown(None, &[]).within("workflows[3]").on_line(7);
        assert_eq!(err.path(), "workflows[3].workflow_steps[1].nextstep");
        assert_eq!(
            err.location(),
            Some(Location {
                line: 7,
                column: 20
            })
        );
        let root = ProtocolError::invalid("", "empty").within("[2]");
        assert_eq!(root.path(), "[2]");
        assert_eq!(
            ProtocolError::invalid("[0]", "x").within("list").path(),
            "list[0]"
        );
    }
}
