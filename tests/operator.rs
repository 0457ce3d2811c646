//! What the operator's commands do to the sound: GO, stop, panic, levels, retrigger, a missing
//! file, and a live stream that runs dry. Driven through the `Controller` with a real engine and
//! loader, block by block, the way a live front end drives them.

mod common;

use std::f64::consts::FRAC_PI_2;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use segue::control::Severity;
use segue::engine::command::{Action, Command, Event, Level, LoaderMsg, Problem, Retired};
use segue::engine::feed::{Feed, Head};
use segue::engine::{Engine, EngineConfig, Outputs};
use serde_json::json;

const RATE: u32 = 48_000;
const BLOCK: usize = 512;
/// A steady sine's level, measured by the Hann-windowed projection over 100 ms, is within
/// 0.1 dB of its true level.
const ACCURACY_DB: f64 = 0.1;
/// Anything above float noise: a de-click ramp's first frame is already 1/240 of 0.5.
const ONSET: f32 = 1e-6;

/// The level of a 0.5 sine (every test sound here has that amplitude).
fn full() -> f64 {
    db(0.5)
}

/// The smooth-sine bound on the second difference (see `levels.rs`): what the sines `f` at
/// amplitudes `a` can reach at most, twice over for the fades' own curvature.
fn click_bound(f: &[(f64, f64)]) -> f64 {
    2.0 * f.iter().map(|(a, f)| a * (2.0 * std::f64::consts::PI * f / RATE as f64).powi(2)).sum::<f64>()
}

fn cue_index(live: &Live, id: &str) -> u32 {
    live.controller.cue_index(id).unwrap()
}

#[test]
fn go_starts_manual_cues_in_list_order_on_their_frames_and_go_past_the_last_one_only_warns() {
    let dir = scratch("go");
    // Manual cues (400, 500, 600 Hz) with a timed, a note and a follow cue in between, which GO
    // must pass over. Each starts at its peak so its first frame is above zero.
    let tone = |name: &str, freq: f64| sine_file(&dir, name, RATE, freq, 0.5, 0.2, FRAC_PI_2);
    let file = show_file(
        &dir,
        json!({
            "format": "segue-show/1",
            "scenes": [{ "id": "s", "cues": [
                { "id": "one", "file": tone("one.wav", 400.0) },
                { "id": "timed", "file": tone("timed.wav", 1000.0), "at": 0.1 },
                { "id": "two", "file": tone("two.wav", 500.0) },
                { "id": "noted", "file": tone("noted.wav", 1100.0), "note": 60 },
                { "id": "followed", "file": tone("followed.wav", 1200.0), "follow": { "after": "noted" } },
                { "id": "three", "file": tone("three.wav", 600.0) }
            ] }]
        }),
    );
    let mut live = Live::new(file);
    // Frames inside blocks of 512, not on their edges.
    let gos = [1_037usize, 20_011, 39_500, 58_000];
    for at in gos {
        live.controller.go(Some(at as u64)).unwrap();
    }
    let out = live.run(72_000, BLOCK);
    let x = &out[0];
    // Each cue lasts 0.2 s = 9,600 frames; between them and after the last, silence.
    let mut from = 0;
    for &at in &gos[..3] {
        assert_eq!(onset(x, from, ONSET), Some(at), "a cue starts on the GO at frame {at}");
        from = at + 9_600;
    }
    assert_eq!(onset(x, from, ONSET), None, "the fourth GO starts nothing");
    // In list order: one, two, three; never the timed, note or follow cues.
    let all = [400.0, 500.0, 600.0, 1000.0, 1100.0, 1200.0];
    for (&at, want) in gos.iter().zip([400.0, 500.0, 600.0]) {
        let t = at as f64 / RATE as f64 + 0.05;
        for f in all {
            let level = level_db(x, RATE, f, t, t + 0.1);
            if f == want {
                // The file's own level: unity gain, centre pan.
                assert!((level - full()).abs() < ACCURACY_DB, "{f} Hz at {level:.2} dB after the GO at {at}");
            } else {
                // Leakage of a 0.5 sine 100 Hz or more away stays below -65 dB in a 100 ms window.
                assert!(level < -65.0, "{f} Hz at {level:.2} dB after the GO at {at}: not the next manual cue");
            }
        }
    }
    let at_end: Vec<&segue::control::Notice> =
        live.notices.iter().filter(|n| matches!(n.event, Some(Event::GoAtEnd { .. }))).collect();
    assert_eq!(at_end.len(), 1, "one notice for the GO with nothing left: {:?}", live.notices);
    assert_eq!(at_end[0].event, Some(Event::GoAtEnd { at: 58_000 }));
    assert_eq!(at_end[0].severity, Severity::Warning);
}

