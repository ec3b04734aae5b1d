//! The JSON entry points: every document consort reads goes through them,
//! so every error names its JSON path, its line and column, and, for a
//! misspelt field or variant, the name it most likely means.

use serde::de::DeserializeOwned;

use crate::{Location, ProtocolError, did_you_mean};

/// Parses `text` as JSON into `T`, naming the JSON path of the first bad value
/// on failure, with its line and column.
///
/// An unknown field of a type that rejects them (every hand-written input)
/// becomes [`ProtocolError::UnknownField`] with the known field it most
/// likely means:
///
/// ```
/// use consort_protocol::{from_json_str, PriorityLevel, ProtocolError, WorkflowStep};
///
/// let err = from_json_str::<Vec<PriorityLevel>>(r#"["high", "urgent"]"#).unwrap_err();
/// assert_eq!(err.path(), "[1]");
///
/// let err = from_json_str::<WorkflowStep>(
///     r#"{"step": 1, "name": "Kickoff", "primary_expert": "pm", "nextstep": 2}"#,
/// )
/// .unwrap_err();
/// assert!(matches!(err, ProtocolError::UnknownField { .. }));
/// assert_eq!(err.suggestion(), Some("next_step"));
/// assert_eq!(
///     err.to_string(),
///     r#"nextstep: unknown field; did you mean "next_step"? (line 1, column 65)"#
/// );
/// ```
pub fn from_json_str<T: DeserializeOwned>(text: &str) -> Result<T, ProtocolError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(path_error)?;
    // Trailing characters after the document are an error too.
    de.end().map_err(|e| translate(String::new(), &e))?;
    Ok(value)
}

/// Converts an already parsed JSON value into `T`, naming the JSON path of the
/// first bad value on failure (there is no text, so no line and column).
pub fn from_json_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ProtocolError> {
    serde_path_to_error::deserialize(value).map_err(path_error)
}

fn path_error(err: serde_path_to_error::Error<serde_json::Error>) -> ProtocolError {
    let path = err.path().to_string();
    // serde_path_to_error writes `.` for the root.
    let path = if path == "." { String::new() } else { path };
    translate(path, &err.into_inner())
}

/// Turns serde_json's error at `path` into ours: the location moves to its
/// own field, and unknown names get a suggestion.
fn translate(path: String, err: &serde_json::Error) -> ProtocolError {
    let location = (err.line() > 0).then(|| Location {
        line: err.line(),
        column: err.column(),
    });
    let mut message = err.to_string();
    // serde_json appends the location to the message; it has its own field.
    if let Some(Location { line, column }) = location {
        let suffix = format!(" at line {line} column {column}");
        if message.ends_with(&suffix) {
            message.truncate(message.len() - suffix.len());
        }
    }
    if let Some((field, expected)) = unknown_name(&message, "field") {
        let suggestion = did_you_mean(&field, expected.iter().map(String::as_str)).map(Box::from);
        return ProtocolError::UnknownField {
            path,
            field: field.into(),
            suggestion,
            expected: expected.into_iter().map(Box::from).collect(),
            location,
        };
    }
    if let Some((variant, expected)) = unknown_name(&message, "variant")
        && let Some(suggestion) = did_you_mean(&variant, expected.iter().map(String::as_str))
    {
        message = format!("{message}; did you mean {suggestion:?}?");
    }
    ProtocolError::Parse {
        path,
        message,
        location,
    }
}

/// Reads serde's `unknown field `x`, expected one of `a`, `b``, (or
/// `unknown variant ...`) back into the name and the expected names. serde
/// builds this message in `de::Error::unknown_field` and
/// `unknown_variant`, and serde_json keeps only its text.
fn unknown_name(message: &str, what: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix(&format!("unknown {what} `"))?;
    if let Some(name) = rest.strip_suffix("`, there are no fields") {
        return Some((name.to_owned(), Vec::new()));
    }
    // The name is the user's text and may hold anything; the expected names
    // are the type's and hold no backquote, so the last separator is the one.
    let split = rest.rfind("`, expected ")?;
    let name = rest.get(..split)?;
    let list = rest.get(split + "`, expected ".len()..)?;
    let expected = list
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    Some((name.to_owned(), expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_shape_of_serdes_unknown_name_message() {
        let cases: [(&str, &str, &[&str]); 4] = [
            (
                "unknown field `nextstep`, expected `step`",
                "nextstep",
                &["step"],
            ),
            ("unknown field `x`, expected `a` or `b`", "x", &["a", "b"]),
            (
                "unknown field `odd`, expected name`, expected one of `a`, `b`, `c`",
                "odd`, expected name",
                &["a", "b", "c"],
            ),
            ("unknown field `x`, there are no fields", "x", &[]),
        ];
        for (message, name, expected) in cases {
            let (got_name, got_expected) = unknown_name(message, "field").unwrap_or_default();
            assert_eq!(got_name, name, "{message}");
            assert_eq!(got_expected, expected, "{message}");
        }
        assert!(unknown_name("missing field `step`", "field").is_none());
        assert_eq!(
            unknown_name(
                "unknown variant `hgih`, expected `high` or `low`",
                "variant"
            ),
            Some(("hgih".to_owned(), vec!["high".to_owned(), "low".to_owned()]))
        );
    }

    #[test]
    fn misspelt_variants_get_a_suggestion_and_keep_serdes_message() {
        let err = from_json_str::<crate::Priority>("\n \"hgih\"").unwrap_err();
        assert_eq!(
            err.to_string(),
            "(document root): unknown variant `hgih`, expected one of `low`, `medium`, `high`; \
             did you mean \"high\"? (line 2, column 7)"
        );
    }

    #[test]
    fn values_have_paths_but_no_location() {
        let value =
            serde_json::json!({"step": 1, "name": "a", "primary_expert": "b", "nextstep": 2});
        let err = from_json_value::<crate::WorkflowStep>(value).unwrap_err();
        assert_eq!(err.path(), "nextstep");
        assert_eq!(err.location(), None);
    }

    #[test]
    fn trailing_text_is_located() {
        let err = from_json_str::<u32>("1\n 2").unwrap_err();
        assert_eq!(err.path(), "");
        assert_eq!(err.location(), Some(Location { line: 2, column: 2 }));
    }
}
