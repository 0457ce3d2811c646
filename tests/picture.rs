//! The picture of the mix: its lanes and ramps sit at the x positions of the frames the render
//! heard them on, and the PNG is a real PNG of the stated size (decoded by ImageMagick).

mod common;

use std::process::Command;

use common::*;
use segue::deliver::picture::{self, View};
use segue::render::{render_show, RenderOptions};
use serde_json::json;

const RATE: u32 = 48_000;

fn show(name: &str) -> segue::show::ShowFile {
    let dir = scratch(name);
    sine_file(&dir, "bed.wav", RATE, 200.0, 0.3, 3.0, 0.0);
    sine_file(&dir, "song.wav", RATE, 700.0, 0.5, 3.0, 0.0);
    show_file(
        &dir,
        json!({
            "format": "segue-show/1",
            "end": 8.0,
            "scenes": [
                { "id": "one", "at": 0, "bed": { "file": "bed.wav" }, "transition": { "fade_ms": 0 },
                  "cues": [{ "id": "song", "file": "song.wav", "at": 2.0, "fade_in_ms": 500, "fade_out_ms": 1000 }] },
                { "id": "two", "at": 6.0, "transition": { "fade_ms": 1000, "curve": "linear" } }
            ]
        }),
    )
}

/// The attribute `name` of an SVG element's text.
fn attr<'a>(element: &'a str, name: &str) -> &'a str {
    let key = format!(" {name}=\"");
    let start = element.find(&key).unwrap_or_else(|| panic!("no {name} in {element}")) + key.len();
    &element[start..start + element[start..].find('"').unwrap()]
}

