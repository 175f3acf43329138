//! Reading an inventory as PowerShell writes it (`your-cluster.md` §2): text in UTF-16 (with a
//! byte-order mark, as `>` and `Out-File` write it), UTF-8 or Windows-1252; JSON whose enums are
//! numbers, names or `{ "value": 1, "Value": "Name" }` objects; single results as an object where a
//! list is meant; `4294967295` for UInt32 −1. Every value is reached through a [`J`], which knows
//! its JSON path (`$.hosts.hv1.vmhost.MemoryCapacity`), so every error names where it is.

use super::InventoryError;
use serde_json::Value;

/// The text of an inventory file's bytes: a byte-order mark decides (UTF-16 LE/BE, UTF-8); without
/// one, UTF-8 if the bytes are valid UTF-8, else Windows-1252 (what `Set-Content` writes).
pub fn decode(bytes: &[u8]) -> String {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom..]);
        return text.into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

/// A JSON value and where it is.
#[derive(Clone)]
pub struct J<'a> {
    pub v: &'a Value,
    pub path: String,
    pub file: &'a str,
}

const NULL: Value = Value::Null;

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl<'a> J<'a> {
    pub fn root(v: &'a Value, file: &'a str) -> J<'a> {
        J {
            v,
            path: "$".into(),
            file,
        }
    }

    pub fn fail<T>(&self, message: impl std::fmt::Display) -> Result<T, InventoryError> {
        Err(InventoryError::Invalid {
            file: self.file.to_string(),
            path: self.path.clone(),
            message: message.to_string(),
        })
    }

    /// The member `key` (null when missing).
    pub fn k(&self, key: &str) -> J<'a> {
        let v = match self.v {
            Value::Object(m) => m.get(key).unwrap_or(&NULL),
            _ => &NULL,
        };
        J {
            v,
            path: format!("{}.{key}", self.path),
            file: self.file,
        }
    }

    pub fn is_missing(&self) -> bool {
        self.v.is_null()
    }

    /// An object's members in file order.
    pub fn members(&self) -> Result<Vec<(String, J<'a>)>, InventoryError> {
        match self.v {
            Value::Object(m) => Ok(m
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        J {
                            v,
                            path: format!("{}.{k}", self.path),
                            file: self.file,
                        },
                    )
                })
                .collect()),
            Value::Null => Ok(Vec::new()),
            Value::String(_) => self.fail(
                "text where an object belongs: the collector's ConvertTo-Json -Depth was too low",
            ),
            other => self.fail(format!("expected an object, found {}", kind(other))),
        }
    }

    /// A list's items; a single object is a one-item list, null or missing an empty one.
    pub fn items(&self) -> Result<Vec<J<'a>>, InventoryError> {
        let one = |v: &'a Value, i: usize| J {
            v,
            path: format!("{}[{i}]", self.path),
            file: self.file,
        };
        match self.v {
            Value::Array(a) => Ok(a.iter().enumerate().map(|(i, v)| one(v, i)).collect()),
            Value::Null => Ok(Vec::new()),
            Value::Object(_) => Ok(vec![J {
                v: self.v,
                path: self.path.clone(),
                file: self.file,
            }]),
            Value::String(_) => self.fail(
                "text where a list belongs: the collector's ConvertTo-Json -Depth was too low",
            ),
            other => self.fail(format!("expected a list, found {}", kind(other))),
        }
    }

    /// A number: a JSON number, numeric text, or an enum object's `value`.
    pub fn opt_num(&self) -> Result<Option<f64>, InventoryError> {
        match self.v {
            Value::Null => Ok(None),
            Value::Number(n) => Ok(n.as_f64()),
            Value::String(s) if s.trim().parse::<f64>().is_ok() => Ok(s.trim().parse().ok()),
            Value::Object(m) if m.contains_key("value") => self.k("value").opt_num(),
            other => self.fail(format!("expected a number, found {}", kind(other))),
        }
    }

    pub fn num(&self) -> Result<f64, InventoryError> {
        match self.opt_num()? {
            Some(n) if n.is_finite() => Ok(n),
            Some(_) => self.fail("not a finite number"),
            None => self.fail("is missing"),
        }
    }

    /// A whole number ≥ 0; UInt32 −1 (4294967295) is −1.
    pub fn int(&self) -> Result<i64, InventoryError> {
        let n = self.num()?;
        if n.fract() != 0.0 || !(-1.0..=1.8e19).contains(&n) {
            return self.fail(format!("expected a whole number, found {n}"));
        }
        if n == 4_294_967_295.0 {
            return Ok(-1);
        }
        Ok(n.min(i64::MAX as f64) as i64)
    }

    pub fn opt_int(&self) -> Result<Option<i64>, InventoryError> {
        if self.is_missing() {
            Ok(None)
        } else {
            self.int().map(Some)
        }
    }

    /// An enum: its number, its name (any case), or `{ "value": n, "Value": "Name" }`.
    pub fn enumeration(&self, names: &[(i64, &str)]) -> Result<i64, InventoryError> {
        let known = || {
            names
                .iter()
                .map(|(n, s)| format!("{n} {s}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let n = match self.v {
            Value::String(s) if s.trim().parse::<i64>().is_err() => {
                match names
                    .iter()
                    .find(|(_, name)| name.eq_ignore_ascii_case(s.trim()))
                {
                    Some((n, _)) => *n,
                    None => {
                        return self.fail(format!(
                            "unknown value \"{s}\"; expected one of {}",
                            known()
                        ));
                    }
                }
            }
            _ => self.int()?,
        };
        if names.iter().any(|(k, _)| *k == n) {
            Ok(n)
        } else {
            self.fail(format!("unknown value {n}; expected one of {}", known()))
        }
    }

    /// True/false: a JSON bool, 0/1, or "True"/"False".
    pub fn opt_bool(&self) -> Result<Option<bool>, InventoryError> {
        match self.v {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(*b)),
            Value::Number(n) if n.as_f64() == Some(0.0) => Ok(Some(false)),
            Value::Number(n) if n.as_f64() == Some(1.0) => Ok(Some(true)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            other => self.fail(format!("expected true or false, found {}", kind(other))),
        }
    }

    /// Text (numbers are written as text; a `Version` object as `Major.Minor`).
    pub fn opt_str(&self) -> Result<Option<String>, InventoryError> {
        match self.v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            Value::Number(n) => Ok(Some(n.to_string())),
            Value::Bool(b) => Ok(Some(b.to_string())),
            Value::Object(m) if m.contains_key("Major") => {
                let part = |k: &str| self.k(k).opt_int().map(|v| v.unwrap_or(0));
                Ok(Some(format!("{}.{}", part("Major")?, part("Minor")?)))
            }
            Value::Object(m) if m.contains_key("Name") => self.k("Name").opt_str(),
            other => self.fail(format!("expected text, found {}", kind(other))),
        }
    }

    pub fn str(&self) -> Result<String, InventoryError> {
        match self.opt_str()? {
            Some(s) => Ok(s),
            None => self.fail("is missing"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_utf8_and_windows_1252_are_all_read() {
        let text = "{\"Name\":\"hv1 – Köln\"}";
        let mut le = vec![0xFF, 0xFE];
        le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let mut be = vec![0xFE, 0xFF];
        be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        let mut bom8 = b"\xEF\xBB\xBF".to_vec();
        bom8.extend(text.as_bytes());
        for bytes in [le, be, bom8, text.as_bytes().to_vec()] {
            assert_eq!(decode(&bytes), text);
        }
        // Windows-1252: 0x96 is the en dash, 0xF6 ö.
        assert_eq!(decode(b"hv1 \x96 K\xF6ln"), "hv1 – Köln");
    }

    #[test]
    fn enums_are_read_as_numbers_names_or_objects_and_single_objects_as_lists() {
        let v: Value = serde_json::from_str(
            r#"{"a":2,"b":"Lacp","c":{"value":2,"Value":"Lacp"},"d":"7","one":{"x":1},"m":4294967295}"#,
        )
        .unwrap();
        let j = J::root(&v, "f.json");
        let names = [(0, "Static"), (1, "SwitchIndependent"), (2, "Lacp")];
        for k in ["a", "b", "c"] {
            assert_eq!(j.k(k).enumeration(&names).unwrap(), 2);
        }
        let e = j.k("d").enumeration(&names).unwrap_err().to_string();
        assert!(
            e.contains("f.json") && e.contains("$.d") && e.contains("unknown value 7"),
            "{e}"
        );
        assert_eq!(j.k("one").items().unwrap().len(), 1);
        assert_eq!(j.k("none").items().unwrap().len(), 0);
        assert_eq!(j.k("m").int().unwrap(), -1);
        let e = j.k("b").num().unwrap_err().to_string();
        assert!(e.contains("$.b: expected a number, found text"), "{e}");
    }
}
