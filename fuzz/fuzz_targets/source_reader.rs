//! Fuzz target: lakectl::fuzzing::source_reader (see src/fuzzing.rs for what it covers).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lakectl::fuzzing::source_reader(data));
