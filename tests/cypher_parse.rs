//! Cypher subset: corpus coverage, hand-checked trees, round-trips, rejections and
//! robustness against hostile input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use kbac::cypher::*;
use kbac::{Code, Error};

fn lim() -> ParseLimits {
    ParseLimits::default()
}

fn p(s: &str) -> Query {
    let q = parse(s, &lim()).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"));
    round_trip(&q);
    q
}

fn perr(s: &str) -> Error {
    match parse(s, &lim()) {
        Ok(q) => panic!("{s:?} should fail, parsed as {q:?}"),
        Err(e) => e,
    }
}

/// The code, line and column of the error for `s`.
fn fails(s: &str) -> (Code, u32, u32) {
    let e = perr(s);
    let loc = e.location();
    let (line, col) = (loc.line.expect("line"), loc.column.expect("column"));
    assert!(!e.message().ends_with('.'), "message ends with a period: {}", e.message());
    assert!(!e.message().starts_with(|c: char| c.is_uppercase()), "message starts upper-case: {}", e.message());
    (e.code(), line, col)
}

fn round_trip(q: &Query) {
    let text = to_cypher(q);
    let back = parse(&text, &lim()).unwrap_or_else(|e| panic!("printed {text:?} does not parse: {e}"));
    assert_eq!(&back, q, "round trip through {text:?}");
}

fn where_of(s: &str) -> Expr {
    p(s).clauses[0].where_.clone().expect("WHERE")
}

fn w(cond: &str) -> Expr {
    where_of(&format!("MATCH (a) WHERE {cond}"))
}

fn node(var: Option<&str>, labels: &[&str]) -> NodePattern {
    NodePattern { var: var.map(str::to_string), labels: labels.iter().map(|s| s.to_string()).collect(), props: vec![] }
}

fn rel(types: &[&str], direction: Direction) -> RelPattern {
    RelPattern {
        var: None,
        types: types.iter().map(|s| s.to_string()).collect(),
        direction,
        length: None,
        props: vec![],
    }
}

fn prop(var: &str, path: &[&str]) -> Expr {
    Expr::Property { var: var.into(), path: path.iter().map(|s| s.to_string()).collect() }
}

fn var(v: &str) -> Expr {
    Expr::Variable(v.into())
}

fn param(path: &[&str]) -> Expr {
    Expr::Param(path.iter().map(|s| s.to_string()).collect())
}

fn int(i: i64) -> Expr {
    Expr::Literal(Literal::Int(i))
}

fn float(f: f64) -> Expr {
    Expr::Literal(Literal::Float(f))
}

fn string(s: &str) -> Expr {
    Expr::Literal(Literal::String(s.into()))
}

fn cmp(op: CmpOp, l: Expr, r: Expr) -> Expr {
    Expr::Compare { op, left: Box::new(l), right: Box::new(r) }
}

fn and(a: Expr, b: Expr) -> Expr {
    Expr::And(Box::new(a), Box::new(b))
}
fn or(a: Expr, b: Expr) -> Expr {
    Expr::Or(Box::new(a), Box::new(b))
}
fn xor(a: Expr, b: Expr) -> Expr {
    Expr::Xor(Box::new(a), Box::new(b))
}
fn not(a: Expr) -> Expr {
    Expr::Not(Box::new(a))
}

// ----- corpus ------------------------------------------------------------------------

fn corpus() -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/kbac-policies.json");
    let text = std::fs::read_to_string(path).expect("corpus file");
    let items: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for item in items.as_array().unwrap() {
        let mut policy = item.get("policy").cloned().unwrap_or(serde_json::Value::Null);
        if let Some(s) = policy.as_str() {
            policy = serde_json::from_str(s).unwrap();
        }
        let meta = &policy["meta"];
        let version = meta["policy_version"].as_str().or(meta["policyVersion"].as_str()).unwrap_or("").to_string();
        if let Some(c) = policy["condition"]["cypher"].as_str() {
            out.push((version, c.to_string()));
        }
    }
    out
}

#[test]
fn corpus_kbac_policies_parse() {
    let mut ok = 0;
    let mut use_rejected = 0;
    for (version, cypher) in corpus().iter().filter(|(v, _)| v != "1.0-ciq") {
        match parse(cypher, &lim()) {
            Ok(q) => {
                round_trip(&q);
                ok += 1;
            }
            Err(e) if e.code() == Code::CypherUseNotAllowed && version == "3.0-kbac" => use_rejected += 1,
            Err(e) => panic!("{version} policy {cypher:?} failed: {e}"),
        }
    }
    println!("non-ciq corpus: {ok} parsed, {use_rejected} rejected for USE");
    assert!(ok >= 40, "only {ok} parsed");
    assert_eq!(use_rejected, 1);
}

#[test]
fn corpus_ciq_policies_report() {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    let mut total = 0;
    for (_, cypher) in corpus().iter().filter(|(v, _)| v == "1.0-ciq") {
        total += 1;
        let key = match parse(cypher, &lim()) {
            Ok(q) => {
                round_trip(&q);
                "parsed".to_string()
            }
            Err(e) => {
                println!("  {}: {}", e.code(), e.message());
                e.code().to_string()
            }
        };
        *counts.entry(key).or_default() += 1;
    }
    println!("1.0-ciq corpus: {total} conditions: {counts:?}");
}

