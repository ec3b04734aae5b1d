//! A request turned into index terms, plus the word counts the complexity
//! and coordination rules need.

use std::ops::Range;

use crate::analyzer::{is_constraint_word, is_coordination_cue};
use crate::compound::Pending;
use crate::frequency;
use crate::index::{Index, TermId};
use crate::learned::{Learned, LearnedTerm};
use crate::lexicon::RELATED_WEIGHT;
use crate::scratch::{Lookup, WordInfo, WordMemo};

/// One index term the request contains.
#[derive(Debug, Clone)]
pub(crate) struct QueryTerm {
    pub(crate) term: TermId,
    /// 1 for an exact word or phrase, [`RELATED_WEIGHT`] through the
    /// related-terms table; a word's weight is scaled by its prior.
    pub(crate) weight: f64,
    /// Where in the request text the word (or phrase) is.
    pub(crate) span: Range<usize>,
    pub(crate) related: bool,
    /// Whether the match is a weak association: a related term reached from
    /// a word common in everyday language (prior below 1).
    pub(crate) weak: bool,
    /// Whether the term is common ([`Index::is_common`]), worked out once
    /// here because routing checks it per touched expert.
    pub(crate) common: bool,
    /// The request word (its lexicon entry) or phrase the term came from:
    /// a term counts once per source, so a repeated word adds nothing, but
    /// two different words leading to one concept ("cease", "desist" →
    /// law) are two pieces of evidence.
    source: u64,
}

/// The [`QueryTerm::source`] of a phrase, apart from every lexicon entry.
fn phrase_source(phrase: TermId) -> u64 {
    (1_u64 << 32) | u64::from(phrase)
}

/// The [`QueryTerm::source`] of two request words matched as one known
/// word (`crate::compound`), apart from words and phrases.
fn compound_source(entry: u32) -> u64 {
    (2_u64 << 32) | u64::from(entry)
}

impl QueryTerm {
    fn is_compound(&self) -> bool {
        self.source >> 32 == 2
    }
}

/// What a request is analysed against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sources<'a> {
    pub(crate) index: &'a Index,
    pub(crate) learned: &'a Learned,
    /// Whether the word-frequency prior applies.
    pub(crate) prior: bool,
}

#[derive(Debug)]
pub(crate) struct Query {
    /// Distinct terms, sorted by span then term id (the accumulation order).
    pub(crate) terms: Vec<QueryTerm>,
    /// Distinct request stems learned from corrections, in request order.
    pub(crate) learned: Vec<LearnedTerm>,
    /// Every word, stop words included.
    pub(crate) words: usize,
    pub(crate) constraints: usize,
    pub(crate) coordination: bool,
}

