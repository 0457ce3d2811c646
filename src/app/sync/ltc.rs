//! LTC from a JACK port (`--chase ltc:PORT`): the JACK client `segue-ltc` (activated) has the
//! input port `segue-ltc:ltc_in`, connected from `PORT` (a capture channel a video deck's or an
//! NLE's LTC is patched into, e.g. `system:capture_3`, as `jack_lsp` lists it). Its process
//! callback (JACK's real-time thread) hands the audio to libltc's decoder, stamped with JACK's
//! frame clock, and passes each frame heard on through a wait-free queue to the show's
//! `timecode::TimecodeTransport`.

use crate::app::sync::libltc::Decoder;
use crate::app::sync::lock::Reading;
use crate::app::sync::timecode::{start_input, Kind, Unwrap};

struct Listen {
    port: jack::Port<jack::AudioIn>,
    decoder: Decoder,
    clock: Unwrap,
    heard: rtrb::Producer<Reading>,
}

impl jack::ProcessHandler for Listen {
    fn process(&mut self, _: &jack::Client, ps: &jack::ProcessScope) -> jack::Control {
        let at = self.clock.frames(ps.last_frame_time());
        self.decoder.write(self.port.as_slice(ps), at as i64);
        while let Some(h) = self.decoder.read() {
            let length = (h.end - h.start + 1).max(0) as u32;
            let reading = Reading::ltc(h.label, h.start.max(0) as u64, length, h.reverse);
            // A full queue (the audio thread stalled) loses a frame: the line has others.
            let _ = self.heard.push(reading);
        }
        jack::Control::Continue
    }
}

/// The LTC input: its JACK client runs while this lives.
pub struct LtcInput {
    _client: jack::AsyncClient<(), Listen>,
}

impl LtcInput {
    /// Opens `segue-ltc:ltc_in` on the JACK server the player plays through, connected from
    /// `from` (a port name; empty: connect it yourself), hearing LTC at about `samples_per_frame`.
    /// Returns the input, the frames it hears, and the clock origin.
    pub fn open(from: &str, samples_per_frame: u32) -> Result<(LtcInput, rtrb::Consumer<Reading>, u32), String> {
        let kind = Kind { name: "LTC", source: "a JACK output port" };
        let (client, rx, origin) = start_input(kind, "segue-ltc", "ltc_in", from, |port, clock, heard| Listen {
            port,
            decoder: Decoder::new(samples_per_frame),
            clock,
            heard,
        })?;
        Ok((LtcInput { _client: client }, rx, origin))
    }
}
