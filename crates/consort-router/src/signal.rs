//! Extra scoring signals supplied by the application.

use consort_protocol::ExpertProfile;

use crate::RouteRequest;

/// An extra signal, such as embedding similarity between the request and an
/// expert, added to the built-in ones with [`Router::with_signal`].
///
/// `score` should return a value in `0..=1`; anything else is clamped into
/// that range (NaN counts as 0). Extra signals are scored for every eligible
/// (not offline) expert, so routing with one costs O(experts) calls: the
/// inverted index cannot know which experts a signal would like. A positive
/// score also makes an expert a candidate when no request term matched it.
///
/// [`Router::with_signal`]: crate::Router::with_signal
pub trait Signal: Send + Sync {
    /// The name under which its score appears in the breakdown's `extra` map.
    fn name(&self) -> &str;

    /// How well `expert` fits `request`, in `0..=1`.
    fn score(&self, request: &RouteRequest, expert: &ExpertProfile) -> f64;
}

/// Clamps a signal's output into `0..=1`.
pub(crate) fn clamp_unit(value: f64) -> f64 {
    if value.is_nan() {
        0.0
    } else {
        value.clamp(0.0, 1.0)
    }
}
