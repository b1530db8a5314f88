//! AuthZEN 1.0 wire types: evaluation, evaluations (batch), search, metadata, and the
//! IndyKite extensions (`context.input_params`, `context.policy_tags`).

use crate::error::{Code, Error, Result};
use crate::eval::{Action, Decision, Entity, Request};
use serde_json::{Map, Value as Json};

/// Which members an entity must carry in a given request kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    TypeAndId,
    TypeOnly,
}

fn entity(v: Option<&Json>, key: &str, need: Need, code: Code) -> Result<Entity> {
    let o = match v {
        Some(Json::Object(o)) => o,
        Some(_) => return Err(Error::new(code, format!("`{key}` must be an object")).at_path(key)),
        None => return Err(Error::new(code, format!("`{key}` is required")).at_path(key)),
    };
    let ty = match o.get("type") {
        Some(Json::String(s)) if !s.is_empty() => s.clone(),
        Some(Json::String(_)) | None => return Err(Error::new(code, format!("`{key}.type` is required")).at_path(format!("{key}.type"))),
        Some(_) => return Err(Error::new(code, format!("`{key}.type` must be a string")).at_path(format!("{key}.type"))),
    };
    let id = match (o.get("id"), need) {
        (Some(Json::String(s)), Need::TypeAndId) if !s.is_empty() => s.clone(),
        (Some(Json::String(s)), Need::TypeOnly) => s.clone(),
        (None | Some(Json::Null), Need::TypeOnly) => String::new(),
        (Some(Json::String(_)) | None | Some(Json::Null), Need::TypeAndId) => {
            return Err(Error::new(code, format!("`{key}.id` is required")).at_path(format!("{key}.id")))
        }
        (Some(_), _) => return Err(Error::new(code, format!("`{key}.id` must be a string")).at_path(format!("{key}.id"))),
    };
    let mut properties = match o.get("properties") {
        None | Some(Json::Null) => Map::new(),
        Some(Json::Object(p)) => p.clone(),
        Some(_) => return Err(Error::new(code, format!("`{key}.properties` must be an object")).at_path(format!("{key}.properties"))),
    };
    // Draft-00 payloads put attributes beside type/id (`resource.ownerID`); explicit
    // `properties` win.
    for (k, v) in o {
        if !matches!(k.as_str(), "type" | "id" | "properties") && !properties.contains_key(k) {
            properties.insert(k.clone(), v.clone());
        }
    }
    Ok(Entity { ty, id, properties })
}

fn action(v: Option<&Json>, code: Code) -> Result<Action> {
    let o = match v {
        Some(Json::Object(o)) => o,
        Some(_) => return Err(Error::new(code, "`action` must be an object").at_path("action")),
        None => return Err(Error::new(code, "`action` is required").at_path("action")),
    };
    let name = match o.get("name") {
        Some(Json::String(s)) if !s.is_empty() => s.clone(),
        Some(Json::String(_)) | None => return Err(Error::new(code, "`action.name` is required").at_path("action.name")),
        Some(_) => return Err(Error::new(code, "`action.name` must be a string").at_path("action.name")),
    };
    let properties = match o.get("properties") {
        None | Some(Json::Null) => Map::new(),
        Some(Json::Object(p)) => p.clone(),
        Some(_) => return Err(Error::new(code, "`action.properties` must be an object").at_path("action.properties")),
    };
    Ok(Action { name, properties })
}

fn context(v: Option<&Json>, code: Code) -> Result<Map<String, Json>> {
    match v {
        None | Some(Json::Null) => Ok(Map::new()),
        Some(Json::Object(o)) => Ok(o.clone()),
        Some(_) => Err(Error::new(code, "`context` must be an object").at_path("context")),
    }
}

/// Parse the body of `/access/v1/evaluation`.
pub fn parse_evaluation(doc: &Json) -> Result<Request> {
    let o = doc.as_object().ok_or_else(|| Error::new(Code::RequestInvalid, "the request body must be a JSON object"))?;
    request_from(o)
}

