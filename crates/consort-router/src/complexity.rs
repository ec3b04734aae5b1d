//! The complexity assessment of a request and the fit with an expert's
//! declared range.

use consort_protocol::{ComplexityLevel, ComplexityRange};

/// Points from length, constraint words and domains hit: 0-1 is low, 2-3
/// medium, 4 or more high (see the crate docs for the table).
pub(crate) fn assess(words: usize, constraints: usize, strong_experts: usize) -> ComplexityLevel {
    let length = match words {
        0..12 => 0,
        12..25 => 1,
        _ => 2,
    };
    let constraint = match constraints {
        0..2 => 0,
        2..4 => 1,
        _ => 2,
    };
    let domains = match strong_experts {
        0..2 => 0,
        2 => 2,
        _ => 4,
    };
    match length + constraint + domains {
        0..2 => ComplexityLevel::Low,
        2..4 => ComplexityLevel::Medium,
        _ => ComplexityLevel::High,
    }
}

/// 1 inside the range, 0.5 one level outside, 0 further; `unknown` without
/// a range.
pub(crate) fn fit(range: Option<ComplexityRange>, level: ComplexityLevel, unknown: f64) -> f64 {
    let Some(range) = range else {
        return unknown;
    };
    let distance = if level < range.min() {
        range.min().rank() - level.rank()
    } else {
        level.rank().saturating_sub(range.max().rank())
    };
    match distance {
        0 => 1.0,
        1 => 0.5,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComplexityLevel::{High, Low, Medium};

    #[test]
    fn points_add_up_to_levels() {
        assert_eq!(assess(5, 0, 1), Low);
        assert_eq!(assess(5, 1, 2), Medium);
        assert_eq!(assess(30, 4, 1), High);
        assert_eq!(assess(8, 0, 3), High);
    }

    #[test]
    fn fit_drops_with_distance_from_the_range() {
        let low_only = ComplexityRange::new(Low, Low).unwrap();
        assert_eq!(fit(Some(low_only), Low, 0.5), 1.0);
        assert_eq!(fit(Some(low_only), Medium, 0.5), 0.5);
        assert_eq!(fit(Some(low_only), High, 0.5), 0.0);
        let upper = ComplexityRange::new(Medium, High).unwrap();
        assert_eq!(fit(Some(upper), Low, 0.5), 0.5);
        assert_eq!(fit(None, High, 0.25), 0.25);
    }
}
