//! This process's stdin and stdout as an MCP transport, read and written
//! from the async runtime itself when they are pipes.
//!
//! `tokio::io::stdin()` and `stdout()` hand every read and write to a thread
//! of the blocking pool, because a terminal or a file cannot be polled. An
//! MCP client starts its server with pipes, which can: through
//! `tokio::net::unix::pipe` the runtime's own event loop reads a request and
//! writes its answer, and each call saves two hand-offs between threads (a
//! wake-up of a parked thread each, which on a small VM costs more than
//! routing the request). Anything that is not a pipe keeps tokio's
//! blocking-pool streams.

use tokio::io::{AsyncRead, AsyncWrite};

type Input = Box<dyn AsyncRead + Send + Unpin>;
type Output = Box<dyn AsyncWrite + Send + Unpin>;

/// This process's stdin and stdout as an rmcp transport (`(reader,
/// writer)`), for any server, consort's or a host's own: where they are
/// pipes, as when an MCP client starts this process, they are set
/// non-blocking and polled by the runtime's event loop; otherwise they are
/// `tokio::io::stdin()` and `stdout()`.
///
/// ```no_run
/// # use consort_mcp::ConsortServer;
/// # async fn serve(server: ConsortServer) -> Result<(), Box<dyn std::error::Error>> {
/// use rmcp::ServiceExt as _;
/// let running = server.serve(consort_mcp::stdio()).await?;
/// running.waiting().await?;
/// # Ok(()) }
/// ```
///
/// Nothing else in the process may write to stdout with blocking writes
/// (`println!`) once the pipe is non-blocking: a full pipe would fail such a
/// write rather than wait.
///
/// # Panics
///
/// Outside a Tokio runtime with IO enabled (`enable_io` or `enable_all`;
/// `#[tokio::main]` enables both), as Tokio's pipes do.
pub fn stdio() -> (
    impl AsyncRead + Send + Unpin + 'static,
    impl AsyncWrite + Send + Unpin + 'static,
) {
    (input(), output())
}

#[cfg(unix)]
fn input() -> Input {
    use std::os::fd::AsFd as _;
    std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .and_then(|fd| tokio::net::unix::pipe::Receiver::from_owned_fd(fd).ok())
        .map_or_else(
            || Box::new(tokio::io::stdin()) as Input,
            |pipe| Box::new(pipe),
        )
}

#[cfg(unix)]
fn output() -> Output {
    use std::os::fd::AsFd as _;
    std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .and_then(|fd| tokio::net::unix::pipe::Sender::from_owned_fd(fd).ok())
        .map_or_else(
            || Box::new(tokio::io::stdout()) as Output,
            |pipe| Box::new(pipe),
        )
}

#[cfg(not(unix))]
fn input() -> Input {
    Box::new(tokio::io::stdin())
}

#[cfg(not(unix))]
fn output() -> Output {
    Box::new(tokio::io::stdout())
}
