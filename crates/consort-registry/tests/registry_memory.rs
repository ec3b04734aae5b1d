//! The registry cases on `MemoryBackend`.

// Integration tests: unwrap/panic report failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use std::sync::Arc;

use consort_state::conformance::random_namespace;
use consort_state::{MemoryBackend, StateBackend};

fn backend() -> Arc<dyn StateBackend> {
    Arc::new(MemoryBackend::new(&random_namespace("registry")).unwrap())
}

registry_cases!(|_test: &'static str| async { Some(((), backend())) });
