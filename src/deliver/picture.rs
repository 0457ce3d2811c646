//! A picture of the mix (control side, after a render): a timecode axis with the scenes, one
//! lane per bed and cue with its level drawn from the render (fades as ramps) and its name, the
//! bed's duck in dB, and the main output's waveform and short-term loudness. Drawn as shapes
//! once, then written as SVG (for print and the HTML cue sheet) or rasterised to PNG here (a
//! quick look; no browser or font library needed: labels use a built-in 5×7 pixel font).
//!
//! Horizontal scale: frame `f` of the render is at `x = left + (f - from) × (right - left) /
//! (to - from)`; the SVG root carries `data-from-frame`, `data-to-frame`, `data-left` and
//! `data-right` so a reader can map back. Lanes are packed: a bed or cue goes in the first lane
//! of its kind free at its start, so 100 cues that do not overlap take one lane.

use std::fmt::Write as _;

use crate::deliver::cuesheet;
use crate::render::Rendered;
use crate::show::timecode::Timecode;
use crate::show::ShowFile;

/// What part of the render to draw, and how wide.
#[derive(Debug, Clone, Copy)]
pub struct View {
    /// Timeline frames at the render's rate.
    pub from: u64,
    pub to: u64,
    pub width: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgb(pub u8, pub u8, pub u8);

const BG: Rgb = Rgb(250, 250, 247);
const INK: Rgb = Rgb(30, 30, 30);
const GRID: Rgb = Rgb(205, 205, 200);
const BED: Rgb = Rgb(86, 140, 196);
const CUE: Rgb = Rgb(214, 128, 52);
const DUCK: Rgb = Rgb(120, 80, 160);
const WAVE: Rgb = Rgb(60, 110, 80);
const LOUD: Rgb = Rgb(190, 50, 50);

/// One thing drawn.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Rect {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        fill: Rgb,
    },
    Line {
        x1: f64,
        y1: f64,
        x2: f64,
        y2: f64,
        stroke: Rgb,
    },
    /// A filled lane shape; `id` names the bed or cue.
    Polygon {
        points: Vec<(f64, f64)>,
        fill: Rgb,
        id: String,
    },
    Polyline {
        points: Vec<(f64, f64)>,
        stroke: Rgb,
    },
    Text {
        x: f64,
        y: f64,
        text: String,
        fill: Rgb,
    },
}

/// The drawing: its size, scale and shapes.
pub struct Drawing {
    pub width: u32,
    pub height: u32,
    pub view: View,
    pub left: f64,
    pub right: f64,
    pub shapes: Vec<Shape>,
}

const LEFT: f64 = 90.0;
const RIGHT_MARGIN: f64 = 16.0;
const LANE: f64 = 20.0;
const TEXT_H: f64 = 9.0;

impl Drawing {
    pub fn x(&self, frame: u64) -> f64 {
        let span = (self.view.to - self.view.from).max(1) as f64;
        self.left + (frame as f64 - self.view.from as f64) * (self.right - self.left) / span
    }
}

