//! Binary snapshots: a reloaded engine answers exactly like the original; damaged or forged
//! bytes are refused with a typed error and leave the engine as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use kbac::{Code, Engine, EngineConfig, EvalOptions};

fn scenario(file: &str) -> String {
    std::fs::read_to_string(format!("{}/../shared/scenarios/step-up-laptop/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn engine() -> Engine {
    let mut e = Engine::new(EngineConfig::default());
    e.load_graph_json(&scenario("nodes.json")).unwrap();
    e.load_graph_json(&scenario("relationships.json")).unwrap();
    // properties of every kind, labels, metadata and relationship properties survive too
    e.load_graph_json(r#"{"nodes":[{"external_id":"x","type":"Thing","labels":["A","B"],"properties":[
        {"type":"s","value":"é✓"},{"type":"i","value":-7},{"type":"f","value":1.5},{"type":"b","value":true},
        {"type":"l","value":["a",1,false]},{"type":"m","value":"v","metadata":{"source":"BRREG","assurance_level":2,"custom_metadata":{"k":"v"}}}]}],
        "relationships":[{"source":{"external_id":"x","type":"Thing"},"target":{"external_id":"alice","type":"Person"},"type":"KNOWS","properties":[{"type":"since","value":2024}]}]}"#).unwrap();
    e.delete_nodes_json(r#"{"nodes":[{"external_id":"listek","type":"Ticket"}]}"#).unwrap();
    e.set_policies_json(&scenario("policy-record.json")).unwrap();
    e
}

fn answers(e: &Engine) -> Vec<String> {
    let claims = EvalOptions { now: Some(1_775_490_000), claims: Some(serde_json::json!({"sub":"alice","exp":1_775_490_150})), token: None };
    let mut out = Vec::new();
    for who in ["alice", "karel", "knightrider", "satchmo", "nobody"] {
        for laptop in ["airbook-xyz", "other"] {
            let r = format!(r#"{{"subject":{{"type":"Token","id":"{who}"}},"action":{{"name":"CAN_SERVICE"}},"resource":{{"type":"Laptop","id":"{laptop}"}}}}"#);
            out.push(e.evaluate_json(&r, &EvalOptions::default()));
            out.push(e.explain_json(&r, &claims));
        }
    }
    out.push(e.search_resources_json(r#"{"subject":{"type":"Token","id":"alice"},"action":{"name":"CAN_SERVICE"},"resource":{"type":"Laptop"}}"#, &claims));
    out
}

#[test]
fn reloaded_engine_answers_identically() {
    let e = engine();
    let bytes = e.snapshot_bytes();
    assert_eq!(&bytes[..8], b"KBACSNAP");
    let mut r = Engine::new(EngineConfig::default());
    let change = r.load_snapshot(&bytes).unwrap();
    assert_eq!(change.nodes, e.stats().nodes);
    assert_eq!(r.stats(), e.stats());
    assert_eq!(answers(&r), answers(&e));
    // and the reloaded engine writes the same bytes again
    assert_eq!(r.snapshot_bytes(), bytes);
    // updates keep working after a reload
    r.load_graph_json(r#"{"relationships":[{"source":{"external_id":"satchmo","type":"Person"},"target":{"external_id":"airbook-xyz","type":"Laptop"},"type":"OWNS"}]}"#).unwrap();
    let req = r#"{"subject":{"type":"Token","id":"satchmo"},"action":{"name":"CAN_SERVICE"},"resource":{"type":"Laptop","id":"airbook-xyz"}}"#;
    let claims = EvalOptions { now: Some(0), claims: Some(serde_json::json!({"sub":"satchmo","exp":1_775_490_150})), token: None };
    assert_eq!(r.evaluate_json(req, &claims), r#"{"decision":true}"#);
}

#[test]
fn damaged_snapshots_are_refused_and_change_nothing() {
    let e = engine();
    let bytes = e.snapshot_bytes();
    let mut target = engine();
    let before = answers(&target);
    // every truncation
    for cut in (0..bytes.len()).step_by(7) {
        let err = target.load_snapshot(&bytes[..cut]).unwrap_err();
        assert!(matches!(err.code(), Code::SnapshotCorrupt | Code::SnapshotChecksum), "{err}");
    }
    // a flipped bit in the body is caught by the checksum
    let mut flipped = bytes.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x10;
    assert_eq!(target.load_snapshot(&flipped).unwrap_err().code(), Code::SnapshotChecksum);
    // an unknown format version
    let mut v2 = bytes.clone();
    v2[8] = 2;
    assert_eq!(target.load_snapshot(&v2).unwrap_err().code(), Code::SnapshotVersion);
    // JSON is not a snapshot
    assert_eq!(target.load_snapshot(b"{\"nodes\":[]}").unwrap_err().code(), Code::SnapshotCorrupt);
    assert_eq!(answers(&target), before);
}

#[test]
fn forged_bodies_with_valid_checksums_never_panic() {
    // Re-checksum mutated bodies so the structural checks (not the checksum) must catch them.
    let bytes = engine().snapshot_bytes();
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut target = Engine::new(EngineConfig::default());
    for _ in 0..3000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut m = bytes.clone();
        let pos = 32 + (state as usize % (m.len() - 32));
        m[pos] = (state >> 32) as u8;
        let body = m[32..].to_vec();
        let sum = kbac_checksum(&body);
        m[24..32].copy_from_slice(&sum.to_le_bytes());
        let _ = target.load_snapshot(&m);
    }
}

/// Same function as the engine's (kept in sync by `reloaded_engine_answers_identically`, which
/// would fail if a re-checksummed copy were rejected).
fn kbac_checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h: u64 = 0x243F_6A88_85A3_08D3 ^ (bytes.len() as u64);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        h = (h ^ u64::from_le_bytes(c.try_into().unwrap())).wrapping_mul(K).rotate_left(29);
    }
    for (i, b) in chunks.remainder().iter().enumerate() {
        h = (h ^ (u64::from(*b) << (i * 8))).wrapping_mul(K).rotate_left(29);
    }
    h ^ (h >> 31)
}

#[test]
fn test_checksum_matches_the_engine() {
    let bytes = engine().snapshot_bytes();
    assert_eq!(kbac_checksum(&bytes[32..]).to_le_bytes(), bytes[24..32]);
}
