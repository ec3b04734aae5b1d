//! Ctrl-C and SIGTERM, which stop a command gracefully: a run pauses, a
//! server pauses its runs and exits.

/// A signal that asks the command to stop.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Interrupt {
    /// Ctrl-C.
    Int,
    /// `kill`, a service manager stopping.
    Term,
}

impl Interrupt {
    /// 128 + the signal's number, as shells report it.
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Self::Int => 130,
            Self::Term => 143,
        }
    }
}

/// Ctrl-C and, on Unix, SIGTERM.
pub(crate) struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    pub(crate) fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(not(unix))]
    pub(crate) fn new() -> std::io::Result<Self> {
        Ok(Self {})
    }

    #[cfg(unix)]
    pub(crate) async fn next(&mut self) -> Interrupt {
        tokio::select! {
            Some(()) = self.int.recv() => Interrupt::Int,
            Some(()) = self.term.recv() => Interrupt::Term,
        }
    }

    #[cfg(not(unix))]
    pub(crate) async fn next(&mut self) -> Interrupt {
        match tokio::signal::ctrl_c().await {
            Ok(()) => Interrupt::Int,
            Err(_) => std::future::pending().await,
        }
    }
}
