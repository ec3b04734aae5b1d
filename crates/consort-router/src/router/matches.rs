//! Which request terms an expert matched, and where they are in the text.

use std::ops::Range;

use crate::index::{Index, IndexedExpert};
use crate::query::Query;
use crate::scratch::Acc;

/// A ranked candidate with the request terms it matched.
pub(super) struct Scored<'a> {
    pub(super) acc: Acc,
    pub(super) slot: usize,
    pub(super) expert: &'a IndexedExpert,
    pub(super) matches: Vec<Match<'a>>,
}

pub(super) struct Match<'a> {
    pub(super) span: Range<usize>,
    pub(super) strength: f64,
    pub(super) related_to: Option<&'a str>,
}

/// The request terms `expert` has, in request order.
pub(super) fn matches<'a>(
    index: &'a Index,
    expert: &IndexedExpert,
    query: &Query,
) -> Vec<Match<'a>> {
    let mut found: Vec<Match<'a>> = Vec::with_capacity(query.terms.len());
    found.extend(query.terms.iter().filter_map(|t| {
        let at = expert
            .terms
            .binary_search_by_key(&t.term, |&(term, _)| term)
            .ok()?;
        let (_, posting) = expert.terms.get(at)?;
        Some(Match {
            span: t.span.clone(),
            strength: t.weight * f64::from(posting.domain.max(posting.capability)),
            related_to: t
                .related
                .then(|| index.term_text.get(t.term as usize).map(|s| &**s))
                .flatten(),
        })
    }));
    found.sort_by_key(|m| (m.span.start, m.span.end));
    found
}

pub(super) fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}
