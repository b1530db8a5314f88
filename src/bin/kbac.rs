//! `kbac` — evaluate, check and benchmark KBAC policies from the command line.

use kbac::{Engine, EngineConfig, Error, EvalOptions};
use std::process::ExitCode;

const USAGE: &str = "usage:
  kbac eval  --graph FILE... --policies FILE --request FILE [--claims FILE] [--token JWT --jwks FILE] [--now SECS] [--explain]
  kbac check --policies FILE [--graph FILE...]
  kbac run   --graph FILE... --policies FILE --ops FILE [--now SECS]
  kbac bench [--persons N] [--seconds S]

Graph files are Capture batches ({\"nodes\":…}, {\"relationships\":…} or both).
Policies: one policy, one record, or an array of either. Claims: verified token claims (JSON).";

struct Args {
    cmd: String,
    graphs: Vec<String>,
    policies: Option<String>,
    request: Option<String>,
    claims: Option<String>,
    token: Option<String>,
    jwks: Option<String>,
    config: Option<String>,
    ops: Option<String>,
    now: Option<i64>,
    explain: bool,
    persons: usize,
    seconds: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().ok_or_else(|| USAGE.to_string())?;
    let mut a = Args {
        cmd,
        graphs: Vec::new(),
        policies: None,
        request: None,
        claims: None,
        token: None,
        jwks: None,
        config: None,
        ops: None,
        now: None,
        explain: false,
        persons: 100_000,
        seconds: 1.0,
    };
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("`{flag}` needs a value"));
        match flag.as_str() {
            "--graph" => a.graphs.push(val()?),
            "--policies" => a.policies = Some(val()?),
            "--request" => a.request = Some(val()?),
            "--claims" => a.claims = Some(val()?),
            "--token" => a.token = Some(val()?),
            "--jwks" => a.jwks = Some(val()?),
            "--config" => a.config = Some(val()?),
            "--ops" => a.ops = Some(val()?),
            "--now" => a.now = Some(val()?.parse().map_err(|_| "`--now` takes epoch seconds".to_string())?),
            "--persons" => a.persons = val()?.parse().map_err(|_| "`--persons` takes a number".to_string())?,
            "--seconds" => a.seconds = val()?.parse().map_err(|_| "`--seconds` takes a number".to_string())?,
            "--explain" => a.explain = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(a)
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read `{path}`: {e}"))
}

fn fail(e: &Error, file: &str) -> String {
    format!("{file}: {e}")
}

fn engine_from(a: &Args) -> Result<Engine, String> {
    let mut engine = match &a.config {
        Some(c) => Engine::from_config_json(&read(c)?).map_err(|e| fail(&e, c))?,
        None => Engine::new(EngineConfig::default()),
    };
    if let Some(j) = &a.jwks {
        for skipped in engine.set_jwks_json(&read(j)?).map_err(|e| fail(&e, j))? {
            eprintln!("warning: {j}: {skipped}");
        }
    }
    for g in &a.graphs {
        engine.load_graph_json(&read(g)?).map_err(|e| fail(&e, g))?;
    }
    if let Some(p) = &a.policies {
        engine.set_policies_json(&read(p)?).map_err(|e| fail(&e, p))?;
    }
    Ok(engine)
}

fn now_default(a: &Args) -> i64 {
    a.now.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
    })
}

fn options(a: &Args) -> Result<EvalOptions, String> {
    let claims = match &a.claims {
        Some(c) => Some(serde_json::from_str(&read(c)?).map_err(|e| format!("{c}: claims are not JSON: {e}"))?),
        None => None,
    };
    Ok(EvalOptions { now: Some(now_default(a)), claims, token: a.token.clone() })
}

fn cmd_eval(a: &Args) -> Result<ExitCode, String> {
    let engine = engine_from(a)?;
    let req_path = a.request.as_deref().ok_or("`eval` needs --request FILE")?;
    let req = read(req_path)?;
    let opts = options(a)?;
    let out = if a.explain { engine.explain_json(&req, &opts) } else { engine.evaluate_json(&req, &opts) };
    println!("{out}");
    Ok(if out.starts_with("{\"error\"") { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

fn cmd_check(a: &Args) -> Result<ExitCode, String> {
    let engine = engine_from(a)?;
    let g = engine.graph();
    let strings = g.strings();
    let mut warnings = engine.warnings();
    if !a.graphs.is_empty() {
        for p in engine.policies() {
            for t in [&p.subject_type, &p.resource_type] {
                let present = strings.get(t).is_some_and(|s| !g.nodes_with_label(s).is_empty());
                if !present && *t != engine.config().token_type {
                    warnings.push((p.id.clone(), format!("no node of type `{t}` in the graph")));
                }
            }
            for h in &p.plan.hops {
                for ty in &h.types {
                    let used = g.node_ids().any(|n| g.all_out(n).iter().any(|e| e.ty == *ty));
                    let name = strings.resolve(*ty);
                    if !used && name != "_SAME_AS" {
                        warnings.push((p.id.clone(), format!("no relationship of type `{name}` in the graph")));
                    }
                }
            }
        }
    }
    for (id, w) in &warnings {
        println!("warning: policy `{id}`: {w}");
    }
    println!("ok: {} policies compiled, {} warnings", engine.policies().len(), warnings.len());
    Ok(ExitCode::SUCCESS)
}

fn cmd_run(a: &Args) -> Result<ExitCode, String> {
    let engine = engine_from(a)?;
    let ops_path = a.ops.as_deref().ok_or("`run` needs --ops FILE")?;
    let ops: serde_json::Value = serde_json::from_str(&read(ops_path)?).map_err(|e| format!("{ops_path}: {e}"))?;
    let items = ops.as_array().ok_or("the ops file must hold a JSON array")?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let op = item.get("op").and_then(|v| v.as_str()).unwrap_or("evaluate");
        let req = item.get("request").map(ToString::to_string).unwrap_or_default();
        let mut opts = options(a)?;
        if let Some(c) = item.get("claims") {
            opts.claims = Some(c.clone());
        }
        if let Some(n) = item.get("now").and_then(serde_json::Value::as_i64) {
            opts.now = Some(n);
        }
        let answer = match op {
            "evaluate" => engine.evaluate_json(&req, &opts),
            "evaluations" => engine.evaluations_json(&req, &opts),
            "explain" => engine.explain_json(&req, &opts),
            "search_subject" => engine.search_subjects_json(&req, &opts),
            "search_resource" => engine.search_resources_json(&req, &opts),
            "search_action" => engine.search_actions_json(&req, &opts),
            other => return Err(format!("unknown op `{other}`")),
        };
        out.push(serde_json::from_str::<serde_json::Value>(&answer).map_err(|e| e.to_string())?);
    }
    println!("{}", serde_json::Value::Array(out));
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let result = match args.cmd.as_str() {
        "eval" => cmd_eval(&args),
        "check" => cmd_check(&args),
        "run" => cmd_run(&args),
        "bench" => kbac_bench::run(args.persons, args.seconds),
        other => Err(format!("unknown command `{other}`\n{USAGE}")),
    };
    match result {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::from(1)
        }
    }
}

mod kbac_bench {
    use std::process::ExitCode;

    pub fn run(_persons: usize, _seconds: f64) -> Result<ExitCode, String> {
        Err("bench is not built yet".into())
    }
}
