//! The fuzz targets' inputs under `cargo test` (#8): every committed seed (`fuzz/seeds/TARGET/`)
//! and every input a fuzzer found that crashed, hung or ran away with memory
//! (`fuzz/regressions/TARGET/`, fixed since) goes through the same harness the fuzz target
//! runs (`fuzz/harness.rs`), so a finding stays fixed without a fuzzer in CI.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

/// Runs every file under `fuzz/{seeds,regressions}/target/` through `run`; returns how many.
fn replay(target: &str, run: fn(&[u8])) -> usize {
    let mut count = 0;
    for kind in ["seeds", "regressions"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(kind).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let data = std::fs::read(&path).unwrap();
            // A panic names the input that caused it.
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{} panicked", path.display());
            count += 1;
        }
    }
    count
}

#[test]
fn show_files_from_the_fuzzer_are_answered_without_a_panic() {
    assert!(replay("show_json", harness::show_json) >= 3, "the show seeds are there");
}

#[test]
fn plugin_states_from_the_fuzzer_are_answered_without_a_panic() {
    assert!(replay("plugin_state", harness::plugin_state) >= 2, "the plugin state seeds are there");
}

#[test]
fn osc_and_slip_from_the_fuzzer_are_answered_without_a_panic() {
    assert!(replay("osc", harness::osc) >= 14, "the OSC seeds are there");
}

#[test]
fn midi_from_the_fuzzer_is_answered_without_a_panic() {
    assert!(replay("midi", harness::midi) >= 9, "the MIDI seeds are there");
}

#[test]
fn audio_files_from_the_fuzzer_are_answered_without_a_panic() {
    assert!(replay("audio_file", harness::audio_file) >= 18, "the audio seeds are there");
}
