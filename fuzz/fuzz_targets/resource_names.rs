//! Fuzzes `azcord::fuzzing::resource_names`; its seed corpus is `fuzz/corpus/resource_names/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| azcord::fuzzing::resource_names(data));
