//! The audio thread's rules, proved: no allocation or free inside `Engine::process` during whole
//! renders, and a broken file is reported while the rest of the show plays on.

mod common;

use common::*;
use nice_assert_no_alloc::{assert_no_alloc, violation_count};
use segue::control::Severity;
use segue::render::{render_show_with, RenderOptions};
use serde_json::json;

// The global allocator is nice-plug's checking allocator (its `assert_process_allocs` feature):
// inside `assert_no_alloc` every allocation, reallocation and free counts as a violation of the
// thread it happened on (in debug builds, which is how the tests run).

/// Renders `file`, counting the allocator calls made inside `process`; returns (calls, blocks).
fn count_in_process(file: segue::show::ShowFile, block: usize) -> (usize, usize) {
    let before = violation_count();
    let mut blocks = 0;
    let options = RenderOptions { block, ..RenderOptions::default() };
    let out = render_show_with(file, &options, |engine, outputs| {
        assert_no_alloc(|| engine.process(outputs));
        blocks += 1;
    })
    .unwrap();
    assert!(out.frames() > 0);
    ((violation_count() - before) as usize, blocks)
}

#[test]
fn the_audio_thread_never_allocates_during_a_full_render_of_the_demo_show() {
    let file = segue::show::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/presets/demo/show.json")))
        .expect("the demo show loads");
    for block in [64, 4096] {
        let (calls, blocks) = count_in_process(file.clone(), block);
        assert!(blocks > 100, "the render ran ({blocks} blocks)");
        assert_eq!(calls, 0, "allocator called {calls} times inside process (block {block})");
    }
}

#[test]
fn the_audio_thread_never_allocates_through_retriggers_stops_follows_and_panic() {
    let dir = scratch("noalloc");
    let bed = sine_file(&dir, "bed.wav", 44_100, 200.0, 0.3, 1.0, 0.0);
    let cue = sine_file(&dir, "cue.wav", 44_100, 900.0, 0.3, 0.4, 0.0);
    let file = show_file(
        &dir,
        json!({
            "format": "segue-show/1", "end": 3.0, "panic_ms": 200,
            "scenes": [
                { "id": "a", "at": 0, "bed": { "file": bed },
                  "cues": [
                    { "id": "x", "file": cue, "at": 0.1 },
                    { "id": "y", "file": cue, "follow": { "after": "x", "wait_ms": 0 } },
                    { "id": "z", "file": cue, "follow": { "after": "y", "wait_ms": 10 }, "loop": true }
                  ] },
                { "id": "b", "at": 2.0, "bed": { "file": bed }, "transition": { "quantize": "bar" } }
            ]
        }),
    );
    let (calls, _) = count_in_process(file, 256);
    assert_eq!(calls, 0, "allocator called {calls} times inside process");
}

#[test]
fn a_file_that_breaks_during_the_show_is_reported_and_the_rest_plays_on() {
    let dir = scratch("broken");
    let bed = sine_file(&dir, "bed.wav", 48_000, 200.0, 0.5, 1.0, 0.0);
    let good = sine_file(&dir, "good.wav", 48_000, 1000.0, 0.5, 1.0, 0.0);
    let bad = sine_file(&dir, "bad.wav", 48_000, 700.0, 0.5, 1.0, 0.0);
    let file = show_file(
        &dir,
        json!({
            "format": "segue-show/1",
            "scenes": [{ "id": "s", "at": 0, "bed": { "file": bed }, "transition": { "fade_ms": 0 },
                "cues": [
                    { "id": "bad", "file": bad, "at": 0.5, "duck_db": 0 },
                    { "id": "good", "file": good, "at": 1.0, "duck_db": 0 }
                ] }]
        }),
    );
    // The show was checked; then the file went away (a drive unplugged, a file overwritten).
    std::fs::remove_file(dir.join("bad.wav")).unwrap();
    let out = render_noting(file, 512, 2.0);
    let errors: Vec<String> =
        out.notices.iter().filter(|n| n.severity == Severity::Error).map(|n| n.to_string()).collect();
    assert!(
        errors.iter().any(|e| e.contains("cue \"bad\"") && e.contains("bad.wav")),
        "the broken cue is named with its file: {errors:?}"
    );
    // The bed and the other cue sound as they should; the broken cue is silence.
    assert!((level_db(&out.main[0], RATE, 200.0, 0.6, 0.9) - db(0.5)).abs() < 0.1);
    assert!((level_db(&out.main[0], RATE, 1000.0, 1.2, 1.8) - db(0.5)).abs() < 0.1);
    assert!(level_db(&out.main[0], RATE, 700.0, 0.6, 0.9) < -100.0);
}

const RATE: u32 = 48_000;

#[test]
fn the_allocation_counter_does_see_an_allocation_inside_process() {
    let before = violation_count();
    assert_no_alloc(|| {
        let v = std::hint::black_box(vec![1u8; 16]);
        drop(v);
    });
    assert_eq!(violation_count() - before, 2, "one allocation and one free");
}
