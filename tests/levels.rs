//! What the listener hears of levels: ducking, crossfades, quantized transitions, pan, clicks,
//! resampled pitch.

mod common;

use common::*;
use serde_json::json;

const RATE: u32 = 48_000;

/// A 1 s mono sine file that loops seamlessly (a whole number of periods).
fn loop_file(dir: &std::path::Path, name: &str, freq: f64, amp: f64) -> String {
    sine_file(dir, name, RATE, freq, amp, 1.0, 0.0)
}

#[test]
fn bed_ducks_to_the_cue_depth_within_the_attack_and_returns_within_the_release() {
    let dir = scratch("duck");
    let bed = loop_file(&dir, "bed.wav", 200.0, 0.5);
    let cue = sine_file(&dir, "cue.wav", RATE, 1000.0, 0.5, 1.0, 0.0);
    let file = show_file(
        &dir,
        json!({
            "format": "segue-show/1",
            "duck": { "depth_db": -6, "attack_ms": 200, "release_ms": 500 },
            "scenes": [{ "id": "s", "at": 0, "bed": { "file": bed }, "transition": { "fade_ms": 0 },
                "cues": [{ "id": "c", "file": cue, "at": 1.0, "duck_db": -15 }] }]
        }),
    );
    let out = render(file, 512, 3.5);
    let bed = &out.bed[0];
    let before = level_db(bed, RATE, 200.0, 0.5, 0.9);
    assert!((before - db(0.5)).abs() < 0.1, "bed at its own level before the cue: {before:.2} dB");
    // The attack ends at 1.2 s: from there the bed sits at the cue's -15 dB, not the show's -6.
    let ducked = level_db(bed, RATE, 200.0, 1.2, 1.9) - before;
    assert!((ducked + 15.0).abs() < 0.5, "ducked by {ducked:.2} dB, want -15 within 0.5");
    // Halfway through the attack it is on its way, in a straight line in dB.
    let halfway = level_db(bed, RATE, 200.0, 1.08, 1.12) - before;
    assert!((halfway + 7.5).abs() < 1.0, "halfway through the attack at {halfway:.2} dB, want about -7.5");
    // The cue ends at 2.0 s; the release of 500 ms brings the bed fully back by 2.5 s.
    let back = level_db(bed, RATE, 200.0, 2.5, 3.4) - before;
    assert!(back.abs() < 0.1, "back to {back:.2} dB after the release");
    // The cue itself is not ducked.
    let cue_level = level_db(&out.cues[0], RATE, 1000.0, 1.2, 1.9);
    assert!((cue_level - db(0.5)).abs() < 0.1, "cue at {cue_level:.2} dB");
}

#[test]
fn deepest_of_several_ducking_cues_wins_and_cue_without_ducking_leaves_the_bed_alone() {
    let dir = scratch("duck2");
    let bed = loop_file(&dir, "bed.wav", 200.0, 0.5);
    let a = sine_file(&dir, "a.wav", RATE, 700.0, 0.3, 2.0, 0.0);
    let b = sine_file(&dir, "b.wav", RATE, 1100.0, 0.3, 0.6, 0.0);
    let file = show_file(
        &dir,
        json!({
            "format": "segue-show/1",
            "duck": { "depth_db": -6, "attack_ms": 100, "release_ms": 100 },
            "scenes": [{ "id": "s", "at": 0, "bed": { "file": bed }, "transition": { "fade_ms": 0 },
                "cues": [
                    { "id": "quiet", "file": a, "at": 0.5, "duck_db": 0 },
                    { "id": "deep", "file": b, "at": 1.0, "duck_db": -20 }
                ] }]
        }),
    );
    let out = render(file, 256, 2.8);
    let bed = &out.bed[0];
    let before = level_db(bed, RATE, 200.0, 0.1, 0.45);
    let with_quiet = level_db(bed, RATE, 200.0, 0.6, 0.95) - before;
    assert!(with_quiet.abs() < 0.1, "duck_db 0 does not duck: {with_quiet:.2} dB");
    let with_deep = level_db(bed, RATE, 200.0, 1.15, 1.55) - before;
    assert!((with_deep + 20.0).abs() < 0.5, "ducked by {with_deep:.2} dB, want -20");
    let after = level_db(bed, RATE, 200.0, 1.8, 2.4) - before;
    assert!(after.abs() < 0.1, "released to {after:.2} dB while the non-ducking cue plays on");
}