#[test]
fn stopped_cue_fades_out_over_its_fade_and_does_not_start_its_follower_but_a_completed_one_does() {
    let dir = scratch("stop");
    let file = show_file(
        &dir,
        json!({
            "format": "segue-show/1",
            "scenes": [{ "id": "s", "cues": [
                { "id": "a", "file": sine_file(&dir, "a.wav", RATE, 500.0, 0.5, 1.0, FRAC_PI_2) },
                { "id": "b", "file": sine_file(&dir, "b.wav", RATE, 900.0, 0.5, 0.2, FRAC_PI_2),
                  "follow": { "after": "a" } },
                { "id": "c", "file": sine_file(&dir, "c.wav", RATE, 700.0, 0.5, 0.3, FRAC_PI_2) },
                { "id": "d", "file": sine_file(&dir, "d.wav", RATE, 1100.0, 0.5, 0.2, FRAC_PI_2),
                  "follow": { "after": "c", "wait_ms": 100 } }
            ] }]
        }),
    );
    let mut live = Live::new(file);
    // "a" from 0.1 s, stopped at 0.4 s with a 200 ms fade; "c" from 1.3 s plays to its end (1.6 s).
    live.controller.start_cue("a", Some(4_800)).unwrap();
    live.controller.stop_cue("a", Some(200.0), Some(19_200)).unwrap();
    live.controller.start_cue("c", Some(62_400)).unwrap();
    let out = live.run(96_000, BLOCK);
    let x = &out[0];
    let before = level_db(x, RATE, 500.0, 0.25, 0.35);
    assert!((before - full()).abs() < ACCURACY_DB, "a at {before:.2} dB before the stop");
    // Halfway through the equal-power fade a is at about -3 dB: well down, far from silent.
    let mid = level_db(x, RATE, 500.0, 0.45, 0.55);
    assert!(mid < before - 1.0 && mid > before - 10.0, "a at {mid:.2} dB halfway through its fade");
    // From the fade's end (0.6 s) until c starts (1.3 s): nothing, neither a nor its follower b,
    // which would have started at 0.6 s (if a stop counted as an end) or at 1.1 s (a's own end).
    assert!(x[28_800..62_400].iter().all(|&s| s == 0.0), "silence after the stop's fade");
    assert!(x[28_790] != 0.0, "the fade lasted its 200 ms");
    // c ends at 1.6 s (76,800); its follower d starts 100 ms later, on its frame.
    assert_eq!(onset(x, 0, ONSET), Some(4_800), "a starts at 0.1 s");
    assert!(x[76_800..81_600].iter().all(|&s| s == 0.0), "the follow's wait");
    assert_eq!(onset(x, 76_800, ONSET), Some(81_600), "d follows the completed c");
    let d = level_db(x, RATE, 1100.0, 1.75, 1.85);
    assert!((d - full()).abs() < ACCURACY_DB, "d sounds at {d:.2} dB");
    let (a, c) = (cue_index(&live, "a"), cue_index(&live, "c"));
    let events = live.events();
    assert!(events.contains(&Event::CueEnded { cue: a, at: 28_800, completed: false }), "{events:?}");
    assert!(events.contains(&Event::CueEnded { cue: c, at: 76_800, completed: true }), "{events:?}");
}

#[test]
fn panic_fades_everything_over_panic_ms_and_a_second_panic_during_the_fade_cuts_within_5_ms() {
    let dir = scratch("panic");
    let bed = sine_file(&dir, "bed.wav", RATE, 200.0, 0.5, 1.0, 0.0);
    let cue = sine_file(&dir, "cue.wav", RATE, 600.0, 0.5, 1.0, 0.0);
    let file = show_file(
        &dir,
        json!({
            "format": "segue-show/1", "panic_ms": 400, "duck": { "depth_db": 0 },
            "scenes": [{ "id": "s", "bed": { "file": bed }, "transition": { "fade_ms": 0 },
                "cues": [{ "id": "c", "file": cue, "at": 0, "loop": true }] }]
        }),
    );
    let mut live = Live::new(file);
    let c = &mut live.controller;
    c.enter_scene("s", Some(0)).unwrap();
    c.panic(Some(24_000)).unwrap(); // 0.5 s: fades out until 0.9 s
    c.enter_scene("s", Some(48_000)).unwrap(); // 1.0 s: everything back
    c.panic(Some(72_000)).unwrap(); // 1.5 s
    c.panic(Some(76_800)).unwrap(); // 1.6 s, a quarter into the second fade
    let out = live.run(86_400, BLOCK);
    let x = &out[0];
    for f in [200.0, 600.0] {
        let before = level_db(x, RATE, f, 0.3, 0.4);
        assert!((before - full()).abs() < ACCURACY_DB, "{f} Hz at {before:.2} dB before the panic");
        // Halfway through the S-curve the level is about -6 dB: on its way, far from silence.
        let mid = level_db(x, RATE, f, 0.65, 0.75);
        assert!(mid < before - 1.0 && mid > before - 20.0, "{f} Hz at {mid:.2} dB halfway through the panic");
        let again = level_db(x, RATE, f, 1.3, 1.4);
        assert!((again - full()).abs() < ACCURACY_DB, "{f} Hz back at {again:.2} dB after entering the scene again");
    }
    assert!(x[43_190] != 0.0, "the panic fade lasted its 400 ms");
    assert!(x[43_200..48_000].iter().all(|&s| s == 0.0), "silence after the panic's fade");
    // The second panic cuts with the de-click, not instantly (that would click) and not over
    // the rest of the first fade.
    assert!(x[76_800 + 120] != 0.0, "the cut is a de-click ramp");
    assert!(x[76_800 + 240..].iter().all(|&s| s == 0.0), "silence 240 frames (5 ms) after the second panic");
    let panics: Vec<Event> = live.events().into_iter().filter(|e| matches!(e, Event::Panic { .. })).collect();
    assert_eq!(
        panics,
        [
            Event::Panic { at: 24_000, hard: false },
            Event::Panic { at: 72_000, hard: false },
            Event::Panic { at: 76_800, hard: true }
        ]
    );
}

