//! Hand-checked golden cases: every directory in `tests/cases/` (format in
//! `tests/cases/README.md`) is loaded into a fresh engine and each request's answer is
//! compared with its hand-written `expected` response: exactly, except that
//! `context.reason_admin` (prose) is compared for presence only.
//!
//! Requests listed in `tests/cases/KNOWN_FAILURES.md` are reported as skipped; a listed
//! request that now passes (or that no longer exists) fails the test, so the list stays true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use kbac::{Engine, EngineConfig, EvalOptions};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("cases")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Keys in `KNOWN_FAILURES.md`: the first backticked text of each `- ` line, either
/// `case-name` (the whole case) or `case-name/request name`.
fn known_failures(dir: &Path) -> BTreeSet<String> {
    let path = dir.join("KNOWN_FAILURES.md");
    let Ok(text) = std::fs::read_to_string(&path) else { return BTreeSet::new() };
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("- "))
        .filter_map(|l| {
            let rest = l.trim_start().strip_prefix('`')?;
            rest.split_once('`').map(|(key, _)| key.to_string())
        })
        .collect()
}

/// `context.reason_admin` is prose: keep only whether it is there.
fn normalise(mut v: Value) -> Value {
    if let Some(ctx) = v.get_mut("context").and_then(Value::as_object_mut) {
        if ctx.contains_key("reason_admin") {
            ctx.insert("reason_admin".into(), Value::String("<present>".into()));
        }
    }
    v
}

fn engine_for(dir: &Path) -> Result<Engine, String> {
    let config = dir.join("config.json");
    let mut engine = if config.exists() {
        Engine::from_config_json(&read(&config)).map_err(|e| format!("config.json: {e}"))?
    } else {
        Engine::new(EngineConfig::default())
    };
    engine.load_graph_json(&read(&dir.join("graph.json"))).map_err(|e| format!("graph.json: {e}"))?;
    engine.set_policies_json(&read(&dir.join("policies.json"))).map_err(|e| format!("policies.json: {e}"))?;
    Ok(engine)
}

fn options(item: &Value) -> Result<EvalOptions, String> {
    let mut opts = EvalOptions::default();
    let Some(o) = item.get("options") else { return Ok(opts) };
    let o = o.as_object().ok_or("`options` must be an object")?;
    for (k, v) in o {
        match k.as_str() {
            "now" => opts.now = Some(v.as_i64().ok_or("`options.now` must be an integer")?),
            "claims" => opts.claims = Some(v.clone()),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(opts)
}

#[test]
fn golden_cases() {
    let dir = cases_dir();
    let known = known_failures(&dir);
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    names.sort();

    let mut failures: Vec<String> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut requests = 0usize;

    for case_dir in &names {
        let case = case_dir.file_name().unwrap().to_string_lossy().to_string();
        seen.insert(case.clone());
        let items: Vec<Value> = match serde_json::from_str::<Value>(&read(&case_dir.join("requests.json"))) {
            Ok(Value::Array(a)) => a,
            Ok(_) => {
                failures.push(format!("{case}: requests.json must be an array"));
                continue;
            }
            Err(e) => {
                failures.push(format!("{case}: requests.json: {e}"));
                continue;
            }
        };
        let engine = match engine_for(case_dir) {
            Ok(e) => e,
            Err(e) => {
                failures.push(format!("{case}: cannot load: {e}"));
                continue;
            }
        };
        for (i, item) in items.iter().enumerate() {
            requests += 1;
            let name = item.get("name").and_then(Value::as_str).map_or_else(|| format!("#{i}"), str::to_string);
            let key = format!("{case}/{name}");
            seen.insert(key.clone());
            if let Some(extra) = item.as_object().and_then(|o| o.keys().find(|k| !matches!(k.as_str(), "name" | "request" | "options" | "expected"))) {
                failures.push(format!("{key}: unknown member `{extra}`"));
                continue;
            }
            let (Some(request), Some(expected)) = (item.get("request"), item.get("expected")) else {
                failures.push(format!("{key}: `request` and `expected` are required"));
                continue;
            };
            let opts = match options(item) {
                Ok(o) => o,
                Err(e) => {
                    failures.push(format!("{key}: {e}"));
                    continue;
                }
            };
            let text = engine.evaluate_json(&request.to_string(), &opts);
            let got: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{key}: engine answered non-JSON {text:?}: {e}"));
            let ok = normalise(got.clone()) == normalise(expected.clone());
            let listed = known.contains(&key) || known.contains(&case);
            match (ok, listed) {
                (true, false) => {}
                (false, false) => failures.push(format!("{key}\n    expected {expected}\n    got      {got}")),
                (false, true) => skipped.push(format!("{key}\n    expected {expected}\n    got      {got}")),
                (true, true) if known.contains(&key) => {
                    failures.push(format!("{key}: listed in KNOWN_FAILURES.md but passes now; remove the entry"));
                }
                (true, true) => {}
            }
        }
    }
    for k in &known {
        if !seen.contains(k) {
            failures.push(format!("KNOWN_FAILURES.md names `{k}`, which is no case or request"));
        }
    }

    println!("golden: {} cases, {requests} requests", names.len());
    for s in &skipped {
        println!("skipped (KNOWN_FAILURES.md): {s}");
    }
    assert!(failures.is_empty(), "{} golden mismatch(es):\n{}", failures.len(), failures.join("\n"));
}
