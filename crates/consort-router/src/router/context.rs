//! Context relevance: the previous expert, existing collaborators and
//! shared data keys.

use crate::scratch::Acc;

/// Context relevance of the previous expert (1 on a follow-up).
const CONTEXT_PREVIOUS: f64 = 0.5;
/// Context relevance of an expert already in the collaboration.
const CONTEXT_COLLABORATOR: f64 = 0.3;
/// Context relevance when every shared data key is one the expert shares.
const CONTEXT_SHARED_DATA: f64 = 0.5;

pub(super) fn context_relevance(acc: &Acc, follow_up: bool, shared: usize) -> f64 {
    // Most touched experts have no context link, and the sum below is then
    // exactly 0.
    if !acc.previous && !acc.collaborator && acc.data_hits == 0 {
        return 0.0;
    }
    let previous = match (acc.previous, follow_up) {
        (true, true) => return 1.0,
        (true, false) => CONTEXT_PREVIOUS,
        (false, _) => 0.0,
    };
    let collaborator = if acc.collaborator {
        CONTEXT_COLLABORATOR
    } else {
        0.0
    };
    let data = if shared == 0 {
        0.0
    } else {
        CONTEXT_SHARED_DATA * (acc.data_hits.min(shared) as f64 / shared as f64)
    };
    (previous + collaborator + data).min(1.0)
}