#[test]
fn master_bed_and_cue_levels_change_by_the_asked_db_without_a_step() {
    let dir = scratch("setlevel");
    let bed = sine_file(&dir, "bed.wav", RATE, 200.0, 0.5, 1.0, 0.0);
    let cue = sine_file(&dir, "cue.wav", RATE, 600.0, 0.5, 1.0, 0.0);
    let file = show_file(
        &dir,
        json!({
            "format": "segue-show/1", "duck": { "depth_db": 0 },
            "scenes": [{ "id": "s", "bed": { "file": bed }, "transition": { "fade_ms": 0 },
                "cues": [{ "id": "c", "file": cue, "at": 0, "loop": true }] }]
        }),
    );
    let mut live = Live::new(file);
    let c = &mut live.controller;
    c.enter_scene("s", Some(0)).unwrap();
    c.set_level(Level::Master, -6.0, Some(24_000)).unwrap();
    c.set_level(Level::Bed, -10.0, Some(48_000)).unwrap();
    c.set_level(Level::Cues, -4.0, Some(72_000)).unwrap();
    let out = live.run(86_400, BLOCK);
    let x = &out[0];
    // (time of the change, dB change of the bed at 200 Hz, of the cue at 600 Hz)
    for (t, bed_change, cue_change) in [(0.5, -6.0, -6.0), (1.0, -10.0, 0.0), (1.5, 0.0, -4.0)] {
        for (f, want) in [(200.0, bed_change), (600.0, cue_change)] {
            // Windows clear of the 20 ms smoothing ramp on both sides.
            let change = level_db(x, RATE, f, t + 0.05, t + 0.15) - level_db(x, RATE, f, t - 0.15, t - 0.05);
            // Gains are exact in float: what is left is the measurement's own accuracy.
            assert!((change - want).abs() < ACCURACY_DB, "{f} Hz changed by {change:.2} dB at {t} s, want {want}");
        }
    }
    let limit = click_bound(&[(0.5, 200.0), (0.5, 600.0)]);
    for (ch, x) in out.iter().enumerate() {
        let worst = max_second_difference(&x[1_000..]);
        assert!(worst < limit, "channel {ch}: second difference {worst:.5} above {limit:.5}: a step");
    }
    // The same measure sees an unsmoothed -6 dB step at the loudest frame before the change.
    let mut stepped = x[..24_000].to_vec();
    let peak = (12_000..24_000).max_by(|&a, &b| x[a].abs().total_cmp(&x[b].abs())).unwrap();
    stepped[peak..].iter_mut().for_each(|s| *s *= 0.5);
    assert!(max_second_difference(&stepped) > limit);
}

