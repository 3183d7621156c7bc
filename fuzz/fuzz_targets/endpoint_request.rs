//! Fuzzes `azcord::fuzzing::endpoint_request`; its seed corpus is `fuzz/corpus/endpoint_request/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| azcord::fuzzing::endpoint_request(data));
