//! redis-rs errors as [`StateError`]s: which are transient, which are an
//! authentication failure, which are permanent. The redis error is kept as
//! the typed source.

use std::time::Duration;

use redis::{ErrorKind, RedisError, ServerErrorKind};

use super::BACKEND;
use crate::error::StateError;

/// How a redis error should be reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// No answer within the response timeout.
    Timeout,
    /// Connection refused, reset, dropped or not yet re-established; or the
    /// server says "not now": loading its data set, failing over, read-only
    /// replica. Retrying later can succeed.
    Transient,
    /// Wrong or missing credentials.
    Authentication,
    /// Everything else: retrying sends the same request to the same answer.
    Permanent,
}

fn classify(e: &RedisError) -> Class {
    if e.is_timeout() {
        return Class::Timeout;
    }
    // A server that requires a password answers commands sent without one
    // with NOAUTH, and a wrong one with WRONGPASS; redis-rs passes both
    // through as server errors of their own code.
    if e.kind() == ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("NOAUTH" | "WRONGPASS"))
    {
        return Class::Authentication;
    }
    match e.kind() {
        ErrorKind::Io
        | ErrorKind::ClusterConnectionNotFound
        | ErrorKind::MasterNameNotFoundBySentinel
        | ErrorKind::NoValidReplicasFoundBySentinel
        | ErrorKind::Server(
            ServerErrorKind::BusyLoading
            | ServerErrorKind::TryAgain
            | ServerErrorKind::MasterDown
            | ServerErrorKind::ClusterDown
            | ServerErrorKind::ReadOnly,
        ) => Class::Transient,
        _ => Class::Permanent,
    }
}

/// Maps a redis error of operation `op` on `what` (a key, topic, lease or
/// the server), keeping it as the source.
pub(super) fn map_err(op: &'static str, what: &str, e: RedisError, after: Duration) -> StateError {
    match classify(&e) {
        Class::Timeout => StateError::Timeout {
            operation: op,
            key_or_topic: what.to_owned(),
            after,
        },
        Class::Transient => StateError::Unavailable {
            backend: BACKEND,
            operation: op,
            target: what.into(),
            source: Box::new(e),
        },
        Class::Authentication => StateError::AuthenticationFailed {
            backend: BACKEND,
            target: format!("{op} `{what}`"),
            source: Box::new(e),
        },
        Class::Permanent => StateError::Backend {
            backend: BACKEND,
            operation: op,
            target: what.into(),
            source: Box::new(e),
        },
    }
}

/// True if INCRBY refused because the counter would overflow.
pub(super) fn is_overflow(e: &RedisError) -> bool {
    e.kind() == ErrorKind::Server(ServerErrorKind::ResponseError)
        && e.detail().is_some_and(|d| d.contains("overflow"))
}

/// A reply of a shape our commands and scripts never produce.
#[derive(Debug, thiserror::Error)]
#[error("unexpected reply: {reply}")]
pub(super) struct UnexpectedReply {
    reply: String,
}

/// `reply` describes what came back.
pub(super) fn unexpected(op: &'static str, what: &str, reply: String) -> StateError {
    StateError::Backend {
        backend: BACKEND,
        operation: op,
        target: what.into(),
        source: Box::new(UnexpectedReply { reply }),
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    fn io_err(kind: io::ErrorKind) -> RedisError {
        RedisError::from(io::Error::from(kind))
    }

    /// The error redis-rs makes of the server's reply line `-{code} {detail}`.
    fn server(code: &str, detail: &str) -> RedisError {
        let line = format!("-{code} {detail}\r\n");
        redis::parse_redis_value(line.as_bytes())
            .expect("an error reply parses")
            .extract_error()
            .expect_err("an error reply is an error")
    }

    #[test]
    fn connection_failures_are_transient() {
        for kind in [
            io::ErrorKind::ConnectionRefused,
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::ConnectionAborted,
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::UnexpectedEof,
            io::ErrorKind::NotConnected,
        ] {
            let e = map_err("get", "k", io_err(kind), Duration::from_secs(1));
            assert!(
                matches!(e, StateError::Unavailable { .. }) && e.is_transient(),
                "{kind:?}: {e}"
            );
        }
    }

    #[test]
    fn timeouts_are_transient_and_name_the_limit() {
        let e = map_err(
            "set",
            "k",
            io_err(io::ErrorKind::TimedOut),
            Duration::from_millis(300),
        );
        assert!(e.is_transient());
        assert_eq!(e.to_string(), "set on `k` timed out after 300ms");
    }

    #[test]
    fn server_says_not_now_is_transient() {
        for (code, detail) in [
            ("LOADING", "Redis is loading the dataset in memory"),
            ("TRYAGAIN", "Multiple keys request during rehashing of slot"),
            ("CLUSTERDOWN", "The cluster is down"),
            ("MASTERDOWN", "Link with MASTER is down"),
            ("READONLY", "You can't write against a read only replica."),
        ] {
            let e = map_err("apply", "k", server(code, detail), Duration::from_secs(1));
            assert!(e.is_transient(), "{code}: {e}");
        }
    }

    #[test]
    fn authentication_failures_say_so_and_are_not_transient() {
        let cases = [
            RedisError::from((
                ErrorKind::AuthenticationFailed,
                "Password authentication failed",
            )),
            server("NOAUTH", "Authentication required."),
            server(
                "WRONGPASS",
                "invalid username-password pair or user is disabled.",
            ),
        ];
        for e in cases {
            let e = map_err(
                "connect",
                "redis://***@127.0.0.1:6379/",
                e,
                Duration::from_secs(1),
            );
            assert!(matches!(e, StateError::AuthenticationFailed { .. }), "{e}");
            assert!(!e.is_transient(), "{e}");
            assert!(e.to_string().contains("authentication failed"), "{e}");
            assert!(!e.to_string().contains("unavailable"), "{e}");
        }
    }

    #[test]
    fn other_errors_are_permanent_and_keep_their_cause() {
        for e in [
            server("ERR", "Error running script"),
            server(
                "NOPERM",
                "this user has no permissions to run the 'eval' command",
            ),
            RedisError::from((ErrorKind::UnexpectedReturnType, "bad type")),
        ] {
            let mapped = map_err("apply", "k", e, Duration::from_secs(1));
            assert!(!mapped.is_transient(), "{mapped}");
            let source = std::error::Error::source(&mapped).expect("a source");
            assert!(source.downcast_ref::<RedisError>().is_some(), "{mapped}");
        }
    }

    #[test]
    fn overflow_is_recognised() {
        assert!(is_overflow(&server(
            "ERR",
            "increment or decrement would overflow"
        )));
        assert!(!is_overflow(&server("ERR", "value is not an integer")));
    }
}