#[test]
fn retriggering_a_playing_cue_restarts_its_file_from_the_start_without_a_click() {
    let dir = scratch("retrigger");
    // 500 Hz for 0.3 s (150 whole periods), then 900 Hz: which part sounds tells where in the
    // file the cue is.
    let mut samples = sine(RATE, 500.0, 0.5, 14_400, 0.0);
    samples.extend(sine(RATE, 900.0, 0.5, 33_600, 0.0));
    write_wav(&dir.join("song.wav"), RATE, 1, &samples);
    let file = show_file(
        &dir,
        json!({ "format": "segue-show/1", "scenes": [{ "id": "s", "cues": [{ "id": "song", "file": "song.wav" }] }] }),
    );
    let mut live = Live::new(file);
    live.controller.start_cue("song", Some(2_400)).unwrap(); // 0.05 s: 900 Hz from 0.35 s
    live.controller.start_cue("song", Some(24_000)).unwrap(); // 0.5 s: 500 Hz again until 0.8 s
    let out = live.run(48_000, BLOCK);
    let x = &out[0];
    // Leakage of the other tone, 400 Hz away, stays far below -60 dB in a 100 ms window.
    let quiet = -60.0;
    let (f500, f900) = (level_db(x, RATE, 500.0, 0.38, 0.48), level_db(x, RATE, 900.0, 0.38, 0.48));
    assert!((f900 - full()).abs() < ACCURACY_DB && f500 < quiet, "before: 900 Hz {f900:.2} dB, 500 Hz {f500:.2} dB");
    let (f500, f900) = (level_db(x, RATE, 500.0, 0.52, 0.62), level_db(x, RATE, 900.0, 0.52, 0.62));
    assert!((f500 - full()).abs() < ACCURACY_DB && f900 < quiet, "after: 500 Hz {f500:.2} dB, 900 Hz {f900:.2} dB");
    let f900 = level_db(x, RATE, 900.0, 0.85, 0.95);
    assert!((f900 - full()).abs() < ACCURACY_DB, "the restarted file reaches its 900 Hz part at 0.8 s: {f900:.2} dB");
    // Once the old voice's 5 ms de-click is over, the output is the file from its first frame.
    for k in 240..14_400 {
        // Unity gain and centre pan are 1.0 within float rounding.
        assert!((x[24_000 + k] - samples[k]).abs() < 1e-6, "frame {k} of the restarted file");
    }
    // No click where the old voice gives way to the new one.
    let limit = click_bound(&[(0.5, 500.0), (0.5, 900.0)]);
    let worst = max_second_difference(&x[23_000..26_000]);
    assert!(worst < limit, "second difference {worst:.5} above {limit:.5} at the retrigger: a click");
    let song = cue_index(&live, "song");
    let events = live.events();
    assert!(events.contains(&Event::CueStarted { cue: song, at: 24_000 }), "{events:?}");
    assert!(events.contains(&Event::CueEnded { cue: song, at: 24_240, completed: false }), "{events:?}");
}

#[test]
fn cue_whose_file_went_missing_before_load_is_reported_by_name_and_file_and_the_rest_sounds() {
    let dir = scratch("missing");
    let bed = sine_file(&dir, "bed.wav", RATE, 200.0, 0.5, 1.0, 0.0);
    let gone = sine_file(&dir, "gone.wav", RATE, 700.0, 0.5, 1.0, 0.0);
    let good = sine_file(&dir, "good.wav", RATE, 1000.0, 0.5, 1.0, 0.0);
    let file = show_file(
        &dir,
        json!({
            "format": "segue-show/1", "duck": { "depth_db": 0 },
            "scenes": [{ "id": "s", "bed": { "file": bed }, "transition": { "fade_ms": 0 },
                "cues": [{ "id": "gone", "file": gone }, { "id": "good", "file": good }] }]
        }),
    );
    // The show was checked; then the file went away, before the show was loaded for playing.
    std::fs::remove_file(dir.join("gone.wav")).unwrap();
    let mut live = Live::new(file);
    live.controller.enter_scene("s", Some(0)).unwrap();
    live.controller.start_cue("gone", Some(9_600)).unwrap();
    live.controller.start_cue("good", Some(14_400)).unwrap();
    let out = live.run(48_000, BLOCK);
    let errors: Vec<String> =
        live.notices.iter().filter(|n| n.severity == Severity::Error).map(|n| n.to_string()).collect();
    assert!(
        errors.iter().any(|e| e.contains("cue \"gone\"") && e.contains("gone.wav")),
        "the cue is named with its file: {errors:?}"
    );
    let gone = cue_index(&live, "gone");
    assert!(
        live.events().contains(&Event::CannotStart { clip: gone, at: 9_600, why: Problem::NotReady }),
        "the start was refused: {:?}",
        live.notices
    );
    assert!(
        errors.iter().any(|e| e.contains("cue \"gone\" could not start")),
        "the refused start is reported: {errors:?}"
    );
    let x = &out[0];
    // The bed and the other cue at their own levels (the projection's accuracy), the lost cue
    // silent: 500 Hz or more from the others, their leakage stays below -80 dB.
    assert!((level_db(x, RATE, 200.0, 0.5, 0.6) - full()).abs() < ACCURACY_DB);
    assert!((level_db(x, RATE, 1000.0, 0.5, 0.6) - full()).abs() < ACCURACY_DB);
    let lost = level_db(x, RATE, 700.0, 0.5, 0.6);
    assert!(lost < -80.0, "the missing cue's 700 Hz at {lost:.2} dB");
}