impl Query {
    /// Parses `text`; `terms` is an empty buffer to reuse (routing keeps one
    /// per scratch space rather than allocating per call).
    pub(crate) fn parse(
        sources: Sources<'_>,
        text: &str,
        memo: &mut WordMemo,
        (terms, learned): (Vec<QueryTerm>, Vec<LearnedTerm>),
    ) -> Self {
        let Sources {
            index,
            learned: store,
            prior,
        } = sources;
        let mut query = Self {
            terms,
            learned,
            words: 0,
            constraints: 0,
            coordination: false,
        };
        // The previous content word's term and span: two adjacent content
        // words (stop words between them are skipped) may form a phrase.
        let mut previous: Option<(TermId, usize)> = None;
        // The previous word, stop words included, and whether any two words
        // matched as one.
        let mut pending = Pending::default();
        let mut joined = false;
        index.analyzer.words(text, |span, lower| {
            let info = memo.get_or_insert(lower, || {
                let stem = index.analyzer.stem(lower);
                WordInfo {
                    learned: stem.as_deref().and_then(|s| store.slot(s)),
                    lookup: match stem {
                        None => Lookup::Stop,
                        Some(stem) => index.entry(&stem).map_or(Lookup::Unknown, Lookup::Entry),
                    },
                    prior: if prior { frequency::prior(lower) } else { 1.0 },
                    constraint: is_constraint_word(lower),
                    coordination: is_coordination_cue(lower),
                }
            });
            let stop = matches!(info.lookup, Lookup::Stop);
            if let Some((compound, start)) = pending.join(lower, stop, &index.compounds)
                && let Some(entry) = index.entries.get(compound.entry as usize)
            {
                let source = compound_source(compound.entry);
                let weight = if prior { compound.prior } else { 1.0 };
                let both = start..span.end;
                if let Some(term) = entry.term {
                    query.push(index, (term, source), weight, both.clone(), false);
                }
                for &related in &entry.related {
                    let related_weight = RELATED_WEIGHT * weight;
                    query.push(index, (related, source), related_weight, both.clone(), true);
                }
                joined = true;
            }
            pending.set(lower, span.start, stop);
            if let Some(slot) = info.learned
                && !query.learned.iter().any(|t| t.slot == slot)
            {
                query.learned.push(LearnedTerm {
                    slot,
                    weight: info.prior,
                    span: span.clone(),
                });
            }
            query.words += 1;
            query.constraints += usize::from(info.constraint);
            query.coordination |= info.coordination;
            let (entry, source) = match info.lookup {
                Lookup::Stop => return,
                Lookup::Entry(at) => (index.entries.get(at as usize), u64::from(at)),
                Lookup::Unknown => (None, 0),
            };
            let Some(entry) = entry else {
                previous = None;
                return;
            };
            if let Some(term) = entry.term {
                if let Some((first, start)) = previous
                    && let Some(&phrase) = index.phrases.get(&(first, term))
                {
                    let phrase_span = start..span.end;
                    query.push(
                        index,
                        (phrase, phrase_source(phrase)),
                        1.0,
                        phrase_span,
                        false,
                    );
                }
                query.push(index, (term, source), info.prior, span.clone(), false);
                previous = Some((term, span.start));
            } else {
                previous = None;
            }
            for &related in &entry.related {
                query.push(
                    index,
                    (related, source),
                    RELATED_WEIGHT * info.prior,
                    span.clone(),
                    true,
                );
            }
        });
        if joined {
            query.drop_compound_parts();
        }
        // Keep one entry per term and source: the strongest, then the
        // earliest.
        query.terms.sort_by(|a, b| {
            (a.term, a.source)
                .cmp(&(b.term, b.source))
                .then(b.weight.total_cmp(&a.weight))
                .then(a.span.start.cmp(&b.span.start))
        });
        query.terms.dedup_by_key(|t| (t.term, t.source));
        // Accumulation order: by span, so that the terms one request word
        // leads to are added one after another (`Acc::add_evidence` counts
        // them once), then by term; deterministic, so floating-point sums are
        // identical run to run.
        query
            .terms
            .sort_by_key(|t| (t.span.start, t.span.end, t.term));
        query
    }

    /// Drops the matches of words that are part of a compound matched as
    /// one word: "sign up" is not about signing.
    fn drop_compound_parts(&mut self) {
        let compounds: Vec<Range<usize>> = self
            .terms
            .iter()
            .filter(|t| t.is_compound())
            .map(|t| t.span.clone())
            .collect();
        self.terms.retain(|t| {
            t.is_compound()
                || !compounds
                    .iter()
                    .any(|c| c.start <= t.span.start && t.span.end <= c.end && *c != t.span)
        });
    }

    fn push(
        &mut self,
        index: &Index,
        (term, source): (TermId, u64),
        weight: f64,
        span: Range<usize>,
        related: bool,
    ) {
        self.terms.push(QueryTerm {
            term,
            weight,
            span,
            related,
            weak: related && weight < RELATED_WEIGHT,
            common: if related {
                index.is_common_related(term)
            } else {
                index.is_common(term)
            },
            source,
        });
    }
}
