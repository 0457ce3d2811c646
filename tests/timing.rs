//! Cues start on the exact frame asked for, whatever the block size.

mod common;

use common::*;
use segue::control::Controller;
use segue::engine::command::Action;
use segue::engine::{Engine, EngineConfig, Outputs};
use segue::stream::loader::{Loader, LoaderConfig};
use serde_json::json;

const RATE: u32 = 48_000;

/// A scene at 0 with no bed: cue "a" (440 Hz, 0.5 s, starting at its peak) timed at 0.25 s, and
/// "b" (880 Hz) following "a" after 100 ms.
fn timed_and_follow_show(name: &str) -> segue::show::ShowFile {
    let dir = scratch(name);
    let a = sine_file(&dir, "a.wav", RATE, 440.0, 0.5, 0.5, std::f64::consts::FRAC_PI_2);
    let b = sine_file(&dir, "b.wav", RATE, 880.0, 0.5, 0.5, std::f64::consts::FRAC_PI_2);
    show_file(
        &dir,
        json!({
            "format": "segue-show/1",
            "scenes": [{ "id": "s", "at": 0, "cues": [
                { "id": "a", "file": a, "at": 0.25 },
                { "id": "b", "file": b, "follow": { "after": "a", "wait_ms": 100 } }
            ]}]
        }),
    )
}

#[test]
fn timed_cue_and_follow_cue_start_on_their_frames_at_every_block_size() {
    let file = timed_and_follow_show("onsets");
    for block in [1, 64, 512, 4096, 1000] {
        let out = render(file.clone(), block, 1.5);
        let cues = &out.cues[0];
        // Anything above float noise: the de-click ramp's first frame is already 1/240 of 0.5.
        let threshold = 1e-6;
        assert_eq!(onset(cues, 0, threshold), Some(12_000), "cue a at 0.25 s, block {block}");
        // "a" is 24,000 frames long and ends at 36,000; "b" waits 100 ms = 4,800 frames.
        // The end's de-click reaches zero on a's last frame (35,999); nothing sounds after it.
        assert!(cues[35_998].abs() > 0.0, "a still sounds at 35,998 (block {block})");
        assert!(cues[35_999..40_800].iter().all(|&s| s == 0.0), "silence between a and b (block {block})");
        assert_eq!(onset(cues, 36_000, threshold), Some(40_800), "follow cue b, block {block}");
        // And it is b that sounds there, not a.
        assert!(level_db(cues, RATE, 880.0, 0.9, 1.0) > -7.0);
        assert!(level_db(cues, RATE, 440.0, 0.9, 1.0) < -80.0);
    }
}

#[test]
fn output_is_bit_identical_for_block_sizes_1_64_512_4096() {
    // Resampled files, a looping bed, a crossfade, ducking, a follow and fades.
    let dir = scratch("blocks");
    let bed1 = sine_file(&dir, "bed1.wav", 44_100, 220.0, 0.4, 1.0, 0.0);
    let bed2 = sine_file(&dir, "bed2.wav", 44_100, 330.0, 0.4, 1.0, 0.0);
    let cue = sine_file(&dir, "cue.wav", 44_100, 1000.0, 0.5, 0.6, 1.0);
    let file = show_file(
        &dir,
        json!({
            "format": "segue-show/1", "end": 2.6, "panic_ms": 300,
            "scenes": [
                { "id": "one", "at": 0, "bed": { "file": bed1, "tempo_bpm": 240 },
                  "cues": [
                    { "id": "c", "file": cue, "at": 0.3, "fade_in_ms": 50, "fade_out_ms": 100, "duck_db": -10, "pan": 0.3 },
                    { "id": "d", "file": cue, "follow": { "after": "c", "wait_ms": 7 }, "gain_db": -6 }
                  ] },
                { "id": "two", "at": 1.61, "bed": { "file": bed2 },
                  "transition": { "fade_ms": 500, "curve": "s_curve", "quantize": "beat" } }
            ]
        }),
    );
    let reference = render(file.clone(), 512, 3.0);
    // The first bed fades in over the default 2 s transition and is ducked by "c": it is
    // well above silence by 1 s all the same.
    assert!(level_db(&reference.main[0], RATE, 220.0, 0.9, 1.1) > -40.0, "the render is not silent");
    for block in [1, 64, 4096, 333] {
        let out = render(file.clone(), block, 3.0);
        for (ch, (a, b)) in out.main.iter().zip(&reference.main).enumerate() {
            let first = a.iter().zip(b).position(|(x, y)| x.to_bits() != y.to_bits());
            assert_eq!(first, None, "block {block} differs from block 512 on channel {ch}");
        }
    }
}

