//! Fuzz target: lakectl::fuzzing::policy_json (see src/fuzzing.rs for what it covers).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lakectl::fuzzing::policy_json(data));
