//! What MIDI means to a show, for every front end: a note-on is GO, panic, or the cue or scene
//! the show gives that note; a program change N enters scene N; a MIDI Show Control message
//! (sysex) is GO / STOP / RESUME / ALL_OFF. Pure functions, no allocation except for an MSC cue
//! number: the plugin calls `note` on the host's audio thread, the live player's MIDI thread
//! calls `decode` on raw messages.
//!
//! MSC (MIDI 1.0 "MIDI Show Control 1.1"): `F0 7F <device> 02 <format> <command> <data> F7`.
//! Segue answers the command formats "general sound" (0x10) and "all types" (0x7F), on its own
//! device id (0..=111), and on the all-call id 0x7F; a group id (0x70..=0x7E) is answered when it
//! is the one Segue is given.

use std::time::{Duration, Instant};

use crate::control::command::Command;
use crate::engine::command::Action;

/// MSC command format "general sound".
pub const MSC_FORMAT_SOUND: u8 = 0x10;
/// MSC command format "all types".
pub const MSC_FORMAT_ALL: u8 = 0x7F;
/// MSC device id every device answers.
pub const MSC_ALL_CALL: u8 = 0x7F;

/// The notes and the MSC device id a front end listens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MidiMap {
    /// Note that fires GO (the standby cue).
    pub go_note: u8,
    /// Note that panics.
    pub panic_note: u8,
    /// This player's MSC device id (0..=126; all-call, 0x7F, is always answered).
    pub msc_device: u8,
}

impl Default for MidiMap {
    fn default() -> Self {
        // C0 and C#0: below the notes shows usually give scenes (36..) and cues (60..).
        MidiMap { go_note: 12, panic_note: 13, msc_device: 0 }
    }
}

/// A MIDI message, as the show reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MidiCommand {
    Go,
    Panic,
    /// Any other note-on: the cue or scene the show maps to it (the engine looks it up).
    Note(u8),
    /// Program change: enter scene N (0-based, show order).
    Program(u8),
    Msc(Msc),
}

/// A MIDI Show Control command Segue carries out. A cue number is the text MSC sends ("12",
/// "12.5"): a cue's `number`, or its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msc {
    /// With a number: that cue; without: the standby cue.
    Go(Option<String>),
    /// With a number: that cue, with its fade; without: everything, and the timeline stops.
    Stop(Option<String>),
    /// The timeline plays on from where it stopped.
    Resume,
    /// Everything off: the panic.
    AllOff,
}

impl Msc {
    /// How a log names it: "MSC GO 12".
    pub fn describe(&self) -> String {
        let with = |word: &str, q: &Option<String>| match q {
            Some(q) => format!("MSC {word} {q}"),
            None => format!("MSC {word}"),
        };
        match self {
            Msc::Go(q) => with("GO", q),
            Msc::Stop(q) => with("STOP", q),
            Msc::Resume => "MSC RESUME".into(),
            Msc::AllOff => "MSC ALL_OFF".into(),
        }
    }
}

impl MidiCommand {
    /// The operator command it is, for a front end that carries MIDI out on its control loop
    /// (the live player: stamped on arrival, scheduled one buffer later, as keys and OSC are).
    pub fn command(&self) -> Command {
        match self {
            MidiCommand::Go => Command::Go,
            MidiCommand::Panic => Command::Panic,
            MidiCommand::Note(n) => Command::Note(*n),
            MidiCommand::Program(p) => Command::Program(*p),
            MidiCommand::Msc(Msc::Go(Some(q))) => Command::GoNumber(q.clone()),
            MidiCommand::Msc(Msc::Go(None)) => Command::Go,
            MidiCommand::Msc(Msc::Stop(Some(q))) => Command::StopNumber(q.clone()),
            MidiCommand::Msc(Msc::Stop(None)) => Command::StopShow,
            MidiCommand::Msc(Msc::Resume) => Command::Play,
            MidiCommand::Msc(Msc::AllOff) => Command::Panic,
        }
    }

    /// How a log names the message: "midi note 12 (GO)", "MSC GO 5".
    pub fn describe(&self, map: &MidiMap) -> String {
        match self {
            MidiCommand::Go => format!("midi note {} (GO)", map.go_note),
            MidiCommand::Panic => format!("midi note {} (panic)", map.panic_note),
            MidiCommand::Note(n) => format!("midi note {n}"),
            MidiCommand::Program(p) => format!("midi program {p}"),
            MidiCommand::Msc(msc) => msc.describe(),
        }
    }

