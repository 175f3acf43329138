//! Quantities a user writes in scenario files: memory sizes (`16GiB`), link speeds (`10Gbps`) and
//! data rates (`200MiB/s`). Each parses to a plain number in a base unit (bytes, bits per second,
//! bytes per second) and prints back in a form that parses again.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Why a quantity was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed {what} `{text}`: {reason} (write it like {example})")]
pub struct QuantityParseError {
    pub what: &'static str,
    pub text: String,
    pub reason: &'static str,
    pub example: &'static str,
}

/// Splits `"16 GiB"` into (16.0, "GiB"). Refuses negatives, NaN and empty numbers.
fn split_number(text: &str) -> Result<(f64, &str), &'static str> {
    let s = text.trim();
    if s.is_empty() {
        return Err("it is empty");
    }
    if s.starts_with('-') {
        return Err("it cannot be negative");
    }
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    if end == 0 {
        return Err("expected a number first");
    }
    let num: f64 = s[..end]
        .replace('_', "")
        .parse()
        .map_err(|_| "the number is not valid")?;
    if !num.is_finite() {
        return Err("the number is not finite");
    }
    Ok((num, s[end..].trim()))
}

/// A memory size in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub u64);

impl Bytes {
    pub const KIB: u64 = 1024;
    pub const MIB: u64 = 1024 * 1024;
    pub const GIB: u64 = 1024 * 1024 * 1024;
    pub const TIB: u64 = 1024 * 1024 * 1024 * 1024;

    pub fn gib(n: u64) -> Bytes {
        Bytes(n.saturating_mul(Self::GIB))
    }
    pub fn mib(n: u64) -> Bytes {
        Bytes(n.saturating_mul(Self::MIB))
    }
    pub fn as_f64(self) -> f64 {
        self.0 as f64
    }
}

pub fn parse_bytes(text: &str) -> Result<Bytes, QuantityParseError> {
    let err = |reason| QuantityParseError {
        what: "size",
        text: text.to_string(),
        reason,
        example: "`16GiB`, `512MiB` or `4KiB`",
    };
    let (num, unit) = split_number(text).map_err(err)?;
    let scale: f64 = match unit {
        "B" => 1.0,
        "KiB" => Bytes::KIB as f64,
        "MiB" => Bytes::MIB as f64,
        "GiB" => Bytes::GIB as f64,
        "TiB" => Bytes::TIB as f64,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "" => return Err(err("a unit is missing")),
        _ => {
            return Err(err(
                "unknown unit (use B, KiB, MiB, GiB, TiB, kB, MB, GB or TB)",
            ));
        }
    };
    let v = (num * scale).round();
    if v >= u64::MAX as f64 {
        return Err(err("it is too large"));
    }
    Ok(Bytes(v as u64))
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        for (scale, unit) in [
            (Bytes::TIB, "TiB"),
            (Bytes::GIB, "GiB"),
            (Bytes::MIB, "MiB"),
            (Bytes::KIB, "KiB"),
        ] {
            if b >= scale && b.is_multiple_of(scale) {
                return write!(f, "{}{unit}", b / scale);
            }
        }
        write!(f, "{b}B")
    }
}

/// A link speed or wire rate in bits per second.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
pub struct BitRate(pub f64);

impl BitRate {
    pub fn gbps(g: f64) -> BitRate {
        BitRate(g * 1e9)
    }
    pub fn as_gbps(self) -> f64 {
        self.0 / 1e9
    }
    pub fn bytes_per_s(self) -> f64 {
        self.0 / 8.0
    }
}

pub fn parse_bit_rate(text: &str) -> Result<BitRate, QuantityParseError> {
    let err = |reason| QuantityParseError {
        what: "link speed",
        text: text.to_string(),
        reason,
        example: "`10Gbps`, `25Gbps` or `1Gbps`",
    };
    let (num, unit) = split_number(text).map_err(err)?;
    let scale = match unit {
        "bps" => 1.0,
        "Kbps" | "kbps" => 1e3,
        "Mbps" => 1e6,
        "Gbps" => 1e9,
        "Tbps" => 1e12,
        "" => return Err(err("a unit is missing")),
        _ => return Err(err("unknown unit (use Mbps, Gbps or Tbps)")),
    };
    Ok(BitRate(num * scale))
}

