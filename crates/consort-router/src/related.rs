//! The related-terms table: everyday words people type ("lawyer",
//! "invoice", "logo") and the profile vocabulary they point to ("law",
//! "accounting", "design"). The table is data, `data/related_terms.txt`,
//! which says how entries are chosen; a match through it counts
//! [`RELATED_WEIGHT`](crate::lexicon::RELATED_WEIGHT) of an exact one. It
//! can be switched off with `RouterConfig::related_terms`.

use std::sync::OnceLock;

const TABLE: &str = include_str!("../data/related_terms.txt");

/// One line of the table: a profile concept and the everyday words related
/// to it.
pub(crate) struct Related {
    pub(crate) concept: &'static str,
    pub(crate) words: Vec<&'static str>,
}

/// The table, parsed once per process. Lines that are blank, comments
/// (`#`) or lack a `concept:` are skipped; a test checks there are none of
/// the last kind.
pub(crate) fn table() -> &'static [Related] {
    static PARSED: OnceLock<Vec<Related>> = OnceLock::new();
    PARSED.get_or_init(|| entries().collect())
}

fn entries() -> impl Iterator<Item = Related> {
    TABLE
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let (concept, words) = line.split_once(':')?;
            Some(Related {
                concept: concept.trim(),
                words: words.split_whitespace().collect(),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_is_a_concept_with_words() {
        let lines = TABLE
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .count();
        assert_eq!(table().len(), lines);
        for entry in table() {
            assert!(!entry.concept.is_empty() && !entry.words.is_empty());
            assert!(
                entry
                    .concept
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{}",
                entry.concept
            );
        }
    }

    #[test]
    fn words_are_listed_once_per_concept() {
        for entry in table() {
            let mut words = entry.words.clone();
            words.sort_unstable();
            let before = words.len();
            words.dedup();
            assert_eq!(words.len(), before, "{}", entry.concept);
        }
    }
}