    /// The engine action of a note or a program change, which a front end schedules on the
    /// message's own frame. MSC needs the controller (cue numbers) and the front end's
    /// transport: `None`.
    pub fn action(&self) -> Option<Action> {
        match *self {
            MidiCommand::Go => Some(Action::Go),
            MidiCommand::Panic => Some(Action::Panic),
            MidiCommand::Note(note) => Some(Action::Note { note }),
            MidiCommand::Program(program) => Some(Action::EnterScene { scene: program as u32 }),
            MidiCommand::Msc(_) => None,
        }
    }
}

/// A note-on (velocity above 0) on any channel.
pub fn note(note: u8, map: &MidiMap) -> MidiCommand {
    if note == map.go_note {
        MidiCommand::Go
    } else if note == map.panic_note {
        MidiCommand::Panic
    } else {
        MidiCommand::Note(note)
    }
}

/// Reads one complete MIDI message (as JACK and ALSA deliver them: running status already
/// expanded, a sysex whole). `None`: nothing for a show (note-offs, controllers, clock, another
/// device's or format's MSC, a command Segue does not carry out).
pub fn decode(bytes: &[u8], map: &MidiMap) -> Option<MidiCommand> {
    match *bytes {
        [status, key, velocity, ..] if status & 0xF0 == 0x90 && velocity > 0 => Some(note(key & 0x7F, map)),
        [status, program, ..] if status & 0xF0 == 0xC0 => Some(MidiCommand::Program(program & 0x7F)),
        [0xF0, 0x7F, device, 0x02, format, command, ref data @ ..] => {
            let ours = device == MSC_ALL_CALL || device == map.msc_device;
            let sound = format == MSC_FORMAT_SOUND || format == MSC_FORMAT_ALL;
            if !ours || !sound {
                return None;
            }
            let number = cue_number(data).ok()?;
            let msc = match command {
                0x01 => Msc::Go(number),
                0x02 => Msc::Stop(number),
                0x03 => Msc::Resume,
                0x08 => Msc::AllOff,
                _ => return None,
            };
            Some(MidiCommand::Msc(msc))
        }
        _ => None,
    }
}

/// The Q_number at the start of an MSC command's data: ASCII digits and '.', up to the 0x00
/// that starts the Q_list or the closing 0xF7; `None` when there is none. Err when there is one
/// that is not a number or is longer than any cue number (`MAX_CUE_NUMBER`): the message is
/// refused rather than taken as a GO without a number, which would fire the standby cue.
fn cue_number(data: &[u8]) -> Result<Option<String>, ()> {
    let end = data.iter().position(|&b| b == 0x00 || b == 0xF7).unwrap_or(data.len());
    let q = &data[..end];
    if q.is_empty() {
        return Ok(None);
    }
    if q.len() > MAX_CUE_NUMBER || !q.iter().all(|&b| b.is_ascii_digit() || b == b'.') {
        return Err(());
    }
    Ok(Some(String::from_utf8_lossy(q).into_owned()))
}

/// The longest MSC cue number taken (consoles send a few digits: "12.5").
pub const MAX_CUE_NUMBER: usize = 32;

/// Builds an MSC message (for tests and tools that drive Segue).
pub fn msc_message(device: u8, format: u8, command: u8, number: Option<&str>) -> Vec<u8> {
    let mut m = vec![0xF0, 0x7F, device, 0x02, format, command];
    if let Some(q) = number {
        m.extend_from_slice(q.as_bytes());
    }
    m.push(0xF7);
    m
}

/// Turns a MIDI API's timestamps (microseconds from some start of its own, as midir gives them)
/// into `Instant`s: the offset between the two clocks is the smallest delay seen so far (a
/// message is never delivered before it arrived), so a message that waited for its thread keeps
/// the time it arrived at.
#[derive(Debug, Default)]
pub struct StampClock {
    /// `Instant` of the API's time zero, as best known.
    zero: Option<Instant>,
}

