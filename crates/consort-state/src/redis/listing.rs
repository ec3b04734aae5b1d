//! Bounded prefix listing over `SCAN`.

use std::collections::HashSet;

use tracing::{Instrument, debug_span};

use super::pubsub::escape_pattern;
use super::{BACKEND, RedisBackend};
use crate::backend::{Cursor, Page};
use crate::error::{Result, StateError};
use crate::key::{validate_key, validate_limit};

/// SCAN round trips one `list` call may spend before returning a short page.
const MAX_SCANS_PER_PAGE: usize = 16;

impl RedisBackend {
    pub(super) async fn list_page(
        &self,
        prefix: &str,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let limit = validate_limit(prefix, limit)?;
        if !prefix.is_empty() {
            validate_key(prefix)?;
        }
        // Cursor: "{scan cursor}:{matches of that SCAN batch already returned}".
        // Re-running SCAN from the same cursor yields the same batch while
        // the keyspace is unchanged, which lets one batch span pages.
        let (mut scan, mut skip) = match cursor {
            None => (0u64, 0usize),
            Some(c) => {
                c.0.split_once(':')
                    .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
                    .ok_or_else(|| StateError::InvalidArgument {
                        what: format!("cursor for listing `{prefix}`"),
                        reason: format!("`{}` is not a cursor returned by this backend", c.0),
                    })?
            }
        };
        let pattern = format!("{}{}*", self.kv_prefix(), escape_pattern(prefix));
        let strip = self.kv_prefix().len();
        let mut keys = Vec::new();
        let mut seen = HashSet::new();
        let span = debug_span!("state.list", backend = BACKEND, prefix);
        for _ in 0..MAX_SCANS_PER_PAGE {
            let mut conn = self.conn();
            let (next, batch): (u64, Vec<Vec<u8>>) = self
                .run(
                    "list",
                    prefix,
                    redis::cmd("SCAN")
                        .arg(scan)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(limit.max(100))
                        .query_async(&mut conn),
                )
                .instrument(span.clone())
                .await?;
            let fresh: Vec<String> = batch
                .into_iter()
                .skip(skip)
                .filter_map(|k| String::from_utf8(k.get(strip..)?.to_vec()).ok())
                .collect();
            let room = limit - keys.len();
            if fresh.len() > room {
                let taken = skip + room;
                for k in fresh.into_iter().take(room) {
                    if seen.insert(k.clone()) {
                        keys.push(k);
                    }
                }
                return Ok(Page {
                    keys,
                    next: Some(Cursor(format!("{scan}:{taken}"))),
                });
            }
            for k in fresh {
                if seen.insert(k.clone()) {
                    keys.push(k);
                }
            }
            skip = 0;
            scan = next;
            if scan == 0 {
                return Ok(Page { keys, next: None });
            }
            if keys.len() == limit {
                break;
            }
        }
        Ok(Page {
            keys,
            next: Some(Cursor(format!("{scan}:0"))),
        })
    }
}
