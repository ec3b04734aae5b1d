//! Test support shared by every crate whose tests need Redis.
//!
//! ```no_run
//! # async fn t() {
//! use consort_state::testkit::redis_url_or_skip;
//! let Some(target) = redis_url_or_skip("my_test").await else { return };
//! # #[cfg(feature = "redis")] {
//! let backend = target.backend().await; // fresh random namespace
//! # }
//! # }
//! ```
//!
//! [`redis_url_or_skip`] uses `CONSORT_REDIS_URL` when set, otherwise starts
//! a private `redis-server` from `PATH` on a free port (killed when the
//! returned [`RedisTarget`] drops), otherwise prints a `SKIP` line and
//! returns `None`, unless `CONSORT_REQUIRE_REDIS=1`, in which case it panics.

// Test support: failing loudly (panic) is the right reaction to a broken test
// environment, and printing the SKIP notice is the documented behaviour.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr
)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use crate::conformance::random_namespace;

/// A private `redis-server` on 127.0.0.1 and a free port, killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

/// True if `redis-server` can be started from `PATH`.
pub fn redis_server_available() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

fn pings(port: u16) -> bool {
    let Ok(mut s) =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
    else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

impl RedisServer {
    /// Starts a server on a free port and waits until it answers PING.
    ///
    /// Panics if `redis-server` is not on `PATH` or does not come up in 10 s.
    pub fn start() -> RedisServer {
        // A port freed by bind(0) can be grabbed by someone else before
        // redis binds it; retry a few times on a new port.
        for _ in 0..5 {
            let mut s = RedisServer {
                port: free_port(),
                child: None,
            };
            if s.spawn() {
                return s;
            }
        }
        panic!("redis-server did not start (is it on PATH?)");
    }

    fn spawn(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run redis-server: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if pings(self.port) {
                return true;
            }
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(_)) = c.try_wait()
            {
                // Exited: most likely the port was taken.
                self.child = None;
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        false
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:{port}/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (SIGKILL) and waits for it to exit. Data is lost.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts a fresh server on the same port (after [`kill`](Self::kill)).
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        // The old socket may linger briefly; retry until the port is ours again.
        while Instant::now() < deadline {
            if self.spawn() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("redis-server could not restart on port {}", self.port);
    }

    /// Freezes the server (SIGSTOP): connections stay open but nothing is
    /// answered, like a hung host. Undo with [`resume`](Self::resume).
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws a server frozen by [`pause`](Self::pause) (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        if let Some(c) = &self.child {
            let status = Command::new("kill")
                .args([sig, &c.id().to_string()])
                .status();
            assert!(status.is_ok_and(|s| s.success()), "kill {sig} failed");
        }
    }

    /// True while the process runs and answers PING.
    pub fn is_running(&self) -> bool {
        self.child.is_some() && pings(self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Where a test's Redis is: an external URL or a private server kept alive
/// by this value.
#[derive(Debug)]
pub struct RedisTarget {
    url: String,
    server: Option<RedisServer>,
}

impl RedisTarget {
    /// The URL to connect to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The private server, if one was started (None with `CONSORT_REDIS_URL`).
    pub fn server(&mut self) -> Option<&mut RedisServer> {
        self.server.as_mut()
    }

    /// A config for a fresh random namespace on this target.
    #[cfg(feature = "redis")]
    pub fn config(&self) -> crate::RedisConfig {
        crate::RedisConfig::new(self.url.clone(), random_namespace("test"))
    }

    /// Connects a backend on a fresh random namespace. Panics if it cannot connect.
    #[cfg(feature = "redis")]
    pub async fn backend(&self) -> crate::RedisBackend {
        let cfg = self.config();
        crate::RedisBackend::connect(cfg)
            .await
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.url))
    }

    /// A conformance [`BackendFactory`](crate::conformance::BackendFactory) on this target.
    #[cfg(feature = "redis")]
    pub fn factory(&self) -> RedisFactory {
        RedisFactory {
            url: self.url.clone(),
        }
    }
}

/// Opens [`RedisBackend`](crate::RedisBackend)s on fresh random namespaces of one server.
#[cfg(feature = "redis")]
#[derive(Debug, Clone)]
pub struct RedisFactory {
    url: String,
}

#[cfg(feature = "redis")]
#[async_trait::async_trait]
impl crate::conformance::BackendFactory for RedisFactory {
    async fn open(&self) -> std::sync::Arc<dyn crate::StateBackend> {
        let cfg = crate::RedisConfig::new(self.url.clone(), random_namespace("conf"));
        std::sync::Arc::new(
            crate::RedisBackend::connect(cfg)
                .await
                .unwrap_or_else(|e| panic!("connect to {}: {e}", self.url)),
        )
    }

    async fn open_pair(
        &self,
    ) -> (
        std::sync::Arc<dyn crate::StateBackend>,
        std::sync::Arc<dyn crate::StateBackend>,
    ) {
        (self.open().await, self.open().await)
    }
}

/// A target is itself a factory, which keeps its private server alive for as
/// long as the factory is used.
#[cfg(feature = "redis")]
#[async_trait::async_trait]
impl crate::conformance::BackendFactory for RedisTarget {
    async fn open(&self) -> std::sync::Arc<dyn crate::StateBackend> {
        self.factory().open().await
    }

    async fn open_pair(
        &self,
    ) -> (
        std::sync::Arc<dyn crate::StateBackend>,
        std::sync::Arc<dyn crate::StateBackend>,
    ) {
        self.factory().open_pair().await
    }
}

/// Finds a Redis for test `test`, or returns `None` after printing
/// `SKIP {test}: no redis-server on PATH and CONSORT_REDIS_URL unset`.
///
/// With `CONSORT_REQUIRE_REDIS=1` a missing Redis panics instead of skipping.
pub async fn redis_url_or_skip(test: &str) -> Option<RedisTarget> {
    if let Ok(url) = std::env::var("CONSORT_REDIS_URL")
        && !url.trim().is_empty()
    {
        return Some(RedisTarget { url, server: None });
    }
    if redis_server_available() {
        // Starting blocks for a few milliseconds; keep it off the async workers.
        let server = tokio::task::spawn_blocking(RedisServer::start)
            .await
            .expect("redis-server start task");
        return Some(RedisTarget {
            url: server.url(),
            server: Some(server),
        });
    }
    let msg = format!("SKIP {test}: no redis-server on PATH and CONSORT_REDIS_URL unset");
    if std::env::var("CONSORT_REQUIRE_REDIS").is_ok_and(|v| v == "1") {
        panic!("{msg} (CONSORT_REQUIRE_REDIS=1)");
    }
    eprintln!("{msg}");
    None
}
