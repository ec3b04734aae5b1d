//! Per-call working memory, pooled so routing allocates nothing per expert
//! and resets only the experts it touched (which keeps a call sublinear in
//! the registry size).

use foldhash::HashMap as FoldHashMap;
use std::ops::Range;
use std::sync::{Mutex, PoisonError};

use crate::learned::LearnedTerm;
use crate::query::QueryTerm;
use crate::router::RankKey;
use crate::saturation::{saturate, upper_bound};

/// Most words a scratch space remembers before it starts afresh.
const MEMO_CAPACITY: usize = 4_096;

/// What the analyzer made of a lower-cased request word.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WordInfo {
    pub(crate) lookup: Lookup,
    /// The word's evidence weight from the word-frequency prior (1 without).
    pub(crate) prior: f64,
    /// The word's stem in the learned store, if corrections taught it.
    pub(crate) learned: Option<u32>,
    pub(crate) constraint: bool,
    pub(crate) coordination: bool,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Lookup {
    /// A stop word: phrases may span it.
    Stop,
    /// A content word the index does not know.
    Unknown,
    /// A lexicon entry.
    Entry(u32),
}

/// Lower-cased request word -> [`WordInfo`]. Stemming is the costliest step
/// of routing a short request, and requests repeat words a lot.
///
/// Keys are request text, so the map is seeded per process (foldhash's
/// `RandomState`, minimally DoS-resistant) rather than fixed, and it holds
/// at most [`MEMO_CAPACITY`] words, which bounds what colliding keys could
/// cost. SipHash cost about 250 instructions per word here; foldhash saves
/// 7-9% of a short request's routing (docs/routing.md).
#[derive(Debug, Default)]
pub(crate) struct WordMemo {
    words: FoldHashMap<Box<str>, WordInfo>,
}

impl WordMemo {
    pub(crate) fn get_or_insert(
        &mut self,
        lower: &str,
        analyze: impl FnOnce() -> WordInfo,
    ) -> WordInfo {
        if let Some(&known) = self.words.get(lower) {
            return known;
        }
        let value = analyze();
        if self.words.len() >= MEMO_CAPACITY {
            self.words.clear();
        }
        self.words.insert(lower.into(), value);
        value
    }
}

/// A request span as the key [`Acc::add_evidence`] groups evidence by
/// (never 0, which stands for no span).
pub(crate) fn span_key(span: &Range<usize>) -> u64 {
    let (start, end) = (span.start as u64, span.end as u64);
    ((start << 32) | (end & 0xffff_ffff)).wrapping_add(1)
}

/// Running totals for one touched expert.
#[derive(Debug, Clone, Default)]
pub(crate) struct Acc {
    pub(crate) expert: u32,
    pub(crate) domain_raw: f64,
    pub(crate) capability_raw: f64,
    /// The part of `domain_raw` learned from corrections.
    pub(crate) learned_raw: f64,
    /// The semantic signal (0 without a model).
    pub(crate) semantic: f64,
    /// Request terms matched exactly (words or phrases).
    pub(crate) exact: u16,
    /// Request terms matched only through the related-terms table.
    pub(crate) related: u16,
    /// The request span (`start << 32 | end`, plus 1; 0 for none) whose
    /// terms were added last, and the largest domain and capability weights
    /// they gave: see `Acc::add_evidence`.
    pub(crate) word: u64,
    pub(crate) word_domain: f64,
    pub(crate) word_capability: f64,
    pub(crate) previous: bool,
    pub(crate) collaborator: bool,
    /// Whether `domain`, `capability` and `relevance` are the signals:
    /// they are worked out only for experts whose bounds do not rule them
    /// out, and until then `domain` and `capability` hold upper bounds.
    pub(crate) saturated: bool,
    pub(crate) data_hits: usize,
    /// `None` when the expert is offline.
    pub(crate) availability: Option<f64>,
    pub(crate) domain: f64,
    pub(crate) capability: f64,
    pub(crate) relevance: f64,
    pub(crate) complexity: f64,
    pub(crate) context: f64,
    pub(crate) score: f64,
    /// Where this expert's extra signal scores start in `Scratch::extra`.
    pub(crate) extra_at: usize,
}

