//! Backend-independent registry test cases: each takes a fresh
//! `Arc<dyn StateBackend>` and panics with a message naming what broke.

// Test support: panicking on a broken expectation is how these cases fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use consort_protocol::{Availability, ExpertId, ExpertProfile};
use consort_registry::{
    ExpertRegistry, RegistryChange, RegistryConfig, RegistryError, RegistryWatch,
};
use consort_state::StateBackend;

/// One `#[tokio::test]` per case of this module, so every backend runs the
/// same list. `$open` takes the test's name and returns a future of
/// `Option<(guard, Arc<dyn StateBackend>)>`: the guard (a private Redis
/// server, say) lives until the test ends; `None` skips.
macro_rules! registry_cases {
    ($open:expr) => {
        registry_cases!(@each $open;
            register_update_deregister,
            invalid_profile_rejected,
            heartbeat_unknown_expert,
            heartbeat_ages,
            heartbeat_lapse,
            unswept_lapse_reported_by_heartbeat,
            concurrent_sweepers_report_once,
            slots_are_atomic,
            slot_drop_and_reset,
            watch_sees_changes,
            lapse_race_reports_once);
    };
    (@each $open:expr; $($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let Some((_keep, backend)) = ($open)(stringify!($name)).await else {
                return;
            };
            common::$name(backend).await;
        }
    )*};
}

/// Short enough to keep tests quick, long enough that a loaded 2-core
/// machine does not miss heartbeats sent every TTL/4.
pub(crate) const SHORT_TTL: Duration = Duration::from_millis(300);
pub(crate) const SWEEP: Duration = Duration::from_millis(100);
/// Upper bound for anything that should happen "soon"; a liveness bound, not a timing assertion.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

pub(crate) fn registry(
    backend: Arc<dyn StateBackend>,
    ttl: Duration,
    source: &str,
) -> ExpertRegistry {
    ExpertRegistry::new(
        backend,
        RegistryConfig::default()
            .with_heartbeat_ttl(ttl)
            .with_sweep_interval(SWEEP)
            .with_source(source),
    )
}

pub(crate) fn profile(id: &str, max: Option<u32>) -> ExpertProfile {
    let mut p = ExpertProfile::new(id, vec!["finance".to_owned(), "tax".to_owned()]);
    p.max_concurrent = max;
    p
}

/// The next change concerning `id`, skipping others.
pub(crate) async fn next_for(watch: &mut RegistryWatch, id: &str) -> RegistryChange {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let change = watch.recv().await.expect("watch stream ended");
            if change.expert_id() == Some(id) || matches!(change, RegistryChange::Lagged { .. }) {
                return change;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no change for `{id}` within {PATIENCE:?}"))
}

pub(crate) async fn availability(registry: &ExpertRegistry, id: &str) -> Availability {
    registry
        .get(id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("`{id}` missing"))
        .availability_status
}

pub(crate) async fn register_update_deregister(backend: Arc<dyn StateBackend>) {
    let registry = registry(backend, Duration::from_secs(30), "reg-test");
    let mut watch = registry.watch().await.unwrap();

    let mut finance = profile("finance_accountant", Some(2));
    registry.register(&finance).await.unwrap();
    registry
        .register(&profile("art_design", None))
        .await
        .unwrap();
    assert!(matches!(next_for(&mut watch, "finance_accountant").await,
        RegistryChange::Registered { ref source, .. } if source == "reg-test"));

    let slot = registry.acquire_slot("finance_accountant").await.unwrap();
    finance.description = Some("updated".to_owned());
    finance.current_load = 7; // ignored: slots are the truth
    registry.register(&finance).await.unwrap();
    let got = registry.get("finance_accountant").await.unwrap().unwrap();
    assert_eq!(got.description.as_deref(), Some("updated"));
    assert_eq!(
        got.current_load, 1,
        "re-registration must keep load accounting"
    );

    let ids: Vec<ExpertId> = registry
        .snapshot()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, ["art_design", "finance_accountant"]);

    registry.deregister("art_design").await.unwrap();
    assert!(matches!(
        next_for(&mut watch, "art_design").await,
        RegistryChange::Registered { .. }
    ));
    assert!(matches!(
        next_for(&mut watch, "art_design").await,
        RegistryChange::Deregistered { .. }
    ));
    assert!(registry.get("art_design").await.unwrap().is_none());
    assert_eq!(registry.list().await.unwrap().len(), 1);
    let err = registry.deregister("art_design").await.unwrap_err();
    assert!(matches!(err, RegistryError::NotRegistered { .. }));
    assert!(err.to_string().contains("art_design"), "{err}");

    assert_eq!(registry.release_slot(slot).await.unwrap(), 0);
}

