//! The saturation `1 - e^-raw` of the lexical signals, and a cheap upper
//! bound of it that lets routing skip `exp` for experts the bound already
//! rules out.

/// Slack added to [`upper_bound`]: far above the rounding error of either
/// side (a few units in the last place of values at most 1), far below any
/// score difference that matters, so the bound stays a bound.
const SLACK: f64 = 1e-9;

/// `1 - e^-raw`; 0 for a total that is not positive.
pub(crate) fn saturate(raw: f64) -> f64 {
    // `exp` is the costliest step per touched expert, and a zero total is
    // common (an expert matched only in domain fields has no capability
    // evidence); 1 - e^0 is exactly 0, as is the result for a negative or
    // NaN total.
    if raw > 0.0 { 1.0 - (-raw).exp() } else { 0.0 }
}

/// At least [`saturate`]`(raw)`, without `exp`, and close to it for the
/// totals routing sees (within 0.0013 up to 1, 0.014 at 1.5).
///
/// For `x >= 0`, `e^-x` is at least its Taylor polynomial of degree 5 (the
/// remainder, `e^-ξ x^6 / 720`, is not negative), so `1 - e^-x` is at most
/// `x - x²/2 + x³/6 - x⁴/24 + x⁵/120`, here in Horner form (the rounding of
/// its coefficients is far inside [`SLACK`]). The polynomial increases with
/// `x` (its derivative is the degree-4 Taylor polynomial of `e^-x`, which
/// has no real root), so the bound of the larger of two totals bounds the
/// saturation of both.
pub(crate) fn upper_bound(raw: f64) -> f64 {
    if raw > 0.0 {
        let x = raw;
        let poly = x * (1.0 - x * (1.0 / 2.0 - x * (1.0 / 6.0 - x * (1.0 / 24.0 - x / 120.0))));
        poly.min(1.0) + SLACK
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn zero_and_negative_totals_saturate_to_zero() {
        for raw in [0.0, -0.0, -1.0, f64::NAN] {
            assert_eq!(saturate(raw), 0.0);
            assert_eq!(upper_bound(raw), 0.0);
        }
    }

    #[test]
    fn the_bound_is_tight_where_routing_needs_it() {
        for (raw, within) in [(0.1, 1e-8), (0.6, 1e-4), (1.0, 0.0013), (1.5, 0.014)] {
            let gap = upper_bound(raw) - saturate(raw);
            assert!((0.0..within).contains(&gap), "{raw}: {gap}");
        }
    }

    proptest! {
        #[test]
        fn the_bound_is_never_below_the_saturation(raw in 0.0..60.0_f64) {
            prop_assert!(upper_bound(raw) >= saturate(raw));
        }

        #[test]
        fn the_bound_holds_for_tiny_totals(raw in 0.0..1e-6_f64) {
            prop_assert!(upper_bound(raw) >= saturate(raw));
        }

        #[test]
        fn the_bound_of_the_larger_total_bounds_both(a in 0.0..8.0_f64, b in 0.0..8.0_f64) {
            let bound = upper_bound(a.max(b));
            prop_assert!(bound >= saturate(a) && bound >= saturate(b));
        }
    }
}
