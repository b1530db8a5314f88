//! Replays the committed fuzz seed corpus (`fuzz/seeds/<target>/*`) through the same checks
//! the `cargo fuzz` targets run (`tests/common/fuzz_checks.rs`), so CI exercises every seed
//! without libFuzzer or nightly. `KBAC_FUZZ_REPLAY=<dir>` additionally replays a directory
//! laid out the same way (e.g. a grown `fuzz/corpus`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[path = "common/fuzz_checks.rs"]
mod fuzz_checks;

use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

fn replay(root: &Path, target: &str) -> usize {
    let mut n = 0;
    for f in files(&root.join(target)) {
        let data = std::fs::read(&f).unwrap();
        let result = std::panic::catch_unwind(|| fuzz_checks::check(target, &data));
        assert!(result.is_ok(), "{target}: seed {} fails its check", f.display());
        n += 1;
    }
    n
}

fn seeds_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds")
}

macro_rules! replay_test {
    ($name:ident) => {
        #[test]
        fn $name() {
            let target = stringify!($name);
            let n = replay(&seeds_root(), target);
            assert!(n > 0, "no seeds in fuzz/seeds/{target}");
            if let Ok(extra) = std::env::var("KBAC_FUZZ_REPLAY") {
                let m = replay(Path::new(&extra), target);
                println!("{target}: {n} seeds + {m} from {extra}");
            } else {
                println!("{target}: {n} seeds");
            }
        }
    };
}

replay_test!(cypher_roundtrip);
replay_test!(policy_json);
replay_test!(capture_batch);
replay_test!(authzen_request);
replay_test!(jwt_verify);
replay_test!(snapshot_load);

/// The harness's copy of the snapshot checksum still matches the engine's: sealing a real
/// snapshot reproduces it byte for byte.
#[test]
fn snapshot_seal_reproduces_real_snapshots() {
    let e = fuzz_checks::fixture_engine();
    let real = e.snapshot_bytes();
    assert_eq!(fuzz_checks::seal(&real), real);
    let mut empty = kbac::Engine::new(kbac::EngineConfig::default());
    let real = empty.snapshot_bytes();
    assert_eq!(fuzz_checks::seal(&real), real);
    empty.load_snapshot(&fuzz_checks::seal(&real[32..])).unwrap();
}

/// Writes the binary seeds of `snapshot_load` (snapshots cannot be written by
/// fuzz/make_seeds.py): `cargo test --test fuzz_replay -- --ignored write_snapshot_seeds`.
#[test]
#[ignore = "regenerates fuzz/seeds/snapshot_load"]
fn write_snapshot_seeds() {
    let dir = seeds_root().join("snapshot_load");
    std::fs::create_dir_all(&dir).unwrap();
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    let e = fuzz_checks::fixture_engine();
    seeds.push(("fixture-with-policies".into(), e.snapshot_bytes()));
    seeds.push(("fixture-graph-only".into(), kbac::graph::snapshot::write(e.graph(), None)));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for case in ["tests/interop/idp", "tests/cases/varlength-trails", "tests/cases/property-metadata", "tests/cases/pattern-inline-maps-and-labels"] {
        let dir = root.join(case);
        let mut g = kbac::Engine::new(kbac::EngineConfig::default());
        if g.load_graph_json(&std::fs::read_to_string(dir.join("graph.json")).unwrap()).is_err() {
            continue;
        }
        let _ = g.set_policies_json(&std::fs::read_to_string(dir.join("policies.json")).unwrap());
        let name = case.rsplit('/').next().unwrap().to_string();
        seeds.push((name, g.snapshot_bytes()));
    }
    let mut tiny = kbac::Engine::new(kbac::EngineConfig::default());
    tiny.load_graph_json(r#"{"nodes":[{"external_id":"a","type":"Person","is_identity":true,"labels":["L"],"properties":[{"type":"n","value":[1,"x",true]}]},{"external_id":"b","type":"Car"}],
        "relationships":[{"source":{"external_id":"a","type":"Person"},"target":{"external_id":"b","type":"Car"},"type":"OWNS","properties":[{"type":"since","value":2}]}]}"#).unwrap();
    tiny.delete_nodes_json(r#"{"nodes":[{"external_id":"b","type":"Car"}]}"#).unwrap();
    seeds.push(("tiny-with-a-deleted-node".into(), tiny.snapshot_bytes()));
    for (name, bytes) in seeds {
        assert!(bytes.len() < 16_000, "{name}: {} bytes", bytes.len());
        std::fs::write(dir.join(format!("{name}.snap")), bytes).unwrap();
    }
}

#[test]
fn every_target_has_a_seed_directory_and_a_fuzz_target() {
    for t in fuzz_checks::TARGETS {
        assert!(seeds_root().join(t).is_dir(), "fuzz/seeds/{t} is missing");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fuzz/fuzz_targets/{t}.rs"));
        assert!(src.is_file(), "{} is missing", src.display());
    }
}