fn request_from(o: &Map<String, Json>) -> Result<Request> {
    Ok(Request {
        subject: entity(o.get("subject"), "subject", Need::TypeAndId, Code::RequestInvalid)?,
        action: action(o.get("action"), Code::RequestInvalid)?,
        resource: entity(o.get("resource"), "resource", Need::TypeAndId, Code::RequestInvalid)?,
        context: context(o.get("context"), Code::RequestInvalid)?,
    })
}

/// Parse a JSON text with a size limit.
pub fn parse_json(text: &str, max: usize, what: &str) -> Result<Json> {
    if text.len() > max {
        return Err(Error::new(Code::InputTooLarge, format!("{what} of {} bytes exceeds the limit of {max} bytes", text.len())));
    }
    serde_json::from_str(text).map_err(|e| Error::from_json(&e, what))
}

/// The AuthZEN decision object: `{"decision": b, "context"?: {reason, reason_admin, advice}}`.
pub fn decision_json(d: &Decision) -> Json {
    let mut out = Map::new();
    let mut ctx = Map::new();
    if let Some(r) = &d.reason {
        ctx.insert("reason".into(), r.code.as_str().into());
        let mut admin = Map::new();
        admin.insert("en".into(), r.message.clone().into());
        ctx.insert("reason_admin".into(), Json::Object(admin));
    }
    if !d.decision && !d.advice.is_empty() {
        ctx.insert("advice".into(), Json::Array(d.advice.clone()));
    }
    if !ctx.is_empty() {
        out.insert("context".into(), Json::Object(ctx));
    }
    out.insert("decision".into(), d.decision.into());
    Json::Object(out)
}

/// The same decision as compact text, with a fast path for the common answers.
pub fn decision_text(d: &Decision) -> String {
    if d.reason.is_none() && d.advice.is_empty() {
        return if d.decision { r#"{"decision":true}"# } else { r#"{"decision":false}"# }.to_string();
    }
    decision_json(d).to_string()
}

/// `explain`: the decision plus which policy decided and the matching path.
pub fn explain_json(d: &Decision, policy_id: Option<&str>) -> Json {
    let mut out = decision_json(d);
    let mut ex = Map::new();
    if let Some(id) = policy_id {
        ex.insert("policy".into(), id.into());
    }
    if let Some(p) = &d.path {
        let nodes: Vec<Json> = p
            .nodes
            .iter()
            .map(|(var, ty, id)| {
                let mut m = Map::new();
                if let Some(v) = var {
                    m.insert("variable".into(), v.clone().into());
                }
                m.insert("type".into(), ty.clone().into());
                m.insert("id".into(), id.clone().into());
                Json::Object(m)
            })
            .collect();
        let rels: Vec<Json> = p
            .relationships
            .iter()
            .map(|((st, si), ty, (tt, ti))| {
                serde_json::json!({"source": {"type": st, "id": si}, "type": ty, "target": {"type": tt, "id": ti}})
            })
            .collect();
        ex.insert("nodes".into(), Json::Array(nodes));
        ex.insert("relationships".into(), Json::Array(rels));
    }
    if let Json::Object(o) = &mut out {
        o.insert("explain".into(), Json::Object(ex));
    }
    out
}

/// `options.evaluations_semantic`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Semantic {
    ExecuteAll,
    DenyOnFirstDeny,
    PermitOnFirstPermit,
}

/// A parsed `/access/v1/evaluations` body.
#[derive(Debug)]
pub enum Batch {
    /// No (or an empty) `evaluations` array: a single evaluation.
    Single(Result<Request>),
    /// Items in order; each either a request or the error that makes it `false`.
    Many(Semantic, Vec<Result<Request>>),
}