pub(crate) async fn invalid_profile_rejected(backend: Arc<dyn StateBackend>) {
    let registry = registry(backend, Duration::from_secs(30), "reg-test");
    let good = profile("finance_accountant", Some(3));
    registry.register(&good).await.unwrap();

    let mut bad = good.clone();
    bad.expertise_domains.clear();
    bad.description = Some("must not be stored".to_owned());
    let err = registry.register(&bad).await.unwrap_err();
    match &err {
        RegistryError::InvalidProfile { id, source } => {
            assert_eq!(id, "finance_accountant");
            assert_eq!(source.path(), "expertise_domains");
        }
        other => panic!("expected InvalidProfile, got {other:?}"),
    }
    assert!(err.to_string().contains("finance_accountant"), "{err}");
    assert_eq!(
        registry.get("finance_accountant").await.unwrap().unwrap(),
        good
    );

    let bad_id = profile("bad id", None);
    assert!(matches!(
        registry.register(&bad_id).await,
        Err(RegistryError::InvalidProfile { .. })
    ));
    assert_eq!(
        registry.snapshot().await.unwrap().len(),
        1,
        "nothing stored for a bad id"
    );
    assert!(matches!(
        registry.heartbeat("bad id").await,
        Err(RegistryError::InvalidId { .. })
    ));
}

pub(crate) async fn heartbeat_unknown_expert(backend: Arc<dyn StateBackend>) {
    let registry = registry(backend, SHORT_TTL, "reg-test");
    let err = registry.heartbeat("nobody").await.unwrap_err();
    assert!(
        matches!(err, RegistryError::NotRegistered { ref id } if id == "nobody"),
        "{err:?}"
    );
    assert!(matches!(
        registry
            .set_availability("nobody", Availability::Busy)
            .await,
        Err(RegistryError::NotRegistered { .. })
    ));
    assert!(matches!(
        registry.acquire_slot("nobody").await,
        Err(RegistryError::NotRegistered { .. })
    ));
}

/// A heartbeat's age grows from zero and a heartbeat resets it; a lapsed
/// or unknown expert has none.
pub(crate) async fn heartbeat_ages(backend: Arc<dyn StateBackend>) {
    let ttl = Duration::from_secs(60);
    let registry = registry(backend, ttl, "age-test");
    registry.register(&profile("beating", None)).await.unwrap();
    let ids = [ExpertId::from("beating"), ExpertId::from("nobody")];
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ages = registry.heartbeat_ages(&ids).await.unwrap();
    let age = ages[0].expect("a registered expert has a heartbeat age");
    assert!(age >= Duration::from_millis(250) && age < ttl, "{age:?}");
    assert_eq!(ages[1], None, "an unknown expert has no heartbeat");
    registry.heartbeat("beating").await.unwrap();
    let renewed = registry.heartbeat_ages(&ids[..1]).await.unwrap()[0].unwrap();
    assert!(
        renewed < age,
        "a heartbeat resets the age: {renewed:?} after {age:?}"
    );
    assert!(registry.heartbeat_ages(&[]).await.unwrap().is_empty());
}

