//! Step-up: turn a deny's advice into what a client needs to authenticate more strongly,
//! and render it as an RFC 9470 (`insufficient_user_authentication`) or RFC 6750
//! (`insufficient_scope`) `WWW-Authenticate` challenge. Also the assurance-level hierarchy.

use serde_json::Value;

const STEP_UP_ERROR: &str = "insufficient_user_authentication";
const SCOPE_ERROR: &str = "insufficient_scope";

/// Ordered `acr` values, weakest first (e.g. `pwd < otp < mfa < phr`): a stronger level
/// satisfies a weaker requirement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssuranceLevels {
    levels: Vec<String>,
}

impl AssuranceLevels {
    /// A hierarchy from weakest to strongest; a repeated value keeps its first position.
    pub fn new(levels: Vec<String>) -> AssuranceLevels {
        let mut unique: Vec<String> = Vec::with_capacity(levels.len());
        for level in levels {
            if !unique.contains(&level) {
                unique.push(level);
            }
        }
        AssuranceLevels { levels: unique }
    }

    /// The levels, weakest first.
    pub fn levels(&self) -> &[String] {
        &self.levels
    }

    /// Position of `acr` in the hierarchy (0 = weakest), `None` when it is not part of it.
    pub fn level_of(&self, acr: &str) -> Option<usize> {
        self.levels.iter().position(|l| l == acr)
    }

    /// The values that satisfy `required`, in preference order: `required` first, then every
    /// stronger one. A value outside the hierarchy is only satisfied by itself.
    pub fn at_least(&self, required: &str) -> Vec<String> {
        match self.level_of(required) {
            Some(index) => self.levels.iter().skip(index).cloned().collect(),
            None => vec![required.to_string()],
        }
    }

    /// True when a token authenticated at `acr` meets `required`.
    pub fn satisfies(&self, acr: &str, required: &str) -> bool {
        if acr == required {
            return true;
        }
        match (self.level_of(acr), self.level_of(required)) {
            (Some(have), Some(need)) => have >= need,
            _ => false,
        }
    }
}

/// What a denied caller must do to pass: the merged step-up advice of a deny.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepUp {
    /// Acceptable `acr` values, in preference order (may be empty when only `max_age` is asked).
    pub acr_values: Vec<String>,
    /// Maximum seconds since the last active authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    /// Authentication factors (`amr` values) asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub factors: Option<Vec<String>>,
    /// The first `error_description` given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn error_of(advice: &Value) -> Option<&str> {
    advice.get("error").and_then(Value::as_str)
}

/// Add the words of a member (space-separated string, or a list of strings) to `out`,
/// skipping ones already there so merged advice keeps first-seen order.
fn push_words(out: &mut Vec<String>, member: Option<&Value>) {
    let mut push = |word: &str| {
        if !word.is_empty() && !out.iter().any(|w| w == word) {
            out.push(word.to_string());
        }
    };
    match member {
        Some(Value::String(s)) => s.split_whitespace().for_each(&mut push),
        Some(Value::Array(items)) => {
            items.iter().filter_map(Value::as_str).flat_map(str::split_whitespace).for_each(&mut push);
        }
        _ => {}
    }
}

