//! Values stored in the graph and compared by policies, with Cypher's comparison rules
//! (three-valued: a comparison that involves null or mismatched types is `None`).

use std::cmp::Ordering;

/// A property, parameter or literal value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Box<str>),
    List(Vec<Value>),
    /// Objects from request parameters, claims and property metadata.
    Map(Vec<(Box<str>, Value)>),
    /// An instant, microseconds since the epoch (from `{"type":"datetime"}` filter values).
    DateTime(i64),
}

/// Three-valued logic result: `None` is Cypher's null.
pub type Tri = Option<bool>;

impl Value {
    /// Convert a JSON value (numbers that fit i64 stay integers).
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => number(n),
            serde_json::Value::String(s) => Value::Str(s.as_str().into()),
            serde_json::Value::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(m) => {
                Value::Map(m.iter().map(|(k, v)| (k.as_str().into(), Value::from_json(v))).collect())
            }
        }
    }

    /// Back to JSON (datetimes as RFC 3339 text).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into),
            Value::Str(s) => serde_json::Value::String(s.to_string()),
            Value::List(l) => serde_json::Value::Array(l.iter().map(Value::to_json).collect()),
            Value::Map(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.to_string(), v.to_json())).collect())
            }
            Value::DateTime(us) => serde_json::Value::String(crate::datetime::format_rfc3339(*us)),
        }
    }

    /// Member of a map value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(m) => m.iter().find(|(k, _)| &**k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }
}

fn number(n: &serde_json::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Int(i)
    } else {
        Value::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Cypher `=`: null if either side is null, false across types, lists element-wise.
pub fn equals(a: &Value, b: &Value) -> Tri {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Int(x), Value::Int(y)) => Some(x == y),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            let (x, y) = (a.as_f64()?, b.as_f64()?);
            if x.is_nan() || y.is_nan() {
                return Some(false);
            }
            Some(num_cmp(a, b) == Some(Ordering::Equal))
        }
        (Value::Bool(x), Value::Bool(y)) => Some(x == y),
        (Value::Str(x), Value::Str(y)) => Some(x == y),
        (Value::DateTime(_), _) | (_, Value::DateTime(_)) => {
            let (x, y) = (instant(a)?, instant(b)?);
            Some(x == y)
        }
        (Value::List(x), Value::List(y)) => {
            if x.len() != y.len() {
                return Some(false);
            }
            let mut unknown = false;
            for (p, q) in x.iter().zip(y) {
                match equals(p, q) {
                    Some(false) => return Some(false),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            if unknown {
                None
            } else {
                Some(true)
            }
        }
        (Value::Map(x), Value::Map(y)) => {
            if x.len() != y.len() {
                return Some(false);
            }
            let mut unknown = false;
            for (k, v) in x {
                match b.get(k) {
                    None => return Some(false),
                    Some(w) => match equals(v, w) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    },
                }
            }
            let _ = y;
            if unknown {
                None
            } else {
                Some(true)
            }
        }
        _ => Some(false),
    }
}

/// Compare two numbers exactly (no precision loss between large i64 and f64).
fn num_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Int(i), Value::Float(f)) => int_float_cmp(*i, *f),
        (Value::Float(f), Value::Int(i)) => int_float_cmp(*i, *f).map(Ordering::reverse),
        _ => None,
    }
}

fn int_float_cmp(i: i64, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    // i64 → f64 rounds above 2^53; compare via i128 when f is integral and in range.
    if f.fract() == 0.0 && (-9.3e18..=9.3e18).contains(&f) {
        return Some((i as i128).cmp(&(f as i128)));
    }
    (i as f64).partial_cmp(&f)
}

/// An instant in microseconds: datetimes, and numbers read as epoch seconds.
fn instant(v: &Value) -> Option<i128> {
    match v {
        Value::DateTime(us) => Some(*us as i128),
        Value::Int(s) => Some(*s as i128 * 1_000_000),
        Value::Float(s) if s.is_finite() => Some((s * 1_000_000.0) as i128),
        _ => None,
    }
}

/// Cypher ordering for `< <= > >=`: numbers, strings (code point), booleans, instants; else null.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => num_cmp(a, b),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::DateTime(_), _) | (_, Value::DateTime(_)) => Some(instant(a)?.cmp(&instant(b)?)),
        _ => None,
    }
}

/// Cypher `x IN list`.
pub fn is_in(x: &Value, list: &Value) -> Tri {
    let Value::List(items) = list else {
        return None;
    };
    let mut unknown = false;
    for item in items {
        match equals(x, item) {
            Some(true) => return Some(true),
            None => unknown = true,
            Some(false) => {}
        }
    }
    if unknown {
        None
    } else {
        Some(false)
    }
}

/// `CONTAINS`: substring on strings; membership when the left side is a list (DESIGN semantics 8).
pub fn contains(a: &Value, b: &Value) -> Tri {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Some(x.contains(&**y)),
        (Value::List(_), Value::Null) => None,
        (Value::List(_), _) => is_in(b, a),
        _ => None,
    }
}

pub fn starts_with(a: &Value, b: &Value) -> Tri {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Some(x.starts_with(&**y)),
        _ => None,
    }
}

pub fn ends_with(a: &Value, b: &Value) -> Tri {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Some(x.ends_with(&**y)),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn three_valued_equality() {
        assert_eq!(equals(&Value::Int(1), &Value::Float(1.0)), Some(true));
        assert_eq!(equals(&Value::Int(1), &Value::Str("1".into())), Some(false));
        assert_eq!(equals(&Value::Null, &Value::Null), None);
        assert_eq!(equals(&Value::List(vec![Value::Int(1), Value::Null]), &Value::List(vec![Value::Int(2), Value::Null])), Some(false));
        assert_eq!(equals(&Value::List(vec![Value::Int(1), Value::Null]), &Value::List(vec![Value::Int(1), Value::Null])), None);
    }

    #[test]
    fn ordering_and_big_numbers() {
        assert_eq!(compare(&Value::Int(i64::MAX), &Value::Float(9.223_372_036_854_776e18)), Some(Ordering::Less));
        assert_eq!(compare(&Value::Str("a".into()), &Value::Int(1)), None);
        assert_eq!(compare(&Value::Int(1_775_490_150), &Value::DateTime(1_775_490_149_000_000)), Some(Ordering::Greater));
    }

    #[test]
    fn in_and_contains() {
        let l = Value::List(vec![Value::Str("a".into()), Value::Null]);
        assert_eq!(is_in(&Value::Str("a".into()), &l), Some(true));
        assert_eq!(is_in(&Value::Str("b".into()), &l), None);
        assert_eq!(contains(&Value::Str("cars.read.all".into()), &Value::Str("cars.read".into())), Some(true));
        assert_eq!(contains(&Value::List(vec![Value::Str("cars.read.all".into())]), &Value::Str("cars.read".into())), Some(false));
    }
}
