//! The fallback expert of a request nothing matches.

use consort_protocol::ExpertId;

use crate::RouterError;
use crate::request::RouteContext;

use super::Router;

impl Router {
    /// Fails when `fallback_expert` is not in the registry.
    pub(super) fn check_fallback(&self) -> Result<(), RouterError> {
        match &self.config.fallback_expert {
            Some(id) if !self.index.ids.contains_key(id) => {
                Err(RouterError::UnknownFallback { expert: id.clone() })
            }
            _ => Ok(()),
        }
    }

    /// The configured fallback expert, unless it is offline.
    pub(super) fn fallback(&self, context: &RouteContext) -> Option<ExpertId> {
        let id = self.config.fallback_expert.as_ref()?;
        let number = *self.index.ids.get(id)?;
        let expert = self.index.expert(number)?;
        self.availability(number, context)
            .map(|_| expert.profile.id.clone())
    }
}
