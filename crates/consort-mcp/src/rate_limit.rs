//! Rate limits per tool and per client (GCRA, through governor), as the
//! seeds' gateway asks: an excess is a tool error that says when to retry.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::tool_name::ConsortTool;

/// How often one client may call one tool: a sustained rate and a burst.
///
/// ```
/// use std::num::NonZeroU32;
/// use consort_mcp::RateLimit;
/// let limit = RateLimit::per_second(NonZeroU32::new(50).unwrap())
///     .with_burst(NonZeroU32::new(100).unwrap());
/// # let _ = limit;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    quota: Quota,
}

impl RateLimit {
    /// `calls` per second, in a burst of as many.
    pub const fn per_second(calls: NonZeroU32) -> Self {
        Self {
            quota: Quota::per_second(calls),
        }
    }

    /// `calls` per minute, in a burst of as many.
    pub const fn per_minute(calls: NonZeroU32) -> Self {
        Self {
            quota: Quota::per_minute(calls),
        }
    }

    /// Allows `calls` at once before the sustained rate applies.
    #[must_use]
    pub const fn with_burst(self, calls: NonZeroU32) -> Self {
        Self {
            quota: self.quota.allow_burst(calls),
        }
    }

    /// The time one call's allowance takes to come back.
    pub fn replenish_interval(&self) -> Duration {
        self.quota.replenish_interval()
    }

    /// Calls allowed at once.
    pub fn burst(&self) -> NonZeroU32 {
        self.quota.burst_size()
    }
}

/// A call refused by a rate limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    pub(crate) retry_after: Duration,
    pub(crate) limit: RateLimit,
}

/// The limiters in force: one per limited tool, keyed by client.
#[derive(Debug, Default)]
pub(crate) struct Limiters {
    by_tool: BTreeMap<ConsortTool, (RateLimit, DefaultKeyedRateLimiter<String>)>,
}

impl Limiters {
    /// Limiters for `default` (every tool without its own) and `per_tool`.
    pub(crate) fn new(
        default: Option<RateLimit>,
        per_tool: &BTreeMap<ConsortTool, RateLimit>,
    ) -> Self {
        let by_tool = ConsortTool::ALL
            .into_iter()
            .filter_map(|tool| {
                let limit = per_tool.get(&tool).copied().or(default)?;
                Some((tool, (limit, DefaultKeyedRateLimiter::keyed(limit.quota))))
            })
            .collect();
        Self { by_tool }
    }

    /// Counts one call of `tool` by the client `client` names (asked only
    /// when the tool is limited), or says when it may retry.
    pub(crate) fn check(
        &self,
        tool: ConsortTool,
        client: impl FnOnce() -> String,
    ) -> Result<(), Refused> {
        let Some((limit, limiter)) = self.by_tool.get(&tool) else {
            return Ok(());
        };
        limiter.check_key(&client()).map_err(|not_until| Refused {
            retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            limit: *limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::num::NonZeroU32;

    use super::{Limiters, RateLimit};
    use crate::tool_name::ConsortTool;

    fn two() -> NonZeroU32 {
        NonZeroU32::MIN.saturating_add(1)
    }

    #[test]
    fn a_client_over_its_burst_is_told_when_to_retry_and_others_are_not_affected() {
        let limiters = Limiters::new(
            Some(RateLimit::per_minute(two())),
            &BTreeMap::from([(ConsortTool::Ping, RateLimit::per_second(NonZeroU32::MIN))]),
        );
        assert!(
            limiters
                .check(ConsortTool::Route, || "a".to_owned())
                .is_ok()
        );
        assert!(
            limiters
                .check(ConsortTool::Route, || "a".to_owned())
                .is_ok()
        );
        let refused = limiters
            .check(ConsortTool::Route, || "a".to_owned())
            .unwrap_err();
        assert!(refused.retry_after > std::time::Duration::from_secs(20));
        assert!(
            limiters
                .check(ConsortTool::Route, || "b".to_owned())
                .is_ok()
        );
        // Ping has its own, tighter limit.
        assert!(limiters.check(ConsortTool::Ping, || "a".to_owned()).is_ok());
        assert!(
            limiters
                .check(ConsortTool::Ping, || "a".to_owned())
                .is_err()
        );
    }

    #[test]
    fn no_limit_means_no_limit() {
        let limiters = Limiters::new(None, &BTreeMap::new());
        for _ in 0..1000 {
            assert!(
                limiters
                    .check(ConsortTool::Route, || "a".to_owned())
                    .is_ok()
            );
        }
    }
}
