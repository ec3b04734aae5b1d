//! The detectors: contradictions, priority mismatches, precedence cycles and
//! resource shortfalls.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use consort_protocol::{ExpertProfile, ExpertRecommendation};

use crate::graph::strongly_connected;
use crate::{Cause, Conflict, Member};

/// A validated recommendation with what the resolver worked out about it.
#[derive(Debug)]
pub(crate) struct Prepared<'a> {
    /// Rank of the subject among the distinct subjects, in string order.
    pub(crate) subject_rank: u32,
    /// Rank of the expert among the profiles' ids, in string order.
    pub(crate) expert_rank: u32,
    pub(crate) rec: &'a ExpertRecommendation,
    pub(crate) profile: &'a ExpertProfile,
    pub(crate) key: String,
    pub(crate) authority: f64,
}

impl<'a> Prepared<'a> {
    pub(crate) fn member(&'a self) -> Member<'a> {
        Member {
            recommendation: self.rec,
            profile: self.profile,
            position_key: &self.key,
            domain: self.rec.domain.as_deref().unwrap_or(&self.rec.subject),
            authority: self.authority,
        }
    }
}

/// A total order on recommendations by content alone, so that sorting makes
/// the result independent of input order: subject, expert, canonical
/// position, then every other field. Subjects and experts compare by rank,
/// which follows string order but avoids comparing the strings.
pub(crate) fn content_order(a: &Prepared<'_>, b: &Prepared<'_>) -> Ordering {
    let (x, y) = (a.rec, b.rec);
    a.subject_rank
        .cmp(&b.subject_rank)
        .then_with(|| a.expert_rank.cmp(&b.expert_rank))
        .then_with(|| a.key.cmp(&b.key))
        .then_with(|| {
            x.confidence_level
                .get()
                .total_cmp(&y.confidence_level.get())
        })
        .then_with(|| x.priority.cmp(&y.priority))
        .then_with(|| x.domain.cmp(&y.domain))
        .then_with(|| x.precedes.cmp(&y.precedes))
        .then_with(|| {
            let mut pairs = x.requested_resources.iter().zip(&y.requested_resources);
            pairs
                .find_map(|((ka, va), (kb, vb))| {
                    Some(ka.cmp(kb).then_with(|| va.total_cmp(vb))).filter(|o| o.is_ne())
                })
                .unwrap_or_else(|| {
                    x.requested_resources
                        .len()
                        .cmp(&y.requested_resources.len())
                })
        })
        .then_with(|| x.rationale.cmp(&y.rationale))
        // Equal positions may be written differently (`0` and `0.0`); the
        // report shows one of them as written, so the order must not leave
        // the choice to the input order. Reached only on an otherwise full tie.
        .then_with(|| x.position.to_string().cmp(&y.position.to_string()))
}

/// The recommendations on one subject.
#[derive(Debug)]
pub(crate) struct SubjectGroup<'a> {
    pub(crate) subject: &'a str,
    pub(crate) members: Vec<Member<'a>>,
}

impl SubjectGroup<'_> {
    /// Whether every recommendation takes the same position.
    pub(crate) fn agreed(&self) -> bool {
        self.members
            .windows(2)
            .all(|w| matches!(w, [a, b] if a.position_key == b.position_key))
    }
}

/// What the detectors found.
#[derive(Debug)]
pub(crate) struct Detection<'a> {
    pub(crate) subjects: Vec<SubjectGroup<'a>>,
    /// Sorted by kind, then subject.
    pub(crate) conflicts: Vec<Conflict<'a>>,
}

/// Runs every detector over `prepared`, which must be sorted by
/// [`content_order`].
pub(crate) fn detect<'a>(
    prepared: &'a [Prepared<'a>],
    capacities: &BTreeMap<String, f64>,
) -> Detection<'a> {
    let subjects: Vec<SubjectGroup<'a>> = prepared
        .chunk_by(|a, b| a.subject_rank == b.subject_rank)
        .filter_map(|run| {
            Some(SubjectGroup {
                subject: &run.first()?.rec.subject,
                members: run.iter().map(Prepared::member).collect(),
            })
        })
        .collect();
    let mut conflicts = Vec::new();
    for group in &subjects {
        let cause =
            if !group.agreed() {
                Some(Cause::Contradiction)
            } else if group.members.windows(2).any(
                |w| matches!(w, [a, b] if a.recommendation.priority != b.recommendation.priority),
            ) {
                Some(Cause::PriorityMismatch)
            } else {
                None
            };
        if let Some(cause) = cause {
            conflicts.push(Conflict {
                subject: group.subject.to_owned(),
                cause,
                members: group.members.clone(),
            });
        }
    }
    precedence_conflicts(prepared, &mut conflicts);
    resource_conflicts(prepared, capacities, &mut conflicts);
    // Stable, so conflicts of one kind on one subject keep detection order.
    conflicts.sort_by(|a, b| {
        a.kind()
            .cmp(&b.kind())
            .then_with(|| a.subject.cmp(&b.subject))
    });
    Detection {
        subjects,
        conflicts,
    }
}

