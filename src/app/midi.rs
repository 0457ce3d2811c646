//! MIDI in for the live player (`--midi NAME`): JACK MIDI ports (a JACK client of its own, whose
//! process callback only copies each event, stamped with the time it arrived, into a wait-free
//! queue) and ALSA sequencer ports (midir, whose callback runs on midir's thread). The
//! `segue-midi` thread reads what came in through `control::midi` (the same reading of notes,
//! program changes and MIDI Show Control the plugin uses) and hands it to the control loop as
//! `Request`s with their arrival time, so a start lands a fixed latency after its message
//! whatever its place between audio buffers. Inputs that are not there yet are looked for again
//! every second: plugging a controller in after the show started works.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[cfg(test)]
use crate::control::command::Command;
use crate::control::command::{Request, Requests, Source};
use crate::control::midi::{self, MidiMap, StampClock};

/// The longest message the JACK callback copies (an MSC message is a few dozen bytes).
const MAX_MESSAGE: usize = 128;
/// How often a missing input is looked for.
const RETRY: Duration = Duration::from_secs(1);

/// Which MIDI system a `--midi` name is looked for in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    Jack,
    Alsa,
    /// JACK if a JACK server answers and has the port, else the ALSA sequencer.
    Either,
}

/// One `--midi` input: `jack:NAME`, `alsa:NAME` or `NAME` (either).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub system: System,
    pub name: String,
}

impl Wanted {
    pub fn parse(text: &str) -> Wanted {
        match text.split_once(':') {
            Some(("jack", name)) => Wanted { system: System::Jack, name: name.into() },
            Some(("alsa", name)) => Wanted { system: System::Alsa, name: name.into() },
            _ => Wanted { system: System::Either, name: text.into() },
        }
    }

    /// Whether a port called `port` is the one wanted: the same name, or (case aside) a part
    /// of it.
    fn matches(&self, port: &str) -> bool {
        port == self.name || port.to_lowercase().contains(&self.name.to_lowercase())
    }
}

/// What the MIDI thread tells the control loop besides commands.
#[derive(Debug, Clone, PartialEq)]
pub enum MidiStatus {
    Connected(String),
    /// In words, for the problem line.
    Problem(String),
}

/// A MIDI message copied on the JACK thread.
#[derive(Clone, Copy)]
struct Raw {
    arrived: Instant,
    len: u8,
    bytes: [u8; MAX_MESSAGE],
}

/// Counts for the status line.
#[derive(Default)]
pub struct MidiCounts {
    pub received: AtomicU64,
    /// Messages too long to copy, or that found the queue full.
    pub dropped: AtomicU64,
}

