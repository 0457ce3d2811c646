//! Messages in and out of the audio thread (built on either side; plain data, no strings).
//!
//! - `Command`: control side → engine, with an optional target sample time.
//! - `Event`: engine → control side; indices, frames and numbers only (the control side turns
//!   them into words).
//! - `LoaderMsg`: loader thread → engine: feeds to arm and disarm.
//! - `Retired`: engine → loader thread: whatever the audio thread is done with, to be dropped
//!   there, and notices that an armed feed was used.

use crate::engine::duck::Duck;
use crate::engine::fade::Resume;
use crate::engine::feed::Feed;
use crate::engine::program::Program;

/// A bus whose level can be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Master,
    Bed,
    Cues,
}

/// What the engine is asked to do.
pub enum Action {
    /// Start the next manual cue in list order.
    Go,
    StartCue {
        cue: u32,
    },
    /// Stop a cue's voices with a fade (`None`: the cue's own fade out, at least the de-click).
    StopCue {
        cue: u32,
        fade_ms: Option<f32>,
    },
    EnterScene {
        scene: u32,
    },
    /// Fade everything out; a second panic during the fade cuts at once.
    Panic,
    SetLevel {
        level: Level,
        db: f32,
    },
    /// Ducking settings from the front end: `None` leaves the show's.
    SetDuckOverride {
        depth_db: Option<f32>,
        attack_ms: Option<f32>,
        release_ms: Option<f32>,
    },
    /// A MIDI note-on: starts the cue or enters the scene mapped to it.
    Note {
        note: u8,
    },
    /// Jump the show timeline: everything sounding stops with the de-click; `scene` becomes the
    /// current scene as if entered `elapsed` frames ago (its timed cues still to come are
    /// scheduled); a quantized bed change still pending happens `bed_change_in` frames from now.
    /// Offset feeds with tokens below `first_token` belong to earlier seeks and are dropped.
    /// The clips that sound at the new position follow as `StartClip` commands at the same frame.
    Seek {
        scene: Option<u32>,
        elapsed: u64,
        bed_change_in: Option<u64>,
        first_token: u32,
        /// The bed's duck where the timeline is (mid-attack or mid-release, as a render from
        /// the start has it), and the release of the last ducking cue that ended.
        duck: DuckAt,
    },
    /// Start a clip `offset` frames in, from the offset feed the loader prepares under `token`
    /// (a bed clip becomes the playing bed). `skip`: frames the command came late by (set by
    /// the engine; send 0).
    StartClip {
        clip: u32,
        token: u32,
        offset: u64,
        skip: u64,
        /// A fade in progress there (a fade-in, or a bed fading out under a crossfade).
        fade: Option<Resume>,
    },
    /// Fade every voice out over `fade_ms` (a transport stop); timed, follow and bed changes
    /// waiting are dropped. Not a panic: no panic event, and a panic after it fades as usual.
    StopAll {
        fade_ms: f32,
    },
    /// Drop prepared offset feeds with tokens below `below` (a prefetch that was superseded).
    DropOffsetFeeds {
        below: u32,
    },
    /// Keep a seek ready for when play starts at `position` (see `Engine::locate`).
    PrepareLocate(Box<Locate>),
    /// GO fires the manual cue at this index (in `Program::manual`) next.
    Standby {
        manual: u32,
    },
    /// With the engine's trace on: report where each voice still sounding has been heard so far
    /// (`Engine::report_heard`; a front end that is about to stop).
    ReportHeard,
    /// Back to the top of the show, as a fresh engine is: everything stops with the de-click,
    /// no scene, GO at the first manual cue. A transport starting at timeline 0 plays the show
    /// from here exactly as `segue render` does.
    Rewind,
    /// Replace the show (all voices of the old one fade out with the de-click).
    LoadProgram(Box<Program>),
}

/// The duck envelope at a timeline position, as the timeline computes it (see
/// `control::timeline::Timeline::duck_at`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DuckAt {
    pub duck: Duck,
    /// The release (frames) the duck returns with when the target next rises.
    pub release: u32,
}

/// A seek prepared ahead, for a transport that will start at `position` (a DAW stopped at its
/// playhead): the engine applies it on the very frame play starts.
#[derive(Debug, Clone, Default)]
pub struct Locate {
    pub position: u64,
    pub scene: Option<u32>,
    pub elapsed: u64,
    pub bed_change_in: Option<u64>,
    pub first_token: u32,
    pub duck: DuckAt,
    /// (clip, token, offset, fade in progress) for every clip sounding at `position`.
    pub starts: Vec<(u32, u32, u64, Option<Resume>)>,
    /// Follow cues still to start: (cue, frames after `position`).
    pub follows: Vec<(u32, u64)>,
}

