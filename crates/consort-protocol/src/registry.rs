//! Loading a registry document: the spec's `{"expert_registry": {...}}` or a
//! plain array of profiles.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use crate::{ExpertProfile, ProtocolError, from_json_str};

/// Parses a registry document into validated profiles.
///
/// Two shapes are accepted:
/// - the spec's `{"expert_registry": {"<id>": {...}, ...}}`, where each id is
///   the entry's key (an `id` inside the body, if present, must match it);
/// - a JSON array of profiles, each with its own `id`.
///
/// Profiles come back in document order. Every profile is validated and ids
/// must be unique (a repeated key is an error, not a silent overwrite);
/// errors name the JSON path, such as
/// `expert_registry.finance_accountant.priority_level`.
///
/// ```
/// let doc = r#"[{"id": "finance", "expertise_domains": ["budgeting"],
///               "mcp_endpoint": "/mcp/experts/finance", "priority_level": "high",
///               "response_time_sla": "< 3 seconds"}]"#;
/// let experts = consort_protocol::load_registry(doc)?;
/// assert_eq!(experts[0].response_time_sla.as_secs(), 3);
/// # Ok::<(), consort_protocol::ProtocolError>(())
/// ```
pub fn load_registry(text: &str) -> Result<Vec<ExpertProfile>, ProtocolError> {
    // Dispatching on the first character keeps serde_path_to_error's paths,
    // which an untagged enum would throw away.
    match text.trim_start().chars().next() {
        Some('[') => {
            let profiles: Vec<ExpertProfile> = from_json_str(text)?;
            let mut seen = BTreeSet::new();
            for (index, profile) in profiles.iter().enumerate() {
                let path = format!("[{index}]");
                profile.validate().map_err(|e| e.within(&path))?;
                if !seen.insert(profile.id.as_str()) {
                    return Err(ProtocolError::invalid(
                        format!("{path}.id"),
                        format!("duplicate expert id {:?}", profile.id),
                    ));
                }
            }
            Ok(profiles)
        }
        Some('{') => {
            let doc: RegistryDocument = from_json_str(text)?;
            let mut profiles = Vec::with_capacity(doc.expert_registry.0.len());
            for (id, mut profile) in doc.expert_registry.0 {
                let path = format!("expert_registry.{id}");
                if profile.id.is_empty() {
                    profile.id = id.into();
                } else if profile.id != id {
                    return Err(ProtocolError::invalid(
                        format!("{path}.id"),
                        format!("id {:?} differs from its registry key {id:?}", profile.id),
                    ));
                }
                profile.validate().map_err(|e| e.within(&path))?;
                profiles.push(profile);
            }
            Ok(profiles)
        }
        _ => Err(ProtocolError::invalid(
            "",
            "expected {\"expert_registry\": {...}} or an array of expert profiles",
        )),
    }
}

#[derive(serde::Deserialize)]
struct RegistryDocument {
    expert_registry: OrderedEntries,
}

/// Registry entries in document order, refusing a repeated id.
struct OrderedEntries(Vec<(String, ExpertProfile)>);

impl<'de> Deserialize<'de> for OrderedEntries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;

        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = OrderedEntries;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object mapping expert ids to profiles")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(String, ExpertProfile)> = Vec::new();
                let mut seen = BTreeSet::new();
                while let Some(id) = map.next_key::<String>()? {
                    if !seen.insert(id.clone()) {
                        return Err(de::Error::custom(format!(
                            "duplicate expert id {id:?} in expert_registry"
                        )));
                    }
                    let profile = map.next_value::<ExpertProfile>()?;
                    entries.push((id, profile));
                }
                Ok(OrderedEntries(entries))
            }
        }

        deserializer.deserialize_map(EntriesVisitor)
    }
}
