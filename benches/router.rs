//! consort-router: routing one request and building the index, over the 8
//! seed experts and 100, 1,000 and 10,000 synthetic experts.
//!
//! Synthetic profiles draw their words from a 3,400-word vocabulary with a
//! Zipf (s = 1) frequency distribution: 400 real business words form the
//! frequent head and 3,000 generated pseudo-words the long tail, so posting
//! lists look like a real catalogue's (a few terms shared by most experts,
//! most by a handful) rather than all-disjoint. Everything is seeded, so
//! every run routes the same registry.
//!
//! The `levers` groups route with each routing lever of issue 14 on its
//! own (lexical only, with profile examples, with learned corrections and,
//! with the `semantic` feature, with a Model2Vec model), over the seed
//! registry (cycling through the 402 requests of the evaluation set) and
//! over the synthetic registries. The semantic model is the one in
//! `CONSORT_SEMANTIC_MODEL` (a directory, e.g. from `scripts/distill-model`)
//! or else a synthetic one the bench writes: 256 dimensions, one random
//! vector per vocabulary word, which costs what a real model of that width
//! costs per profile item.
//!
//! `cargo bench -p consort-benches --bench router -- --warm-up-time 1 --measurement-time 3`
//! (`--features semantic` for the semantic cases)

#![allow(clippy::unwrap_used, reason = "benchmark setup fails loudly")]
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::hint::black_box;

use consort_protocol::{ExpertId, ExpertProfile, load_registry, seeds};
use consort_router::{Correction, RouteRequest, Router, RouterConfig};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

const HEAD: &str = "account accounting acquisition ad advertising agenda agreement ai alignment allocation \
analysis analytics api app approval architecture asset audience audit automation awareness backlog \
balance bank banking benefit billing blockchain board bookkeeping brand branding breach budget \
budgeting build business buyer calendar campaign capacity capital career cash catalog change channel \
chart checkout churn claim client cloud coaching code cohort commerce commission communication \
community compensation competitor compliance concept conflict consent consulting content contract \
conversion copy copyright cost coverage creative credit crm culture customer dashboard data deadline \
deal debt delivery demand deployment design development device diagram digital discount dispute \
diversity document domain donor draft due earnings ecommerce email employee employment encryption \
engagement engineering enterprise equity estimate ethics event expansion expense experiment export \
facility feedback finance financial fintech firmware fleet forecast fraud freight fundraising funding \
funnel gdpr governance grant growth hardware health hiring hosting identity illustration import \
incident income infrastructure innovation insight inspection insurance integration interface interview \
inventory investment investor invoice iso itinerary journey kpi label labor launch lawsuit lead \
leadership lease ledger legal liability license licensing logistics logo loyalty maintenance \
manufacturing margin market marketing media meeting membership mentoring merger messaging metrics \
migration milestone mobile model monitoring mortgage negotiation network newsletter nonprofit \
onboarding operations optimization order outreach outsourcing packaging partnership patent payment \
payroll pension performance permit persona pipeline planning platform policy portfolio positioning \
pricing privacy process procurement product productivity profit program project promotion proposal \
prospect prototype publishing purchasing quality quota recruiting recycling refund regulation \
reimbursement relocation rental reporting reputation research reseller resource retail retention \
revenue review risk roadmap roi safety salary sales scheduling screening security segment seo \
server service shipping signage skills social software sourcing sponsorship staffing startup \
strategy subscription supplier supply support survey sustainability talent tax team technology \
tender testing timeline trademark training transformation translation travel treasury trend \
typography underwriting usability valuation vendor venue video visual wage warehouse warranty \
website wellness wireframe workflow workforce workshop";

const SYLLABLES: [&str; 24] = [
    "ba", "ce", "di", "fo", "gu", "ka", "le", "mi", "no", "pu", "ra", "se", "ti", "vo", "za",
    "bri", "cla", "dre", "flo", "gri", "plu", "sta", "tro", "ven",
];

/// splitmix64: small, seeded, good enough to spread the draws.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1_u64 << 53) as f64
    }
}

