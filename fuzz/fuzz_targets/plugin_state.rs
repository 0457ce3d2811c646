#![no_main]
//! Fuzz target: see `harness::plugin_state`.

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::plugin_state(data));