impl StampClock {
    /// When a message stamped `micros` arrived, it being delivered at `now`.
    pub fn arrived(&mut self, micros: u64, now: Instant) -> Instant {
        let stamp = Duration::from_micros(micros);
        let zero_now = now.checked_sub(stamp).unwrap_or(now);
        let zero = match self.zero {
            Some(zero) if zero <= zero_now => zero,
            _ => zero_now,
        };
        self.zero = Some(zero);
        (zero + stamp).min(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: MidiMap = MidiMap { go_note: 12, panic_note: 13, msc_device: 5 };

    #[test]
    fn notes_and_programs_on_any_channel() {
        assert_eq!(decode(&[0x90, 12, 100], &MAP), Some(MidiCommand::Go));
        assert_eq!(decode(&[0x9F, 13, 1], &MAP), Some(MidiCommand::Panic));
        assert_eq!(decode(&[0x93, 60, 64], &MAP), Some(MidiCommand::Note(60)));
        // Velocity 0 is a note-off by the MIDI standard.
        assert_eq!(decode(&[0x90, 60, 0], &MAP), None);
        assert_eq!(decode(&[0x80, 60, 64], &MAP), None);
        assert_eq!(decode(&[0xC2, 3], &MAP), Some(MidiCommand::Program(3)));
        assert_eq!(decode(&[0xB0, 7, 100], &MAP), None);
        assert_eq!(decode(&[0xF8], &MAP), None);
        assert_eq!(decode(&[], &MAP), None);
    }

    #[test]
    fn msc_go_with_and_without_a_cue_number() {
        let go = |device, format, q| decode(&msc_message(device, format, 0x01, q), &MAP);
        assert_eq!(go(5, MSC_FORMAT_SOUND, Some("12.5")), Some(MidiCommand::Msc(Msc::Go(Some("12.5".into())))));
        assert_eq!(go(5, MSC_FORMAT_ALL, None), Some(MidiCommand::Msc(Msc::Go(None))));
        assert_eq!(go(MSC_ALL_CALL, MSC_FORMAT_SOUND, Some("3")), Some(MidiCommand::Msc(Msc::Go(Some("3".into())))));
        // Another device, and the lighting format (0x01), are not for us.
        assert_eq!(go(6, MSC_FORMAT_SOUND, Some("3")), None);
        assert_eq!(go(5, 0x01, Some("3")), None);
        // A Q_list after the number: the number is what names the cue.
        let mut m = vec![0xF0, 0x7F, 5, 0x02, 0x10, 0x01];
        m.extend_from_slice(b"7\x002\xF7");
        assert_eq!(decode(&m, &MAP), Some(MidiCommand::Msc(Msc::Go(Some("7".into())))));
    }

    #[test]
    fn msc_stop_resume_all_off_and_the_rest_ignored() {
        let cmd = |command, q| decode(&msc_message(5, MSC_FORMAT_SOUND, command, q), &MAP);
        assert_eq!(cmd(0x02, Some("4")), Some(MidiCommand::Msc(Msc::Stop(Some("4".into())))));
        assert_eq!(cmd(0x02, None), Some(MidiCommand::Msc(Msc::Stop(None))));
        assert_eq!(cmd(0x03, None), Some(MidiCommand::Msc(Msc::Resume)));
        assert_eq!(cmd(0x08, None), Some(MidiCommand::Msc(Msc::AllOff)));
        assert_eq!(cmd(0x05, Some("4")), None, "LOAD is not carried out");
        // A number that is not one, or is longer than any cue number, refuses the message (a GO
        // without a number would fire the standby cue).
        assert_eq!(cmd(0x01, Some("4a")), None);
        let (long, longest) = ("1".repeat(1024), "1".repeat(MAX_CUE_NUMBER));
        assert_eq!(cmd(0x01, Some(&long)), None);
        assert_eq!(cmd(0x01, Some(&longest)), Some(MidiCommand::Msc(Msc::Go(Some(longest.clone())))));
        // A truncated sysex.
        assert_eq!(decode(&[0xF0, 0x7F, 5, 0x02], &MAP), None);
    }

    #[test]
    fn stamps_keep_the_time_a_message_arrived_when_its_delivery_was_late() {
        let t0 = Instant::now();
        let mut clock = StampClock::default();
        // Delivered 3 ms after it arrived (the first message sets the offset).
        let first = clock.arrived(1_000, t0 + Duration::from_millis(4));
        assert_eq!(first, t0 + Duration::from_millis(4));
        // Delivered at once: the offset was 3 ms too late; from now on it is right.
        let second = clock.arrived(11_000, t0 + Duration::from_millis(11));
        assert_eq!(second, t0 + Duration::from_millis(11));
        // Delivered 5 ms late: it keeps its own time.
        let third = clock.arrived(21_000, t0 + Duration::from_millis(26));
        assert_eq!(third, t0 + Duration::from_millis(21));
    }
}
