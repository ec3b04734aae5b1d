//! The index built from the profiles: term dictionary, phrase table,
//! related-terms table, postings and per-expert data.
//!
//! Building is a full pass over every profile (O(total profile words), plus
//! sorting the experts by id); there is no incremental update.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use consort_protocol::{Availability, ComplexityRange, ExpertId, ExpertProfile, PriorityLevel};

use crate::RouterError;
use crate::analyzer::Analyzer;
use crate::compound::ClosedForms;
use crate::request::normalize_data_key;
use foldhash::HashMap as FoldHashMap;

/// Field weights: how much a term found in each profile field counts for the
/// domain and the capability signal (before IDF).
mod field {
    /// `(domain, capability)`.
    pub(super) type Weight = (f64, f64);
    pub(super) const DOMAINS: Weight = (1.0, 0.0);
    pub(super) const KEYWORDS: Weight = (0.8, 0.0);
    pub(super) const ID_AND_NAME: Weight = (0.6, 0.0);
    /// Domain only: a description says what the expert does, in prose whose
    /// verbs ("handles", "creates", "sets") also match unrelated requests;
    /// counting it for both signals doubled that noise (top-1 on the
    /// described registry's dev half: 0.583 with, 0.607 without;
    /// docs/routing.md).
    pub(super) const DESCRIPTION: Weight = (0.35, 0.0);
    pub(super) const CAPABILITIES: Weight = (0.0, 1.0);
    pub(super) const DATA_SHARING: Weight = (0.0, 0.5);
    pub(super) const EXAMPLES: Weight = (0.3, 0.0);
}

/// A term in more than `max(COMMON_MIN_EXPERTS, experts / COMMON_SHARE)`
/// experts is *common*: its postings are not scanned to find candidates
/// (see `Index::is_common`).
const COMMON_MIN_EXPERTS: usize = 64;
const COMMON_SHARE: usize = 32;
/// A term reached only through the related-terms table is common from
/// `max(COMMON_MIN_EXPERTS, experts / RELATED_COMMON_SHARE)` experts: it is
/// weaker evidence, and everyday words ("friday", "team") lead to concepts
/// that large registries share widely.
const RELATED_COMMON_SHARE: usize = 128;

pub(crate) type TermId = u32;

/// One expert in one term's posting list, weights already multiplied by the
/// term's IDF.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Posting {
    pub(crate) expert: u32,
    pub(crate) domain: f32,
    pub(crate) capability: f32,
}

/// What a request stem leads to: its own term and related profile terms.
#[derive(Debug, Default)]
pub(crate) struct LexEntry {
    pub(crate) term: Option<TermId>,
    pub(crate) related: Box<[TermId]>,
}

/// One expert: the fields routing reads for every touched expert, kept
/// together and small, and the full profile behind a pointer.
#[derive(Debug)]
pub(crate) struct IndexedExpert {
    pub(crate) sla_ms: u64,
    pub(crate) priority: PriorityLevel,
    pub(crate) complexity_range: Option<ComplexityRange>,
    pub(crate) status: Availability,
    pub(crate) load: u32,
    pub(crate) max_concurrent: Option<u32>,
    /// The expert's postings by term, sorted by term: which request terms an
    /// expert matched, and the weights of common terms.
    pub(crate) terms: Box<[(TermId, Posting)]>,
    pub(crate) profile: Box<ExpertProfile>,
}

#[derive(Debug)]
pub(crate) struct Index {
    pub(crate) analyzer: Analyzer,
    /// Sorted by id; positions are the `u32` expert numbers used everywhere.
    pub(crate) experts: Vec<IndexedExpert>,
    pub(crate) ids: FoldHashMap<ExpertId, u32>,
    /// Stem -> position in `entries`.
    pub(crate) stems: FoldHashMap<Box<str>, u32>,
    pub(crate) entries: Vec<LexEntry>,
    pub(crate) phrases: FoldHashMap<(TermId, TermId), TermId>,
    /// Known words people also write as two ("sign up" for "signup").
    pub(crate) compounds: ClosedForms,
    pub(crate) term_text: Vec<Box<str>>,
    /// Postings of term `t` are `postings[offsets[t]..offsets[t + 1]]`.
    offsets: Vec<usize>,
    postings: Vec<Posting>,
    pub(crate) data_keys: FoldHashMap<String, Vec<u32>>,
    /// Coordinator-level experts, fastest SLA first (then by number).
    pub(crate) coordinators: Vec<u32>,
    common_above: usize,
    related_common_above: usize,
}

