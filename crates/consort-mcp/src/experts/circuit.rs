//! The circuit breaker kept per expert: closed, open and half-open.
//!
//! A pure state machine over an explicit clock, so its rules are tested
//! directly (including by proptest); the executor turns its transitions into
//! `expert:circuit_*` events.

use std::time::Duration;

use tokio::time::Instant;

use super::deployment::CircuitConfig;

/// Where an expert's circuit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CircuitState {
    /// Calls go through.
    Closed,
    /// Calls fail fast until the open period ends.
    Open,
    /// The open period ended: one probe call is let through, and its outcome
    /// closes or reopens the circuit.
    HalfOpen,
}

impl CircuitState {
    /// `closed`, `open` or `half_open`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

/// A change worth telling the world about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    /// Closed (or half-open) to open, after this many failures in a row.
    Opened { consecutive_failures: u32 },
    /// Half-open to closed: the probe succeeded.
    Closed,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// One expert's breaker.
#[derive(Debug, Clone)]
pub(crate) struct Circuit {
    config: CircuitConfig,
    phase: Phase,
    consecutive_failures: u32,
}

/// A call the breaker let through; report how it went with
/// [`Circuit::succeeded`] or [`Circuit::failed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Admission {
    /// Whether this call is the half-open probe.
    pub(crate) probe: bool,
}

impl Circuit {
    pub(crate) fn new(config: CircuitConfig) -> Self {
        Self {
            config,
            phase: Phase::Closed,
            consecutive_failures: 0,
        }
    }

    /// The state at `now` (an open circuit whose time is up reads half-open).
    pub(crate) fn state(&self, now: Instant) -> CircuitState {
        match self.phase {
            Phase::Closed => CircuitState::Closed,
            Phase::Open { until } if now < until => CircuitState::Open,
            Phase::Open { .. } | Phase::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }

    /// Lets a call through, or says how long until the next may try.
    pub(crate) fn admit(&mut self, now: Instant) -> Result<Admission, Duration> {
        match self.phase {
            Phase::Closed => Ok(Admission { probe: false }),
            Phase::Open { until } if now < until => Err(until - now),
            Phase::Open { .. } | Phase::HalfOpen { probing: false } => {
                self.phase = Phase::HalfOpen { probing: true };
                Ok(Admission { probe: true })
            }
            // Another call is probing; it decides soon.
            Phase::HalfOpen { probing: true } => Err(Duration::ZERO),
        }
    }

    /// A call admitted as `admission` succeeded.
    pub(crate) fn succeeded(&mut self, admission: Admission) -> Option<Transition> {
        self.consecutive_failures = 0;
        match self.phase {
            Phase::HalfOpen { .. } if admission.probe => {
                self.phase = Phase::Closed;
                Some(Transition::Closed)
            }
            _ => None,
        }
    }

    /// A call admitted as `admission` failed in a way that counts against
    /// the expert (transport, timeout, server error).
    pub(crate) fn failed(&mut self, admission: Admission, now: Instant) -> Option<Transition> {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        let open = match self.phase {
            Phase::Closed => self.consecutive_failures >= self.config.failures,
            Phase::HalfOpen { .. } => admission.probe,
            // Calls admitted before it opened report late: already counted.
            Phase::Open { .. } => false,
        };
        if !open {
            return None;
        }
        self.phase = Phase::Open {
            until: now + self.config.open_for,
        };
        Some(Transition::Opened {
            consecutive_failures: self.consecutive_failures,
        })
    }

    /// A call admitted as `admission` ended without saying anything about
    /// the expert (dropped, or a failure that is not the expert's fault): a
    /// probe gives its turn to the next call.
    pub(crate) fn abandoned(&mut self, admission: Admission) {
        if admission.probe && matches!(self.phase, Phase::HalfOpen { probing: true }) {
            self.phase = Phase::HalfOpen { probing: false };
        }
    }

    /// Failures in a row so far.
    pub(crate) fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const OPEN: Duration = Duration::from_millis(100);

    fn circuit(failures: u32) -> Circuit {
        Circuit::new(CircuitConfig::new(failures, OPEN))
    }

    #[test]
    fn opens_after_n_failures_then_half_opens_and_a_probe_closes_it() {
        let t0 = Instant::now();
        let mut c = circuit(3);
        for i in 1..=3 {
            let a = c.admit(t0).unwrap();
            let t = c.failed(a, t0);
            assert_eq!(t.is_some(), i == 3, "failure {i}");
        }
        assert_eq!(c.state(t0), CircuitState::Open);
        assert_eq!(c.admit(t0), Err(OPEN));
        let later = t0 + OPEN;
        assert_eq!(c.state(later), CircuitState::HalfOpen);
        let probe = c.admit(later).unwrap();
        assert!(probe.probe);
        assert_eq!(c.admit(later), Err(Duration::ZERO), "one probe at a time");
        assert_eq!(c.succeeded(probe), Some(Transition::Closed));
        assert_eq!(c.state(later), CircuitState::Closed);
        assert_eq!(c.consecutive_failures(), 0);
    }

    #[test]
    fn a_failed_probe_reopens_and_an_abandoned_one_frees_the_turn() {
        let t0 = Instant::now();
        let mut c = circuit(1);
        let a = c.admit(t0).unwrap();
        assert!(c.failed(a, t0).is_some());
        let t1 = t0 + OPEN;
        let probe = c.admit(t1).unwrap();
        c.abandoned(probe);
        let probe = c.admit(t1).unwrap();
        assert!(matches!(
            c.failed(probe, t1),
            Some(Transition::Opened { .. })
        ));
        assert_eq!(c.state(t1), CircuitState::Open);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Call { fails: bool },
        Wait,
    }

    proptest! {
        /// Whatever happens: the circuit is open only after `failures`
        /// failures in a row (or a failed probe), at most one probe is out at
        /// a time, and a closed circuit always admits.
        #[test]
        fn breaker_invariants(failures in 1u32..5, ops in prop::collection::vec(
            prop_oneof![any::<bool>().prop_map(|fails| Op::Call { fails }), Just(Op::Wait)], 0..60)) {
            let mut now = Instant::now();
            let mut c = circuit(failures);
            let mut in_a_row = 0u32;
            for op in ops {
                match op {
                    Op::Wait => now += OPEN,
                    Op::Call { fails } => {
                        let before = c.state(now);
                        match c.admit(now) {
                            Err(_) => prop_assert_ne!(before, CircuitState::Closed),
                            Ok(a) => {
                                prop_assert_eq!(a.probe, before == CircuitState::HalfOpen);
                                if a.probe {
                                    prop_assert!(c.admit(now).is_err(), "a second probe");
                                }
                                if fails {
                                    in_a_row += 1;
                                    let opened = c.failed(a, now).is_some();
                                    prop_assert_eq!(opened, a.probe || in_a_row == failures);
                                } else {
                                    in_a_row = 0;
                                    let closed = c.succeeded(a) == Some(Transition::Closed);
                                    prop_assert_eq!(closed, a.probe);
                                    prop_assert_eq!(c.state(now), CircuitState::Closed);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
