//! A timecode (LTC or MTC) as the transport the show follows. The input is a JACK client of the
//! player's own (`ltc`, `mtc`) that stamps each frame heard with JACK's frame clock and passes it
//! through a wait-free queue; `TimecodeTransport`, the show's `TransportSource` on the player's
//! audio thread (inside the same JACK cycle), reads those frames and the cycle's clock frame
//! through a passive client, and runs the `Lock`: where the show goes and the speed it plays at.
//!
//! JACK's frame clock is shared by every client of a server, so a frame heard and the buffer
//! that sounds are placed on one clock, to the sample.

use crate::app::sync::lock::{Lock, Reading};
use crate::control::transport::{Published, Transport, TransportSource};

/// Readings that may wait for the audio thread (a second of LTC at 30 fps, a quarter second of
/// MTC quarter frames, and more).
pub const QUEUE: usize = 256;

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

/// What a timecode input is, in its words: ("LTC", "a JACK output port") or ("MTC", "a JACK
/// MIDI output port").
pub struct Kind {
    pub name: &'static str,
    pub source: &'static str,
}

/// Starts a timecode input: the JACK client `client` with the input port `port` of `spec`,
/// whose process callback is what `listen` makes of the port, the clock (counted from an origin
/// both the input and `TimecodeTransport` share) and the way out for the readings; connected
/// from `from` (empty: left to the user). Returns the running client, the readings, and the
/// origin.
#[allow(clippy::type_complexity)]
pub fn start_input<S: jack::PortSpec + Default, L: jack::ProcessHandler + 'static>(
    kind: Kind,
    client: &str,
    port: &str,
    from: &str,
    listen: impl FnOnce(jack::Port<S>, Unwrap, rtrb::Producer<Reading>) -> L,
) -> Result<(jack::AsyncClient<(), L>, rtrb::Consumer<Reading>, u32), String> {
    let what = kind.name;
    let (client, _) = jack::Client::new(client, jack::ClientOptions::NO_START_SERVER)
        .map_err(|e| format!("cannot open the {what} input on JACK: {e}"))?;
    let port =
        client.register_port(port, S::default()).map_err(|e| format!("cannot open the {what} input port: {e}"))?;
    let ours = port.name().map_err(|e| format!("the {what} input port: {e}"))?;
    // A little before now, so neither client ever reads a clock frame before the origin.
    let origin = client.frame_time().wrapping_sub(1 << 24);
    let (tx, rx) = rtrb::RingBuffer::new(QUEUE);
    let client = client
        .activate_async((), listen(port, Unwrap::new(origin), tx))
        .map_err(|e| format!("cannot start the {what} input: {e}"))?;
    if !from.is_empty() {
        client.as_client().connect_ports_by_name(from, &ours).map_err(|e| {
            format!("cannot connect {what} from \"{from}\" ({}, as jack_lsp lists them): {e}", kind.source)
        })?;
    }
    Ok((client, rx, origin))
}

/// A timecode as the transport the show follows (audio thread).
pub struct TimecodeTransport {
    /// Only reads the cycle's clock frame (never activated).
    clock_client: jack::Client,
    clock: Unwrap,
    heard: rtrb::Consumer<Reading>,
    lock: Lock,
    published: Published,
}

impl TimecodeTransport {
    pub fn open(
        heard: rtrb::Consumer<Reading>,
        origin: u32,
        lock: Lock,
        published: Published,
    ) -> Result<TimecodeTransport, String> {
        let (clock_client, _) = jack::Client::new("segue-clock", jack::ClientOptions::NO_START_SERVER)
            .map_err(|e| format!("cannot read JACK's clock: {e}"))?;
        Ok(TimecodeTransport { clock_client, clock: Unwrap::new(origin), heard, lock, published })
    }
}

impl TransportSource for TimecodeTransport {
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
