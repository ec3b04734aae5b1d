//! Helpers shared by the default strategies: grouping members by position,
//! ranking experts by standing, and writing the rationale's phrases.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::{Member, Stance};

/// The recommendations backing one position.
#[derive(Debug, Clone)]
pub(crate) struct Tally<'a> {
    pub(crate) key: &'a str,
    pub(crate) position: &'a Value,
    /// One member per expert (its heaviest), sorted by expert: an expert
    /// repeating itself does not add weight.
    pub(crate) backers: Vec<Member<'a>>,
    pub(crate) weight: f64,
}

/// Groups members by position, heaviest position first (ties by canonical
/// position, so the order never depends on the input's).
pub(crate) fn tally<'a>(members: &[Member<'a>]) -> Vec<Tally<'a>> {
    let mut groups: BTreeMap<&str, BTreeMap<&str, Member<'a>>> = BTreeMap::new();
    for member in members {
        let backers = groups.entry(member.position_key).or_default();
        match backers.get(member.expert().as_str()) {
            Some(kept) if kept.weight() >= member.weight() => {}
            _ => {
                backers.insert(member.expert(), *member);
            }
        }
    }
    let mut tallies: Vec<Tally<'a>> = groups
        .into_iter()
        .filter_map(|(key, backers)| {
            let backers: Vec<Member<'a>> = backers.into_values().collect();
            let first = backers.first()?;
            Some(Tally {
                key,
                position: &first.recommendation.position,
                weight: backers.iter().map(Member::weight).sum(),
                backers,
            })
        })
        .collect();
    tallies.sort_by(|a, b| b.weight.total_cmp(&a.weight).then_with(|| a.key.cmp(b.key)));
    tallies
}

impl Tally<'_> {
    /// This position as a stance; `total` is the weight of every position.
    pub(crate) fn stance(&self, total: f64) -> Stance {
        Stance::new(
            self.position.clone(),
            self.backers.iter().map(|m| m.expert().clone()).collect(),
            self.weight,
            share(self.weight, total),
        )
    }
}

/// The tallies as report options; `total` is the sum of their weights.
pub(crate) fn ranked_options(tallies: &[Tally<'_>], total: f64) -> Vec<Stance> {
    tallies.iter().map(|t| t.stance(total)).collect()
}

pub(crate) fn share(part: f64, total: f64) -> f64 {
    if total > 0.0 { part / total } else { 0.0 }
}

/// Orders members by standing: the author's `priority_level`, then
/// authority, then confidence. Exact, so it is a total order fit for
/// sorting; use [`same_standing`] for ties within epsilon.
pub(crate) fn compare_standing(a: &Member<'_>, b: &Member<'_>) -> Ordering {
    a.level()
        .cmp(&b.level())
        .then_with(|| a.authority.total_cmp(&b.authority))
        .then_with(|| a.confidence().total_cmp(&b.confidence()))
}

/// Whether two members are level on standing, treating authorities and
/// confidences closer than `epsilon` as equal.
pub(crate) fn same_standing(a: &Member<'_>, b: &Member<'_>, epsilon: f64) -> bool {
    a.level() == b.level()
        && (a.authority - b.authority).abs() <= epsilon
        && (a.confidence() - b.confidence()).abs() <= epsilon
}

// The phrases below are `Display` values rather than `String`s: they are
// written straight into the rationale being formatted, which saves building
// and copying an intermediate string per phrase (a large resolution writes
// thousands of them).

/// `finance_accountant (authority 1.00 x confidence 0.90 = 0.90)`.
pub(crate) fn weighed<'m>(member: &'m Member<'_>) -> impl fmt::Display + 'm {
    Phrase(move |f: &mut fmt::Formatter<'_>| {
        write!(
            f,
            "{} (authority {} x confidence {} = {})",
            member.expert(),
            Fixed(member.authority, 2),
            Fixed(member.confidence(), 2),
            Fixed(member.weight(), 2)
        )
    })
}

/// `project_management (high, authority 1.00, confidence 0.80)`.
pub(crate) fn standing<'m>(member: &'m Member<'_>) -> impl fmt::Display + 'm {
    Phrase(move |f: &mut fmt::Formatter<'_>| {
        write!(
            f,
            "{} ({}, authority {}, confidence {})",
            member.expert(),
            member.level().as_str(),
            Fixed(member.authority, 2),
            Fixed(member.confidence(), 2)
        )
    })
}

/// How many backers of a position a rationale names.
const NAMED_BACKERS: usize = 3;

