//! `docs/errors.md` lists every error code exactly once with its summary; codes are unique and
//! well-formed. Regenerate the table with `KBAC_BLESS=1 cargo test --test error_codes`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use kbac::Code;
use std::collections::HashSet;

fn table() -> String {
    let mut s = String::from("| code | meaning |\n|---|---|\n");
    for c in Code::ALL {
        s.push_str(&format!("| `{}` | {} |\n", c.as_str(), c.summary().replace('|', "\\|")));
    }
    s
}

#[test]
fn codes_are_unique_and_well_formed() {
    let mut seen = HashSet::new();
    for c in Code::ALL {
        assert!(seen.insert(c.as_str()), "duplicate code {}", c.as_str());
        assert!(c.as_str().chars().all(|ch| ch.is_ascii_lowercase() || ch == '.' || ch == '_'), "{}", c.as_str());
        assert!(!c.summary().is_empty());
    }
}

#[test]
fn docs_list_every_code() {
    let path = format!("{}/docs/errors.md", env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let begin = "<!-- codes:begin -->\n";
    let end = "<!-- codes:end -->";
    let want = table();
    if std::env::var_os("KBAC_BLESS").is_some() {
        let (head, tail) = match (doc.find(begin), doc.find(end)) {
            (Some(b), Some(e)) => (doc[..b].to_string(), doc[e + end.len()..].to_string()),
            _ => ("# Error codes\n\n".to_string(), "\n".to_string()),
        };
        std::fs::write(&path, format!("{head}{begin}{want}{end}{tail}")).unwrap();
        return;
    }
    let b = doc.find(begin).expect("docs/errors.md lacks the codes:begin marker") + begin.len();
    let e = doc.find(end).expect("docs/errors.md lacks the codes:end marker");
    assert_eq!(&doc[b..e], want, "docs/errors.md is out of date: run KBAC_BLESS=1 cargo test --test error_codes");
}

#[test]
fn messages_follow_the_style() {
    // One instance per family, rendered: lowercase start, no trailing period, one line.
    let mut e = kbac::Engine::new(kbac::EngineConfig::default());
    let errs = [
        e.load_graph_json("{").unwrap_err(),
        e.load_graph_json(r#"{"nodes":[{"external_id":"","type":"P"}]}"#).unwrap_err(),
        e.set_policies_json(r#"{"meta":{"policy_version":"9"}}"#).unwrap_err(),
        e.set_policies_json(r#"{"meta":{"policy_version":"2.0-kbac"},"subject":{"type":"P"},"actions":["A"],"resource":{"type":"R"},"condition":{"cypher":"MATCH (subject) RETURN subject"}}"#).unwrap_err(),
    ];
    for err in errs {
        let m = err.message();
        assert!(m.chars().next().is_some_and(|c| !c.is_uppercase()), "{m}");
        assert!(!m.ends_with('.') && !m.contains('\n'), "{m}");
    }
}
