//! Making a [`Driver`]: for a new run, or for a run found in the backend.

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};

use consort_protocol::EventKind;
use consort_state::{Lease, Version};
use jiff::Timestamp;
use serde_json::Value;

use super::{Driver, Stop, Turn};
use crate::context::RunShared;
use crate::engine::Inner;
use crate::events::Events;
use crate::executor::JsonMap;
use crate::graph::Plan;
use crate::ownership::Ownership;
use crate::records::{StepRecord, percent, step_key_prefix};
use crate::settings::{FailurePolicy, RunSettings, SettingsChange};
use crate::status::{RunState, StepState};
use crate::stored::Stored;

/// What a driver is made from, new or resumed.
struct Seed<'a> {
    run_id: &'a str,
    graph: Arc<Plan>,
    params: JsonMap,
    records: Vec<StepRecord>,
    created_at: Timestamp,
    settings: RunSettings,
    settings_changes: Vec<SettingsChange>,
    /// The version of the run's turn key (absent for a new run).
    turn_version: Option<Version>,
}

impl Driver {
    fn with_records(inner: &Arc<Inner>, seed: Seed<'_>, ownership: Ownership) -> Self {
        let Seed {
            run_id,
            graph,
            params,
            mut records,
            created_at,
            settings,
            settings_changes,
            turn_version,
        } = seed;
        let step_key_prefix = step_key_prefix(run_id);
        let turn = ownership
            .lease
            .as_ref()
            .filter(|_| inner.backend.capabilities().shared_across_processes)
            .map(|lease| Turn::new(run_id, lease.token, turn_version));
        let run_id: Arc<str> = Arc::from(run_id);
        let events = Events::new(
            &inner.backend,
            inner.config.backend_retry,
            inner.config.publish_events,
            &inner.owner,
            &run_id,
            graph.name(),
        );
        let waiting = (0..graph.len())
            .map(|i| {
                graph
                    .deps(i)
                    .iter()
                    .filter(|&&d| {
                        records
                            .get(d)
                            .is_none_or(|r| r.state != StepState::Completed)
                    })
                    .count()
            })
            .collect();
        let completed = records
            .iter()
            .filter(|r| r.state == StepState::Completed)
            .count();
        let outputs = records
            .iter_mut()
            .map(|r| r.outputs.take().map_or_else(OnceLock::new, OnceLock::from))
            .collect();
        Self {
            inner: Arc::clone(inner),
            shared: Arc::new(RunShared {
                run_id,
                plan: graph,
                params,
                outputs,
                progress: events.progress_sink(),
            }),
            records,
            settings,
            settings_changes,
            settings_json: None,
            waiting,
            ready: VecDeque::new(),
            executing: 0,
            completed,
            stop: Stop::None,
            ops: Vec::new(),
            jobs: Vec::new(),
            step_key_prefix,
            buffer: Vec::new(),
            guard: ownership.lease.as_ref().map(Lease::guard),
            turn,
            outage: false,
            abandon_at: None,
            stamp: None,
            created_at,
            ownership,
            events,
        }
    }

    /// A new run; [`begin`](Self::begin) writes its records.
    pub(crate) fn new_run(
        inner: &Arc<Inner>,
        run_id: &str,
        graph: Arc<Plan>,
        params: JsonMap,
        settings: RunSettings,
        ownership: Ownership,
    ) -> Self {
        let seed = Seed {
            run_id,
            records: vec![StepRecord::default(); graph.len()],
            graph,
            params,
            created_at: Timestamp::now(),
            settings,
            settings_changes: Vec::new(),
            turn_version: None,
        };
        let mut driver = Self::with_records(inner, seed, ownership);
        driver.ready = (0..driver.graph().len())
            .filter(|&i| driver.waiting.get(i) == Some(&0))
            .collect();
        driver
    }

    /// A run found in the backend: completed steps stay completed, steps that
    /// were in flight run again with their next attempt number. `change`
    /// (settings other than the stored ones) is recorded in the run.
    pub(crate) fn resumed(
        inner: &Arc<Inner>,
        run_id: &str,
        stored: Stored,
        settings: RunSettings,
        change: Option<SettingsChange>,
        ownership: Ownership,
    ) -> Self {
        let Stored {
            run,
            spec,
            graph,
            steps,
            cancel_requested,
            turn_version,
        } = stored;
        let changed = change.is_some();
        let mut settings_changes = run.settings_changes;
        settings_changes.extend(change);
        let seed = Seed {
            run_id,
            graph,
            params: spec.params,
            records: steps,
            created_at: run.created_at,
            settings,
            settings_changes,
            turn_version,
        };
        let mut driver = Self::with_records(inner, seed, ownership);
        for i in 0..driver.records.len() {
            let launchable = match driver.records.get(i) {
                Some(r) => match r.state {
                    StepState::Running => true,
                    StepState::WaitingForHuman => r.answer.is_some(),
                    StepState::Pending => driver.waiting.get(i) == Some(&0),
                    _ => false,
                },
                None => false,
            };
            if launchable {
                driver.ready.push_back(i);
            }
        }
        let failed: Vec<usize> = (0..driver.records.len())
            .filter(|&i| driver.state_of(i) == Some(StepState::Failed))
            .collect();
        if !failed.is_empty() {
            match driver.settings.failure_policy {
                FailurePolicy::FailFast => driver.stop_with(Stop::FailFast),
                FailurePolicy::ContinueOnFailure => {
                    for i in failed {
                        driver.skip_dependents(i);
                    }
                }
            }
        }
        if cancel_requested {
            driver.stop_with(Stop::Cancel);
        }
        if run.state != RunState::Running || changed {
            driver.push_run_record(RunState::Running, None, None);
        }
        driver
    }

    /// Tells watchers that this engine drives the resumed run now.
    pub(crate) fn announce_resumed(&self) {
        let percent = percent(self.completed, self.graph().len());
        self.events
            .emit(EventKind::WorkflowStarted, None, percent, Some("resumed"));
    }

    /// Gives step `index` a human's answer and queues it.
    pub(crate) fn answer(&mut self, index: usize, answer: Value) {
        if let Some(rec) = self.records.get_mut(index) {
            rec.answer = Some(answer);
            if !self.ready.contains(&index) {
                self.ready.push_back(index);
            }
        }
    }
}
