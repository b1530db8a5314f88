#![no_main]
//! See `tests/common/fuzz_checks.rs` for what this target checks.

#[path = "../../tests/common/fuzz_checks.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::check_snapshot_load(data));
