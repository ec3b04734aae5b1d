//! The default analyzer's built-in word lists: stop words, cue words for the
//! complexity and coordination rules, and the weight of a match through the
//! related-terms table (`crate::related`).

/// How much a match through the related-terms table counts, relative to an
/// exact match of the same term.
pub(crate) const RELATED_WEIGHT: f64 = 0.6;

/// Words too common to say anything about the expert a request needs.
/// Checked on the lower-cased word before stemming.
pub(crate) const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at",
    "be", "because", "been", "before", "being", "between", "both", "but", "by", "can", "could",
    "did", "do", "does", "doing", "done", "for", "from", "get", "got", "had", "has", "have",
    "having", "he", "help", "her", "here", "him", "his", "how", "i", "i'd", "i'll", "i'm", "if",
    "in", "into", "is", "it", "it's", "its", "just", "let", "let's", "me", "might", "more", "most",
    "must", "my", "need", "needs", "no", "not", "now", "of", "off", "ok", "okay", "on", "one",
    "only", "or", "other", "our", "ours", "out", "over", "please", "she", "should", "so", "some",
    "such", "than", "that", "that's", "the", "their", "them", "then", "there", "these", "they",
    "this", "those", "through", "to", "too", "under", "up", "us", "very", "want", "was", "we",
    "we're", "were", "what", "what's", "when", "where", "which", "while", "who", "whom", "why",
    "will", "with", "would", "yes", "you", "your", "yours",
];

/// Words the stemmer would merge with an unrelated word (`marketing` →
/// `market`, `organization` → `organ`, `generative` → `generat`, the stem of
/// `lead_generation`, `projections` → `project`); they are kept whole.
pub(crate) const PROTECTED_WORDS: &[&str] =
    &["generative", "marketing", "organisation", "organization"];

/// Conjunctions and constraint words: each one hints at one more requirement
/// in the request, which feeds the complexity assessment.
pub(crate) const CONSTRAINT_WORDS: &[&str] = &[
    "across",
    "after",
    "also",
    "although",
    "and",
    "before",
    "both",
    "but",
    "by",
    "constraint",
    "constraints",
    "deadline",
    "each",
    "ensure",
    "every",
    "if",
    "limit",
    "must",
    "plus",
    "then",
    "unless",
    "until",
    "versus",
    "vs",
    "whereas",
    "while",
    "within",
    "without",
];

/// Words that say the request is about coordinating several experts, which
/// lets a coordinator-level expert lead a collaboration.
pub(crate) const COORDINATION_CUES: &[&str] = &[
    "coordinate",
    "coordinating",
    "coordination",
    "orchestrate",
    "orchestrating",
    "involve",
    "involving",
    "everyone",
    "together",
    "loop",
    "align",
    "aligning",
    "liaise",
];