fn points(element: &str) -> Vec<(f64, f64)> {
    attr(element, "points")
        .split(' ')
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

#[test]
fn lanes_and_their_ramps_sit_at_the_x_of_the_frames_they_are_heard_on() {
    let file = show("picture-svg");
    let options = RenderOptions { sample_rate: RATE, trace: true, trace_levels: true, ..RenderOptions::default() };
    let rendered = render_show(file.clone(), &options).unwrap();
    let frames = rendered.frames() as u64;
    let view = View { from: 0, to: frames, width: 1600 };
    let svg = picture::draw(&file, &rendered, view).to_svg();
    let root = svg.lines().next().unwrap();
    let (left, right): (f64, f64) =
        (attr(root, "data-left").parse().unwrap(), attr(root, "data-right").parse().unwrap());
    assert_eq!(attr(root, "data-to-frame"), frames.to_string());
    let x = |frame: u64| left + frame as f64 * (right - left) / frames as f64;
    // Written with two decimals.
    let near = |a: f64, b: f64| (a - b).abs() < 0.006;
    let song = svg.lines().find(|l| l.contains("class=\"lane\" data-id=\"song\"")).expect("the song's lane");
    let heard = rendered.heard.iter().find(|h| h.0 == 0).copied().unwrap();
    let p = points(song);
    assert!(near(p[0].0, x(heard.1)) && near(p.last().unwrap().0, x(heard.2)), "song from {:?}: {p:?}", heard);
    // Its shape: bottom of the lane, then up the 0.5 s fade in to the full level, down the fade
    // out over its last second (a file of 3 s from 2 s: the fade from 4 s to 5 s).
    let bottom = p[0].1;
    let top = p.iter().map(|q| q.1).fold(f64::MAX, f64::min);
    // The outline between its points (the trace gives a point wherever the level moved).
    let level_at = |frame: u64| {
        let xf = x(frame);
        let after = p.iter().position(|q| q.0 >= xf).unwrap();
        let (a, b) = (p[after - 1], p[after]);
        if b.0 == a.0 {
            b.1
        } else {
            a.1 + (b.1 - a.1) * (xf - a.0) / (b.0 - a.0)
        }
    };
    // 0.05 px: the outline's points are written with two decimals.
    assert!((level_at(3 * RATE as u64) - top).abs() < 0.05, "full level at 3 s: {p:?}");
    // A cue fades in on the equal-power curve: half-way through, sin(45°) of the full level
    // (within 3 % of the lane: the trace's 0.5 % steps and the two decimals).
    let expected = bottom - (bottom - top) * std::f64::consts::FRAC_1_SQRT_2;
    let got = level_at((2.25 * RATE as f64) as u64);
    assert!((got - expected).abs() < (bottom - top) * 0.03, "at 2.25 s: {got} for {expected}");
    assert!(level_at((4.9 * RATE as f64) as u64) > bottom - (bottom - top) * 0.2, "nearly down at 4.9 s");
    // The bed's lane ends in the crossfade to nothing that scene two starts at 6 s.
    let bed = svg.lines().find(|l| l.contains("data-id=\"one/bed\"")).expect("the bed's lane");
    let end = points(bed).last().unwrap().0;
    assert!(end > x(6 * RATE as u64) && end <= x(7 * RATE as u64) + 0.01, "the bed ends at {end}");
    // Scene two's line is at 6 s.
    let scene_line = svg
        .lines()
        .filter(|l| l.starts_with("<line"))
        .find(|l| near(attr(l, "x1").parse().unwrap(), x(6 * RATE as u64)) && attr(l, "stroke") == "#1e1e1e");
    assert!(scene_line.is_some(), "a scene line at 6 s");
}

#[test]
fn segue_picture_writes_a_png_of_the_stated_size_and_a_window_of_an_svg() {
    let file = show("picture-png");
    let dir = file.dir.clone();
    let png = dir.join("mix.png");
    let out = Command::new(env!("CARGO_BIN_EXE_segue"))
        .arg("picture")
        .arg(&file.path)
        .arg("-o")
        .arg(&png)
        .args(["--width", "900"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stderr);
    let size = Command::new("identify").args(["-format", "%w %h %m"]).arg(&png).output().expect("ImageMagick");
    let size = String::from_utf8_lossy(&size.stdout);
    assert!(
        said.contains(&format!("({} px)", size.split(' ').take(2).collect::<Vec<_>>().join(" x "))),
        "{said} vs {size}"
    );
    assert!(size.starts_with("900 ") && size.ends_with("PNG"), "{size}");
    // The song's lane colour is there, where its lane is drawn (ImageMagick's own decoding).
    let txt = Command::new("convert").arg(&png).arg("txt:-").output().unwrap();
    assert!(String::from_utf8_lossy(&txt.stdout).contains("#D68034"), "the cue lane's colour in the PNG");
    let svg = dir.join("part.svg");
    let out = Command::new(env!("CARGO_BIN_EXE_segue"))
        .arg("picture")
        .arg(&file.path)
        .arg("-o")
        .arg(&svg)
        .args(["--from", "5", "--to", "7.5"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&svg).unwrap();
    let root = text.lines().next().unwrap();
    assert_eq!((attr(root, "data-from-frame"), attr(root, "data-to-frame")), ("240000", "360000"));
    let out = Command::new(env!("CARGO_BIN_EXE_segue"))
        .arg("picture")
        .arg(&file.path)
        .args(["-o", "x.gif"])
        .output()
        .unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains(".svg or .png"));
}

/// The picture's time grid falls on round picture timecodes, also where they are not round
/// show seconds: 29.97 drop-frame from 00:59:58;00 (labels with `;`, `;02` where drop-frame
/// skips `;00`) and 23.976 from 00:59:59:12. Each label is on the first audio frame of its
/// picture frame, and no label runs off the picture's edges.
#[test]
fn the_time_grid_falls_on_round_picture_timecodes_and_no_label_is_cut_off() {
    use segue::show::timecode::{FrameRate, Timecode};
    // (And from just before midnight: the labels start again at 00:00:00:00.)
    for (rate_name, start) in [("29.97df", "00:59:58;00"), ("23.976", "00:59:59:12"), ("25", "23:59:10:00")] {
        let dir = scratch(&format!("picture-grid-{}", rate_name.replace('.', "")));
        sine_file(&dir, "bed.wav", RATE, 200.0, 0.3, 5.0, 0.0);
        let file = show_file(
            &dir,
            json!({
                "format": "segue-show/1", "end": 150.0,
                "production": { "title": "A long production title that takes room", "frame_rate": rate_name, "start_timecode": start },
                "scenes": [{ "id": "one", "at": 0, "bed": { "file": "bed.wav", "loop": true } }]
            }),
        );
        let frame_rate = FrameRate::from_name(rate_name).unwrap();
        let start = Timecode::parse(start, frame_rate).unwrap();
        let options = RenderOptions { sample_rate: RATE, trace: true, trace_levels: true, ..RenderOptions::default() };
        let rendered = render_show(file.clone(), &options).unwrap();
        let frames = rendered.frames() as u64;
        let view = View { from: 0, to: frames, width: 900 };
        let svg = picture::draw(&file, &rendered, view).to_svg();
        let root = svg.lines().next().unwrap();
        let (left, right): (f64, f64) =
            (attr(root, "data-left").parse().unwrap(), attr(root, "data-right").parse().unwrap());
        let x = |frame: u64| left + frame as f64 * (right - left) / frames as f64;
        let texts: Vec<(f64, String)> = svg
            .lines()
            .filter(|l| l.starts_with("<text"))
            .map(|l| {
                (attr(l, "x").parse().unwrap(), l[l.find('>').unwrap() + 1..l.rfind("</text>").unwrap()].to_string())
            })
            .collect();
        for (tx, text) in &texts {
            // 6 px a character in the built-in font.
            assert!(*tx >= 0.0 && tx + 6.0 * text.chars().count() as f64 <= 900.0, "{text} at {tx} is cut off");
        }
        // The grid's lines are the vertical ones in the grid's colour.
        let grid: Vec<f64> = svg
            .lines()
            .filter(|l| l.starts_with("<line") && attr(l, "stroke") == "#cdcdc8" && attr(l, "x1") == attr(l, "x2"))
            .map(|l| attr(l, "x1").parse().unwrap())
            .collect();
        let labels: Vec<&String> =
            texts.iter().map(|(_, t)| t).filter(|t| Timecode::parse(t, frame_rate).is_ok()).collect();
        assert!(labels.len() >= 4, "{rate_name}: a label every 30 s over 150 s: {labels:?}");
        assert_eq!(labels.len(), grid.len(), "{rate_name}: a label for each line");
        let (num, den) = frame_rate.ratio();
        for (label, line_x) in labels.iter().zip(&grid) {
            let f: Vec<u64> = label.split([':', ';']).map(|p| p.parse().unwrap()).collect();
            let dropped = frame_rate.drop_frame() && f[2] == 0 && !f[1].is_multiple_of(10);
            assert!(
                f[2].is_multiple_of(30) && f[3] == if dropped { 2 } else { 0 },
                "{rate_name}: {label} is not round"
            );
            assert_eq!(label.contains(';'), frame_rate.drop_frame(), "{label}");
            let mut frames = Timecode::parse(label, frame_rate).unwrap().frames;
            if frames < start.frames {
                // Past midnight: a day of frames on.
                frames += 24 * 3600 * frame_rate.base();
            }
            let picture = frames - start.frames;
            let audio = (picture as u128 * RATE as u128 * den as u128).div_ceil(num as u128) as u64;
            assert!(
                (x(audio) - line_x).abs() < 0.006,
                "{rate_name}: {label}'s line at {line_x}, its frame at {}",
                x(audio)
            );
        }
    }
}
