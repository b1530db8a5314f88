//! KBAC policies: the policy JSON (`2.0-kbac`, `1.0-indykite`, `3.0-kbac`), Config API
//! records, validation, and compilation into a plan reused by every request.

pub mod compile;
pub mod plan;

use crate::cypher::{self, ParseLimits};
use crate::engine::EngineConfig;
use crate::error::{Code, Error, Result};
use crate::graph::{Interner, Sym};
pub use compile::CompileCtx;
pub use plan::{CExpr, ParamRef, Plan};
use serde_json::{Map, Value as Json};

/// Policy dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `1.0-indykite` (legacy KBAC).
    V1Indykite,
    /// `2.0-kbac`: the subject must be an identity node.
    V2Kbac,
    /// `3.0-kbac` (without `USE`/`CALL`).
    V3Kbac,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1Indykite => "1.0-indykite",
            Version::V2Kbac => "2.0-kbac",
            Version::V3Kbac => "3.0-kbac",
        }
    }
}

/// Record status: only ACTIVE policies take part in decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Active,
    Inactive,
    Draft,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "ACTIVE",
            Status::Inactive => "INACTIVE",
            Status::Draft => "DRAFT",
        }
    }
}

/// A compiled policy.
#[derive(Clone, Debug)]
pub struct Policy {
    pub id: String,
    pub name: Option<String>,
    pub status: Status,
    pub tags: Vec<String>,
    pub version: Version,
    pub subject_type: String,
    pub subject_sym: Sym,
    pub resource_type: String,
    pub resource_sym: Sym,
    pub actions: Vec<String>,
    pub cypher: String,
    pub plan: Plan,
    pub filter: Option<CExpr>,
    /// Advice maps of filter leaves, verbatim.
    pub advice: Vec<Json>,
    /// Input parameters (`$name`) the policy reads: a request lacking one is refused.
    pub input_params: Vec<String>,
    pub warnings: Vec<String>,
    /// The policy JSON as given (for export and the demo's policy panel).
    pub source: Json,
}

/// A DRAFT record that is kept but never compiled (drafts may be invalid).
#[derive(Clone, Debug)]
pub struct Draft {
    pub id: String,
    pub source: Json,
}

/// Result of loading a policy document.
#[derive(Clone, Debug, Default)]
pub struct PolicySet {
    pub policies: Vec<Policy>,
    pub drafts: Vec<Draft>,
}

/// Parse a policy document: one policy, one record, an array of either, or an object with
/// a `policies`, `data` or `results` array. Any invalid non-draft policy rejects the whole set.
pub fn load_policies(json: &str, config: &EngineConfig, strings: &mut Interner) -> Result<PolicySet> {
    let limits = &config.limits;
    if json.len() > limits.max_policy_bytes.saturating_mul(limits.max_policies.max(1)).min(64 << 20) {
        return Err(Error::new(Code::InputTooLarge, format!("policy document of {} bytes is too large", json.len())));
    }
    let doc: Json = serde_json::from_str(json).map_err(|e| Error::from_json(&e, "policy document"))?;
    load_policy_value(&doc, config, strings)
}

/// Same as [`load_policies`] for a parsed document.
pub fn load_policy_value(doc: &Json, config: &EngineConfig, strings: &mut Interner) -> Result<PolicySet> {
    let (items, base): (Vec<&Json>, &str) = match doc {
        Json::Array(a) => (a.iter().collect(), ""),
        Json::Object(o) => match ["policies", "data", "results"].iter().find_map(|k| o.get(*k).and_then(Json::as_array).map(|a| (a, *k))) {
            Some((a, k)) => (a.iter().collect(), k),
            None => (vec![doc], "<single>"),
        },
        _ => return Err(Error::new(Code::PolicyInvalid, "a policy document must be an object or an array")),
    };
    if items.len() > config.limits.max_policies {
        return Err(Error::new(Code::PolicyTooMany, format!("{} policies exceed the limit of {}", items.len(), config.limits.max_policies)));
    }
    let mut set = PolicySet::default();
    for (i, item) in items.into_iter().enumerate() {
        let path = if base == "<single>" { String::new() } else { format!("{base}[{i}]") };
        let record = parse_record(item, i, config, strings).map_err(|e| if path.is_empty() { e } else { e.under(&path) })?;
        let id = match &record {
            Loaded::Policy(p) => p.id.clone(),
            Loaded::Draft(d) => d.id.clone(),
        };
        if set.policies.iter().any(|p| p.id == id) || set.drafts.iter().any(|d| d.id == id) {
            return Err(Error::new(Code::PolicyDuplicateId, format!("two policies have the id `{id}`")).at_path(path));
        }
        match record {
            Loaded::Policy(p) => set.policies.push(*p),
            Loaded::Draft(d) => set.drafts.push(d),
        }
    }
    Ok(set)
}