/// The running MIDI inputs.
pub struct MidiIn {
    pub counts: Arc<MidiCounts>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MidiIn {
    /// Starts listening for `wanted` (none: nothing is started).
    pub fn start(
        wanted: Vec<Wanted>,
        map: MidiMap,
        requests: Requests,
        status: crossbeam_channel::Sender<MidiStatus>,
    ) -> MidiIn {
        let counts = Arc::new(MidiCounts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = (!wanted.is_empty())
            .then(|| {
                let (c, s) = (counts.clone(), stop.clone());
                std::thread::Builder::new()
                    .name("segue-midi".into())
                    .spawn(move || run(wanted, map, &requests, &status, &c, &s))
                    .ok()
            })
            .flatten();
        MidiIn { counts, stop, thread }
    }
}

impl Drop for MidiIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The JACK side: one client with one MIDI input port every wanted JACK port is connected to.
struct JackIn {
    client: jack::AsyncClient<(), jack::contrib::ClosureProcessHandler<(), JackProcess>>,
    port: String,
    queue: rtrb::Consumer<Raw>,
}

type JackProcess = Box<dyn FnMut(&jack::Client, &jack::ProcessScope) -> jack::Control + Send>;

impl JackIn {
    fn open(counts: &Arc<MidiCounts>) -> Result<JackIn, String> {
        let (client, _) = jack::Client::new("segue-midi", jack::ClientOptions::NO_START_SERVER)
            .map_err(|e| format!("no JACK server answers ({e})"))?;
        let input = client.register_port("in", jack::MidiIn::default()).map_err(|e| e.to_string())?;
        let port = input.name().map_err(|e| e.to_string())?;
        let (mut tx, queue) = rtrb::RingBuffer::<Raw>::new(1024);
        let dropped = counts.clone();
        let process: JackProcess = Box::new(move |client, ps| {
            // JACK's time of each event: the cycle's start plus its offset at the cycle's rate,
            // turned into an `Instant` through one reading of both clocks.
            let Ok(times) = ps.cycle_times() else { return jack::Control::Continue };
            let (now_jack, now) = (client.time(), Instant::now());
            let frames = ps.n_frames().max(1) as u64;
            let period = times.next_usecs.saturating_sub(times.current_usecs);
            for event in input.iter(ps) {
                let micros = times.current_usecs + event.time as u64 * period / frames;
                let arrived = if micros >= now_jack {
                    now + Duration::from_micros(micros - now_jack)
                } else {
                    now.checked_sub(Duration::from_micros(now_jack - micros)).unwrap_or(now)
                };
                if event.bytes.len() > MAX_MESSAGE {
                    dropped.dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let mut raw = Raw { arrived, len: event.bytes.len() as u8, bytes: [0; MAX_MESSAGE] };
                raw.bytes[..event.bytes.len()].copy_from_slice(event.bytes);
                if tx.push(raw).is_err() {
                    dropped.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            jack::Control::Continue
        });
        let client = client
            .activate_async((), jack::contrib::ClosureProcessHandler::new(process))
            .map_err(|e| format!("cannot start the JACK MIDI client: {e}"))?;
        Ok(JackIn { client, port, queue })
    }

    /// JACK MIDI ports that send (what `--midi` can name).
    fn sources(&self) -> Vec<String> {
        let own = self.client.as_client().name().to_string();
        self.client
            .as_client()
            .ports(None, Some("midi"), jack::PortFlags::IS_OUTPUT)
            .into_iter()
            .filter(|p| !p.starts_with(&format!("{own}:")))
            .collect()
    }

    fn connect(&self, wanted: &Wanted) -> Option<String> {
        let source = self.sources().into_iter().find(|p| wanted.matches(p))?;
        self.client.as_client().connect_ports_by_name(&source, &self.port).ok()?;
        Some(source)
    }
}

/// How a found input is connected.
enum Link {
    /// The JACK port connected to ours.
    Jack(String),
    /// The ALSA port's name and midir's connection to it (held: dropping it disconnects).
    Alsa(String, #[allow(dead_code)] midir::MidiInputConnection<()>),
}

/// Why an ALSA port could not be had.
enum AlsaMiss {
    NoSequencer(String),
    Port(String),
}

/// How often a JACK server that is not there is asked for again.
const JACK_RETRY: Duration = Duration::from_secs(10);

/// The ALSA side: a midir connection per wanted port.
fn alsa_connect(
    wanted: &Wanted,
    map: MidiMap,
    requests: &Requests,
    counts: &Arc<MidiCounts>,
) -> Result<(String, midir::MidiInputConnection<()>), AlsaMiss> {
    let mut input = midir::MidiInput::new("segue")
        .map_err(|e| AlsaMiss::NoSequencer(format!("the ALSA sequencer is not there ({e})")))?;
    input.ignore(midir::Ignore::TimeAndActiveSense);
    let port = input
        .ports()
        .into_iter()
        .find(|p| input.port_name(p).is_ok_and(|n| wanted.matches(&n)))
        .ok_or_else(|| AlsaMiss::Port(format!("no ALSA MIDI port matches \"{}\"", wanted.name)))?;
    let name = input.port_name(&port).unwrap_or_default();
    let (requests, counts) = (requests.clone(), counts.clone());
    let mut clock = StampClock::default();
    let connection = input
        .connect(
            &port,
            "segue-in",
            move |micros, bytes, _| {
                let arrived = clock.arrived(micros, Instant::now());
                counts.received.fetch_add(1, Ordering::Relaxed);
                if let Some(request) = request(bytes, &map, arrived) {
                    let _ = requests.send(request);
                }
            },
            (),
        )
        .map_err(|e| AlsaMiss::Port(format!("cannot listen to ALSA MIDI port \"{name}\": {e}")))?;
    Ok((name, connection))
}

/// A MIDI message as a request for the control loop (what it means: `control::midi`).
fn request(bytes: &[u8], map: &MidiMap, arrived: Instant) -> Option<Request> {
    let message = midi::decode(bytes, map)?;
    let address = message.describe(map);
    Some(Request { command: message.command(), address, arrived, source: Source::Midi, reply: None })
}

fn run(
    wanted: Vec<Wanted>,
    map: MidiMap,
    requests: &Requests,
    status: &crossbeam_channel::Sender<MidiStatus>,
    counts: &Arc<MidiCounts>,
    stop: &AtomicBool,
) {
    let mut jack: Option<JackIn> = None;
    // What each found input is connected through, to see when it goes away.
    let mut connected: Vec<(Wanted, Link)> = Vec::new();
    let mut missing: Vec<Wanted> = wanted;
    let mut said: Vec<Option<String>> = vec![None; missing.len()];
    let mut last_try: Option<Instant> = None;
    let mut jack_tried: Option<Instant> = None;
    let mut jack_error = String::new();
    let mut sequencer_missing: Option<String> = None;
    while !stop.load(Ordering::Relaxed) {
        if last_try.is_none_or(|t| t.elapsed() >= RETRY) {
            last_try = Some(Instant::now());
            // An input that went away (unplugged, its server restarted) is looked for again.
            let alsa_ports: Option<Vec<String>> =
                connected.iter().any(|(_, l)| matches!(l, Link::Alsa(..))).then(|| {
                    midir::MidiInput::new("segue-check")
                        .map(|i| i.ports().iter().filter_map(|p| i.port_name(p).ok()).collect())
                        .unwrap_or_default()
                });
            let mut i = 0;
            while i < connected.len() {
                let here = match &connected[i].1 {
                    Link::Jack(port) => {
                        jack.as_ref().is_some_and(|j| j.client.as_client().port_by_name(port).is_some())
                    }
                    Link::Alsa(name, _) => alsa_ports.as_ref().is_some_and(|ports| ports.contains(name)),
                };
                if here {
                    i += 1;
                    continue;
                }
                let (w, link) = connected.remove(i);
                let what = match &link {
                    Link::Jack(port) => format!("JACK MIDI port {port}"),
                    Link::Alsa(name, _) => format!("ALSA MIDI port {name}"),
                };
                drop(link);
                let _ = status.send(MidiStatus::Problem(format!(
                    "MIDI in: {what} went away; looking for \"{}\" again every second",
                    w.name
                )));
                missing.push(w);
                said.push(None);
            }
            let mut still = Vec::new();
            let mut still_said = Vec::new();
            for (w, said) in missing.drain(..).zip(said.drain(..)) {
                let mut why = Vec::new();
                let mut found = None;
                let mut link = None;
                if w.system != System::Alsa {
                    // Without a server, asked again only every JACK_RETRY (libjack says why on
                    // stderr each time it is asked).
                    if jack.is_none() && jack_tried.is_none_or(|t: Instant| t.elapsed() >= JACK_RETRY) {
                        jack_tried = Some(Instant::now());
                        match JackIn::open(counts) {
                            Ok(j) => jack = Some(j),
                            Err(e) => jack_error = e,
                        }
                    }
                    if jack.is_none() {
                        why.push(jack_error.clone());
                    }
                    if let Some(j) = &jack {
                        match j.connect(&w) {
                            Some(port) => {
                                found = Some(format!("JACK MIDI port {port}"));
                                link = Some(Link::Jack(port));
                            }
                            None => why.push(format!("no JACK MIDI port matches \"{}\"", w.name)),
                        }
                    }
                }
                if found.is_none() && w.system != System::Jack {
                    match &sequencer_missing {
                        // A machine without the sequencer does not grow one mid-show.
                        Some(e) => why.push(e.clone()),
                        None => match alsa_connect(&w, map, requests, counts) {
                            Ok((name, connection)) => {
                                found = Some(format!("ALSA MIDI port {name}"));
                                link = Some(Link::Alsa(name, connection));
                            }
                            Err(AlsaMiss::NoSequencer(e)) => {
                                why.push(e.clone());
                                sequencer_missing = Some(e);
                            }
                            Err(AlsaMiss::Port(e)) => why.push(e),
                        },
                    }
                }
                match found {
                    Some(port) => {
                        let _ = status.send(MidiStatus::Connected(format!("MIDI in: listening to {port}")));
                        if let Some(link) = link {
                            connected.push((w, link));
                        }
                    }
                    None => {
                        let text = format!(
                            "MIDI in \"{}\" is not there: {}; looking again every second (segue devices lists MIDI inputs)",
                            w.name,
                            why.join("; ")
                        );
                        // Said once, and again only if the reason changes.
                        if said.as_ref() != Some(&text) {
                            let _ = status.send(MidiStatus::Problem(text.clone()));
                        }
                        still.push(w);
                        still_said.push(Some(text));
                    }
                }
            }
            missing = still;
            said = still_said;
        }
        if let Some(j) = &mut jack {
            while let Ok(raw) = j.queue.pop() {
                counts.received.fetch_add(1, Ordering::Relaxed);
                if let Some(request) = request(&raw.bytes[..raw.len as usize], &map, raw.arrived) {
                    if requests.send(request).is_err() {
                        return;
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(connected);
}

/// `segue devices`: the MIDI inputs `--midi` can name, JACK's and the ALSA sequencer's.
pub fn list() -> String {
    let mut out = String::from("MIDI inputs (--midi NAME, jack:NAME or alsa:NAME; a part of the name will do)\n");
    match jack::Client::new("segue-list", jack::ClientOptions::NO_START_SERVER) {
        Ok((client, _)) => {
            let ports = client.ports(None, Some("midi"), jack::PortFlags::IS_OUTPUT);
            out.push_str(&format!("  JACK: {}\n", if ports.is_empty() { "(no MIDI ports)" } else { "" }));
            for p in ports {
                out.push_str(&format!("    jack:{p}\n"));
            }
        }
        Err(_) => out.push_str("  JACK: (no server running)\n"),
    }
    match midir::MidiInput::new("segue-list") {
        Ok(input) => {
            let ports = input.ports();
            out.push_str(&format!("  ALSA: {}\n", if ports.is_empty() { "(no MIDI ports)" } else { "" }));
            for p in ports {
                out.push_str(&format!("    alsa:{}\n", input.port_name(&p).unwrap_or_default()));
            }
        }
        Err(e) => out.push_str(&format!("  ALSA: (the sequencer is not there: {e})\n")),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_pick_a_system_and_match_a_part_of_a_port_name() {
        assert_eq!(
            Wanted::parse("jack:system:midi_capture_1"),
            Wanted { system: System::Jack, name: "system:midi_capture_1".into() }
        );
        assert_eq!(Wanted::parse("alsa:Launchpad").system, System::Alsa);
        let w = Wanted::parse("launchpad");
        assert_eq!(w.system, System::Either);
        assert!(w.matches("a2j:Launchpad Mini [24] (capture): Launchpad Mini MIDI 1"));
        assert!(!w.matches("system:midi_capture_1"));
    }

    #[test]
    fn msc_and_notes_become_the_players_requests() {
        let map = MidiMap { go_note: 12, panic_note: 13, msc_device: 1 };
        let now = Instant::now();
        let r = |bytes: &[u8]| request(bytes, &map, now).map(|r| (r.command, r.address));
        assert_eq!(r(&[0x90, 12, 90]), Some((Command::Go, "midi note 12 (GO)".into())));
        assert_eq!(r(&[0x90, 60, 90]), Some((Command::Note(60), "midi note 60".into())));
        assert_eq!(r(&[0xC0, 2]), Some((Command::Program(2), "midi program 2".into())));
        let msc = |command, q| midi::msc_message(1, midi::MSC_FORMAT_SOUND, command, q);
        assert_eq!(r(&msc(0x01, Some("5"))), Some((Command::GoNumber("5".into()), "MSC GO 5".into())));
        assert_eq!(r(&msc(0x01, None)).map(|x| x.0), Some(Command::Go));
        assert_eq!(r(&msc(0x02, None)).map(|x| x.0), Some(Command::StopShow));
        assert_eq!(r(&msc(0x02, Some("5"))).map(|x| x.0), Some(Command::StopNumber("5".into())));
        assert_eq!(r(&msc(0x03, None)).map(|x| x.0), Some(Command::Play));
        assert_eq!(r(&msc(0x08, None)).map(|x| x.0), Some(Command::Panic));
    }
}