#[test]
fn corpus_specific_shapes() {
    let q = p("MATCH (subject:Person)-[:BELONGS_TO]->(:Organization)-[:IS_ON]->(s:Subscription) MATCH (s)-[:OFFERS]->(:Service) MATCH (s)-[:COVERS]->(resource:Asset) WITH subject, resource");
    assert_eq!(q.with, Some(vec!["subject".to_string(), "resource".to_string()]));
    assert_eq!(q.clauses.len(), 3);

    let q = p("MATCH (subject:Person)-[:BELONGS_TO]->(:Organization)-[:OWNS]->(resource:Truck)-[HAS]->(Truck:Property:External {type: echo, value: '2024'}) ");
    let chain = &q.clauses[0].patterns[0].chain;
    let (has, last) = &chain[2];
    assert_eq!(has.var.as_deref(), Some("HAS"));
    assert!(has.types.is_empty());
    assert_eq!(last.labels, vec!["Property", "External"]);
    assert_eq!(last.props, vec![("type".to_string(), var("echo")), ("value".to_string(), string("2024"))]);

    let q = p("MATCH(subject:DigitalTwin{digital_twin_id:$subject_id}) MATCH(n1:Household)");
    assert_eq!(q.clauses[0].patterns[0].start.props, vec![("digital_twin_id".to_string(), param(&["subject_id"]))]);

    let e = perr("USE graph.byName($region) MATCH (subject:Person)-[:OWNS]->(resource:Car)");
    assert_eq!(e.code(), Code::CypherUseNotAllowed);
}

// ----- hand-checked trees -------------------------------------------------------------

#[test]
fn multi_hop_and_arrows() {
    let q = p("MATCH (subject:User)-[:WORKS_IN]->(department:Department)<-[:CAN_RETRIEVE]-(resource:Quote)");
    assert_eq!(q.with, None);
    let part = &q.clauses[0].patterns[0];
    assert_eq!(part.start, node(Some("subject"), &["User"]));
    assert_eq!(
        part.chain,
        vec![
            (rel(&["WORKS_IN"], Direction::Outgoing), node(Some("department"), &["Department"])),
            (rel(&["CAN_RETRIEVE"], Direction::Incoming), node(Some("resource"), &["Quote"])),
        ]
    );
    let q = p("MATCH (a)-->(b)<--(c)--(d)-[]-(e)-[]->()<-[]-(:X)");
    let dirs: Vec<_> = q.clauses[0].patterns[0].chain.iter().map(|(r, _)| r.direction).collect();
    use Direction::*;
    assert_eq!(dirs, vec![Outgoing, Incoming, Both, Both, Outgoing, Incoming]);
    assert!(q.clauses[0].patterns[0].chain.iter().all(|(r, _)| r.types.is_empty() && r.var.is_none()));
    let q = p("MATCH (a) - [ r : T ] -> ( b )");
    assert_eq!(q.clauses[0].patterns[0].chain[0].0.var.as_deref(), Some("r"));
}

#[test]
fn alternation_and_undirected() {
    let q = p("MATCH (subject:Person)-[:MARRIED_TO|PARENT_OF|:PARTNERS]-(family:Person)");
    let r = &q.clauses[0].patterns[0].chain[0].0;
    assert_eq!(r.types, vec!["MARRIED_TO", "PARENT_OF", "PARTNERS"]);
    assert_eq!(r.direction, Direction::Both);
    let q = p("MATCH (:_TrustScore)<-[:_HAS]-(subject)");
    assert_eq!(q.clauses[0].patterns[0].start.labels, vec!["_TrustScore"]);
    assert_eq!(q.clauses[0].patterns[0].chain[0].0.types, vec!["_HAS"]);
}

#[test]
fn range_forms() {
    let len = |s: &str| p(&format!("MATCH (a)-[:T{s}]->(b)")).clauses[0].patterns[0].chain[0].0.length;
    let l = |min, max| Some(Length { min, max });
    assert_eq!(len(""), None);
    assert_eq!(len("*"), l(None, None));
    assert_eq!(len("*3"), l(Some(3), Some(3)));
    assert_eq!(len("*..3"), l(None, Some(3)));
    assert_eq!(len("*2.."), l(Some(2), None));
    assert_eq!(len("*2..5"), l(Some(2), Some(5)));
    assert_eq!(len("* 1 .. 3"), l(Some(1), Some(3)));
    assert_eq!(len("*0..0"), l(Some(0), Some(0)));
    let q = p("MATCH (subject:User)-[:WORKS_IN|CAN_TRIGGER*..3]->(resource:Workflow)");
    let r = &q.clauses[0].patterns[0].chain[0].0;
    assert_eq!((r.types.len(), r.length), (2, l(None, Some(3))));
    let q = p("MATCH (a)-[r*1..2 {since: 2020}]->(b)");
    let r = &q.clauses[0].patterns[0].chain[0].0;
    assert_eq!(r.var.as_deref(), Some("r"));
    assert_eq!(r.props, vec![("since".to_string(), int(2020))]);
    assert_eq!(fails("MATCH (a)-[*3..2]->(b)"), (Code::CypherInvalidRange, 1, 12));
    assert_eq!(fails("MATCH (a)-[*99999999999]->(b)").0, Code::CypherInvalidRange);
}

