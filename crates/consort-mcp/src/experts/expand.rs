//! `${VAR}` expansion in deployment files, so that tokens and machine paths
//! stay out of the file.
//!
//! Deliberately narrower than a shell (and than `shellexpand`): only the
//! braced form is special, so a `$` elsewhere (in a token, a regex, a
//! password) is kept as written, and `$${` writes a literal `${`. An unset
//! variable is an error rather than an empty string: a header reading
//! `Bearer ` would fail later and far less clearly.

use consort_protocol::ProtocolError;

/// Expands every `${NAME}` in `text` with `lookup(NAME)`; `${NAME:-default}`
/// uses `default` when the variable is unset or empty. `path` names the
/// value in errors.
pub(crate) fn expand(
    text: &str,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ProtocolError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
            continue;
        }
        let Some(body) = after.strip_prefix("${") else {
            out.push('$');
            rest = &after[1..];
            continue;
        };
        let Some(end) = body.find('}') else {
            return Err(ProtocolError::invalid(
                path,
                "`${` without a closing `}` (write `$${` for a literal `${`)",
            ));
        };
        let (name, default) = match body[..end].split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (&body[..end], None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ProtocolError::invalid(
                path,
                format!("`${{{name}}}` is not a variable name (letters, digits and `_`)"),
            ));
        }
        match (lookup(name).filter(|v| !v.is_empty()), default) {
            (Some(value), _) => out.push_str(&value),
            (None, Some(default)) => out.push_str(default),
            (None, None) => {
                return Err(ProtocolError::invalid(
                    path,
                    format!(
                        "environment variable {name} is not set (write `${{{name}:-default}}` for a fallback)"
                    ),
                ));
            }
        }
        rest = &body[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cr$t".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_braced_names_and_keeps_other_dollars() {
        let got = expand("Bearer ${TOKEN} costs $5", "h", &env).unwrap();
        assert_eq!(got, "Bearer s3cr$t costs $5");
        assert_eq!(expand("$${TOKEN}", "h", &env).unwrap(), "${TOKEN}");
        assert_eq!(expand("${EMPTY:-x}${NOPE:-y}", "h", &env).unwrap(), "xy");
    }

    #[test]
    fn unset_or_malformed_names_are_errors_naming_the_path() {
        let err = expand("${NOPE}", "experts.a.headers.Authorization", &env).unwrap_err();
        assert_eq!(err.path(), "experts.a.headers.Authorization");
        assert!(err.to_string().contains("NOPE is not set"), "{err}");
        assert!(expand("${TOKEN", "p", &env).is_err());
        assert!(expand("${A B}", "p", &env).is_err());
        assert!(expand("${EMPTY}", "p", &env).is_err());
    }
}