/// `max_age` as policies write it: a string (advice maps are string→string) or a number;
/// anything that is not a non-negative integer is ignored rather than guessed at.
fn max_age_of(member: Option<&Value>) -> Option<u64> {
    match member? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// From the advice list of a deny: `Some` when any advice has
/// `error = insufficient_user_authentication`, merging all of them (acr values and factors
/// de-duplicated in order, the smallest `max_age`, the first `error_description`).
pub fn step_up_from_advice(advice: &[Value]) -> Option<StepUp> {
    let mut found = false;
    let mut acr_values = Vec::new();
    let mut factors = Vec::new();
    let mut max_age: Option<u64> = None;
    let mut description = None;
    for item in advice.iter().filter(|a| error_of(a) == Some(STEP_UP_ERROR)) {
        found = true;
        push_words(&mut acr_values, item.get("acr_values"));
        push_words(&mut factors, item.get("factors"));
        push_words(&mut factors, item.get("amr_values"));
        if let Some(age) = max_age_of(item.get("max_age")) {
            max_age = Some(max_age.map_or(age, |m| m.min(age)));
        }
        if description.is_none() {
            description = item.get("error_description").and_then(Value::as_str).map(str::to_string);
        }
    }
    found.then(|| StepUp { acr_values, max_age, factors: (!factors.is_empty()).then_some(factors), description })
}

/// An RFC 9110 quoted-string: `"` and `\` backslash-escaped, control characters dropped.
/// Non-ASCII characters become `?`: RFC 6750 §3 limits these values to printable ASCII, and
/// the Fetch `Headers` class (edge workers) throws on characters above U+00FF.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c if !c.is_ascii() => out.push('?'),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The `WWW-Authenticate` value for a deny's advice, or `None` when no advice asks for
/// step-up or scope.
///
/// Step-up (RFC 9470): `Bearer error="insufficient_user_authentication",
/// error_description="…", acr_values="…", max_age=N`; scope only (RFC 6750):
/// `Bearer error="insufficient_scope", error_description="…", scope="a b"`. When both are
/// asked, the step-up challenge wins and carries `scope` too (RFC 9470 §3). Absent members
/// are omitted; `realm`, when given, comes first.
pub fn challenge(advice: &[Value], realm: Option<&str>) -> Option<String> {
    let step_up = step_up_from_advice(advice);
    let scope_advice: Vec<&Value> = advice.iter().filter(|a| error_of(a) == Some(SCOPE_ERROR)).collect();
    if step_up.is_none() && scope_advice.is_empty() {
        return None;
    }
    let mut scopes = Vec::new();
    for item in &scope_advice {
        push_words(&mut scopes, item.get("scope"));
    }

    let mut params: Vec<String> = Vec::new();
    if let Some(realm) = realm {
        params.push(format!("realm={}", quoted(realm)));
    }
    match &step_up {
        Some(s) => {
            params.push(format!("error={}", quoted(STEP_UP_ERROR)));
            if let Some(d) = &s.description {
                params.push(format!("error_description={}", quoted(d)));
            }
            if !s.acr_values.is_empty() {
                params.push(format!("acr_values={}", quoted(&s.acr_values.join(" "))));
            }
            if let Some(age) = s.max_age {
                params.push(format!("max_age={age}"));
            }
        }
        None => {
            params.push(format!("error={}", quoted(SCOPE_ERROR)));
            let description = scope_advice.iter().find_map(|a| a.get("error_description").and_then(Value::as_str));
            if let Some(d) = description {
                params.push(format!("error_description={}", quoted(d)));
            }
        }
    }
    if !scopes.is_empty() {
        params.push(format!("scope={}", quoted(&scopes.join(" "))));
    }
    Some(format!("Bearer {}", params.join(", ")))
}

/// The `WWW-Authenticate` value for an AuthZEN decision as JSON text (what `evaluate_json`
/// answers), or `None` when it is a permit, carries no step-up or scope advice, or is not a
/// decision at all (an error object, invalid JSON). For the JS and edge-worker layers.
pub fn challenge_for_decision_json(decision_json: &str, realm: Option<&str>) -> Option<String> {
    let decision: Value = serde_json::from_str(decision_json).ok()?;
    if decision.get("decision")?.as_bool()? {
        return None;
    }
    let advice = decision.get("context")?.get("advice")?.as_array()?;
    challenge(advice, realm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quoting_escapes_and_strips() {
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quoted("x\r\ny\u{7f}"), r#""xy""#);
        assert_eq!(quoted("Zürich"), r#""Z?rich""#);
    }

    #[test]
    fn max_age_forms() {
        assert_eq!(max_age_of(Some(&json!("300"))), Some(300));
        assert_eq!(max_age_of(Some(&json!(300))), Some(300));
        assert_eq!(max_age_of(Some(&json!(-1))), None);
        assert_eq!(max_age_of(Some(&json!("soon"))), None);
        assert_eq!(max_age_of(None), None);
    }

    #[test]
    fn satisfies_uses_the_hierarchy() {
        let levels = AssuranceLevels::new(["pwd", "otp", "mfa"].map(String::from).to_vec());
        assert!(levels.satisfies("mfa", "otp"));
        assert!(!levels.satisfies("pwd", "otp"));
        assert!(levels.satisfies("custom", "custom"));
        assert!(!levels.satisfies("custom", "pwd"));
    }
}