/// A lapse is visible at once without any sweep, is reported by a sweeper
/// once, and a later heartbeat brings the expert back.
pub(crate) async fn heartbeat_lapse(backend: Arc<dyn StateBackend>) {
    let registry = registry(backend, SHORT_TTL, "lapse-test");
    let mut watch = registry.watch().await.unwrap();
    registry.register(&profile("lapsing", None)).await.unwrap();
    registry.register(&profile("steady", None)).await.unwrap();
    registry
        .set_availability("steady", Availability::Busy)
        .await
        .unwrap();
    assert!(matches!(
        next_for(&mut watch, "lapsing").await,
        RegistryChange::Registered { .. }
    ));

    // Keep `steady` alive past several TTLs while `lapsing` goes silent.
    let mut waited = Duration::ZERO;
    while waited < SHORT_TTL * 2 {
        tokio::time::sleep(SHORT_TTL / 4).await;
        waited += SHORT_TTL / 4;
        registry.heartbeat("steady").await.unwrap();
    }
    // No sweeper has run: reads alone must already see the lapse.
    assert_eq!(
        availability(&registry, "lapsing").await,
        Availability::Offline
    );
    assert_eq!(availability(&registry, "steady").await, Availability::Busy);
    assert!(matches!(
        registry.acquire_slot("lapsing").await,
        Err(RegistryError::Offline { .. })
    ));

    let sweeper = registry.spawn_sweeper().unwrap();
    match next_for(&mut watch, "lapsing").await {
        RegistryChange::Expired { source, .. } => assert_eq!(source, "lapse-test"),
        other => panic!("expected Expired for `lapsing`, got {other:?}"),
    }
    sweeper.stop().await;
    assert!(
        registry.sweep_once().await.unwrap().is_empty(),
        "a lapse is reported once"
    );

    registry.heartbeat("lapsing").await.unwrap();
    assert_eq!(
        availability(&registry, "lapsing").await,
        Availability::Available
    );
    match next_for(&mut watch, "lapsing").await {
        RegistryChange::Availability { availability, .. } => {
            assert_eq!(availability, Some(Availability::Available));
        }
        other => panic!("expected Availability for `lapsing`, got {other:?}"),
    }
}

/// A heartbeat ending a lapse that no sweeper saw reports it itself, so
/// watchers still learn of it, and sweepers do not report it again.
pub(crate) async fn unswept_lapse_reported_by_heartbeat(backend: Arc<dyn StateBackend>) {
    let registry = registry(backend, SHORT_TTL, "lapse-test");
    let mut watch = registry.watch().await.unwrap();
    registry.register(&profile("napper", None)).await.unwrap();
    assert!(matches!(
        next_for(&mut watch, "napper").await,
        RegistryChange::Registered { .. }
    ));
    tokio::time::sleep(SHORT_TTL * 2).await;
    registry.heartbeat("napper").await.unwrap();
    assert!(matches!(
        next_for(&mut watch, "napper").await,
        RegistryChange::Expired { .. }
    ));
    assert!(matches!(
        next_for(&mut watch, "napper").await,
        RegistryChange::Availability { .. }
    ));
    assert!(registry.sweep_once().await.unwrap().is_empty());
}

/// Several sweepers (as in several processes) report one lapse once between them.
pub(crate) async fn concurrent_sweepers_report_once(backend: Arc<dyn StateBackend>) {
    let registries: Vec<ExpertRegistry> = (0..4)
        .map(|i| registry(backend.clone(), SHORT_TTL, &format!("sweeper-{i}")))
        .collect();
    for id in ["one", "two", "three"] {
        registries[0].register(&profile(id, None)).await.unwrap();
    }
    tokio::time::sleep(SHORT_TTL * 2).await;
    let sweeps = registries.iter().map(|r| {
        let r = r.clone();
        tokio::spawn(async move { r.sweep_once().await.unwrap() })
    });
    let mut reported: Vec<ExpertId> = Vec::new();
    for sweep in sweeps.collect::<Vec<_>>() {
        reported.extend(sweep.await.unwrap());
    }
    reported.sort();
    assert_eq!(reported, ["one", "three", "two"]);
}

