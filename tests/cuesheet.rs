//! The music cue sheet: its uses start and end where the render is heard, its timecodes are
//! those frames at the production's picture rate (drop-frame included), and what the show says
//! about writers, publishers and the production comes back out of CSV and JSON.

mod common;

use std::process::Command;

use common::*;
use segue::deliver::cuesheet::{self, CueSheet};
use segue::render::{render_show, RenderOptions, Rendered};
use segue::show::timecode::FrameRate;
use segue::show::ShowFile;
use serde_json::{json, Value};

const RATE: u32 = 48_000;
/// What "heard" means for a sheet: above -60 dBFS (`segue::engine::HEARD`).
const HEARD: f32 = 0.001;

fn traced(file: ShowFile) -> Rendered {
    let options = RenderOptions { sample_rate: RATE, trace: true, ..RenderOptions::default() };
    render_show(file, &options).unwrap()
}

/// The first and one past the last frame of `x` (stereo planar) in `range` above `HEARD`.
fn heard_in(x: &[Vec<f32>; 2], range: std::ops::Range<usize>) -> (u64, u64) {
    let loud = |k: &usize| x[0][*k].abs().max(x[1][*k].abs()) > HEARD;
    let first = range.clone().find(loud).expect("something is heard there");
    let last = range.rev().find(loud).unwrap();
    (first as u64, last as u64 + 1)
}

/// Timecode labels counted one by one, as a deck would (independent of the library's
/// arithmetic): drop-frame skips ;00 and ;01 at each minute but every tenth.
fn label(n: u64, rate: FrameRate) -> String {
    let base = rate.base();
    let (mut h, mut m, mut s, mut f) = (0u64, 0u64, 0u64, 0u64);
    for _ in 0..n {
        f += 1;
        if f == base {
            f = 0;
            s += 1;
            if s == 60 {
                s = 0;
                m += 1;
                if m == 60 {
                    m = 0;
                    h += 1;
                }
                if rate.drop_frame() && m % 10 != 0 {
                    f = 2;
                }
            }
        }
    }
    let sep = if rate.drop_frame() { ';' } else { ':' };
    format!("{h:02}:{m:02}:{s:02}{sep}{f:02}")
}

/// The picture frame an audio frame falls in, from the rate's exact fraction.
fn picture(frame: u64, rate: FrameRate) -> u64 {
    let fps = match rate {
        FrameRate::Fps23_976 => 24_000.0 / 1001.0,
        FrameRate::Fps25 => 25.0,
        FrameRate::Fps29_97Df => 30_000.0 / 1001.0,
        _ => unreachable!("not used here"),
    };
    (frame as f64 / RATE as f64 * fps + 1e-9).floor() as u64
}

fn timed_cues_show(name: &str) -> ShowFile {
    let dir = scratch(name);
    sine_file(&dir, "a.wav", RATE, 440.0, 0.5, 2.3, 0.0);
    sine_file(&dir, "c.wav", RATE, 660.0, 0.5, 1.2, 0.0);
    // Half a second of silence before its tone: the use starts where the tone does.
    let mut late = vec![0.0f32; RATE as usize / 2];
    late.extend(sine(RATE, 550.0, 0.5, RATE as usize, 0.0));
    write_wav(&dir.join("b.wav"), RATE, 1, &late);
    show_file(
        &dir,
        json!({
            "format": "segue-show/1",
            "name": "Timed",
            "end": 63.0,
            "scenes": [{ "id": "s", "at": 0, "cues": [
                { "id": "a", "file": "a.wav", "at": 3.7, "fade_out_ms": 300, "title": "Song A" },
                { "id": "b", "file": "b.wav", "at": 12.0, "title": "Song B" },
                // Across the first minute, where drop-frame skips two labels.
                { "id": "c", "file": "c.wav", "at": 59.95, "fade_in_ms": 500, "title": "Song C" }
            ]}]
        }),
    )
}