struct Vocabulary {
    words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Vocabulary {
    fn new() -> Self {
        let mut words: Vec<String> = HEAD
            .split_whitespace()
            .filter(|w| w.chars().all(|c| c.is_ascii_alphabetic()))
            .map(str::to_owned)
            .collect();
        words.dedup();
        let mut rng = Rng(7);
        while words.len() < 3_400 {
            let len = 2 + (rng.next() % 3) as usize;
            let word: String = (0..len)
                .map(|_| SYLLABLES[(rng.next() % SYLLABLES.len() as u64) as usize])
                .collect();
            if !words.contains(&word) {
                words.push(word);
            }
        }
        let mut total = 0.0;
        let cumulative = (1..=words.len())
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect();
        Self { words, cumulative }
    }

    fn draw(&self, rng: &mut Rng) -> &str {
        let target = rng.unit() * self.cumulative.last().copied().unwrap_or(1.0);
        let at = self.cumulative.partition_point(|&c| c < target);
        &self.words[at.min(self.words.len() - 1)]
    }

    fn entries(&self, rng: &mut Rng, count: usize, words: usize) -> Vec<String> {
        (0..count)
            .map(|_| {
                (0..words)
                    .map(|_| self.draw(rng))
                    .collect::<Vec<_>>()
                    .join("_")
            })
            .collect()
    }
}

fn synthetic(vocabulary: &Vocabulary, n: usize) -> Vec<ExpertProfile> {
    let mut rng = Rng(42);
    (0..n)
        .map(|i| {
            let mut p =
                ExpertProfile::new(format!("expert_{i:05}"), vocabulary.entries(&mut rng, 4, 1));
            p.collaboration_capabilities = vocabulary.entries(&mut rng, 3, 2);
            p.data_sharing = vocabulary.entries(&mut rng, 3, 2);
            p.keywords = vocabulary.entries(&mut rng, 4, 1);
            p
        })
        .collect()
}

/// One frequent word, three mid-frequency ones, one from the tail, and the
/// stop words a person would type.
fn synthetic_request(vocabulary: &Vocabulary) -> RouteRequest {
    let w = |rank: usize| vocabulary.words[rank].as_str();
    RouteRequest::new(format!(
        "Can you help with the {} and {} for our {} {}, and check the {} before Friday?",
        w(2),
        w(40),
        w(180),
        w(600),
        w(2_500)
    ))
}

/// The requests of the router's evaluation set.
fn eval_requests() -> Vec<RouteRequest> {
    include_str!("../crates/consort-router/tests/fixtures/routing_eval.jsonl")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let case: serde_json::Value = serde_json::from_str(line).unwrap();
            RouteRequest::new(case["request"].as_str().unwrap())
        })
        .collect()
}

/// The issue-14 evaluation set: each request with its first expected expert.
fn lever_requests() -> Vec<(RouteRequest, ExpertId)> {
    include_str!("../crates/consort-router/tests/fixtures/eval/requests.jsonl")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let case: serde_json::Value = serde_json::from_str(line).unwrap();
            let expert = case["expected"][0].as_str().unwrap();
            (
                RouteRequest::new(case["request"].as_str().unwrap()),
                ExpertId::from(expert),
            )
        })
        .collect()
}

/// Three sample requests per synthetic expert, from its own and common words.
fn with_examples(vocabulary: &Vocabulary, experts: &mut [ExpertProfile]) {
    let mut rng = Rng(9);
    for expert in experts {
        expert.examples = (0..3)
            .map(|_| {
                let words: Vec<&str> = (0..6).map(|_| vocabulary.draw(&mut rng)).collect();
                format!(
                    "Can you help with {} for our {}?",
                    words[..3].join(" "),
                    words[3..].join(" ")
                )
            })
            .collect();
    }
}

/// `count` corrections of synthetic requests to random experts.
fn teach(router: &mut Router, vocabulary: &Vocabulary, experts: usize, count: usize) {
    let mut rng = Rng(11);
    for _ in 0..count {
        let words: Vec<&str> = (0..5).map(|_| vocabulary.draw(&mut rng)).collect();
        let expert = format!("expert_{:05}", rng.next() % experts as u64);
        router
            .learn(&Correction::new(words.join(" "), expert))
            .unwrap();
    }
}

#[cfg(feature = "semantic")]
#[path = "../crates/consort-router/tests/support/model_dir.rs"]
mod model_dir;

#[cfg(feature = "semantic")]
mod semantic_model {
    //! The semantic model the bench routes with.

    use std::path::Path;

    use super::{Rng, Vocabulary, model_dir};

    const DIM: usize = 256;

    /// `CONSORT_SEMANTIC_MODEL`, or a synthetic model written into `dir`:
    /// one random vector per word.
    pub(super) fn load(
        vocabulary: &Vocabulary,
        extra: &[&str],
        dir: &Path,
    ) -> consort_router::SemanticModel {
        if let Some(real) = std::env::var_os("CONSORT_SEMANTIC_MODEL") {
            return consort_router::SemanticModel::from_dir(real).unwrap();
        }
        let mut words: Vec<String> = Vec::new();
        for word in vocabulary
            .words
            .iter()
            .map(String::as_str)
            .chain(extra.iter().copied())
        {
            let word = word.to_lowercase();
            if !words.contains(&word) {
                words.push(word);
            }
        }
        let mut rng = Rng(5);
        let rows: Vec<(String, Vec<f32>)> = words
            .into_iter()
            .map(|w| {
                let row = (0..DIM).map(|_| (rng.unit() * 2.0 - 1.0) as f32).collect();
                (w, row)
            })
            .collect();
        model_dir::write(dir, DIM, &rows);
        consort_router::SemanticModel::from_dir(dir).unwrap()
    }
}

