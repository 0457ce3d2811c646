#![no_main]
//! Fuzz target: see `harness::audio_file`.

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::audio_file(data));
