//! Shared test kit: generated test audio, show files in a temporary folder, rendering, and
//! measurements of what a listener hears (levels per frequency, onsets, clicks).
#![allow(dead_code)]

use std::f64::consts::PI;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use segue::control::{Controller, Notice, Severity};
use segue::engine::command::Event;
use segue::engine::{Engine, EngineConfig, Outputs};
use segue::render::{render_show, RenderOptions, Rendered};
use segue::show;
use segue::stream::loader::{Loader, LoaderConfig};

/// A fresh folder for one test's files.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("segue-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes a 32-bit float WAV from interleaved samples.
pub fn write_wav(path: &Path, rate: u32, channels: u16, samples: &[f32]) {
    let spec =
        hound::WavSpec { channels, sample_rate: rate, bits_per_sample: 32, sample_format: hound::SampleFormat::Float };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for s in samples {
        w.write_sample(*s).unwrap();
    }
    w.finalize().unwrap();
}

/// A mono sine (`phase` 0 starts at zero; PI/2 starts at its peak, which would click unfaded).
pub fn sine(rate: u32, freq: f64, amp: f64, frames: usize, phase: f64) -> Vec<f32> {
    (0..frames).map(|i| (amp * (2.0 * PI * freq * i as f64 / rate as f64 + phase).sin()) as f32).collect()
}

/// Writes a mono sine file and returns its file name.
pub fn sine_file(dir: &Path, name: &str, rate: u32, freq: f64, amp: f64, secs: f64, phase: f64) -> String {
    let frames = (secs * rate as f64).round() as usize;
    write_wav(&dir.join(name), rate, 1, &sine(rate, freq, amp, frames, phase));
    name.to_string()
}

/// Writes a show file into `dir` and loads it.
pub fn show_file(dir: &Path, json: serde_json::Value) -> show::ShowFile {
    let path = dir.join("show.json");
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    match show::load(&path) {
        Ok(file) => file,
        Err(e) => panic!("test show is invalid:\n{e}"),
    }
}

/// Renders at 48 kHz and checks that nothing went wrong on the way (no warnings, no errors).
pub fn render(file: show::ShowFile, block: usize, duration: f64) -> Rendered {
    let out = render_noting(file, block, duration);
    let problems: Vec<String> =
        out.notices.iter().filter(|n| n.severity != Severity::Info).map(|n| n.to_string()).collect();
    assert!(problems.is_empty(), "the render reported problems:\n{}", problems.join("\n"));
    out
}

/// Renders at 48 kHz, keeping whatever it reported in `notices`.
pub fn render_noting(file: show::ShowFile, block: usize, duration: f64) -> Rendered {
    let options = RenderOptions { sample_rate: 48_000, block, duration: Some(duration), ..RenderOptions::default() };
    render_show(file, &options).unwrap()
}

/// Amplitude of the `freq` component of `x` (a Hann-windowed projection, as a Goertzel filter
/// would measure it): 1.0 for a full-scale sine.
pub fn amplitude(x: &[f32], rate: u32, freq: f64) -> f64 {
    let n = x.len();
    let (mut re, mut im, mut wsum) = (0.0, 0.0, 0.0);
    for (i, &s) in x.iter().enumerate() {
        let w = 0.5 - 0.5 * (2.0 * PI * i as f64 / n as f64).cos();
        let ph = 2.0 * PI * freq * i as f64 / rate as f64;
        re += s as f64 * w * ph.cos();
        im += s as f64 * w * ph.sin();
        wsum += w;
    }
    2.0 * (re * re + im * im).sqrt() / wsum
}

pub fn db(x: f64) -> f64 {
    20.0 * x.max(1e-12).log10()
}

/// Level in dB of `freq` in `x[from..to]` (seconds).
pub fn level_db(x: &[f32], rate: u32, freq: f64, from: f64, to: f64) -> f64 {
    let a = (from * rate as f64) as usize;
    let b = (to * rate as f64) as usize;
    db(amplitude(&x[a..b], rate, freq))
}

/// First frame at or after `from` whose magnitude exceeds `threshold`.
pub fn onset(x: &[f32], from: usize, threshold: f32) -> Option<usize> {
    x[from..].iter().position(|s| s.abs() > threshold).map(|i| i + from)
}

/// Largest second difference |x[n+1] - 2x[n] + x[n-1]|: a click shows up far above what a
/// smooth signal allows.
pub fn max_second_difference(x: &[f32]) -> f64 {
    x.windows(3).map(|w| (w[2] as f64 - 2.0 * w[1] as f64 + w[0] as f64).abs()).fold(0.0, f64::max)
}