#[test]
fn uses_start_and_end_on_the_heard_frames_and_their_timecodes_are_those_frames_at_each_rate() {
    let mut file = timed_cues_show("cuesheet-timed");
    let rendered = traced(file.clone());
    let second = RATE as usize;
    let windows = [("a", 3 * second..7 * second), ("b", 11 * second..14 * second), ("c", 59 * second..62 * second)];
    for rate in [FrameRate::Fps23_976, FrameRate::Fps25, FrameRate::Fps29_97Df] {
        file.show.production = Some(segue::show::credits::Production { frame_rate: rate, ..Default::default() });
        let sheet = cuesheet::build(&file, RATE, &rendered.heard);
        assert_eq!(sheet.uses.len(), 3, "{:?}", sheet.uses);
        for (u, (id, window)) in sheet.uses.iter().zip(windows.iter()) {
            assert_eq!(u.cue, *id, "in order of first sound");
            let (on, off) = heard_in(&rendered.cues, window.clone());
            assert_eq!((u.from_frame, u.to_frame), (on, off), "use {id}: heard where the render is");
            assert_eq!(u.timecode_in, label(picture(on, rate), rate), "{id} in at {}", rate.name());
            assert_eq!(u.timecode_out, label(picture(off - 1, rate) + 1, rate), "{id} out at {}", rate.name());
        }
    }
    // The tone of b starts half a second into its file; a's fade ends it before its file does.
    let uses = cuesheet::build(&file, RATE, &rendered.heard).uses;
    assert!(uses[1].from_frame.abs_diff(12 * RATE as u64 + RATE as u64 / 2) <= 1, "b from its tone");
    assert!(uses[0].to_frame < (3.7 * RATE as f64) as u64 + (2.3 * RATE as f64) as u64, "a ends in its fade");
    // Durations round up to whole seconds: 2.3 s is 0:03, 1.0 s of tone 0:01 (or 0:02 if the
    // de-click's tail lasts past the second), c's 1.2 s is 0:02.
    assert_eq!(uses[0].duration, "0:03");
    assert_eq!(uses[2].duration, "0:02");
}

fn crossfade_show(name: &str, second_bed: bool, same_music: bool, new_use: bool) -> ShowFile {
    let dir = scratch(name);
    sine_file(&dir, "a.wav", RATE, 300.0, 0.5, 4.0, 0.0);
    sine_file(&dir, "b.wav", RATE, 500.0, 0.5, 4.0, 0.0);
    let mut second = json!({ "id": "two", "at": 5.0, "transition": { "fade_ms": 2000, "curve": "linear" } });
    if second_bed {
        let file = if same_music { "a.wav" } else { "b.wav" };
        second["bed"] =
            json!({ "file": file, "title": if same_music { "Bed A" } else { "Bed B" }, "new_use": new_use });
    }
    show_file(
        &dir,
        json!({
            "format": "segue-show/1",
            "end": 10.0,
            "scenes": [
                { "id": "one", "at": 0, "bed": { "file": "a.wav", "title": "Bed A" }, "transition": { "fade_ms": 0 } },
                second
            ]
        }),
    )
}

#[test]
fn a_crossfade_ends_the_outgoing_bed_where_it_falls_below_the_threshold() {
    let sheet = |file: &ShowFile| cuesheet::build(file, RATE, &traced(file.clone()).heard);
    let crossfade = crossfade_show("cuesheet-xfade", true, false, false);
    let uses = sheet(&crossfade).uses;
    assert_eq!(uses.iter().map(|u| u.title.as_str()).collect::<Vec<_>>(), ["Bed A", "Bed B"]);
    // The same fade without an incoming bed leaves bed A alone on the bed stem: where it is last
    // heard there is where the crossfade took it out.
    let alone = crossfade_show("cuesheet-fadeout", false, false, false);
    let faded = traced(alone.clone());
    let (_, off) = heard_in(&faded.bed, 4 * RATE as usize..8 * RATE as usize);
    assert_eq!(uses[0].to_frame, off, "bed A's use ends where it is no longer heard");
    // A linear fade from 0.5 over 2 s passes -60 dBFS 4 ms before it ends.
    let fade_end = 7 * RATE as u64;
    assert!(off < fade_end && off > fade_end - RATE as u64 / 50, "A is last heard at {off}");
    // B's fade from nothing reaches -60 dBFS on a 0.5 sine after 4 ms, at its next peak.
    let b = uses[1].from_frame - 5 * RATE as u64;
    assert!(b < RATE as u64 / 100, "B is heard {b} frames into its fade");
}

