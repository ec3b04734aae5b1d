//! A run's work in flight: the attempts and backoffs that have to wait.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::stream::{FuturesUnordered, Stream};

use super::work::{Waiting, Wake};

/// The work in flight of one run.
///
/// A sequential chain, the most common shape, has one attempt in flight at
/// a time: that one is kept as it is and polled with the driver's waker.
/// Work beyond it goes into a [`FuturesUnordered`], which polls only what
/// was woken but allocates a task for every future pushed, a cost a chain
/// would pay on every step.
#[derive(Default)]
pub(super) struct InFlight<'e> {
    first: Option<Waiting<'e>>,
    rest: FuturesUnordered<Waiting<'e>>,
}

impl<'e> InFlight<'e> {
    pub(super) fn push(&mut self, waiting: Waiting<'e>) {
        if self.first.is_none() {
            self.first = Some(waiting);
        } else {
            self.rest.push(waiting);
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.first.is_none() && self.rest.is_empty()
    }

    /// The next work to end; `None` when nothing is in flight.
    pub(super) async fn next(&mut self) -> Option<Wake> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Wake>> {
        if let Some(first) = &mut self.first
            && let Poll::Ready(wake) = Pin::new(first).poll(cx)
        {
            self.first = None;
            return Poll::Ready(Some(wake));
        }
        match Pin::new(&mut self.rest).poll_next(cx) {
            Poll::Ready(None) if self.first.is_some() => Poll::Pending,
            other => other,
        }
    }
}

impl<'e> IntoIterator for InFlight<'e> {
    type Item = Waiting<'e>;
    type IntoIter = std::iter::Chain<
        std::option::IntoIter<Waiting<'e>>,
        <FuturesUnordered<Waiting<'e>> as IntoIterator>::IntoIter,
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.rest)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn backoff(index: usize, millis: u64) -> Waiting<'static> {
        Waiting::Backoff {
            index,
            sleep: Box::pin(tokio::time::sleep(Duration::from_millis(millis))),
        }
    }

    fn index_of(wake: Option<Wake>) -> Option<usize> {
        match wake? {
            Wake::Backoff { index } | Wake::Attempt { index, .. } => Some(index),
        }
    }

    /// The first work pushed is kept apart; what ends first still comes
    /// first, and the first is waited for after the rest are done.
    #[tokio::test(start_paused = true)]
    async fn work_ends_in_the_order_it_finishes() {
        let mut in_flight = InFlight::default();
        assert!(in_flight.is_empty());
        in_flight.push(backoff(0, 30));
        in_flight.push(backoff(1, 10));
        in_flight.push(backoff(2, 20));
        assert!(!in_flight.is_empty());
        assert_eq!(index_of(in_flight.next().await), Some(1));
        assert_eq!(index_of(in_flight.next().await), Some(2));
        assert!(!in_flight.is_empty());
        // Work pushed while the first waits joins the rest.
        in_flight.push(backoff(3, 5));
        assert_eq!(index_of(in_flight.next().await), Some(3));
        assert_eq!(index_of(in_flight.next().await), Some(0));
        assert!(in_flight.is_empty());
        assert_eq!(index_of(in_flight.next().await), None);
        // Emptied, the first place is free again.
        in_flight.push(backoff(4, 1));
        assert_eq!(in_flight.into_iter().count(), 1);
    }
}
