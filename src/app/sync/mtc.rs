//! MIDI timecode from a JACK MIDI port (`--chase mtc:PORT`): the JACK client `segue-mtc`
//! (activated) has the MIDI input port `segue-mtc:mtc_in`, connected from `PORT`. Its process
//! callback (JACK's real-time thread) reads quarter-frame and full-frame messages, each stamped
//! with JACK's frame clock at its place in the cycle, through `MtcDecoder`, and passes what it
//! hears on through a wait-free queue to the show's `timecode::TimecodeTransport`.
//!
//! Quarter frames (`F1 0n`) come four a frame while the source rolls; eight of them carry one
//! time (frames, seconds, minutes, hours and the rate), the time of the frame the first of the
//! eight was sent on. The decoder trusts a time only after 8 quarter frames in a row in one
//! direction, and places each quarter frame from then on: the eighth is 7/4 frame past its time
//! (the 2-frame correction every MTC reader makes), the ones after count on from it. A full
//! frame (`F0 7F dd 01 01 hh mm ss ff F7`) says the source was located and waits there.

use crate::app::sync::libltc::Label;
use crate::app::sync::lock::Reading;
use crate::app::sync::timecode::{start_input, Kind, Unwrap};
use crate::show::timecode::FrameRate;

/// The rate MTC's two rate bits name (23.976 travels as 24, 29.97 non-drop as 30).
fn rate_of(bits: u8) -> FrameRate {
    match bits & 3 {
        0 => FrameRate::Fps24,
        1 => FrameRate::Fps25,
        2 => FrameRate::Fps29_97Df,
        _ => FrameRate::Fps30,
    }
}

/// A running MTC time heard on clock frame `at`, `quarters` past `label`.
fn mtc_reading(label: Label, rate: FrameRate, quarters: u8, at: u64, reverse: bool) -> Reading {
    Reading { label, quarters, start: at, length: 0, reverse, declared: Some(rate), parked: false }
}

/// Reads MTC messages into readings.
#[derive(Debug, Default, Clone)]
pub struct MtcDecoder {
    nibbles: [u8; 8],
    /// The last piece (0..7) heard.
    previous: Option<u8>,
    /// Quarter frames in a row in one direction (+1 forward, -1 backward).
    run: u32,
    direction: i8,
    /// The time last put together, and quarter frames since the first of its eight.
    time: Option<(Label, FrameRate)>,
    quarters: u8,
}

impl MtcDecoder {
    /// A quarter frame (`F1 data`) heard on clock frame `at`.
    pub fn quarter_frame(&mut self, data: u8, at: u64) -> Option<Reading> {
        let piece = (data >> 4) & 7;
        let direction = match self.previous {
            Some(p) if piece == (p + 1) % 8 => 1,
            Some(p) if piece == (p + 7) % 8 => -1,
            _ => 0,
        };
        // One or two quarter frames lost going forward (a busy MIDI line, a missed cycle): the
        // time known goes on, counted past them; eight in a row are needed again for a new one.
        let skipped = self.previous.map_or(0, |p| (piece + 8 - p) % 8);
        if self.direction > 0 && self.time.is_some() && (2..=3).contains(&skipped) {
            self.previous = Some(piece);
            self.nibbles[piece as usize] = data & 0x0f;
            self.run = 1;
            self.quarters = self.quarters.saturating_add(skipped);
            let (label, rate) = self.time?;
            return Some(mtc_reading(label, rate, self.quarters, at, false));
        }
        // The second quarter frame heard says which way the first went.
        let same_way = direction == self.direction || (self.direction == 0 && self.run == 1);
        if direction != 0 && same_way {
            self.run += 1;
            self.direction = direction;
        } else {
            self.run = 1;
            self.direction = direction;
            self.time = None;
        }
        self.previous = Some(piece);
        self.nibbles[piece as usize] = data & 0x0f;
        if self.direction < 0 && self.run >= 8 {
            let (label, rate) = self.time.unwrap_or_else(|| self.assemble());
            return Some(mtc_reading(label, rate, 0, at, true));
        }
        if self.direction > 0 && piece == 7 && self.run >= 8 {
            self.time = Some(self.assemble());
            self.quarters = 7;
        } else if self.time.is_some() {
            self.quarters = self.quarters.saturating_add(1);
        }
        let (label, rate) = self.time?;
        Some(mtc_reading(label, rate, self.quarters, at, false))
    }