/// An action, at a sample time on the engine clock or as soon as possible.
pub struct Command {
    pub at: Option<u64>,
    pub action: Action,
}

impl Action {
    /// A stop or a panic: what an operator sends when something goes wrong, so it is never the
    /// command a full queue turns away (room is kept for these: `URGENT_ROOM`).
    pub fn is_urgent(&self) -> bool {
        matches!(self, Action::Panic | Action::StopCue { .. } | Action::StopAll { .. })
    }
}

/// Places in the command queue and in the engine's schedule kept for urgent commands (stops
/// and panics): ordinary commands are turned away this far before either is full.
pub const URGENT_ROOM: usize = 64;

impl Command {
    pub fn now(action: Action) -> Self {
        Command { at: None, action }
    }
    pub fn at(at: u64, action: Action) -> Self {
        Command { at: Some(at), action }
    }
}

/// Why a start could not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The clip's feed was not ready (file missing or still loading).
    NotReady,
    /// Every voice is busy.
    NoFreeVoice,
    /// Too many commands waiting for their time.
    ScheduleFull,
    /// The cue, scene or note does not exist in the loaded show.
    Unknown,
}

/// What happened on the audio thread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    CueStarted {
        cue: u32,
        at: u64,
    },
    /// `completed`: it played its last sample (stopped cues and panics are not completed).
    CueEnded {
        cue: u32,
        at: u64,
        completed: bool,
    },
    SceneEntered {
        scene: u32,
        at: u64,
    },
    /// A bed's transition began (quantized transitions begin after the scene was entered).
    BedStarted {
        scene: u32,
        at: u64,
    },
    /// No manual cue is left for GO.
    GoAtEnd {
        at: u64,
    },
    Underrun {
        clip: u32,
        at: u64,
        frames: u32,
    },
    /// A start that came before its clip's data (`frames` late): it sounded from where its data
    /// arrived, in time.
    LateStart {
        clip: u32,
        at: u64,
        frames: u32,
    },
    /// With the engine's trace on, when a voice ends (or `Engine::report_heard`): the clip was
    /// heard from frame `from` to the frame before `to` (see `engine::HEARD`).
    Heard {
        clip: u32,
        from: u64,
        to: u64,
    },
    /// With the engine's level trace on: the clip's gain and fade together are `gain` (linear)
    /// from frame `at` (reported as it moves).
    Level {
        clip: u32,
        at: u64,
        gain: f32,
    },
    /// With the engine's level trace on: the bed's duck is at `db` from frame `at`.
    Duck {
        at: u64,
        db: f32,
    },
    CannotStart {
        clip: u32,
        at: u64,
        why: Problem,
    },
    CommandDropped {
        at: u64,
        why: Problem,
    },
    /// The main output went above full scale; `peak` is linear.
    Clipped {
        at: u64,
        peak: f32,
    },
    Panic {
        at: u64,
        hard: bool,
    },
    ProgramLoaded {
        generation: u32,
        at: u64,
    },
    /// The timeline jumped; `scene` is now current.
    Seeked {
        scene: Option<u32>,
        at: u64,
    },
    /// Offline (a DAW's bounce), the clip's data did not come in time; it plays silence.
    Stalled {
        clip: u32,
        at: u64,
    },
}

/// Loader thread → engine.
pub enum LoaderMsg {
    Arm {
        generation: u32,
        clip: u32,
        feed: Feed,
    },
    Disarm {
        generation: u32,
        clip: u32,
    },
    /// A feed starting mid-clip, for the `StartClip` with the same token.
    Offset {
        generation: u32,
        token: u32,
        feed: Feed,
    },
    /// The clip's file failed (missing, broken, stream cut): it plays silence, and whoever waits
    /// for data (an offline render or bounce) must not wait for it.
    Lost {
        generation: u32,
        clip: u32,
    },
}

/// Engine → loader thread.
pub enum Retired {
    /// A feed that finished playing or was replaced.
    Feed(Feed),
    /// The armed feed of a clip was taken by a voice: the loader prepares another.
    Used {
        generation: u32,
        clip: u32,
    },
    Program(Box<Program>),
    Locate(Box<Locate>),
}
