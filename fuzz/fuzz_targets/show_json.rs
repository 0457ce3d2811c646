#![no_main]
//! Fuzz target: see `harness::show_json`.

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::show_json(data));