impl Acc {
    /// Adds one term's evidence from the request span `word` (see
    /// [`span_key`]). Terms reached from the same span count once, at their
    /// strongest: one request word is one piece of evidence, however many of
    /// an expert's profile terms it leads to ("customer" reaching sales,
    /// audience and the description's "customers" would otherwise count
    /// three times). Callers add a span's terms one after another.
    pub(crate) fn add_evidence(&mut self, word: u64, domain: f64, capability: f64) {
        if self.word != word {
            self.word = word;
            self.word_domain = 0.0;
            self.word_capability = 0.0;
        }
        self.domain_raw += (domain - self.word_domain).max(0.0);
        self.capability_raw += (capability - self.word_capability).max(0.0);
        self.word_domain = self.word_domain.max(domain);
        self.word_capability = self.word_capability.max(capability);
    }

    /// Sets `domain` and `capability` to upper bounds of the signals, which
    /// cost no `exp`.
    pub(crate) fn bound_signals(&mut self) {
        self.domain = upper_bound(self.domain_raw);
        self.capability = upper_bound(self.capability_raw);
    }

    /// Sets the domain and capability signals and the relevance, once.
    pub(crate) fn saturate(&mut self) {
        if !self.saturated {
            self.domain = saturate(self.domain_raw);
            self.capability = saturate(self.capability_raw);
            self.relevance = self.domain.max(self.capability);
            self.saturated = true;
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// Expert number -> position in `accs`, or `u32::MAX`.
    slots: Vec<u32>,
    pub(crate) accs: Vec<Acc>,
    /// Extra signal scores, `signals` per acc, in acc order.
    pub(crate) extra: Vec<f64>,
    /// The strongest strong matches, best first: (relevance, expert).
    pub(crate) strong: Vec<(f64, u32)>,
    /// The best ranked candidates, best first, by position in `accs`.
    pub(crate) top: Vec<(RankKey, usize)>,
    /// Request spans already matched by the experts chosen so far.
    pub(crate) covered: Vec<Range<usize>>,
    pub(crate) memo: WordMemo,
    /// The query's term buffers, kept between calls.
    pub(crate) query_terms: Vec<QueryTerm>,
    pub(crate) learned_terms: Vec<LearnedTerm>,
}

impl Scratch {
    fn new(experts: usize) -> Self {
        Self {
            slots: vec![u32::MAX; experts],
            accs: Vec::new(),
            extra: Vec::new(),
            strong: Vec::new(),
            top: Vec::new(),
            covered: Vec::new(),
            memo: WordMemo::default(),
            query_terms: Vec::new(),
            learned_terms: Vec::new(),
        }
    }

    /// The totals of expert `number`, created on first touch.
    pub(crate) fn touch(&mut self, number: u32) -> Option<&mut Acc> {
        let slot = self.slots.get_mut(number as usize)?;
        if *slot == u32::MAX {
            *slot = u32::try_from(self.accs.len()).unwrap_or(u32::MAX);
            self.accs.push(Acc {
                expert: number,
                ..Acc::default()
            });
            return self.accs.last_mut();
        }
        self.accs.get_mut(*slot as usize)
    }

    /// The totals of expert `number`, if it was touched.
    pub(crate) fn get(&self, number: u32) -> Option<&Acc> {
        let slot = *self.slots.get(number as usize)?;
        self.accs.get(slot as usize)
    }

    fn reset(&mut self) {
        for acc in &self.accs {
            if let Some(slot) = self.slots.get_mut(acc.expert as usize) {
                *slot = u32::MAX;
            }
        }
        self.accs.clear();
        self.extra.clear();
        self.strong.clear();
        self.top.clear();
        self.covered.clear();
        self.query_terms.clear();
        self.learned_terms.clear();
    }
}

/// Scratch spaces sized for one index.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    free: Mutex<Vec<Scratch>>,
}

impl Pool {
    pub(crate) fn take(&self, experts: usize) -> Scratch {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_else(|| Scratch::new(experts))
    }

    pub(crate) fn give_back(&self, mut scratch: Scratch) {
        scratch.reset();
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(scratch);
    }

    /// Drops every scratch space (their size no longer fits the index).
    pub(crate) fn clear(&mut self) {
        self.free
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_from_one_word_count_once_at_their_strongest() {
        let mut acc = Acc::default();
        let customer = span_key(&(0..8));
        acc.add_evidence(customer, 0.6, 0.0);
        acc.add_evidence(customer, 0.36, 0.5);
        acc.add_evidence(customer, 0.8, 0.0);
        assert!((acc.domain_raw - 0.8).abs() < 1e-12);
        assert!((acc.capability_raw - 0.5).abs() < 1e-12);
        // Another word, and a phrase starting at the same word, add up.
        acc.add_evidence(span_key(&(9..13)), 0.5, 0.0);
        acc.add_evidence(span_key(&(0..13)), 0.25, 0.0);
        assert!((acc.domain_raw - 1.55).abs() < 1e-12);
    }
}