impl Index {
    pub(crate) fn build(
        profiles: &[ExpertProfile],
        options: IndexOptions,
    ) -> Result<Self, RouterError> {
        let mut sorted: Vec<ExpertProfile> = profiles.to_vec();
        sorted.sort_by(|a, b| a.id.cmp(&b.id));
        for pair in sorted.windows(2) {
            if let [a, b] = pair
                && a.id == b.id
            {
                return Err(RouterError::DuplicateExpert {
                    expert: a.id.clone(),
                });
            }
        }
        for profile in &sorted {
            profile
                .validate()
                .map_err(|source| RouterError::InvalidProfile {
                    expert: profile.id.clone(),
                    source,
                })?;
        }

        let mut builder = Builder {
            phrase_weight: options.phrase_weight,
            analyzer: Analyzer::english(),
            words: FoldHashMap::default(),
            terms: Terms {
                vocabulary: FoldHashMap::default(),
                phrases: FoldHashMap::default(),
                term_text: Vec::new(),
            },
        };
        let per_expert: Vec<BTreeMap<TermId, (f64, f64)>> =
            sorted.iter().map(|p| builder.profile_terms(p)).collect();

        let n_terms = builder.terms.term_text.len();
        let mut df = vec![0_usize; n_terms];
        for terms in &per_expert {
            for &term in terms.keys() {
                if let Some(count) = df.get_mut(term as usize) {
                    *count += 1;
                }
            }
        }
        let n = sorted.len() as f64;
        let idf: Vec<f64> = df
            .iter()
            .map(|&d| (1.0 + n / d.max(1) as f64).ln() / (1.0 + n).ln())
            .collect();

        let mut lists: Vec<Vec<Posting>> = vec![Vec::new(); n_terms];
        let mut experts = Vec::with_capacity(sorted.len());
        for (number, (profile, terms)) in sorted.into_iter().zip(&per_expert).enumerate() {
            let expert = u32::try_from(number).unwrap_or(u32::MAX);
            let mut strengths = Vec::with_capacity(terms.len());
            for (&term, &(domain, capability)) in terms {
                let weight = idf.get(term as usize).copied().unwrap_or(0.0);
                let posting = Posting {
                    expert,
                    domain: (domain * weight) as f32,
                    capability: (capability * weight) as f32,
                };
                if let Some(list) = lists.get_mut(term as usize) {
                    list.push(posting);
                }
                strengths.push((term, posting));
            }
            experts.push(IndexedExpert {
                sla_ms: u64::try_from(profile.response_time_sla.as_millis()).unwrap_or(u64::MAX),
                priority: profile.priority_level,
                complexity_range: profile.complexity_range,
                status: profile.availability_status,
                load: profile.current_load,
                max_concurrent: profile.max_concurrent,
                terms: strengths.into_boxed_slice(),
                profile: Box::new(profile),
            });
        }
        let mut offsets = Vec::with_capacity(n_terms + 1);
        let mut postings = Vec::with_capacity(lists.iter().map(Vec::len).sum());
        offsets.push(0);
        for list in lists {
            postings.extend(list);
            offsets.push(postings.len());
        }

        let mut data_keys: FoldHashMap<String, Vec<u32>> = FoldHashMap::default();
        let mut ids = FoldHashMap::default();
        for (number, expert) in experts.iter().enumerate() {
            let number = u32::try_from(number).unwrap_or(u32::MAX);
            ids.insert(expert.profile.id.clone(), number);
            for key in &expert.profile.data_sharing {
                let holders = data_keys.entry(normalize_data_key(key)).or_default();
                if holders.last() != Some(&number) {
                    holders.push(number);
                }
            }
        }

        let (stems, entries) = builder.lexicon(options.related_terms);
        let table_words = crate::related::table()
            .iter()
            .filter(|_| options.related_terms)
            .flat_map(|entry| entry.words.iter().copied());
        let compounds = ClosedForms::build(
            builder.words.keys().map(AsRef::as_ref).chain(table_words),
            &builder.analyzer,
            |stem| stems.get(stem).copied(),
        );
        let common_above = COMMON_MIN_EXPERTS.max(experts.len() / COMMON_SHARE);
        let related_common_above = COMMON_MIN_EXPERTS.max(experts.len() / RELATED_COMMON_SHARE);
        let mut coordinators: Vec<u32> = (0..experts.len())
            .filter(|&n| {
                experts
                    .get(n)
                    .is_some_and(|e| e.priority == PriorityLevel::Coordinator)
            })
            .filter_map(|n| u32::try_from(n).ok())
            .collect();
        coordinators.sort_by_key(|&n| (experts.get(n as usize).map(|e| e.sla_ms), n));
        Ok(Self {
            analyzer: builder.analyzer,
            experts,
            ids,
            stems,
            entries,
            phrases: builder.terms.phrases,
            compounds,
            term_text: builder.terms.term_text,
            offsets,
            postings,
            data_keys,
            coordinators,
            common_above,
            related_common_above,
        })
    }

