//! The offline bounce (runs on the caller's thread, with a loader thread beside it).
//!
//! The same `Engine` as live playback, driven block by block from the show's timeline. Unlike
//! live playback it waits for the loader before each block, so a render never underruns, and
//! since every command carries its exact frame, the output is bit-identical for any block size.

use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::control::{Controller, Notice, OFFLINE_STALL as STALL};
use crate::engine::{Engine, EngineConfig, Outputs};
use crate::show::{self, ShowFile};
use crate::stream::loader::{Loader, LoaderConfig};

/// What to render.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    pub sample_rate: u32,
    pub block: usize,
    /// Where on the show timeline to start, in seconds (default 0).
    pub start: Option<f64>,
    /// Seconds to render; default: the show's timeline end (its `end` plus the panic fade).
    pub duration: Option<f64>,
    /// A progress bar on the terminal.
    pub progress: bool,
    /// Note where each clip is heard (`Rendered::heard`), for a cue sheet.
    pub trace: bool,
    /// Also note each clip's level as it moves and the bed's duck (`Rendered::levels`,
    /// `Rendered::duck`), for a picture of the mix.
    pub trace_levels: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            sample_rate: 48_000,
            block: 512,
            start: None,
            duration: None,
            progress: false,
            trace: false,
            trace_levels: false,
        }
    }
}

/// A rendered show: main and stems, planar, plus what happened on the way.
pub struct Rendered {
    pub sample_rate: u32,
    pub main: [Vec<f32>; 2],
    pub bed: [Vec<f32>; 2],
    pub cues: [Vec<f32>; 2],
    pub notices: Vec<Notice>,
    /// With `RenderOptions::trace`: each clip's stretches of being heard, `(clip, from, to)` in
    /// frames of the render (see `engine::HEARD`).
    pub heard: Vec<(u32, u64, u64)>,
    /// With `RenderOptions::trace_levels`: `(clip, frame, gain)` where a clip's gain and fade
    /// moved, and `(frame, dB)` where the bed's duck did.
    pub levels: Vec<(u32, u64, f32)>,
    pub duck: Vec<(u64, f32)>,
    /// `(scene, frame)` of every scene entry.
    pub scenes: Vec<(u32, u64)>,
    /// Wall time spent, and how much of it waiting for the loader.
    pub elapsed: Duration,
    pub waited: Duration,
}

impl Rendered {
    pub fn frames(&self) -> usize {
        self.main[0].len()
    }
}

/// Why a render failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    Show(#[from] show::ShowErrors),
    #[error("the render stalled at {at:.3} s: {what} never got its audio from the loader")]
    Stalled { what: String, at: f64 },
    #[error("the block size must be at least 1 frame")]
    Block,
}

/// Renders a show file.
pub fn render_file(path: &Path, options: &RenderOptions) -> Result<Rendered, RenderError> {
    let file = show::load(path)?;
    render_show(file, options)
}

/// Renders a loaded show.
pub fn render_show(file: ShowFile, options: &RenderOptions) -> Result<Rendered, RenderError> {
    render_show_with(file, options, |engine, outputs| engine.process(outputs))
}

