//! Expert management: the spec's `registerExpert` and
//! `getAvailableExperts`, plus updates, removal, heartbeats and availability.

use consort_protocol::{Availability, ExpertProfile};
use consort_registry::RegistryError;
use tracing::instrument;

use crate::coordinator::Coordinator;
use crate::error::Result;

impl Coordinator {
    /// Registers an expert, or replaces the profile of one with the same id;
    /// counts as its first heartbeat. Routing sees it from the next request
    /// on, in this process at once and in others when the registry's event
    /// arrives. An invalid profile is rejected and nothing is stored.
    #[instrument(skip_all, fields(expert = %profile.id))]
    pub async fn register_expert(&self, profile: &ExpertProfile) -> Result<()> {
        self.registry().register(profile).await?;
        self.shared().view.invalidate();
        Ok(())
    }

    /// Replaces the profile of an expert that is already registered;
    /// [`RegistryError::NotRegistered`] otherwise (use
    /// [`register_expert`](Self::register_expert) to add one).
    #[instrument(skip_all, fields(expert = %profile.id))]
    pub async fn update_expert(&self, profile: &ExpertProfile) -> Result<()> {
        if self.registry().get(&profile.id).await?.is_none() {
            return Err(RegistryError::NotRegistered {
                id: profile.id.clone(),
            }
            .into());
        }
        self.register_expert(profile).await
    }

    /// Removes an expert; it is never routed to again.
    #[instrument(skip(self))]
    pub async fn deregister_expert(&self, id: &str) -> Result<()> {
        self.registry().deregister(id).await?;
        self.shared().view.invalidate();
        Ok(())
    }

    /// Keeps an expert online for another heartbeat TTL; brings it back if
    /// its heartbeat had lapsed.
    #[instrument(skip(self))]
    pub async fn heartbeat(&self, id: &str) -> Result<()> {
        self.registry().heartbeat(id).await?;
        Ok(())
    }

    /// Declares an expert available, busy or offline. Routing applies it at
    /// once, without rebuilding its index.
    #[instrument(skip(self))]
    pub async fn set_availability(&self, id: &str, availability: Availability) -> Result<()> {
        self.registry().set_availability(id, availability).await?;
        self.shared().view.set_status(id, availability, None);
        Ok(())
    }

    /// Every registered expert, sorted by id, with its live availability
    /// (offline from the moment its heartbeat lapsed) and load.
    #[instrument(skip(self))]
    pub async fn experts(&self) -> Result<Vec<ExpertProfile>> {
        Ok(self.registry().snapshot().await?)
    }

    /// The experts that can take work now (not offline), sorted by id: the
    /// spec's `getAvailableExperts`.
    #[instrument(skip(self))]
    pub async fn available_experts(&self) -> Result<Vec<ExpertProfile>> {
        let mut experts = self.experts().await?;
        experts.retain(|e| e.availability_status != Availability::Offline);
        Ok(experts)
    }
}
