//! Where runs are recorded, and the engine that records them: the backend
//! options every command that touches runs takes.

use std::sync::Arc;
use std::time::Duration;

use consort_state::{MemoryBackend, RedisBackend, RedisConfig, StateBackend, StateError};
use consort_workflow::{Engine, EngineConfig, SimulatedExecutor, StepExecutor};

use super::duration::parse_duration;
use crate::error::CliError;

/// Namespace of CLI runs in the state backend unless `--namespace` is given.
const DEFAULT_NAMESPACE: &str = "consort";

/// Where runs are recorded.
#[derive(Debug, clap::Args)]
pub(crate) struct Store {
    /// State backend: `memory` (this process only), `redis://[user:password@]host:port/db`
    /// or `rediss://...` (TLS). Read from `CONSORT_REDIS_URL` when not given,
    /// which keeps a password out of `ps`.
    #[arg(
        long,
        value_name = "URL",
        env = "CONSORT_REDIS_URL",
        hide_env_values = true
    )]
    backend: Option<String>,
    /// Namespace of the runs' keys in the backend.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_NAMESPACE)]
    namespace: String,
    /// How long a run's lease lasts without renewal (`15s`, `1m`): a run
    /// left by a dead process can be resumed elsewhere once it lapsed.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    lease_ttl: Option<Duration>,
    /// Limit for establishing a Redis connection (default 2s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    redis_connect_timeout: Option<Duration>,
    /// Limit for each Redis request (default 2s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    redis_response_timeout: Option<Duration>,
}

impl Store {
    /// The backend URL, `memory` when none is given.
    fn url(&self) -> &str {
        self.backend.as_deref().unwrap_or("memory")
    }

    /// `status` and `resume` read runs of other processes: memory cannot hold them.
    pub(super) fn require_shared(&self, command: &str) -> Result<(), CliError> {
        if self.url() == "memory" {
            return Err(CliError::BadInput(format!(
                "{command} needs --backend redis://... (or CONSORT_REDIS_URL): a run in memory ends with its process"
            )));
        }
        Ok(())
    }

    /// Connects to the backend.
    pub(crate) async fn connect(&self) -> Result<Arc<dyn StateBackend>, CliError> {
        let url = self.url();
        let bad_namespace = |e: StateError| CliError::BadInput(format!("--namespace: {e}"));
        if url == "memory" {
            return Ok(Arc::new(
                MemoryBackend::new(&self.namespace).map_err(bad_namespace)?,
            ));
        }
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            return Err(CliError::BadInput(
                "--backend: expected `memory`, a redis:// or a rediss:// URL".to_owned(),
            ));
        }
        let mut config = RedisConfig::new(url, self.namespace.clone());
        if let Some(timeout) = self.redis_connect_timeout {
            config.connect_timeout = timeout;
        }
        if let Some(timeout) = self.redis_response_timeout {
            config.response_timeout = timeout;
        }
        match RedisBackend::connect(config).await {
            Ok(backend) => Ok(Arc::new(backend)),
            Err(e @ StateError::InvalidKey { .. }) => Err(bad_namespace(e)),
            Err(e) => Err(CliError::Failed(format!("--backend: {e}"))),
        }
    }

    /// The engine settings these options ask for.
    pub(crate) fn engine_config(&self) -> EngineConfig {
        let mut config = EngineConfig::default();
        if let Some(ttl) = self.lease_ttl {
            config = config.with_lease_ttl(ttl);
        }
        config
    }

    /// An engine over the backend for commands that run no step.
    pub(super) async fn engine(&self) -> Result<Engine, CliError> {
        let backend = self.connect().await?;
        self.engine_on(backend, Arc::new(SimulatedExecutor::new()))
    }

    /// An engine over `backend` (from [`connect`](Self::connect)), running
    /// steps with `executor`.
    pub(super) fn engine_on(
        &self,
        backend: Arc<dyn StateBackend>,
        executor: Arc<dyn StepExecutor>,
    ) -> Result<Engine, CliError> {
        Engine::new(backend, executor, self.engine_config())
            .map_err(|e| CliError::BadInput(e.to_string()))
    }
}
