//! Did-you-mean: the known name a misspelt one most likely stands for.

/// How close a known name is to the unknown one; lower is closer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Closeness {
    /// The same name but for case and `_`/`-` (`nextStep`, `next-step`).
    Spelling,
    /// A few letters added, dropped, changed or swapped (`preceeds`,
    /// `domian`, `max_concurent`), by optimal string alignment distance.
    Typo(usize),
    /// A shortened or lengthened name: the words of one are all words of
    /// the other (`resources` for `requested_resources`), or one starts the
    /// other (`prio` for `priority`, `maximum` for `max`). Fewer letters
    /// apart is closer.
    Reworded(usize),
}

/// The name in `known` that `unknown` most likely means, if any is close:
/// the did-you-mean of every unknown field and variant
/// ([`from_json_str`](crate::from_json_str)), for other crates' unknown names
/// too (an expert id, a step).
///
/// Close means, best first: the same name but for case and `_`/`-`
/// (`nextStep`); a few letters added, dropped, changed or swapped, up to a
/// third of the name (`domian`); one name shortened or lengthened from the
/// other, by words or from the start (`resources` for
/// `requested_resources`, `prio` for `priority`). The earliest of equally
/// close names wins.
///
/// ```
/// use consort_protocol::did_you_mean;
///
/// let fields = ["expert", "subject", "priority", "requested_resources"];
/// assert_eq!(did_you_mean("resources", fields), Some("requested_resources"));
/// assert_eq!(did_you_mean("prio", fields), Some("priority"));
/// assert_eq!(did_you_mean("colour", fields), None);
/// ```
pub fn did_you_mean<'k>(
    unknown: &str,
    known: impl IntoIterator<Item = &'k str>,
) -> Option<&'k str> {
    let unknown = Name::new(unknown);
    known
        .into_iter()
        .filter_map(|name| Some((closeness(&unknown, &Name::new(name))?, name)))
        .min_by_key(|(closeness, _)| *closeness)
        .map(|(_, name)| name)
}

/// A name as it is compared: squashed, and split into words.
struct Name {
    squashed: String,
    words: Vec<String>,
}

impl Name {
    fn new(name: &str) -> Self {
        Self {
            squashed: squash(name),
            words: words(name),
        }
    }
}

/// The shortest name that may be taken for the start of a longer one, or
/// whose words may be taken for some of a longer one's.
const MIN_PREFIX_LEN: usize = 3;

fn closeness(unknown: &Name, known: &Name) -> Option<Closeness> {
    if unknown.squashed == known.squashed {
        return Some(Closeness::Spelling);
    }
    // A third of the letters may be wrong, and at least one.
    let allowed = (unknown.squashed.chars().count() / 3).max(1);
    let distance = strsim::osa_distance(&unknown.squashed, &known.squashed);
    if distance <= allowed {
        return Some(Closeness::Typo(distance));
    }
    let (short, long) = if unknown.squashed.len() <= known.squashed.len() {
        (unknown, known)
    } else {
        (known, unknown)
    };
    let reworded = short.squashed.len() >= MIN_PREFIX_LEN
        && (long.squashed.starts_with(&short.squashed)
            || short.words.iter().all(|w| long.words.contains(w)));
    reworded.then(|| Closeness::Reworded(long.squashed.len() - short.squashed.len()))
}

/// Lower case without separators: `next_step`, `nextStep` and `next-step`
/// are one spelling.
fn squash(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The lower-case words of a snake_case, kebab-case or camelCase name.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for c in name.chars() {
        if matches!(c, '_' | '-' | ' ') || (c.is_uppercase() && !current.is_empty()) {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            if matches!(c, '_' | '-' | ' ') {
                continue;
            }
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn closest<'k>(unknown: &str, known: &'k [String]) -> Option<&'k str> {
        did_you_mean(unknown, known.iter().map(String::as_str))
    }

    #[test]
    fn the_issue_typos_find_their_fields() {
        let step = known(&[
            "step",
            "name",
            "primary_expert",
            "collaborating_experts",
            "actions",
            "collaboration_points",
            "outputs",
            "next_step",
            "depends_on",
        ]);
        let spec = known(&[
            "workflow_name",
            "description",
            "participants",
            "workflow_steps",
        ]);
        let recommendation = known(&[
            "expert",
            "subject",
            "domain",
            "position",
            "confidence_level",
            "confidence",
            "priority",
            "precedes",
            "requested_resources",
            "rationale",
        ]);
        let profile = known(&[
            "id",
            "name",
            "description",
            "expertise_domains",
            "keywords",
            "max_concurrent",
            "availability_status",
            "priority_level",
        ]);
        for (typo, names, expected) in [
            ("nextstep", &step, "next_step"),
            ("collaboration_point", &step, "collaboration_points"),
            ("participant", &spec, "participants"),
            ("resources", &recommendation, "requested_resources"),
            ("preceeds", &recommendation, "precedes"),
            ("prio", &recommendation, "priority"),
            ("domian", &recommendation, "domain"),
            ("availability", &profile, "availability_status"),
            ("max_concurent", &profile, "max_concurrent"),
            ("keyword", &profile, "keywords"),
            ("nextStep", &step, "next_step"),
            ("maximum", &known(&["min", "max"]), "max"),
            ("display_name", &profile, "name"),
        ] {
            assert_eq!(closest(typo, names), Some(expected), "{typo}");
        }
    }

    #[test]
    fn unrelated_names_get_no_suggestion() {
        let names = known(&["step", "name", "primary_expert"]);
        for unrelated in ["colour", "x", "", "timeout"] {
            assert_eq!(closest(unrelated, &names), None, "{unrelated}");
        }
        assert_eq!(closest("anything", &[]), None);
    }

    #[test]
    fn a_typo_beats_a_shortening() {
        // `status` is a word of `availability_status` and one letter more
        // than `statu`: the misspelling wins over the shortening.
        let names = known(&["availability_status", "statu"]);
        assert_eq!(closest("status", &names), Some("statu"));
    }

    #[test]
    fn words_split_every_style() {
        assert_eq!(words("requested_resources"), ["requested", "resources"]);
        assert_eq!(words("nextStep"), ["next", "step"]);
        assert_eq!(words("max-concurrent"), ["max", "concurrent"]);
    }
}
