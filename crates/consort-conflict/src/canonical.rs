//! A canonical text form of JSON positions, so that equal positions compare
//! equal however they were written.

use std::fmt::Write as _;

use serde_json::{Number, Value};

/// The canonical form of a position: object keys sorted, no whitespace, and
/// numbers written so that numerically equal values are equal (`50000`,
/// `50000.0` and `5e4` all become `50000`).
///
/// Two recommendations hold the same position exactly when their canonical
/// forms are equal.
///
/// ```
/// use consort_conflict::canonical_position;
/// use serde_json::json;
/// assert_eq!(canonical_position(&json!({"b": 5e4, "a": [1.0]})), r#"{"a":[1],"b":50000}"#);
/// assert_ne!(canonical_position(&json!(0.1)), canonical_position(&json!(0.2)));
/// ```
pub fn canonical_position(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        // The common case, written directly: a string JSON needs no escapes
        // in is its own text in quotes (what `Display` below would write,
        // at a fraction of the cost).
        Value::String(s) if !s.bytes().any(needs_escape) => {
            out.reserve(s.len() + 2);
            out.push('"');
            out.push_str(s);
            out.push('"');
        }
        Value::Null | Value::Bool(_) | Value::String(_) => {
            // Display writes compact JSON with proper string escaping.
            let _ = write!(out, "{value}");
        }
        Value::Number(n) => write_number(n, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // Sorted here because serde_json's map keeps insertion order when
            // another crate enables `preserve_order`.
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{}", Value::String(key.clone()));
                out.push(':');
                write_value(item, out);
            }
            out.push('}');
        }
    }
}

/// Whether JSON escapes this byte in a string: quote, backslash and control
/// characters (serde_json writes everything else as is).
fn needs_escape(byte: u8) -> bool {
    byte == b'"' || byte == b'\\' || byte < 0x20
}

/// Largest float that still converts exactly to `u64` when integral.
const U64_LIMIT: f64 = 18_446_744_073_709_551_616.0;
const I64_MIN: f64 = -9_223_372_036_854_775_808.0;

#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "floats are cast only when integral and within range, checked first"
)]
fn write_number(n: &Number, out: &mut String) {
    let _ = if let Some(i) = n.as_i64() {
        write!(out, "{i}")
    } else if let Some(u) = n.as_u64() {
        write!(out, "{u}")
    } else {
        let f = n.as_f64().unwrap_or(f64::NAN);
        if f.fract() == 0.0 && (0.0..U64_LIMIT).contains(&f) {
            write!(out, "{}", f as u64)
        } else if f.fract() == 0.0 && (I64_MIN..0.0).contains(&f) {
            write!(out, "{}", f as i64)
        } else {
            write!(out, "{f:?}")
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numerically_equal_numbers_are_equal() {
        let int: Value = serde_json::from_str("50000").unwrap();
        let float: Value = serde_json::from_str("50000.0").unwrap();
        let exp: Value = serde_json::from_str("5e4").unwrap();
        assert_eq!(canonical_position(&int), canonical_position(&float));
        assert_eq!(canonical_position(&int), canonical_position(&exp));
        let neg: Value = serde_json::from_str("-3.0").unwrap();
        assert_eq!(canonical_position(&neg), "-3");
        assert_eq!(
            canonical_position(&json!(-0.0)),
            canonical_position(&json!(0))
        );
    }

    #[test]
    fn different_values_differ() {
        assert_ne!(
            canonical_position(&json!(1)),
            canonical_position(&json!("1"))
        );
        assert_ne!(
            canonical_position(&json!(1.5)),
            canonical_position(&json!(1))
        );
        assert_ne!(
            canonical_position(&json!([1, 2])),
            canonical_position(&json!([2, 1]))
        );
    }

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        for text in [
            "",
            "plan-7",
            "é ü 日本",
            "a\"b",
            "back\\slash",
            "tab\tnew\nline",
            "\u{1}",
            "\u{7f}",
        ] {
            let value = json!(text);
            assert_eq!(canonical_position(&value), value.to_string(), "{text:?}");
        }
    }

    #[test]
    fn object_key_order_does_not_matter() {
        let a: Value = serde_json::from_str(r#"{"x": 1, "y": {"q": "a\"b", "p": null}}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{"y": {"p": null, "q": "a\"b"}, "x": 1.0}"#).unwrap();
        assert_eq!(canonical_position(&a), canonical_position(&b));
        assert_eq!(
            canonical_position(&a),
            r#"{"x":1,"y":{"p":null,"q":"a\"b"}}"#
        );
    }
}