#[test]
fn cue_starts_on_the_frame_of_its_midi_note_inside_a_block() {
    let dir = scratch("note");
    let tone = sine_file(&dir, "tone.wav", RATE, 600.0, 0.5, 0.5, std::f64::consts::FRAC_PI_2);
    let file = show_file(
        &dir,
        json!({ "format": "segue-show/1", "scenes": [{ "id": "s", "cues": [{ "id": "n", "file": tone, "note": 64 }] }] }),
    );
    for (block, at) in [(512usize, 1_037u64), (64, 1_037), (4096, 5_000)] {
        let (mut engine, control, loader_ends) = Engine::new(EngineConfig::new(RATE));
        let loader = Loader::spawn(LoaderConfig::live(RATE), loader_ends);
        let mut controller = Controller::new(file.clone(), RATE, control, loader);
        controller.send(Some(at), Action::Note { note: 64 }).unwrap();
        let total = 12_288;
        let mut out = vec![vec![0.0f32; total]; 6];
        let mut done = 0;
        while done < total {
            engine.poll();
            controller.poll();
            // A live engine never waits; the test waits before starting so the feed is armed.
            while !engine.is_ready(block) {
                std::thread::sleep(std::time::Duration::from_millis(1));
                engine.poll();
            }
            let n = block.min(total - done);
            let [ml, mr, bl, br, cl, cr] = &mut out[..] else { unreachable!() };
            engine.process(Outputs {
                main: [&mut ml[done..done + n], &mut mr[done..done + n]],
                bed: [&mut bl[done..done + n], &mut br[done..done + n]],
                cues: [&mut cl[done..done + n], &mut cr[done..done + n]],
            });
            done += n;
        }
        assert_eq!(onset(&out[0], 0, 1e-6), Some(at as usize), "note at frame {at}, block {block}");
    }
}

/// A show whose every sound is steady at the probed positions (no fade under way), at 48 kHz so
/// no resampler warm-up is involved.
fn chase_show(name: &str) -> segue::show::ShowFile {
    let dir = scratch(name);
    let bed1 = sine_file(&dir, "bed1.wav", RATE, 200.0, 0.4, 1.0, 0.0);
    let bed2 = sine_file(&dir, "bed2.wav", RATE, 300.0, 0.4, 1.0, 0.0);
    let a = sine_file(&dir, "a.wav", RATE, 700.0, 0.3, 1.0, 0.0);
    let b = sine_file(&dir, "b.wav", RATE, 1100.0, 0.3, 1.0, 0.0);
    show_file(
        &dir,
        json!({
            "format": "segue-show/1", "end": 6.0, "panic_ms": 200,
            "duck": { "depth_db": -9, "attack_ms": 100, "release_ms": 100 },
            "scenes": [
                { "id": "one", "at": 0, "bed": { "file": bed1, "tempo_bpm": 120 }, "transition": { "fade_ms": 0 },
                  "cues": [
                    { "id": "a", "file": a, "at": 0.5, "fade_in_ms": 400 },
                    { "id": "b", "file": b, "follow": { "after": "a", "wait_ms": 200 } }
                  ] },
                { "id": "two", "at": 2.9, "bed": { "file": bed2 },
                  "transition": { "fade_ms": 300, "quantize": "bar" } }
            ]
        }),
    )
}

#[test]
fn a_render_started_mid_show_sounds_like_the_whole_render_at_that_point() {
    let file = chase_show("chase");
    let whole = render(file.clone(), 512, 6.2);
    // During a's fade in (the duck's 100 ms attack is over by then), during a (ducked), in the
    // gap before the follow b, during b, while scene two waits for its bar (4.0 s), in the
    // middle of the 300 ms crossfade to the second bed, and on the second bed.
    for start in [0.75, 0.95, 1.6, 1.95, 3.1, 4.15, 4.6] {
        let options = segue::render::RenderOptions {
            start: Some(start),
            duration: Some(6.2 - start),
            block: 256,
            ..Default::default()
        };
        let part = segue::render::render_show(file.clone(), &options).unwrap();
        let offset = (start * RATE as f64).round() as usize;
        // After the 5 ms de-click of the located sounds (and of the duck) the two agree; voices
        // may sit in other slots and be summed in another order, hence a float tolerance.
        let from = 240;
        let mut worst = 0.0f32;
        for ch in 0..2 {
            for k in from..part.frames() {
                worst = worst.max((part.main[ch][k] - whole.main[ch][offset + k]).abs());
            }
        }
        assert!(worst < 1e-5, "started at {start} s: differs by up to {worst} from the whole render");
        assert!(
            level_db(&part.main[0], RATE, 200.0, 0.01, 0.1).max(level_db(&part.main[0], RATE, 300.0, 0.01, 0.1))
                > -30.0
        );
    }
}