/// Parse a batch: top-level subject/action/resource/context are defaults that an item's own
/// key replaces whole.
pub fn parse_evaluations(doc: &Json, max_items: usize) -> Result<Batch> {
    let o = doc.as_object().ok_or_else(|| Error::new(Code::RequestInvalid, "the request body must be a JSON object"))?;
    let semantic = match o.get("options").and_then(|x| x.get("evaluations_semantic")) {
        None | Some(Json::Null) => Semantic::ExecuteAll,
        Some(Json::String(s)) => match s.as_str() {
            "execute_all" => Semantic::ExecuteAll,
            "deny_on_first_deny" => Semantic::DenyOnFirstDeny,
            "permit_on_first_permit" => Semantic::PermitOnFirstPermit,
            other => {
                return Err(Error::new(
                    Code::EvaluationsSemantic,
                    format!("`{other}` is not execute_all, deny_on_first_deny or permit_on_first_permit"),
                )
                .at_path("options.evaluations_semantic"))
            }
        },
        Some(_) => return Err(Error::new(Code::EvaluationsSemantic, "`evaluations_semantic` must be a string").at_path("options.evaluations_semantic")),
    };
    if let Some(opts) = o.get("options") {
        if !opts.is_object() && !opts.is_null() {
            return Err(Error::new(Code::RequestInvalid, "`options` must be an object").at_path("options"));
        }
    }
    let items = match o.get("evaluations") {
        None | Some(Json::Null) => return Ok(Batch::Single(request_from(o))),
        Some(Json::Array(a)) if a.is_empty() => return Ok(Batch::Single(request_from(o))),
        Some(Json::Array(a)) => a,
        Some(_) => return Err(Error::new(Code::RequestInvalid, "`evaluations` must be an array").at_path("evaluations")),
    };
    if items.len() > max_items {
        return Err(Error::new(Code::InputTooLarge, format!("{} evaluations exceed the limit of {max_items}", items.len())).at_path("evaluations"));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let r = match item.as_object() {
            None => Err(Error::new(Code::RequestInvalid, "an evaluation must be an object")),
            Some(it) => {
                let mut merged = Map::new();
                for key in ["subject", "action", "resource", "context"] {
                    if let Some(v) = it.get(key).or_else(|| o.get(key)) {
                        merged.insert(key.to_string(), v.clone());
                    }
                }
                request_from(&merged)
            }
        };
        out.push(r.map_err(|e| e.under(&format!("evaluations[{i}]"))));
    }
    Ok(Batch::Many(semantic, out))
}

/// The kinds of search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchKind {
    Subject,
    Resource,
    Action,
}

/// A parsed search body.
#[derive(Debug)]
pub struct SearchRequest {
    pub request: Request,
    pub page: Option<Page>,
}

/// The request `page` object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub token: Option<String>,
    pub limit: Option<usize>,
}

/// Parse a search body. The searched entity's `id` is ignored; the others need ids.
pub fn parse_search(doc: &Json, kind: SearchKind) -> Result<SearchRequest> {
    let o = doc.as_object().ok_or_else(|| Error::new(Code::SearchInvalid, "the request body must be a JSON object"))?;
    let c = Code::SearchInvalid;
    let (sn, rn) = match kind {
        SearchKind::Subject => (Need::TypeOnly, Need::TypeAndId),
        SearchKind::Resource => (Need::TypeAndId, Need::TypeOnly),
        SearchKind::Action => (Need::TypeAndId, Need::TypeAndId),
    };
    let mut subject = entity(o.get("subject"), "subject", sn, c)?;
    let mut resource = entity(o.get("resource"), "resource", rn, c)?;
    match kind {
        SearchKind::Subject => subject.id.clear(),
        SearchKind::Resource => resource.id.clear(),
        SearchKind::Action => {}
    }
    let action = match kind {
        SearchKind::Action => Action::default(),
        _ => action(o.get("action"), c)?,
    };
    let page = match o.get("page") {
        None | Some(Json::Null) => None,
        Some(Json::Object(p)) => {
            let token = match p.get("token").or_else(|| p.get("next_token")) {
                None | Some(Json::Null) => None,
                Some(Json::String(s)) if s.is_empty() => None,
                Some(Json::String(s)) => Some(s.clone()),
                Some(_) => return Err(Error::new(Code::SearchPageToken, "`page.token` must be a string").at_path("page.token")),
            };
            let limit = match p.get("limit") {
                None | Some(Json::Null) => None,
                Some(Json::Number(n)) => match n.as_u64() {
                    Some(l) => Some(usize::try_from(l).unwrap_or(usize::MAX)),
                    None => return Err(Error::new(Code::SearchLimit, "`page.limit` must be a non-negative integer").at_path("page.limit")),
                },
                Some(_) => return Err(Error::new(Code::SearchLimit, "`page.limit` must be a non-negative integer").at_path("page.limit")),
            };
            Some(Page { token, limit })
        }
        Some(_) => return Err(Error::new(Code::SearchInvalid, "`page` must be an object").at_path("page")),
    };
    Ok(SearchRequest { request: Request { subject, action, resource, context: context(o.get("context"), c)? }, page })
}