    /// Whether `term` is common: in more than `max(64, experts / 32)`
    /// experts. Scanning such postings would touch a large share of a big
    /// registry for a term that says little about any one expert.
    pub(crate) fn is_common(&self, term: TermId) -> bool {
        self.postings(term).len() > self.common_above
    }

    /// Whether `term`, reached through the related-terms table, is common:
    /// in more than `max(64, experts / 128)` experts.
    pub(crate) fn is_common_related(&self, term: TermId) -> bool {
        self.postings(term).len() > self.related_common_above
    }

    /// The lexicon entry of a stem.
    pub(crate) fn entry(&self, stem: &str) -> Option<u32> {
        self.stems.get(stem).copied()
    }

    pub(crate) fn postings(&self, term: TermId) -> &[Posting] {
        let t = term as usize;
        match (self.offsets.get(t), self.offsets.get(t + 1)) {
            (Some(&start), Some(&end)) => self.postings.get(start..end).unwrap_or(&[]),
            _ => &[],
        }
    }

    pub(crate) fn expert(&self, number: u32) -> Option<&IndexedExpert> {
        self.experts.get(number as usize)
    }
}

/// The settings an index is built with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IndexOptions {
    /// Whether the related-terms table expands request words.
    pub(crate) related_terms: bool,
    /// A two-word phrase counts this share of its field's weight, on top of
    /// its words' own matches.
    pub(crate) phrase_weight: f64,
}

impl IndexOptions {
    pub(crate) fn of(config: &crate::RouterConfig) -> Self {
        Self {
            related_terms: config.related_terms,
            phrase_weight: config.phrase_weight,
        }
    }
}

struct Builder {
    phrase_weight: f64,
    analyzer: Analyzer,
    /// Lower-cased profile word -> its term (`None` for a stop word).
    /// Profiles repeat words a lot and stemming is most of the cost of a
    /// build, so each distinct word is stemmed once.
    words: FoldHashMap<Box<str>, Option<TermId>>,
    terms: Terms,
}

/// The term dictionary being built.
struct Terms {
    vocabulary: FoldHashMap<String, TermId>,
    phrases: FoldHashMap<(TermId, TermId), TermId>,
    term_text: Vec<Box<str>>,
}

impl Terms {
    fn intern(&mut self, stem: &str, text: &str) -> TermId {
        if let Some(&id) = self.vocabulary.get(stem) {
            return id;
        }
        let id = self.next_id(text);
        self.vocabulary.insert(stem.to_owned(), id);
        id
    }

    fn next_id(&mut self, text: &str) -> TermId {
        let id = TermId::try_from(self.term_text.len()).unwrap_or(TermId::MAX);
        self.term_text.push(text.into());
        id
    }