#[test]
fn equal_power_crossfade_keeps_the_summed_power_within_1_db() {
    let dir = scratch("xfade");
    let one = loop_file(&dir, "one.wav", 300.0, 0.5);
    let two = loop_file(&dir, "two.wav", 500.0, 0.5);
    let file = show_file(
        &dir,
        json!({
            "format": "segue-show/1",
            "scenes": [
                { "id": "one", "at": 0, "bed": { "file": one }, "transition": { "fade_ms": 0 } },
                { "id": "two", "at": 1.0, "bed": { "file": two },
                  "transition": { "fade_ms": 1000, "curve": "equal_power" } }
            ]
        }),
    );
    let out = render(file, 512, 2.5);
    let x = &out.main[0];
    let reference = db(0.5);
    // 50 ms windows: short enough to follow the fade, long enough to separate 300 and 500 Hz.
    let mut t = 0.9;
    while t < 2.2 {
        let a = amplitude(&x[(t * 48_000.0) as usize..((t + 0.05) * 48_000.0) as usize], RATE, 300.0);
        let b = amplitude(&x[(t * 48_000.0) as usize..((t + 0.05) * 48_000.0) as usize], RATE, 500.0);
        let total = 10.0 * (a * a + b * b).log10();
        assert!((total - reference).abs() < 1.0, "summed power {total:.2} dB at {t:.2} s, want {reference:.2} ±1");
        t += 0.05;
    }
    // And the crossfade did happen: the first bed is gone, the second is there.
    assert!(level_db(x, RATE, 300.0, 2.1, 2.4) < -80.0);
    assert!((level_db(x, RATE, 500.0, 2.1, 2.4) - reference).abs() < 0.1);
}

#[test]
fn quantized_transition_starts_on_the_next_bar_of_the_outgoing_bed() {
    let dir = scratch("bar");
    // The outgoing bed is silent so the incoming bed's first frame is plain to see.
    write_wav(&dir.join("silent.wav"), RATE, 1, &vec![0.0; 48_000]);
    let two = sine_file(&dir, "two.wav", RATE, 500.0, 0.5, 1.0, std::f64::consts::FRAC_PI_2);
    let file = show_file(
        &dir,
        json!({
            "format": "segue-show/1",
            "scenes": [
                // 120 bpm in 4/4: a bar is 2 s = 96,000 frames, counted from the bed's start at 0.
                { "id": "one", "at": 0, "bed": { "file": "silent.wav", "tempo_bpm": 120, "beats_per_bar": 4 } },
                { "id": "two", "at": 2.3, "bed": { "file": two },
                  "transition": { "fade_ms": 100, "quantize": "bar" } }
            ]
        }),
    );
    for block in [64, 4096] {
        let out = render(file.clone(), block, 4.5);
        assert_eq!(onset(&out.bed[0], 0, 1e-6), Some(192_000), "second bar line at 4.0 s (block {block})");
    }
    // On the beat instead: the next beat after 2.3 s is 2.5 s.
    let mut beat = file.clone();
    beat.show.scenes[1].transition.quantize = segue::show::Quantize::Beat;
    let out = render(beat, 512, 3.0);
    assert_eq!(onset(&out.bed[0], 0, 1e-6), Some(120_000), "beat line at 2.5 s");
}