#[test]
fn a_stream_that_runs_dry_reports_an_underrun_plays_silence_and_resumes_in_time() {
    // One cue built by hand: a 440 Hz sine, its first 1,000 frames in the head, its tail ring
    // empty (the disk is late). No loader: nothing but this test ever fills the ring.
    let len = 48_000usize;
    let signal = sine(RATE, 440.0, 0.5, len, 0.0);
    let head_frames = 1_000;
    let head = Arc::new(Head { samples: signal[..head_frames].into(), channels: 1 });
    let (mut producer, tail) = rtrb::RingBuffer::new(len);
    let program = one_cue_program(Feed::new(head, tail, Some(len as u64)));
    let (mut engine, mut control, _loader_ends) = Engine::new(EngineConfig::new(RATE));
    assert!(control.commands.push(Command::now(Action::LoadProgram(Box::new(program)))).is_ok());
    assert!(control.commands.push(Command::at(0, Action::StartCue { cue: 0 })).is_ok());

    let block = 256;
    let total = 8_192;
    let mut out = vec![0.0f32; total];
    let (mut bl, mut br, mut cl, mut cr, mut right) =
        (vec![0.0; block], vec![0.0; block], vec![0.0; block], vec![0.0; block], vec![0.0; block]);
    let mut underrun = 0u64;
    let mut reports = Vec::new();
    let refill_at = 3_072;
    let mut done = 0;
    while done < total {
        if done == refill_at {
            // The loader catches up: the tail from the head's end on, as it would have written it.
            let late = &signal[head_frames..head_frames + 10_000];
            let chunk = producer.write_chunk_uninit(late.len()).unwrap();
            assert_eq!(chunk.fill_from_iter(late.iter().copied()), late.len());
        }
        let started = Instant::now();
        engine.process(Outputs {
            main: [&mut out[done..done + block], &mut right],
            bed: [&mut bl, &mut br],
            cues: [&mut cl, &mut cr],
        });
        // A process that waited for the data would never return (nobody else fills the ring);
        // a second leaves room for a busy machine.
        assert!(started.elapsed() < Duration::from_secs(1), "process returned at once");
        done += block;
        assert_eq!(engine.clock(), done as u64);
        while let Ok(event) = control.events.pop() {
            if let Event::Underrun { clip, at, frames } = event {
                assert_eq!(clip, 0);
                assert!(at <= refill_at as u64, "no underrun after the data came (at {at})");
                underrun += frames as u64;
                reports.push(at);
            }
        }
    }
    // The head plays (after the 5 ms de-click, exactly the file at unity gain).
    for k in 240..head_frames {
        assert_eq!(out[k], signal[k], "head frame {k}");
    }
    // Past the head, until the data comes: silence, every missing frame reported.
    assert!(out[head_frames..refill_at].iter().all(|&s| s == 0.0), "silence while the data is missing");
    assert_eq!(underrun, (refill_at - head_frames) as u64, "missing frames reported");
    // Once, when the gap is over, from the frame it began on (not a report every block).
    assert_eq!(reports, vec![head_frames as u64], "one report, from where the data ran out");
    // When it comes, the voice is where the clock says, not where it stopped: the late frames
    // are skipped and the frame that sounds is the one due now.
    for t in refill_at..total {
        assert_eq!(out[t], signal[t], "frame {t} plays the clip's frame {t}");
    }
    assert!(level_db(&out, RATE, 440.0, 0.07, 0.17) > full() - ACCURACY_DB, "the sine is back at its level");
}

#[test]
fn a_retrigger_that_cannot_start_leaves_the_playing_cue_sounding_and_says_why() {
    // One cue armed once, by hand, with no loader to arm it again: a second start finds no
    // feed, as a live double trigger does when it comes before the loader has re-armed the clip.
    let len = 48_000usize;
    let signal = sine(RATE, 660.0, 0.5, len, 0.0);
    let head = Arc::new(Head { samples: signal.clone().into(), channels: 1 });
    let (_producer, tail) = rtrb::RingBuffer::new(16);
    let program = one_cue_program(Feed::new(head, tail, Some(len as u64)));
    let (mut engine, mut control, _loader_ends) = Engine::new(EngineConfig::new(RATE));
    assert!(control.commands.push(Command::now(Action::LoadProgram(Box::new(program)))).is_ok());
    assert!(control.commands.push(Command::at(0, Action::StartCue { cue: 0 })).is_ok());
    assert!(control.commands.push(Command::at(4_800, Action::StartCue { cue: 0 })).is_ok());
    let total = 14_400;
    let mut out = vec![0.0f32; total];
    let (mut right, mut bl, mut br, mut cl, mut cr) =
        (vec![0.0; total], vec![0.0; total], vec![0.0; total], vec![0.0; total], vec![0.0; total]);
    engine.process(Outputs { main: [&mut out, &mut right], bed: [&mut bl, &mut br], cues: [&mut cl, &mut cr] });
    let mut events = Vec::new();
    while let Ok(event) = control.events.pop() {
        events.push(event);
    }
    assert!(events.contains(&Event::CannotStart { clip: 0, at: 4_800, why: Problem::NotReady }), "{events:?}");
    assert!(!events.iter().any(|e| matches!(e, Event::CueEnded { .. })), "the cue plays on: {events:?}");
    // The first start plays on, untouched: after its de-click, the file at unity gain.
    for k in 240..total {
        assert_eq!(out[k], signal[k], "frame {k}");
    }
}

