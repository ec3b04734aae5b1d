//! Races: compare-and-set, counters, lease mutual exclusion.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;

use super::who;
use crate::backend::{Expect, StateBackend};
use crate::error::StateError;

/// 16 tasks race a compare-and-set on the same version: exactly one wins.
pub async fn cas_race(b: Arc<dyn StateBackend>) {
    let w = who(&*b);
    const N: usize = 16;
    for round in 0..5 {
        let key = format!("race:cas:{round}");
        let v0 = b
            .set(&key, Bytes::from_static(b"start"), None)
            .await
            .unwrap();
        let start = Arc::new(tokio::sync::Barrier::new(N));
        let tasks: Vec<_> = (0..N)
            .map(|i| {
                let (b, key, start) = (b.clone(), key.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    b.compare_and_set(&key, Expect::Version(v0), Bytes::from(i.to_string()), None)
                        .await
                })
            })
            .collect();
        let mut wins = Vec::new();
        for (i, t) in tasks.into_iter().enumerate() {
            match t.await.unwrap() {
                Ok(v) => wins.push((i, v)),
                Err(StateError::VersionConflict { key: k, actual, .. }) => {
                    assert_eq!(k, key, "{w}");
                    assert!(
                        actual.is_some_and(|a| a != v0),
                        "{w}: conflict saw the old version"
                    );
                }
                Err(e) => panic!("{w}: unexpected error in CAS race: {e}"),
            }
        }
        assert_eq!(wins.len(), 1, "{w}: exactly one CAS wins, got {wins:?}");
        let stored = b.get(&key).await.unwrap().unwrap();
        assert_eq!(stored.version, wins[0].1, "{w}");
        assert_eq!(stored.value, Bytes::from(wins[0].0.to_string()), "{w}");
    }
}

/// N tasks x M increments add up exactly.
pub async fn counter_atomicity(b: Arc<dyn StateBackend>) {
    let w = who(&*b);
    const N: i64 = 8;
    const M: i64 = 100;
    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let b = b.clone();
            tokio::spawn(async move {
                for _ in 0..M {
                    b.increment("ctr:hits", 1).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        b.increment("ctr:hits", 0).await.unwrap(),
        N * M,
        "{w}: lost increments"
    );
    assert_eq!(
        b.increment("ctr:hits", -(N * M)).await.unwrap(),
        0,
        "{w}: negative delta"
    );
    // Counters are separate from values.
    assert!(
        b.get("ctr:hits").await.unwrap().is_none(),
        "{w}: counter visible as a value"
    );
    let overflow = b.increment("ctr:max", i64::MAX).await.unwrap();
    assert_eq!(overflow, i64::MAX, "{w}");
    let err = b.increment("ctr:max", 1).await;
    assert!(err.is_err(), "{w}: overflow must be an error, got {err:?}");
    assert_eq!(
        b.increment("ctr:max", 0).await.unwrap(),
        i64::MAX,
        "{w}: failed increment changed it"
    );
}

/// 8 tasks x 50 rounds contend for one lease: never two holders, tokens strictly grow.
pub async fn lease_mutual_exclusion(b: Arc<dyn StateBackend>) {
    let w = who(&*b);
    const TASKS: usize = 8;
    const ROUNDS: usize = 50;
    let held = Arc::new(AtomicBool::new(false));
    let last_token = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let (b, held, last_token, w) = (b.clone(), held.clone(), last_token.clone(), w.clone());
            tokio::spawn(async move {
                let me = format!("task-{t}");
                for _ in 0..ROUNDS {
                    let lease = loop {
                        match b
                            .acquire_lease("mutex:lease", &me, Duration::from_secs(30))
                            .await
                            .unwrap()
                        {
                            Some(l) => break l,
                            None => tokio::time::sleep(Duration::from_micros(200)).await,
                        }
                    };
                    assert!(
                        !held.swap(true, Ordering::SeqCst),
                        "{w}: two holders at once"
                    );
                    let prev = last_token.swap(lease.token, Ordering::SeqCst);
                    assert!(
                        lease.token > prev,
                        "{w}: token {} after {prev}",
                        lease.token
                    );
                    assert_eq!(lease.holder, me, "{w}");
                    tokio::task::yield_now().await;
                    held.store(false, Ordering::SeqCst);
                    assert!(
                        b.release_lease(&lease).await.unwrap(),
                        "{w}: release of a held lease"
                    );
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert!(
        b.current_lease("mutex:lease").await.unwrap().is_none(),
        "{w}: lease left held"
    );
}
