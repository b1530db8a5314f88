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

#[test]
fn every_target_has_a_seed_directory_and_a_fuzz_target() {
    for t in fuzz_checks::TARGETS {
        assert!(seeds_root().join(t).is_dir(), "fuzz/seeds/{t} is missing");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fuzz/fuzz_targets/{t}.rs"));
        assert!(src.is_file(), "{} is missing", src.display());
    }
}