#[test]
fn comma_patterns_and_several_match() {
    let q = p("MATCH (subject:Person), (resource:Server) WHERE resource.property.price <= $max_price");
    assert_eq!(q.clauses.len(), 1);
    assert_eq!(q.clauses[0].patterns.len(), 2);
    assert_eq!(q.clauses[0].where_, Some(cmp(CmpOp::Le, prop("resource", &["property", "price"]), param(&["max_price"]))));
    let q = p("MATCH (subject) MATCH (resource:Car) WHERE resource.x = 1 MATCH (c)");
    assert_eq!(q.clauses.len(), 3);
    assert!(q.clauses[0].where_.is_none() && q.clauses[1].where_.is_some() && q.clauses[2].where_.is_none());
    assert_eq!(q.clauses[0].patterns[0].start, node(Some("subject"), &[]));
}

#[test]
fn where_precedence() {
    // OR < XOR < AND < NOT.
    assert_eq!(w("a OR b AND NOT c XOR d"), or(var("a"), xor(and(var("b"), not(var("c"))), var("d"))));
    assert_eq!(w("a AND b AND c"), and(and(var("a"), var("b")), var("c")));
    assert_eq!(w("a OR b OR c"), or(or(var("a"), var("b")), var("c")));
    assert_eq!(w("NOT NOT a = 1"), not(not(cmp(CmpOp::Eq, var("a"), int(1)))));
    assert_eq!(w("(a OR b) AND c"), and(or(var("a"), var("b")), var("c")));
    assert_eq!(
        w("a.x = 1 AND b.y <> 'z' OR NOT c.w IS NULL"),
        or(
            and(cmp(CmpOp::Eq, prop("a", &["x"]), int(1)), cmp(CmpOp::Ne, prop("b", &["y"]), string("z"))),
            not(Expr::IsNull { expr: Box::new(prop("c", &["w"])), negated: false })
        )
    );
    // IS NULL binds tighter than comparison.
    assert_eq!(
        w("a = b IS NOT NULL"),
        cmp(CmpOp::Eq, var("a"), Expr::IsNull { expr: Box::new(var("b")), negated: true })
    );
}

#[test]
fn every_operator() {
    let cases = [
        ("=", CmpOp::Eq),
        ("<>", CmpOp::Ne),
        ("!=", CmpOp::Ne),
        ("<", CmpOp::Lt),
        ("<=", CmpOp::Le),
        (">", CmpOp::Gt),
        (">=", CmpOp::Ge),
        ("=~", CmpOp::Regex),
        ("IN", CmpOp::In),
        ("in", CmpOp::In),
        ("STARTS WITH", CmpOp::StartsWith),
        ("starts  with", CmpOp::StartsWith),
        ("ENDS WITH", CmpOp::EndsWith),
        ("CONTAINS", CmpOp::Contains),
        ("Contains", CmpOp::Contains),
    ];
    for (text, op) in cases {
        assert_eq!(w(&format!("a.x {text} $p")), cmp(op, prop("a", &["x"]), param(&["p"])), "{text}");
    }
    assert_eq!(w("a.x<-5"), cmp(CmpOp::Lt, prop("a", &["x"]), int(-5)));
    assert_eq!(w("a IS NULL"), Expr::IsNull { expr: Box::new(var("a")), negated: false });
    assert_eq!(w("a.b is not null"), Expr::IsNull { expr: Box::new(prop("a", &["b"])), negated: true });
    assert_eq!(
        w("a IS NULL IS NULL"),
        Expr::IsNull { expr: Box::new(Expr::IsNull { expr: Box::new(var("a")), negated: false }), negated: false }
    );
}

#[test]
fn lists_params_properties() {
    assert_eq!(w("a.x IN []"), cmp(CmpOp::In, prop("a", &["x"]), Expr::List(vec![])));
    assert_eq!(
        w("a.x IN [1, 'b', [true, null], $p.q]"),
        cmp(
            CmpOp::In,
            prop("a", &["x"]),
            Expr::List(vec![
                int(1),
                string("b"),
                Expr::List(vec![Expr::Literal(Literal::Bool(true)), Expr::Literal(Literal::Null)]),
                param(&["p", "q"]),
            ])
        )
    );
    assert_eq!(w("$token.act.sub = a.external_id"), cmp(CmpOp::Eq, param(&["token", "act", "sub"]), prop("a", &["external_id"])));
    assert_eq!(w("$`odd name`.x = $0"), cmp(CmpOp::Eq, param(&["odd name", "x"]), param(&["0"])));
    assert_eq!(
        w("subject.property.email.metadata.source = 'idp'"),
        cmp(CmpOp::Eq, prop("subject", &["property", "email", "metadata", "source"]), string("idp"))
    );
    assert_eq!(w("n.property.contains CONTAINS 'x'"), cmp(CmpOp::Contains, prop("n", &["property", "contains"]), string("x")));
    assert_eq!(w("n.`weird key`.match = 1"), cmp(CmpOp::Eq, prop("n", &["weird key", "match"]), int(1)));
    assert_eq!(w("`my var` = a"), cmp(CmpOp::Eq, var("my var"), var("a")));
    assert_eq!(w("limit.x = 1"), cmp(CmpOp::Eq, prop("limit", &["x"]), int(1)));
}

