//! The show as the engine sees it: plain numbers in frames and linear gains (built on the
//! control side by `control::compile`, moved to the audio thread in a `Box`, moved back to be
//! dropped).

use crate::engine::feed::Feed;
use crate::mix::{Curve, Quantize};

/// Which bus a clip plays on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bus {
    Bed,
    Cues,
}

/// How a clip ducks the bed while it sounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DuckSpec {
    pub depth_db: f32,
    pub attack_frames: u32,
    pub release_frames: u32,
}

/// One playable piece of audio: a cue, or a scene's bed.
pub struct Clip {
    pub bus: Bus,
    /// Cue index for cues, scene index for beds.
    pub owner: u32,
    pub gain: f32,
    /// Channel gains: for a stereo file (left, right) balance; for mono, placement.
    pub pan: [f32; 2],
    pub fade_in_frames: u32,
    pub fade_out_frames: u32,
    /// Frames the clip plays (from its in point), `None` for a loop.
    pub length: Option<u64>,
    pub duck: Option<DuckSpec>,
    /// Frames per beat at the engine rate and beats per bar, for quantized transitions.
    pub tempo: Option<(f64, u32)>,
    /// A ready feed, delivered by the loader: a start never waits for the disk.
    pub armed: Option<Feed>,
    /// The loader gave up on its file: it plays silence, and nothing waits for it.
    pub lost: bool,
}

/// A cue's place in the show.
#[derive(Debug, Clone)]
pub struct CueInfo {
    pub clip: u32,
    pub scene: u32,
    /// Cues that start after this one ends: (cue, wait in frames).
    pub followers: Vec<(u32, u64)>,
    /// Started while it plays, it starts again (`true`) or plays on (`false`).
    pub restart: bool,
}

/// A scene's place in the show.
#[derive(Debug, Clone)]
pub struct SceneInfo {
    pub bed: Option<u32>,
    pub fade_frames: u32,
    pub curve: Curve,
    pub quantize: Quantize,
    /// Cues of this scene with a time: (cue, offset from the scene's entry in frames).
    pub timed: Vec<(u32, u64)>,
    /// Index into `Program::manual` of this scene's first manual cue, if any.
    pub first_manual: Option<u32>,
}

/// Frames from `elapsed` frames into a bed to its next beat or bar line at or after that point
/// (0 without a tempo or without quantizing). `grid`: frames per beat and beats per bar. Each line
/// is rounded from its index, so long beds stay on the grid without drift. The engine and the
/// control side's timeline both use this, so a seek finds the transition the engine plays.
pub fn to_next_line(elapsed: u64, grid: Option<(f64, u32)>, quantize: Quantize) -> u64 {
    let Some((beat, beats_per_bar)) = grid else { return 0 };
    let unit = match quantize {
        Quantize::None => return 0,
        Quantize::Beat => beat,
        Quantize::Bar => beat * beats_per_bar as f64,
    };
    let line = |k: u64| (k as f64 * unit).round() as u64;
    let mut k = (elapsed as f64 / unit).floor() as u64;
    while line(k) < elapsed {
        k += 1;
    }
    line(k) - elapsed
}

/// What a MIDI note does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteTarget {
    Nothing,
    Cue(u32),
    Scene(u32),
}

/// The compiled show.
pub struct Program {
    /// Changes with every loaded show, so late feeds for an old show are recognised.
    pub generation: u32,
    pub clips: Vec<Clip>,
    pub cues: Vec<CueInfo>,
    pub scenes: Vec<SceneInfo>,
    /// Manual cues (GO) in list order.
    pub manual: Vec<u32>,
    pub notes: [NoteTarget; 128],
    pub panic_frames: u32,
    /// The show's master level (`master_db`) as a gain, under the operator's master level.
    pub trim: f32,
    /// For each clip of the show loaded before this one: the clip of this show that plays the
    /// very same audio (same use, file, in and out points, pan), so a voice playing it goes on
    /// through the load instead of stopping (a reload while cues play).
    pub carry: Vec<Option<u32>>,
    /// The show timeline, for a front end that chases a host transport on the audio thread:
    /// scene entries (timeline frame, scene) in time order, and the `end`.
    pub timeline: Vec<(u64, u32)>,
    pub end: Option<u64>,
}

impl Program {
    /// A program with nothing in it, the engine's state before a show is loaded (built on the
    /// control side; empty `Vec`s do not allocate).
    pub fn empty() -> Self {
        Program {
            generation: 0,
            clips: Vec::new(),
            cues: Vec::new(),
            scenes: Vec::new(),
            manual: Vec::new(),
            notes: [NoteTarget::Nothing; 128],
            panic_frames: 4800,
            trim: 1.0,
            carry: Vec::new(),
            timeline: Vec::new(),
            end: None,
        }
    }
}
