//! Simulated time. The engine never reads a clock: every call that moves the world forward takes a
//! [`SimTime`] argument. Time is an integer count of microseconds since the start of the run, so
//! arithmetic is exact and runs are reproducible on every platform.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

const US_PER_MS: u64 = 1_000;
const US_PER_S: u64 = 1_000_000;

/// An instant of simulated time (microseconds since the run started).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(u64);

/// A span of simulated time (microseconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    pub const fn from_micros(us: u64) -> Self {
        SimTime(us)
    }
    pub const fn from_secs(s: u64) -> Self {
        SimTime(s.saturating_mul(US_PER_S))
    }
    pub const fn as_micros(self) -> u64 {
        self.0
    }
    /// Seconds as a float, for reports and plots.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / US_PER_S as f64
    }
    pub fn saturating_add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
    /// Time elapsed since `earlier` (zero if `earlier` is later).
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl std::ops::Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        self.saturating_add(d)
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);

    pub const fn from_micros(us: u64) -> Self {
        SimDuration(us)
    }
    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms.saturating_mul(US_PER_MS))
    }
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s.saturating_mul(US_PER_S))
    }
    /// Rounds to the nearest microsecond; negative and NaN become zero, huge values saturate.
    pub fn from_secs_f64(s: f64) -> Self {
        if s.is_nan() || s <= 0.0 {
            return SimDuration::ZERO;
        }
        let us = (s * US_PER_S as f64).round();
        if us >= u64::MAX as f64 {
            SimDuration(u64::MAX)
        } else {
            SimDuration(us as u64)
        }
    }
    pub const fn as_micros(self) -> u64 {
        self.0
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / US_PER_S as f64
    }
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / US_PER_MS as f64
    }
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

/// Why a duration string was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "malformed duration `{text}`: {reason} (write it like `90s`, `1500ms`, `5m`, `2h` or `1h30m`)"
)]
pub struct DurationParseError {
    pub text: String,
    pub reason: &'static str,
}

/// A time of the run as typed by a user: a clock `h:mm:ss` (or `m:ss`, each part a non-negative
/// number) or a duration from zero like `90s`, `5m`, `1h30m`.
pub fn parse_clock(text: &str) -> Option<SimTime> {
    let s = text.trim();
    if s.contains(':') {
        let mut secs = 0.0;
        for part in s.split(':') {
            let v: f64 = part.trim().parse().ok()?;
            if !(v.is_finite() && v >= 0.0) {
                return None;
            }
            secs = secs * 60.0 + v;
        }
        return Some(SimTime::ZERO + SimDuration::from_secs_f64(secs));
    }
    parse_duration(s).ok().map(|d| SimTime::ZERO + d)
}

/// Parses durations written like `90s`, `1500ms`, `250us`, `5m`, `2h`, `1h30m`, `1.5s` or `0`.
/// A bare number other than 0 is refused: the unit must be explicit.
pub fn parse_duration(text: &str) -> Result<SimDuration, DurationParseError> {
    let err = |reason| DurationParseError {
        text: text.to_string(),
        reason,
    };
    let s = text.trim();
    if s.is_empty() {
        return Err(err("it is empty"));
    }
    if s == "0" {
        return Ok(SimDuration::ZERO);
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total_us: f64 = 0.0;
    let mut seen_units: Vec<&str> = Vec::new();
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        if start == i {
            return Err(err(if bytes[i] == b'-' {
                "durations cannot be negative"
            } else {
                "expected a number"
            }));
        }
        let num: f64 = s[start..i]
            .parse()
            .map_err(|_| err("the number is not valid"))?;
        let ustart = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[ustart..i];
        let scale = match unit {
            "us" => 1.0,
            "ms" => 1e3,
            "s" => 1e6,
            "m" | "min" => 60e6,
            "h" => 3600e6,
            "d" => 86_400e6,
            "" => return Err(err("a unit is missing after the number")),
            _ => return Err(err("unknown unit (use us, ms, s, m, h or d)")),
        };
        if seen_units.contains(&unit) {
            return Err(err("a unit appears twice"));
        }
        seen_units.push(unit);
        total_us += num * scale;
    }
    if !total_us.is_finite() || total_us >= u64::MAX as f64 {
        return Err(err("it is too large"));
    }
    Ok(SimDuration(total_us.round() as u64))
}

impl fmt::Display for SimDuration {
    /// Shortest exact form that [`parse_duration`] reads back: `1h30m`, `90s`→`1m30s`, `1500ms`→`1.5s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        if us == 0 {
            return write!(f, "0s");
        }
        if !us.is_multiple_of(US_PER_S) {
            if us < US_PER_MS || !us.is_multiple_of(US_PER_MS) {
                return write!(f, "{us}us");
            }
            if us < US_PER_S {
                return write!(f, "{}ms", us / US_PER_MS);
            }
            // Seconds with a fraction: print as seconds with up to 3 decimals.
            let s = us as f64 / US_PER_S as f64;
            return write!(f, "{}s", trim_float(s));
        }
        let mut s = us / US_PER_S;
        let h = s / 3600;
        s %= 3600;
        let m = s / 60;
        s %= 60;
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        if s > 0 {
            write!(f, "{s}s")?;
        }
        Ok(())
    }
}

impl fmt::Display for SimTime {
    /// `t+1h02m03.250s` style is noisy in logs; we print seconds with millisecond precision.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}s", self.as_secs_f64())
    }
}

fn trim_float(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

impl std::str::FromStr for SimDuration {
    type Err = DurationParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_duration(s)
    }
}

impl Serialize for SimDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for SimDuration {
    /// Accepts the string forms of [`parse_duration`]; a bare integer 0 is also accepted.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = SimDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string like \"90s\", \"5m\" or \"2h\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SimDuration, E> {
                parse_duration(v).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<SimDuration, E> {
                if v == 0 {
                    Ok(SimDuration::ZERO)
                } else {
                    Err(E::custom(format!(
                        "a bare number {v} is not a duration: write the unit, like \"{v}s\""
                    )))
                }
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<SimDuration, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_documented_form() {
        assert_eq!(parse_duration("90s"), Ok(SimDuration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(SimDuration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(SimDuration::from_secs(7200)));
        assert_eq!(parse_duration("1h30m"), Ok(SimDuration::from_secs(5400)));
        assert_eq!(parse_duration("1500ms"), Ok(SimDuration::from_millis(1500)));
        assert_eq!(parse_duration("1.5s"), Ok(SimDuration::from_millis(1500)));
        assert_eq!(parse_duration("250us"), Ok(SimDuration::from_micros(250)));
        assert_eq!(parse_duration("0"), Ok(SimDuration::ZERO));
    }

    #[test]
    fn malformed_durations_are_refused_with_a_reason() {
        for bad in [
            "",
            "10",
            "-5s",
            "5x",
            "s",
            "1.2.3s",
            "5s5s",
            "99999999999999999999h",
        ] {
            let e = parse_duration(bad).expect_err(bad);
            assert!(e.to_string().contains("malformed duration"), "{e}");
        }
    }

    #[test]
    fn durations_print_in_a_form_that_parses_back() {
        for us in [
            0,
            1,
            999,
            1_000,
            1_500_000,
            90_000_000,
            5_400_000_000,
            3_723_000_000,
        ] {
            let d = SimDuration::from_micros(us);
            assert_eq!(parse_duration(&d.to_string()), Ok(d), "{d}");
        }
    }
}
