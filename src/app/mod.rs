//! The live player, `segue play`: a thin front end over `control`.
//!
//! Threads: the audio device's callback owns the `Engine` and follows the player's own
//! transport (`audio`); the loader feeds it; the OSC threads (`osc`), the MIDI inputs (`midi`),
//! the keys (`console`) and, headless, a stdin reader (`stdin`) turn what arrives into
//! `control::command::Request`s, stamped on arrival; the session's loop (`session`, main thread)
//! carries them out through `control::dispatch`, one audio buffer after their arrival on the
//! engine clock, and reports everything to the sink chosen at start: the console, or one JSON
//! object per line on stdout (`headless`). `output` keeps the device playing, `journal` and
//! `watch` keep the show's place and file.

pub mod audio;
pub mod console;
pub mod device;
pub mod headless;
pub mod journal;
pub mod midi;
pub mod osc;
pub mod output;
pub mod session;
pub mod stdin;
pub mod sync;
pub mod video;
pub mod watch;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::engine::EngineConfig;
use crate::show;
use audio::Patch;
use device::DeviceOptions;

/// What `segue play` was asked to do.
#[derive(Debug, Clone)]
pub struct PlayOptions {
    pub show: PathBuf,
    pub device: DeviceOptions,
    pub patch: Patch,
    /// Timeline seconds to open at (default 0).
    pub start: Option<crate::control::times::Moment>,
    pub autoplay: bool,
    pub headless: bool,
    /// Where OSC listens (`None`: no OSC).
    pub osc: Option<SocketAddr>,
    pub osc_allow: Vec<(std::net::IpAddr, u8)>,
    /// A second GO sooner than this after the first is ignored (and counted).
    pub go_guard: Duration,
    /// The journal (default: `journal::default_path`); the performance log goes beside it.
    pub journal: Option<PathBuf>,
    /// Open where the journal says the show was.
    pub resume: bool,
    /// MIDI inputs to listen to (`--midi`).
    pub midi: Vec<midi::Wanted>,
    /// GO and panic notes, MSC device id.
    pub midi_map: crate::control::midi::MidiMap,
    /// Reload the show file when it is saved.
    pub watch: bool,
    /// What the show follows (`--chase`).
    pub follow: sync::Follow,
    /// The source's timecode at the show's 0 (`--chase-offset`; default: the production's
    /// `start_timecode`).
    pub chase_offset: Option<String>,
    /// How long timecode may drop out before the show stops (`--freewheel`).
    pub freewheel: sync::lock::Freewheel,
    /// What the show's own transport leads (`--lead`).
    pub lead: sync::Lead,
    /// The cut to show in xjadeo (`--picture`).
    pub picture: Option<PathBuf>,
    /// Refuse to open a show with an audio file that cannot be read (`--strict`).
    pub strict: bool,
}

/// Why `segue play` stopped with an error: a show that does not load or a remote or console
/// that cannot be set up (exit 1), or no audio output (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    #[error("{0}")]
    Show(#[from] show::ShowErrors),
    #[error("{0}")]
    NoOutput(String),
    #[error("{0}")]
    Setup(String),
}

/// Runs the live player until it is told to quit.
pub fn play(options: PlayOptions) -> Result<(), PlayError> {
    session::Session::open(options)?.run()
}

/// The live player's engine: with the trace, so the performance log records where each bed
/// and cue was heard (the cue sheet of what the audience heard: `segue cuesheet --from-log`).
pub fn engine_config(rate: u32) -> EngineConfig {
    EngineConfig { trace: true, ..EngineConfig::new(rate) }
}
