//! Durations on the command line: `30s`, `1m 30s`, `500ms`, `PT2M`.

use std::time::Duration;

use jiff::SignedDuration;

/// A non-negative duration in jiff's friendly or ISO 8601 format, for clap.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let signed: SignedDuration = text
        .parse()
        .map_err(|e| format!("{text:?} is not a duration like 30s, 1m 30s or 500ms: {e}"))?;
    Duration::try_from(signed).map_err(|_| format!("{text:?} is negative"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn friendly_and_iso_durations_are_read() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("PT2M"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("-5s").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
