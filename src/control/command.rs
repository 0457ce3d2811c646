//! The operator's command set, the one every front end speaks (control side: built on input
//! threads, carried out by `control::dispatch` on the control loop).
//!
//! Keys, stdin lines, OSC messages, MIDI / MSC messages and the plugin's editor all become a
//! `Command`; with when it arrived and where from, it is a `Request`. A new source of commands (a
//! web page, a backup's link) builds `Request`s and hands them to `Requests::send`: nothing else
//! changes. The text form of a command (`/segue/cue/theme/start`, `level/bed -6`) is read here
//! too (`Command::parse`), so OSC, stdin and tomorrow's web page cannot read it differently.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::control::dispatch::Reply;
use crate::control::times::Moment;
use crate::engine::command::Level;

/// What an operator (or a remote standing in for one) asks of the show.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Go,
    /// Every cue fades out with its own fade.
    StopAll,
    Panic,
    StartCue(String),
    StopCue(String),
    /// Make this cue (by id) the one GO fires next.
    Standby(String),
    Scene(String),
    Level(Level, f32),
    Play,
    StopTransport,
    /// A place on the timeline, as the operator typed it (show time or picture timecode).
    Locate(Moment),
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

impl Command {
    /// Stops, panics and quit: never refused for a full queue (see `Requests::send`).
    pub fn is_urgent(&self) -> bool {
        matches!(
            self,
            Command::Panic
                | Command::StopAll
                | Command::StopCue(_)
                | Command::StopNumber(_)
                | Command::StopShow
                | Command::StopTransport
                | Command::Quit
        )
    }

    /// Reads a command in its text form: an address (`/segue/go`) and its arguments. OSC, stdin
    /// and any later remote read commands here. Quit is not among them: a remote never ends the
    /// player (stdin, the player's own terminal, says `quit` itself).
    pub fn parse(address: &str, args: &[Arg]) -> Result<Command, String> {
        let parts: Vec<&str> = address.trim_start_matches('/').split('/').collect();
        let number = |args: &[Arg]| -> Result<f64, String> {
            match args.first() {
                Some(Arg::Number(v)) => Ok(*v),
                Some(Arg::Text(s)) => s.trim().parse().map_err(|_| format!("\"{s}\" is not a number")),
                None => Err("expects a number argument".into()),
            }
        };
        let command = match parts.as_slice() {
            ["segue", "go"] => Command::Go,
            ["segue", "stop"] => Command::StopAll,
            ["segue", "panic"] => Command::Panic,
            ["segue", "state"] => Command::State,
            ["segue", "reload"] => Command::Reload,
            ["segue", "cue", id, "start"] => Command::StartCue(id.to_string()),
            ["segue", "cue", id, "stop"] => Command::StopCue(id.to_string()),
            ["segue", "cue", id, "standby"] => Command::Standby(id.to_string()),
            ["segue", "scene", id] => Command::Scene(id.to_string()),
            // By cue number, as MSC names cues (film numbers too: "1M1"): GO fires it as GO on
            // it would, stop stops it.
            ["segue", "number", number, "go"] => Command::GoNumber(number.to_string()),
            ["segue", "number", number, "stop"] => Command::StopNumber(number.to_string()),
            ["segue", "level", bus] => {
                let level = match *bus {
                    "master" => Level::Master,
                    "bed" => Level::Bed,
                    "cues" => Level::Cues,
                    other => return Err(format!("\"{other}\" is not a level: master, bed or cues")),
                };
                let db = number(args)?;
                let (quietest, loudest) = (crate::mix::SILENCE_DB as f64, crate::mix::MAX_LEVEL_DB as f64);
                if !db.is_finite() {
                    return Err("the level must be a finite number of dB".into());
                }
                if !(quietest..=loudest).contains(&db) {
                    return Err(format!(
                        "{db} dB refused, the level stays: a level goes from {quietest} dB (silence) to +{loudest} dB"
                    ));
                }
                Command::Level(level, db as f32)
            }
            ["segue", "transport", "play"] => Command::Play,
            ["segue", "transport", "stop"] => Command::StopTransport,
            ["segue", "transport", "locate"] => {
                let moment = match args.first() {
                    Some(Arg::Text(text)) => Moment::parse(text)?,
                    _ => Moment::Show(number(args)?),
                };
                if let Moment::Show(secs) = moment {
                    if !secs.is_finite() || secs < 0.0 {
                        return Err("the position must be seconds, 0 or more".into());
                    }
                }
                Command::Locate(moment)
            }
            _ => return Err(format!("\"{address}\" is not a Segue address")),
        };
        Ok(command)
    }
}

/// An argument of a command in its text form.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Number(f64),
    Text(String),
}

/// Requests that may wait for the control loop at once. A loop turn takes them all, a few
/// microseconds each, so a stop or a panic behind a full queue waits a few milliseconds at most.
pub const WAITING: usize = 1024;
/// Urgent requests that may wait at once, in a queue of their own.
pub const URGENT_WAITING: usize = 256;

/// Where a request came from: how logs name it and which count it adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Key,
    Stdin,
    Osc,
    OscTcp,
    Midi,
    /// The plugin's editor.
    Editor,
}

impl Source {
    /// How the headless log names it.
    pub fn name(self) -> &'static str {
        match self {
            Source::Key => "key",
            Source::Stdin => "stdin",
            Source::Osc => "osc",
            Source::OscTcp => "osc-tcp",
            Source::Midi => "midi",
            Source::Editor => "editor",
        }
    }
}

