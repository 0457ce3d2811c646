//! Faults (#8): what a show survives while the rest of it keeps sounding. A flood of commands
//! (stops and panics still get through), blocks of any size changing every block.

mod common;

use segue::control::ControlError;
use segue::engine::command::{Action, Event, Level, Problem};
use serde_json::json;

fn show(dir: &std::path::Path) -> segue::show::ShowFile {
    common::sine_file(dir, "bed.wav", 48_000, 220.0, 0.5, 10.0, 0.0);
    common::sine_file(dir, "song.wav", 48_000, 660.0, 0.5, 3.0, 0.0);
    common::show_file(
        dir,
        json!({
            "format": "segue-show/1",
            "panic_ms": 200,
            "scenes": [{
                "id": "s", "at": 0,
                "bed": { "file": "bed.wav", "loop": true },
                "cues": [
                    { "id": "a", "file": "song.wav", "at": 0.25, "duck_db": -6 },
                    { "id": "b", "file": "song.wav", "at": 1.5 }
                ]
            }]
        }),
    )
}

/// 100,000 commands in one go (as from a runaway OSC sender): the queue is bounded, the excess
/// is turned away and counted, nothing blocks, and the panic sent after them still gets
/// through and silences the show on time.
#[test]
fn a_flood_of_commands_never_keeps_a_panic_out() {
    let dir = common::scratch("flood");
    let mut live = common::Live::new(show(&dir));
    let _ = live.controller.enter_scene("s", Some(0));
    let before = live.run(24_000, 256);
    // The bed is playing (about -21 dB here: still fading in, centre-panned, ducked under cue
    // a): -40 dB is far above the silence the panic must leave (-120 dB).
    let bed = common::level_db(&before[0], 48_000, 220.0, 0.3, 0.5);
    assert!(bed > -40.0, "the bed plays: {bed:.1} dB");
    let (mut sent, mut refused) = (0, 0);
    for i in 0..100_000 {
        // A level that moves by a hundredth of a dB: harmless, and each one is a command.
        match live.controller.send(None, Action::SetLevel { level: Level::Cues, db: -(i % 2) as f32 * 0.01 }) {
            Ok(()) => sent += 1,
            Err(ControlError::QueueFull) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(refused > 90_000 && sent > 1000, "bounded: {sent} sent, {refused} turned away");
    assert_eq!(live.controller.refused_commands(), refused, "every one turned away is counted");
    // The queue is full of ordinary commands; a panic still has its place.
    live.controller.panic(None).expect("a panic is never turned away");
    let after = live.run(48_000, 256);
    let events = live.events();
    assert!(events.iter().any(|e| matches!(e, Event::Panic { .. })), "the panic was carried out");
    let dropped =
        events.iter().filter(|e| matches!(e, Event::CommandDropped { why: Problem::ScheduleFull, .. })).count();
    assert!(dropped > 0, "what the engine's schedule could not hold is reported");
    // 200 ms of panic fade, then silence: nothing is left sounding (-120 dB: the float noise
    // floor of a sum of silent voices is far below).
    let tail = &after[0][24_000..];
    let peak = tail.iter().fold(0.0f32, |p, x| p.max(x.abs()));
    assert!(common::db(peak as f64) < -120.0, "silent after the panic: peak {peak}");
}

/// Blocks of any size from 1 to 8192 frames, a different one every block (a host that never
/// settles), give the very samples of steady 512-frame blocks.
#[test]
fn blocks_of_any_size_changing_every_block_give_the_same_samples() {
    let dir = common::scratch("any-blocks");
    let frames = 48_000 * 3;
    let mut steady = common::Live::new(show(&dir));
    let _ = steady.controller.enter_scene("s", Some(0));
    let want = steady.run(frames, 512);
    let mut wild = common::Live::new(show(&dir));
    let _ = wild.controller.enter_scene("s", Some(0));
    let mut got = [Vec::new(), Vec::new()];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let (mut smallest, mut largest) = (usize::MAX, 0);
    while got[0].len() < frames {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // Half the blocks short (1..64), half anything up to 8192.
        let n = if seed.is_multiple_of(2) { 1 + (seed >> 8) as usize % 64 } else { 1 + (seed >> 8) as usize % 8192 };
        let n = n.min(frames - got[0].len());
        smallest = smallest.min(n);
        largest = largest.max(n);
        let out = wild.run(n, n);
        got[0].extend_from_slice(&out[0]);
        got[1].extend_from_slice(&out[1]);
    }
    assert!(smallest <= 4 && largest >= 4096, "block sizes {smallest}..{largest}");
    for c in 0..2 {
        if let Some(k) = (0..frames).find(|&k| got[c][k].to_bits() != want[c][k].to_bits()) {
            panic!("channel {c} differs first at frame {k}: {} vs {}", got[c][k], want[c][k]);
        }
    }
    assert!(common::level_db(&want[0], 48_000, 660.0, 0.5, 1.0) > -12.0, "the cue sounds in both");
}

/// A render onto a full disk (/dev/full: every write fails with "no space left") ends with the
/// reason and the path, and exit status 1: never a panic, never a file that looks whole.
#[test]
fn a_render_onto_a_full_disk_says_so_and_fails() {
    let dir = common::scratch("full-disk");
    let file = show(&dir);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_segue"))
        .args(["render", file.path.to_str().unwrap(), "-o", "/dev/full", "--duration", "2"])
        .output()
        .expect("the segue binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("/dev/full") && stderr.to_lowercase().contains("no space left"), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}

/// A loader that stalls for 2 s (a hung disk) while a long cue plays live, paced in real time:
/// the cue plays what its ring holds, then runs dry into silence; that is reported once; and
/// when the loader is back the cue sounds again where the clock is, not where it stopped.
#[test]
fn a_loader_stalled_for_two_seconds_gives_one_report_and_the_cue_comes_back_in_time() {
    use segue::engine::{Engine, EngineConfig, Outputs};
    use segue::stream::loader::{Loader, LoaderConfig};
    use std::time::{Duration, Instant};
    const RATE: u32 = 48_000;
    let dir = common::scratch("stall");
    let secs = 8.0;
    common::sine_file(&dir, "long.wav", RATE, 440.0, 0.5, secs, 0.0);
    let signal = common::sine(RATE, 440.0, 0.5, (secs * RATE as f64) as usize, 0.0);
    let file = common::show_file(
        &dir,
        json!({ "format": "segue-show/1", "scenes": [{ "id": "s", "at": 0, "cues": [{ "id": "long", "file": "long.wav", "at": 0 }] }] }),
    );
    let (mut engine, control, loader_ends) = Engine::new(EngineConfig::new(RATE));
    let loader = Loader::spawn(LoaderConfig::live(RATE), loader_ends);
    let mut controller = segue::control::Controller::new(file, RATE, control, loader);
    controller.enter_scene("s", Some(0)).unwrap();
    let armed = Instant::now();
    engine.poll();
    while engine.waiting_for(256, |_| false).is_some() {
        assert!(armed.elapsed() < Duration::from_secs(10), "the cue was never armed");
        std::thread::sleep(Duration::from_millis(1));
        engine.poll();
    }
    let (block, total) = (256usize, (6.0 * RATE as f64) as usize);
    let mut out = vec![0.0f32; total];
    let mut scratch: [Vec<f32>; 5] = std::array::from_fn(|_| vec![0.0; block]);
    let mut underruns = Vec::new();
    let stall_at = (1.5 * RATE as f64) as usize;
    let start = Instant::now();
    let mut done = 0;
    while done < total {
        if done == stall_at / block * block {
            controller.loader().stall(Duration::from_secs(2));
        }
        let [right, bl, br, cl, cr] = &mut scratch;
        engine.process(Outputs { main: [&mut out[done..done + block], right], bed: [bl, br], cues: [cl, cr] });
        for notice in controller.poll() {
            if let Some(Event::Underrun { at, frames, .. }) = notice.event {
                underruns.push((at, frames));
            }
        }
        done += block;
        // Paced in real time, as a sound card would ask.
        let due = Duration::from_secs_f64(done as f64 / RATE as f64);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    // One report, for a gap that began after the ring was spent (the head and a second of ring
    // are ahead of the stall at 1.5 s) and lasted about as long as the stall left it short.
    assert_eq!(underruns.len(), 1, "reported once: {underruns:?}");
    let (at, frames) = underruns[0];
    let at_secs = at as f64 / RATE as f64;
    let gap = frames as f64 / RATE as f64;
    // Bounds wide enough for a busy machine's scheduling, narrow enough to see the mechanism.
    assert!((2.0..=3.6).contains(&at_secs) && (0.1..=2.0).contains(&gap), "gap from {at_secs:.2} s for {gap:.2} s");
    // The gain the cue sounds at (the pan law's centre for a mono file), taken before the
    // stall where its data was there.
    let k = (0..RATE as usize).find(|&k| signal[k].abs() > 0.4 && k > 4800).unwrap();
    let g = out[k] / signal[k];
    assert!(g > 0.5 && g <= 1.0, "centre pan gain {g}");
    // Silence in the gap, then the file's own frames where the clock is.
    let (gap_from, gap_to) = (at as usize, at as usize + frames as usize);
    assert!(out[gap_from + 480..gap_to].iter().all(|&x| x == 0.0), "silence while the data is missing");
    let back = gap_to + 480; // past the de-click (5 ms)
    for t in back..total {
        assert!((out[t] - g * signal[t]).abs() < 1e-6, "frame {t}: {} instead of {}", out[t], g * signal[t]);
    }
}

/// A cue's file cut short after the show loaded (a copy still running, a card pulled): the cue
/// plays what is there, then silence, reported with the file's name; the bed plays on to the end.
#[test]
fn a_file_cut_short_after_loading_is_reported_and_the_bed_plays_on() {
    let dir = common::scratch("cut-after-load");
    common::sine_file(&dir, "bed.wav", 48_000, 220.0, 0.5, 10.0, 0.0);
    common::sine_file(&dir, "song.wav", 48_000, 660.0, 0.5, 6.0, 0.0);
    let file = common::show_file(
        &dir,
        json!({ "format": "segue-show/1", "scenes": [{ "id": "s", "at": 0,
            "bed": { "file": "bed.wav", "loop": true }, "transition": { "fade_ms": 0 },
            "cues": [{ "id": "song", "file": "song.wav", "at": 0, "duck_db": 0 }] }] }),
    );
    // Loaded (and probed) whole; now cut to its first 3 s (44 bytes of header, 4-byte floats).
    let song = dir.join("song.wav");
    let cut = 44 + 3 * 48_000 * 4;
    std::fs::OpenOptions::new().write(true).open(&song).unwrap().set_len(cut).unwrap();
    let out = common::render_noting(file, 512, 8.0);
    let said: Vec<String> = out.notices.iter().map(|n| n.text.clone()).collect();
    assert!(said.iter().any(|t| t.contains("song.wav") && t.contains("ends early")), "{said:?}");
    // The song plays up to its cut (its data is there to 3 s), then is silent; the bed plays
    // on at its level to the end (-6 dB sine at the centre pan's gain: well above -20 dB).
    let l = &out.main[0];
    assert!(common::level_db(l, 48_000, 660.0, 2.0, 2.5) > -20.0, "the song before the cut");
    assert!(common::level_db(l, 48_000, 660.0, 4.0, 6.0) < -100.0, "silence after the cut");
    assert!(common::level_db(l, 48_000, 220.0, 6.0, 7.9) > -20.0, "the bed plays on");
}

/// An operator jumps from the first scene to one far down the show (not the next) and presses
/// GO at once, while the disk hangs: the scene's bed, its cue timed at its very start and the
/// cue its first GO fires were already in memory, so all three start on their frames, and no
/// late start is reported (found by the real-time soak on a loaded machine: a jumped-to
/// scene's opening cue started late while its head was still loading).
#[test]
fn a_jump_to_a_far_scene_and_a_go_right_after_never_wait_for_the_disk() {
    use segue::engine::{Engine, EngineConfig, Outputs};
    use segue::stream::loader::{Loader, LoaderConfig};
    use std::time::{Duration, Instant};
    const RATE: u32 = 48_000;
    let dir = common::scratch("far-jump");
    let (bed_hz, open_hz, go_hz) = (220.0, 660.0, 1320.0);
    common::sine_file(&dir, "bed.wav", RATE, bed_hz, 0.3, 4.0, 0.0);
    common::sine_file(&dir, "open.wav", RATE, open_hz, 0.3, 3.0, 0.0);
    common::sine_file(&dir, "go.wav", RATE, go_hz, 0.3, 3.0, 0.0);
    let scenes: Vec<_> = (0..12)
        .map(|s| {
            json!({ "id": format!("s{s}"), "at": 30 * s,
                "bed": { "file": "bed.wav", "loop": true }, "transition": { "fade_ms": 0 },
                "cues": [
                    { "id": format!("open{s}"), "file": "open.wav", "at": 0, "duck_db": 0, "fade_in_ms": 0 },
                    { "id": format!("go{s}"), "file": "go.wav", "duck_db": 0, "fade_in_ms": 0 }
                ] })
        })
        .collect();
    let file = common::show_file(&dir, json!({ "format": "segue-show/1", "scenes": scenes }));
    let (mut engine, control, loader_ends) = Engine::new(EngineConfig::new(RATE));
    let loader = Loader::spawn(LoaderConfig::live(RATE), loader_ends);
    let mut controller = segue::control::Controller::new(file, RATE, control, loader);
    // Nothing entered yet: the show stands at its top, silent, near its first scene.
    // Scene 7's clips (bed, opener, first GO: clips are numbered cues first, then beds).
    let far = 7u32;
    let clips = [2 * far, 2 * far + 1, 24 + far];
    let armed = |engine: &Engine| clips.iter().all(|&c| engine.program().clips[c as usize].armed.is_some());
    let since = Instant::now();
    engine.poll();
    while !armed(&engine) {
        assert!(since.elapsed() < Duration::from_secs(10), "scene {far}'s opening clips were never armed");
        std::thread::sleep(Duration::from_millis(1));
        engine.poll();
        controller.poll();
    }
    // The disk hangs from here on: nothing more comes from the loader in this test.
    controller.loader().stall(Duration::from_secs(1));
    let block = 256;
    let (jump_at, go_at) = (10 * block as u64, 10 * block as u64 + 7_000);
    controller.enter_scene(&format!("s{far}"), Some(jump_at)).unwrap();
    let total = 2 * RATE as usize;
    let (mut out, mut notices) = (vec![0.0f32; total], Vec::new());
    let mut scratch: [Vec<f32>; 5] = std::array::from_fn(|_| vec![0.0; block]);
    let mut done = 0;
    while done < total {
        if done as u64 == 20 * block as u64 {
            // The operator's GO, a quarter of a second after the jump was asked.
            controller.go(Some(go_at)).unwrap();
        }
        let [right, bl, br, cl, cr] = &mut scratch;
        engine.process(Outputs { main: [&mut out[done..done + block], right], bed: [bl, br], cues: [cl, cr] });
        notices.extend(controller.poll().into_iter().map(|n| n.text));
        done += block;
    }
    let late: Vec<_> = notices.iter().filter(|t| t.contains("late") || t.contains("gap")).collect();
    assert!(late.is_empty(), "{late:?}");
    // Silence before the jump, then each on its frame: the first non-zero frame of the mix is
    // the jump's, and the GO'd cue's tone is there from its frame (levels over 20 ms, a window
    // long enough to tell 1320 Hz from the rest).
    // (A sine's first frame is 0 and so is a de-click's first gain: one frame or two of grace.)
    let first = common::onset(&out, 0, 1e-6).expect("the jump sounds");
    assert!((jump_at..=jump_at + 2).contains(&(first as u64)), "the bed and the opener start on the jump: {first}");
    let secs = |f: u64| f as f64 / RATE as f64;
    let (before, after) = (secs(go_at) - 0.03, secs(go_at) + 0.01);
    let go_before = common::level_db(&out, RATE, go_hz, before, before + 0.02);
    let go_after = common::level_db(&out, RATE, go_hz, after, after + 0.02);
    let opener = common::level_db(&out, RATE, open_hz, secs(jump_at) + 0.01, secs(jump_at) + 0.03);
    assert!(opener > -20.0, "the opener sounds from the jump: {opener:.1} dB");
    assert!(go_before < -60.0 && go_after > -20.0, "the GO'd cue from its frame: {go_before:.1} then {go_after:.1} dB");
}
