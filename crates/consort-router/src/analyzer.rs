//! Lexical analysis shared by index building and routing: Unicode word
//! segmentation, lower-casing, `snake_case` splitting, stop words and English
//! (Snowball) stemming.

use std::borrow::Cow;
use std::ops::Range;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_segmentation::UnicodeSegmentation;

use crate::lexicon::{CONSTRAINT_WORDS, COORDINATION_CUES, PROTECTED_WORDS, STOP_WORDS};

/// Turns text into comparable terms. Built once per router.
pub(crate) struct Analyzer {
    stemmer: Stemmer,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Analyzer(english)")
    }
}

impl Analyzer {
    pub(crate) fn english() -> Self {
        Self {
            stemmer: Stemmer::create(Algorithm::English),
        }
    }

    /// Calls `visit` with the byte range and lower-cased text of every word of
    /// `text`. Identifiers such as `budget_analysis` are split at `_` (Unicode
    /// segmentation keeps them whole); hyphens already split words.
    pub(crate) fn words(&self, text: &str, mut visit: impl FnMut(Range<usize>, &str)) {
        let mut lower = String::new();
        for (start, word) in text.unicode_word_indices() {
            let mut offset = start;
            for piece in word.split('_') {
                let range = offset..offset + piece.len();
                offset = range.end + 1;
                if piece.is_empty() {
                    continue;
                }
                lower.clear();
                if piece.is_ascii() {
                    lower.push_str(piece);
                    lower.make_ascii_lowercase();
                } else {
                    lower.extend(piece.chars().flat_map(char::to_lowercase));
                }
                visit(range, &lower);
            }
        }
    }

    /// The stem of a lower-cased word, or `None` for a stop word. Protected
    /// words are kept whole.
    pub(crate) fn stem<'a>(&self, lower: &'a str) -> Option<Cow<'a, str>> {
        if is_stop_word(lower) {
            None
        } else if PROTECTED_WORDS.contains(&lower) {
            Some(Cow::Borrowed(lower))
        } else {
            Some(self.stemmer.stem(lower))
        }
    }

    /// The stems of the content words of `text`, in order.
    pub(crate) fn stems(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.words(text, |_, lower| {
            if let Some(stem) = self.stem(lower) {
                out.push(stem.into_owned());
            }
        });
        out
    }
}

pub(crate) fn is_stop_word(lower: &str) -> bool {
    STOP_WORDS.binary_search(&lower).is_ok()
}

pub(crate) fn is_constraint_word(lower: &str) -> bool {
    CONSTRAINT_WORDS.binary_search(&lower).is_ok()
}

pub(crate) fn is_coordination_cue(lower: &str) -> bool {
    COORDINATION_CUES.contains(&lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_lists_are_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]), "STOP_WORDS");
        assert!(
            CONSTRAINT_WORDS.windows(2).all(|w| w[0] < w[1]),
            "CONSTRAINT_WORDS"
        );
    }

    #[test]
    fn splits_snake_case_lowercases_and_stems() {
        let a = Analyzer::english();
        assert_eq!(a.stems("budget_analysis"), ["budget", "analysi"]);
        assert_eq!(a.stems("Planning the Campaigns"), ["plan", "campaign"]);
        assert_eq!(a.stems("ui_ux"), ["ui", "ux"]);
    }

    #[test]
    fn word_ranges_point_into_the_original_text() {
        let a = Analyzer::english();
        let text = "Check lead_generation, ÉTÉ!";
        let mut seen = Vec::new();
        a.words(text, |range, lower| {
            seen.push((text[range].to_owned(), lower.to_owned()));
        });
        assert_eq!(
            seen,
            [
                ("Check".to_owned(), "check".to_owned()),
                ("lead".to_owned(), "lead".to_owned()),
                ("generation".to_owned(), "generation".to_owned()),
                ("ÉTÉ".to_owned(), "été".to_owned()),
            ]
        );
    }

    #[test]
    fn protected_words_keep_their_meaning() {
        let a = Analyzer::english();
        assert_eq!(
            a.stems("marketing markets organization"),
            ["marketing", "market", "organization"]
        );
    }

    #[test]
    fn drops_stop_words() {
        let a = Analyzer::english();
        assert_eq!(a.stems("what is the plan for us"), ["plan"]);
    }
}