/// Renders a loaded show, calling `process` for each block where the audio thread would run
/// `engine.process(outputs)` (tests wrap it to watch the audio thread's rules).
pub fn render_show_with(
    file: ShowFile,
    options: &RenderOptions,
    mut process: impl FnMut(&mut Engine, Outputs),
) -> Result<Rendered, RenderError> {
    if options.block == 0 {
        return Err(RenderError::Block);
    }
    let started = Instant::now();
    let rate = options.sample_rate;
    let (mut engine, control, loader_ends) = Engine::new(EngineConfig {
        trace: options.trace,
        trace_levels: options.trace_levels,
        ..EngineConfig::new(rate)
    });
    let loader = Loader::spawn(LoaderConfig::offline(rate), loader_ends);
    let mut controller = Controller::new(file, rate, control, loader);
    let position = controller.frames(options.start.unwrap_or(0.0));
    // Notices say where on the show they fell: engine frame 0 is `position`, rolling.
    controller.place_render(position);
    if position > 0 {
        // The first block's commands: the queue is empty, so this cannot fail.
        let _ = controller.seek(position, 0);
    }
    let total = match options.duration {
        Some(secs) => controller.frames(secs),
        None => controller.timeline_end().saturating_sub(position),
    } as usize;
    let mut timeline =
        controller.timeline_commands(position).into_iter().map(|(at, action)| (at - position, action)).peekable();

    let mut out = Rendered {
        sample_rate: rate,
        main: [vec![0.0; total], vec![0.0; total]],
        bed: [vec![0.0; total], vec![0.0; total]],
        cues: [vec![0.0; total], vec![0.0; total]],
        notices: Vec::new(),
        heard: Vec::new(),
        levels: Vec::new(),
        duck: Vec::new(),
        scenes: Vec::new(),
        elapsed: Duration::ZERO,
        waited: Duration::ZERO,
    };
    let bar = options.progress.then(|| progress_bar(total as u64, rate));
    let mut done = 0;
    while done < total {
        let n = options.block.min(total - done);
        let horizon = (done + n) as u64;
        while let Some((at, _)) = timeline.peek() {
            if *at >= horizon {
                break;
            }
            let (at, action) = timeline.next().expect("peeked");
            // The queue is drained before every block, so it has room for one block's commands.
            let _ = controller.send(Some(at), action);
        }
        engine.poll();
        out.notices.extend(controller.poll());
        let wait_start = Instant::now();
        while let Some(clip) = engine.waiting_for(n, |clip| controller.has_failed(clip)) {
            // The loader keeps up at hundreds of times real time; this long means it never will.
            if wait_start.elapsed() > STALL {
                return Err(RenderError::Stalled { what: controller.clip_name(clip), at: done as f64 / rate as f64 });
            }
            controller.loader().wake();
            std::thread::sleep(Duration::from_micros(50));
            engine.poll();
            out.notices.extend(controller.poll());
        }
        out.waited += wait_start.elapsed();
        let [main_l, main_r] = &mut out.main;
        let [bed_l, bed_r] = &mut out.bed;
        let [cue_l, cue_r] = &mut out.cues;
        let r = done..done + n;
        process(
            &mut engine,
            Outputs {
                main: [&mut main_l[r.clone()], &mut main_r[r.clone()]],
                bed: [&mut bed_l[r.clone()], &mut bed_r[r.clone()]],
                cues: [&mut cue_l[r.clone()], &mut cue_r[r.clone()]],
            },
        );
        done += n;
        if let Some(bar) = &bar {
            bar.set_position(done as u64);
        }
    }
    if options.trace || options.trace_levels {
        engine.report_heard();
    }
    out.notices.extend(controller.poll());
    use crate::engine::command::Event;
    for event in out.notices.iter().filter_map(|n| n.event) {
        match event {
            Event::Heard { clip, from, to } => out.heard.push((clip, from, to)),
            Event::Level { clip, at, gain } => out.levels.push((clip, at, gain)),
            Event::Duck { at, db } => out.duck.push((at, db)),
            Event::SceneEntered { scene, at } => out.scenes.push((scene, at)),
            _ => {}
        }
    }
    // The points of a drawing have no words: they are kept above, not as notices.
    out.notices.retain(|n| !matches!(n.event, Some(Event::Level { .. } | Event::Duck { .. })));
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    out.elapsed = started.elapsed();
    Ok(out)
}

fn progress_bar(total: u64, rate: u32) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    let style = indicatif::ProgressStyle::with_template("{spinner} rendering [{bar:40}] {percent}% {msg}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(format!("{:.1} s of audio", total as f64 / rate as f64));
    bar
}

/// Whether a progress bar makes sense: only when stderr is a terminal.
pub fn progress_wanted() -> bool {
    std::io::stderr().is_terminal()
}