/// `30000 from finance_accountant (...)`, with a total when several experts
/// back the position. Names the [`NAMED_BACKERS`] heaviest backers and
/// counts the rest, which the alternatives list in full.
pub(crate) fn backed<'t>(tally: &'t Tally<'_>) -> impl fmt::Display + 't {
    Phrase(move |f: &mut fmt::Formatter<'_>| {
        let mut heaviest: Vec<&Member<'_>> = tally.backers.iter().collect();
        heaviest.sort_by(|a, b| b.weight().total_cmp(&a.weight()));
        write!(f, "{} from ", position(tally.position))?;
        for (i, member) in heaviest.iter().take(NAMED_BACKERS).enumerate() {
            if i > 0 {
                f.write_str(" and ")?;
            }
            write!(f, "{}", weighed(member))?;
        }
        if let Some(more) = heaviest.len().checked_sub(NAMED_BACKERS).filter(|&n| n > 0) {
            write!(f, " and {more} more")?;
        }
        if tally.backers.len() > 1 {
            write!(f, " = {}", Fixed(tally.weight, 2))?;
        }
        Ok(())
    })
}

/// A phrase written by a closure when displayed.
pub(crate) struct Phrase<F>(pub(crate) F);

impl<F: Fn(&mut fmt::Formatter<'_>) -> fmt::Result> fmt::Display for Phrase<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.0)(f)
    }
}

/// A position as compact JSON, shortened to keep rationales readable.
pub(crate) fn position(value: &Value) -> String {
    const MAX_CHARS: usize = 60;
    let text = value.to_string();
    if text.chars().count() <= MAX_CHARS {
        text
    } else {
        let mut short: String = text.chars().take(MAX_CHARS - 3).collect();
        short.push_str("...");
        short
    }
}

/// A share as a percentage with one decimal: `55.8%`.
pub(crate) fn percent(share: f64) -> impl fmt::Display {
    Phrase(move |f: &mut fmt::Formatter<'_>| write!(f, "{}%", Fixed(share * 100.0, 1)))
}

/// An amount without decimals when it is whole: `40000`, `34285.71`.
pub(crate) fn amount(value: f64) -> Fixed {
    if (value - value.round()).abs() < 0.005 {
        Fixed(value, 0)
    } else {
        Fixed(value, 2)
    }
}

/// A number with a fixed count of decimals (at most 3), written through
/// integer arithmetic: float formatting with a precision is slow enough to
/// dominate a large resolution's rationales.
pub(crate) struct Fixed(pub(crate) f64, pub(crate) u32);

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self(value, decimals) = *self;
        let decimals = decimals.min(3);
        let scale = 10_u64.pow(decimals);
        #[allow(clippy::cast_precision_loss, reason = "scale is at most 1000")]
        let scaled = (value * scale as f64).round_ties_even();
        // Beyond 2^53 integer arithmetic gains nothing; let the float
        // formatter handle it (and NaN or infinities).
        if !scaled.is_finite() || scaled.abs() >= 9.0e15 {
            return write!(f, "{value:.*}", decimals as usize);
        }
        #[allow(
            clippy::cast_possible_truncation,
            reason = "finite and below 2^53, checked above"
        )]
        let scaled = scaled as i64;
        // Digits are written right to left into a stack buffer and handed
        // over in one piece: this runs thousands of times in a large
        // resolution, where padded multi-argument formatting cost several
        // times the arithmetic. At most 16 digits, a point and a sign fit.
        let mut buffer = [0_u8; 24];
        let mut start = buffer.len();
        let mut put = |byte: u8| {
            start -= 1;
            if let Some(slot) = buffer.get_mut(start) {
                *slot = byte;
            }
        };
        let mut rest = scaled.unsigned_abs();
        let mut digits = 0;
        while digits <= decimals || rest > 0 {
            if digits == decimals && decimals > 0 {
                put(b'.');
            }
            #[allow(clippy::cast_possible_truncation, reason = "a digit, below 10")]
            put(b'0' + (rest % 10) as u8);
            rest /= 10;
            digits += 1;
        }
        if scaled < 0 {
            put(b'-');
        }
        let text = buffer.get(start..).unwrap_or_default();
        f.write_str(std::str::from_utf8(text).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::Fixed;

    #[test]
    fn fixed_matches_the_float_formatter() {
        for value in [
            0.0,
            -0.0,
            0.255,
            0.9,
            1.0 / 3.0,
            -2.5,
            12_345.678,
            34_285.714_285,
            1e20,
        ] {
            for decimals in 0..=2 {
                let expected = format!("{value:.*}", decimals as usize)
                    .trim_start_matches('-')
                    .to_owned();
                let got = Fixed(value, decimals).to_string();
                assert_eq!(
                    got.trim_start_matches('-'),
                    expected,
                    "{value} with {decimals}"
                );
            }
        }
        assert_eq!(Fixed(-2.5, 1).to_string(), "-2.5");
    }
}