    /// A full-frame message (`F0 7F dd 01 01 hh mm ss ff F7`) heard on clock frame `at`.
    pub fn full_frame(&mut self, message: &[u8], at: u64) -> Option<Reading> {
        let [0xf0, 0x7f, _, 0x01, 0x01, hh, mm, ss, ff, 0xf7] = *message else { return None };
        self.run = 0;
        self.time = None;
        self.previous = None;
        let rate = rate_of(hh >> 5);
        let label = Label { hours: hh & 0x1f, minutes: mm, seconds: ss, frames: ff, drop: rate.drop_frame() };
        Some(Reading { label, quarters: 0, start: at, length: 0, reverse: false, declared: Some(rate), parked: true })
    }

    /// The time the eight pieces carry.
    fn assemble(&self) -> (Label, FrameRate) {
        let n = &self.nibbles;
        let rate = rate_of(n[7] >> 1);
        let label = Label {
            frames: n[0] | (n[1] & 1) << 4,
            seconds: n[2] | (n[3] & 3) << 4,
            minutes: n[4] | (n[5] & 3) << 4,
            hours: n[6] | (n[7] & 1) << 4,
            drop: rate.drop_frame(),
        };
        (label, rate)
    }
}

/// The quarter frames of one time, as a sender sends them (`F1` data bytes, piece 0 first).
pub fn quarter_frames(label: Label, rate: FrameRate) -> [u8; 8] {
    let bits = match rate {
        FrameRate::Fps24 | FrameRate::Fps23_976 => 0,
        FrameRate::Fps25 => 1,
        FrameRate::Fps29_97Df => 2,
        _ => 3,
    };
    let nibbles = [
        label.frames & 0xf,
        label.frames >> 4,
        label.seconds & 0xf,
        label.seconds >> 4,
        label.minutes & 0xf,
        label.minutes >> 4,
        label.hours & 0xf,
        (label.hours >> 4) | bits << 1,
    ];
    std::array::from_fn(|i| (i as u8) << 4 | nibbles[i])
}

struct Listen {
    port: jack::Port<jack::MidiIn>,
    decoder: MtcDecoder,
    clock: Unwrap,
    heard: rtrb::Producer<Reading>,
}

impl jack::ProcessHandler for Listen {
    fn process(&mut self, _: &jack::Client, ps: &jack::ProcessScope) -> jack::Control {
        let cycle = self.clock.frames(ps.last_frame_time());
        for event in self.port.iter(ps) {
            let at = cycle + event.time as u64;
            let reading = match event.bytes {
                [0xf1, data] => self.decoder.quarter_frame(*data, at),
                [0xf0, 0x7f, ..] => self.decoder.full_frame(event.bytes, at),
                _ => None,
            };
            if let Some(reading) = reading {
                // A full queue (the audio thread stalled) loses a reading: the line has others.
                let _ = self.heard.push(reading);
            }
        }
        jack::Control::Continue
    }
}

/// The MTC input: its JACK client runs while this lives.
pub struct MtcInput {
    _client: jack::AsyncClient<(), Listen>,
}

