//! The explanation of a decision: each listed candidate with its
//! per-signal breakdown and the request words it matched.

use std::collections::BTreeMap;

use crate::decision::{Breakdown, Candidate};
use crate::saturation::saturate;
use crate::scratch::Scratch;

use super::Router;
use super::matches::{Scored, Via};

/// How a word matched through corrections is shown in `matched_terms`.
const LEARNED: &str = " (learned)";

impl Router {
    pub(super) fn candidate(
        &self,
        scored: &Scored<'_>,
        scratch: &Scratch,
        text: &str,
    ) -> Candidate {
        let acc = &scored.acc;
        let extra: BTreeMap<String, f64> = self
            .signals
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let value = scratch.extra.get(acc.extra_at + k).copied().unwrap_or(0.0);
                (s.signal.name().to_owned(), value)
            })
            .collect();
        let mut matched_terms: Vec<String> = Vec::with_capacity(scored.matches.len());
        for m in &scored.matches {
            let word = text.get(m.span.clone()).unwrap_or("");
            let suffix = match m.via {
                Via::Profile => 0,
                Via::Related(term) => '→'.len_utf8() + term.len(),
                Via::Learned => LEARNED.len(),
            };
            let mut shown = String::with_capacity(word.len() + suffix);
            if word.is_ascii() {
                shown.push_str(word);
                shown.make_ascii_lowercase();
            } else {
                shown.push_str(&word.to_lowercase());
            }
            match m.via {
                Via::Profile => {}
                Via::Related(term) => {
                    shown.push('→');
                    shown.push_str(term);
                }
                Via::Learned => shown.push_str(LEARNED),
            }
            if !matched_terms.contains(&shown) {
                matched_terms.push(shown);
            }
        }
        Candidate {
            expert: scored.expert.profile.id.clone(),
            score: acc.score,
            breakdown: Breakdown {
                domain: acc.domain,
                capability: acc.capability,
                complexity: acc.complexity,
                context: acc.context,
                availability: acc.availability.unwrap_or(0.0),
                learned: saturate(acc.learned_raw),
                semantic: acc.semantic,
                extra,
            },
            matched_terms,
        }
    }
}
