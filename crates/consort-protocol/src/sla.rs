//! `response_time_sla`: the spec writes `"< 3 seconds"`, the TypeScript
//! interface a number of milliseconds; both become a [`Duration`].
//!
//! Use with `#[serde(with = "consort_protocol::sla")]` on a `Duration` field.
//! Accepted forms: a non-negative number of milliseconds (`3000`, `2.5`), or a
//! string made of an optional `<` or `<=`, a number and a unit (`ms`,
//! `millisecond(s)`, `s`, `sec(s)`, `second(s)`, `m`, `min(s)`, `minute(s)`),
//! for example `"< 3 seconds"`, `"250ms"`, `"1.5 s"`. Serialised as whole
//! milliseconds, which parses back to the same value.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer, de};

/// Parses an SLA written as text (`"< 3 seconds"`, `"250 ms"`).
pub fn parse(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let body = trimmed
        .strip_prefix("<=")
        .or_else(|| trimmed.strip_prefix('<'))
        .unwrap_or(trimmed)
        .trim_start();
    let split = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (number, unit) = body.split_at(split);
    let amount: f64 = number.parse().map_err(|_| {
        format!("expected a duration such as \"< 3 seconds\" or \"250 ms\", got {text:?}")
    })?;
    let millis_per_unit = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "ms" | "millisecond" | "milliseconds" => 1.0,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000.0,
        other => {
            return Err(format!(
                "unknown time unit {other:?} in {text:?} (use ms, seconds or minutes)"
            ));
        }
    };
    from_millis(amount * millis_per_unit).ok_or_else(|| format!("duration out of range: {text:?}"))
}

fn from_millis(millis: f64) -> Option<Duration> {
    (millis.is_finite() && millis >= 0.0)
        .then(|| Duration::try_from_secs_f64(millis / 1_000.0).ok())
        .flatten()
}

/// Serialises a duration as whole milliseconds.
pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
}

/// Deserialises milliseconds or an SLA string.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Millis(f64),
        Text(String),
    }
    match Raw::deserialize(deserializer)? {
        Raw::Millis(ms) => from_millis(ms).ok_or_else(|| {
            de::Error::custom(format!(
                "response time must be a non-negative number of milliseconds, got {ms}"
            ))
        }),
        Raw::Text(text) => parse(&text).map_err(de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_forms_and_variants() {
        assert_eq!(parse("< 3 seconds"), Ok(Duration::from_secs(3)));
        assert_eq!(parse("< 2 seconds"), Ok(Duration::from_secs(2)));
        assert_eq!(parse("<=250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("1.5 s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("2 minutes"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("400"), Ok(Duration::from_millis(400)));
    }

    #[test]
    fn rejects_nonsense() {
        assert!(parse("soon").is_err());
        assert!(parse("< 3 fortnights").unwrap_err().contains("fortnights"));
        assert!(parse("").is_err());
    }
}
