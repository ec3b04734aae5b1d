//! Domain authority: how much an expert's word counts in a domain.

use consort_protocol::ExpertProfile;

use crate::AuthorityTable;

/// The shortest word that may match a longer one by prefix (`budget` ~
/// `budgeting`); shorter words (`tax`, `hr`, `ui`) must match exactly.
const MIN_PREFIX_LEN: usize = 4;

/// A domain or one entry of an expert's vocabulary, normalised for
/// matching.
#[derive(Debug, Clone)]
pub(crate) struct Term {
    whole: String,
    words: Vec<String>,
}

impl Term {
    pub(crate) fn new(text: &str) -> Self {
        let whole = normalise(text);
        let words = whole
            .split('_')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        Self { whole, words }
    }

    fn matches(&self, other: &Term) -> bool {
        self.whole == other.whole
            || self
                .words
                .iter()
                .any(|a| other.words.iter().any(|b| words_match(a, b)))
    }
}

fn normalise(text: &str) -> String {
    text.trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' | '/' | '.' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

fn words_match(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short == long || (short.len() >= MIN_PREFIX_LEN && long.starts_with(short))
}

/// How an expert relates to a domain, before the table turns it into a
/// number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    Expertise,
    Collaboration,
    Other,
}

/// An expert's vocabulary, prepared once when the resolver is built.
#[derive(Debug, Clone)]
pub(crate) struct Vocabulary {
    expertise: Vec<Term>,
    shared: Vec<Term>,
}

impl Vocabulary {
    pub(crate) fn new(profile: &ExpertProfile) -> Self {
        Self {
            expertise: profile
                .expertise_domains
                .iter()
                .map(|d| Term::new(d))
                .collect(),
            shared: profile
                .collaboration_capabilities
                .iter()
                .chain(&profile.data_sharing)
                .map(|d| Term::new(d))
                .collect(),
        }
    }

    fn standing(&self, domain: &Term) -> Standing {
        if self.expertise.iter().any(|t| t.matches(domain)) {
            Standing::Expertise
        } else if self.shared.iter().any(|t| t.matches(domain)) {
            Standing::Collaboration
        } else {
            Standing::Other
        }
    }

    /// The authority of this expert (`expert`) in `domain` (whose
    /// normalised form is `term`) under `table`.
    pub(crate) fn authority(
        &self,
        table: &AuthorityTable,
        expert: &str,
        domain: &str,
        term: &Term,
    ) -> f64 {
        if let Some(value) = table.overrides.get(expert).and_then(|d| d.get(domain)) {
            return *value;
        }
        match self.standing(term) {
            Standing::Expertise => table.expertise,
            Standing::Collaboration => table.collaboration,
            Standing::Other => table.other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use consort_protocol::{load_registry, seeds};

    impl Vocabulary {
        fn authority_in(&self, table: &AuthorityTable, expert: &str, domain: &str) -> f64 {
            self.authority(table, expert, domain, &Term::new(domain))
        }
    }

    fn vocabulary(id: &str) -> Vocabulary {
        let experts = load_registry(seeds::EXPERT_REGISTRY).unwrap();
        Vocabulary::new(experts.iter().find(|e| e.id == id).unwrap())
    }

    #[test]
    fn table_levels_follow_the_profile_lists() {
        let finance = vocabulary("finance_accountant");
        let table = AuthorityTable::default();
        assert_eq!(
            finance.authority_in(&table, "finance_accountant", "budgeting"),
            1.0
        );
        assert_eq!(
            finance.authority_in(&table, "finance_accountant", "cost_optimization"),
            0.6
        );
        assert_eq!(
            finance.authority_in(&table, "finance_accountant", "ui_ux"),
            0.3
        );
    }

    #[test]
    fn words_and_prefixes_match_but_short_words_need_equality() {
        let finance = vocabulary("finance_accountant");
        let marketing = vocabulary("marketing_sales");
        let table = AuthorityTable::default();
        // `budget` is a prefix of `budgeting`; `campaign` of `campaigns`.
        assert_eq!(
            finance.authority_in(&table, "finance_accountant", "campaign_budget"),
            1.0
        );
        assert_eq!(
            marketing.authority_in(&table, "marketing_sales", "campaign_budget"),
            1.0
        );
        assert_eq!(
            marketing.authority_in(&table, "marketing_sales", "Lead Generation"),
            1.0
        );
        // `ta` is too short to match `tax` by prefix.
        assert_eq!(
            finance.authority_in(&table, "finance_accountant", "ta"),
            0.3
        );
    }

    #[test]
    fn overrides_replace_the_table_for_one_domain() {
        let marketing = vocabulary("marketing_sales");
        let mut table = AuthorityTable::default();
        table
            .overrides
            .entry("marketing_sales".into())
            .or_default()
            .insert("budgeting".into(), 0.8);
        assert_eq!(
            marketing.authority_in(&table, "marketing_sales", "budgeting"),
            0.8
        );
        assert_eq!(
            marketing.authority_in(&table, "marketing_sales", "tax"),
            0.3
        );
    }
}
