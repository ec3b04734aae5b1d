//! Learning from corrections: the replay contract and the words a
//! correction teaches.

use crate::RouterError;
use crate::frequency;
use crate::learned::Correction;

use super::Router;

impl Router {
    /// Learns from a correction: the words of `correction.request` now point
    /// to `correction.expert`, so later requests sharing them lean towards
    /// it. Unknown words (`Dana`, `3pm`) are learned too; stop words are not.
    ///
    /// **Bounded and decayed.** A correction adds 0.25 per word (times the
    /// word-frequency prior), a quarter of what an expertise domain gives,
    /// up to 1 per word and expert after four. Every correction
    /// multiplies the weight of all earlier ones by `0.5^(1/1000)`: a half
    /// life of 1,000 corrections, counted, not timed (the router has no
    /// clock). A word corrected towards several experts counts for each in
    /// proportion to its share. One bad correction therefore weighs less
    /// than one profile word and fades; it cannot take over an expert.
    ///
    /// **Visible.** A candidate's `Breakdown::learned` is non-zero, and its
    /// `matched_terms` show `word (learned)`, when corrections contributed.
    ///
    /// **The replay contract.** Learning is a pure function of the
    /// corrections applied, in order: a router built from the same profiles
    /// and settings that learns the same corrections in the same order
    /// routes identically (same decisions, same scores). So a Coordinator
    /// stores every accepted [`Correction`] in its state backend, in order,
    /// and replays them into each router it builds, in any process.
    /// [`update_profiles`](Self::update_profiles) keeps what was learned
    /// (dropping the experts that left); replaying the log into a router
    /// built from the new profiles gives the same result as long as every
    /// corrected expert is still registered.
    ///
    /// Fails with [`RouterError::UnknownExpert`] when the expert is not in
    /// the registry; nothing is learned then. A request without content
    /// words teaches nothing but still counts for the decay.
    ///
    /// ```
    /// use consort_protocol::{load_registry, seeds};
    /// use consort_router::{Correction, RouteRequest, Router, RouterConfig};
    ///
    /// let experts = load_registry(seeds::EXPERT_REGISTRY)?;
    /// let mut router = Router::new(&experts, RouterConfig::default())?;
    /// let request = RouteRequest::new("Can you sort out the quote from the plumber?");
    /// assert_ne!(router.route(&request).primary.as_deref(), Some("finance_accountant"));
    ///
    /// router.learn(&Correction::new("Pay the plumber's quote", "finance_accountant"))?;
    /// router.learn(&Correction::new("Is this plumber quote fair?", "finance_accountant"))?;
    /// let decision = router.route(&request);
    /// assert_eq!(decision.primary.as_deref(), Some("finance_accountant"));
    /// assert!(decision.candidates[0].breakdown.learned > 0.0);
    /// assert!(decision.candidates[0].matched_terms.contains(&"plumber (learned)".to_owned()));
    /// assert_eq!(router.learned_corrections(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn learn(&mut self, correction: &Correction) -> Result<(), RouterError> {
        let Some(&expert) = self.index.ids.get(&correction.expert) else {
            return Err(RouterError::UnknownExpert {
                expert: correction.expert.clone(),
            });
        };
        let analyzer = &self.index.analyzer;
        let prior = self.config.word_frequency_prior;
        let mut words: Vec<(String, f64)> = Vec::new();
        analyzer.words(&correction.request, |_, lower| {
            if let Some(stem) = analyzer.stem(lower)
                && !words.iter().any(|(known, _)| *known == stem)
            {
                let weight = if prior { frequency::prior(lower) } else { 1.0 };
                words.push((stem.into_owned(), weight));
            }
        });
        self.learned.learn(expert, &words);
        // Pooled word memos remember which words were learned.
        self.pool.clear();
        Ok(())
    }

    /// How many corrections this router learned (through [`learn`](Self::learn)).
    pub fn learned_corrections(&self) -> u64 {
        self.learned.applied()
    }
}
