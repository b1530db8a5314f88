//! Capture API batches (nodes, relationships, deletes) → a validated [`Batch`].
//!
//! Parsing walks a `serde_json::Value` so every error can name the exact item
//! (`nodes[3].external_id`); a batch with any error is rejected whole.

use crate::engine::Limits;
use crate::error::{Code, Error, Result};
use crate::value::Value;
use serde_json::{Map, Value as Json};

/// Which Capture endpoint a batch came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchKind {
    /// `nodes` and/or `relationships` keys (`loadGraph`).
    Upsert,
    UpsertNodes,
    UpsertRelationships,
    DeleteNodes,
    DeleteRelationships,
    DeleteNodeProperties,
}

#[derive(Clone, Debug)]
pub struct PropIn {
    pub name: String,
    pub value: Value,
    pub metadata: Option<Value>,
}

#[derive(Clone, Debug)]
pub struct NodeIn {
    pub ext: String,
    pub ty: String,
    pub identity: bool,
    pub labels: Vec<String>,
    pub props: Vec<PropIn>,
}

#[derive(Clone, Debug)]
pub struct RelIn {
    /// `(external_id, type)`
    pub source: (String, String),
    pub target: (String, String),
    pub ty: String,
    pub props: Vec<PropIn>,
}

/// A parsed, shape-checked batch.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub upsert_nodes: Vec<NodeIn>,
    pub upsert_rels: Vec<RelIn>,
    /// `(external_id, type)`
    pub delete_nodes: Vec<(String, String)>,
    pub delete_rels: Vec<RelIn>,
    /// `(external_id, type, property names)`
    pub delete_props: Vec<(String, String, Vec<String>)>,
    /// Key the relationships came under, for error paths.
    pub rel_key: &'static str,
}

const MAX_ID: usize = 256;
const MAX_TYPE: usize = 64;
const MAX_NAME: usize = 128;

/// Parse and shape-check a batch document.
pub fn parse_batch(json: &str, kind: BatchKind, limits: &Limits) -> Result<Batch> {
    if json.len() > limits.max_batch_bytes {
        return Err(Error::new(
            Code::InputTooLarge,
            format!("batch of {} bytes exceeds the limit of {} bytes", json.len(), limits.max_batch_bytes),
        ));
    }
    let doc: Json = serde_json::from_str(json).map_err(|e| Error::from_json(&e, "graph batch"))?;
    parse_batch_value(&doc, kind, limits)
}

/// Same as [`parse_batch`] for an already parsed document.
pub fn parse_batch_value(doc: &Json, kind: BatchKind, limits: &Limits) -> Result<Batch> {
    let obj = doc
        .as_object()
        .ok_or_else(|| Error::new(Code::GraphBatchInvalid, "a graph batch must be a JSON object"))?;
    let mut batch = Batch { rel_key: "relationships", ..Batch::default() };
    let nodes = obj.get("nodes");
    let rels = obj.get("relationships");
    let count = nodes.and_then(Json::as_array).map_or(0, Vec::len) + rels.and_then(Json::as_array).map_or(0, Vec::len);
    if count > limits.max_batch_items {
        return Err(Error::new(
            Code::GraphBatchTooLarge,
            format!("batch has {count} items, more than the limit of {}", limits.max_batch_items),
        ));
    }
    let want_nodes = matches!(kind, BatchKind::Upsert | BatchKind::UpsertNodes | BatchKind::DeleteNodes | BatchKind::DeleteNodeProperties);
    let want_rels = matches!(kind, BatchKind::Upsert | BatchKind::UpsertRelationships | BatchKind::DeleteRelationships);
    if nodes.is_none() && rels.is_none() {
        let expected = match (want_nodes, want_rels) {
            (true, true) => "`nodes` or `relationships`",
            (true, false) => "`nodes`",
            _ => "`relationships`",
        };
        return Err(Error::new(Code::GraphBatchInvalid, format!("a graph batch needs {expected}")));
    }
    if let Some(n) = nodes {
        if !want_nodes {
            return Err(Error::new(Code::GraphBatchInvalid, "this call takes `relationships`, not `nodes`").at_path("nodes"));
        }
        let items = array(n, "nodes")?;
        for (i, item) in items.iter().enumerate() {
            let path = format!("nodes[{i}]");
            let o = object(item, &path)?;
            match kind {
                BatchKind::DeleteNodes => batch.delete_nodes.push(node_ref(o, &path)?),
                BatchKind::DeleteNodeProperties => {
                    let (ext, ty) = node_ref(o, &path)?;
                    let names = string_list(o.get("property_types"), &format!("{path}.property_types"))?;
                    batch.delete_props.push((ext, ty, names));
                }
                _ => batch.upsert_nodes.push(node_in(o, &path)?),
            }
        }
    }
    if let Some(r) = rels {
        if !want_rels {
            return Err(Error::new(Code::GraphBatchInvalid, "this call takes `nodes`, not `relationships`").at_path("relationships"));
        }
        let items = array(r, "relationships")?;
        for (i, item) in items.iter().enumerate() {
            let path = format!("relationships[{i}]");
            let rel = rel_in(object(item, &path)?, &path, kind == BatchKind::DeleteRelationships)?;
            if kind == BatchKind::DeleteRelationships {
                batch.delete_rels.push(rel);
            } else {
                batch.upsert_rels.push(rel);
            }
        }
    }
    Ok(batch)
}

fn array<'a>(v: &'a Json, path: &str) -> Result<&'a Vec<Json>> {
    v.as_array().ok_or_else(|| Error::new(Code::GraphBatchInvalid, "expected an array").at_path(path))
}