#[test]
fn the_same_music_carried_through_a_crossfade_is_one_use_unless_the_show_says_new_use() {
    let sheet = |file: &ShowFile| cuesheet::build(file, RATE, &traced(file.clone()).heard);
    let carried = sheet(&crossfade_show("cuesheet-carried", true, true, false));
    assert_eq!(carried.uses.len(), 1, "{:?}", carried.uses);
    // The de-click's first frames of a sine from phase 0 are below -60 dBFS.
    assert!(carried.uses[0].from_frame < 10, "{:?}", carried.uses[0]);
    // The show's end at 10 s fades everything over the 1 s panic fade.
    assert!(carried.uses[0].to_frame > 10 * RATE as u64, "through the end's fade");
    assert_eq!(carried.uses[0].duration, "0:11");
    let split = sheet(&crossfade_show("cuesheet-new-use", true, true, true));
    assert_eq!(split.uses.len(), 2, "{:?}", split.uses);
    // Beds are BI: 0 to the crossfade's end at 7 s, and 5 s to the end's fade (6 s, rounded up).
    assert_eq!(split.uses[0].duration, "0:07");
    assert_eq!(split.uses[1].duration, "0:06");
    assert_eq!(split.totals, vec![("BI".to_string(), 13)]);
}

fn credited_show(name: &str) -> ShowFile {
    let dir = scratch(name);
    sine_file(&dir, "song.wav", RATE, 440.0, 0.5, 2.0, 0.0);
    show_file(
        &dir,
        json!({
            "format": "segue-show/1",
            "name": "Credited",
            "end": 4.0,
            "production": { "title": "The Series", "episode_title": "Pilot, part \"one\"", "episode_number": "101",
                            "air_date": "2026-12-01", "company": "Example Films", "frame_rate": "25",
                            "start_timecode": "10:00:00:00" },
            "scenes": [{ "id": "s", "at": 0, "cues": [{
                "id": "song", "number": "1M1", "file": "song.wav", "at": 1.0, "title": "Song, the first", "artist": "The Band",
                "usage": "VV", "isrc": "USRC17607839", "iswc": "T-034.524.680-1",
                "writers": [
                    { "name": "Ann Writer", "role": "CA", "society": "ASCAP", "share": 50 },
                    { "name": "Bob Lyricist", "role": "A", "society": "PRS", "share": 50 }
                ],
                "publishers": [{ "name": "Songs Ltd", "society": "BMI", "share": 100 }]
            }]}]
        }),
    )
}

