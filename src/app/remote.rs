//! What the live player's inputs ask of it: keys, stdin lines, OSC messages and MIDI all become
//! a `Request` (a `Remote` command, stamped when it arrived, with where it came from), which the
//! control loop carries out one audio buffer after its arrival. Built on the input threads, read
//! on the control loop.

use std::net::{SocketAddr, UdpSocket};
use std::time::Instant;

use rosc::{OscMessage, OscPacket, OscType};

use crate::engine::command::Level;

/// What a remote (OSC, MIDI, a script on stdin, a key) asks of the player.
#[derive(Debug, Clone, PartialEq)]
pub enum Remote {
    Go,
    /// Every cue fades out with its own fade.
    StopAll,
    Panic,
    StartCue(String),
    StopCue(String),
    Scene(String),
    Level(Level, f32),
    Play,
    StopTransport,
    /// Timeline seconds.
    Locate(f64),
    State,
    Quit,
    /// A MIDI note-on that is neither GO nor panic: the cue or scene the show gives it.
    Note(u8),
    /// A MIDI program change: enter scene N (0-based, show order).
    Program(u8),
    /// MSC GO with a cue number: that cue (if GO fires it, standby moves on past it).
    GoNumber(String),
    /// MSC STOP with a cue number: that cue, with its fade.
    StopNumber(String),
    /// MSC STOP without one: every cue fades and the timeline stops.
    StopShow,
    /// Load the show file again (a change `--watch` saw, or the file as it is now).
    Reload,
}

/// Where a request came from, and for OSC where its reply goes.
#[derive(Debug, Clone)]
pub enum Source {
    Key,
    Stdin,
    Osc(ReplyTo),
    Midi,
}

impl Source {
    /// How the headless log names it.
    pub fn name(&self) -> &'static str {
        match self {
            Source::Key => "key",
            Source::Stdin => "stdin",
            Source::Osc(ReplyTo::Udp(_)) => "osc",
            Source::Osc(ReplyTo::Tcp(_)) => "osc-tcp",
            Source::Midi => "midi",
        }
    }
}

/// Where an OSC reply goes: back to the UDP sender, or down the TCP connection it came on (to
/// that connection's writer thread, SLIP-framed; a peer that does not read loses replies once
/// its queue is full, and never holds up the control loop).
#[derive(Debug, Clone)]
pub enum ReplyTo {
    Udp(SocketAddr),
    Tcp(crossbeam_channel::Sender<Vec<u8>>),
}

/// A command as it arrived: when, and from where.
#[derive(Debug, Clone)]
pub struct Request {
    pub remote: Remote,
    /// What it came as: the OSC address (for the reply's `/segue/reply{address}`), the key, or
    /// the MIDI message in words.
    pub address: String,
    pub arrived: Instant,
    pub source: Source,
}

/// Sends `/segue/reply{address}` with `text` to where an OSC request came from (`udp`: the
/// server's socket).
pub fn reply(udp: &UdpSocket, to: &ReplyTo, address: &str, text: &str) -> std::io::Result<()> {
    let msg = OscMessage { addr: format!("/segue/reply{address}"), args: vec![OscType::String(text.into())] };
    let bytes = rosc::encoder::encode(&OscPacket::Message(msg)).map_err(|e| std::io::Error::other(e.to_string()))?;
    match to {
        ReplyTo::Udp(addr) => udp.send_to(&bytes, addr).map(|_| ()),
        ReplyTo::Tcp(writer) => writer
            .try_send(crate::app::osc::slip_encode(&bytes))
            .map_err(|_| std::io::Error::other("the TCP peer is not reading its replies")),
    }
}