#[test]
fn pan_is_balance_on_stereo_and_constant_power_placement_on_mono() {
    let dir = scratch("pan");
    let mono = sine_file(&dir, "mono.wav", RATE, 400.0, 0.5, 1.0, 0.0);
    let s = sine(RATE, 400.0, 0.5, 48_000, 0.0);
    let stereo: Vec<f32> = s.iter().flat_map(|x| [*x, *x]).collect();
    write_wav(&dir.join("stereo.wav"), RATE, 2, &stereo);
    let file = show_file(
        &dir,
        json!({
            "format": "segue-show/1",
            "scenes": [{ "id": "s", "at": 0, "cues": [
                { "id": "centre", "file": mono, "at": 0 },
                { "id": "left", "file": mono, "at": 1.5, "pan": -1 },
                { "id": "bal", "file": "stereo.wav", "at": 3.0, "pan": 0.5 }
            ] }]
        }),
    );
    let out = render(file, 512, 4.2);
    let (l, r) = (&out.main[0], &out.main[1]);
    let level = db(0.5);
    // Mono at the centre: the file's level on both sides.
    assert!((level_db(l, RATE, 400.0, 0.2, 0.8) - level).abs() < 0.1);
    assert!((level_db(r, RATE, 400.0, 0.2, 0.8) - level).abs() < 0.1);
    // Mono hard left: all of the power on the left, +3 dB there.
    assert!((level_db(l, RATE, 400.0, 1.7, 2.3) - (level + 3.01)).abs() < 0.1);
    assert!(level_db(r, RATE, 400.0, 1.7, 2.3) < -100.0);
    // Stereo at +0.5: the right stays, the left drops to cos(pi/4) = -3 dB.
    assert!((level_db(r, RATE, 400.0, 3.2, 3.8) - level).abs() < 0.1);
    assert!((level_db(l, RATE, 400.0, 3.2, 3.8) - (level - 3.01)).abs() < 0.1);
}

#[test]
fn starts_stops_crossfades_loop_seams_and_panic_never_click() {
    let dir = scratch("clicks");
    let rate = 44_100;
    // Loops of whole periods at 44.1 kHz, resampled to 48 kHz; cues that start at their peak.
    let bed1 = sine_file(&dir, "bed1.wav", rate, 210.0, 0.3, 1.0, 0.0);
    let bed2 = sine_file(&dir, "bed2.wav", rate, 150.0, 0.3, 1.0, 0.0);
    let cue = sine_file(&dir, "cue.wav", rate, 630.0, 0.3, 3.0, std::f64::consts::FRAC_PI_2);
    let file = show_file(
        &dir,
        json!({
            "format": "segue-show/1", "end": 4.0, "panic_ms": 200,
            "scenes": [
                { "id": "one", "at": 0, "bed": { "file": bed1 }, "transition": { "fade_ms": 0 },
                  "cues": [
                    { "id": "hard", "file": cue, "at": 0.5, "start": 0.25, "end": 1.4 }
                  ] },
                { "id": "two", "at": 1.9, "bed": { "file": bed2 }, "transition": { "fade_ms": 300, "curve": "linear" },
                  "cues": [{ "id": "again", "file": cue, "at": 0.3, "loop": true, "start": 0.1, "end": 0.7 }] }
            ]
        }),
    );
    let out = render(file, 512, 4.4);
    // Everything did sound: the looping cue (seams at 0.6 s intervals) and the second bed.
    assert!(level_db(&out.main[0], RATE, 630.0, 3.0, 3.5) > -20.0);
    assert!(level_db(&out.main[0], RATE, 150.0, 3.0, 3.5) > -30.0, "second bed, ducked by the default -12 dB");
    // Sum over the sounding sines of A·(2πf/rate)², twice over for the fades' own curvature.
    let bound = |f: &[(f64, f64)]| {
        2.0 * f.iter().map(|(a, f)| a * (2.0 * std::f64::consts::PI * f / 48_000.0).powi(2)).sum::<f64>()
    };
    let limit = bound(&[(0.3, 210.0), (0.3, 150.0), (0.3, 630.0)]);
    for (ch, x) in out.main.iter().enumerate() {
        let worst = max_second_difference(x);
        assert!(worst < limit, "channel {ch}: second difference {worst:.5} above {limit:.5}: a click");
    }
    // The same measure does see a click: a cue cut without any ramp.
    let mut clicked = out.main[0].clone();
    clicked[30_000] += 0.05;
    assert!(max_second_difference(&clicked) > limit);
}

