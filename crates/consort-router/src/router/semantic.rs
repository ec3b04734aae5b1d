//! Attaching a semantic model, and its evidence for one request.

use crate::scratch::Scratch;
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
    /// Routing then compares the request with every expert's items: its
    /// cost grows with the registry (docs/routing.md gives the figures).
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

    /// Touches every expert whose similarity to `text` clears the floor.
    pub(super) fn gather_semantic(&self, text: &str, scratch: &mut Scratch) {
        let Some(semantic) = &self.semantic else {
            return;
        };
        let floor = self.config.semantic_floor;
        let weight = self.config.semantic_weight;
        semantic.similarities(text, |expert, cosine| {
            let value = ((cosine - floor) / (1.0 - floor)).clamp(0.0, 1.0);
            if value > 0.0
                && let Some(acc) = scratch.touch(expert)
            {
                acc.semantic = value;
                acc.domain_raw += weight * value;
                acc.exact = acc.exact.saturating_add(1);
            }
        });
    }
}
