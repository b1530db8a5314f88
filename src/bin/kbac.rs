//! `kbac` — evaluate, check and benchmark KBAC policies from the command line.

use kbac::{Engine, EngineConfig, Error, EvalOptions};
use std::process::ExitCode;

const USAGE: &str = "usage:
  kbac eval  --graph FILE... --policies FILE --request FILE [--claims FILE] [--token JWT --jwks FILE] [--now SECS] [--explain]
  kbac check --policies FILE [--graph FILE...]
  kbac run   --graph FILE... --policies FILE --ops FILE [--now SECS]
  kbac snapshot --graph FILE... [--policies FILE] --out FILE
  kbac bench [--persons N] [--seconds S]

Every command also takes --snapshot FILE (a binary snapshot) in place of --graph/--policies.

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
    snapshot: Option<String>,
    out: Option<String>,
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
        snapshot: None,
        out: None,
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
            "--snapshot" => a.snapshot = Some(val()?),
            "--out" => a.out = Some(val()?),
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
    if let Some(path) = &a.snapshot {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
        engine.load_snapshot(&bytes).map_err(|e| fail(&e, path))?;
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

fn cmd_snapshot(a: &Args) -> Result<ExitCode, String> {
    let engine = engine_from(a)?;
    let out = a.out.as_deref().ok_or("`snapshot` needs --out FILE")?;
    let bytes = engine.snapshot_bytes();
    std::fs::write(out, &bytes).map_err(|e| format!("cannot write `{out}`: {e}"))?;
    let s = engine.stats();
    println!("wrote {out}: {} bytes, {} nodes, {} relationships, {} policies", bytes.len(), s.nodes, s.relationships, s.policies);
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
        "snapshot" => cmd_snapshot(&args),
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
    //! Decisions/s for the reference policy on a generated graph (fixed seed).
    use kbac::eval::{Entity, Request};
    use kbac::graph::{Batch, Graph, NodeIn, RelIn};
    use kbac::{Engine, EngineConfig, EvalOptions};
    use std::process::ExitCode;
    use std::time::Instant;

    /// xorshift64*: deterministic and dependency-free.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    fn node(ext: String, ty: &str, identity: bool) -> NodeIn {
        NodeIn { ext, ty: ty.into(), identity, labels: Vec::new(), props: Vec::new() }
    }

    /// Persons `p<i>` owning 1–3 laptops `l<i>-<k>` each; returns the graph and laptop count.
    pub fn graph(persons: usize, seed: u64) -> (Graph, usize) {
        let mut rng = Rng(seed | 1);
        let mut b = Batch::default();
        for i in 0..persons {
            b.upsert_nodes.push(node(format!("p{i}"), "Person", true));
            for k in 0..1 + rng.below(3) {
                let l = format!("l{i}-{k}");
                b.upsert_nodes.push(node(l.clone(), "Laptop", false));
                b.upsert_rels.push(RelIn { source: (format!("p{i}"), "Person".into()), target: (l, "Laptop".into()), ty: "OWNS".into(), props: Vec::new() });
            }
        }
        let laptops = b.upsert_rels.len();
        let mut g = Graph::new();
        g.bulk_load(&b);
        (g, laptops)
    }

    pub const POLICY: &str = r#"{"meta":{"policy_version":"2.0-kbac"},"subject":{"type":"Token"},"actions":["CAN_SERVICE"],"resource":{"type":"Laptop"},"condition":{"cypher":"MATCH (subject:Token)-[:_SAME_AS]->(person:Person)-[:OWNS]->(resource)","filter":{"attribute":"$token.exp","operator":">","value":1775490149,"advice":{"error":"insufficient_user_authentication","error_description":"Authentication is expired","sub":"$token.exp"}}}}"#;

    fn request(subject: &str, laptop: &str) -> Request {
        Request {
            subject: Entity { ty: "Token".into(), id: subject.into(), properties: Default::default() },
            action: kbac::eval::Action { name: "CAN_SERVICE".into(), properties: Default::default() },
            resource: Entity { ty: "Laptop".into(), id: laptop.into(), properties: Default::default() },
            context: Default::default(),
        }
    }

    fn percentile(sorted: &[f64], p: f64) -> f64 {
        sorted.get(((sorted.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(f64::NAN)
    }

    /// Time `f` in batches for about `seconds`; returns (ns per call, p50 ns, p99 ns of batches).
    fn measure(seconds: f64, batch: usize, mut f: impl FnMut(usize) -> bool) -> (f64, f64, f64, usize) {
        let mut per_call = Vec::new();
        let start = Instant::now();
        let mut calls = 0usize;
        let mut yes = 0usize;
        while start.elapsed().as_secs_f64() < seconds {
            let t = Instant::now();
            for i in 0..batch {
                yes += usize::from(f(calls + i));
            }
            per_call.push(t.elapsed().as_nanos() as f64 / batch as f64);
            calls += batch;
        }
        let total = start.elapsed().as_nanos() as f64 / calls as f64;
        per_call.sort_by(f64::total_cmp);
        (total, percentile(&per_call, 0.5), percentile(&per_call, 0.99), yes)
    }

    pub fn run(persons: usize, seconds: f64) -> Result<ExitCode, String> {
        let t = Instant::now();
        let (g, laptops) = graph(persons, 42);
        let build = t.elapsed();
        let mut engine = Engine::new(EngineConfig::default());
        engine.replace_graph(g).map_err(|e| e.to_string())?;
        engine.set_policies_json(POLICY).map_err(|e| e.to_string())?;
        println!("graph: {persons} persons, {laptops} laptops, {} relationships, built in {:.0} ms", engine.stats().relationships, build.as_secs_f64() * 1e3);
        let snap = engine.snapshot_bytes();
        let t = Instant::now();
        let mut reloaded = Engine::new(EngineConfig::default());
        reloaded.load_snapshot(&snap).map_err(|e| e.to_string())?;
        println!("snapshot: {:.1} MB, loaded in {:.0} ms", snap.len() as f64 / 1e6, t.elapsed().as_secs_f64() * 1e3);
        drop(reloaded);
        // Requests: half ask about an owned laptop, half about someone else's.
        let mut rng = Rng(7);
        let reqs: Vec<(Request, serde_json::Value)> = (0..4096)
            .map(|i| {
                let p = rng.below(persons as u64);
                let owner = if i % 2 == 0 { p } else { rng.below(persons as u64) };
                let claims = serde_json::json!({"sub": format!("p{p}"), "exp": 1_775_490_150i64});
                (request(&format!("p{p}"), &format!("l{owner}-0")), claims)
            })
            .collect();
        let opts: Vec<EvalOptions> = reqs.iter().map(|(_, c)| EvalOptions { now: Some(1_775_490_000), claims: Some(c.clone()), token: None }).collect();
        let (ns, p50, p99, yes) = measure(seconds, 1000, |i| {
            let k = i % reqs.len();
            reqs.get(k).zip(opts.get(k)).is_some_and(|((r, _), o)| engine.evaluate(r, o).decision)
        });
        println!("evaluate (typed request, claims): {:.0} ns/decision = {:.2} M decisions/s (batch p50 {:.0} ns, p99 {:.0} ns; {} permits)", ns, 1e3 / ns, p50, p99, yes);
        let texts: Vec<String> = reqs
            .iter()
            .map(|(r, _)| serde_json::json!({"subject":{"type":"Token","id":r.subject.id},"action":{"name":"CAN_SERVICE"},"resource":{"type":"Laptop","id":r.resource.id}}).to_string())
            .collect();
        let (ns, p50, p99, _) = measure(seconds, 1000, |i| {
            let k = i % texts.len();
            texts.get(k).zip(opts.get(k)).is_some_and(|(t, o)| engine.evaluate_json(t, o).len() > 20)
        });
        println!("evaluate_json (parse + evaluate + encode): {:.0} ns/decision = {:.2} M/s (batch p50 {:.0} ns, p99 {:.0} ns)", ns, 1e3 / ns, p50, p99);
        // Search on the same graph (issue: complete AuthZEN): resources of one person, subjects of one laptop.
        let mut search_engine = Engine::new(EngineConfig::default());
        search_engine.replace_graph(graph(persons, 42).0).map_err(|e| e.to_string())?;
        search_engine
            .set_policies_json(r#"{"meta":{"policy_version":"2.0-kbac"},"subject":{"type":"Person"},"actions":["CAN_SERVICE"],"resource":{"type":"Laptop"},"condition":{"cypher":"MATCH (subject:Person)-[:OWNS]->(resource:Laptop)"}}"#)
            .map_err(|e| e.to_string())?;
        let none = EvalOptions::default();
        let rs: Vec<String> = (0..1024).map(|i| format!(r#"{{"subject":{{"type":"Person","id":"p{}"}},"action":{{"name":"CAN_SERVICE"}},"resource":{{"type":"Laptop"}}}}"#, (i * 97) % persons)).collect();
        let ss: Vec<String> = (0..1024).map(|i| format!(r#"{{"subject":{{"type":"Person"}},"action":{{"name":"CAN_SERVICE"}},"resource":{{"type":"Laptop","id":"l{}-0"}}}}"#, (i * 89) % persons)).collect();
        let lat = |reqs: &[String], f: &dyn Fn(&str) -> String| {
            let mut v: Vec<f64> = Vec::new();
            let start = Instant::now();
            let mut i = 0;
            while start.elapsed().as_secs_f64() < seconds / 2.0 {
                let r = reqs.get(i % reqs.len()).map_or("", String::as_str);
                let t = Instant::now();
                let out = f(r);
                v.push(t.elapsed().as_nanos() as f64 / 1e3);
                assert!(out.contains("results"));
                i += 1;
            }
            v.sort_by(f64::total_cmp);
            (percentile(&v, 0.5), percentile(&v, 0.99))
        };
        let (p50, p99) = lat(&rs, &|r| search_engine.search_resources_json(r, &none));
        println!("search/resource (one person's laptops): p50 {p50:.1} µs, p99 {p99:.1} µs");
        let (p50, p99) = lat(&ss, &|r| search_engine.search_subjects_json(r, &none));
        println!("search/subject (one laptop's owners): p50 {p50:.1} µs, p99 {p99:.1} µs");
        token_bench(seconds)?;
        Ok(ExitCode::SUCCESS)
    }

    /// Evaluate with a compact JWS to verify, ES256 and EdDSA: uncached (4096 distinct tokens
    /// cycle through the 1024-entry FIFO cache, so every call verifies) and cached (512 tokens
    /// that stay in the cache). Signs with the test-only keys of `tests/fixtures/tokens/`.
    fn token_bench(seconds: f64) -> Result<(), String> {
        use jwt_compact::alg::{Ed25519, Es256};
        use jwt_compact::jwk::JsonWebKey;
        use jwt_compact::{Algorithm, AlgorithmExt, Claims, Header};
        const PRIVATE: &str = include_str!("../../tests/fixtures/tokens/private.jwks.json");
        const PUBLIC: &str = include_str!("../../tests/fixtures/tokens/jwks.json");
        const NOW: i64 = 1_775_490_000;
        let private: serde_json::Value = serde_json::from_str(PRIVATE).map_err(|e| e.to_string())?;
        let jwk = |i: usize| -> Result<JsonWebKey<'static>, String> {
            let v = private.get("keys").and_then(|k| k.get(i)).cloned().ok_or("the private JWKS has too few keys")?;
            serde_json::from_value(v).map_err(|e| e.to_string())
        };
        let ec = <Es256 as Algorithm>::SigningKey::try_from(&jwk(1)?).map_err(|e| e.to_string())?;
        let ed = <Ed25519 as Algorithm>::SigningKey::try_from(&jwk(2)?).map_err(|e| e.to_string())?;
        let persons = 1000;
        let mut engine = Engine::from_config_json(&format!(r#"{{"jwks":{PUBLIC}}}"#)).map_err(|e| e.to_string())?;
        engine.replace_graph(graph(persons, 42).0).map_err(|e| e.to_string())?;
        engine.set_policies_json(POLICY).map_err(|e| e.to_string())?;
        let reqs: Vec<Request> = (0..persons).map(|p| request(&format!("p{p}"), &format!("l{p}-0"))).collect();
        let claims = |p: usize, n: usize| Claims::new(serde_json::json!({"sub": format!("p{p}"), "exp": NOW + 3600, "jti": n}));
        let mint_es = |p: usize, n: usize| Es256.token(&Header::empty().with_key_id("ec-1"), &claims(p, n), &ec).map_err(|e| e.to_string());
        let mint_ed = |p: usize, n: usize| Ed25519.token(&Header::empty().with_key_id("ed-1"), &claims(p, n), &ed).map_err(|e| e.to_string());
        type Mint<'a> = &'a dyn Fn(usize, usize) -> Result<String, String>;
        let minters: [(&str, Mint<'_>); 2] = [("ES256", &mint_es), ("EdDSA", &mint_ed)];
        for (alg, mint) in minters {
            let tokens: Vec<(usize, EvalOptions)> = (0..4096)
                .map(|n| mint(n % persons, n).map(|t| (n % persons, EvalOptions { now: Some(NOW), claims: None, token: Some(t) })))
                .collect::<Result<_, _>>()?;
            let eval_at = |k: usize| match tokens.get(k % tokens.len()) {
                Some((p, o)) => reqs.get(*p).is_some_and(|r| engine.evaluate(r, o).decision),
                None => false,
            };
            let (ns, p50, p99, yes) = measure(seconds / 2.0, 100, &eval_at);
            println!("evaluate + verify {alg} (uncached): {:.1} µs/decision (batch p50 {:.1} µs, p99 {:.1} µs; {yes} permits)", ns / 1e3, p50 / 1e3, p99 / 1e3);
            let (ns, p50, p99, yes) = measure(seconds / 2.0, 1000, |i| eval_at(i % 512));
            println!("evaluate + verify {alg} (cached): {:.2} µs/decision (batch p50 {:.2} µs, p99 {:.2} µs; {yes} permits)", ns / 1e3, p50 / 1e3, p99 / 1e3);
        }
        Ok(())
    }
}