enum Loaded {
    Policy(Box<Policy>),
    Draft(Draft),
}

fn parse_record(item: &Json, index: usize, config: &EngineConfig, strings: &mut Interner) -> Result<Loaded> {
    let o = item.as_object().ok_or_else(|| Error::new(Code::PolicyInvalid, "a policy must be a JSON object"))?;
    // A record wraps the policy (object or Config-API string) with id/name/status/tags.
    let (policy_json, id, name, status, tags, policy_path) = if let Some(p) = o.get("policy") {
        let policy_json: Json = match p {
            Json::String(s) => {
                if s.len() > config.limits.max_policy_bytes {
                    return Err(Error::new(Code::PolicyTooLarge, format!("policy text of {} bytes exceeds {}", s.len(), config.limits.max_policy_bytes)).at_path("policy"));
                }
                serde_json::from_str(s).map_err(|e| Error::from_json(&e, "policy string").at_path("policy"))?
            }
            Json::Object(_) => p.clone(),
            _ => return Err(Error::new(Code::PolicyInvalid, "`policy` must be an object or a JSON string").at_path("policy")),
        };
        let id = str_member(o, "id").or_else(|| str_member(o, "name")).unwrap_or_else(|| format!("policy-{index}"));
        let name = str_member(o, "name").or_else(|| str_member(o, "display_name"));
        let status = match o.get("status") {
            None | Some(Json::Null) => Status::Active,
            Some(Json::String(s)) => match s.to_ascii_uppercase().as_str() {
                "ACTIVE" => Status::Active,
                "INACTIVE" => Status::Inactive,
                "DRAFT" => Status::Draft,
                _ => return Err(Error::new(Code::PolicyInvalid, format!("status `{s}` is not ACTIVE, INACTIVE or DRAFT")).at_path("status")),
            },
            Some(_) => return Err(Error::new(Code::PolicyInvalid, "`status` must be a string").at_path("status")),
        };
        let tags = match o.get("tags") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, t)| t.as_str().map(str::to_string).ok_or_else(|| Error::new(Code::PolicyInvalid, "tags must be strings").at_path(format!("tags[{i}]"))))
                .collect::<Result<_>>()?,
            Some(_) => return Err(Error::new(Code::PolicyInvalid, "`tags` must be an array").at_path("tags")),
        };
        (policy_json, id, name, status, tags, "policy")
    } else {
        (item.clone(), format!("policy-{index}"), None, Status::Active, Vec::new(), "")
    };
    if !matches!(item.get("policy"), Some(Json::String(_))) {
        // Policies given as objects obey the same size limit as Config-API strings, measured
        // as compact JSON text.
        let size = policy_json.to_string().len();
        if size > config.limits.max_policy_bytes {
            let e = Error::new(Code::PolicyTooLarge, format!("policy of {size} bytes (as compact JSON) exceeds {}", config.limits.max_policy_bytes));
            return Err(if policy_path.is_empty() { e } else { e.at_path(policy_path) });
        }
    }
    if status == Status::Draft {
        return Ok(Loaded::Draft(Draft { id, source: policy_json }));
    }
    let under = |e: Error| if policy_path.is_empty() { e } else { e.under(policy_path) };
    compile_policy(&policy_json, id, name, status, tags, config, strings).map(|p| Loaded::Policy(Box::new(p))).map_err(under)
}

