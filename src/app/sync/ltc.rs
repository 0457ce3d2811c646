//! LTC from a JACK port (`--chase ltc:PORT`): the JACK client `segue-ltc` (activated) has the
//! input port `segue-ltc:ltc_in`, connected from `PORT` (a capture channel a video deck's or an
//! NLE's LTC is patched into, e.g. `system:capture_3`, as `jack_lsp` lists it). Its process
//! callback (JACK's real-time thread) hands the audio to libltc's decoder, stamped with JACK's
//! frame clock, and passes each frame heard on through a wait-free queue to the show's
//! `timecode::TimecodeTransport`.

use crate::app::sync::libltc::Decoder;
use crate::app::sync::lock::Reading;
use crate::app::sync::timecode::{Unwrap, QUEUE};

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
        let (client, _) = jack::Client::new("segue-ltc", jack::ClientOptions::NO_START_SERVER)
            .map_err(|e| format!("cannot open the LTC input on JACK: {e}"))?;
        let port = client
            .register_port("ltc_in", jack::AudioIn::default())
            .map_err(|e| format!("cannot open the LTC input port: {e}"))?;
        let ours = port.name().map_err(|e| format!("the LTC input port: {e}"))?;
        // A little before now, so neither client ever reads a clock frame before the origin.
        let origin = client.frame_time().wrapping_sub(1 << 24);
        let (tx, rx) = rtrb::RingBuffer::new(QUEUE);
        let listen = Listen { port, decoder: Decoder::new(samples_per_frame), clock: Unwrap::new(origin), heard: tx };
        let client = client.activate_async((), listen).map_err(|e| format!("cannot start the LTC input: {e}"))?;
        if !from.is_empty() {
            client.as_client().connect_ports_by_name(from, &ours).map_err(|e| {
                format!("cannot connect LTC from \"{from}\" (a JACK output port, as jack_lsp lists them): {e}")
            })?;
        }
        Ok((LtcInput { _client: client }, rx, origin))
    }
}
