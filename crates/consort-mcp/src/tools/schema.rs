//! Schemas of argument and result fields whose Rust types come from the
//! other consort crates (which do not depend on schemars): each is described
//! by its JSON shape, and the strict parser checks the value itself.

use schemars::{Schema, SchemaGenerator, json_schema};

/// `available`, `busy` or `offline`.
pub(crate) fn availability(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "enum": ["available", "busy", "offline"]})
}

/// `available`, `busy`, `offline` or null.
pub(crate) fn optional_availability(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": ["string", "null"], "enum": ["available", "busy", "offline", null]})
}

/// A JSON object whose fields docs/inputs.md lists.
pub(crate) fn object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "object"})
}

/// An optional JSON object whose fields docs/inputs.md lists.
pub(crate) fn optional_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": ["object", "null"]})
}

/// A list of JSON objects whose fields docs/inputs.md lists.
pub(crate) fn objects(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "array", "items": {"type": "object"}})
}

/// Any JSON value.
pub(crate) fn any(_: &mut SchemaGenerator) -> Schema {
    json_schema!({})
}