#[test]
fn a_start_that_comes_before_its_audio_is_loaded_sounds_in_time_from_where_the_audio_arrives() {
    // One cue whose clip is not armed yet (a GO just after the show loaded, before the loader
    // had its head ready). The test is the loader: it arms the clip, by hand, 2,000 frames late.
    let len = 48_000usize;
    let signal = sine(RATE, 440.0, 0.5, len, 0.0);
    let head = Arc::new(Head { samples: signal.clone().into(), channels: 1 });
    let (_producer, tail) = rtrb::RingBuffer::new(16);
    let mut program = one_cue_program(Feed::new(head, tail, Some(len as u64)));
    let feed = program.clips[0].armed.take().unwrap();
    let (mut engine, mut control, mut loader_ends) = Engine::new(EngineConfig::new(RATE));
    assert!(control.commands.push(Command::now(Action::LoadProgram(Box::new(program)))).is_ok());
    assert!(control.commands.push(Command::at(100, Action::StartCue { cue: 0 })).is_ok());
    let block = 256;
    let total = 8_192;
    let arrives = 2_048;
    let mut out = vec![0.0f32; total];
    let (mut right, mut bl, mut br, mut cl, mut cr) =
        (vec![0.0; block], vec![0.0; block], vec![0.0; block], vec![0.0; block], vec![0.0; block]);
    let mut feed = Some(feed);
    let mut events = Vec::new();
    for done in (0..total).step_by(block) {
        if done == arrives {
            let feed = feed.take().unwrap();
            assert!(loader_ends.feeds.push(LoaderMsg::Arm { generation: 1, clip: 0, feed }).is_ok());
        }
        engine.process(Outputs {
            main: [&mut out[done..done + block], &mut right],
            bed: [&mut bl, &mut br],
            cues: [&mut cl, &mut cr],
        });
        while let Ok(event) = control.events.pop() {
            events.push(event);
        }
    }
    // The start is taken on its frame (not refused), and the armed feed it used is handed back
    // so the loader arms the clip again.
    assert!(events.contains(&Event::CueStarted { cue: 0, at: 100 }), "{events:?}");
    assert!(!events.iter().any(|e| matches!(e, Event::CannotStart { .. })), "{events:?}");
    let mut used = false;
    while let Ok(retired) = loader_ends.retired.pop() {
        used |= matches!(retired, Retired::Used { generation: 1, clip: 0 });
    }
    assert!(used, "the loader is told the armed feed was used");
    // Silence until the data comes; then the clip's frame due by then, not its first frame: it
    // is in time with the frame it was asked for, and comes in over the 5 ms de-click (240
    // frames at 48 kHz), after which it is the file exactly.
    assert!(out[..arrives].iter().all(|&s| s == 0.0), "silence while the audio is not there");
    let first = onset(&out, 0, ONSET).unwrap();
    assert!((arrives..arrives + 2).contains(&first), "sounds from where the data arrives: frame {first}");
    let peak = out[arrives..arrives + 240].iter().fold(0.0f32, |m, s| m.max(s.abs()));
    assert!(peak < 0.5, "comes in over the de-click, not as a step (peak {peak})");
    for t in arrives + 240..total {
        assert_eq!(out[t], signal[t - 100], "frame {t} plays the clip's frame {}", t - 100);
    }
    // The frames it missed are reported, once, as a late start (not as an underrun).
    assert!(!events.iter().any(|e| matches!(e, Event::Underrun { .. })), "{events:?}");
    let missed: u32 = events.iter().map(|e| if let Event::LateStart { frames, .. } = e { *frames } else { 0 }).sum();
    assert_eq!(missed as usize, arrives - 100, "the late frames are reported: {events:?}");
}

#[test]
fn a_level_that_is_not_a_number_is_refused_and_the_show_keeps_its_level() {
    let dir = scratch("nan-level");
    let tone = sine_file(&dir, "tone.wav", RATE, 500.0, 0.5, 1.0, 0.0);
    let file = show_file(
        &dir,
        json!({ "format": "segue-show/1", "scenes": [{ "id": "s", "cues": [{ "id": "t", "file": tone }] }] }),
    );
    let mut live = Live::new(file);
    live.controller.start_cue("t", Some(0)).unwrap();
    live.controller.set_level(Level::Master, f32::NAN, Some(4_800)).unwrap();
    let [out, _] = live.run(28_800, 512);
    assert!(live.events().iter().any(|e| matches!(e, Event::CommandDropped { at: 4_800, .. })), "refused, and said so");
    // The tone plays on at its own level after the refused command (at 0.1 s).
    assert!((level_db(&out, RATE, 500.0, 0.2, 0.5) - db(0.5)).abs() < 0.1, "the master level is unchanged");
}

