//! The pub/sub hub: one dedicated connection per backend, driven by a task
//! that owns the set of patterns and re-subscribes after every reconnect, so
//! existing [`Subscription`](crate::Subscription)s survive a Redis restart.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use redis::aio::PubSubSink;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::backend::Delivery;

pub(crate) type SubscribeReply =
    std::result::Result<broadcast::Receiver<Delivery>, redis::RedisError>;

pub(crate) struct SubscribeCmd {
    /// Full Redis pattern, namespace prefix included and escaped.
    pub(crate) pattern: String,
    pub(crate) reply: oneshot::Sender<SubscribeReply>,
}

#[derive(Debug, Clone)]
pub(crate) struct HubConfig {
    pub(crate) client: redis::Client,
    /// `{ns}:events:`, stripped from channel names to get topics.
    pub(crate) channel_prefix: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) buffer: usize,
}

/// Handle kept by the backend; dropping every clone stops the task.
#[derive(Debug, Clone)]
pub(crate) struct Hub {
    pub(crate) commands: mpsc::UnboundedSender<SubscribeCmd>,
}

impl std::fmt::Debug for SubscribeCmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscribeCmd")
            .field("pattern", &self.pattern)
            .finish()
    }
}

impl Hub {
    pub(crate) fn start(cfg: HubConfig) -> Hub {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(cfg, rx));
        Hub { commands: tx }
    }
}

fn io_error(what: &str) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        what.to_owned(),
    ))
}

async fn run(cfg: HubConfig, mut commands: mpsc::UnboundedReceiver<SubscribeCmd>) {
    let mut patterns: HashMap<String, broadcast::Sender<Delivery>> = HashMap::new();
    let mut backoff = Duration::from_millis(50);
    loop {
        let connected =
            tokio::time::timeout(cfg.connect_timeout, cfg.client.get_async_pubsub()).await;
        let pubsub = match connected {
            Ok(Ok(p)) => p,
            failed => {
                let err = match failed {
                    Ok(Err(e)) => e,
                    _ => io_error("pub/sub connect timed out"),
                };
                tracing::debug!(error = %err, "pub/sub connect failed; retrying");
                // While down, new subscriptions fail fast instead of hanging:
                // messages published meanwhile could not be delivered anyway.
                let wait = tokio::time::sleep(backoff);
                tokio::pin!(wait);
                loop {
                    tokio::select! {
                        () = &mut wait => break,
                        cmd = commands.recv() => match cmd {
                            None => return,
                            Some(cmd) => {
                                let _ = cmd.reply.send(Err(redis::RedisError::from(std::io::Error::new(
                                    std::io::ErrorKind::ConnectionRefused,
                                    format!("pub/sub connection down: {err}"),
                                ))));
                            }
                        },
                    }
                }
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        backoff = Duration::from_millis(50);
        let (mut sink, mut stream) = pubsub.split();

        patterns.retain(|_, tx| tx.receiver_count() > 0);
        if !patterns.is_empty() {
            let all: Vec<&String> = patterns.keys().collect();
            match tokio::time::timeout(cfg.response_timeout, sink.psubscribe(all)).await {
                Ok(Ok(())) => {
                    tracing::debug!(n = patterns.len(), "pub/sub resubscribed");
                    // Whatever was published while the connection was down
                    // is gone: tell every subscriber to resynchronise.
                    for tx in patterns.values() {
                        let _ = tx.send(Delivery::Lagged { missed: None });
                    }
                }
                _ => continue,
            }
        }

        let mut ping = tokio::time::interval(Duration::from_secs(5));
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.tick().await;
        loop {
            tokio::select! {
                msg = stream.next() => match msg {
                    Some(msg) => dispatch(&cfg, &mut patterns, &mut sink, &msg).await,
                    None => {
                        tracing::debug!("pub/sub connection lost; reconnecting");
                        break;
                    }
                },
                cmd = commands.recv() => match cmd {
                    None => return,
                    Some(cmd) => {
                        if !subscribe(&cfg, &mut patterns, &mut sink, cmd).await {
                            break;
                        }
                    }
                },
                _ = ping.tick() => {
                    // A half-open TCP connection never ends the stream; a ping does.
                    let pong = tokio::time::timeout(cfg.response_timeout, sink.ping::<redis::Value>()).await;
                    if !matches!(pong, Ok(Ok(_))) {
                        tracing::debug!("pub/sub ping failed; reconnecting");
                        break;
                    }
                }
            }
        }
    }
}

/// Returns false when the connection looks broken.
async fn subscribe(
    cfg: &HubConfig,
    patterns: &mut HashMap<String, broadcast::Sender<Delivery>>,
    sink: &mut PubSubSink,
    cmd: SubscribeCmd,
) -> bool {
    if let Some(tx) = patterns.get(&cmd.pattern) {
        let _ = cmd.reply.send(Ok(tx.subscribe()));
        return true;
    }
    match tokio::time::timeout(cfg.response_timeout, sink.psubscribe(&cmd.pattern)).await {
        Ok(Ok(())) => {
            let (tx, rx) = broadcast::channel(cfg.buffer.max(1));
            patterns.insert(cmd.pattern, tx);
            let _ = cmd.reply.send(Ok(rx));
            true
        }
        Ok(Err(e)) => {
            let broken = e.is_io_error() || e.is_connection_dropped();
            let _ = cmd.reply.send(Err(e));
            !broken
        }
        Err(_) => {
            let _ = cmd.reply.send(Err(io_error("PSUBSCRIBE timed out")));
            false
        }
    }
}

async fn dispatch(
    cfg: &HubConfig,
    patterns: &mut HashMap<String, broadcast::Sender<Delivery>>,
    sink: &mut PubSubSink,
    msg: &redis::Msg,
) {
    let Ok(Some(pattern)) = msg.get_pattern::<Option<String>>() else {
        return;
    };
    let Some(tx) = patterns.get(&pattern) else {
        return;
    };
    let Some(topic) = msg.get_channel_name().strip_prefix(&cfg.channel_prefix) else {
        return;
    };
    let delivery = Delivery::Message {
        topic: topic.to_owned(),
        payload: Bytes::copy_from_slice(msg.get_payload_bytes()),
    };
    if tx.send(delivery).is_err() {
        // Every subscription on this pattern was dropped: stop receiving it.
        patterns.remove(&pattern);
        let _ = tokio::time::timeout(cfg.response_timeout, sink.punsubscribe(&pattern)).await;
    }
}

/// Escapes Redis glob syntax so that only `*` stays special, as in
/// [`glob_match`](crate::glob_match).
pub(crate) fn escape_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    for c in pattern.chars() {
        if matches!(c, '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