fn object<'a>(v: &'a Json, path: &str) -> Result<&'a Map<String, Json>> {
    v.as_object().ok_or_else(|| Error::new(Code::GraphBatchInvalid, "expected an object").at_path(path))
}

fn text(o: &Map<String, Json>, key: &str, path: &str, max: usize, empty_code: Code) -> Result<String> {
    let p = format!("{path}.{key}");
    match o.get(key) {
        None | Some(Json::Null) => Err(Error::new(empty_code, format!("`{key}` is required")).at_path(p)),
        Some(Json::String(s)) => {
            if s.is_empty() {
                Err(Error::new(empty_code, format!("`{key}` must not be empty")).at_path(p))
            } else if s.chars().count() > max {
                Err(Error::new(empty_code, format!("`{key}` is longer than {max} characters")).at_path(p))
            } else {
                Ok(s.clone())
            }
        }
        Some(_) => Err(Error::new(Code::GraphBatchInvalid, format!("`{key}` must be a string")).at_path(p)),
    }
}

fn node_ref(o: &Map<String, Json>, path: &str) -> Result<(String, String)> {
    Ok((text(o, "external_id", path, MAX_ID, Code::GraphEmptyId)?, text(o, "type", path, MAX_TYPE, Code::GraphInvalidType)?))
}

fn string_list(v: Option<&Json>, path: &str) -> Result<Vec<String>> {
    match v {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, x)| match x {
                Json::String(s) if !s.is_empty() && s.chars().count() <= MAX_NAME => Ok(s.clone()),
                _ => Err(Error::new(Code::GraphInvalidType, "expected a non-empty name").at_path(format!("{path}[{i}]"))),
            })
            .collect(),
        Some(_) => Err(Error::new(Code::GraphBatchInvalid, "expected an array of strings").at_path(path)),
    }
}

fn node_in(o: &Map<String, Json>, path: &str) -> Result<NodeIn> {
    let (ext, ty) = node_ref(o, path)?;
    let identity = match o.get("is_identity") {
        None | Some(Json::Null) => false,
        Some(Json::Bool(b)) => *b,
        Some(_) => {
            return Err(Error::new(Code::GraphBatchInvalid, "`is_identity` must be a boolean").at_path(format!("{path}.is_identity")))
        }
    };
    let labels = string_list(o.get("labels").or_else(|| o.get("tags")), &format!("{path}.labels"))?;
    let props = properties(o.get("properties"), &format!("{path}.properties"))?;
    Ok(NodeIn { ext, ty, identity, labels, props })
}

fn rel_in(o: &Map<String, Json>, path: &str, delete: bool) -> Result<RelIn> {
    let end = |key: &str| -> Result<(String, String)> {
        let p = format!("{path}.{key}");
        let v = o.get(key).ok_or_else(|| Error::new(Code::GraphBatchInvalid, format!("`{key}` is required")).at_path(&p))?;
        node_ref(object(v, &p)?, &p)
    };
    let source = end("source")?;
    let target = end("target")?;
    let ty = text(o, "type", path, MAX_NAME, Code::GraphInvalidType)?;
    let props = if delete { Vec::new() } else { properties(o.get("properties"), &format!("{path}.properties"))? };
    Ok(RelIn { source, target, ty, props })
}

fn properties(v: Option<&Json>, path: &str) -> Result<Vec<PropIn>> {
    let items = match v {
        None | Some(Json::Null) => return Ok(Vec::new()),
        Some(v) => array(v, path)?,
    };
    let mut out: Vec<PropIn> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let o = object(item, &p)?;
        let name = text(o, "type", &p, MAX_NAME, Code::GraphInvalidType)?;
        let value = match o.get("value") {
            Some(v) => property_value(v, &format!("{p}.value"))?,
            // An external_value is resolved by the platform at query time; locally it is
            // unknown, so the property reads as missing (null) and comparisons fail closed.
            None if o.contains_key("external_value") => continue,
            None => return Err(Error::new(Code::GraphInvalidValue, "`value` is required").at_path(format!("{p}.value"))),
        };
        let metadata = match o.get("metadata") {
            None | Some(Json::Null) => None,
            Some(m @ Json::Object(_)) => Some(Value::from_json(m)),
            Some(_) => {
                return Err(Error::new(Code::GraphBatchInvalid, "`metadata` must be an object").at_path(format!("{p}.metadata")))
            }
        };
        // A repeated property name in one item: the last one wins, as a later upsert would.
        out.retain(|q| q.name != name);
        out.push(PropIn { name, value, metadata });
    }
    Ok(out)
}

fn property_value(v: &Json, path: &str) -> Result<Value> {
    let scalar = |x: &Json| matches!(x, Json::String(_) | Json::Number(_) | Json::Bool(_));
    match v {
        x if scalar(x) => Ok(Value::from_json(x)),
        Json::Array(items) => {
            if let Some(i) = items.iter().position(|x| !scalar(x)) {
                return Err(Error::new(Code::GraphInvalidValue, "list values may only hold strings, numbers and booleans")
                    .at_path(format!("{path}[{i}]")));
            }
            Ok(Value::from_json(v))
        }
        Json::Null => Err(Error::new(Code::GraphInvalidValue, "a property value must not be null (delete the property instead)").at_path(path)),
        _ => Err(Error::new(Code::GraphInvalidValue, "a property value must be a string, number, boolean or list of those").at_path(path)),
    }
}