    /// The phrase of two adjacent terms; `text` names it when it is new.
    fn phrase(&mut self, first: TermId, second: TermId, text: impl FnOnce() -> String) -> TermId {
        if let Some(&id) = self.phrases.get(&(first, second)) {
            return id;
        }
        let id = self.next_id(&text());
        self.phrases.insert((first, second), id);
        id
    }
}

impl Builder {
    /// Every term of one profile with its strongest (domain, capability)
    /// field weights: a term found in several fields counts once per signal.
    fn profile_terms(&mut self, profile: &ExpertProfile) -> BTreeMap<TermId, (f64, f64)> {
        let mut found = BTreeMap::new();
        let Self {
            phrase_weight,
            analyzer,
            words,
            terms,
        } = self;
        let phrase_weight = *phrase_weight;
        let mut add = |text: &str, weight: field::Weight, phrases: bool| {
            // The previous content word: stop words between two content
            // words do not break a phrase.
            let mut previous: Option<TermId> = None;
            let mut previous_text = String::new();
            analyzer.words(text, |_, lower| {
                let term = match words.get(lower) {
                    Some(&known) => known,
                    None => {
                        let term = analyzer.stem(lower).map(|stem| terms.intern(&stem, lower));
                        words.insert(lower.into(), term);
                        term
                    }
                };
                let Some(term) = term else {
                    return;
                };
                merge(&mut found, term, weight, 1.0);
                if phrases {
                    if let Some(first) = previous {
                        let phrase =
                            terms.phrase(first, term, || format!("{previous_text} {lower}"));
                        merge(&mut found, phrase, weight, phrase_weight);
                    }
                    previous_text.clear();
                    previous_text.push_str(lower);
                }
                previous = Some(term);
            });
        };
        add(&profile.id, field::ID_AND_NAME, false);
        if let Some(name) = &profile.name {
            add(name, field::ID_AND_NAME, false);
        }
        for (entries, weight) in [
            (&profile.expertise_domains, field::DOMAINS),
            (&profile.keywords, field::KEYWORDS),
            (&profile.collaboration_capabilities, field::CAPABILITIES),
            (&profile.data_sharing, field::DATA_SHARING),
            (&profile.examples, field::EXAMPLES),
        ] {
            for entry in entries {
                add(entry, weight, true);
            }
        }
        if let Some(description) = &profile.description {
            add(description, field::DESCRIPTION, false);
        }
        found
    }

    /// Request stem -> its term and the profile terms related to it. Related
    /// concepts absent from the registry are dropped here, once.
    fn lexicon(&self, related_terms: bool) -> (FoldHashMap<Box<str>, u32>, Vec<LexEntry>) {
        let mut related: BTreeMap<String, Vec<TermId>> = BTreeMap::new();
        if related_terms {
            for (concept, words) in stemmed_related_terms() {
                let targets = self.concept_terms(concept);
                if targets.is_empty() {
                    continue;
                }
                for stem in words {
                    related.entry(stem.clone()).or_default().extend(&targets);
                }
            }
        }
        let mut lexicon: FoldHashMap<Box<str>, LexEntry> = self
            .terms
            .vocabulary
            .iter()
            .map(|(stem, &term)| {
                (
                    stem.as_str().into(),
                    LexEntry {
                        term: Some(term),
                        related: Box::default(),
                    },
                )
            })
            .collect();
        for (stem, mut targets) in related {
            let entry = lexicon.entry(stem.into_boxed_str()).or_default();
            targets.sort_unstable();
            targets.dedup();
            targets.retain(|&t| Some(t) != entry.term);
            entry.related = targets.into_boxed_slice();
        }
        let mut stems = FoldHashMap::default();
        let mut entries = Vec::with_capacity(lexicon.len());
        let mut sorted: Vec<(Box<str>, LexEntry)> = lexicon.into_iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        for (stem, entry) in sorted {
            stems.insert(stem, u32::try_from(entries.len()).unwrap_or(u32::MAX));
            entries.push(entry);
        }
        (stems, entries)
    }