/// Frequency of a clean sine from its rising zero crossings, interpolated between frames.
pub fn zero_crossing_frequency(x: &[f32], rate: u32) -> f64 {
    let mut crossings = Vec::new();
    for i in 1..x.len() {
        let (a, b) = (x[i - 1] as f64, x[i] as f64);
        if a < 0.0 && b >= 0.0 {
            crossings.push((i - 1) as f64 + a / (a - b));
        }
    }
    let periods = (crossings.len() - 1) as f64;
    periods * rate as f64 / (crossings[crossings.len() - 1] - crossings[0])
}

/// A live engine with its controller and loader at 48 kHz, driven block by block the way an
/// audio callback drives it, except that before each block it waits (like the offline renderer)
/// until the loader has that block's audio in memory: what a test hears does not depend on how
/// fast the disk or the loader thread happen to be.
pub struct Live {
    pub engine: Engine,
    pub controller: Controller,
    /// Everything the controller reported so far.
    pub notices: Vec<Notice>,
}

impl Live {
    pub fn new(file: show::ShowFile) -> Live {
        let rate = 48_000;
        let (engine, control, loader_ends) = Engine::new(EngineConfig::new(rate));
        let loader = Loader::spawn(LoaderConfig::live(rate), loader_ends);
        let controller = Controller::new(file, rate, control, loader);
        Live { engine, controller, notices: Vec::new() }
    }

    /// Processes the next `frames` frames in blocks of `block`; returns the main output.
    pub fn run(&mut self, frames: usize, block: usize) -> [Vec<f32>; 2] {
        let Live { engine, controller, notices } = self;
        let mut side = (controller, notices);
        run_engine(engine, &mut side, frames, block)
    }

    /// The engine events reported so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.notices.iter().filter_map(|n| n.event).collect()
    }
}

/// The control side a test drives an engine with: a bare controller (with the notices it
/// gave), or a desk.
pub trait ControlSide {
    /// Takes the engine's events and the loader's reports.
    fn poll(&mut self);
    fn controller(&self) -> &Controller;
}

impl ControlSide for (&mut Controller, &mut Vec<Notice>) {
    fn poll(&mut self) {
        let polled = self.0.poll();
        self.1.extend(polled);
    }
    fn controller(&self) -> &Controller {
        self.0
    }
}

impl ControlSide for segue::control::desk::Desk {
    fn poll(&mut self) {
        segue::control::desk::Desk::poll(self);
    }
    fn controller(&self) -> &Controller {
        &self.controller
    }
}

/// Processes `frames` frames in blocks of `block` the way an audio callback does, except that
/// before each block it waits (like the offline renderer) until the loader has that block's
/// audio in memory; returns the main output.
pub fn run_engine(engine: &mut Engine, side: &mut impl ControlSide, frames: usize, block: usize) -> [Vec<f32>; 2] {
    let mut main = [vec![0.0f32; frames], vec![0.0f32; frames]];
    let mut bed = [vec![0.0f32; block], vec![0.0f32; block]];
    let mut cues = [vec![0.0f32; block], vec![0.0f32; block]];
    let mut done = 0;
    while done < frames {
        let n = block.min(frames - done);
        engine.poll();
        side.poll();
        let waiting = Instant::now();
        while let Some(clip) = engine.waiting_for(n, |c| side.controller().has_failed(c)) {
            // The loader arms a clip in milliseconds; seconds mean it never will.
            assert!(
                waiting.elapsed() < Duration::from_secs(10),
                "{} never got its audio from the loader",
                side.controller().clip_name(clip)
            );
            side.controller().loader().wake();
            std::thread::sleep(Duration::from_micros(200));
            engine.poll();
            side.poll();
        }
        let [ml, mr] = &mut main;
        let [bl, br] = &mut bed;
        let [cl, cr] = &mut cues;
        engine.process(Outputs {
            main: [&mut ml[done..done + n], &mut mr[done..done + n]],
            bed: [&mut bl[..n], &mut br[..n]],
            cues: [&mut cl[..n], &mut cr[..n]],
        });
        done += n;
    }
    side.poll();
    main
}

/// A program whose only cue (cue 0, clip 0) is armed with `feed`: unity gain, centre, no fades,
/// no ducking; for tests that build an engine by hand.
pub fn one_cue_program(feed: segue::engine::feed::Feed) -> segue::engine::program::Program {
    use segue::engine::program::{Bus, Clip, CueInfo, Program};
    let mut program = Program::empty();
    program.generation = 1;
    program.clips.push(Clip {
        bus: Bus::Cues,
        owner: 0,
        gain: 1.0,
        pan: [1.0, 1.0],
        fade_in_frames: 0,
        fade_out_frames: 0,
        length: feed.length,
        duck: None,
        tempo: None,
        armed: Some(feed),
        lost: false,
    });
    program.cues.push(CueInfo { clip: 0, scene: 0, followers: Vec::new(), restart: true });
    program
}
