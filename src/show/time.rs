//! Show times: seconds as a JSON number, or a string `"HH:MM:SS.mmm"` / `"MM:SS.mmm"` (control side).

use std::borrow::Cow;
use std::fmt;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A time in seconds. Written in JSON as a number or as `"HH:MM:SS.mmm"` / `"MM:SS.mmm"`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Seconds(pub f64);

impl Seconds {
    /// Frames at `rate`, rounded to the nearest frame.
    pub fn frames(self, rate: u32) -> u64 {
        (self.0 * rate as f64).round().max(0.0) as u64
    }
}

/// Why a time string could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError(pub String);

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses `"HH:MM:SS.mmm"`, `"MM:SS.mmm"` or a plain number of seconds in a string.
pub fn parse_time(text: &str) -> Result<f64, TimeError> {
    let bad = || TimeError(format!("\"{text}\" is not a time: expected seconds, \"MM:SS.mmm\" or \"HH:MM:SS.mmm\""));
    let parts: Vec<&str> = text.trim().split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    let (last, whole) = parts.split_last().ok_or_else(bad)?;
    let seconds: f64 = last.parse().map_err(|_| bad())?;
    if !seconds.is_finite() || seconds < 0.0 || (!whole.is_empty() && seconds >= 60.0) {
        return Err(bad());
    }
    let mut total = 0.0;
    for (i, p) in whole.iter().enumerate() {
        let n: u64 = p.parse().map_err(|_| bad())?;
        // Minutes below hours must stay under 60; the leading field may be anything.
        if i > 0 && n >= 60 {
            return Err(bad());
        }
        total = total * 60.0 + n as f64;
    }
    Ok(total * 60.0 + seconds)
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) if n.is_finite() && n >= 0.0 => Ok(Seconds(n)),
            Raw::Number(n) => {
                Err(serde::de::Error::custom(format!("{n} is not a time: times are zero or more seconds")))
            }
            Raw::Text(t) => parse_time(&t).map(Seconds).map_err(serde::de::Error::custom),
        }
    }
}

/// The time strings `parse_time` reads, for the JSON Schema: seconds, `MM:SS.mmm` (any number of
/// minutes) or `HH:MM:SS.mmm`.
const TIME_PATTERN: &str = r"^\s*(([0-9]+:[0-5]?[0-9]|[0-9]+):[0-5]?[0-9](\.[0-9]*)?|[0-9]+(\.[0-9]*)?|\.[0-9]+)\s*$";

impl JsonSchema for Seconds {
    fn schema_name() -> Cow<'static, str> {
        "Seconds".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A time: seconds as a number, or \"MM:SS.mmm\" / \"HH:MM:SS.mmm\".",
            "anyOf": [
                { "type": "number", "minimum": 0 },
                { "type": "string", "pattern": TIME_PATTERN }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_every_written_form() {
        assert_eq!(parse_time("12.5"), Ok(12.5));
        assert_eq!(parse_time("01:02.500"), Ok(62.5));
        assert_eq!(parse_time("1:00:00.250"), Ok(3600.25));
        assert!(parse_time("1:60.0").is_err());
        assert!(parse_time("-1").is_err());
        assert!(parse_time("abc").is_err());
        assert!(parse_time("1::2").is_err());
    }
}