#[test]
fn a_44_1_khz_sine_rendered_at_48_khz_keeps_its_pitch() {
    let dir = scratch("pitch");
    let tone = sine_file(&dir, "tone.wav", 44_100, 1000.0, 0.5, 2.0, 0.0);
    let file = show_file(
        &dir,
        json!({ "format": "segue-show/1", "scenes": [{ "id": "s", "at": 0, "cues": [{ "id": "t", "file": tone, "at": 0 }] }] }),
    );
    let out = render(file, 512, 2.0);
    let f = zero_crossing_frequency(&out.main[0][12_000..84_000], RATE);
    assert!((f - 1000.0).abs() < 0.5, "measured {f:.4} Hz");
    // The resampled tone keeps its level (the resampler's passband is flat at 1 kHz).
    let level = level_db(&out.main[0], RATE, 1000.0, 0.5, 1.5);
    assert!((level - db(0.5)).abs() < 0.1, "level {level:.2} dB");
    // A 2 s file lasts 96,000 frames at 48 kHz: nothing after it.
    assert_eq!(out.frames(), 96_000);
    assert!(out.main[0][95_000].abs() > 0.0 || out.main[0][94_000].abs() > 0.0);
}

/// A level that makes the output clip is warned of once, with what to lower and by how much,
/// however long it clips (the engine reports twice a second): at most once more while the level
/// is still on its way up (a peak 1 dB worse is news), then not again; a new level that clips is
/// warned of again. The clipping itself is measured: the mix is above full scale.
#[test]
fn a_level_that_makes_the_output_clip_is_warned_once_until_a_level_changes() {
    use segue::engine::command::Level;
    let dir = scratch("clip-once");
    let loud = sine_file(&dir, "loud.wav", RATE, 440.0, 0.9, 8.0, 0.0);
    let file = show_file(
        &dir,
        json!({ "format": "segue-show/1", "scenes": [{ "id": "s", "at": 0,
            "cues": [{ "id": "c", "file": loud, "at": 0, "duck_db": 0 }] }] }),
    );
    let mut live = Live::new(file);
    live.controller.enter_scene("s", Some(0)).unwrap();
    live.run(RATE as usize / 2, 256);
    // +6 dB on a 0.9 sine: peaks at 1.8 (+5.1 dBFS).
    live.controller.set_level(Level::Master, 6.0, None).unwrap();
    let loud_out = live.run(RATE as usize, 256);
    let peak = loud_out[0].iter().fold(0f32, |m, x| m.max(x.abs()));
    assert!(peak > 1.7, "the mix is above full scale: peak {peak}");
    let said = |live: &Live| -> Vec<String> {
        live.notices.iter().filter(|n| n.text.contains("output clipped")).map(|n| n.text.clone()).collect()
    };
    let first = said(&live);
    assert!((1..=2).contains(&first.len()), "{first:?}");
    let last = first.last().unwrap();
    assert!(last.contains("peak +5.1") && last.contains("lower the master by 5.1 dB"), "{last}");
    // Three more seconds of the same clipping (six more reports from the engine): nothing said.
    live.run(3 * RATE as usize, 256);
    assert_eq!(said(&live), first, "said once at these levels");
    live.controller.set_level(Level::Master, 7.0, None).unwrap();
    live.run(RATE as usize, 256);
    assert!(said(&live).len() > first.len(), "a new level that clips is said again: {:?}", said(&live));
}
