//! The one report stream (control side): what happened, as values, for whatever shows it. A
//! front end chooses its sink once (the live player's console, or its headless JSON lines; the
//! plugin's editor status; later a web page or a backup's link) and reports everything through
//! it, never asking at each call site where words should go.
//!
//! A new place that shows what happens implements `Sink`: it gets every `Report` and words or
//! encodes it its own way. State (what is, rather than what happened) is a `Snapshot`, shown
//! through `Sink::show`.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::control::command::Request;
use crate::control::snapshot::Snapshot;
use crate::control::sync::SyncEvent;
use crate::control::{Controller, Notice};

/// How a player came up: what it plays, on what, where its remotes and records are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Opened {
    pub show: String,
    pub backend: String,
    pub device: String,
    pub rate: u32,
    pub channels: u16,
    /// Frames per buffer, when the device was given one.
    pub buffer: Option<u32>,
    /// Where OSC listens, if it does.
    pub osc: Option<String>,
    pub journal: String,
    pub log: String,
    /// Timeline seconds it opened at.
    pub start: f64,
}

/// Something that happened, for the operator or a script.
#[derive(Debug, Clone, Copy)]
pub enum Report<'a> {
    /// The player is up.
    Opened(&'a Opened),
    /// A command as it arrived (before it is carried out).
    Command(&'a Request),
    /// An engine event or loader report, in words and fields.
    Notice(&'a Notice),
    /// Something went wrong, in words.
    Problem(&'a str),
    /// The state, asked for (`/segue/state`, `state` on stdin).
    State(&'a Snapshot),
    /// A MIDI input was found (or found again).
    MidiConnected(&'a str),
    /// The show file was saved and is valid: it loads when nothing plays.
    ShowChanged(&'a str),
    /// The show file was saved with problems: the current show plays on.
    ShowInvalid(&'a [String]),
    /// The show file was loaded again.
    ShowReloaded { show: &'a str, text: &'a str },
    /// The audio output went away (the device's own words); a `Problem` says what happens now.
    OutputLost(&'a str),
    /// The audio output is back.
    OutputBack(&'a str),
    /// The timecode the show follows locked, jumped, dropped out or stopped the show (`text`:
    /// in words).
    Timecode { event: &'a SyncEvent, text: &'a str },
}

/// Where a front end's reports go.
pub trait Sink {
    /// Takes one report; `controller` names what its events number (cues, scenes, clips).
    fn report(&mut self, controller: &Controller, report: Report<'_>);
    /// Whether it would show the state now (a console redraws about 30 times a second); the
    /// front end then takes a `Snapshot` and hands it to `show`.
    fn wants_state(&self) -> bool {
        false
    }
    fn show(&mut self, _state: &Snapshot) {}
    /// The front end is ending: whatever is still queued goes out (bounded in time).
    fn finish(&mut self) {}
}

/// Milliseconds since the Unix epoch: when a report was made, for logs read later.
pub fn wall_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