#[test]
fn a_cue_that_ignores_retriggers_plays_on_through_a_second_start() {
    let dir = scratch("retrigger-ignore");
    // 500 Hz for 0.3 s, then 900 Hz, as above: restarted, 500 Hz would sound again at 0.5 s.
    let mut samples = sine(RATE, 500.0, 0.5, 14_400, 0.0);
    samples.extend(sine(RATE, 900.0, 0.5, 33_600, 0.0));
    write_wav(&dir.join("song.wav"), RATE, 1, &samples);
    let file = show_file(
        &dir,
        json!({ "format": "segue-show/1", "scenes": [{ "id": "s", "cues": [
            { "id": "song", "file": "song.wav", "retrigger": "ignore" }] }] }),
    );
    let mut live = Live::new(file);
    live.controller.start_cue("song", Some(2_400)).unwrap();
    live.controller.start_cue("song", Some(24_000)).unwrap();
    let out = live.run(48_000, BLOCK);
    let x = &out[0];
    // Still in the 900 Hz part after the second start (leakage of 500 Hz far below -60 dB).
    let (f500, f900) = (level_db(x, RATE, 500.0, 0.52, 0.62), level_db(x, RATE, 900.0, 0.52, 0.62));
    assert!((f900 - full()).abs() < ACCURACY_DB && f500 < -60.0, "after: 900 Hz {f900:.2} dB, 500 Hz {f500:.2} dB");
    // Frame for frame the file from its first start, after its 5 ms de-click: nothing was
    // interrupted.
    for k in 240..40_000 {
        assert!((x[2_400 + k] - samples[k]).abs() < 1e-6, "frame {k} of the file played on");
    }
    let song = cue_index(&live, "song");
    let starts = live.events().iter().filter(|e| matches!(e, Event::CueStarted { cue, .. } if *cue == song)).count();
    assert_eq!(starts, 1, "one start");
}

#[test]
fn a_cue_played_again_streams_its_whole_file_the_very_same_way() {
    let dir = scratch("again");
    // 3 s at 44.1 kHz, stereo, two tones: longer than the 1 s head, so the second play's stream
    // behind the head comes from a feed armed again (opened where the head ends, resampled).
    let left = sine(44_100, 440.0, 0.5, 132_300, 0.0);
    let right = sine(44_100, 660.0, 0.4, 132_300, 0.3);
    let interleaved: Vec<f32> = left.iter().zip(&right).flat_map(|(l, r)| [*l, *r]).collect();
    write_wav(&dir.join("song.wav"), 44_100, 2, &interleaved);
    let file = show_file(
        &dir,
        json!({ "format": "segue-show/1", "scenes": [{ "id": "s", "cues": [{ "id": "song", "file": "song.wav" }] }] }),
    );
    let mut live = Live::new(file);
    let (first, second) = (4_800usize, 4_800 + 168_000);
    live.controller.start_cue("song", Some(first as u64)).unwrap();
    let mut out = live.run(second - 24_000, BLOCK);
    // The first play is over; the loader armed the cue again meanwhile.
    live.controller.start_cue("song", Some(second as u64)).unwrap();
    let more = live.run(24_000 + 150_000, BLOCK);
    for (o, m) in out.iter_mut().zip(more) {
        o.extend(m);
    }
    let length = 144_000; // 3 s at 48 kHz
    for (c, x) in out.iter().enumerate() {
        assert!(x[first + 48_000] != 0.0, "the first play sounds past its head");
        let differs = (0..length).find(|&k| x[first + k].to_bits() != x[second + k].to_bits());
        assert_eq!(differs, None, "channel {c}: the second play differs from the first at frame {differs:?}");
    }
}

