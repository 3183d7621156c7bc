//! Fuzzes `azcord::fuzzing::interaction`; its seed corpus is `fuzz/corpus/interaction/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| azcord::fuzzing::interaction(data));