/// Each lever on its own, over the seed registry and the synthetic ones.
fn levers(c: &mut Criterion) {
    let vocabulary = Vocabulary::new();
    let requests = lever_requests();
    let seed = load_registry(seeds::EXPERT_REGISTRY).unwrap();
    let examples = load_registry(include_str!(
        "../crates/consort-router/tests/fixtures/eval/registry_examples.json"
    ))
    .unwrap();
    let before = RouterConfig::default()
        .with_coordinator_fallback(false)
        .with_word_frequency_prior(false)
        .with_phrase_weight(0.5);

    let mut seeded: Vec<(&str, Router)> = vec![
        ("before_issue_14", Router::new(&seed, before).unwrap()),
        (
            "lexical",
            Router::new(&seed, RouterConfig::default()).unwrap(),
        ),
        (
            "examples",
            Router::new(&examples, RouterConfig::default()).unwrap(),
        ),
    ];
    let mut learned = Router::new(&seed, RouterConfig::default()).unwrap();
    // Corrections of every fourth request: 100 corrections.
    for (request, expert) in requests.iter().step_by(4) {
        learned
            .learn(&Correction::new(request.text.clone(), expert.clone()))
            .unwrap();
    }
    seeded.push(("learned", learned));
    #[cfg(feature = "semantic")]
    let model_dir = tempfile::TempDir::new().unwrap();
    #[cfg(feature = "semantic")]
    let model = {
        let words: Vec<&str> = requests
            .iter()
            .flat_map(|(r, _)| r.text.split(|c: char| !c.is_alphanumeric()))
            .filter(|w| !w.is_empty())
            .collect();
        semantic_model::load(&vocabulary, &words, model_dir.path())
    };
    #[cfg(feature = "semantic")]
    seeded.push((
        "semantic",
        Router::new(&seed, RouterConfig::default())
            .unwrap()
            .with_semantic(model.clone()),
    ));

    let mut group = c.benchmark_group("levers/8_seed_varied");
    for (name, router) in &seeded {
        let mut next = requests.iter().cycle();
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| black_box(router.route(black_box(&next.next().unwrap().0))));
        });
    }
    group.finish();

    let request = synthetic_request(&vocabulary);
    let mut group = c.benchmark_group("levers/growth");
    for n in [8, 100, 1_000, 10_000] {
        let experts = synthetic(&vocabulary, n);
        let mut sampled = experts.clone();
        with_examples(&vocabulary, &mut sampled);
        let mut taught = Router::new(&experts, RouterConfig::default()).unwrap();
        teach(&mut taught, &vocabulary, n, 1_000);
        #[cfg_attr(
            not(feature = "semantic"),
            expect(unused_mut, reason = "the semantic feature adds a case")
        )]
        let mut cases: Vec<(&str, Router)> = vec![
            (
                "lexical",
                Router::new(&experts, RouterConfig::default()).unwrap(),
            ),
            (
                "examples",
                Router::new(&sampled, RouterConfig::default()).unwrap(),
            ),
            ("learned", taught),
        ];
        #[cfg(feature = "semantic")]
        cases.push((
            "semantic",
            Router::new(&experts, RouterConfig::default())
                .unwrap()
                .with_semantic(model.clone()),
        ));
        for (name, router) in &cases {
            group.bench_function(BenchmarkId::new(*name, n), |b| {
                b.iter(|| black_box(router.route(black_box(&request))));
            });
        }
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let seed = load_registry(seeds::EXPERT_REGISTRY).unwrap();
    let vocabulary = Vocabulary::new();
    let acceptance = RouteRequest::new("Plan a campaign and check the budget with finance");
    let synthetic_req = synthetic_request(&vocabulary);

    let mut route = c.benchmark_group("route");
    let seed_router = Router::new(&seed, RouterConfig::default()).unwrap();
    route.bench_function(BenchmarkId::from_parameter("8_seed"), |b| {
        b.iter(|| black_box(seed_router.route(black_box(&acceptance))));
    });
    // The router remembers the analysis of words it has seen (per pooled
    // scratch space), so repeating one request measures a warm memo for one
    // sentence. This case cycles through all 107 evaluation requests, one
    // per iteration, to report a figure for varied traffic.
    let eval = eval_requests();
    let mut next = eval.iter().cycle();
    route.bench_function(BenchmarkId::from_parameter("8_seed_varied"), |b| {
        b.iter(|| black_box(seed_router.route(black_box(next.next().unwrap()))));
    });
    for n in [8, 100, 1_000, 10_000] {
        let experts = synthetic(&vocabulary, n);
        let router = Router::new(&experts, RouterConfig::default()).unwrap();
        route.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| black_box(router.route(black_box(&synthetic_req))));
        });
    }
    route.finish();

    let mut build = c.benchmark_group("build");
    build.sample_size(10);
    build.bench_function(BenchmarkId::from_parameter("8_seed"), |b| {
        b.iter(|| black_box(Router::new(black_box(&seed), RouterConfig::default()).unwrap()));
    });
    for n in [100, 1_000, 10_000] {
        let experts = synthetic(&vocabulary, n);
        build.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                black_box(Router::new(black_box(&experts), RouterConfig::default()).unwrap())
            });
        });
    }
    build.finish();
}

criterion_group!(benches, bench, levers);
criterion_main!(benches);
