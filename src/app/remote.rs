//! What the live player's inputs ask of it: keys, stdin lines, OSC messages and MIDI all become
//! a `Request` (a `Remote` command, stamped when it arrived, with where it came from), which the
//! control loop carries out one audio buffer after its arrival. Built on the input threads, read
//! on the control loop; `requests()` is the bounded way between them.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
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

impl Remote {
    /// Stops, panics and quit: never refused for a full queue (see `Requests::send`).
    pub fn is_urgent(&self) -> bool {
        matches!(
            self,
            Remote::Panic
                | Remote::StopAll
                | Remote::StopCue(_)
                | Remote::StopNumber(_)
                | Remote::StopShow
                | Remote::StopTransport
                | Remote::Quit
        )
    }
}

/// Requests that may wait for the control loop at once. A loop turn takes them all, a few
/// microseconds each, so a stop or a panic behind a full queue waits a few milliseconds at most.
pub const WAITING: usize = 1024;
/// Urgent requests that may wait at once, in a queue of their own.
pub const URGENT_WAITING: usize = 256;

/// The input threads' side of the way to the control loop (cloned for each input).
#[derive(Clone)]
pub struct Requests {
    normal: crossbeam_channel::Sender<Request>,
    urgent: crossbeam_channel::Sender<Request>,
    refused: Arc<AtomicU64>,
}

/// The control loop's side: requests in the order they arrived, and how many were refused.
pub struct Inbox {
    pub normal: crossbeam_channel::Receiver<Request>,
    pub urgent: crossbeam_channel::Receiver<Request>,
    refused: Arc<AtomicU64>,
}

/// The control loop has ended: nothing will take requests any more.
#[derive(Debug)]
pub struct Gone;

/// A way from the input threads to the control loop, bounded so a flood (100,000 OSC packets
/// in a second) cannot pile up behind a panic or grow without end.
pub fn requests() -> (Requests, Inbox) {
    let (normal, normal_rx) = crossbeam_channel::bounded(WAITING);
    let (urgent, urgent_rx) = crossbeam_channel::bounded(URGENT_WAITING);
    let refused = Arc::new(AtomicU64::new(0));
    (Requests { normal, urgent, refused: refused.clone() }, Inbox { normal: normal_rx, urgent: urgent_rx, refused })
}

impl Requests {
    /// Hands a request to the control loop. One that finds the queue full is refused and
    /// counted (the loop reports the count); an urgent one (stop, panic, quit) has a queue of
    /// its own and waits for room rather than be refused.
    pub fn send(&self, request: Request) -> Result<(), Gone> {
        if request.remote.is_urgent() {
            return self.urgent.send(request).map_err(|_| Gone);
        }
        match self.normal.try_send(request) {
            Ok(()) => Ok(()),
            Err(crossbeam_channel::TrySendError::Full(_)) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(crossbeam_channel::TrySendError::Disconnected(_)) => Err(Gone),
        }
    }
}

impl Inbox {
    /// Everything waiting now, in the order it arrived (urgent ones among the rest by their
    /// arrival stamp).
    pub fn drain(&self, into: &mut Vec<Request>) {
        into.extend(self.urgent.try_iter());
        into.extend(self.normal.try_iter().take(WAITING));
        into.sort_by_key(|r| r.arrived);
    }

    /// Requests refused for a full queue since the last call.
    pub fn take_refused(&self) -> u64 {
        self.refused.swap(0, Ordering::Relaxed)
    }
}

/// Commands turned away in a flood, said once a second in one line rather than once each.
#[derive(Debug, Default)]
pub struct Overflow {
    /// Since the last report: refused by the inbox (`Requests::send`), and not sent because
    /// the engine's command queue was full.
    inbox: u64,
    engine: u64,
    /// Since the player started.
    pub inbox_total: u64,
    pub engine_total: u64,
    said: Option<Instant>,
}

impl Overflow {
    pub fn count(&mut self, inbox: u64, engine: u64) {
        self.inbox += inbox;
        self.engine += engine;
        self.inbox_total += inbox;
        self.engine_total += engine;
    }

    /// What to report now, if anything: at most one line a second.
    pub fn report(&mut self, now: Instant) -> Option<String> {
        if self.inbox + self.engine == 0 || self.said.is_some_and(|t| now.duration_since(t).as_secs_f64() < 1.0) {
            return None;
        }
        let mut parts = Vec::new();
        if self.inbox > 0 {
            parts.push(format!(
                "{} commands refused: they came faster than the player takes them ({WAITING} may wait)",
                self.inbox
            ));
        }
        if self.engine > 0 {
            parts.push(format!("{} commands not carried out: the engine's command queue was full", self.engine));
        }
        let since = match self.said {
            Some(t) => format!("in the last {:.1} s", now.duration_since(t).as_secs_f64()),
            None => "so far".to_string(),
        };
        self.said = Some(now);
        (self.inbox, self.engine) = (0, 0);
        Some(format!("{} {since}; stops, panics and quit are never refused", parts.join("; ")))
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn request(remote: Remote, arrived: Instant) -> Request {
        Request { remote, address: "/segue/test".into(), arrived, source: Source::Stdin }
    }

    #[test]
    fn a_full_queue_refuses_and_counts_but_never_a_stop_or_a_panic_and_order_is_kept() {
        let (tx, inbox) = requests();
        let t0 = Instant::now();
        for i in 0..WAITING as u64 + 500 {
            tx.send(request(Remote::Level(Level::Master, -1.0), t0 + Duration::from_micros(i))).unwrap();
        }
        let late = t0 + Duration::from_secs(1);
        tx.send(request(Remote::Panic, late)).unwrap();
        tx.send(request(Remote::StopCue("a".into()), late + Duration::from_micros(1))).unwrap();
        assert_eq!(inbox.take_refused(), 500);
        assert_eq!(inbox.take_refused(), 0, "taken once");
        let mut batch = Vec::new();
        inbox.drain(&mut batch);
        assert_eq!(batch.len(), WAITING + 2);
        assert!(batch.windows(2).all(|w| w[0].arrived <= w[1].arrived), "in the order they arrived");
        assert_eq!(batch[WAITING].remote, Remote::Panic);
        assert_eq!(batch[WAITING + 1].remote, Remote::StopCue("a".into()));
        drop(inbox);
        assert!(tx.send(request(Remote::Go, late)).is_err(), "the loop is gone");
    }

    #[test]
    fn refusals_are_said_at_most_once_a_second_and_add_up() {
        let mut o = Overflow::default();
        let t0 = Instant::now();
        assert_eq!(o.report(t0), None, "nothing refused, nothing said");
        o.count(700, 0);
        let first = o.report(t0).unwrap();
        assert!(first.starts_with("700 commands refused"), "{first}");
        o.count(300, 12);
        assert_eq!(o.report(t0 + Duration::from_millis(400)), None, "not twice in a second");
        let second = o.report(t0 + Duration::from_millis(1000)).unwrap();
        assert!(
            second.starts_with("300 commands refused") && second.contains("12 commands not carried out"),
            "{second}"
        );
        assert!(second.contains("in the last 1.0 s"), "{second}");
        assert_eq!((o.inbox_total, o.engine_total), (1000, 12));
    }
}
