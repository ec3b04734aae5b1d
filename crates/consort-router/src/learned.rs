//! What the router learned from corrections: request word stems associated
//! with the experts that should have had the requests, bounded and decayed
//! by count.
//!
//! Every operation is a deterministic function of the corrections applied,
//! in order, and of the expert numbers (the id order of the profiles): two
//! routers built from the same profiles that learn the same corrections in
//! the same order hold the same numbers and route identically.

use std::ops::Range;

use foldhash::HashMap as FoldHashMap;
use serde::{Deserialize, Serialize};

use consort_protocol::ExpertId;

/// Weight a correction adds to each of its words for the expert, times the
/// word's prior (before decay). One correction gives a word about a seventh
/// of what an expertise domain gives; it takes seven to reach the cap.
/// (0.1 to 0.5 were measured, docs/routing.md: 0.25 was best while the
/// related-terms table was small; with the larger table, profile evidence
/// covers more of a request and larger steps let taught everyday words
/// outvote it.)
const STEP: f64 = 0.15;
/// Most weight one stem can hold for one expert.
const CAP: f64 = 1.0;
/// Each correction multiplies every earlier one's weight by this: a half
/// life of 1,000 corrections, so stale or mistaken corrections fade.
const DECAY: f64 = 0.999_307_093_428_434_4; // 0.5^(1/1000)
/// Weights below this are dropped when the store is renormalised.
const FORGET_BELOW: f64 = 1e-3;
/// Experts one stem may point to; the weakest goes first.
const EXPERTS_PER_STEM: usize = 8;
/// Stems the store may hold; past it the weakest stems are dropped.
const MAX_STEMS: usize = 65_536;
/// Below this scale, stored weights are multiplied out (renormalised).
const RENORMALISE_BELOW: f64 = 1e-6;

/// A correction: the expert that should have had a request.
///
/// Corrections are data: the Coordinator stores each accepted one in its
/// state backend, in order, and replays them into a new router (see
/// [`Router::learn`](crate::Router::learn)).
///
/// ```
/// use consort_router::Correction;
///
/// let correction = Correction::new("Move my 3pm with Dana to Thursday morning", "personal_assistant");
/// let json = serde_json::to_string(&correction)?;
/// assert_eq!(
///     json,
///     r#"{"request":"Move my 3pm with Dana to Thursday morning","expert":"personal_assistant"}"#
/// );
/// assert_eq!(serde_json::from_str::<Correction>(&json)?, correction);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Correction {
    /// The request text, as it was routed.
    pub request: String,
    /// The expert that should have had it.
    pub expert: ExpertId,
}

impl Correction {
    /// A correction of `request` to `expert`.
    pub fn new(request: impl Into<String>, expert: impl Into<ExpertId>) -> Self {
        Self {
            request: request.into(),
            expert: expert.into(),
        }
    }
}

/// One learned stem: the experts it points to, by expert number, with
/// their stored weights (true weight = stored × [`Learned::scale`]).
#[derive(Debug, Clone)]
struct Stem {
    text: Box<str>,
    experts: Vec<(u32, f64)>,
}

/// A learned stem found in a request.
#[derive(Debug, Clone)]
pub(crate) struct LearnedTerm {
    pub(crate) slot: u32,
    /// The request word's prior.
    pub(crate) weight: f64,
    pub(crate) span: Range<usize>,
}

/// The learned store.
#[derive(Debug, Clone)]
pub(crate) struct Learned {
    slots: FoldHashMap<Box<str>, u32>,
    stems: Vec<Stem>,
    /// Corrections applied.
    applied: u64,
    /// The decay applied since the last renormalisation.
    scale: f64,
}

impl Default for Learned {
    fn default() -> Self {
        Self {
            slots: FoldHashMap::default(),
            stems: Vec::new(),
            applied: 0,
            scale: 1.0,
        }
    }
}

impl Learned {
    /// How many corrections were applied.
    pub(crate) fn applied(&self) -> u64 {
        self.applied
    }

    /// The slot of a stem, if it was learned.
    pub(crate) fn slot(&self, stem: &str) -> Option<u32> {
        self.slots.get(stem).copied()
    }

    /// Applies one correction: `words` are the request's distinct content
    /// stems with their priors, in request order.
    pub(crate) fn learn(&mut self, expert: u32, words: &[(String, f64)]) {
        self.applied += 1;
        self.scale *= DECAY;
        for (stem, prior) in words {
            let slot = self.slot_of(stem);
            let Some(entry) = self.stems.get_mut(slot as usize) else {
                continue;
            };
            let add = STEP * prior / self.scale;
            let cap = CAP / self.scale;
            match entry.experts.iter_mut().find(|(e, _)| *e == expert) {
                Some((_, stored)) => *stored = (*stored + add).min(cap),
                None => entry.experts.push((expert, add.min(cap))),
            }
            if entry.experts.len() > EXPERTS_PER_STEM {
                // The weakest goes, the larger expert number on a tie.
                if let Some(at) = weakest(&entry.experts, |&(e, w)| (w, e)) {
                    entry.experts.swap_remove(at);
                }
            }
        }
        if self.scale < RENORMALISE_BELOW || self.stems.len() > MAX_STEMS {
            self.renormalise();
        }
    }

    fn slot_of(&mut self, stem: &str) -> u32 {
        if let Some(&slot) = self.slots.get(stem) {
            return slot;
        }
        let slot = u32::try_from(self.stems.len()).unwrap_or(u32::MAX);
        self.stems.push(Stem {
            text: stem.into(),
            experts: Vec::new(),
        });
        self.slots.insert(stem.into(), slot);
        slot
    }