/// A CSV line's fields (RFC 4180 quoting).
fn csv_fields(line: &str) -> Vec<String> {
    let (mut fields, mut field, mut quoted, mut chars) = (Vec::new(), String::new(), false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[test]
fn shares_and_the_production_header_come_back_out_of_csv_and_json() {
    let file = credited_show("cuesheet-credits");
    let sheet: CueSheet = cuesheet::build(&file, RATE, &traced(file.clone()).heard);
    let csv = sheet.to_csv();
    let lines: Vec<Vec<String>> = csv.split("\r\n").map(csv_fields).collect();
    assert_eq!(lines[0], ["Series/Film Title", "The Series"]);
    assert_eq!(lines[1], ["Episode Title", "Pilot, part \"one\""]);
    assert_eq!(lines[2], ["Episode Number", "101"]);
    assert_eq!(lines[6], ["Start Timecode", "10:00:00:00"]);
    let columns = lines.iter().position(|l| l[0] == "Sequence").unwrap();
    assert_eq!(lines[columns], cuesheet::CSV_COLUMNS);
    let col = |name: &str| cuesheet::CSV_COLUMNS.iter().position(|c| *c == name).unwrap();
    let rows: Vec<&Vec<String>> = lines[columns + 1..].iter().filter(|l| l.len() > 1).collect();
    assert_eq!(rows.len(), 3, "one row per writer and publisher");
    let parties: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (r[col("Role")].as_str(), r[col("Name")].as_str(), r[col("Society")].as_str(), r[col("Share %")].as_str())
        })
        .collect();
    assert_eq!(
        parties,
        [
            ("CA", "Ann Writer", "ASCAP", "50.00"),
            ("A", "Bob Lyricist", "PRS", "50.00"),
            ("E", "Songs Ltd", "BMI", "100.00")
        ]
    );
    for r in &rows {
        assert_eq!(r[col("Title")], "Song, the first");
        assert_eq!(r[col("Cue No.")], "1M1", "the film cue number");
        assert_eq!(r[col("Usage")], "VV");
        // 1.0 s into the show at 25 fps from 10:00:00:00.
        assert_eq!(r[col("TC In")], "10:00:01:00");
        assert_eq!(r[col("ISRC")], "USRC17607839");
    }
    let back: Value = serde_json::from_str(&sheet.to_json()).unwrap();
    assert_eq!(back["production"]["company"], "Example Films");
    assert_eq!(back["production"]["frame_rate"], "25");
    assert_eq!(
        back["uses"][0]["writers"][1],
        json!({ "name": "Bob Lyricist", "role": "A", "society": "PRS", "share": 50.0 })
    );
    assert_eq!(back["uses"][0]["publishers"][0]["share"], 100.0);
    assert_eq!(back["uses"][0]["timecode_in"], "10:00:01:00");
    let html = sheet.to_html(None);
    assert!(html.contains("Pilot, part &quot;one&quot;") && html.contains("Ann Writer (CA), ASCAP 50.00%"), "{html}");
    assert!(html.contains("1M1<br><small>song</small>"), "the cue number beside the id: {html}");
}

#[test]
fn tracing_what_is_heard_leaves_the_render_the_same_to_the_bit() {
    let file = timed_cues_show("cuesheet-bits");
    let plain = render_show(file.clone(), &RenderOptions { sample_rate: RATE, ..RenderOptions::default() }).unwrap();
    let traced = traced(file);
    assert!(plain.main == traced.main && plain.cues == traced.cues, "the trace changed the output");
    assert!(plain.heard.is_empty() && traced.heard.len() == 3);
}

#[test]
fn check_warns_where_a_cue_sheet_would_be_incomplete_and_cuesheet_writes_each_format() {
    let file = credited_show("cuesheet-cli");
    let dir = file.dir.clone();
    let mut json: Value = serde_json::from_str(&std::fs::read_to_string(&file.path).unwrap()).unwrap();
    let cue = &mut json["scenes"][0]["cues"][0];
    cue["writers"][1]["share"] = json!(40);
    cue["usage"] = json!("XX");
    cue.as_object_mut().unwrap().remove("title");
    json["scenes"][0]["bed"] = json!({ "file": "song.wav" });
    let show = dir.join("gaps.json");
    std::fs::write(&show, json.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_segue")).arg("check").arg(&show).output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "warnings are not errors: {said}");
    for phrase in [
        "scenes[0].cues[0]: cue \"song\" has no title",
        "scenes[0].cues[0].writers: cue \"song\"'s writers' shares add up to 90.00 %",
        "scenes[0].cues[0].usage: cue \"song\": unknown usage code \"XX\"",
        "scenes[0].bed: the bed of scene \"s\" has no writers",
    ] {
        assert!(said.contains(phrase), "check says {phrase:?}:\n{said}");
    }
    for ext in ["csv", "json", "html"] {
        let path = dir.join(format!("sheet.{ext}"));
        let out = Command::new(env!("CARGO_BIN_EXE_segue"))
            .arg("cuesheet")
            .arg(&file.path)
            .arg("-o")
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("Ann Writer"), "{ext}: {text}");
        if ext == "html" {
            assert!(text.contains("<svg ") && text.contains("data-id=\"song\""), "the picture of the mix below");
        }
    }
    let out = Command::new(env!("CARGO_BIN_EXE_segue"))
        .arg("cuesheet")
        .arg(&file.path)
        .args(["-o", "x.pdf"])
        .output()
        .unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("use .csv, .json or .html"));
}