impl MtcInput {
    /// Opens `segue-mtc:mtc_in` on the JACK server the player plays through, connected from
    /// `from` (a JACK MIDI output port; empty: connect it yourself). Returns the input, what it
    /// hears, and the clock origin.
    pub fn open(from: &str) -> Result<(MtcInput, rtrb::Consumer<Reading>, u32), String> {
        let kind = Kind { name: "MTC", source: "a JACK MIDI output port" };
        let (client, rx, origin) = start_input(kind, "segue-mtc", "mtc_in", from, |port, clock, heard| Listen {
            port,
            decoder: MtcDecoder::default(),
            clock,
            heard,
        })?;
        Ok((MtcInput { _client: client }, rx, origin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Quarter frames from `first` on (frame counts at `rate`), every 480 clock frames (25 fps
    /// at 48 kHz), starting with piece `from_piece`.
    fn send(d: &mut MtcDecoder, first: u64, rate: FrameRate, pieces: usize, from_piece: usize) -> Vec<Reading> {
        let mut out = Vec::new();
        for q in from_piece..from_piece + pieces {
            let time = first + (q / 8) as u64 * 2;
            let bytes = quarter_frames(Label::of(time, rate), rate);
            if let Some(r) = d.quarter_frame(bytes[q % 8], q as u64 * 480) {
                out.push(r);
            }
        }
        out
    }

    #[test]
    fn a_time_is_trusted_after_eight_quarter_frames_and_placed_7_4_frames_on() {
        let rate = FrameRate::Fps25;
        let first = 90_000 + 125;
        let mut d = MtcDecoder::default();
        // Starting mid-way (piece 3): nothing until a whole eight in a row has come.
        let heard = send(&mut d, first, rate, 24, 3);
        let r = heard[0];
        assert_eq!(r.start, 15 * 480, "the second piece 7: quarter frame 15");
        assert_eq!(r.label.count(25, false), first + 2, "its eight began on frame 8 (time +2)");
        assert_eq!(r.quarters, 7);
        assert_eq!(r.declared, Some(rate));
        // From piece 0: trusted on the eighth.
        let mut d = MtcDecoder::default();
        let heard = send(&mut d, first, rate, 8, 0);
        assert_eq!(heard.len(), 1);
        assert_eq!(heard[0].start, 7 * 480);
        // Every quarter frame after places the time a quarter on.
        let mut d = MtcDecoder::default();
        let heard = send(&mut d, first, rate, 24, 3);
        for w in heard.windows(2) {
            let q = |r: &Reading| r.label.count(25, false) * 4 + r.quarters as u64;
            assert_eq!(q(&w[1]), q(&w[0]) + 1);
            assert_eq!(w[1].start - w[0].start, 480);
        }
        each_at_its_frame(&heard, first);
    }

    /// Each reading's time at its clock frame: quarter frame n (at 25 fps, 480 frames apart) is
    /// n/4 frames from `first`.
    fn each_at_its_frame(heard: &[Reading], first: u64) {
        for r in heard {
            let q = r.label.count(25, false) * 4 + r.quarters as u64 - first * 4;
            assert_eq!(q * 480, r.start);
        }
    }

    #[test]
    fn a_lost_quarter_frame_is_counted_past_not_waited_for() {
        let rate = FrameRate::Fps25;
        let first = 90_000 + 125;
        let mut d = MtcDecoder::default();
        let mut heard = Vec::new();
        for q in 0..40usize {
            if q == 13 || q == 27 {
                continue;
            }
            let bytes = quarter_frames(Label::of(first + (q / 8) as u64 * 2, rate), rate);
            heard.extend(d.quarter_frame(bytes[q % 8], q as u64 * 480));
        }
        // Every quarter frame heard from the eighth on gives its own time at its frame.
        assert_eq!(heard.len(), 40 - 7 - 2);
        each_at_its_frame(&heard, first);
    }

    #[test]
    fn drop_frame_rates_travel_and_backwards_is_said_and_full_frames_park() {
        let rate = FrameRate::Fps29_97Df;
        let mut d = MtcDecoder::default();
        let first = Label { hours: 1, minutes: 9, seconds: 59, frames: 20, drop: true }.count(30, true);
        let heard = send(&mut d, first, rate, 16, 0);
        assert_eq!(heard[0].declared, Some(rate));
        assert!(heard[0].label.drop);
        assert_eq!(heard[0].label.hours, 1);
        // Backwards: eight in a row the other way.
        let bytes = quarter_frames(Label::of(first, rate), rate);
        let mut d = MtcDecoder::default();
        let back: Vec<_> = (0..10).rev().filter_map(|i| d.quarter_frame(bytes[i % 8], 0)).collect();
        assert!(back.iter().all(|r| r.reverse) && !back.is_empty());
        let full = [0xf0, 0x7f, 0x7f, 0x01, 0x01, 0x21 | 1 << 5, 2, 3, 4, 0xf7];
        let parked = d.full_frame(&full, 99).unwrap();
        assert!(parked.parked);
        assert_eq!((parked.label.hours, parked.label.minutes, parked.label.frames), (1, 2, 4));
        assert_eq!(parked.declared, Some(FrameRate::Fps25));
    }
}