    /// Multiplies the decay into the stored weights, forgets what faded and,
    /// past [`MAX_STEMS`], the weakest stems (by their strongest weight, then
    /// text). Renumbers the slots.
    fn renormalise(&mut self) {
        let scale = self.scale;
        let mut stems: Vec<Stem> = std::mem::take(&mut self.stems);
        for stem in &mut stems {
            for (_, w) in &mut stem.experts {
                *w *= scale;
            }
            stem.experts.retain(|&(_, w)| w >= FORGET_BELOW);
        }
        stems.retain(|s| !s.experts.is_empty());
        if stems.len() > MAX_STEMS {
            let strength = |s: &Stem| s.experts.iter().map(|&(_, w)| w).fold(0.0, f64::max);
            stems.sort_by(|a, b| {
                strength(b)
                    .total_cmp(&strength(a))
                    .then_with(|| a.text.cmp(&b.text))
            });
            stems.truncate(MAX_STEMS);
        }
        self.scale = 1.0;
        self.slots = stems
            .iter()
            .enumerate()
            .map(|(n, s)| (s.text.clone(), u32::try_from(n).unwrap_or(u32::MAX)))
            .collect();
        self.stems = stems;
    }

    /// Calls `visit(expert, weight)` for each expert a learned request term
    /// points to. The weight is the stored one, decayed, times the term's
    /// prior and the expert's share of the stem's weight: a stem corrected
    /// towards many experts says little about any of them.
    pub(crate) fn each(&self, term: &LearnedTerm, mut visit: impl FnMut(u32, f64)) {
        let Some(stem) = self.stems.get(term.slot as usize) else {
            return;
        };
        let total: f64 = stem.experts.iter().map(|&(_, w)| w).sum();
        if total <= 0.0 {
            return;
        }
        for &(expert, stored) in &stem.experts {
            visit(expert, stored * self.scale * (stored / total) * term.weight);
        }
    }

    /// The weight `term` gives `expert` (0 when none).
    pub(crate) fn weight(&self, term: &LearnedTerm, expert: u32) -> f64 {
        let mut found = 0.0;
        self.each(term, |e, w| {
            if e == expert {
                found = w;
            }
        });
        found
    }

    /// Renumbers the experts after an index rebuild: `map(old)` is the new
    /// number, or `None` for an expert that is gone (its weights go too).
    pub(crate) fn renumber(&mut self, map: impl Fn(u32) -> Option<u32>) {
        for stem in &mut self.stems {
            stem.experts = stem
                .experts
                .iter()
                .filter_map(|&(e, w)| Some((map(e)?, w)))
                .collect();
        }
    }
}

/// The position of the smallest element by `key` (a total order on
/// `(f64, u32)`: weight, then expert number reversed so the larger goes).
fn weakest<T>(items: &[T], key: impl Fn(&T) -> (f64, u32)) -> Option<usize> {
    items
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| {
            let (wa, ea) = key(a);
            let (wb, eb) = key(b);
            wa.total_cmp(&wb).then(eb.cmp(&ea))
        })
        .map(|(at, _)| at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(stems: &[&str]) -> Vec<(String, f64)> {
        stems.iter().map(|s| ((*s).to_owned(), 1.0)).collect()
    }

    fn term(learned: &Learned, stem: &str) -> LearnedTerm {
        LearnedTerm {
            slot: learned.slot(stem).unwrap(),
            weight: 1.0,
            span: 0..0,
        }
    }

    #[test]
    fn weights_grow_to_the_cap_and_decay_by_count() {
        let mut learned = Learned::default();
        learned.learn(3, &words(&["dana"]));
        let one = learned.weight(&term(&learned, "dana"), 3);
        assert!((one - STEP).abs() < 1e-3, "{one}");
        for _ in 0..10 {
            learned.learn(3, &words(&["dana"]));
        }
        let capped = learned.weight(&term(&learned, "dana"), 3);
        assert!(capped <= CAP && capped > CAP * 0.99, "{capped}");
        for _ in 0..1_000 {
            learned.learn(4, &words(&["other"]));
        }
        let faded = learned.weight(&term(&learned, "dana"), 3);
        assert!((faded - capped / 2.0).abs() < 1e-6, "{faded}");
    }

    #[test]
    fn a_stem_shared_by_experts_counts_less_for_each() {
        let mut learned = Learned::default();
        learned.learn(1, &words(&["plan"]));
        let alone = learned.weight(&term(&learned, "plan"), 1);
        learned.learn(2, &words(&["plan"]));
        let shared = learned.weight(&term(&learned, "plan"), 1);
        assert!(shared < alone * 0.6, "{alone} -> {shared}");
    }

    #[test]
    fn a_stem_keeps_its_strongest_experts() {
        let mut learned = Learned::default();
        for expert in 0..20 {
            learned.learn(expert, &words(&["thing"]));
        }
        let slot = learned.slot("thing").unwrap() as usize;
        assert_eq!(learned.stems[slot].experts.len(), EXPERTS_PER_STEM);
    }

    #[test]
    fn renormalising_keeps_the_weights() {
        let mut learned = Learned::default();
        learned.learn(1, &words(&["budget", "plan"]));
        let before = learned.weight(&term(&learned, "plan"), 1);
        learned.renormalise();
        let after = learned.weight(&term(&learned, "plan"), 1);
        assert!((before - after).abs() < 1e-12);
    }
}
