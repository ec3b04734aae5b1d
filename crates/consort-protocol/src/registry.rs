//! Loading a registry document: the spec's `{"expert_registry": {...}}`
//! (with or without its `mcp_server` block) or a plain array of profiles.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::{ExpertProfile, ProtocolError, from_json_str};

/// Parses a registry document into validated profiles, in document order.
///
/// See [`RegistryDocument::parse`] for the accepted shapes and the checks;
/// this keeps only the profiles.
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
    RegistryDocument::parse(text).map(|doc| doc.experts)
}

/// A whole registry document: the experts, and the spec's description of
/// the coordination server when the document has one.
///
/// Serialises to the spec's shape, `{"mcp_server": {...}, "expert_registry":
/// {"<id>": {...}}}`, which parses back to an equal document.
///
/// ```
/// use consort_protocol::{seeds, RegistryDocument};
///
/// let text = format!(
///     r#"{{"mcp_server": {}, "expert_registry": {}}}"#,
///     serde_json::to_string(&serde_json::from_str::<serde_json::Value>(seeds::MCP_SERVER)?["mcp_server"])?,
///     serde_json::to_string(&serde_json::from_str::<serde_json::Value>(seeds::EXPERT_REGISTRY)?["expert_registry"])?,
/// );
/// let doc = RegistryDocument::parse(&text)?;
/// assert_eq!(doc.experts.len(), 8);
/// let server = doc.mcp_server.as_ref().unwrap();
/// assert_eq!(server.api_endpoints["workflow_execute"], "/mcp/workflows/execute");
/// assert_eq!(RegistryDocument::parse(&serde_json::to_string(&doc)?)?, doc);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RegistryDocument {
    /// The spec's `mcp_server` block, if the document has one.
    pub mcp_server: Option<CoordinatorManifest>,
    /// The experts, in document order.
    pub experts: Vec<ExpertProfile>,
}

impl RegistryDocument {
    /// Parses and checks a registry document.
    ///
    /// Two shapes are accepted:
    /// - the spec's `{"expert_registry": {"<id>": {...}, ...}}`, where each id
    ///   is the entry's key (an `id` inside the body, if present, must match
    ///   it), optionally with the spec's `"mcp_server": {...}` beside it;
    /// - a JSON array of profiles, each with its own `id`.
    ///
    /// Registries are hand-written, so they are strict: an unknown field is
    /// an error naming the field it most likely means
    /// (`expert_registry.finance_accountant.availability: unknown field; did
    /// you mean "availability_status"?`). Every profile is validated, ids
    /// must be unique (a repeated key is an error, not a silent overwrite),
    /// and a registry without experts is an error. Errors name the JSON
    /// path, such as `expert_registry.finance_accountant.priority_level`.
    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        // Dispatching on the first character keeps serde_path_to_error's paths,
        // which an untagged enum would throw away.
        match text.trim_start().chars().next() {
            Some('[') => Ok(Self {
                mcp_server: None,
                experts: at_least_one(array_profiles(from_json_str(text)?)?, "")?,
            }),
            Some('{') => {
                let doc: SpecShape = from_json_str(text)?;
                Ok(Self {
                    mcp_server: doc.mcp_server,
                    experts: at_least_one(
                        keyed_profiles(doc.expert_registry.0)?,
                        "expert_registry",
                    )?,
                })
            }
            _ => Err(ProtocolError::invalid(
                "",
                "expected {\"expert_registry\": {...}} or an array of expert profiles",
            )),
        }
    }
}

/// An empty registry is a mistake (a wrong file, a lost edit), never a
/// deployment: nothing could be routed.
fn at_least_one(
    experts: Vec<ExpertProfile>,
    path: &str,
) -> Result<Vec<ExpertProfile>, ProtocolError> {
    if experts.is_empty() {
        Err(ProtocolError::invalid(
            path,
            "the registry has no experts; it needs at least one",
        ))
    } else {
        Ok(experts)
    }
}

fn array_profiles(profiles: Vec<ExpertProfile>) -> Result<Vec<ExpertProfile>, ProtocolError> {
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

fn keyed_profiles(
    entries: Vec<(String, ExpertProfile)>,
) -> Result<Vec<ExpertProfile>, ProtocolError> {
    let mut profiles = Vec::with_capacity(entries.len());
    for (id, mut profile) in entries {
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

impl Serialize for RegistryDocument {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Entries<'a>(&'a [ExpertProfile]);

        impl Serialize for Entries<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.len()))?;
                for profile in self.0 {
                    map.serialize_entry(profile.id.as_str(), profile)?;
                }
                map.end()
            }
        }

        let fields = 1 + usize::from(self.mcp_server.is_some());
        let mut map = serializer.serialize_map(Some(fields))?;
        if let Some(server) = &self.mcp_server {
            map.serialize_entry("mcp_server", server)?;
        }
        map.serialize_entry("expert_registry", &Entries(&self.experts))?;
        map.end()
    }
}

/// The spec's `mcp_server` block: what the coordination server calls itself,
/// what it can do and where its API lives. consort keeps it with the
/// registry and does not act on it.
///
/// ```json
/// {"name": "Pixel-AI MCP Coordinator", "version": "1.0.0",
///  "capabilities": {"expert_routing": "Intelligent routing to appropriate experts"},
///  "api_endpoints": {"coordination": "/mcp/coordinate"}}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CoordinatorManifest {
    /// Display name (`Pixel-AI MCP Coordinator`).
    pub name: String,
    /// Its version (`1.0.0`).
    pub version: String,
    /// Capability name -> what it means (`conflict_resolution` -> `Handles
    /// conflicting expert recommendations`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capabilities: BTreeMap<String, String>,
    /// API name -> path (`workflow_execute` -> `/mcp/workflows/execute`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub api_endpoints: BTreeMap<String, String>,
}

/// The spec's object shape of a registry document.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecShape {
    #[serde(default)]
    mcp_server: Option<CoordinatorManifest>,
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
