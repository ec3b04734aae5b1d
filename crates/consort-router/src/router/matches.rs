//! Which request terms an expert matched, and where they are in the text.

use std::ops::Range;

use crate::index::{Index, IndexedExpert};
use crate::learned::Learned;
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
    pub(super) via: Via<'a>,
}

/// How a request word matched an expert.
#[derive(Clone, Copy)]
pub(super) enum Via<'a> {
    /// The word (or phrase) is in the profile.
    Profile,
    /// The word is related to this profile term.
    Related(&'a str),
    /// Corrections associated the word with the expert.
    Learned,
}

/// The request terms `expert` (number `number`) has, and the learned ones
/// that point to it, in request order.
pub(super) fn matches<'a>(
    index: &'a Index,
    learned: &Learned,
    (expert, number): (&IndexedExpert, u32),
    query: &Query,
) -> Vec<Match<'a>> {
    let mut found: Vec<Match<'a>> = Vec::with_capacity(query.terms.len() + query.learned.len());
    found.extend(query.terms.iter().filter_map(|t| {
        let at = expert
            .terms
            .binary_search_by_key(&t.term, |&(term, _)| term)
            .ok()?;
        let (_, posting) = expert.terms.get(at)?;
        Some(Match {
            span: t.span.clone(),
            strength: t.weight * f64::from(posting.domain.max(posting.capability)),
            via: match index.term_text.get(t.term as usize) {
                Some(term) if t.related => Via::Related(term),
                _ => Via::Profile,
            },
        })
    }));
    found.extend(query.learned.iter().filter_map(|t| {
        let strength = learned.weight(t, number);
        (strength > 0.0).then(|| Match {
            span: t.span.clone(),
            strength,
            via: Via::Learned,
        })
    }));
    found.sort_by_key(|m| (m.span.start, m.span.end));
    found
}

/// The request spans `found` claims for the novelty rule: those its profile
/// matched. Learned matches add to a score but claim no words, so a
/// correction that taught an expert another expert's words (from a
/// multi-expert request) does not crowd that expert out of the
/// collaboration.
pub(super) fn claimed<'m>(found: &'m [Match<'_>]) -> impl Iterator<Item = Range<usize>> + 'm {
    found
        .iter()
        .filter(|m| !matches!(m.via, Via::Learned))
        .map(|m| m.span.clone())
}

pub(super) fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}