/// Fingerprint of everything a follow-up page request must repeat unchanged.
fn query_hash(kind: SearchKind, req: &Request, limit: Option<usize>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    (kind as u8).hash(&mut h);
    req.subject.ty.hash(&mut h);
    req.subject.id.hash(&mut h);
    req.action.name.hash(&mut h);
    req.resource.ty.hash(&mut h);
    req.resource.id.hash(&mut h);
    Json::Object(req.context.clone()).to_string().hash(&mut h);
    limit.hash(&mut h);
    h.finish()
}

/// One search result. Entities keep the member order `{"type","id"}` on the wire: the
/// official interop runner compares JSON text.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum SearchResult {
    Entity {
        #[serde(rename = "type")]
        ty: String,
        id: String,
    },
    Action {
        name: String,
    },
}

/// `page` of a search answer.
#[derive(Debug, serde::Serialize)]
pub struct PageOut {
    pub next_token: String,
    pub count: usize,
    pub total: usize,
}

/// A search answer: `page` only when the request asked for one.
#[derive(Debug, serde::Serialize)]
pub struct SearchAnswer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<PageOut>,
    pub results: Vec<SearchResult>,
}

/// Apply pagination to a complete, stably ordered result list. Tokens are opaque and bound to
/// the snapshot version and the query.
pub fn paginate(kind: SearchKind, sr: &SearchRequest, version: u64, results: Vec<SearchResult>) -> Result<SearchAnswer> {
    let total = results.len();
    let Some(page) = &sr.page else {
        return Ok(SearchAnswer { page: None, results });
    };
    let qh = query_hash(kind, &sr.request, page.limit);
    let offset = match &page.token {
        None => 0,
        Some(t) => {
            let (v, q, off) = decode_token(t).ok_or_else(|| Error::new(Code::SearchPageToken, "the page token is not one this PDP issued").at_path("page.token"))?;
            if v != version {
                return Err(Error::new(Code::SearchPageToken, "the page token belongs to an older snapshot; start the search again").at_path("page.token"));
            }
            if q != qh {
                return Err(Error::new(Code::SearchPageToken, "the page token was issued for a different query").at_path("page.token"));
            }
            off
        }
    };
    let limit = page.limit.unwrap_or(usize::MAX);
    let slice: Vec<SearchResult> = results.into_iter().skip(offset).take(limit).collect();
    let next = offset.saturating_add(slice.len());
    let next_token = if next < total && limit > 0 { encode_token(version, qh, next) } else { String::new() };
    Ok(SearchAnswer { page: Some(PageOut { next_token, count: slice.len(), total }), results: slice })
}

fn encode_token(version: u64, query: u64, offset: usize) -> String {
    format!("k1.{version:x}.{query:x}.{offset:x}")
}

fn decode_token(t: &str) -> Option<(u64, u64, usize)> {
    let mut parts = t.split('.');
    if parts.next()? != "k1" {
        return None;
    }
    let v = u64::from_str_radix(parts.next()?, 16).ok()?;
    let q = u64::from_str_radix(parts.next()?, 16).ok()?;
    let o = usize::from_str_radix(parts.next()?, 16).ok()?;
    parts.next().is_none().then_some((v, q, o))
}

/// `/.well-known/authzen-configuration` for a PDP served at `base_url`.
pub fn metadata(base_url: &str) -> Json {
    let base = base_url.trim_end_matches('/');
    serde_json::json!({
        "policy_decision_point": base,
        "access_evaluation_endpoint": format!("{base}/access/v1/evaluation"),
        "access_evaluations_endpoint": format!("{base}/access/v1/evaluations"),
        "search_subject_endpoint": format!("{base}/access/v1/search/subject"),
        "search_resource_endpoint": format!("{base}/access/v1/search/resource"),
        "search_action_endpoint": format!("{base}/access/v1/search/action"),
    })
}
