//! The general word-frequency prior: words common in everyday English say
//! little about which expert a request needs ("people", "look", "year"),
//! whatever the registry, so a request word's evidence is scaled down by
//! how common the word is.
//!
//! Frequencies come from SUBTLEX-US (Brysbaert & New 2009: 51 million words
//! of American film and television subtitles), as Zipf values (log10 of
//! occurrences per billion words) for the 4,400 words at Zipf 4.0 or more,
//! in `data/subtlex_us_zipf.tsv` (`scripts/word-frequency` regenerates it).
//! Everyday speech is the right reference: a word common there is common in
//! how people phrase requests, not only in business text.

use std::sync::OnceLock;

use foldhash::HashMap as FoldHashMap;

const TABLE: &str = include_str!("../data/subtlex_us_zipf.tsv");

/// Words up to this Zipf value keep their full weight (4.5: about one
/// occurrence in 30,000 words; "contract", "design", "budget" are below).
const FULL_WEIGHT_UP_TO: f64 = 4.5;
/// Words this common or more count [`MIN_WEIGHT`] ("look" 6.3, "people" 6.0).
const MIN_WEIGHT_FROM: f64 = 6.0;
/// The weight of the most common content words.
const MIN_WEIGHT: f64 = 0.25;

/// Lower-cased word -> Zipf value x 100, parsed once per process.
fn table() -> &'static FoldHashMap<&'static str, u16> {
    static PARSED: OnceLock<FoldHashMap<&'static str, u16>> = OnceLock::new();
    PARSED.get_or_init(|| {
        TABLE
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let (word, zipf) = line.split_once('\t')?;
                Some((word, zipf.parse().ok()?))
            })
            .collect()
    })
}

/// The weight of a lower-cased request word's evidence: 1 for words at most
/// [`FULL_WEIGHT_UP_TO`] (and words the table lacks, which are rarer still),
/// falling linearly to [`MIN_WEIGHT`] at [`MIN_WEIGHT_FROM`].
pub(crate) fn prior(lower: &str) -> f64 {
    let Some(&zipf) = table().get(lower) else {
        return 1.0;
    };
    let zipf = f64::from(zipf) / 100.0;
    let t = ((zipf - FULL_WEIGHT_UP_TO) / (MIN_WEIGHT_FROM - FULL_WEIGHT_UP_TO)).clamp(0.0, 1.0);
    1.0 - t * (1.0 - MIN_WEIGHT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everyday_words_weigh_less_than_domain_words() {
        for common in ["people", "look", "leave", "business", "year"] {
            assert!(prior(common) < 0.7, "{common}: {}", prior(common));
        }
        for domain in ["contract", "tax", "invoice", "logo", "budget", "trademark"] {
            assert!(prior(domain) > 0.99, "{domain}: {}", prior(domain));
        }
        assert_eq!(prior("look"), MIN_WEIGHT);
    }

    #[test]
    fn the_table_parses_completely() {
        let rows = TABLE.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(table().len(), rows);
        assert!(rows > 4_000);
    }
}
