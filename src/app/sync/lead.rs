//! Segue leading the picture (`--lead jack`, `--lead mtc:PORT`): the show's own transport drives
//! JACK transport, so xjadeo (`--picture`), Ardour or any JACK transport follower sees the show's
//! position; and MTC goes out from JACK transport to a JACK MIDI port, so a lighting desk or a
//! second player follows it.
//!
//! - `JackLead` wraps the player's own transport on the audio thread: when it plays, stops or
//!   jumps, JACK transport is started, stopped or located (calls JACK allows in a process
//!   cycle: no allocation, no waiting). A locate takes effect a cycle or two later (JACK2: one;
//!   learnt from what it did), so a rolling transport is located to where the show will be
//!   then; from there JACK rolls on with the audio clock, frame for frame with the show.
//! - `MtcOut`, a JACK client of its own, reads JACK transport in its process callback (JACK's
//!   real-time thread) and writes a quarter frame on the very frame each quarter of a timecode
//!   frame begins, and a full frame when the transport stops or is located.

use crate::app::sync::libltc::Label;
use crate::app::sync::mtc::quarter_frames;
use crate::control::transport::{Transport, TransportSource};
use crate::show::timecode::FrameRate;

/// JACK transport led by the show's own transport (audio thread).
pub struct JackLead {
    inner: Box<dyn TransportSource>,
    _client: jack::Client,
    transport: jack::Transport,
    /// The JACK frame of the show's 0.
    zero: u64,
    block: u64,
    /// Cycles to wait for a locate asked for to show.
    settling: u32,
    /// Cycles a locate of a rolling transport takes to show (JACK2 takes one; learnt from
    /// what it did).
    ahead: u64,
}

impl JackLead {
    pub fn open(inner: Box<dyn TransportSource>, zero: u64) -> Result<JackLead, String> {
        let (client, _) = jack::Client::new("segue-lead", jack::ClientOptions::NO_START_SERVER)
            .map_err(|e| format!("cannot lead JACK transport: {e}"))?;
        let transport = client.transport();
        Ok(JackLead { inner, _client: client, transport, zero, block: 256, settling: 0, ahead: 1 })
    }

    fn lead(&mut self, show: Transport) {
        let Ok(jack) = self.transport.query() else { return };
        let rolling = jack.state != jack::TransportState::Stopped;
        let here = self.zero + show.position.unwrap_or(0);
        let at = jack.pos.frame() as u64;
        if self.settling > 0 {
            self.settling -= 1;
            return;
        }
        // JACK's frame counter is 32 bits: a show beyond it (a 24-hour timecode at 48 kHz) is
        // led as far as it goes.
        let frame = |f: u64| f.min(u32::MAX as u64) as u32;
        match (show.playing, rolling) {
            (true, false) => {
                let _ = self.transport.locate(frame(here + self.ahead * self.block));
                let _ = self.transport.start();
                self.settling = 3;
            }
            (false, true) => {
                let _ = self.transport.stop();
                let _ = self.transport.locate(frame(here));
                self.settling = 3;
            }
            (true, true) if at != here => {
                // Off by whole buffers: the locate took that many cycles more or fewer.
                let off = at as i64 - here as i64;
                if off.unsigned_abs() <= 4 * self.block && off % self.block as i64 == 0 {
                    self.ahead = (self.ahead as i64 - off / self.block as i64).clamp(0, 4) as u64;
                }
                let _ = self.transport.locate(frame(here + self.ahead * self.block));
                self.settling = 3;
            }
            (false, false) if at != here => {
                let _ = self.transport.locate(frame(here));
                self.settling = 3;
            }
            _ => {}
        }
    }
}

impl TransportSource for JackLead {
    fn at_block(&mut self) -> Transport {
        let show = self.inner.at_block();
        self.lead(show);
        show
    }

    fn advance(&mut self, frames: u64) {
        self.block = frames.max(1);
        self.inner.advance(frames);
    }
}

/// JACK transport's frame counts from timecode 00:00:00:00 (`JackLead` puts the show's 0 at
/// its timecode), so the timecode at frame f is f / frames-per-frame.
struct Send {
    port: jack::Port<jack::MidiOut>,
    rate: FrameRate,
    per_quarter: f64,
    /// (rolling, JACK frame) as the last cycle ended.
    last: Option<(bool, u64)>,
}

impl Send {
    /// The full-frame message of the timecode at JACK frame `at`.
    fn full_frame(rate: FrameRate, per_quarter: f64, at: u64) -> [u8; 10] {
        let label = Label::of(((at as f64) / (4.0 * per_quarter)).floor() as u64, rate);
        let bits = quarter_frames(label, rate)[7] >> 1 & 3;
        [0xf0, 0x7f, 0x7f, 0x01, 0x01, label.hours | bits << 5, label.minutes, label.seconds, label.frames, 0xf7]
    }
}