    /// The terms a concept of the related-terms table stands for: its phrase
    /// when the registry has it, otherwise its words that the registry has.
    fn concept_terms(&self, stems: &[String]) -> Vec<TermId> {
        let ids: Vec<TermId> = stems
            .iter()
            .filter_map(|s| self.terms.vocabulary.get(s).copied())
            .collect();
        if let [first, second] = ids.as_slice()
            && let Some(&phrase) = self.terms.phrases.get(&(*first, *second))
        {
            return vec![phrase];
        }
        ids
    }
}

/// The related-terms table with both sides stemmed: (concept stems, stems
/// of its everyday words). Stemming the table was most of the cost of
/// building a router over a small registry, and the result is the same for
/// every router (the analyzer is always English), so it is done once per
/// process.
fn stemmed_related_terms() -> &'static [(Vec<String>, Vec<String>)] {
    static TABLE: OnceLock<Vec<(Vec<String>, Vec<String>)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let analyzer = Analyzer::english();
        crate::related::table()
            .iter()
            .map(|entry| {
                let word_stems = entry.words.iter().flat_map(|w| analyzer.stems(w)).collect();
                (analyzer.stems(entry.concept), word_stems)
            })
            .collect()
    })
}

fn merge(
    terms: &mut BTreeMap<TermId, (f64, f64)>,
    term: TermId,
    (domain, capability): field::Weight,
    scale: f64,
) {
    let slot = terms.entry(term).or_insert((0.0, 0.0));
    slot.0 = slot.0.max(domain * scale);
    slot.1 = slot.1.max(capability * scale);
}

#[cfg(test)]
mod tests {
    use super::*;
    use consort_protocol::{load_registry, seeds};

    fn options() -> IndexOptions {
        IndexOptions::of(&crate::RouterConfig::default())
    }

    fn seed_index() -> Index {
        Index::build(&load_registry(seeds::EXPERT_REGISTRY).unwrap(), options()).unwrap()
    }

    fn term(index: &Index, word: &str) -> TermId {
        let stem = index.analyzer.stems(word).remove(0);
        index.entries[index.stems[stem.as_str()] as usize]
            .term
            .unwrap()
    }

    #[test]
    fn distinctive_terms_weigh_more_than_shared_ones() {
        let index = seed_index();
        let finance = index.ids["finance_accountant"];
        let weight = |word: &str| {
            index
                .postings(term(&index, word))
                .iter()
                .find(|p| p.expert == finance)
                .unwrap()
                .domain
        };
        // "tax" is finance's alone; "compliance" is shared with legal and HR.
        assert!(weight("tax") > weight("compliance") * 1.5);
    }

    #[test]
    fn snake_case_entries_index_words_and_the_phrase() {
        let index = seed_index();
        let budget = term(&index, "budget");
        let analysis = term(&index, "analysis");
        let phrase = index.phrases[&(budget, analysis)];
        let finance = index.ids["finance_accountant"];
        assert!(index.postings(phrase).iter().any(|p| p.expert == finance));
        assert_eq!(&*index.term_text[phrase as usize], "budget analysis");
    }

    #[test]
    fn every_related_word_is_a_single_content_word() {
        let analyzer = Analyzer::english();
        for entry in crate::related::table() {
            for word in &entry.words {
                assert_eq!(analyzer.stems(word).len(), 1, "{}: {word:?}", entry.concept);
            }
        }
    }

    #[test]
    fn related_words_lead_to_profile_terms() {
        let index = seed_index();
        let stem = index.analyzer.stems("lawyer").remove(0);
        let law = term(&index, "law");
        let entry = &index.entries[index.stems[stem.as_str()] as usize];
        assert!(entry.related.contains(&law));
    }

    #[test]
    fn duplicate_ids_are_rejected() {
        let mut experts = load_registry(seeds::EXPERT_REGISTRY).unwrap();
        experts.push(experts[0].clone());
        let err = Index::build(&experts, options()).unwrap_err();
        assert_eq!(
            err,
            RouterError::DuplicateExpert {
                expert: experts[0].id.clone()
            }
        );
    }
}
