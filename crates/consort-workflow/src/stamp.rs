//! The timestamps of step records, with their RFC 3339 text.

use jiff::Timestamp;
use jiff::fmt::StdIoWrite;
use jiff::fmt::temporal::DateTimePrinter;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Room for the longest text a [`Timestamp`] prints
/// (`-009999-01-02T01:59:59.999999999Z` is 33 bytes).
const TEXT_ROOM: usize = 40;

/// A point in time, carrying its RFC 3339 text when it was taken for
/// records.
///
/// The driver stamps every step transition of one turn with the same
/// instant (a fan-out completes thousands of steps in one turn), and
/// formatting a timestamp costs more than encoding the rest of a step
/// record. So a stamp taken for records is formatted once, when it is
/// taken, and its copies carry the text inline: stamping a turn allocates
/// nothing and shares nothing. A stamp read back from a record, or taken by
/// a run that writes no records, has no text and formats when written.
/// Encodes exactly like a [`Timestamp`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stamp {
    at: Timestamp,
    text: Option<Text>,
}

/// RFC 3339 text, inline.
#[derive(Debug, Clone, Copy)]
struct Text {
    len: u8,
    bytes: [u8; TEXT_ROOM],
}

impl Text {
    fn of(at: Timestamp) -> Option<Self> {
        let mut bytes = [0; TEXT_ROOM];
        let mut rest = &mut bytes[..];
        DateTimePrinter::new()
            .print_timestamp(&at, StdIoWrite(&mut rest))
            .ok()?;
        let len = u8::try_from(TEXT_ROOM - rest.len()).ok()?;
        Some(Self { len, bytes })
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

impl Stamp {
    /// Now; with its text when `for_records`.
    pub(crate) fn now(for_records: bool) -> Self {
        let at = Timestamp::now();
        Self {
            at,
            text: if for_records { Text::of(at) } else { None },
        }
    }

    pub(crate) fn at(&self) -> Timestamp {
        self.at
    }

    /// Appends the RFC 3339 text, which is digits, `-`, `:`, `.`, `T` and
    /// `Z` only: it never needs escaping in JSON.
    pub(crate) fn write_text(&self, out: &mut Vec<u8>) {
        match &self.text {
            Some(text) => out.extend_from_slice(text.as_bytes()),
            None => {
                // Writing to a `Vec` cannot fail.
                let _ = DateTimePrinter::new().print_timestamp(&self.at, out);
            }
        }
    }
}

impl From<Timestamp> for Stamp {
    fn from(at: Timestamp) -> Self {
        Self { at, text: None }
    }
}

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.text {
            Some(text) => match std::str::from_utf8(text.as_bytes()) {
                Ok(text) => serializer.serialize_str(text),
                Err(_) => self.at.serialize(serializer),
            },
            // `Timestamp` serializes its `Display` text: the same bytes.
            None => self.at.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Timestamp::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn written(stamp: Stamp) -> String {
        let mut out = Vec::new();
        stamp.write_text(&mut out);
        String::from_utf8(out).unwrap()
    }

    proptest! {
        /// Records written before stamps existed read back, and new ones are
        /// byte for byte what `Timestamp` would have written, with or
        /// without their text made in advance.
        #[test]
        fn stamps_encode_like_timestamps(
            seconds in Timestamp::MIN.as_second()..=Timestamp::MAX.as_second(),
            nanos in 0..1_000_000_000_i32,
        ) {
            let Ok(at) = Timestamp::new(seconds, nanos) else { return Ok(()) };
            let timestamp = serde_json::to_string(&at).unwrap();
            let formatted = Stamp { at, text: Text::of(at) };
            prop_assert!(formatted.text.is_some(), "{at} did not fit");
            for stamp in [Stamp::from(at), formatted] {
                let encoded = serde_json::to_string(&stamp).unwrap();
                prop_assert_eq!(&encoded, &timestamp);
                prop_assert_eq!(format!("\"{}\"", written(stamp)), timestamp.clone());
                let back: Stamp = serde_json::from_str(&encoded).unwrap();
                prop_assert_eq!(back.at(), at);
            }
        }
    }

    #[test]
    fn the_extremes_fit() {
        for at in [Timestamp::MIN, Timestamp::MAX] {
            let text = Text::of(at).unwrap();
            assert_eq!(text.as_bytes(), at.to_string().as_bytes());
        }
    }
}
