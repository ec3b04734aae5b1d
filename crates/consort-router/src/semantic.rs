//! The opt-in semantic signal (feature `semantic`): Model2Vec static
//! embeddings of the request against every profile item (domains,
//! capabilities, data, keywords, description, examples); an expert's
//! similarity is the largest over its items.
//!
//! The model is a local Model2Vec directory (`config.json`,
//! `tokenizer.json`, `model.safetensors`) that the application supplies;
//! nothing is downloaded. `scripts/distill-model` builds one from
//! all-MiniLM-L6-v2.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use model2vec_rs::model::StaticModel;

use consort_protocol::ExpertProfile;

use crate::RouterError;

/// A Model2Vec model, loaded from a directory.
///
/// ```no_run
/// use consort_protocol::{load_registry, seeds};
/// use consort_router::{Router, RouterConfig, SemanticModel};
///
/// let model = SemanticModel::from_dir("models/minilm-256-int8")?;
/// let experts = load_registry(seeds::EXPERT_REGISTRY)?;
/// let router = Router::new(&experts, RouterConfig::default())?.with_semantic(model);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SemanticModel {
    model: StaticModel,
    path: PathBuf,
}

impl fmt::Debug for SemanticModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemanticModel")
            .field("path", &self.path)
            .field("dim", &self.model.dim())
            .finish()
    }
}

impl SemanticModel {
    /// Loads the Model2Vec model in `dir`. Fails with
    /// [`RouterError::SemanticModel`] naming the directory, with the
    /// loader's error as the source.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, RouterError> {
        let path = dir.as_ref().to_path_buf();
        if !path.is_dir() {
            return Err(RouterError::SemanticModel {
                path,
                source: ModelError::new("not a directory".into()),
            });
        }
        match StaticModel::from_pretrained(&path, None, Some(true), None) {
            Ok(model) => Ok(Self { model, path }),
            Err(err) => Err(RouterError::SemanticModel {
                path,
                source: ModelError::new(err.into()),
            }),
        }
    }

    /// The embedding dimension.
    pub fn dim(&self) -> usize {
        self.model.dim()
    }

    /// The unit-length embedding of `text` (all zeros when no token is
    /// known).
    fn embed(&self, text: &str) -> Vec<f32> {
        let mut vector = self.model.encode_single(text);
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            vector.iter_mut().for_each(|x| *x /= norm);
        }
        vector
    }
}

/// A model loader's error, kept as a typed source. Shared, so that
/// `RouterError` stays `Clone`; two are equal when they are the same error.
#[derive(Clone)]
pub struct ModelError(Arc<dyn std::error::Error + Send + Sync>);

impl ModelError {
    fn new(error: Box<dyn std::error::Error + Send + Sync>) -> Self {
        Self(Arc::from(error))
    }
}

impl PartialEq for ModelError {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for ModelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Up to this many profile items (about 2,000 experts of 16 items), every
/// expert is compared with each request, so semantic similarity alone can
/// find an expert. Above it only the experts other evidence found are, which
/// keeps a request's cost independent of the registry's size; an
/// approximate nearest-neighbour index would lift that limit.
const FULL_SCAN_ITEMS: usize = 32_768;

/// Every profile item's embedding, by expert number.
#[derive(Debug, Clone)]
pub(crate) struct SemanticIndex {
    model: SemanticModel,
    dim: usize,
    /// Unit vectors, `dim` floats each, grouped by expert.
    items: Vec<f32>,
    /// Expert `n`'s items are `items[offsets[n] * dim..offsets[n + 1] * dim]`.
    offsets: Vec<usize>,
}

impl SemanticIndex {
    /// Embeds the items of `profiles` (ordered by expert number).
    pub(crate) fn build<'a>(
        model: SemanticModel,
        profiles: impl Iterator<Item = &'a ExpertProfile>,
    ) -> Self {
        let dim = model.dim();
        let mut items = Vec::new();
        let mut offsets = vec![0];
        for profile in profiles {
            for text in profile_items(profile) {
                let vector = model.embed(&text);
                if vector.iter().any(|&x| x != 0.0) {
                    items.extend(vector);
                }
            }
            offsets.push(items.len() / dim.max(1));
        }
        Self {
            model,
            dim,
            items,
            offsets,
        }
    }

    /// The same model over new profiles.
    pub(crate) fn rebuild<'a>(&self, profiles: impl Iterator<Item = &'a ExpertProfile>) -> Self {
        Self::build(self.model.clone(), profiles)
    }

    pub(crate) fn model(&self) -> &SemanticModel {
        &self.model
    }

    /// Whether every expert is compared with each request: up to
    /// [`FULL_SCAN_ITEMS`] profile items.
    pub(crate) fn scans_all(&self) -> bool {
        self.items.len() / self.dim.max(1) <= FULL_SCAN_ITEMS
    }

    /// The unit embedding of a request, or `None` when no token is known.
    pub(crate) fn query(&self, text: &str) -> Option<Vec<f32>> {
        let query = self.model.embed(text);
        query.iter().any(|&x| x != 0.0).then_some(query)
    }

    /// The largest cosine similarity between `query` and the items of
    /// expert `number`, if it has any.
    pub(crate) fn similarity(&self, query: &[f32], number: u32) -> Option<f64> {
        let n = number as usize;
        let (start, end) = (*self.offsets.get(n)?, *self.offsets.get(n + 1)?);
        let items = self.items.get(start * self.dim..end * self.dim)?;
        items
            .chunks_exact(self.dim)
            .map(|item| dot(query, item))
            .reduce(f32::max)
            .map(f64::from)
    }

    /// How many experts the index holds.
    pub(crate) fn experts(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
}

/// The texts of a profile that are embedded: each list entry (with `_` as
/// a space), the description and each example.
fn profile_items(profile: &ExpertProfile) -> impl Iterator<Item = String> + '_ {
    profile
        .expertise_domains
        .iter()
        .chain(&profile.collaboration_capabilities)
        .chain(&profile.data_sharing)
        .chain(&profile.keywords)
        .map(|entry| entry.replace('_', " "))
        .chain(profile.description.iter().cloned())
        .chain(profile.examples.iter().cloned())
}

/// Dot product in eight lanes, which the compiler vectorises.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0_f32; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for ((lane, x), y) in lanes.iter_mut().zip(x).zip(y) {
            *lane += x * y;
        }
    }
    lanes.iter().sum::<f32>() + tail
}
