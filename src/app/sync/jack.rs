//! Following JACK transport (`--chase jack`). `JackTransport::at_block` runs on the audio thread,
//! inside the JACK cycle the player's output is computed in (the player's output is a JACK
//! client too): JACK's transport query there gives the position of the cycle's first frame, so
//! the show follows it to the sample, as the plugin follows a DAW. It queries through a client
//! of its own (never activated: it only reads the transport) and only reads memory JACK shares:
//! no allocation, no lock, no waiting.

use crate::control::transport::{Published, Transport, TransportSource};

/// JACK transport as a transport the show follows.
pub struct JackTransport {
    /// Kept open for `transport` to stay valid.
    _client: jack::Client,
    transport: jack::Transport,
    /// The JACK frame where the show's 0 falls.
    zero: u64,
    last: Transport,
    published: Published,
}

impl JackTransport {
    /// Opens a client on the JACK server the player plays through. `zero`: the JACK frame of
    /// the show's 0.
    pub fn open(zero: u64, published: Published) -> Result<JackTransport, String> {
        let (client, _) = jack::Client::new("segue-transport", jack::ClientOptions::NO_START_SERVER)
            .map_err(|e| format!("cannot read JACK transport: {e}"))?;
        let transport = client.transport();
        Ok(JackTransport { _client: client, transport, zero, last: Transport::default(), published })
    }
}

impl TransportSource for JackTransport {
    fn at_block(&mut self) -> Transport {
        let Ok(now) = self.transport.query() else {
            // The server is going away: the show stops where it was.
            return Transport { playing: false, ..self.last };
        };
        let frame = now.pos.frame() as u64;
        // Before the show's 0 the show waits there, stopped (and ready to start from its top).
        let (playing, position) = match frame.checked_sub(self.zero) {
            Some(position) => (now.state == jack::TransportState::Rolling, position),
            None => (false, 0),
        };
        self.last = Transport { playing, position: Some(position), loop_start: None };
        self.last
    }

    fn advance(&mut self, frames: u64) {
        let Transport { playing, position, .. } = self.last;
        let position = position.unwrap_or(0);
        self.published.store(playing, if playing { position + frames } else { position });
    }
}
