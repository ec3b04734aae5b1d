//! [`ExpertId`]: the name of an expert, cheap to clone and compared with
//! plain strings.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ProtocolError;

/// Longest accepted expert id, in bytes.
pub const MAX_EXPERT_ID_LEN: usize = 128;

/// Identifier of an expert, such as `finance_accountant`.
///
/// A shared string: cloning it (every routing decision and workflow step
/// names experts) copies a pointer, not the text. It reads like a `&str`:
///
/// ```
/// use consort_protocol::ExpertId;
///
/// let involved = vec![ExpertId::from("marketing_sales"), ExpertId::from("finance_accountant")];
/// assert!(involved.iter().any(|e| e == "finance_accountant"));
/// assert!(involved.contains(&"marketing_sales".into()));
/// assert_eq!(involved[0].len(), "marketing_sales".len()); // derefs to `str`
/// ```
///
/// Any string converts into an `ExpertId`; the rules of a well-formed id
/// ([`validate_expert_id`]) are checked where ids enter the system (profile
/// and workflow validation, the registry), which report the JSON path.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ExpertId(Arc<str>);

impl ExpertId {
    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for ExpertId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ExpertId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for ExpertId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExpertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so width and alignment (`{:<20}`) work as they do for `str`.
        f.pad(&self.0)
    }
}

impl fmt::Debug for ExpertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl From<&str> for ExpertId {
    fn from(id: &str) -> Self {
        Self(Arc::from(id))
    }
}

impl From<String> for ExpertId {
    fn from(id: String) -> Self {
        Self(Arc::from(id))
    }
}

impl From<&String> for ExpertId {
    fn from(id: &String) -> Self {
        Self(Arc::from(id.as_str()))
    }
}

impl From<&ExpertId> for ExpertId {
    fn from(id: &ExpertId) -> Self {
        id.clone()
    }
}

impl From<ExpertId> for String {
    fn from(id: ExpertId) -> Self {
        id.0.as_ref().to_owned()
    }
}

impl PartialEq<str> for ExpertId {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for ExpertId {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<String> for ExpertId {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<ExpertId> for str {
    fn eq(&self, other: &ExpertId) -> bool {
        *self == *other.0
    }
}

impl PartialEq<ExpertId> for &str {
    fn eq(&self, other: &ExpertId) -> bool {
        **self == *other.0
    }
}

impl PartialEq<ExpertId> for String {
    fn eq(&self, other: &ExpertId) -> bool {
        **self == *other.0
    }
}

impl Serialize for ExpertId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ExpertId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `Box<str>` borrows nothing, so this works for owned and borrowed
        // input alike, and turns into the `Arc` without re-validating UTF-8.
        Box::<str>::deserialize(deserializer).map(|id| Self(Arc::from(id)))
    }
}

/// Checks an expert id: 1 to [`MAX_EXPERT_ID_LEN`] bytes of ASCII letters,
/// digits, `_`, `-` and `.`. Ids end up in state keys, channel names and
/// command lines, where anything else causes trouble.
pub fn validate_expert_id(id: &str) -> Result<(), ProtocolError> {
    if id.is_empty() {
        return Err(ProtocolError::invalid("", "missing expert id"));
    }
    if id.len() > MAX_EXPERT_ID_LEN {
        return Err(ProtocolError::invalid(
            "",
            format!(
                "expert id is {} bytes long; the limit is {MAX_EXPERT_ID_LEN}",
                id.len()
            ),
        ));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(ProtocolError::invalid(
            "",
            format!(
                "expert id {id:?} contains {bad:?}; use ASCII letters, digits, '_', '-' or '.'"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_orders_and_serializes_like_its_text() {
        let a = ExpertId::from("alpha");
        let b = ExpertId::from(String::from("beta"));
        assert!(a < b);
        assert_eq!(a, "alpha");
        assert_eq!("alpha", a);
        assert_eq!(serde_json::to_string(&a).ok().as_deref(), Some("\"alpha\""));
        let back: ExpertId = serde_json::from_str("\"alpha\"").unwrap_or_default();
        assert_eq!(back, a);
        let map: std::collections::BTreeMap<ExpertId, u32> = [(a.clone(), 1)].into();
        assert_eq!(map.get("alpha"), Some(&1));
        assert_eq!(format!("{a} {a:?}"), "alpha \"alpha\"");
        assert_eq!(format!("[{a:<7}|{a:>6}]"), "[alpha  | alpha]");
    }

    #[test]
    fn validation_names_the_problem() {
        assert!(validate_expert_id("finance_accountant").is_ok());
        assert!(validate_expert_id("").is_err());
        assert!(validate_expert_id("a b").is_err());
        assert!(validate_expert_id(&"x".repeat(MAX_EXPERT_ID_LEN + 1)).is_err());
    }
}