/// A jump to a scene far from the current one (the operator's scene key, `/segue/scene/{id}`)
/// starts its bed on the asked frame, from memory: every scene's bed is kept armed (up to 64
/// scenes), not only the current and the next.
#[test]
fn a_jump_to_any_scene_starts_its_bed_on_its_frame_without_waiting_for_the_disk() {
    let dir = scratch("op-scene-jump");
    let scenes: Vec<_> = (0..6)
        .map(|s| {
            let bed = sine_file(&dir, &format!("bed{s}.wav"), RATE, 200.0 + 100.0 * s as f64, 0.5, 4.0, FRAC_PI_2);
            json!({ "id": format!("s{s}"), "at": 60.0 * s as f64, "bed": { "file": bed, "loop": true },
                    "transition": { "fade_ms": 0 } })
        })
        .collect();
    let file = show_file(&dir, json!({ "format": "segue-show/1", "scenes": scenes }));
    let mut live = Live::new(file);
    live.controller.enter_scene("s0", Some(0)).unwrap();
    live.run(RATE as usize, BLOCK);
    // The loader has had its moment (a show loads while the operator gets ready).
    std::thread::sleep(Duration::from_millis(500));
    let at = live.engine.clock() + 1000;
    live.controller.enter_scene("s5", Some(at)).unwrap();
    // From here on, blocks as a device callback gives them: no waiting for the loader.
    let frames = RATE as usize / 2;
    let mut out = vec![0.0f32; frames];
    let (mut right, mut bl, mut br, mut cl, mut cr) =
        (vec![0.0; BLOCK], vec![0.0; BLOCK], vec![0.0; BLOCK], vec![0.0; BLOCK], vec![0.0; BLOCK]);
    let from = live.engine.clock();
    for done in (0..frames).step_by(BLOCK) {
        let n = BLOCK.min(frames - done);
        live.engine.poll();
        live.notices.extend(live.controller.poll());
        live.engine.process(Outputs {
            main: [&mut out[done..done + n], &mut right[..n]],
            bed: [&mut bl[..n], &mut br[..n]],
            cues: [&mut cl[..n], &mut cr[..n]],
        });
    }
    live.notices.extend(live.controller.poll());
    let late: Vec<_> =
        live.events().into_iter().filter(|e| matches!(e, Event::LateStart { .. } | Event::Underrun { .. })).collect();
    assert!(late.is_empty(), "the bed of s5 was not in memory: {late:?}");
    // s5's 700 Hz at full level from 5 ms after the asked frame (the de-click), s0's 200 Hz gone.
    let start = (at - from) as f64 / RATE as f64;
    let new = level_db(&out, RATE, 700.0, start + 0.01, start + 0.11);
    let old = level_db(&out, RATE, 200.0, start + 0.01, start + 0.11);
    assert!((new - full()).abs() < ACCURACY_DB && old < -80.0, "700 Hz at {new:.1} dB, 200 Hz at {old:.1} dB");
    let first = onset(&out, 0, ONSET).unwrap();
    assert!(first <= (at - from) as usize, "s0 sounded up to the jump");
}

/// Found by the soak: a scene's timed cue still scheduled when a seek (or another scene, or a
/// panic) drops it later in the same block. The control side stops keeping its clip armed at
/// once, so an offline render waited for that clip forever; it must wait only for what will
/// sound, and the dropped cue never sounds.
#[test]
fn a_timed_cue_dropped_by_a_seek_in_the_same_block_is_not_waited_for() {
    let dir = scratch("op-dropped-timed");
    let bed0 = sine_file(&dir, "bed0.wav", RATE, 200.0, 0.5, 4.0, FRAC_PI_2);
    let bed1 = sine_file(&dir, "bed1.wav", RATE, 300.0, 0.5, 4.0, FRAC_PI_2);
    let hit = sine_file(&dir, "hit.wav", RATE, 1000.0, 0.5, 1.0, FRAC_PI_2);
    let file = show_file(
        &dir,
        json!({ "format": "segue-show/1", "scenes": [
            { "id": "s0", "at": 0, "bed": { "file": bed0, "loop": true }, "transition": { "fade_ms": 0 },
              "cues": [{ "id": "hit", "file": hit, "at": 0.5, "duck_db": 0 }] },
            { "id": "s1", "at": 20, "bed": { "file": bed1, "loop": true }, "transition": { "fade_ms": 0 } }
        ]}),
    );
    let mut live = Live::new(file);
    live.controller.enter_scene("s0", Some(0)).unwrap();
    live.run(RATE as usize * 4 / 10, BLOCK);
    // At 0.45 s, a seek to s1: "hit" (due at 0.5 s) is dropped by it, in the same 0.2 s block.
    let at = live.engine.clock() + RATE as u64 / 20;
    live.controller.seek(20 * RATE as u64, at).unwrap();
    // The loader takes "hit" back (no longer wanted) before the block is made.
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let out = live.run(RATE as usize / 5, RATE as usize / 5);
    // Well under the 10 s Live waits before it calls a clip lost.
    assert!(started.elapsed() < Duration::from_secs(2), "the block waited {:?}", started.elapsed());
    assert!(level_db(&out[0], RATE, 1000.0, 0.06, 0.2) < -80.0, "the dropped cue stayed silent");
    assert!((level_db(&out[0], RATE, 300.0, 0.1, 0.2) - full()).abs() < ACCURACY_DB, "s1's bed plays");
}
