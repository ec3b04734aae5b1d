//! How the command fails: bad input (exit 2) or anything else (exit 1).

use std::path::Path;
use std::process::ExitCode;

use consort_protocol::ProtocolError;

/// A failure of one command, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The user's input is wrong: a missing file, malformed JSON, a bad value.
    /// The message names the file and the JSON path or line.
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

    /// Bad input found in `file`, described by a protocol error with a path.
    pub(crate) fn in_file(file: &Path, err: &ProtocolError) -> Self {
        Self::BadInput(format!("{}: {err}", file.display()))
    }
}

/// Reads a whole input file; a missing or unreadable file is bad input.
pub(crate) fn read_input(file: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(file)
        .map_err(|e| CliError::BadInput(format!("{}: cannot read: {e}", file.display())))
}

/// Loads a registry document (the spec's `{"expert_registry": ...}` or an
/// array of profiles).
pub(crate) fn load_experts(file: &Path) -> Result<Vec<consort_protocol::ExpertProfile>, CliError> {
    consort_protocol::load_registry(&read_input(file)?).map_err(|e| CliError::in_file(file, &e))
}