impl fmt::Display for BitRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v >= 1e9 {
            write!(f, "{}Gbps", v / 1e9)
        } else if v >= 1e6 {
            write!(f, "{}Mbps", v / 1e6)
        } else {
            write!(f, "{v}bps")
        }
    }
}

/// A data rate in bytes per second (the rate a guest dirties memory, for instance).
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
pub struct ByteRate(pub f64);

impl ByteRate {
    pub fn mib_per_s(m: f64) -> ByteRate {
        ByteRate(m * Bytes::MIB as f64)
    }
    pub fn as_mib_per_s(self) -> f64 {
        self.0 / Bytes::MIB as f64
    }
}

pub fn parse_byte_rate(text: &str) -> Result<ByteRate, QuantityParseError> {
    let err = |reason| QuantityParseError {
        what: "data rate",
        text: text.to_string(),
        reason,
        example: "`200MiB/s`, `1GiB/s` or `0`",
    };
    if text.trim() == "0" {
        return Ok(ByteRate(0.0));
    }
    let Some(size) = text.trim().strip_suffix("/s") else {
        return Err(err("it must end in `/s`"));
    };
    let b = parse_bytes(size).map_err(|e| err(e.reason))?;
    Ok(ByteRate(b.0 as f64))
}

impl fmt::Display for ByteRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}MiB/s", self.as_mib_per_s())
    }
}

macro_rules! serde_via_text {
    ($ty:ty, $parse:path, $expecting:literal) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        $parse(v).map_err(E::custom)
                    }
                    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<$ty, E> {
                        $parse(&v.to_string()).map_err(E::custom)
                    }
                    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<$ty, E> {
                        $parse(&v.to_string()).map_err(E::custom)
                    }
                    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<$ty, E> {
                        $parse(&v.to_string()).map_err(E::custom)
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

serde_via_text!(Bytes, parse_bytes, "a size like \"16GiB\"");
serde_via_text!(BitRate, parse_bit_rate, "a link speed like \"10Gbps\"");
serde_via_text!(ByteRate, parse_byte_rate, "a data rate like \"200MiB/s\"");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_speeds_and_rates_parse_and_print_back() {
        assert_eq!(parse_bytes("16GiB"), Ok(Bytes::gib(16)));
        assert_eq!(parse_bytes("1.5GiB"), Ok(Bytes(3 * Bytes::GIB / 2)));
        assert_eq!(parse_bytes("4KiB"), Ok(Bytes(4096)));
        assert_eq!(parse_bytes("1GB"), Ok(Bytes(1_000_000_000)));
        assert_eq!(parse_bit_rate("10Gbps"), Ok(BitRate(10e9)));
        assert_eq!(parse_bit_rate("100Mbps"), Ok(BitRate(100e6)));
        assert_eq!(parse_byte_rate("200MiB/s"), Ok(ByteRate::mib_per_s(200.0)));
        assert_eq!(parse_byte_rate("0"), Ok(ByteRate(0.0)));
        for b in [Bytes::gib(16), Bytes(4096), Bytes(12345)] {
            assert_eq!(parse_bytes(&b.to_string()), Ok(b));
        }
        assert_eq!(
            parse_bit_rate(&BitRate(10e9).to_string()),
            Ok(BitRate(10e9))
        );
    }

    #[test]
    fn malformed_quantities_are_refused() {
        for bad in ["", "-1GiB", "GiB", "16", "16 parsecs", "1e400GiB"] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
        for bad in ["10", "10Gb", "-10Gbps", "fast"] {
            assert!(parse_bit_rate(bad).is_err(), "{bad}");
        }
        for bad in ["200MiB", "x/s", "-1MiB/s"] {
            assert!(parse_byte_rate(bad).is_err(), "{bad}");
        }
    }
}
