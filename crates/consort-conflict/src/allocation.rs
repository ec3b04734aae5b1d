//! Sharing a scarce resource: weighted water-filling.

/// One request for a resource.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request {
    /// How much is asked for (finite, >= 0).
    pub(crate) amount: f64,
    /// How much the request counts (finite, >= 0).
    pub(crate) weight: f64,
}

/// Shares `capacity` among `requests` in proportion to their weights, never
/// giving a request more than it asked for: what a capped request does not
/// need is shared again among the others (water-filling). When every
/// remaining request weighs zero, they share equally.
///
/// Each result is within `0..=amount`, and their sum, added in order, does
/// not exceed `capacity`.
pub(crate) fn water_fill(capacity: f64, requests: &[Request]) -> Vec<f64> {
    let mut granted = vec![0.0; requests.len()];
    let mut open: Vec<usize> = (0..requests.len())
        .filter(|&i| requests.get(i).is_some_and(|r| r.amount > 0.0))
        .collect();
    let mut remaining = capacity.max(0.0);
    while !open.is_empty() && remaining > 0.0 {
        let weights: Vec<f64> = open
            .iter()
            .map(|&i| requests.get(i).map_or(0.0, |r| r.weight))
            .collect();
        let total: f64 = weights.iter().sum();
        let (weights, total) = if total > 0.0 {
            (weights, total)
        } else {
            (vec![1.0; open.len()], open.len() as f64)
        };
        let mut capped = Vec::new();
        let mut still_open = Vec::new();
        for (&i, weight) in open.iter().zip(&weights) {
            let share = remaining * weight / total;
            match requests.get(i) {
                Some(request) if share >= request.amount => capped.push(i),
                _ => still_open.push((i, share)),
            }
        }
        if capped.is_empty() {
            for (i, share) in still_open {
                if let Some(slot) = granted.get_mut(i) {
                    *slot = share;
                }
            }
            break;
        }
        for i in capped {
            if let (Some(slot), Some(request)) = (granted.get_mut(i), requests.get(i)) {
                *slot = request.amount;
                remaining = (remaining - request.amount).max(0.0);
            }
        }
        open = still_open.into_iter().map(|(i, _)| i).collect();
    }
    // Rounding can push a share a hair past a request or the capacity.
    let mut used = 0.0;
    for (slot, request) in granted.iter_mut().zip(requests) {
        *slot = slot
            .clamp(0.0, request.amount)
            .min((capacity - used).max(0.0));
        used += *slot;
    }
    granted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(amount: f64, weight: f64) -> Request {
        Request { amount, weight }
    }

    #[test]
    fn shares_in_proportion_to_weight() {
        let granted = water_fill(90.0, &[request(100.0, 2.0), request(100.0, 1.0)]);
        assert!(
            (granted[0] - 60.0).abs() < 1e-9 && (granted[1] - 30.0).abs() < 1e-9,
            "{granted:?}"
        );
    }

    #[test]
    fn capped_requests_free_capacity_for_others() {
        // Fair shares 34285.7 / 25714.3; the second only needs 20000.
        let granted = water_fill(60_000.0, &[request(50_000.0, 1.2), request(20_000.0, 0.9)]);
        assert_eq!(granted, vec![40_000.0, 20_000.0]);
    }

    #[test]
    fn zero_weights_share_equally_what_is_left() {
        let granted = water_fill(
            10.0,
            &[request(4.0, 1.0), request(10.0, 0.0), request(10.0, 0.0)],
        );
        assert_eq!(granted, vec![4.0, 3.0, 3.0]);
    }

    #[test]
    fn zero_capacity_grants_nothing() {
        assert_eq!(water_fill(0.0, &[request(5.0, 1.0)]), vec![0.0]);
    }
}
