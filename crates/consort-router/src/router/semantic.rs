//! Attaching a semantic model, and its evidence for one request.

use crate::scratch::{Acc, Scratch};
use crate::semantic::{SemanticIndex, SemanticModel};

use super::Router;

impl Router {
    /// Adds the semantic signal (feature `semantic`): each expert's profile
    /// items are embedded now (and again on
    /// [`update_profiles`](Self::update_profiles)); each request is embedded
    /// once, and an expert's similarity is the largest over its items.
    /// Similarities above [`semantic_floor`](crate::RouterConfig::semantic_floor)
    /// are rescaled to `0..=1`, shown as `Breakdown::semantic`, and add
    /// [`semantic_weight`](crate::RouterConfig::semantic_weight) times that to
    /// the expert's domain evidence, so they count with the lexical evidence
    /// rather than beside it.
    ///
    /// Up to 32,768 profile items (about 2,000 experts) each request is
    /// compared with every expert, so similarity alone can find one; that
    /// cost grows with the registry. Above it only the experts found by
    /// other evidence (terms, corrections, context) are compared, which
    /// keeps the cost per request independent of the registry's size
    /// (docs/routing.md gives the figures).
    #[must_use]
    pub fn with_semantic(mut self, model: SemanticModel) -> Self {
        self.semantic = Some(SemanticIndex::build(model, self.profiles()));
        self.pool.clear();
        self
    }

    /// The attached semantic model, if any.
    pub fn semantic_model(&self) -> Option<&SemanticModel> {
        self.semantic.as_ref().map(SemanticIndex::model)
    }

    /// Adds semantic evidence: to every expert whose similarity to `text`
    /// clears the floor when the index is small enough to scan, else to
    /// the experts other evidence already found.
    pub(super) fn gather_semantic(&self, text: &str, scratch: &mut Scratch) {
        let Some(semantic) = &self.semantic else {
            return;
        };
        let Some(query) = semantic.query(text) else {
            return;
        };
        let floor = self.config.semantic_floor;
        let weight = self.config.semantic_weight;
        let value = |cosine: f64| ((cosine - floor) / (1.0 - floor)).clamp(0.0, 1.0);
        if semantic.scans_all() {
            for number in 0..semantic.experts() {
                let number = u32::try_from(number).unwrap_or(u32::MAX);
                let Some(cosine) = semantic.similarity(&query, number) else {
                    continue;
                };
                let value = value(cosine);
                if value > 0.0
                    && let Some(acc) = scratch.touch(number)
                {
                    add(acc, value, weight);
                }
            }
        } else {
            for acc in &mut scratch.accs {
                if let Some(cosine) = semantic.similarity(&query, acc.expert) {
                    add(acc, value(cosine), weight);
                }
            }
        }
    }
}

fn add(acc: &mut Acc, value: f64, weight: f64) {
    if value > 0.0 {
        acc.semantic = value;
        acc.domain_raw += weight * value;
        acc.exact = acc.exact.saturating_add(1);
    }
}
