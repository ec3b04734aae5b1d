//! Open and hyphenated compounds: people write "sign up", "sign-up" and
//! "signup", "write off" and "writeoff", "post-mortem" and "postmortem".
//! Word segmentation splits the first two forms into two words, and each
//! part then means something else ("sign" a contract, "post" on social
//! media). A pair of adjacent request words whose concatenation is a word
//! the router knows (in a profile or the related-terms table) is matched as
//! that word instead, and its parts' own matches are dropped.

use foldhash::HashMap as FoldHashMap;

use crate::analyzer::{Analyzer, is_stop_word};
use crate::frequency;

/// Closed forms shorter than this are not split: short words split into
/// fragments that are everyday words ("into" → "in" + "to").
const MIN_LEN: usize = 5;
/// Each part has at least this many bytes.
const MIN_PART: usize = 2;
/// The longest closed form looked up, in bytes; longer pairs are skipped
/// without a look-up.
pub(crate) const MAX_LEN: usize = 32;

/// A known closed form: its lexicon entry and its word-frequency prior.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Compound {
    pub(crate) entry: u32,
    pub(crate) prior: f64,
}

/// Closed form -> its entry, for every known word (lower-cased) that has a
/// lexicon entry. Only the closed form is stored: a pair of request words is
/// looked up by its concatenation, so splits that are not words cost
/// nothing.
pub(crate) fn closed_forms<'a>(
    words: impl Iterator<Item = &'a str>,
    analyzer: &Analyzer,
    entry: impl Fn(&str) -> Option<u32>,
) -> FoldHashMap<Box<str>, Compound> {
    let mut out = FoldHashMap::default();
    for word in words {
        if word.len() < MIN_LEN || word.len() > MAX_LEN || out.contains_key(word) {
            continue;
        }
        let Some(found) = analyzer.stem(word).and_then(|stem| entry(&stem)) else {
            continue;
        };
        out.insert(
            word.into(),
            Compound {
                entry: found,
                prior: frequency::prior(word),
            },
        );
    }
    out
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
    /// Remembers `lower`, which starts at byte `start` of the request, or
    /// forgets the previous word when `lower` is too long to be part of a
    /// known closed form.
    pub(crate) fn set(&mut self, lower: &str, start: usize) {
        let bytes = lower.as_bytes();
        match self.buf.get_mut(..bytes.len()) {
            Some(slot) if bytes.len() < MAX_LEN => {
                slot.copy_from_slice(bytes);
                self.len = bytes.len();
                self.start = start;
                self.stop = is_stop_word(lower);
            }
            _ => self.len = 0,
        }
    }

    /// The known closed form of the remembered word followed by `lower`,
    /// with the byte where the remembered word starts. Two stop words never
    /// join: "to do" is not a to-do list.
    pub(crate) fn join(
        &self,
        lower: &str,
        forms: &FoldHashMap<Box<str>, Compound>,
    ) -> Option<(Compound, usize)> {
        let total = self.len + lower.len();
        if self.len < MIN_PART
            || lower.len() < MIN_PART
            || total > MAX_LEN
            || forms.is_empty()
            || (self.stop && is_stop_word(lower))
        {
            return None;
        }
        let mut joined = [0_u8; MAX_LEN];
        joined
            .get_mut(..self.len)?
            .copy_from_slice(self.buf.get(..self.len)?);
        joined
            .get_mut(self.len..total)?
            .copy_from_slice(lower.as_bytes());
        let text = std::str::from_utf8(joined.get(..total)?).ok()?;
        forms.get(text).map(|&c| (c, self.start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forms(words: &[&str]) -> FoldHashMap<Box<str>, Compound> {
        let analyzer = Analyzer::english();
        closed_forms(words.iter().copied(), &analyzer, |_| Some(7))
    }

    #[test]
    fn a_split_word_is_found_by_its_parts() {
        let forms = forms(&["signup", "writeoff"]);
        let mut pending = Pending::default();
        pending.set("sign", 4);
        assert_eq!(
            pending.join("up", &forms).map(|(c, at)| (c.entry, at)),
            Some((7, 4))
        );
        pending.set("write", 0);
        assert!(pending.join("off", &forms).is_some());
        assert!(pending.join("of", &forms).is_none());
    }

    #[test]
    fn short_words_and_stop_word_pairs_are_not_split() {
        assert!(forms(&["todo", "into"]).is_empty());
        let forms = forms(&["withthe", "signup"]);
        let mut pending = Pending::default();
        pending.set("with", 0);
        assert!(pending.join("the", &forms).is_none());
    }

    #[test]
    fn long_words_are_forgotten() {
        let forms = forms(&["signup"]);
        let mut pending = Pending::default();
        pending.set(&"x".repeat(MAX_LEN), 0);
        assert!(pending.join("up", &forms).is_none());
    }
}
