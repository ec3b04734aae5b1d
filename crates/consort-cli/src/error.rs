//! How the command fails, bad input (exit 2) or anything else (exit 1), and
//! the loaders of its input files, which make every problem with a file bad
//! input named by file, JSON path, line and column.

use std::path::Path;
use std::process::ExitCode;

use consort_protocol::{ExpertProfile, ProtocolError, from_json_str};
use serde::de::DeserializeOwned;

/// A failure of one command, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The user's input is wrong: a missing file, malformed JSON, an unknown
    /// field, a bad value. The message names the file and the JSON path, line
    /// and column.
    #[error("{0}")]
    BadInput(String),
    /// Something else went wrong (a backend is unreachable, a run failed).
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            Self::BadInput(_) => ExitCode::from(2),
            Self::Failed(_) => ExitCode::from(1),
        }
    }

    /// Bad input found in `file`, described by a protocol error with a path
    /// (and, when read from text, a line and column).
    pub(crate) fn in_file(file: &Path, err: &ProtocolError) -> Self {
        Self::BadInput(format!("{}: {err}", file.display()))
    }
}

/// Reads a whole input file; a missing or unreadable file is bad input.
pub(crate) fn read_input(file: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(file)
        .map_err(|e| CliError::BadInput(format!("{}: cannot read: {e}", file.display())))
}

/// Loads a hand-written JSON document: strict, so an unknown field is bad
/// input with the field it most likely means.
pub(crate) fn load_json<T: DeserializeOwned>(file: &Path) -> Result<T, CliError> {
    from_json_str(&read_input(file)?).map_err(|e| CliError::in_file(file, &e))
}

/// Loads a JSON Lines file: one document per non-blank line, all parsed
/// before any is used, each with its line number. A file without any
/// document is bad input: there is nothing to do, which is never what was
/// meant.
pub(crate) fn load_json_lines<T: DeserializeOwned>(
    file: &Path,
) -> Result<Vec<(usize, T)>, CliError> {
    let text = read_input(file)?;
    let mut documents = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let number = index + 1;
        let document = from_json_str(line).map_err(|e| {
            CliError::BadInput(format!(
                "{}:{number}: {}",
                file.display(),
                e.on_line(number)
            ))
        })?;
        documents.push((number, document));
    }
    if documents.is_empty() {
        return Err(CliError::BadInput(format!(
            "{}: the file is empty: give one JSON document per line",
            file.display()
        )));
    }
    Ok(documents)
}

/// Loads a registry document (the spec's `{"expert_registry": ...}` or an
/// array of profiles); an empty registry is bad input.
pub(crate) fn load_experts(file: &Path) -> Result<Vec<ExpertProfile>, CliError> {
    consort_protocol::load_registry(&read_input(file)?).map_err(|e| CliError::in_file(file, &e))
}

/// A request to route must say something: a blank one is bad input, named
/// by `place` (the argument, or the file and line it came from).
pub(crate) fn check_request(place: &str, text: &str) -> Result<(), CliError> {
    if text.trim().is_empty() {
        Err(CliError::BadInput(format!(
            "{place}: the request text is empty; give the request to route"
        )))
    } else {
        Ok(())
    }
}
