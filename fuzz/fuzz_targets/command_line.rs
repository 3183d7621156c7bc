//! Fuzzes `azcord::fuzzing::command_line`; its seed corpus is `fuzz/corpus/command_line/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| azcord::fuzzing::command_line(data));