impl jack::ProcessHandler for Send {
    fn process(&mut self, client: &jack::Client, ps: &jack::ProcessScope) -> jack::Control {
        let mut writer = self.port.writer(ps);
        let Ok(now) = client.transport().query() else { return jack::Control::Continue };
        let rolling = now.state == jack::TransportState::Rolling;
        let frame = now.pos.frame() as u64;
        let n = ps.n_frames() as u64;
        // A cycle the machine missed moves the transport on by a buffer or two: quarter frames
        // go on from there. Started, stopped or located (more than two frames away): a full frame.
        let two_frames = (8.0 * self.per_quarter) as u64;
        let jumped = self.last.is_none_or(|(was, expected)| {
            was != rolling || frame < expected || frame - expected > if rolling { two_frames } else { 0 }
        });
        if jumped {
            // Started, stopped or located: where it is now, in one message.
            let _ =
                writer.write(&jack::RawMidi { time: 0, bytes: &Send::full_frame(self.rate, self.per_quarter, frame) });
        }
        if rolling {
            quarter_frames_in(frame, n, self.per_quarter, self.rate, |time, bytes| {
                let _ = writer.write(&jack::RawMidi { time, bytes: &bytes });
            });
        }
        self.last = Some((rolling, if rolling { frame + n } else { frame }));
        jack::Control::Continue
    }
}

/// The quarter frames that begin in the `n` frames from timecode audio frame `frame`, each with
/// its offset there: quarter frame q begins on audio frame q × `per_quarter` (from timecode
/// 00:00:00:00); each eight carry the time of the frame the first of them began on.
fn quarter_frames_in(frame: u64, n: u64, per_quarter: f64, rate: FrameRate, mut out: impl FnMut(u32, [u8; 2])) {
    let mut q = ((frame as f64) / per_quarter).ceil() as u64;
    loop {
        let at = (q as f64 * per_quarter).round() as u64;
        if at >= frame + n {
            break;
        }
        if at >= frame {
            let piece = (q % 8) as usize;
            let time = Label::of((q - piece as u64) / 4, rate);
            out((at - frame) as u32, [0xf1, quarter_frames(time, rate)[piece]]);
        }
        q += 1;
    }
}

/// MTC out from JACK transport: its JACK client runs while this lives.
pub struct MtcOut {
    _client: jack::AsyncClient<(), Send>,
}

impl MtcOut {
    /// Opens `segue-mtc-out:mtc_out`, connected to `to` (a JACK MIDI input port; empty: connect
    /// it yourself), sending JACK transport's timecode at `rate` for audio at `sample_rate`. MTC
    /// carries 24, 25, 29.97 drop-frame and 30 (23.976 goes as 24, 29.97 non-drop as 30, the
    /// frames counted the same).
    pub fn open(to: &str, rate: FrameRate, sample_rate: u32) -> Result<MtcOut, String> {
        let (client, _) = jack::Client::new("segue-mtc-out", jack::ClientOptions::NO_START_SERVER)
            .map_err(|e| format!("cannot open MTC out on JACK: {e}"))?;
        let port = client.register_port("mtc_out", jack::MidiOut::default()).map_err(|e| format!("MTC out: {e}"))?;
        let ours = port.name().map_err(|e| format!("MTC out: {e}"))?;
        let (num, den) = rate.ratio();
        let per_quarter = sample_rate as f64 * den as f64 / num as f64 / 4.0;
        let send = Send { port, rate, per_quarter, last: None };
        let client = client.activate_async((), send).map_err(|e| format!("cannot start MTC out: {e}"))?;
        if !to.is_empty() {
            client
                .as_client()
                .connect_ports_by_name(&ours, to)
                .map_err(|e| format!("cannot connect MTC out to \"{to}\" (a JACK MIDI input port): {e}"))?;
        }
        Ok(MtcOut { _client: client })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::sync::mtc::MtcDecoder;

    #[test]
    fn quarter_frames_go_out_on_their_frames_and_read_back_as_the_time_there() {
        for rate in [FrameRate::Fps25, FrameRate::Fps29_97Df, FrameRate::Fps24] {
            let (num, den) = rate.ratio();
            let per_quarter = 48_000.0 * den as f64 / num as f64 / 4.0;
            // 01:00:05:00 and a bit, in buffers of 256.
            let start = (Label { hours: 1, minutes: 0, seconds: 5, frames: 0, drop: rate.drop_frame() }
                .count(rate.base(), rate.drop_frame()) as f64
                * 4.0
                * per_quarter) as u64
                + 77;
            let mut decoder = MtcDecoder::default();
            let mut heard = Vec::new();
            for block in 0..200u64 {
                let frame = start + block * 256;
                quarter_frames_in(frame, 256, per_quarter, rate, |time, bytes| {
                    if let Some(r) = decoder.quarter_frame(bytes[1], frame + time as u64) {
                        heard.push(r);
                    }
                });
            }
            // 51,200 frames: over 80 quarter frames heard once the first eight have come.
            assert!(heard.len() > 80, "{rate:?}: {}", heard.len());
            for r in heard {
                // Each reading's time, in quarter frames, at the frame it was sent on.
                let q = r.label.count(rate.base(), rate.drop_frame()) * 4 + r.quarters as u64;
                let at = (q as f64 * per_quarter).round() as u64;
                assert_eq!(at, r.start, "{rate:?} {:?}", r.label);
                assert_eq!(r.declared, Some(rate));
            }
        }
    }
}