/// Where a request's reply goes: a front end's own way back to its sender (an OSC reply to the
/// UDP sender or down the TCP connection), called on the control loop. It must not block: a
/// sender that does not read loses its replies, and never holds up the show.
#[derive(Clone)]
pub struct ReplyTo(Arc<SendReply>);

/// Sends the reply to the request made at an address.
type SendReply = dyn Fn(&str, &Reply) + Send + Sync;

impl ReplyTo {
    /// `send(address, reply)`: encodes and sends the reply to the request made at `address`.
    pub fn new(send: impl Fn(&str, &Reply) + Send + Sync + 'static) -> ReplyTo {
        ReplyTo(Arc::new(send))
    }

    pub fn send(&self, address: &str, reply: &Reply) {
        (self.0)(address, reply)
    }
}

impl std::fmt::Debug for ReplyTo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReplyTo")
    }
}

/// A command as it arrived: when, from where, and where its reply goes.
#[derive(Debug, Clone)]
pub struct Request {
    pub command: Command,
    /// What it came as: the OSC address (for the reply's `/segue/reply{address}`), the key, or
    /// the MIDI message in words.
    pub address: String,
    pub arrived: Instant,
    pub source: Source,
    /// `None`: the sender wants no reply (keys, MIDI); errors are then reported as problems.
    pub reply: Option<ReplyTo>,
}

impl Request {
    /// A request arriving now with no reply wanted.
    pub fn new(command: Command, address: impl Into<String>, source: Source) -> Request {
        Request { command, address: address.into(), arrived: Instant::now(), source, reply: None }
    }
}

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
        if request.command.is_urgent() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn request(command: Command, arrived: Instant) -> Request {
        Request { command, address: "/segue/test".into(), arrived, source: Source::Stdin, reply: None }
    }

    #[test]
    fn a_full_queue_refuses_and_counts_but_never_a_stop_or_a_panic_and_order_is_kept() {
        let (tx, inbox) = requests();
        let t0 = Instant::now();
        for i in 0..WAITING as u64 + 500 {
            tx.send(request(Command::Level(Level::Master, -1.0), t0 + Duration::from_micros(i))).unwrap();
        }
        let late = t0 + Duration::from_secs(1);
        tx.send(request(Command::Panic, late)).unwrap();
        tx.send(request(Command::StopCue("a".into()), late + Duration::from_micros(1))).unwrap();
        assert_eq!(inbox.take_refused(), 500);
        assert_eq!(inbox.take_refused(), 0, "taken once");
        let mut batch = Vec::new();
        inbox.drain(&mut batch);
        assert_eq!(batch.len(), WAITING + 2);
        assert!(batch.windows(2).all(|w| w[0].arrived <= w[1].arrived), "in the order they arrived");
        assert_eq!(batch[WAITING].command, Command::Panic);
        assert_eq!(batch[WAITING + 1].command, Command::StopCue("a".into()));
        drop(inbox);
        assert!(tx.send(request(Command::Go, late)).is_err(), "the loop is gone");
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

    #[test]
    fn the_text_form_reads_addresses_and_their_arguments() {
        let n = |v: f64| [Arg::Number(v)];
        assert_eq!(Command::parse("/segue/go", &[]), Ok(Command::Go));
        assert!(Command::parse("/segue/quit", &[]).is_err(), "no remote ends the player");
        assert_eq!(Command::parse("/segue/cue/theme/start", &[]), Ok(Command::StartCue("theme".into())));
        assert_eq!(Command::parse("/segue/number/2M14A/go", &[]), Ok(Command::GoNumber("2M14A".into())));
        assert_eq!(Command::parse("/segue/number/1m1/stop", &[]), Ok(Command::StopNumber("1m1".into())));
        assert_eq!(Command::parse("/segue/level/bed", &n(-6.0)), Ok(Command::Level(Level::Bed, -6.0)));
        assert_eq!(Command::parse("/segue/level/bed", &[Arg::Text("-6".into())]), Ok(Command::Level(Level::Bed, -6.0)));
        assert_eq!(Command::parse("/segue/transport/locate", &n(12.0)), Ok(Command::Locate(Moment::Show(12.0))));
        let refused = Command::parse("/segue/level/master", &n(30.0)).unwrap_err();
        assert_eq!(refused, "30 dB refused, the level stays: a level goes from -144 dB (silence) to +24 dB");
        assert!(Command::parse("/segue/level/bed", &n(-200.0)).is_err());
        assert_eq!(Command::parse("/segue/level/bed", &n(24.0)), Ok(Command::Level(Level::Bed, 24.0)));
        let text = [Arg::Text("01:00:10:12".into())];
        assert_eq!(
            Command::parse("/segue/transport/locate", &text),
            Ok(Command::Locate(Moment::Timecode([1, 0, 10, 12])))
        );
        let text = [Arg::Text("later".into())];
        assert!(Command::parse("/segue/transport/locate", &text).unwrap_err().contains("is not a time"));
        assert!(Command::parse("/segue/transport/locate", &n(-1.0)).unwrap_err().contains("0 or more"));
        assert!(Command::parse("/segue/level/drums", &n(0.0)).unwrap_err().contains("not a level"));
        assert!(Command::parse("/segue/nothing", &[]).unwrap_err().contains("not a Segue address"));
    }
}