#[test]
fn a_bed_after_a_scene_without_one_is_on_the_sheet_with_its_own_credits() {
    let dir = scratch("cuesheet-bedless-first");
    sine_file(&dir, "song.wav", RATE, 440.0, 0.5, 1.0, 0.0);
    sine_file(&dir, "bed.wav", RATE, 220.0, 0.3, 2.0, 0.0);
    let file = show_file(
        &dir,
        json!({
            "format": "segue-show/1",
            "end": 4.0,
            "scenes": [
                { "id": "cold", "at": 0, "cues": [{ "id": "song", "file": "song.wav", "at": 0.5, "title": "Song" }] },
                { "id": "warm", "at": 2.0, "bed": { "file": "bed.wav", "title": "Warm Bed", "usage": "BV" } }
            ]
        }),
    );
    let sheet = cuesheet::build(&file, RATE, &traced(file.clone()).heard);
    let uses: Vec<(&str, &str, &str)> =
        sheet.uses.iter().map(|u| (u.cue.as_str(), u.title.as_str(), u.usage.as_str())).collect();
    assert_eq!(uses, [("song", "Song", ""), ("warm/bed", "Warm Bed", "BV")]);
}

#[test]
fn a_log_places_a_go_at_the_stopped_playhead_and_passes_over_a_line_cut_short() {
    let file = credited_show("cuesheet-log-lines");
    let show = std::fs::canonicalize(&file.path).unwrap().display().to_string();
    let lines = [
        json!({ "what": "session", "rate": RATE, "show": show }),
        // Stopped at 2 s, a GO heard from engine frame 4800 for 0.1 s.
        json!({ "what": "halted", "frame": 0, "position": 2 * RATE, "show": show }),
        json!({ "what": "heard", "use": "song", "from_frame": 4_800, "to_frame": 9_600, "show": show }),
        // Then rolling from 3 s at engine frame 48000: heard from 72000 is 3.5 s on the timeline.
        json!({ "what": "rolled", "frame": 48_000, "position": 3 * RATE, "show": show }),
        json!({ "what": "heard", "use": "song", "from_frame": 72_000, "to_frame": 120_000, "show": show }),
    ];
    let mut log: String = lines.iter().map(|l| format!("{l}\n")).collect();
    log.push_str("{\"what\": \"heard\", \"use\": \"so");
    let run = cuesheet::heard_from_log(&file, &log, "test.log").unwrap();
    assert_eq!(run.rate, RATE);
    assert_eq!(run.heard, [(0, 2 * RATE as u64, 2 * RATE as u64 + 4_800), (0, 168_000, 216_000)]);
    assert_eq!(run.skipped, [6], "the cut line is passed over and said");
    let other = cuesheet::heard_from_log(&file, &log.replace(&show, "/elsewhere/show.json"), "test.log");
    assert!(other.is_err_and(|e| e.contains("no run of")), "another show's log");
}