fn precedence_conflicts<'a>(prepared: &'a [Prepared<'a>], conflicts: &mut Vec<Conflict<'a>>) {
    let mut self_claims: BTreeMap<&str, Vec<Member<'a>>> = BTreeMap::new();
    let mut nodes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut claims: Vec<(&str, &str)> = Vec::new();
    for p in prepared {
        for target in &p.rec.precedes {
            if *target == p.rec.subject {
                self_claims
                    .entry(&p.rec.subject)
                    .or_default()
                    .push(p.member());
            } else {
                claims.push((&p.rec.subject, target));
            }
        }
    }
    if claims.is_empty() && self_claims.is_empty() {
        return;
    }
    for &(from, to) in &claims {
        for name in [from, to] {
            let next = nodes.len();
            nodes.entry(name).or_insert(next);
        }
    }
    let mut adjacency = vec![Vec::new(); nodes.len()];
    for (from, to) in &claims {
        if let (Some(&a), Some(&b)) = (nodes.get(from), nodes.get(to))
            && let Some(targets) = adjacency.get_mut(a)
        {
            targets.push(b);
        }
    }
    let names: Vec<&str> = {
        let mut names = vec![""; nodes.len()];
        for (&name, &i) in &nodes {
            if let Some(slot) = names.get_mut(i) {
                *slot = name;
            }
        }
        names
    };
    for component in strongly_connected(&adjacency) {
        if component.len() < 2 {
            continue;
        }
        let mut subjects: Vec<String> = component
            .iter()
            .filter_map(|&i| names.get(i).map(|s| (*s).to_owned()))
            .collect();
        subjects.sort();
        let inside = |s: &str| subjects.binary_search_by(|x| x.as_str().cmp(s)).is_ok();
        let members: Vec<Member<'a>> = prepared
            .iter()
            .filter(|p| {
                !p.rec.precedes.is_empty()
                    && inside(&p.rec.subject)
                    && p.rec
                        .precedes
                        .iter()
                        .any(|t| *t != p.rec.subject && inside(t))
            })
            .map(Prepared::member)
            .collect();
        conflicts.push(Conflict {
            subject: subjects.join(" <-> "),
            cause: Cause::PrecedenceCycle { subjects },
            members,
        });
    }
    for (subject, members) in self_claims {
        conflicts.push(Conflict {
            subject: subject.to_owned(),
            cause: Cause::SelfPrecedence,
            members,
        });
    }
}

fn resource_conflicts<'a>(
    prepared: &'a [Prepared<'a>],
    capacities: &BTreeMap<String, f64>,
    conflicts: &mut Vec<Conflict<'a>>,
) {
    let mut requests: BTreeMap<&str, (f64, Vec<Member<'a>>)> = BTreeMap::new();
    for p in prepared {
        for (resource, amount) in &p.rec.requested_resources {
            let (total, members) = requests.entry(resource).or_default();
            *total += amount;
            members.push(p.member());
        }
    }
    for (resource, (requested, members)) in requests {
        let cause = match capacities.get(resource) {
            Some(&capacity) if requested > capacity => Cause::OverCapacity {
                resource: resource.to_owned(),
                capacity,
                requested,
            },
            Some(_) => continue,
            // Without any capacities nothing is scarce; with some, a missing
            // one is an oversight a human should look at.
            None if capacities.is_empty() => continue,
            None => Cause::UnknownCapacity {
                resource: resource.to_owned(),
            },
        };
        conflicts.push(Conflict {
            subject: resource.to_owned(),
            cause,
            members,
        });
    }
}