/// Draws the render of `file` (rendered from timeline 0 with `trace_levels`).
pub fn draw(file: &ShowFile, rendered: &Rendered, view: View) -> Drawing {
    let view = View { to: view.to.max(view.from + 1), ..view };
    let rate = rendered.sample_rate;
    let width = view.width.max(200);
    let right = width as f64 - RIGHT_MARGIN;
    let mut d = Drawing { width, height: 0, view, left: LEFT, right, shapes: Vec::new() };
    let sheet = cuesheet::build(file, rate, &[]);
    let production = sheet.production.clone();
    let start = production.start();
    let frame_rate = production.frame_rate;
    let tc = |frame: u64| start.plus(frame_rate.picture_frame(frame, rate)).to_string();
    let mut y = 8.0;
    let title = format!("{}  {} - {}", sheet.header()[0].1, tc(view.from), tc(view.to));
    // Cut to the width rather than off the edge.
    let fits = ((width as f64 - 16.0) / 6.0) as usize;
    let title = if title.chars().count() > fits {
        title.chars().take(fits.saturating_sub(1)).chain(['~']).collect()
    } else {
        title
    };
    d.shapes.push(Shape::Text { x: 8.0, y, text: title, fill: INK });
    y += 18.0;
    // Time axis: a label at least every 130 px, on a round picture timecode.
    let secs = (view.to - view.from) as f64 / rate as f64;
    let per_px = secs / (right - LEFT);
    let step = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800]
        .into_iter()
        .find(|&s| s as f64 / per_px >= 130.0)
        .unwrap_or(3600);
    let axis_y = y;
    let ticks = round_timecodes(start, rate, view, step);
    y += 14.0;
    // Scenes: a band with their names; their lines go down through everything.
    let scenes_y = y;
    y += 14.0;
    let lanes_top = y;
    // Lanes: beds, then cues, each packed.
    let pieces = cuesheet::pieces(file);
    let bed_count = file.show.scenes.iter().filter(|s| s.bed.is_some()).count();
    let cue_clips = pieces.len() - bed_count;
    let mut stretches: Vec<(u32, u64, u64)> =
        rendered.heard.iter().copied().filter(|&(_, a, b)| b > view.from && a < view.to).collect();
    stretches.sort_by_key(|&(clip, from, _)| (from, clip));
    let is_bed = |clip: u32| clip as usize >= cue_clips;
    let mut lane_ends: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut placed = Vec::new();
    for &(clip, from, to) in &stretches {
        let kind = if is_bed(clip) { 0 } else { 1 };
        let (x0, x1) = (d.x(from.max(view.from)), d.x(to.min(view.to)));
        let ends = &mut lane_ends[kind];
        let lane = match ends.iter().position(|&e| e + 2.0 <= x0) {
            Some(i) => i,
            None => {
                ends.push(f64::MIN);
                ends.len() - 1
            }
        };
        // A name needs room: the lane is taken to the end of the shape or of its label.
        let name = pieces.get(clip as usize).map_or(String::new(), |p| p.cue.clone());
        ends[lane] = x1.max(x0 + 6.0 * name.len() as f64 + 4.0);
        placed.push((clip, from, to, kind, lane, name));
    }
    let bed_lanes = lane_ends[0].len().max(usize::from(bed_count > 0));
    let cue_lanes = lane_ends[1].len().max(1);
    let lane_y = |kind: usize, lane: usize| lanes_top + LANE * (if kind == 0 { lane } else { bed_lanes + lane }) as f64;
    for (kind, label, count) in [(0, "beds", bed_lanes), (1, "cues", cue_lanes)] {
        let top = lane_y(kind, 0);
        d.shapes.push(Shape::Rect {
            x: LEFT,
            y: top,
            w: right - LEFT,
            h: LANE * count as f64,
            fill: if kind == 0 { Rgb(236, 242, 248) } else { Rgb(248, 240, 232) },
        });
        d.shapes.push(Shape::Text { x: 8.0, y: top + 6.0, text: label.into(), fill: INK });
    }
    for (clip, from, to, kind, lane, name) in &placed {
        let top = lane_y(*kind, *lane) + 2.0;
        let h = LANE - 4.0;
        let level_y = |g: f32| top + h - h * (g.clamp(0.0, 1.0) as f64);
        let (a, b) = ((*from).max(view.from), (*to).min(view.to));
        let mut points = vec![(d.x(a), top + h)];
        // The level where the stretch starts, then every point the trace gave inside it.
        let level_at = |frame: u64| {
            rendered
                .levels
                .iter()
                .rfind(|&&(c, at, _)| c == *clip && at <= frame && at >= from.saturating_sub(rate as u64 / 10))
                .map_or(1.0, |&(_, _, g)| g)
        };
        points.push((d.x(a), level_y(level_at(a))));
        for &(_, at, g) in rendered.levels.iter().filter(|&&(c, at, _)| c == *clip && at > a && at < b) {
            points.push((d.x(at), level_y(g)));
        }
        points.push((d.x(b), level_y(level_at(b))));
        points.push((d.x(b), top + h));
        let fill = if *kind == 0 { BED } else { CUE };
        d.shapes.push(Shape::Polygon { points, fill, id: name.clone() });
        d.shapes.push(Shape::Text { x: d.x(a) + 2.0, y: top + 1.0, text: name.clone(), fill: INK });
    }
    y = lane_y(1, cue_lanes);
    // The duck of the bed, 0 dB at the top to -24 dB at the bottom.
    y += 6.0;
    let duck_top = y;
    let duck_h = 40.0;
    d.shapes.push(Shape::Text { x: 8.0, y: duck_top + 4.0, text: "duck dB".into(), fill: INK });
    d.shapes.push(Shape::Line { x1: LEFT, y1: duck_top, x2: right, y2: duck_top, stroke: GRID });
    d.shapes.push(Shape::Line { x1: LEFT, y1: duck_top + duck_h, x2: right, y2: duck_top + duck_h, stroke: GRID });
    let duck_y = |db: f32| duck_top + duck_h * ((-db as f64) / 24.0).clamp(0.0, 1.0);
    let mut duck_points = Vec::new();
    let mut last = 0.0f32;
    for &(at, db) in &rendered.duck {
        if at < view.from {
            last = db;
            continue;
        }
        if at > view.to {
            break;
        }
        if duck_points.is_empty() {
            duck_points.push((d.x(view.from), duck_y(last)));
        }
        duck_points.push((d.x(at), duck_y(db)));
        last = db;
    }
    duck_points.push((d.x(view.to), duck_y(last)));
    if duck_points.len() == 1 {
        duck_points.insert(0, (d.x(view.from), duck_y(last)));
    }
    d.shapes.push(Shape::Polyline { points: duck_points, stroke: DUCK });
    y += duck_h + 8.0;
    // The main output's waveform: min and max of each pixel column (left and right together).
    let wave_top = y;
    let wave_h = 90.0;
    let mid = wave_top + wave_h / 2.0;
    d.shapes.push(Shape::Text { x: 8.0, y: wave_top + 4.0, text: "main".into(), fill: INK });
    d.shapes.push(Shape::Line { x1: LEFT, y1: mid, x2: right, y2: mid, stroke: GRID });
    let columns = (right - LEFT).round() as usize;
    let [l, r] = &rendered.main;
    let len = l.len() as u64;
    for c in 0..columns {
        let a = view.from + (view.to - view.from) * c as u64 / columns as u64;
        let b = (view.from + (view.to - view.from) * (c as u64 + 1) / columns as u64).min(len);
        if a >= b {
            continue;
        }
        let (mut lo, mut hi) = (0.0f32, 0.0f32);
        for i in a as usize..b as usize {
            lo = lo.min(l[i]).min(r[i]);
            hi = hi.max(l[i]).max(r[i]);
        }
        let x = LEFT + c as f64 + 0.5;
        let yv = |v: f32| mid - (wave_h / 2.0) * (v.clamp(-1.0, 1.0) as f64);
        d.shapes.push(Shape::Line { x1: x, y1: yv(hi), x2: x, y2: yv(lo), stroke: WAVE });
    }
    y += wave_h + 8.0;
    // Short-term loudness (EBU R128, 3 s), every 100 ms, -60 LUFS at the bottom to 0 at the top.
    let loud_top = y;
    let loud_h = 50.0;
    d.shapes.push(Shape::Text { x: 8.0, y: loud_top + 4.0, text: "LUFS (S)".into(), fill: INK });
    // A line at -23 LUFS, EBU R128's target.
    let ly = loud_top + loud_h * (23.0 / 60.0);
    d.shapes.push(Shape::Line { x1: LEFT, y1: ly, x2: right, y2: ly, stroke: GRID });
    d.shapes.push(Shape::Text { x: right - 30.0, y: ly - 10.0, text: "-23".into(), fill: INK });
    let loud_points: Vec<(f64, f64)> = short_term(rendered)
        .into_iter()
        .filter(|&(at, _)| at >= view.from && at <= view.to)
        .map(|(at, lufs)| (d.x(at), loud_top + loud_h * (-lufs.clamp(-60.0, 0.0) / 60.0)))
        .collect();
    if loud_points.len() > 1 {
        d.shapes.push(Shape::Polyline { points: loud_points, stroke: LOUD });
    }
    y += loud_h + 6.0;
    let bottom = y;
    // Ticks and scene lines over everything, then their labels.
    for (t, label) in &ticks {
        let x = d.x(*t);
        d.shapes.push(Shape::Line { x1: x, y1: axis_y + 10.0, x2: x, y2: bottom, stroke: GRID });
        // A label that would run off the right edge sits left of its line.
        let w = text_width(label);
        let at = if x + 2.0 + w > width as f64 { x - 2.0 - w } else { x + 2.0 };
        d.shapes.push(Shape::Text { x: at, y: axis_y, text: label.clone(), fill: INK });
    }
    for &(scene, at) in rendered.scenes.iter().filter(|&&(_, at)| at >= view.from && at <= view.to) {
        let x = d.x(at);
        d.shapes.push(Shape::Line { x1: x, y1: scenes_y, x2: x, y2: bottom, stroke: INK });
        let name = file.show.scenes.get(scene as usize).map_or(String::new(), |s| s.id.clone());
        d.shapes.push(Shape::Text { x: x + 3.0, y: scenes_y + 2.0, text: name, fill: INK });
    }
    d.height = (bottom + 4.0).ceil() as u32;
    // The background first.
    d.shapes.insert(0, Shape::Rect { x: 0.0, y: 0.0, w: width as f64, h: d.height as f64, fill: BG });
    d
}

