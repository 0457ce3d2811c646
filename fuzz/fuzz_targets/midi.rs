#![no_main]
//! Fuzz target: see `harness::midi`.

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::midi(data));