/// N tasks hammer one expert with max M: never more than M held, back to 0.
pub(crate) async fn slots_are_atomic(backend: Arc<dyn StateBackend>) {
    const MAX: u32 = 3;
    const TASKS: usize = 16;
    const ROUNDS: usize = 20;
    let registry = registry(backend, Duration::from_secs(30), "slot-test");
    registry
        .register(&profile("busy_bee", Some(MAX)))
        .await
        .unwrap();
    let held = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let granted = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let (registry, held, peak, granted) = (
            registry.clone(),
            held.clone(),
            peak.clone(),
            granted.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for _ in 0..ROUNDS {
                match registry.acquire_slot("busy_bee").await {
                    Ok(slot) => {
                        let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        granted.fetch_add(1, Ordering::SeqCst);
                        assert!(slot.load_when_acquired() <= MAX);
                        tokio::task::yield_now().await;
                        held.fetch_sub(1, Ordering::SeqCst);
                        slot.release().await.unwrap();
                    }
                    Err(RegistryError::AtCapacity { id, max }) => {
                        assert_eq!((id.as_str(), max), ("busy_bee", MAX));
                        tokio::task::yield_now().await;
                    }
                    Err(other) => panic!("unexpected {other}"),
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let peak = peak.load(Ordering::SeqCst);
    assert!(peak <= MAX as usize, "{peak} slots held at once, max {MAX}");
    assert!(granted.load(Ordering::SeqCst) > 0);
    assert_eq!(
        registry
            .get("busy_bee")
            .await
            .unwrap()
            .unwrap()
            .current_load,
        0
    );

    // Full, refused, then freed.
    let slots: Vec<_> = hold_slots(&registry, MAX).await;
    let err = registry.acquire_slot("busy_bee").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "expert `busy_bee` is at capacity (3 concurrent work items)"
    );
    assert_eq!(
        registry
            .get("busy_bee")
            .await
            .unwrap()
            .unwrap()
            .current_load,
        MAX
    );
    for s in slots {
        s.release().await.unwrap();
    }
    assert_eq!(
        registry
            .get("busy_bee")
            .await
            .unwrap()
            .unwrap()
            .current_load,
        0
    );
}

async fn hold_slots(registry: &ExpertRegistry, n: u32) -> Vec<consort_registry::Slot> {
    let mut slots = Vec::new();
    for _ in 0..n {
        slots.push(registry.acquire_slot("busy_bee").await.unwrap());
    }
    slots
}

/// Dropped slots release in the background; a release after a reset never
/// drives the load negative.
pub(crate) async fn slot_drop_and_reset(backend: Arc<dyn StateBackend>) {
    let registry = registry(backend, Duration::from_secs(30), "slot-test");
    registry
        .register(&profile("worker", Some(2)))
        .await
        .unwrap();
    let dropped = registry.acquire_slot("worker").await.unwrap();
    drop(dropped);
    tokio::time::timeout(PATIENCE, async {
        while registry.get("worker").await.unwrap().unwrap().current_load != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("dropped slot never released");

    let a = registry.acquire_slot("worker").await.unwrap();
    let b = registry.acquire_slot("worker").await.unwrap();
    registry.reset_load("worker").await.unwrap();
    assert_eq!(
        registry.get("worker").await.unwrap().unwrap().current_load,
        0
    );
    assert_eq!(a.release().await.unwrap(), 0);
    assert_eq!(b.release().await.unwrap(), 0);
    let c = registry.acquire_slot("worker").await.unwrap();
    assert_eq!(
        c.load_when_acquired(),
        1,
        "the counter must not have gone negative"
    );
    c.release().await.unwrap();

    registry
        .set_availability("worker", Availability::Offline)
        .await
        .unwrap();
    assert!(matches!(
        registry.acquire_slot("worker").await,
        Err(RegistryError::Offline { .. })
    ));
}

/// The watch stream sees every kind of change, from any registry on the backend.
pub(crate) async fn watch_sees_changes(backend: Arc<dyn StateBackend>) {
    let watcher = registry(backend.clone(), Duration::from_secs(30), "watcher");
    let writer = registry(backend, Duration::from_secs(30), "writer");
    let mut watch = watcher.watch().await.unwrap();
    writer.register(&profile("pa", None)).await.unwrap();
    writer
        .set_availability("pa", Availability::Busy)
        .await
        .unwrap();
    writer
        .set_availability("pa", Availability::Busy)
        .await
        .unwrap(); // unchanged: no event
    writer
        .set_availability("pa", Availability::Available)
        .await
        .unwrap();
    writer.deregister("pa").await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(next_for(&mut watch, "pa").await);
    }
    let src = || "writer".to_owned();
    let id = || ExpertId::from("pa");
    assert_eq!(
        seen,
        [
            RegistryChange::Registered {
                expert_id: id(),
                source: src()
            },
            RegistryChange::Availability {
                expert_id: id(),
                availability: Some(Availability::Busy),
                source: src()
            },
            RegistryChange::Availability {
                expert_id: id(),
                availability: Some(Availability::Available),
                source: src()
            },
            RegistryChange::Deregistered {
                expert_id: id(),
                source: src()
            },
        ]
    );
}

/// Sweepers and the heartbeat that ends a lapse race for the same lapse:
/// whoever wins, it is reported exactly once and the comeback once.
pub(crate) async fn lapse_race_reports_once(backend: Arc<dyn StateBackend>) {
    const ROUNDS: usize = 6;
    let ttl = Duration::from_millis(40);
    let registries: Vec<ExpertRegistry> = (0..3)
        .map(|i| registry(backend.clone(), ttl, &format!("racer-{i}")))
        .collect();
    let mut watch = registries[0].watch().await.unwrap();
    for round in 0..ROUNDS {
        let id = format!("racer-{round}");
        registries[0].register(&profile(&id, None)).await.unwrap();
        tokio::time::sleep(ttl * 3).await;
        let mut tasks = Vec::new();
        for r in &registries {
            let r = r.clone();
            tasks.push(tokio::spawn(async move {
                r.sweep_once().await.unwrap();
            }));
        }
        let (r, beat) = (registries[1].clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            r.heartbeat(&beat).await.unwrap();
        }));
        for t in tasks {
            t.await.unwrap();
        }
        // Out of later rounds' sweeps, which would rightly report its next lapse.
        registries[0].deregister(&id).await.unwrap();
    }
    let mut expired = std::collections::BTreeMap::<ExpertId, usize>::new();
    let mut back = std::collections::BTreeMap::<ExpertId, usize>::new();
    // Drain until the stream has been quiet for a while.
    while let Ok(change) = tokio::time::timeout(Duration::from_millis(500), watch.recv()).await {
        match change.expect("watch ended") {
            RegistryChange::Expired { expert_id, .. } => {
                *expired.entry(expert_id).or_default() += 1;
            }
            RegistryChange::Availability { expert_id, .. } => {
                *back.entry(expert_id).or_default() += 1;
            }
            RegistryChange::Lagged { missed } => panic!("lagged by {missed:?}"),
            _ => {}
        }
    }
    for round in 0..ROUNDS {
        let id = format!("racer-{round}");
        assert_eq!(
            expired.get(id.as_str()),
            Some(&1),
            "expired events for `{id}`: {expired:?}"
        );
        assert_eq!(
            back.get(id.as_str()),
            Some(&1),
            "comeback events for `{id}`: {back:?}"
        );
    }
}
