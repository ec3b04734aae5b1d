//! The registry cases on `MemoryBackend`.

// Integration tests: unwrap/panic report failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use consort_state::conformance::random_namespace;
use consort_state::{MemoryBackend, StateBackend};

fn backend() -> Arc<dyn StateBackend> {
    Arc::new(MemoryBackend::new(&random_namespace("registry")).unwrap())
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            common::$name(backend()).await;
        }
    )*};
}

cases!(
    register_update_deregister,
    invalid_profile_rejected,
    heartbeat_unknown_expert,
    heartbeat_lapse,
    unswept_lapse_reported_by_heartbeat,
    concurrent_sweepers_report_once,
    slots_are_atomic,
    slot_drop_and_reset,
    watch_sees_changes,
    lapse_race_reports_once,
);