#[test]
fn literals_and_escapes() {
    let lit = |s: &str| match w(&format!("a = {s}")) {
        Expr::Compare { right, .. } => *right,
        e => panic!("{e:?}"),
    };
    assert_eq!(lit("-5"), int(-5));
    assert_eq!(lit("- 5"), int(-5));
    assert_eq!(lit("-1.5"), float(-1.5));
    assert_eq!(lit("9223372036854775807"), int(i64::MAX));
    assert_eq!(lit("-9223372036854775808"), int(i64::MIN));
    assert_eq!(lit("0x1F"), int(31));
    assert_eq!(lit("-0x10"), int(-16));
    assert_eq!(lit("0"), int(0));
    assert_eq!(lit(".5"), float(0.5));
    assert_eq!(lit("1e3"), float(1000.0));
    assert_eq!(lit("1.5E-3"), float(0.0015));
    assert_eq!(lit("TRUE"), Expr::Literal(Literal::Bool(true)));
    assert_eq!(lit("False"), Expr::Literal(Literal::Bool(false)));
    assert_eq!(lit("NULL"), Expr::Literal(Literal::Null));
    assert_eq!(lit(r#"'it\'s \\ \"q\" \n\t\r\b\f'"#), string("it's \\ \"q\" \n\t\r\u{8}\u{c}"));
    assert_eq!(lit(r#""double 'quoted'""#), string("double 'quoted'"));
    assert_eq!(lit(r"'\u00e9\uD83D\uDE00'"), string("é😀"));
    assert_eq!(lit("'multi\nline ünï'"), string("multi\nline ünï"));
    assert_eq!(fails("MATCH (a) WHERE a = 9223372036854775808"), (Code::CypherInvalidNumber, 1, 21));
    assert_eq!(fails("MATCH (a) WHERE a = -9223372036854775809").0, Code::CypherInvalidNumber);
    assert_eq!(fails("MATCH (a) WHERE a = 99999999999999999999").0, Code::CypherInvalidNumber);
    assert_eq!(fails("MATCH (a) WHERE a = 1e999").0, Code::CypherInvalidNumber);
    assert_eq!(fails("MATCH (a) WHERE a = 12ab").0, Code::CypherInvalidNumber);
    assert_eq!(fails("MATCH (a) WHERE a = 0xZZ").0, Code::CypherInvalidNumber);
    assert_eq!(fails(r"MATCH (a) WHERE a = '\uD83D'"), (Code::CypherSyntax, 1, 22));
    assert_eq!(fails(r"MATCH (a) WHERE a = '\q'"), (Code::CypherSyntax, 1, 22));
}

#[test]
fn case_insensitive_keywords_and_comments() {
    let a = p("match (a:Person)-[:R]->(b) where a.x = 1 and not b.y is null with a, b");
    let b = p("MATCH (a:Person)-[:R]->(b) WHERE a.x = 1 AND NOT b.y IS NULL WITH a, b");
    assert_eq!(a, b);
    let c = p("// leading comment\nMatCh /* inline */ (a:Person) // trailing\n -[:R]->(b)\n/* multi\nline */ WhErE a.x = 1 AnD NoT b.y Is NuLl WiTh a, b // end");
    assert_eq!(a, c);
    let q = p("MATCH(subject:X)");
    assert_eq!(q.clauses[0].patterns[0].start, node(Some("subject"), &["X"]));
    // A keyword-like label and a quoted identifier are names.
    let q = p("MATCH (n:Match:`weird label`)-[:`REL TYPE`]->(`my node`)");
    assert_eq!(q.clauses[0].patterns[0].start.labels, vec!["Match", "weird label"]);
    assert_eq!(q.clauses[0].patterns[0].chain[0].1.var.as_deref(), Some("my node"));
    let q = p("MATCH (`a``b`:Ünïcödé_1)");
    assert_eq!(q.clauses[0].patterns[0].start, node(Some("a`b"), &["Ünïcödé_1"]));
}

// ----- round trips --------------------------------------------------------------------

#[test]
fn round_trip_hand_written() {
    let queries = [
        "MATCH (subject:Person)-[:OWNS]->(resource:Car) WHERE resource.property.price <= $max_price",
        "MATCH (a)",
        "MATCH ()",
        "MATCH (:L1:L2)",
        "MATCH ({k: 1})",
        "MATCH (n {k: [1, 2.5, 'x', null, true, $p.q]})",
        "MATCH (a)-->(b)<--(c)--(d)",
        "MATCH (a)-[r]->(b)",
        "MATCH (a)-[r:T|U|:V*]->(b)",
        "MATCH (a)-[*2]-(b)",
        "MATCH (a)<-[*..4]-(b)",
        "MATCH (a)-[*3..]->(b)",
        "MATCH (a)-[*1..5 {w: -1}]->(b)",
        "MATCH (a)-[{w: 1}]->(b)",
        "MATCH (a), (b), (c)-[:R]->(d) WHERE a.x = b.y",
        "MATCH (a) MATCH (b) WITH a, b",
        "MATCH (a) WHERE a OR b AND NOT c XOR d",
        "MATCH (a) WHERE NOT NOT NOT a",
        "MATCH (a) WHERE ((a.x < 1)) AND (b.y >= 2.0 OR c.z =~ '^a.*$')",
        "MATCH (a) WHERE a.x IN [1, [2, [3]], []] AND a.y STARTS WITH 'p' AND a.z ENDS WITH \"q\"",
        "MATCH (a) WHERE a.x CONTAINS 'it\\'s' AND a.y <> 'tab\\t\\u0001\\u007f'",
        "MATCH (a) WHERE a.x IS NULL OR a.y IS NOT NULL",
        "MATCH (a) WHERE a.x = -9223372036854775808 AND a.y = 9223372036854775807",
        "MATCH (a) WHERE a.x = 1e300 OR a.x = -0.0 OR a.x = 5e-324 OR a.x = 1.7976931348623157e308",
        "MATCH (a) WHERE a.x = 0.1 OR a.x = 1e16 OR a.x = 123456789.0 OR a.x = -2.5e-10",
        "MATCH (a) WHERE a = true OR a = false OR a = null",
        "MATCH (a) WHERE $token.act.act.sub = a.external_id",
        "MATCH (a) WHERE $`weird param`.`odd seg` = $0",
        "MATCH (`with`:`MATCH`)-[`return`:`WHERE`]->(`x y`) WHERE `with`.`and`.`or` = `x y`",
        "MATCH (a) WHERE a.`not`.`null` IS NULL",
        "MATCH (subject:Token)-[:_SAME_AS]->(person:Person)-[:OWNS]->(resource)",
        "MATCH (ñ:Ünï)-[:Ω]->(b) WHERE ñ.名前 = '日本語 😀'",
        "MATCH (a) WHERE a.x = 'line\nbreak\r\\\\'",
        "MATCH (a) WHERE (a.x = 1) = (a.y = 2)",
        "MATCH (a) WHERE a.x IN $list",
        "MATCH (a {k: echo})",
        "MATCH (a {k: (x = 1)})",
        "MATCH (a) WHERE a = b WITH a",
        "MATCH (a)-[:R]->(b) MATCH (b)<-[:S|T*0..9]-(c) WHERE c.x IS NOT NULL WITH a, b, c",
        "MATCH (a) WHERE a.x = 0x7FFFFFFFFFFFFFFF",
    ];
    for q in queries {
        p(q);
    }
    // Floats survive: printed text reads back as the same f64 and stays a float.
    for f in [1.0, -0.0, 1e300, 5e-324, f64::MAX, f64::MIN_POSITIVE, 0.1 + 0.2, 1e16, 1e15, 123.0] {
        let q = Query {
            clauses: vec![MatchClause { patterns: vec![PatternPart { start: node(Some("a"), &[]), chain: vec![] }], where_: Some(cmp(CmpOp::Eq, var("a"), float(f))) }],
            with: None,
        };
        round_trip(&q);
        let back = parse(&to_cypher(&q), &lim()).unwrap();
        match back.clauses[0].where_.as_ref().unwrap() {
            Expr::Compare { right, .. } => match **right {
                Expr::Literal(Literal::Float(g)) => assert_eq!(g.to_bits(), f.to_bits(), "{f:?}"),
                ref other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn printer_is_canonical() {
    let q = p("match (subject:Person)-[:OWNS]->(resource:Car) where resource.property.price <= $max_price");
    assert_eq!(to_cypher(&q), "MATCH (subject:Person)-[:OWNS]->(resource:Car) WHERE (resource.property.price <= $max_price)");
    let q = p("MATCH (a)<-[r:A|B*1..3]-(b {k: 'v'}) WHERE NOT a.x IN [1, 2] WITH a");
    assert_eq!(to_cypher(&q), "MATCH (a)<-[r:A|B*1..3]-(b {k: 'v'}) WHERE (NOT (a.x IN [1, 2])) WITH a");
    let text = to_cypher(&q);
    assert_eq!(to_cypher(&p(&text)), text);
}

// ----- rejections ---------------------------------------------------------------------

#[test]
fn rejected_clauses_with_positions() {
    use Code::*;
    let cases: &[(&str, Code, u32, u32)] = &[
        ("MATCH (a)\nRETURN a", CypherReturnNotAllowed, 2, 1),
        ("MATCH (a) WHERE a.x = 1 RETURN a", CypherReturnNotAllowed, 1, 25),
        ("CREATE (a)", CypherMutatingClause, 1, 1),
        ("MATCH (a) MERGE (b)", CypherMutatingClause, 1, 11),
        ("MATCH (a)\n  SET a.x = 1", CypherMutatingClause, 2, 3),
        ("MATCH (a) DELETE a", CypherMutatingClause, 1, 11),
        ("MATCH (a) detach delete a", CypherMutatingClause, 1, 11),
        ("MATCH (a) REMOVE a.x", CypherMutatingClause, 1, 11),
        ("USE graph.byName($region) MATCH (a)", CypherUseNotAllowed, 1, 1),
        ("MATCH (a) CALL { MATCH (b) RETURN b }", CypherCallNotAllowed, 1, 11),
        ("CALL () { USE x MATCH (a) RETURN a }", CypherCallNotAllowed, 1, 1),
        ("MATCH (a) OPTIONAL MATCH (b)", CypherUnsupported, 1, 11),
        ("MATCH (a) UNWIND [1] AS x", CypherUnsupported, 1, 11),
        ("MATCH (a) WITH a ORDER BY a", CypherUnsupported, 1, 18),
        ("MATCH (a) WITH a LIMIT 1", CypherUnsupported, 1, 18),
        ("MATCH (a) WITH a SKIP 1", CypherUnsupported, 1, 18),
        ("MATCH (a) UNION MATCH (b)", CypherUnsupported, 1, 11),
        ("MATCH (a) FOREACH (x IN [1] | SET a.x = 1)", CypherUnsupported, 1, 11),
        ("LOAD CSV FROM 'x' AS row MATCH (a)", CypherUnsupported, 1, 1),
        ("MATCH (a) USING INDEX a:L(x) WHERE a.x = 1", CypherUnsupported, 1, 11),
        ("MATCH (a) WHERE count(a) > 1", CypherUnsupported, 1, 17),
        ("MATCH (a) WHERE EXISTS { MATCH (a)-->(b) }", CypherUnsupported, 1, 17),
        ("MATCH (a) WHERE exists(a.x)", CypherUnsupported, 1, 17),
        ("MATCH (a) WHERE (a)-[:R]->(:B)", CypherUnsupported, 1, 17),
        ("MATCH (a) WHERE NOT (a)-->()", CypherUnsupported, 1, 21),
        ("MATCH (a) WHERE (a)<-[:R]-(b)", CypherUnsupported, 1, 17),
        ("MATCH (a) WHERE (:X)", CypherUnsupported, 1, 17),
        ("MATCH (a) WHERE a {.x} = 1", CypherUnsupported, 1, 17),
        ("MATCH (a) WHERE CASE WHEN a THEN 1 END = 1", CypherUnsupported, 1, 17),
        ("MATCH (a) WHERE a.x + 1 = 2", CypherUnsupported, 1, 21),
        ("MATCH (a) WHERE a.x[0] = 2", CypherUnsupported, 1, 20),
        ("MATCH (a) WHERE a:Label", CypherUnsupported, 1, 18),
        ("MATCH (a) WHERE a < b < c", CypherUnsupported, 1, 23),
        ("MATCH (a) WHERE -a.x = 1", CypherUnsupported, 1, 17),
        ("MATCH (a) WHERE a.x IN [x IN [1] WHERE x > 0]", CypherUnsupported, 1, 34),
        ("MATCH (a) WHERE a = {k: 1}", CypherUnsupported, 1, 21),
        ("MATCH p = (a)-->(b)", CypherUnsupported, 1, 7),
        ("MATCH shortestPath((a)-->(b))", CypherUnsupported, 1, 7),
        ("MATCH (a:A|B)", CypherUnsupported, 1, 11),
        ("MATCH (a WHERE a.x = 1)", CypherUnsupported, 1, 10),
        ("MATCH (a) WITH a AS b", CypherUnsupported, 1, 18),
        ("MATCH (a) WITH a.x", CypherUnsupported, 1, 16),
        ("MATCH (a) WITH a, b = 1", CypherUnsupported, 1, 19),
        ("MATCH (a) WITH a, 1", CypherUnsupported, 1, 19),
        ("MATCH (a) WITH count(a)", CypherUnsupported, 1, 16),
        ("MATCH (a) WITH a WHERE a.x = 1", CypherUnsupported, 1, 18),
        ("MATCH (a) WITH a MATCH (b)", CypherUnsupported, 1, 18),
        ("MATCH (a) WITH *", CypherUnsupported, 1, 16),
        ("MATCH (a) WITH DISTINCT a", CypherUnsupported, 1, 16),
        ("MATCH (a) WITH a RETURN a", CypherReturnNotAllowed, 1, 18),
    ];
    for (src, code, line, col) in cases {
        assert_eq!(fails(src), (*code, *line, *col), "{src}");
    }
    let e = perr("MATCH (a) OPTIONAL MATCH (b)");
    assert_eq!(e.message(), "`OPTIONAL MATCH` is not supported in KBAC policies");
    assert!(perr("MATCH (a) WHERE count(a) > 1").message().contains("`count(…)`"));
    assert!(perr("MATCH (a) WITH a AS b").message().contains("AS"));
}

#[test]
fn syntax_errors_with_positions() {
    use Code::*;
    let cases: &[(&str, Code, u32, u32)] = &[
        ("", CypherSyntax, 1, 1),
        ("   \n  ", CypherSyntax, 2, 3),
        ("// only a comment", CypherSyntax, 1, 18),
        ("WHERE a = 1", CypherSyntax, 1, 1),
        ("WITH a MATCH (a)", CypherSyntax, 1, 1),
        ("MATCH", CypherSyntax, 1, 6),
        ("MATCH (a]", CypherSyntax, 1, 9),
        ("MATCH (a)<-[:R]->(b)", CypherSyntax, 1, 10),
        ("MATCH (a)<-->(b)", CypherSyntax, 1, 10),
        ("MATCH (a)-[:R]>(b)", CypherSyntax, 1, 15),
        ("MATCH (a) WHERE", CypherSyntax, 1, 16),
        ("MATCH (a) WHERE a.x = 'abc", CypherUnterminatedString, 1, 23),
        ("MATCH (a)\n WHERE a.x = \"abc\\\"", CypherUnterminatedString, 2, 14),
        ("MATCH (a) WHERE a.x STARTS 'p'", CypherSyntax, 1, 28),
        ("MATCH (a) WHERE a IS 1", CypherSyntax, 1, 22),
        ("MATCH (a) WHERE (a.x = 1", CypherSyntax, 1, 25),
        ("MATCH (a) WHERE a.x = [1, 2", CypherSyntax, 1, 28),
        ("MATCH (a) WHERE a.x = 1 b", CypherSyntax, 1, 25),
        ("MATCH (a) WHERE a.x = $", CypherSyntax, 1, 23),
        ("MATCH (a) WHERE a. = 1", CypherSyntax, 1, 20),
        ("MATCH (a) /* unterminated", CypherSyntax, 1, 11),
        ("MATCH (ä) WHERE ä.x = 1 & 2", CypherSyntax, 1, 25),
        ("MATCH (a);", CypherSyntax, 1, 10),
        ("MATCH (a)-[:R:S]->(b)", CypherSyntax, 1, 14),
        ("MATCH (a) WITH", CypherSyntax, 1, 15),
        ("MATCH (a) WHERE a.x = ``", CypherSyntax, 1, 23),
    ];
    for (src, code, line, col) in cases {
        assert_eq!(fails(src), (*code, *line, *col), "{src}");
    }
    assert_eq!(perr("MATCH (a]").message(), "expected `)` but found `]`");
}

// ----- limits and robustness ------------------------------------------------------------

#[test]
fn too_long() {
    let limits = ParseLimits { max_len: 20, max_depth: 64 };
    let e = parse("MATCH (a) WHERE a.x = 12345", &limits).unwrap_err();
    assert_eq!(e.code(), Code::CypherTooLong);
    assert!(parse("MATCH (a)", &limits).is_ok());
    let big = format!("MATCH (a) WHERE a.x = '{}'", "x".repeat(1 << 20));
    assert_eq!(perr(&big).code(), Code::CypherTooLong);
    // A 1 MB string within a raised limit parses.
    let roomy = ParseLimits { max_len: 2 << 20, max_depth: 64 };
    assert!(parse(&big, &roomy).is_ok());
}

#[test]
fn too_deep_is_fast_and_safe() {
    let roomy = ParseLimits { max_len: 4 << 20, max_depth: 64 };
    let n = 100_000;
    let inputs = [
        format!("MATCH (a) WHERE {}a{}", "(".repeat(n), ")".repeat(n)),
        format!("MATCH (a) WHERE {}", "(".repeat(n)),
        format!("MATCH (a) WHERE {}a", "NOT ".repeat(n)),
        format!("MATCH (a) WHERE a IN {}", "[".repeat(n)),
        format!("MATCH (a) WHERE a IN {}1{}", "[".repeat(n), "]".repeat(n)),
        format!("MATCH (a) WHERE a{}", " AND a".repeat(n)),
        format!("MATCH (a) WHERE a{}", " OR a".repeat(n)),
        format!("MATCH (a) WHERE a{}", " IS NULL".repeat(n)),
        format!("MATCH (a) WHERE {}a", "NOT (".repeat(n)),
        format!("MATCH ({}", "{k: ".repeat(n)),
        format!("MATCH ({}", "{k: [".repeat(n)),
    ];
    let start = std::time::Instant::now();
    for s in &inputs {
        let e = parse(s, &roomy).unwrap_err();
        assert!(matches!(e.code(), Code::CypherTooDeep | Code::CypherUnsupported), "{}: {e}", &s[..30]);
    }
    assert_eq!(parse(&inputs[0], &roomy).unwrap_err().code(), Code::CypherTooDeep);
    assert_eq!(parse(&inputs[2], &roomy).unwrap_err().code(), Code::CypherTooDeep);
    assert_eq!(parse(&inputs[3], &roomy).unwrap_err().code(), Code::CypherTooDeep);
    assert_eq!(parse(&inputs[5], &roomy).unwrap_err().code(), Code::CypherTooDeep);
    assert!(start.elapsed().as_secs() < 5, "deep inputs took {:?}", start.elapsed());
    // Just inside the limit still parses.
    let ok = format!("MATCH (a) WHERE {}a{}", "(".repeat(60), ")".repeat(60));
    p(&ok);
    let ok = format!("MATCH (a) WHERE {}a", "NOT ".repeat(60));
    p(&ok);
    // 100k-element flat lists are wide, not deep.
    let wide = format!("MATCH (a) WHERE a IN [{}1]", "1, ".repeat(n));
    assert!(parse(&wide, &roomy).is_ok());
}

#[test]
fn configured_depth_is_capped() {
    let unlimited = ParseLimits { max_len: usize::MAX, max_depth: usize::MAX };
    let n = 100_000;
    let inputs = [
        format!("MATCH (a) WHERE {}a{}", "(".repeat(n), ")".repeat(n)),
        format!("MATCH (a) WHERE a IN {}1{}", "[".repeat(n), "]".repeat(n)),
        format!("MATCH (a) WHERE {}a", "NOT (".repeat(n)),
        format!("MATCH (a) WHERE a{}", " AND a".repeat(n)),
    ];
    // The parser caps any configured depth; 2 MiB is the smallest stack unoptimised code
    // runs on here (test threads), and release builds need about a seventh of it.
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            for s in &inputs {
                assert_eq!(parse(s, &unlimited).unwrap_err().code(), Code::CypherTooDeep);
            }
            let ok = format!("MATCH (a) WHERE {}a{}", "(".repeat(120), ")".repeat(120));
            assert!(parse(&ok, &unlimited).is_ok());
            let ok = format!("MATCH (a) WHERE a IN {}1{}", "[".repeat(120), "]".repeat(120));
            assert!(parse(&ok, &unlimited).is_ok());
        })
        .unwrap()
        .join()
        .unwrap();
    let shallow = ParseLimits { max_len: 1000, max_depth: 3 };
    assert!(parse("MATCH (a) WHERE (a.x = 1) AND b", &shallow).is_ok());
    assert_eq!(parse("MATCH (a) WHERE ((a.x = 1) AND b) OR c", &shallow).unwrap_err().code(), Code::CypherTooDeep);
    assert_eq!(parse("MATCH (a) WHERE a IN [[[1]]]", &shallow).unwrap_err().code(), Code::CypherTooDeep);
}

/// xorshift64*: deterministic, no dependencies.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_garbage_never_panics() {
    let pieces = [
        "MATCH", "match", " ", "\n", "(", ")", "[", "]", "{", "}", "-", "->", "<-", "--", ":", "|", "*", "..", ".", ",",
        "a", "subject", "`q``x`", "$p", "$", "'s\\'t'", "\"", "'", "\\u", "\\uD83D", "1", "-9223372036854775808", "1.5e",
        "0x", ".5", "WHERE", "AND", "OR", "XOR", "NOT", "IS", "NULL", "IN", "STARTS WITH", "CONTAINS", "=", "<>", "<", ">=",
        "=~", "WITH", "RETURN", "CALL", "USE", "OPTIONAL", "count(", "/*", "*/", "//", "é", "😀", "日本", "\u{0}", "\u{301}",
        "true", "[]", "()", "_X",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    for i in 0..20_000 {
        let s: String = if i % 2 == 0 {
            (0..rng.below(24)).map(|_| pieces[rng.below(pieces.len())]).collect()
        } else {
            let bytes: Vec<u8> = (0..rng.below(40)).map(|_| rng.next() as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        match parse(&s, &lim()) {
            Ok(q) => {
                parsed += 1;
                round_trip(&q);
            }
            Err(e) => {
                let loc = e.location();
                assert!(loc.line.is_some() && loc.column.is_some(), "{s:?}: {e}");
            }
        }
        // Mutate a known-good query too.
        let base = "MATCH (subject:Person)-[:OWNS|:HAS*1..3]->(resource:Car {c: $c}) WHERE resource.property.price <= 10.5 AND NOT subject.x IS NULL WITH subject";
        let mut chars: Vec<char> = base.chars().collect();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(chars.len() + 1);
            match rng.below(3) {
                0 if at < chars.len() => {
                    chars.remove(at);
                }
                _ => {
                    let piece = pieces[rng.below(pieces.len())];
                    for (k, c) in piece.chars().enumerate() {
                        chars.insert(at + k, c);
                    }
                }
            }
        }
        let s: String = chars.into_iter().collect();
        if let Ok(q) = parse(&s, &lim()) {
            parsed += 1;
            round_trip(&q);
        }
    }
    println!("random inputs: {parsed} of 40000 parsed");
}