/// A sheet counts the show's beds and cues and names each one not heard, with why: one
/// started only by GO, one only by a MIDI note, one following a cue that did not sound, a scene
/// no `at` puts on the timeline (its bed and cue), a cue past the show's end, one too quiet to
/// count. The CSV header, the JSON and the HTML say it; the HTML also carries ISRC, ISWC and
/// library, as the CSV does.
#[test]
fn a_sheet_says_how_many_beds_and_cues_were_heard_and_why_each_other_was_not() {
    let dir = scratch("cuesheet-unheard");
    sine_file(&dir, "song.wav", RATE, 440.0, 0.5, 1.0, 0.0);
    sine_file(&dir, "bed.wav", RATE, 220.0, 0.3, 2.0, 0.0);
    let file = show_file(
        &dir,
        json!({
            "format": "segue-show/1", "end": 8.0,
            "scenes": [
                { "id": "a", "at": 0, "bed": { "file": "bed.wav", "title": "Bed A" }, "cues": [
                    { "id": "timed", "file": "song.wav", "at": 1.0, "isrc": "USRC17607839", "iswc": "T-034.524.680-1",
                      "library": "Example Library" },
                    { "id": "manual", "file": "song.wav", "title": "Manual" },
                    { "id": "noted", "file": "song.wav", "note": 60 },
                    { "id": "after-manual", "file": "song.wav", "follow": { "after": "manual" } },
                    { "id": "too-late", "file": "song.wav", "at": 9.0 },
                    { "id": "whisper", "file": "song.wav", "at": 3.0, "gain_db": -100 }
                ] },
                { "id": "by-hand", "bed": { "file": "bed.wav", "title": "Bed B" }, "cues": [
                    { "id": "in-by-hand", "file": "song.wav", "at": 0 }
                ] }
            ]
        }),
    );
    let sheet = cuesheet::build(&file, RATE, &traced(file.clone()).heard);
    assert_eq!(sheet.parts, 9, "7 cues and 2 beds");
    let why: Vec<(&str, &str)> = sheet.unheard.iter().map(|n| (n.cue.as_str(), n.why.as_str())).collect();
    let expect = [
        ("manual", "a manual cue: GO starts it"),
        ("noted", "started by MIDI note 60 only"),
        ("after-manual", "it follows cue \"manual\", which did not sound"),
        ("too-late", "after the show's end at 00:00:08.000"),
        ("whisper", "never above -60 dBFS"),
        ("in-by-hand", "scene \"by-hand\" has no `at`"),
        ("by-hand/bed", "scene \"by-hand\" has no `at`"),
    ];
    assert_eq!(why.len(), expect.len(), "{why:?}");
    for ((cue, said), (want_cue, want)) in why.iter().zip(expect) {
        assert!(*cue == want_cue && said.contains(want), "{cue}: {said} (expected {want_cue}: {want})");
    }
    let csv = sheet.to_csv();
    assert!(csv.contains("Beds and Cues Heard,2 of 9\r\n"), "{csv}");
    let back: Value = serde_json::from_str(&sheet.to_json()).unwrap();
    assert_eq!(back["parts"], 9);
    assert_eq!(back["unheard"][0]["cue"], "manual");
    let html = sheet.to_html(None);
    for text in ["ISRC USRC17607839", "ISWC T-034.524.680-1", "Library Example Library", "Not heard", "2 of 9"] {
        assert!(html.contains(text), "{text} in the HTML sheet");
    }
}