/// Width of `text` in the built-in font (6 px a character).
fn text_width(text: &str) -> f64 {
    6.0 * text.chars().count() as f64
}

/// The round picture timecodes in `view`: every `step` seconds of timecode (counted from
/// 00:00:00:00, as an editor's timeline is), on its first frame (`;02` where drop-frame skips
/// `;00` and `;01`), at the first audio frame of that picture frame; with its label.
fn round_timecodes(start: Timecode, rate: u32, view: View, step: u64) -> Vec<(u64, String)> {
    let frame_rate = start.rate;
    let (num, den) = frame_rate.ratio();
    // Picture frames of the view, counted from the show's 0, then as labels' seconds.
    let first_picture = frame_rate.picture_frame(view.from, rate);
    let last_picture = frame_rate.picture_frame(view.to, rate) + 1;
    // Labels count a day and start again at 00:00:00:00: seconds of label, days included.
    let sep = if frame_rate.drop_frame() { ';' } else { ':' };
    let last_label = format!("23:59:59{sep}{:02}", frame_rate.base() - 1);
    let day = Timecode::parse(&last_label, frame_rate).map_or(u64::MAX, |t| t.frames + 1);
    let label_secs = |picture: u64| {
        let frames = start.frames + picture;
        let tc = Timecode { frames: frames % day, rate: frame_rate }.to_string();
        let f: Vec<u64> = tc.split([':', ';']).map(|x| x.parse().unwrap_or(0)).collect();
        frames / day * 86_400 + f[0] * 3600 + f[1] * 60 + f[2]
    };
    let mut out = Vec::new();
    let mut secs = label_secs(first_picture).div_ceil(step) * step;
    while secs <= label_secs(last_picture) + step {
        let (days, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
        let ff = if frame_rate.drop_frame() && s == 0 && m % 10 != 0 { 2 } else { 0 };
        let text = format!("{h:02}:{m:02}:{s:02}{sep}{ff:02}");
        secs += step;
        let Ok(tc) = Timecode::parse(&text, frame_rate) else { continue };
        let tc = Timecode { frames: tc.frames + days * day, rate: frame_rate };
        let Some(picture) = tc.frames.checked_sub(start.frames) else { continue };
        // The first audio frame at or after the picture frame's start.
        let at = (picture as u128 * rate as u128 * den as u128).div_ceil(num as u128) as u64;
        if (view.from..=view.to).contains(&at) {
            out.push((at, tc.to_string()));
        }
    }
    out
}

/// Short-term loudness of the main output every 100 ms: (frame, LUFS).
fn short_term(rendered: &Rendered) -> Vec<(u64, f64)> {
    use ebur128::{EbuR128, Mode};
    let rate = rendered.sample_rate;
    let Ok(mut meter) = EbuR128::new(2, rate, Mode::S) else { return Vec::new() };
    let step = (rate / 10) as usize;
    let [l, r] = &rendered.main;
    let mut out = Vec::new();
    let mut at = 0;
    while at + step <= l.len() {
        if meter.add_frames_planar_f32(&[&l[at..at + step], &r[at..at + step]]).is_err() {
            break;
        }
        at += step;
        if let Ok(lufs) = meter.loudness_shortterm() {
            if lufs.is_finite() {
                out.push((at as u64, lufs));
            }
        }
    }
    out
}

fn hex(c: Rgb) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl Drawing {
    pub fn to_svg(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
             data-from-frame=\"{}\" data-to-frame=\"{}\" data-left=\"{}\" data-right=\"{}\" \
             font-family=\"sans-serif\" font-size=\"{TEXT_H}\">",
            self.view.from,
            self.view.to,
            self.left,
            self.right,
            w = self.width,
            h = self.height
        );
        let pts = |p: &[(f64, f64)]| p.iter().map(|(x, y)| format!("{x:.2},{y:.2}")).collect::<Vec<_>>().join(" ");
        for shape in &self.shapes {
            let _ = match shape {
                Shape::Rect { x, y, w, h, fill } => {
                    writeln!(s, "<rect x=\"{x:.2}\" y=\"{y:.2}\" width=\"{w:.2}\" height=\"{h:.2}\" fill=\"{}\"/>", hex(*fill))
                }
                Shape::Line { x1, y1, x2, y2, stroke } => writeln!(
                    s,
                    "<line x1=\"{x1:.2}\" y1=\"{y1:.2}\" x2=\"{x2:.2}\" y2=\"{y2:.2}\" stroke=\"{}\" stroke-width=\"1\"/>",
                    hex(*stroke)
                ),
                Shape::Polygon { points, fill, id } => writeln!(
                    s,
                    "<polygon class=\"lane\" data-id=\"{}\" points=\"{}\" fill=\"{}\" fill-opacity=\"0.8\"/>",
                    esc(id),
                    pts(points),
                    hex(*fill)
                ),
                Shape::Polyline { points, stroke } => writeln!(
                    s,
                    "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.2\"/>",
                    pts(points),
                    hex(*stroke)
                ),
                Shape::Text { x, y, text, fill } => writeln!(
                    s,
                    "<text x=\"{x:.2}\" y=\"{:.2}\" fill=\"{}\">{}</text>",
                    y + TEXT_H - 1.0,
                    hex(*fill),
                    esc(text)
                ),
            };
        }
        s.push_str("</svg>\n");
        s
    }

    /// The drawing rasterised (RGB, no antialiasing) and encoded as PNG.
    pub fn to_png(&self) -> Vec<u8> {
        let mut canvas = Canvas::new(self.width, self.height);
        for shape in &self.shapes {
            match shape {
                Shape::Rect { x, y, w, h, fill } => canvas.rect(*x, *y, *w, *h, *fill),
                Shape::Line { x1, y1, x2, y2, stroke } => canvas.line(*x1, *y1, *x2, *y2, *stroke),
                Shape::Polygon { points, fill, .. } => canvas.polygon(points, *fill),
                Shape::Polyline { points, stroke } => {
                    for w in points.windows(2) {
                        canvas.line(w[0].0, w[0].1, w[1].0, w[1].1, *stroke);
                    }
                }
                Shape::Text { x, y, text, fill } => canvas.text(*x, *y, text, *fill),
            }
        }
        canvas.png()
    }
}

