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
/// engine, the output patch, LTC out) over a demo-show run with play, GOs, a jump, a stop and a replay,
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
    let patch = Patch::parse("main=1-2,bed=3-4,cues=5-6,ltc=7").unwrap();
    let clock = Arc::new(ClockMap::new(rate));
    let zero =
        segue::show::timecode::Timecode::parse("01:00:00:00", segue::show::timecode::FrameRate::Fps23_976).unwrap();
    let mut side = AudioSide::new(engine, Chase::new(to_desk), patch, Box::new(commands), clock)
        .with_ltc_out(segue::app::sync::ltc_out::LtcOut::new(zero, rate));
    let mut buffer = vec![0.0f32; 256 * 7];
    let before = violation_count();
    let (mut peak, mut ltc_peak) = (0.0f32, 0.0f32);
    for block in 0..1500 {
        match block {
            10 => transport.send(TransportCmd::Play).unwrap(),
            200 => controller.go(None).unwrap(),
            // The demo has one GO cue: a second GO finds nothing standing by and is refused
            // in words (nothing reaches the audio thread).
            450 => assert!(controller.go(None).is_err()),
            600 => transport.send(TransportCmd::Locate(30 * rate as u64)).unwrap(),
            1000 => transport.send(TransportCmd::Stop).unwrap(),
            1150 => transport.send(TransportCmd::Play).unwrap(),
            _ => {}
        }
        assert_no_alloc(|| side.fill(&mut buffer, 7));
        for frame in buffer.chunks(7) {
            peak = peak.max(frame[0].abs());
            ltc_peak = ltc_peak.max(frame[6].abs());
        }
        while let Ok(msg) = from_audio.pop() {
            controller.follow(msg).unwrap();
        }
        let _ = controller.poll();
        // About twice real time: the loader keeps ahead as it does live (it runs at hundreds of
        // times real time), and the test stays short.
        std::thread::sleep(std::time::Duration::from_micros(2600));
    }
    assert!(peak > 0.05, "the show played (peak {peak})");
    assert!(ltc_peak > 0.1, "LTC went out (peak {ltc_peak})");
    let calls = violation_count() - before;
    assert_eq!(calls, 0, "allocator called {calls} times inside the player's audio callback");
}

/// The live player's device callback chasing LTC: the decoder hearing it, the `Lock` and the
/// varispeed resampler between engine and device, over a lock, 12 s of drift at +500 ppm and a
/// jump.
#[test]
fn the_live_players_audio_callback_chasing_ltc_never_allocates() {
    use segue::app::audio::{AudioSide, ClockMap, Patch};
    use segue::app::sync::libltc::{Decoder, Encoder, Label};
    use segue::app::sync::lock::{Freewheel, Lock, Reading, Settings};
    use segue::control::chase::{Chase, Transport};
    use segue::control::sync::SyncBoard;
    use segue::control::transport::TransportSource;
    use segue::control::Controller;
    use segue::engine::Engine;
    use segue::show::timecode::{FrameRate, Timecode};
    use segue::stream::loader::{Loader, LoaderConfig};
    use std::sync::Arc;

    /// LTC heard in each callback, as the player's JACK input would hand it over.
    struct Heard {
        decoder: Decoder,
        ltc: Vec<f32>,
        at: usize,
        now: u64,
        lock: Lock,
    }
    impl TransportSource for Heard {
        fn steer(&mut self, ahead: f64, block: u64) -> Option<f64> {
            let end = (self.at + block as usize).min(self.ltc.len());
            self.decoder.write(&self.ltc[self.at..end], self.now as i64);
            self.at = end;
            while let Some(h) = self.decoder.read() {
                self.lock.hear(Reading::ltc(h.label, h.start as u64, (h.end - h.start + 1) as u32, h.reverse));
            }
            let speed = self.lock.steer(self.now, ahead, block);
            self.now += block;
            Some(speed)
        }
        fn at_block(&mut self) -> Transport {
            self.lock.transport()
        }
        fn advance(&mut self, frames: u64) {
            self.lock.advance(frames);
        }
    }

    let file = segue::show::load(std::path::Path::new("presets/demo/show.json")).unwrap();
    let rate = 48_000;
    let fps = FrameRate::Fps23_976;
    // 12 s of LTC from 01:00:20:00, 500 ppm fast, then a jump to 01:00:50:00 (made before the
    // callback runs: the encoder's own buffers are not the player's).
    let mut ltc = Vec::new();
    for (from, secs) in [("01:00:20:00", 12.0), ("01:00:50:00", 4.0)] {
        let mut enc = Encoder::new(rate as f64 / 1.0005, fps, -18.0);
        enc.set(Label::of(Timecode::parse(from, fps).unwrap().frames, fps));
        let end = ltc.len() + (secs * rate as f64) as usize;
        while ltc.len() < end {
            enc.frame(|b| ltc.extend(b.iter().map(|&x| Encoder::sample(x))));
        }
    }
    let zero = Timecode::parse("01:00:00:00", fps).unwrap();
    let (events, mut said) = rtrb::RingBuffer::new(64);
    let settings = Settings { sample_rate: rate, show_rate: fps, zero, freewheel: Freewheel::Frames(8), points: 32 };
    let heard = Heard {
        decoder: Decoder::new(2000),
        ltc,
        at: 0,
        now: 0,
        lock: Lock::new(settings, events, SyncBoard::default()),
    };

    let (engine, ends, loader_ends) = Engine::new(segue::app::engine_config(rate));
    let loader = Loader::spawn(LoaderConfig::live(rate), loader_ends);
    let mut controller = Controller::new(file, rate, ends, loader);
    let (to_desk, mut from_audio) = rtrb::RingBuffer::new(256);
    let patch = Patch::parse("main=1-2,bed=3-4,cues=5-6").unwrap();
    let clock = Arc::new(ClockMap::new(rate));
    let mut side = AudioSide::new(engine, Chase::new(to_desk), patch, Box::new(heard), clock);
    let mut buffer = vec![0.0f32; 256 * 6];
    let before = violation_count();
    let mut peak = 0.0f32;
    for _ in 0..(16 * rate as usize / 256) {
        assert_no_alloc(|| side.fill(&mut buffer, 6));
        peak = buffer.iter().step_by(6).fold(peak, |p, s| p.max(s.abs()));
        while let Ok(msg) = from_audio.pop() {
            controller.follow(msg).unwrap();
        }
        let _ = controller.poll();
        std::thread::sleep(std::time::Duration::from_micros(1300));
    }
    let said: Vec<_> = std::iter::from_fn(|| said.pop().ok()).collect();
    assert!(said.iter().any(|e| matches!(e, segue::control::sync::SyncEvent::Relocated { .. })), "{said:?}");
    assert!(peak > 0.05, "the show played (peak {peak})");
    let calls = violation_count() - before;
    assert_eq!(calls, 0, "allocator called {calls} times inside the callback chasing LTC");
}