/// The HTML sheet printed to PDF (Chromium, as a browser's "Print" makes it) on A4 and on
/// Letter: a show with long titles, four writers each with a long name and every code keeps
/// every word inside the page (read back with pdftotext -bbox), and each use's TC out and
/// duration (the rightmost columns) is there to read.
#[test]
fn the_html_sheet_prints_on_a4_and_letter_with_nothing_cut_off() {
    let dir = scratch("cuesheet-print");
    sine_file(&dir, "song.wav", RATE, 440.0, 0.5, 2.0, 0.0);
    let writers: Vec<Value> = [
        "Annabel Writer-Composerson",
        "Bartholomew Lyricist-Arranger",
        "Constance Orchestrator",
        "Desmond Sub-Publisher",
    ]
    .iter()
    .map(|n| json!({ "name": n, "role": "CA", "society": "ASCAP", "share": 25 }))
    .collect();
    let cues: Vec<Value> = (0..6)
        .map(|i| {
            json!({ "id": format!("song-with-a-long-id-{i}"), "number": format!("{}M{}A", i + 1, i + 10), "file": "song.wav",
                "at": 1.0 + 3.0 * i as f64, "title": format!("A very long song title number {i}, the extended remix edition"),
                "artist": "The Band With A Long Name", "isrc": "USRC17607839", "iswc": "T-034.524.680-1",
                "library": "Example Production Music Library", "writers": writers,
                "publishers": [{ "name": "Songs Publishing International Ltd", "society": "BMI", "share": 100 }] })
        })
        .collect();
    let file = show_file(
        &dir,
        json!({ "format": "segue-show/1", "end": 20.0,
            "production": { "title": "The Series", "frame_rate": "29.97df", "start_timecode": "01:00:00;00" },
            "scenes": [{ "id": "s", "at": 0, "cues": cues }] }),
    );
    let sheet = cuesheet::build(&file, RATE, &traced(file.clone()).heard);
    assert_eq!(sheet.uses.len(), 6);
    let html = sheet.to_html(None);
    for (paper, width_pt) in [("A4", 595.0), ("letter", 612.0)] {
        let page = dir.join(format!("sheet-{paper}.html"));
        std::fs::write(&page, html.replace("</head>", &format!("<style>@page {{ size: {paper}; }}</style></head>")))
            .unwrap();
        let pdf = dir.join(format!("sheet-{paper}.pdf"));
        let out = Command::new("chromium")
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer"])
            .arg(format!("--user-data-dir={}", dir.join(format!("chromium-{paper}")).display()))
            .arg(format!("--print-to-pdf={}", pdf.display()))
            .arg(&page)
            .output()
            .expect("chromium runs (.ci/setup installs it)");
        assert!(pdf.exists(), "{paper}: no PDF: {}", String::from_utf8_lossy(&out.stderr));
        let bbox =
            Command::new("pdftotext").arg("-bbox").arg(&pdf).arg("-").output().expect("pdftotext (poppler-utils)");
        let bbox = String::from_utf8_lossy(&bbox.stdout).into_owned();
        let num = |line: &str, key: &str| -> f64 {
            let k = format!("{key}=\"");
            let at = line.find(&k).unwrap() + k.len();
            line[at..at + line[at..].find('"').unwrap()].parse().unwrap()
        };
        let page_width = num(bbox.lines().find(|l| l.contains("<page ")).unwrap(), "width");
        assert!((page_width - width_pt).abs() < 1.0, "{paper}: the page is {page_width} pt wide");
        let words: Vec<(f64, f64, String)> = bbox
            .lines()
            .filter(|l| l.trim_start().starts_with("<word"))
            .map(|l| {
                (num(l, "xMin"), num(l, "xMax"), l[l.find('>').unwrap() + 1..l.rfind("</word>").unwrap()].to_string())
            })
            .collect();
        // Inside the page and its 12 mm (34 pt) margins, less a point for the font's edges.
        for (x0, x1, w) in &words {
            assert!(*x0 >= 33.0 && *x1 <= page_width - 33.0, "{paper}: \"{w}\" at {x0:.0}..{x1:.0} of {page_width}");
        }
        for u in &sheet.uses {
            for text in [&u.timecode_out, &u.duration] {
                assert!(words.iter().any(|(_, _, w)| w == text), "{paper}: {text} is not on the page");
            }
        }
    }
}
