//! The `segue` command line, run as a user runs it: exit codes, what it prints, what it writes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_json::json;

const RATE: u32 = 48_000;

fn segue(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_segue")).args(args).output().expect("the segue binary runs")
}

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("presets/demo/show.json")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Reads a WAV back: its spec and its samples, split into left and right.
fn read_stereo(path: &Path) -> (hound::WavSpec, [Vec<f32>; 2]) {
    let mut reader = hound::WavReader::open(path).unwrap();
    let spec = reader.spec();
    let samples: Vec<f32> = reader.samples::<f32>().map(|s| s.unwrap()).collect();
    let left = samples.iter().step_by(2).copied().collect();
    let right = samples.iter().skip(1).step_by(2).copied().collect();
    (spec, [left, right])
}

#[test]
fn check_of_the_demo_show_exits_0_and_prints_its_summary() {
    let out = segue(&["check", demo().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(stdout.contains("Episode 1"), "the show's name: {stdout}");
    assert!(stdout.contains("4 scenes, 6 cues"), "scene and cue counts: {stdout}");
    assert!(stdout.contains("Duration: 01:32.000"), "the show's end: {stdout}");
}

/// A show whose parts its own timeline drops: a cue after the show's end and the cue that
/// follows it, a cue placed after the next scene has begun (which cancels it), and a scene
/// written at its picture timecode in seconds (past the end). `check` names each by its JSON
/// path and where it would fall, hints at the timecode, and fails; the render agrees: what
/// check calls unheard is not heard, and the rest is.
#[test]
fn check_flags_every_bed_and_cue_the_timeline_never_lets_sound() {
    let dir = scratch("cli-check-unheard");
    let tone = sine_file(&dir, "tone.wav", RATE, 440.0, 0.5, 2.0, 0.0);
    let bed = sine_file(&dir, "bed.wav", RATE, 110.0, 0.3, 4.0, 0.0);
    let show = dir.join("unheard.json");
    let json = json!({
        "format": "segue-show/1", "end": 60,
        "production": { "frame_rate": "25", "start_timecode": "01:00:00:00" },
        "scenes": [
            { "id": "open", "at": 0, "bed": { "file": bed, "loop": true }, "cues": [
                { "id": "heard", "file": tone, "at": 5 },
                { "id": "cancelled", "file": tone, "at": 25 },
                { "id": "heard-too", "file": tone, "follow": { "after": "heard" } }
            ] },
            { "id": "middle", "at": 20, "cues": [
                { "id": "late", "file": tone, "at": 45 },
                { "id": "after-late", "file": tone, "follow": { "after": "late", "wait_ms": 500 } }
            ] },
            { "id": "credits", "at": 3630, "bed": { "file": bed } }
        ]
    });
    std::fs::write(&show, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    let out = segue(&["check", show.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    for (path, words) in [
        ("scenes[0].cues[1].at", "cue \"cancelled\" never sounds: it would start at 00:00:25.000 (01:00:25:00), after scene \"middle\" begins at 00:00:20.000"),
        ("scenes[1].cues[0].at", "cue \"late\" never sounds: it would start at 00:01:05.000 (01:01:05:00), after the show's end at 00:01:00.000 (01:01:00:00)"),
        ("scenes[1].cues[1].follow", "cue \"after-late\" never sounds: it would start at 00:01:07.500 (01:01:07:12), it follows cue \"late\""),
        ("scenes[2].at", "the bed of scene \"credits\" never sounds: the scene begins at 01:00:30.000"),
    ] {
        assert!(
            stderr.lines().any(|l| l.starts_with("error: ") && l.contains(&format!("{path}: ")) && l.contains(words)),
            "{path}: {words}\n{stderr}"
        );
    }
    assert!(
        stderr.lines().any(|l| l.starts_with("hint: ")
            && l.contains("scenes[2].at")
            && l.contains("picture timecode 01:00:30:00")
            && l.contains("show time 00:00:30.000")),
        "the timecode hint:\n{stderr}"
    );
    assert_eq!(stderr.lines().filter(|l| l.starts_with("error: ")).count(), 4, "nothing else:\n{stderr}");
    assert!(stderr.contains("4 problem(s) found"), "{stderr}");

    // The render agrees: the tone (440 Hz) sounds from 5 s for 4 s ("heard", then its follow),
    // and nowhere after; the bed of "credits" never comes (110 Hz stops with scene "open"'s
    // bed... which plays to the end, so only the tone is judged).
    let wav = dir.join("unheard.wav");
    let out = segue(&["render", show.to_str().unwrap(), "-o", wav.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (_, [left, _]) = read_stereo(&wav);
    let secs = |from: f64| level_db(&left, RATE, 440.0, from, from + 0.5);
    assert!(secs(6.0) > -20.0 && secs(8.0) > -20.0, "heard, then its follow");
    // (0.5 s windows: one long enough to tell 440 Hz from the 110 Hz bed at -60 dB.)
    for at in [25.5, 40.0, 59.0] {
        assert!(secs(at) < -60.0, "nothing of the tone at {at} s: {:.1} dB", secs(at));
    }
}

#[test]
fn check_of_a_broken_show_exits_1_and_names_every_problem_by_its_json_path() {
    let dir = scratch("cli-check");
    let tone = sine_file(&dir, "tone.wav", RATE, 440.0, 0.5, 0.5, 0.0);
    let show = dir.join("broken.json");
    let json = json!({
        "format": "segue-show/1", "colour": "red",
        "scenes": [{ "id": "s", "at": 0, "cues": [
            { "id": "a", "file": tone, "at": 0 },
            { "id": "a", "file": tone, "at": 1 },
            { "id": "b", "file": "missing.wav", "at": 2 }
        ] }]
    });
    std::fs::write(&show, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    let out = segue(&["check", show.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    for (path, problem) in [
        ("colour", "unknown field \"colour\""),
        ("scenes[0].cues[1].id", "duplicate cue id \"a\""),
        ("scenes[0].cues[2].file", "missing.wav: audio file not found"),
    ] {
        assert!(
            stderr.lines().any(|l| l.contains(&format!("{path}: ")) && l.contains(problem)),
            "{path}: {problem} is reported on its own line:\n{stderr}"
        );
    }
    assert!(stderr.contains("3 problem(s) found."), "{stderr}");
    assert!(out.stdout.is_empty(), "no summary for a broken show");
}

#[test]
fn schema_prints_a_json_schema_with_the_scenes_property() {
    let out = segue(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the schema is JSON");
    assert!(schema["properties"]["scenes"].is_object(), "scenes among the properties: {schema}");
    assert!(schema["properties"]["format"].is_object());
}

#[test]
fn render_writes_a_48_khz_float_stereo_wav_and_stems_that_sum_to_it() {
    let dir = scratch("cli-stems");
    let bed = sine_file(&dir, "bed.wav", RATE, 200.0, 0.5, 1.0, 0.0);
    let cue = sine_file(&dir, "cue.wav", RATE, 700.0, 0.5, 1.0, 0.0);
    let show = dir.join("show.json");
    let json = json!({
        "format": "segue-show/1",
        "scenes": [{ "id": "s", "at": 0, "bed": { "file": bed }, "transition": { "fade_ms": 0 },
            "cues": [{ "id": "c", "file": cue, "at": 0.5, "pan": 0.5 }] }]
    });
    std::fs::write(&show, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    let (wav, stems) = (dir.join("out.wav"), dir.join("stems"));
    let out = segue(&[
        "render",
        show.to_str().unwrap(),
        "-o",
        wav.to_str().unwrap(),
        "--stems",
        stems.to_str().unwrap(),
        "--duration",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let (spec, main) = read_stereo(&wav);
    assert_eq!(spec.channels, 2);
    assert_eq!(spec.sample_rate, 48_000);
    assert_eq!((spec.bits_per_sample, spec.sample_format), (32, hound::SampleFormat::Float));
    assert_eq!(main[0].len(), 96_000, "2 s at 48 kHz");
    let (bed_spec, bed) = read_stereo(&stems.join("bed.wav"));
    let (cue_spec, cues) = read_stereo(&stems.join("cues.wav"));
    assert_eq!(bed_spec, spec);
    assert_eq!(cue_spec, spec);
    // Each stem carries its own sound (the bed ducked under the cue, by the default -12 dB).
    assert!(level_db(&bed[0], RATE, 200.0, 0.2, 0.3) > db(0.5) - 0.1);
    // Mono panned right of centre: louder than the file on the right (+2.3 dB), softer on the left.
    assert!(level_db(&cues[1], RATE, 700.0, 1.2, 1.3) > db(0.5) + 2.0, "the cue, panned right");
    assert!(level_db(&cues[0], RATE, 700.0, 1.2, 1.3) < db(0.5) - 2.0, "the cue, panned right");
    assert!(level_db(&cues[0], RATE, 200.0, 1.2, 1.3) < -100.0, "no bed in the cue stem");
    for ch in 0..2 {
        for (i, ((m, b), c)) in main[ch].iter().zip(&bed[ch]).zip(&cues[ch]).enumerate() {
            // main = bed + cues, one float addition: equal within rounding.
            assert!((m - (b + c)).abs() <= 1e-6, "channel {ch} frame {i}: {m} != {b} + {c}");
        }
    }
}

#[test]
fn render_of_the_demo_is_byte_identical_with_blocks_of_1_and_4096_frames() {
    let dir = scratch("cli-blocks");
    let show = demo();
    let mut files = Vec::new();
    for block in ["1", "4096"] {
        let wav = dir.join(format!("block{block}.wav"));
        let out = segue(&[
            "render",
            show.to_str().unwrap(),
            "-o",
            wav.to_str().unwrap(),
            "--block",
            block,
            "--duration",
            "10",
        ]);
        assert_eq!(out.status.code(), Some(0), "block {block}: {}", text(&out.stderr));
        files.push(std::fs::read(&wav).unwrap());
    }
    assert!(files[0] == files[1], "block 1 and block 4096 renders differ");
    // And they hold the whole 10 s, not silence: the theme starts at 4 s over the bed.
    let (_, main) = read_stereo(&dir.join("block4096.wav"));
    assert_eq!(main[0].len(), 480_000);
    assert!(main[0][240_000..].iter().any(|s| s.abs() > 0.01));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn render_from_a_timeline_position_in_minutes_and_seconds_writes_the_asked_duration() {
    let dir = scratch("cli-start");
    let wav = dir.join("chase.wav");
    let out = segue(&[
        "render",
        demo().to_str().unwrap(),
        "-o",
        wav.to_str().unwrap(),
        "--start",
        "00:24.000",
        "--duration",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let (spec, main) = read_stereo(&wav);
    assert_eq!(spec.sample_rate, 48_000);
    assert_eq!(main[0].len(), 48_000, "1 s at 48 kHz");
    // At 24 s the show is mid-way: the cold-open bed sounds from the first frames on (after the
    // 5 ms de-click of a located start).
    assert!(main[0][240..4_800].iter().any(|s| s.abs() > 0.01), "sound from the start of the render");
}

/// Every time typed on the command line reads as the operator writes it: `render --start` and
/// `picture --from/--to` take picture timecode at the production's rate from its start
/// timecode, the same moment as its show seconds (the renders are the same to the sample), and
/// a moment past the show's end is refused with the show's length.
#[test]
fn render_and_picture_take_picture_timecode_as_well_as_seconds() {
    let dir = scratch("cli-timecode-args");
    let tone = sine_file(&dir, "tone.wav", RATE, 440.0, 0.5, 4.0, 0.0);
    let show = dir.join("tc.json");
    let json = json!({
        "format": "segue-show/1", "end": 12,
        "production": { "frame_rate": "25", "start_timecode": "10:00:00:00" },
        "scenes": [{ "id": "s", "at": 0, "cues": [{ "id": "a", "file": tone, "at": 5 }] }]
    });
    std::fs::write(&show, json.to_string()).unwrap();
    let show = show.to_str().unwrap();
    let (a, b) = (dir.join("a.wav"), dir.join("b.wav"));
    for (start, out) in [("6.48", &a), ("10:00:06:12", &b)] {
        let o = segue(&["render", show, "-o", out.to_str().unwrap(), "--start", start, "--duration", "1"]);
        assert!(o.status.success(), "--start {start}: {}", text(&o.stderr));
    }
    // 10:00:06:12 at 25 fps is 6.48 s of the show: the same render, sample for sample.
    let (_, [x, _]) = read_stereo(&a);
    let (_, [y, _]) = read_stereo(&b);
    assert!(x.len() == y.len() && x == y, "the same moment of the show");
    assert!(level_db(&x, RATE, 440.0, 0.1, 0.5) > -12.0, "the tone sounds there");
    let o = segue(&["render", show, "-o", a.to_str().unwrap(), "--start", "10:00:20:00"]);
    assert!(!o.status.success() && text(&o.stderr).contains("past the show's end"), "{}", text(&o.stderr));
    let png = dir.join("p.svg");
    let o = segue(&["picture", show, "-o", png.to_str().unwrap(), "--from", "10:00:04:00", "--to", "10:00:10:00"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let svg = std::fs::read_to_string(&png).unwrap();
    assert!(svg.contains(&format!("data-from-frame=\"{}\"", 4 * RATE)), "from 4 s of the show");
}
