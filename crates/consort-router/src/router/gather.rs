//! Gathering evidence: the experts a request touches through its terms and
//! its context, with their raw lexical totals.

use crate::RouteRequest;
use crate::index::{Posting, TermId};
use crate::query::{Query, QueryTerm};
use crate::request::normalize_data_key;
use crate::scratch::{Acc, Scratch, span_key};

use super::Router;

impl Router {
    /// Touches every expert with evidence: a shared term, a context link, or
    /// (with extra signals) all of them.
    pub(super) fn gather(&self, query: &Query, request: &RouteRequest, scratch: &mut Scratch) {
        let context = &request.context;
        let index = &self.index;
        // Collected because the merge below walks them once per touched
        // expert; empty (no allocation) whenever no term is common, which is
        // always the case in registries of 64 experts or fewer.
        let mut common: Vec<&QueryTerm> = query.terms.iter().filter(|t| t.common).collect();
        // The merge below walks them alongside each expert's terms, which
        // are sorted by term.
        common.sort_by_key(|t| t.term);
        let scan = |scratch: &mut Scratch, terms: &mut dyn Iterator<Item = &QueryTerm>| {
            for term in terms {
                for posting in index.postings(term.term) {
                    if let Some(acc) = scratch.touch(posting.expert) {
                        add(acc, term, posting);
                    }
                }
            }
        };
        scan(scratch, &mut query.terms.iter().filter(|t| !t.common));
        for term in &query.learned {
            self.learned.each(term, |expert, weight| {
                if let Some(acc) = scratch.touch(expert) {
                    acc.domain_raw += weight;
                    acc.learned_raw += weight;
                    acc.exact = acc.exact.saturating_add(1);
                }
            });
        }
        #[cfg(feature = "semantic")]
        self.gather_semantic(&request.text, scratch);
        // Common terms find candidates only when no other term did;
        // otherwise they are added below to the experts already found.
        let complete_common = !scratch.accs.is_empty();
        if !complete_common {
            scan(scratch, &mut common.iter().copied());
        }
        let number = |id: &str| index.ids.get(id).copied();
        if let Some(acc) = context
            .previous_expert
            .as_deref()
            .and_then(number)
            .and_then(|n| scratch.touch(n))
        {
            acc.previous = true;
        }
        for id in &context.collaborators {
            if let Some(acc) = number(id).and_then(|n| scratch.touch(n)) {
                acc.collaborator = true;
            }
        }
        for key in &context.shared_data {
            for &holder in index
                .data_keys
                .get(&normalize_data_key(key))
                .map_or(&[][..], Vec::as_slice)
            {
                if let Some(acc) = scratch.touch(holder) {
                    acc.data_hits += 1;
                }
            }
        }
        if !self.signals.is_empty() {
            for n in 0..index.experts.len() {
                scratch.touch(u32::try_from(n).unwrap_or(u32::MAX));
            }
        }
        if complete_common && !common.is_empty() {
            for acc in &mut scratch.accs {
                let Some(expert) = index.expert(acc.expert) else {
                    continue;
                };
                // Both lists are sorted by term: one merge pass, which reads
                // the expert's terms sequentially (prefetch-friendly).
                let mut own: &[(TermId, Posting)] = &expert.terms;
                for term in &common {
                    while let [(t, _), rest @ ..] = own
                        && *t < term.term
                    {
                        own = rest;
                    }
                    if let [(t, posting), rest @ ..] = own
                        && *t == term.term
                    {
                        add(acc, term, posting);
                        own = rest;
                    }
                }
            }
        }
    }
}

fn add(acc: &mut Acc, term: &QueryTerm, posting: &Posting) {
    if term.weak {
        acc.related = acc.related.saturating_add(1);
    } else {
        acc.exact = acc.exact.saturating_add(1);
    }
    acc.add_evidence(
        span_key(&term.span),
        term.weight * f64::from(posting.domain),
        term.weight * f64::from(posting.capability),
    );
}