/// An RGB pixel buffer.
struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: u32, h: u32) -> Canvas {
        Canvas { w: w as usize, h: h as usize, px: vec![255; w as usize * h as usize * 3] }
    }

    fn set(&mut self, x: i64, y: i64, c: Rgb) {
        if x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h {
            let i = (y as usize * self.w + x as usize) * 3;
            self.px[i..i + 3].copy_from_slice(&[c.0, c.1, c.2]);
        }
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, c: Rgb) {
        for py in y.round() as i64..(y + h).round() as i64 {
            for px in x.round() as i64..(x + w).round() as i64 {
                self.set(px, py, c);
            }
        }
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, c: Rgb) {
        let steps = (x2 - x1).abs().max((y2 - y1).abs()).ceil().max(1.0) as i64;
        for i in 0..=steps {
            let t = i as f64 / steps as f64;
            self.set((x1 + (x2 - x1) * t).floor() as i64, (y1 + (y2 - y1) * t).floor() as i64, c);
        }
    }

    /// Even-odd scanline fill, sampled at pixel centres.
    fn polygon(&mut self, points: &[(f64, f64)], c: Rgb) {
        if points.len() < 3 {
            return;
        }
        let (lo, hi) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
        let mut xs = Vec::new();
        for py in lo.floor().max(0.0) as i64..=hi.ceil().min(self.h as f64) as i64 {
            let yc = py as f64 + 0.5;
            xs.clear();
            for i in 0..points.len() {
                let (a, b) = (points[i], points[(i + 1) % points.len()]);
                if (a.1 <= yc) != (b.1 <= yc) {
                    xs.push(a.0 + (yc - a.1) * (b.0 - a.0) / (b.1 - a.1));
                }
            }
            xs.sort_by(f64::total_cmp);
            for pair in xs.chunks_exact(2) {
                for px in (pair[0] - 0.5).ceil() as i64..=(pair[1] - 0.5).floor() as i64 {
                    self.set(px, py, c);
                }
            }
        }
    }

    fn text(&mut self, x: f64, y: f64, text: &str, c: Rgb) {
        let (mut cx, cy) = (x.round() as i64, y.round() as i64);
        for ch in text.chars() {
            let rows = glyph(ch);
            for (ry, row) in rows.iter().enumerate() {
                for rx in 0..5 {
                    if row & (0x10 >> rx) != 0 {
                        self.set(cx + rx, cy + ry as i64, c);
                    }
                }
            }
            cx += 6;
        }
    }

    fn png(&self) -> Vec<u8> {
        let mut raw = Vec::with_capacity((self.w * 3 + 1) * self.h);
        for row in self.px.chunks_exact(self.w * 3) {
            raw.push(0); // filter: none
            raw.extend_from_slice(row);
        }
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&(self.w as u32).to_be_bytes());
        ihdr.extend_from_slice(&(self.h as u32).to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6));
        chunk(&mut out, b"IEND", &[]);
        out
    }
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = 0xffff_ffffu32;
    for &b in kind.iter().chain(data) {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    out.extend_from_slice(&(!crc).to_be_bytes());
}

/// A 5×7 pixel font (rows top to bottom, bit 4 the leftmost column); lower case is drawn as
/// upper case, and what it lacks as a box.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        ' ' => [0; 7],
        '0' => [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e],
        '1' => [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
        '2' => [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f],
        '3' => [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
        '4' => [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02],
        '5' => [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
        '6' => [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e],
        '7' => [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e],
        '9' => [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
        'A' => [0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
        'B' => [0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e],
        'C' => [0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e],
        'D' => [0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c],
        'E' => [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f],
        'F' => [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10],
        'G' => [0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f],
        'H' => [0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
        'I' => [0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f],
        'M' => [0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
        'P' => [0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10],
        'Q' => [0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d],
        'R' => [0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11],
        'S' => [0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e],
        'T' => [0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a],
        'X' => [0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x11, 0x0a, 0x04, 0x04, 0x04],
        'Z' => [0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f],
        ':' => [0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00],
        ';' => [0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x04, 0x08],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c],
        ',' => [0x00, 0x00, 0x00, 0x00, 0x0c, 0x04, 0x08],
        '-' => [0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00],
        '_' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f],
        '/' => [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        _ => [0x1f, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1f],
    }
}
