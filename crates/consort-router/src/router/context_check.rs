//! Checking a route context against the registry: every expert id it names
//! must be one the router knows.

use consort_protocol::{ExpertId, did_you_mean};

use crate::RouterError;
use crate::request::RouteContext;

use super::Router;

impl Router {
    /// Checks that every expert id in `context` (`previous_expert`,
    /// `collaborators`, and the keys of `availability` and `load`) is in the
    /// registry. Routing ignores unknown ids, so a typo there would silently
    /// change nothing; call this on contexts written by hand.
    ///
    /// The error names the field path and the id, with the closest
    /// registered id when one is close.
    ///
    /// ```
    /// use consort_protocol::{load_registry, seeds};
    /// use consort_router::{RouteContext, Router, RouterConfig, RouterError};
    ///
    /// let experts = load_registry(seeds::EXPERT_REGISTRY)?;
    /// let router = Router::new(&experts, RouterConfig::default())?;
    /// let context = RouteContext::default().with_collaborators(["art_design", "finance_acountant"]);
    /// let err = router.check_context(&context).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "collaborators[1]: the route context names expert \"finance_acountant\", which is not \
    ///      in the registry; did you mean \"finance_accountant\"?"
    /// );
    /// assert!(matches!(err, RouterError::UnknownContextExpert { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_context(&self, context: &RouteContext) -> Result<(), RouterError> {
        let named = context
            .previous_expert
            .iter()
            .map(|id| ("previous_expert".to_owned(), id))
            .chain(
                context
                    .collaborators
                    .iter()
                    .enumerate()
                    .map(|(i, id)| (format!("collaborators[{i}]"), id)),
            )
            .chain(
                context
                    .availability
                    .keys()
                    .map(|id| (format!("availability.{id}"), id)),
            )
            .chain(context.load.keys().map(|id| (format!("load.{id}"), id)));
        for (path, id) in named {
            if !self.index.ids.contains_key(id) {
                return Err(RouterError::UnknownContextExpert {
                    path,
                    expert: id.clone(),
                    suggestion: self.closest_id(id),
                });
            }
        }
        Ok(())
    }

    /// The registered id closest to `id`, if one is close, by the same rule
    /// as every other did-you-mean in the workspace.
    fn closest_id(&self, id: &str) -> Option<ExpertId> {
        let ids = self.index.experts.iter().map(|e| e.profile.id.as_str());
        did_you_mean(id, ids).map(ExpertId::from)
    }
}
