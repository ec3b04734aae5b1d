//! Live status: a router told an expert's status with `set_status` routes
//! exactly as one built from profiles that carried it.

use consort_protocol::{Availability, ExpertProfile};
use proptest::prelude::*;

use super::test_strategies::{availability, case, exhaustive};
use crate::{Router, RouterError};

/// Each expert's profile status replaced by another one.
fn restated(experts: &[ExpertProfile], other: &[(Availability, u32)]) -> Vec<ExpertProfile> {
    experts
        .iter()
        .zip(other.iter().cycle())
        .map(|(profile, &(status, load))| {
            let mut profile = profile.clone();
            profile.availability_status = status;
            profile.current_load = load;
            profile
        })
        .collect()
}

proptest! {
    #[test]
    fn set_status_routes_as_a_router_built_with_that_status(
        (experts, config, requests) in case(),
        other in prop::collection::vec((availability(), 0_u32..6), 1..8),
        pruning in any::<bool>(),
    ) {
        let built = Router::new(&experts, config.clone()).unwrap();
        let mut updated = Router::new(&restated(&experts, &other), config).unwrap();
        for profile in &experts {
            updated
                .set_status(&profile.id, profile.availability_status, profile.current_load)
                .unwrap();
        }
        let (built, updated) = if pruning {
            (built, updated)
        } else {
            (exhaustive(built), exhaustive(updated))
        };
        for profile in &experts {
            prop_assert_eq!(
                updated.status(&profile.id),
                Some((profile.availability_status, profile.current_load))
            );
        }
        prop_assert!(built.profiles().eq(updated.profiles()));
        for request in &requests {
            prop_assert_eq!(built.route(request), updated.route(request));
        }
    }
}

#[test]
fn an_unknown_expert_is_an_error_and_changes_nothing() {
    let experts = vec![ExpertProfile::new("alpha", vec!["payments".into()])];
    let mut router = Router::new(&experts, crate::RouterConfig::default()).unwrap();
    let err = router
        .set_status("alpah", Availability::Offline, 0)
        .unwrap_err();
    assert_eq!(
        err,
        RouterError::UnknownExpert {
            expert: "alpah".into()
        }
    );
    assert_eq!(router.status("alpha"), Some((Availability::Available, 0)));
    assert_eq!(router.status("alpah"), None);
}
