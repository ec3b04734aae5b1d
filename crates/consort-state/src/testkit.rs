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
//!
//! Fault tests start their own server with [`durable_server_or_skip`] (AOF
//! in a temp dir) and crash, restart, freeze it or drop its clients with the
//! methods of [`RedisServer`]:
//!
//! ```no_run
//! # async fn t() {
//! use consort_state::testkit::durable_server_or_skip;
//! let Some(mut server) = durable_server_or_skip("my_fault_test").await else { return };
//! // ... connect to server.url(), write ...
//! server.pause();          // SIGSTOP: requests time out
//! server.resume();         // SIGCONT
//! server.kill_clients();   // CLIENT KILL of every connection
//! tokio::task::spawn_blocking(move || { server.restart(); server }).await.unwrap();
//! # }
//! ```

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
///
/// For fault tests: [`start_durable`](Self::start_durable) keeps its data in
/// an append-only file (fsync on every write) in a temp dir, so that
/// [`kill`](Self::kill) then [`start_again`](Self::start_again) (or
/// [`restart`](Self::restart)) brings it back on the same port with the same
/// data, like a crashed and restarted production server.
/// [`pause`](Self::pause) freezes it, and [`kill_clients`](Self::kill_clients)
/// drops every client connection (`CLIENT KILL`).
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    /// The data directory of a durable server (removed on drop).
    dir: Option<tempfile::TempDir>,
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

/// Sends one inline command to the server and returns its reply line
/// (without CRLF), or `None` if it cannot be reached within half a second.
fn inline_command(port: u16, command: &str) -> Option<String> {
    let mut s =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
            .ok()?;
    s.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
    s.write_all(format!("{command}\r\n").as_bytes()).ok()?;
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    while !reply.ends_with(b"\r\n") {
        s.read_exact(&mut byte).ok()?;
        reply.push(byte[0]);
    }
    reply.truncate(reply.len() - 2);
    String::from_utf8(reply).ok()
}

fn pings(port: u16) -> bool {
    // A server still loading its append-only file answers -LOADING.
    inline_command(port, "PING").is_some_and(|r| r == "+PONG")
}

impl RedisServer {
    /// Starts a server without persistence on a free port and waits until
    /// it answers PING.
    ///
    /// Panics if `redis-server` is not on `PATH` or does not come up in 10 s.
    pub fn start() -> RedisServer {
        Self::start_with(None)
    }

    /// Starts a server that writes every change to an append-only file
    /// (`--appendonly yes --appendfsync always`) in a fresh temp dir, on a
    /// free port, and waits until it answers PING.
    ///
    /// Panics if `redis-server` is not on `PATH` or does not come up in 10 s.
    pub fn start_durable() -> RedisServer {
        let dir = tempfile::Builder::new()
            .prefix("consort-redis-")
            .tempdir()
            .expect("create a temp dir for redis");
        Self::start_with(Some(dir))
    }

    fn start_with(dir: Option<tempfile::TempDir>) -> RedisServer {
        let mut s = RedisServer {
            port: 0,
            child: None,
            dir,
        };
        // A port freed by bind(0) can be grabbed by someone else before
        // redis binds it; retry a few times on a new port.
        for _ in 0..5 {
            s.port = free_port();
            if s.spawn() {
                return s;
            }
        }
        panic!("redis-server did not start (is it on PATH?)");
    }

    fn spawn(&mut self) -> bool {
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--daemonize", "no"]);
        match &self.dir {
            Some(dir) => {
                cmd.arg("--dir")
                    .arg(dir.path())
                    .args(["--appendonly", "yes"])
                    .args(["--appendfsync", "always"]);
            }
            None => {
                cmd.args(["--appendonly", "no"]);
            }
        }
        let child = cmd
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

    /// True if started with [`start_durable`](Self::start_durable).
    pub fn is_durable(&self) -> bool {
        self.dir.is_some()
    }

    /// Kills the server (SIGKILL, like a crash) and waits for it to exit. A
    /// durable server keeps every acknowledged write; any other loses all.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again after [`kill`](Self::kill), on the same port
    /// and (durable) with the same data, and waits until it answers PING.
    ///
    /// Panics if it does not come back within 10 s.
    pub fn start_again(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        // The old socket may linger briefly; retry until the port is ours again.
        while Instant::now() < deadline {
            if self.spawn() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("redis-server could not start again on port {}", self.port);
    }

    /// [`kill`](Self::kill) then [`start_again`](Self::start_again).
    pub fn restart(&mut self) {
        self.kill();
        self.start_again();
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

    /// Closes every client connection, command and pub/sub alike (`CLIENT
    /// KILL TYPE normal`, then `TYPE pubsub`), as a proxy or an operator
    /// would; returns how many were closed.
    ///
    /// Panics if the server does not answer.
    pub fn kill_clients(&self) -> u64 {
        ["normal", "pubsub"]
            .iter()
            .map(|kind| {
                let reply = inline_command(self.port, &format!("CLIENT KILL TYPE {kind}"))
                    .unwrap_or_else(|| panic!("CLIENT KILL: no answer on port {}", self.port));
                reply
                    .strip_prefix(':')
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or_else(|| panic!("CLIENT KILL TYPE {kind}: {reply}"))
            })
            .sum()
    }

    /// Makes the server require `password` (`CONFIG SET requirepass`), to
    /// test authentication failures. Afterwards [`is_running`](Self::is_running)
    /// and [`kill_clients`](Self::kill_clients) no longer get answers.
    ///
    /// Panics if the server does not accept it.
    pub fn require_password(&self, password: &str) {
        let reply = inline_command(self.port, &format!("CONFIG SET requirepass {password}"));
        assert_eq!(reply.as_deref(), Some("+OK"), "CONFIG SET requirepass");
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

/// Starts a private durable server ([`RedisServer::start_durable`]) for a
/// fault test, which needs a server of its own to kill and freeze (it never
/// uses `CONSORT_REDIS_URL`). Without `redis-server` on `PATH` it prints
/// `SKIP {test}: no redis-server on PATH` and returns `None`, or panics
/// under `CONSORT_REQUIRE_REDIS=1`.
pub async fn durable_server_or_skip(test: &str) -> Option<RedisServer> {
    if !redis_server_available() {
        let msg = format!("SKIP {test}: no redis-server on PATH");
        if std::env::var("CONSORT_REQUIRE_REDIS").is_ok_and(|v| v == "1") {
            panic!("{msg} (CONSORT_REQUIRE_REDIS=1)");
        }
        eprintln!("{msg}");
        return None;
    }
    // Starting blocks for a few milliseconds; keep it off the async workers.
    Some(
        tokio::task::spawn_blocking(RedisServer::start_durable)
            .await
            .expect("redis-server start task"),
    )
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
