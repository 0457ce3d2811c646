//! One seam for every transport: whatever moves the show's timeline (the live player's own
//! transport, a DAW's, and next LTC, MTC or JACK transport) answers, once per audio block, "rolling
//! or not, at which timeline frame" as a `chase::Transport`, and `control::chase` follows it.
//!
//! A new transport source implements `TransportSource` (called on the audio thread: no allocation,
//! no locks, no waiting) and is handed to the front end's audio side in place of `OwnTransport`.
//! The plugin reads the host's transport from its process context and builds the same value.
//!
//! The live player's own transport lives here: `OwnTransport` on the audio thread, and
//! `TransportControl` on the control loop, which moves it through a wait-free queue and reads
//! back where it is.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use crate::control::chase::Transport;

/// A transport the show follows (audio thread).
pub trait TransportSource: Send {
    /// The transport at the first frame of the block about to be rendered.
    fn at_block(&mut self) -> Transport;
    /// The block of `frames` was rendered.
    fn advance(&mut self, frames: u64);
    /// A source on another clock (timecode) steers the speed: asked once per device buffer of
    /// `block` frames, before its blocks are rendered, with `ahead` device frames already on
    /// their way between the engine and the sound; answers the engine frames to render per
    /// device frame. `None` (the default): the engine renders the device's frames, to the
    /// sample (the show's own transport, a DAW's, JACK transport).
    fn steer(&mut self, _ahead: f64, _block: u64) -> Option<f64> {
        None
    }
}

/// What the control side asks of the player's own transport (through a wait-free queue).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TransportCmd {
    Play,
    Stop,
    /// Move the playhead to this timeline frame (playing or not).
    Locate(u64),
}

/// The top bit of the published transport word: the transport plays.
pub const PLAYING_BIT: u64 = 1 << 63;

/// How many transport commands may wait for the audio thread.
const QUEUE: usize = 256;

/// Where the transport the show follows is, as the audio thread last said (one atomic word:
/// the timeline frame, and the top bit for playing), for the control side's state and journal.
#[derive(Debug, Clone, Default)]
pub struct Published(Arc<AtomicU64>);

impl Published {
    /// Stopped at `position`.
    pub fn new(position: u64) -> Published {
        Published(Arc::new(AtomicU64::new(position)))
    }

    /// Audio thread: where the transport is after a block.
    pub fn store(&self, playing: bool, position: u64) {
        let word = (position & !PLAYING_BIT) | if playing { PLAYING_BIT } else { 0 };
        self.0.store(word, Ordering::Relaxed);
    }

    /// (playing, timeline frame).
    pub fn load(&self) -> (bool, u64) {
        let word = self.0.load(Ordering::Relaxed);
        (word & PLAYING_BIT != 0, word & !PLAYING_BIT)
    }
}

/// The player's own transport, on the audio thread: play, stop and locate as the operator asks,
/// rolling one frame per frame rendered.
pub struct OwnTransport {
    commands: rtrb::Consumer<TransportCmd>,
    playing: bool,
    position: u64,
    published: Published,
}

/// The control side's handle on the player's own transport.
pub struct TransportControl {
    commands: rtrb::Producer<TransportCmd>,
    /// Whether the transport was told to play: what the next command should take as the
    /// state, even before the audio thread has acted on it.
    rolling: bool,
    published: Published,
}

/// The player's own transport, stopped at timeline frame `start`: the audio side and the
/// control side.
pub fn own(start: u64) -> (OwnTransport, TransportControl) {
    let (tx, rx) = rtrb::RingBuffer::<TransportCmd>::new(QUEUE);
    let published = Published::new(start);
    let audio = OwnTransport { commands: rx, playing: false, position: 0, published: published.clone() };
    let mut control = TransportControl { commands: tx, rolling: false, published };
    // The first block already plays from `start`.
    let _ = control.commands.push(TransportCmd::Locate(start));
    (audio, control)
}

impl TransportSource for OwnTransport {
    fn at_block(&mut self) -> Transport {
        while let Ok(cmd) = self.commands.pop() {
            match cmd {
                TransportCmd::Play => self.playing = true,
                TransportCmd::Stop => self.playing = false,
                TransportCmd::Locate(position) => self.position = position,
            }
        }
        Transport { playing: self.playing, position: Some(self.position), loop_start: None }
    }

    fn advance(&mut self, frames: u64) {
        if self.playing {
            self.position += frames;
        }
        self.published.store(self.playing, self.position);
    }
}

impl TransportControl {
    /// Asks the transport to move. Play and stop are taken as done from now on (`rolling`).
    pub fn send(&mut self, cmd: TransportCmd) -> Result<(), String> {
        self.commands.push(cmd).map_err(|_| "the transport queue is full; try again".to_string())?;
        match cmd {
            TransportCmd::Play => self.rolling = true,
            TransportCmd::Stop => self.rolling = false,
            TransportCmd::Locate(_) => {}
        }
        Ok(())
    }

    /// Whether the transport was told to play (and not told to stop since).
    pub fn rolling(&self) -> bool {
        self.rolling
    }

    /// (playing, timeline frame) as the audio thread last published it.
    pub fn published(&self) -> (bool, u64) {
        self.published.load()
    }

    /// Where the audio thread publishes the transport.
    pub fn publisher(&self) -> Published {
        self.published.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_own_transport_rolls_from_where_it_was_put_and_publishes_it() {
        let (mut audio, mut control) = own(480);
        assert_eq!(audio.at_block(), Transport { playing: false, position: Some(480), loop_start: None });
        audio.advance(256);
        assert_eq!(control.published(), (false, 480), "stopped: it stays");
        control.send(TransportCmd::Play).unwrap();
        assert!(control.rolling(), "taken as playing before the audio thread has seen it");
        assert!(audio.at_block().playing);
        audio.advance(256);
        assert_eq!(control.published(), (true, 736));
        control.send(TransportCmd::Locate(0)).unwrap();
        control.send(TransportCmd::Stop).unwrap();
        assert_eq!(audio.at_block(), Transport { playing: false, position: Some(0), loop_start: None });
    }
}
