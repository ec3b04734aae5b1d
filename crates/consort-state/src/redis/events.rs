//! Publish and subscribe: `PUBLISH` on the command connection, subscriptions
//! through the pub/sub task.

use tracing::{Instrument, debug_span};

use super::errors::map_err;
use super::pubsub::{SubscribeCmd, escape_pattern};
use super::{BACKEND, RedisBackend};
use crate::backend::{Delivery, Subscription};
use crate::error::{Result, StateError};
use crate::key::{validate_key, validate_value};

fn task_stopped(pattern: &str) -> StateError {
    StateError::Unavailable {
        backend: BACKEND,
        operation: "subscribe",
        target: pattern.into(),
        source: Box::new(std::io::Error::new(
            std::io::ErrorKind::NotConnected,
            "the pub/sub task has stopped",
        )),
    }
}

impl RedisBackend {
    pub(super) async fn publish_event(&self, topic: &str, payload: &[u8]) -> Result<()> {
        validate_key(topic)?;
        validate_value(topic, payload.len(), self.max_value_bytes())?;
        let channel = format!("{}{topic}", self.events_prefix());
        let mut conn = self.conn();
        let _receivers: i64 = self
            .run(
                "publish",
                topic,
                redis::cmd("PUBLISH")
                    .arg(channel)
                    .arg(payload)
                    .query_async(&mut conn),
            )
            .instrument(debug_span!("state.publish", backend = BACKEND, topic))
            .await?;
        Ok(())
    }

    pub(super) async fn subscribe_pattern(&self, pattern: &str) -> Result<Subscription> {
        validate_key(pattern)?;
        let span = debug_span!("state.subscribe", backend = BACKEND, pattern);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let cmd = SubscribeCmd {
            pattern: format!("{}{}", self.events_prefix(), escape_pattern(pattern)),
            reply: tx,
        };
        if self.hub().commands.send(cmd).is_err() {
            return Err(task_stopped(pattern));
        }
        let cfg = self.config();
        let after = cfg.connect_timeout + cfg.response_timeout;
        let receiver = match tokio::time::timeout(after, rx).instrument(span).await {
            Ok(Ok(Ok(r))) => r,
            Ok(Ok(Err(e))) => return Err(map_err("subscribe", pattern, e, after)),
            Ok(Err(_)) => return Err(task_stopped(pattern)),
            Err(_) => {
                return Err(StateError::Timeout {
                    operation: "subscribe",
                    key_or_topic: pattern.to_owned(),
                    after,
                });
            }
        };
        Ok(crate::backend::broadcast_subscription(
            receiver,
            |d: &Delivery| Some(d.clone()),
        ))
    }
}
