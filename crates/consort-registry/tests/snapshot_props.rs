//! Property: whatever sequence of registrations, heartbeats, lapses,
//! availability changes and slot operations happens, a snapshot shows exactly
//! the modelled availability and load, and never an expert online whose
//! heartbeat has lapsed.
//!
//! A lapse is produced by deleting the heartbeat key, which is exactly what
//! its expiry does to readers; real TTLs would make the property slow and
//! timing-dependent without exercising anything more of the registry.

// Property test: unwrap/panic report failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use consort_protocol::{Availability, ExpertId, ExpertProfile};
use consort_registry::{ExpertRegistry, RegistryConfig, RegistryError, Slot};
use consort_state::{MemoryBackend, StateBackend};
use proptest::prelude::*;

const IDS: [&str; 3] = ["alpha", "beta", "gamma"];

#[derive(Debug, Clone)]
enum Op {
    Register(usize, Option<u32>),
    Deregister(usize),
    Heartbeat(usize),
    Lapse(usize),
    SetAvailability(usize, Availability),
    Acquire(usize),
    Release(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let id = 0..IDS.len();
    let availability = prop_oneof![
        Just(Availability::Available),
        Just(Availability::Busy),
        Just(Availability::Offline)
    ];
    prop_oneof![
        (id.clone(), prop::option::of(1..4u32)).prop_map(|(i, m)| Op::Register(i, m)),
        id.clone().prop_map(Op::Deregister),
        id.clone().prop_map(Op::Heartbeat),
        id.clone().prop_map(Op::Lapse),
        (id.clone(), availability).prop_map(|(i, a)| Op::SetAvailability(i, a)),
        id.clone().prop_map(Op::Acquire),
        id.prop_map(Op::Release),
    ]
}

#[derive(Debug, Default)]
struct Model {
    registered: bool,
    heartbeat: bool,
    declared: Availability,
    max: Option<u32>,
    /// Slots survive deregistration, as the load counter does.
    slots: Vec<Slot>,
}

impl Model {
    fn live(&self) -> Availability {
        if self.heartbeat {
            self.declared
        } else {
            Availability::Offline
        }
    }
}

async fn run(ops: Vec<Op>) {
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new("props").unwrap());
    let registry = ExpertRegistry::new(
        backend.clone(),
        RegistryConfig::default().with_heartbeat_ttl(Duration::from_secs(600)),
    );
    let mut model: Vec<Model> = IDS.iter().map(|_| Model::default()).collect();
    for op in ops {
        apply(&registry, &backend, &mut model, op).await;
        check(&registry, &model).await;
    }
}

async fn apply(
    registry: &ExpertRegistry,
    backend: &Arc<dyn StateBackend>,
    model: &mut [Model],
    op: Op,
) {
    match op {
        Op::Register(i, max) => {
            let mut p = ExpertProfile::new(IDS[i], vec!["x".to_owned()]);
            p.max_concurrent = max;
            registry.register(&p).await.unwrap();
            let m = &mut model[i];
            (m.registered, m.heartbeat, m.declared, m.max) =
                (true, true, Availability::Available, max);
        }
        Op::Deregister(i) => {
            let result = registry.deregister(IDS[i]).await;
            assert_eq!(result.is_ok(), model[i].registered, "{result:?}");
            (model[i].registered, model[i].heartbeat) = (false, false);
        }
        Op::Heartbeat(i) => {
            let result = registry.heartbeat(IDS[i]).await;
            match result {
                Ok(()) => assert!(model[i].registered),
                Err(RegistryError::NotRegistered { .. }) => assert!(!model[i].registered),
                Err(e) => panic!("{e}"),
            }
            model[i].heartbeat = model[i].registered;
        }
        Op::Lapse(i) => {
            backend
                .delete(&format!("experts:heartbeat:{}", IDS[i]))
                .await
                .unwrap();
            model[i].heartbeat = false;
        }
        Op::SetAvailability(i, a) => {
            let result = registry.set_availability(IDS[i], a).await;
            assert_eq!(result.is_ok(), model[i].registered, "{result:?}");
            if model[i].registered {
                model[i].declared = a;
            }
        }
        Op::Acquire(i) => {
            let m = &mut model[i];
            let held = u32::try_from(m.slots.len()).unwrap();
            match registry.acquire_slot(IDS[i]).await {
                Ok(slot) => {
                    assert!(m.registered && m.live() != Availability::Offline);
                    assert!(
                        m.max.is_none_or(|max| held < max),
                        "slot {} granted over max {:?}",
                        held + 1,
                        m.max
                    );
                    m.slots.push(slot);
                }
                Err(RegistryError::NotRegistered { .. }) => assert!(!m.registered),
                Err(RegistryError::Offline { .. }) => assert_eq!(m.live(), Availability::Offline),
                Err(RegistryError::AtCapacity { max, .. }) => {
                    assert_eq!(m.max, Some(max));
                    assert!(held >= max, "refused at {held} of {max}");
                }
                Err(e) => panic!("{e}"),
            }
        }
        Op::Release(i) => {
            if let Some(slot) = model[i].slots.pop() {
                let after = slot.release().await.unwrap();
                assert_eq!(after as usize, model[i].slots.len());
            }
        }
    }
}

async fn check(registry: &ExpertRegistry, model: &[Model]) {
    let snapshot: BTreeMap<ExpertId, ExpertProfile> = registry
        .snapshot()
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    for (id, m) in IDS.iter().zip(model) {
        let Some(p) = snapshot.get(*id) else {
            assert!(!m.registered, "`{id}` missing from the snapshot");
            continue;
        };
        assert!(m.registered, "`{id}` listed after deregistration");
        if !m.heartbeat {
            assert_eq!(
                p.availability_status,
                Availability::Offline,
                "`{id}` online with a lapsed heartbeat"
            );
        }
        assert_eq!(p.availability_status, m.live(), "`{id}` availability");
        assert_eq!(p.current_load as usize, m.slots.len(), "`{id}` load");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn snapshot_matches_model(ops in prop::collection::vec(op(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        runtime.block_on(run(ops));
    }
}
