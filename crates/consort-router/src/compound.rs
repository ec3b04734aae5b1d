//! Open and hyphenated compounds: people write "sign up", "sign-up" and
//! "signup", "write off" and "writeoff", "post-mortem" and "postmortem".
//! Word segmentation splits the first two forms into two words, and each
//! part then means something else ("sign" a contract, "post" on social
//! media). A pair of adjacent request words whose concatenation is a word
//! the router knows (in a profile or the related-terms table) is matched as
//! that word instead, and its parts' own matches are dropped.

use foldhash::HashMap as FoldHashMap;

use crate::analyzer::Analyzer;
use crate::frequency;

/// Closed forms shorter than this are not split: short words split into
/// fragments that are everyday words ("into" → "in" + "to").
const MIN_LEN: usize = 5;
/// Each part has at least this many bytes.
const MIN_PART: usize = 2;
/// The longest closed form looked up, in bytes; longer pairs are skipped
/// without a look-up.
const MAX_LEN: usize = 32;
/// Bits in [`ClosedForms::filter`]: with a few thousand known words, about
/// one in twenty word pairs passes the filter and costs a hash look-up.
const FILTER_BITS: usize = 1 << 16;

/// A known closed form: its lexicon entry and its word-frequency prior.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Compound {
    pub(crate) entry: u32,
    pub(crate) prior: f64,
}

/// The known words that people also write as two.
#[derive(Debug, Default)]
pub(crate) struct ClosedForms {
    forms: FoldHashMap<Box<[u8]>, Compound>,
    /// One bit per (length, first byte, last byte) of a known closed form,
    /// hashed: nearly every request word pair is ruled out by one bit test,
    /// without building the pair or hashing it.
    filter: Box<[u64]>,
}

impl ClosedForms {
    /// Every known word (lower-cased) that has a lexicon entry. Only the
    /// closed form is stored: a pair of request words is looked up by its
    /// concatenation, so splits that are not words cost nothing.
    pub(crate) fn build<'a>(
        words: impl Iterator<Item = &'a str>,
        analyzer: &Analyzer,
        entry: impl Fn(&str) -> Option<u32>,
    ) -> Self {
        let mut forms = FoldHashMap::default();
        let mut filter = vec![0_u64; FILTER_BITS / 64].into_boxed_slice();
        for word in words {
            let bytes = word.as_bytes();
            if bytes.len() < MIN_LEN || bytes.len() > MAX_LEN || forms.contains_key(bytes) {
                continue;
            }
            let Some(found) = analyzer.stem(word).and_then(|stem| entry(&stem)) else {
                continue;
            };
            if let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) {
                let bit = filter_bit(bytes.len(), first, last);
                if let Some(slot) = filter.get_mut(bit / 64) {
                    *slot |= 1 << (bit % 64);
                }
            }
            forms.insert(
                bytes.into(),
                Compound {
                    entry: found,
                    prior: frequency::prior(word),
                },
            );
        }
        Self { forms, filter }
    }

    fn may_hold(&self, len: usize, first: u8, last: u8) -> bool {
        let bit = filter_bit(len, first, last);
        self.filter
            .get(bit / 64)
            .is_some_and(|slot| slot & (1 << (bit % 64)) != 0)
    }
}

fn filter_bit(len: usize, first: u8, last: u8) -> usize {
    let key = (len << 16) | (usize::from(first) << 8) | usize::from(last);
    // A multiplicative hash spreads the few letters words start and end
    // with over the whole filter.
    (key.wrapping_mul(0x9E37_79B9) >> 7) % FILTER_BITS
}

/// The previous request word, kept to try it with the next one.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    buf: [u8; MAX_LEN],
    len: usize,
    start: usize,
    stop: bool,
}

impl Pending {
    /// Remembers `lower`, which starts at byte `start` of the request and is
    /// a stop word or not, or forgets the previous word when `lower` is too
    /// long to be part of a known closed form.
    pub(crate) fn set(&mut self, lower: &str, start: usize, stop: bool) {
        let bytes = lower.as_bytes();
        match self.buf.get_mut(..bytes.len()) {
            Some(slot) if bytes.len() < MAX_LEN => {
                slot.copy_from_slice(bytes);
                self.len = bytes.len();
                self.start = start;
                self.stop = stop;
            }
            _ => self.len = 0,
        }
    }

    /// The known closed form of the remembered word followed by `lower` (a
    /// stop word or not), with the byte where the remembered word starts.
    /// Two stop words never join: "to do" is not a to-do list.
    pub(crate) fn join(
        &self,
        lower: &str,
        stop: bool,
        forms: &ClosedForms,
    ) -> Option<(Compound, usize)> {
        let second = lower.as_bytes();
        let total = self.len + second.len();
        if self.len < MIN_PART
            || second.len() < MIN_PART
            || total > MAX_LEN
            || (self.stop && stop)
            || !forms.may_hold(total, *self.buf.first()?, *second.last()?)
        {
            return None;
        }
        let mut joined = [0_u8; MAX_LEN];
        joined
            .get_mut(..self.len)?
            .copy_from_slice(self.buf.get(..self.len)?);
        joined.get_mut(self.len..total)?.copy_from_slice(second);
        forms
            .forms
            .get(joined.get(..total)?)
            .map(|&c| (c, self.start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forms(words: &[&str]) -> ClosedForms {
        let analyzer = Analyzer::english();
        ClosedForms::build(words.iter().copied(), &analyzer, |_| Some(7))
    }

    #[test]
    fn a_split_word_is_found_by_its_parts() {
        let forms = forms(&["signup", "writeoff"]);
        let mut pending = Pending::default();
        pending.set("sign", 4, false);
        let found = pending.join("up", true, &forms);
        assert_eq!(found.map(|(c, at)| (c.entry, at)), Some((7, 4)));
        pending.set("write", 0, false);
        assert!(pending.join("off", true, &forms).is_some());
        assert!(pending.join("of", true, &forms).is_none());
        assert!(pending.join("offs", false, &forms).is_none());
    }

    #[test]
    fn short_words_and_stop_word_pairs_are_not_split() {
        assert!(forms(&["todo", "into"]).forms.is_empty());
        let forms = forms(&["withthe", "signup"]);
        let mut pending = Pending::default();
        pending.set("with", 0, true);
        assert!(pending.join("the", true, &forms).is_none());
    }

    #[test]
    fn long_words_are_forgotten() {
        let forms = forms(&["signup"]);
        let mut pending = Pending::default();
        pending.set(&"x".repeat(MAX_LEN), 0, false);
        assert!(pending.join("up", true, &forms).is_none());
    }
}
