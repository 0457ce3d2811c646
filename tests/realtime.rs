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

/// The live player's device callback (`AudioSide::fill`: transport commands, the chase, the
/// engine, the output patch) over a demo-show run with play, GOs, a jump, a stop and a replay,
/// its control side answering on this thread between callbacks as the player's loop does.
#[test]
fn the_live_players_audio_callback_never_allocates() {
    use segue::app::audio::{AudioSide, ClockMap, Patch};
    use segue::control::chase::Chase;
    use segue::control::transport::{own, TransportCmd};
    use segue::control::Controller;
    use segue::engine::Engine;
    use segue::stream::loader::{Loader, LoaderConfig};
    use std::sync::Arc;

    let file = segue::show::load(std::path::Path::new("presets/demo/show.json")).unwrap();
    let rate = 48_000;
    // The player's own engine configuration (with the trace its performance log uses).
    let (engine, ends, loader_ends) = Engine::new(segue::app::engine_config(rate));
    let loader = Loader::spawn(LoaderConfig::live(rate), loader_ends);
    let mut controller = Controller::new(file, rate, ends, loader);
    let (to_desk, mut from_audio) = rtrb::RingBuffer::new(256);
    let (commands, mut transport) = own(0);
    let patch = Patch::parse("main=1-2,bed=3-4,cues=5-6").unwrap();
    let clock = Arc::new(ClockMap::new(rate));
    let mut side = AudioSide::new(engine, Chase::new(to_desk), patch, Box::new(commands), clock);
    let mut buffer = vec![0.0f32; 256 * 6];
    let before = violation_count();
    let mut peak = 0.0f32;
    for block in 0..1500 {
        match block {
            10 => transport.send(TransportCmd::Play).unwrap(),
            200 | 450 => controller.go(None).unwrap(),
            600 => transport.send(TransportCmd::Locate(30 * rate as u64)).unwrap(),
            1000 => transport.send(TransportCmd::Stop).unwrap(),
            1150 => transport.send(TransportCmd::Play).unwrap(),
            _ => {}
        }
        assert_no_alloc(|| side.fill(&mut buffer, 6));
        peak = buffer.iter().fold(peak, |p, s| p.max(s.abs()));
        while let Ok(msg) = from_audio.pop() {
            controller.follow(msg).unwrap();
        }
        let _ = controller.poll();
        // About twice real time: the loader keeps ahead as it does live (it runs at hundreds of
        // times real time), and the test stays short.
        std::thread::sleep(std::time::Duration::from_micros(2600));
    }
    assert!(peak > 0.05, "the show played (peak {peak})");
    let calls = violation_count() - before;
    assert_eq!(calls, 0, "allocator called {calls} times inside the player's audio callback");
}