fn str_member(o: &Map<String, Json>, key: &str) -> Option<String> {
    o.get(key).and_then(Json::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

fn type_name(o: &Map<String, Json>, key: &str) -> Result<String> {
    let t = o
        .get(key)
        .and_then(Json::as_object)
        .and_then(|x| x.get("type"))
        .ok_or_else(|| Error::new(Code::PolicyInvalid, format!("`{key}.type` is required")).at_path(format!("{key}.type")))?;
    match t.as_str() {
        Some(s) if !s.is_empty() && s.chars().count() <= 64 => Ok(s.to_string()),
        _ => Err(Error::new(Code::PolicyInvalid, format!("`{key}.type` must be a non-empty string of at most 64 characters")).at_path(format!("{key}.type"))),
    }
}

/// Validate and compile one policy JSON object.
pub fn compile_policy(
    v: &Json,
    id: String,
    name: Option<String>,
    status: Status,
    tags: Vec<String>,
    config: &EngineConfig,
    strings: &mut Interner,
) -> Result<Policy> {
    let o = v.as_object().ok_or_else(|| Error::new(Code::PolicyInvalid, "a policy must be a JSON object"))?;
    let meta = o.get("meta").and_then(Json::as_object);
    let version_text = meta
        .and_then(|m| m.get("policy_version").or_else(|| m.get("policyVersion")))
        .and_then(Json::as_str)
        .ok_or_else(|| Error::new(Code::PolicyVersionMissing, "`meta.policy_version` is required").at_path("meta.policy_version"))?;
    let version = match version_text {
        "2.0-kbac" => Version::V2Kbac,
        "1.0-indykite" => Version::V1Indykite,
        "3.0-kbac" => Version::V3Kbac,
        "1.0-ciq" => {
            return Err(Error::new(
                Code::PolicyNotAuthorization,
                "`1.0-ciq` is a ContX IQ data-access policy, not an authorization policy",
            )
            .at_path("meta.policy_version"))
        }
        other => {
            return Err(Error::new(
                Code::PolicyVersionUnsupported,
                format!("policy version `{other}` is not supported (use 2.0-kbac, 1.0-indykite or 3.0-kbac)"),
            )
            .at_path("meta.policy_version"))
        }
    };
    let subject_type = type_name(o, "subject")?;
    let resource_type = type_name(o, "resource")?;
    let actions: Vec<String> = match o.get("actions") {
        Some(Json::Array(a)) if !a.is_empty() => a
            .iter()
            .enumerate()
            .map(|(i, x)| match x.as_str() {
                Some(s) if !s.is_empty() && !s.contains(char::is_whitespace) => Ok(s.to_string()),
                _ => Err(Error::new(Code::PolicyInvalid, "an action must be a non-empty string without spaces").at_path(format!("actions[{i}]"))),
            })
            .collect::<Result<_>>()?,
        _ => return Err(Error::new(Code::PolicyInvalid, "`actions` must be a non-empty array of strings").at_path("actions")),
    };
    let condition = o
        .get("condition")
        .and_then(Json::as_object)
        .ok_or_else(|| Error::new(Code::PolicyMissingCondition, "`condition.cypher` is required").at_path("condition"))?;
    let cypher_text = match condition.get("cypher") {
        Some(Json::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => return Err(Error::new(Code::PolicyMissingCondition, "`condition.cypher` is required").at_path("condition.cypher")),
    };
    let limits = ParseLimits { max_len: config.limits.max_cypher_len, max_depth: config.limits.max_expr_depth };
    let query = cypher::parse(&cypher_text, &limits).map_err(|e| e.at_path("condition.cypher"))?;
    let mut warnings = Vec::new();
    let mut advice = Vec::new();
    let (plan, filter) = {
        let mut cx = CompileCtx {
            strings,
            subject_type: &subject_type,
            resource_type: &resource_type,
            max_path_length: config.max_path_length,
            max_in_list: config.limits.max_in_list,
            max_filter_depth: config.limits.max_filter_depth,
            warnings: &mut warnings,
        };
        let plan = compile::compile_query(&query, &mut cx).map_err(|e| e.at_path("condition.cypher"))?;
        let filter = match condition.get("filter") {
            None => None,
            Some(f) => compile::compile_filter(f, "condition.filter", 0, &cx, &mut advice)?,
        };
        (plan, filter)
    };
    let mut params = Vec::new();
    for p in &plan.preds {
        p.params(&mut params);
    }
    for s in &plan.slots {
        for (_, e) in &s.props {
            e.params(&mut params);
        }
    }
    if let Some(f) = &filter {
        f.params(&mut params);
    }
    let mut input_params: Vec<String> = Vec::new();
    for p in params {
        if let ParamRef::Input(n, _) = p {
            if !input_params.iter().any(|x| x == &**n) {
                input_params.push(n.to_string());
            }
        }
        if let ParamRef::Token(path) = p {
            if path.first().is_some_and(|s| &**s == "scope") {
                warnings.push("`CONTAINS` on `$token.scope` is a substring test; prefer `$auth.scopes CONTAINS '…'`".into());
            }
        }
    }
    let subject_sym = strings.intern(&subject_type);
    let resource_sym = strings.intern(&resource_type);
    Ok(Policy {
        id,
        name,
        status,
        tags,
        version,
        subject_type,
        subject_sym,
        resource_type,
        resource_sym,
        actions,
        cypher: cypher_text,
        plan,
        filter,
        advice,
        input_params,
        warnings,
        source: v.clone(),
    })
}
