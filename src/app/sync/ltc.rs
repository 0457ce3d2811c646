//! Following LTC from a JACK port (`--chase ltc:PORT`). Two JACK clients of the player's own:
//!
//! - `segue-ltc` (activated) has the input port `segue-ltc:ltc_in`, connected from `PORT` (a
//!   capture channel a video deck's or an NLE's LTC is patched into, e.g. `system:capture_3`,
//!   as `jack_lsp` lists it). Its process callback (JACK's real-time thread) hands the audio to
//!   libltc's decoder, stamped with JACK's frame clock, and passes each frame heard on through a
//!   wait-free queue.
//! - `LtcTransport`, the show's `TransportSource` on the player's audio thread (inside the same
//!   JACK cycle), reads those frames and the cycle's clock frame through a passive client, and
//!   runs the `Lock`: where the show goes and the speed it plays at.
//!
//! JACK's frame clock is shared by every client of a server, so a frame heard and the buffer
//! that sounds are placed on one clock, to the sample.

use crate::app::sync::libltc::Decoder;
use crate::app::sync::lock::{Lock, Reading};
use crate::control::transport::{Published, Transport, TransportSource};

/// Frames heard that may wait for the audio thread (a second's worth at 30 fps, and more).
const QUEUE: usize = 64;

/// JACK's 32-bit frame clock counted on in 64 bits from an origin both clients share.
#[derive(Debug, Clone, Copy)]
pub struct Unwrap {
    origin: u32,
    last: u32,
    wraps: u64,
}

impl Unwrap {
    pub fn new(origin: u32) -> Unwrap {
        Unwrap { origin, last: 0, wraps: 0 }
    }

    /// Frames since the origin (JACK's clock wraps every 24 hours at 48 kHz).
    pub fn frames(&mut self, now: u32) -> u64 {
        let since = now.wrapping_sub(self.origin);
        if since < self.last {
            self.wraps += 1;
        }
        self.last = since;
        (self.wraps << 32) + since as u64
    }
}

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
            let reading = Reading {
                label: h.label,
                start: h.start.max(0) as u64,
                length: (h.end - h.start + 1).max(0) as u32,
                reverse: h.reverse,
                declared: None,
            };
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

/// LTC as the transport the show follows (audio thread).
pub struct LtcTransport {
    /// Only reads the cycle's clock frame (never activated).
    clock_client: jack::Client,
    clock: Unwrap,
    heard: rtrb::Consumer<Reading>,
    lock: Lock,
    published: Published,
}

impl LtcTransport {
    pub fn open(
        heard: rtrb::Consumer<Reading>,
        origin: u32,
        lock: Lock,
        published: Published,
    ) -> Result<LtcTransport, String> {
        let (clock_client, _) = jack::Client::new("segue-ltc-clock", jack::ClientOptions::NO_START_SERVER)
            .map_err(|e| format!("cannot read JACK's clock: {e}"))?;
        Ok(LtcTransport { clock_client, clock: Unwrap::new(origin), heard, lock, published })
    }
}

impl TransportSource for LtcTransport {
    fn steer(&mut self, ahead: f64, block: u64) -> Option<f64> {
        // The clock frame this JACK cycle started on: the same for every client of the server.
        // JACK2 keeps one frame timer per server, so any client reads the current cycle's.
        let now = self.clock.frames(unsafe { jack::jack_sys::jack_last_frame_time(self.clock_client.raw()) });
        while let Ok(reading) = self.heard.pop() {
            self.lock.hear(reading);
        }
        Some(self.lock.steer(now, ahead, block))
    }

    fn at_block(&mut self) -> Transport {
        self.lock.transport()
    }

    fn advance(&mut self, frames: u64) {
        self.lock.advance(frames);
        let (playing, position) = self.lock.position();
        self.published.store(playing, position);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_counts_on_across_jacks_wrap() {
        let mut u = Unwrap::new(u32::MAX - 100);
        assert_eq!(u.frames(u32::MAX - 100), 0);
        assert_eq!(u.frames(u32::MAX), 100);
        assert_eq!(u.frames(50), 151);
        let mut u = Unwrap::new(10);
        u.frames(u32::MAX);
        assert_eq!(u.frames(9), (1u64 << 32) - 1);
        assert_eq!(u.frames(20), (1u64 << 32) + 10);
    }
}
