//! Fuzz target: lakectl::fuzzing::row_filter (see src/fuzzing.rs for what it covers).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lakectl::fuzzing::row_filter(data));
