//! One run of the live player, `segue play` (its loop runs on the main thread).
//!
//! Each turn of the loop: take the requests that arrived (OSC, MIDI, stdin and keys, each stamped
//! on arrival) and apply them through the one dispatcher (`control::dispatch`), which schedules
//! each one audio buffer after its arrival; poll the desk (the transport's seek requests, the
//! engine's events, the loader's reports); take saves of the show file; look after the output;
//! keep the journal; report everything to the sink chosen when the player opened (the console, or
//! JSON lines on stdout) and let it show the state.
//!
//! Where to add things: a new source of commands sends `control::command::Request`s on the
//! session's `Requests` (as `osc` and `midi` do); a new place that shows what happens is a
//! `control::report::Sink` (as `console` and `headless` are).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::KeyEvent;

use crate::app::audio::{AudioSide, ClockMap};
use crate::app::console::{self, Console, KeyAction};
use crate::app::headless::{Headless, Lines};
use crate::app::journal::{self, Journal};
use crate::app::midi::{self, MidiIn};
use crate::app::osc::OscServer;
use crate::app::output::{Output, OutputNews};
use crate::app::sync::lock::{Freewheel, Lock, Settings};
use crate::app::sync::{self, Follow};
use crate::app::video::Picture;
use crate::app::{device, engine_config, stdin, watch, PlayError, PlayOptions};
use crate::control::chase::{self, Chase, TransportMsg};
use crate::control::command::{self, Command, Inbox, Request, Source};
use crate::control::desk::Desk;
use crate::control::dispatch::{Dispatcher, Reply, Stage};
use crate::control::report::{Opened, Report, Sink};
use crate::control::snapshot::{self, RemoteCounts, Snapshot};
use crate::control::sync::{PictureView, SyncBoard, SyncEvent, SyncView};
use crate::control::transport::{self, Published, TransportCmd, TransportControl, TransportSource};
use crate::control::{Controller, Notice};
use crate::engine::command::{Action, Event};
use crate::engine::Engine;
use crate::show;
use crate::show::timecode::Timecode;
use crate::stream::loader::{Loader, LoaderConfig};

/// How long after the last command a saved show may load by itself.
const RELOAD_CALM: Duration = Duration::from_secs(1);

/// How long opening waits for the show's first sounds to be in memory.
const OPEN_WAIT: Duration = Duration::from_secs(5);

/// How long a loop turn waits for a request before it looks after everything else.
const TURN: Duration = Duration::from_millis(2);

/// Where the player's reports go, chosen once: the console (which also reads keys) or JSON lines.
pub trait Face: Sink {
    /// What a key press asks, over the show as it is.
    fn key(&mut self, _key: KeyEvent, _state: &Snapshot) -> Option<KeyAction> {
        None
    }
}

impl Face for Console {
    fn key(&mut self, key: KeyEvent, state: &Snapshot) -> Option<KeyAction> {
        Console::key(self, key, state)
    }
}

impl Face for Headless {}

/// What the player knows and does itself, for the dispatcher.
struct PlayerStage {
    /// The player's own transport, when the show follows it.
    transport: Option<TransportControl>,
    /// Where the transport the show follows is.
    published: Published,
    follow: Follow,
    /// The timecode followed, if any.
    chased: Option<Chased>,
    /// MTC out (`--lead mtc:PORT`), running while this lives.
    _mtc_out: Option<sync::lead::MtcOut>,
    /// The cut in xjadeo (`--picture`), and when it was last asked what it shows.
    picture: Option<Picture>,
    picture_asked: Instant,
    /// The device's own reports of buffers it could not fill (counted by the output).
    xruns: Arc<std::sync::atomic::AtomicU64>,
    clock: Arc<ClockMap>,
    osc: Option<OscServer>,
    midi: MidiIn,
    lines: Option<Lines>,
    reloads: Reloads,
}

/// Saves of the show file, and loading them.
struct Reloads {
    path: PathBuf,
    saves: crossbeam_channel::Receiver<watch::Saved>,
    saved_tx: crossbeam_channel::Sender<watch::Saved>,
    /// A valid saved show waiting for the transport to stop (or for `r`).
    pending: Option<Box<show::ShowFile>>,
    /// Load what is pending as soon as it is there.
    now: bool,
    last_command: Instant,
    /// Whether a show with unreadable files loads (not with --strict).
    broken: show::Broken,
}

impl Stage for PlayerStage {
    fn schedule(&self, arrived: Instant) -> Option<u64> {
        Some(self.clock.frame_at(arrived) + self.clock.block())
    }

    fn now(&self, _desk: &Desk) -> u64 {
        self.clock.frame_at(Instant::now())
    }

    fn own_transport(&mut self) -> Option<&mut TransportControl> {
        self.transport.as_mut()
    }

    fn follows(&self) -> &'static str {
        self.follow.name()
    }

    fn transport(&self) -> (bool, u64) {
        self.published.load()
    }

    fn sync(&self) -> Option<SyncView> {
        self.chased.as_ref().map(|c| c.board.view(c.source))
    }

    fn device_xruns(&self) -> u64 {
        self.xruns.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn picture(&self) -> Option<PictureView> {
        self.picture.as_ref().map(|p| p.view(self.clock.rate()))
    }

    fn reload(&mut self, _desk: &mut Desk) -> Result<(), String> {
        let r = &mut self.reloads;
        if r.pending.is_none() {
            // Not seen by --watch (or no --watch): the file as it is now, checked on a thread
            // (probing every audio file takes a while); it loads when the check comes back
            // valid, or its problems are listed.
            watch::check_once(r.path.clone(), r.broken, r.saved_tx.clone());
        }
        r.now = true;
        Ok(())
    }

    fn remote(&self) -> RemoteCounts {
        let n = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        RemoteCounts {
            osc: self.osc.as_ref().map(|o| snapshot::OscCounts {
                received: n(&o.counts.received),
                malformed: n(&o.counts.malformed),
                refused: n(&o.counts.refused),
            }),
            midi: Some(snapshot::MidiCounts {
                received: n(&self.midi.counts.received),
                dropped: n(&self.midi.counts.dropped),
            }),
            reports_dropped: self.lines.as_ref().map_or(0, |l| l.dropped()),
        }
    }

    fn buffer(&self) -> Option<u64> {
        Some(self.clock.block())
    }
}

/// A running live player.
pub struct Session {
    desk: Desk,
    dispatcher: Dispatcher,
    stage: PlayerStage,
    inbox: Inbox,
    /// A way in of its own, held so the inbox never closes: with stdin at its end and no OSC or
    /// MIDI, every other sender is gone, and a closed inbox would wake the loop at once, every
    /// turn (a core spun, the audio starved).
    _requests: command::Requests,
    face: Box<dyn Face>,
    keys: crossbeam_channel::Receiver<(KeyEvent, Instant)>,
    midi_status: crossbeam_channel::Receiver<midi::MidiStatus>,
    journal: Journal,
    output: Output,
}

impl Session {
    /// Opens the show on the output, with its remotes: stopped at the start (or where asked),
    /// everything that plays there already in memory.
    pub fn open(options: PlayOptions) -> Result<Session, PlayError> {
        if !options.headless && !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            return Err(PlayError::Setup(
                "the console needs a terminal; use --headless to drive segue play from a script".into(),
            ));
        }
        // What --watch compares saves with: the file as it was before it was loaded.
        let opened = options.watch.then(|| std::fs::read(&options.show).ok()).flatten();
        // A file that cannot be read does not stop the show (unless --strict): its bed or cues
        // are marked broken, said, and refused in words when fired; everything else plays.
        let broken = if options.strict { show::Broken::Refused } else { show::Broken::Allowed };
        let file = show::load_with(&options.show, broken)?;
        if !options.headless {
            // libjack writes its complaints (a server that went away, a MIDI server not there)
            // to stderr, which would scribble over the console; the player reports them itself.
            jack::set_logger(jack::LoggerType::None);
        }
        let mut device_options = options.device.clone();
        device_options.channels = options.patch.channels_needed();
        device_options.ports = options.patch.port_names();
        let output = device::choose(&device_options).map_err(PlayError::NoOutput)?;
        let rate = output.config.sample_rate;
        let (mut engine, ends, loader_ends) = Engine::new(engine_config(rate));
        let loader = Loader::spawn(LoaderConfig::live(rate), loader_ends);
        let mut controller = Controller::new(file, rate, ends, loader);
        let journal_path = options.journal.clone().unwrap_or_else(|| journal::default_path(&options.show));
        let journal = Journal::new(journal_path.clone(), &options.show);
        let mut problems = Vec::new();
        let resumed = if options.resume {
            journal::read(&journal_path, &options.show)
                .map_err(|e| problems.push(format!("{e}; opening at the start instead")))
                .ok()
        } else {
            None
        };
        let start_secs = match (&resumed, options.start) {
            (Some(r), _) => r.position,
            (None, Some(moment)) => {
                moment.secs(&controller.show().show).map_err(|e| PlayError::Setup(format!("--start: {e}")))?
            }
            (None, None) => 0.0,
        };
        let start = controller.frames(start_secs);
        if let Some(cue) =
            resumed.as_ref().and_then(|r| r.standby.as_deref()).and_then(|s| controller.cue_index(s).ok())
        {
            let _ = controller.set_standby(cue);
        }
        let early = ready_to_start(&mut engine, &mut controller, start);
        let (to_desk, from_audio) = rtrb::RingBuffer::<TransportMsg>::new(256);
        let clock = Arc::new(ClockMap::new(rate));
        let (source, transport, published, chased) = follow(&options, &output, &controller, start)?;
        let picture = match &options.picture {
            Some(file) => {
                let zero = sync::zero_frame(zero_timecode(&options, &controller)?, rate);
                Some(Picture::open(file, zero, rate, published.clone()).map_err(PlayError::Setup)?)
            }
            None => None,
        };
        let mtc_out = match &options.lead.mtc {
            Some(port) => {
                let rate_tc = zero_timecode(&options, &controller)?.rate;
                Some(sync::lead::MtcOut::open(port, rate_tc, rate).map_err(PlayError::Setup)?)
            }
            None => None,
        };
        let cycle = if output.backend == "jack" { crate::app::audio::JackCycle::open() } else { None };
        let mut side =
            AudioSide::new(engine, Chase::new(to_desk), options.patch, source, clock.clone()).with_jack_cycle(cycle);
        if options.patch.ltc.is_some() {
            side = side.with_ltc_out(sync::ltc_out::LtcOut::new(zero_timecode(&options, &controller)?, rate));
        }
        let (requests, inbox) = command::requests();
        let osc = match options.osc {
            Some(addr) => {
                Some(OscServer::start(addr, options.osc_allow.clone(), requests.clone()).map_err(PlayError::Setup)?)
            }
            None => None,
        };
        let (midi_status_tx, midi_status) = crossbeam_channel::unbounded::<midi::MidiStatus>();
        // Listening until the player quits.
        let midi = MidiIn::start(options.midi.clone(), options.midi_map, requests.clone(), midi_status_tx);
        let buffer = match output.config.buffer_size {
            cpal::BufferSize::Fixed(n) => Some(n),
            cpal::BufferSize::Default => None,
        };
        let opened_as = Opened {
            show: controller.show().show.name.clone(),
            backend: output.backend.clone(),
            device: output.name.clone(),
            rate,
            channels: output.config.channels,
            buffer,
            osc: osc.as_ref().map(|o| o.local.to_string()),
            journal: journal.path().display().to_string(),
            log: journal.log_path().display().to_string(),
            start: start_secs,
        };
        // The first callback already plays from `start` (and, with --autoplay, plays).
        let mut output = Output::start(output, side, device_options, rate).map_err(PlayError::NoOutput)?;
        // What of the routing asked for could not be done (JACK port names, --connect).
        problems.extend(output.take_notes());
        let (face, keys, lines): (Box<dyn Face>, _, _) = if options.headless {
            let headless = Headless::start();
            let lines = headless.lines();
            if let Some(lines) = &lines {
                stdin::spawn_reader(requests.clone(), lines.clone());
            }
            (Box::new(headless), crossbeam_channel::never(), lines)
        } else {
            let rig = console::Rig {
                backend: opened_as.backend.clone(),
                device: opened_as.device.clone(),
                rate,
                osc: opened_as.osc.clone(),
                midi: !options.midi.is_empty(),
            };
            (Box::new(Console::new(rig)), console::spawn_keys(), None)
        };
        // Saves --watch saw, and checks `r` asked for, both made off this loop.
        let (saved_tx, saves) = crossbeam_channel::unbounded::<watch::Saved>();
        if options.watch {
            watch::spawn(options.show.clone(), opened, broken, saved_tx.clone());
        }
        let reloads = Reloads {
            path: options.show.clone(),
            saves,
            saved_tx,
            pending: None,
            now: false,
            last_command: Instant::now(),
            broken,
        };
        let follow = options.follow.clone();
        let stage = PlayerStage {
            transport,
            published,
            follow,
            chased,
            _mtc_out: mtc_out,
            picture,
            picture_asked: Instant::now(),
            xruns: output.xruns(),
            clock,
            osc,
            midi,
            lines,
            reloads,
        };
        let mut session = Session {
            desk: Desk::new(controller, from_audio),
            dispatcher: Dispatcher::new(options.go_guard),
            stage,
            inbox,
            _requests: requests,
            face,
            keys,
            midi_status,
            journal,
            output,
        };
        session.report(Report::Opened(&opened_as));
        for notice in early {
            session.notice(&notice);
        }
        for problem in problems {
            session.problem(&problem);
        }
        session.say_what_will_not_sound();
        Ok(session)
    }

    /// Runs the show until it is told to quit.
    pub fn run(mut self) -> Result<(), PlayError> {
        loop {
            for request in self.take_requests() {
                if !self.apply(request) {
                    self.farewell();
                    return Ok(());
                }
            }
            let moved = self.poll_desk();
            self.say_what_the_timecode_did();
            self.ask_the_picture();
            self.take_saves();
            self.reload_when_quiet();
            self.look_after_the_output();
            self.keep_the_journal(moved);
            if self.face.wants_state() {
                let state = self.dispatcher.snapshot(&self.desk, &self.stage);
                self.face.show(&state);
            }
        }
    }

    /// What arrived since the last turn (waiting a little for something), in arrival order.
    fn take_requests(&mut self) -> Vec<Request> {
        let mut batch: Vec<Request> = Vec::new();
        let mut pressed = Vec::new();
        crossbeam_channel::select! {
            recv(self.inbox.urgent) -> r => batch.extend(r.ok()),
            recv(self.inbox.normal) -> r => batch.extend(r.ok()),
            recv(self.keys) -> k => pressed.extend(k.ok()),
            default(TURN) => {}
        }
        let statuses: Vec<_> = self.midi_status.try_iter().collect();
        for status in statuses {
            match status {
                midi::MidiStatus::Connected(text) => self.report(Report::MidiConnected(&text)),
                midi::MidiStatus::Problem(text) => self.problem(&text),
            }
        }
        self.inbox.drain(&mut batch);
        pressed.extend(self.keys.try_iter());
        if !pressed.is_empty() {
            let state = self.dispatcher.snapshot(&self.desk, &self.stage);
            for (key, arrived) in pressed {
                let command = match self.face.key(key, &state) {
                    Some(KeyAction::Command(command)) => command,
                    Some(KeyAction::Quit) => Command::Quit,
                    None => continue,
                };
                batch.push(Request { command, address: "key".into(), arrived, source: Source::Key, reply: None });
            }
            batch.sort_by_key(|r| r.arrived);
        }
        self.dispatcher.refused_by_inbox(self.inbox.take_refused());
        batch
    }

    /// Carries out one request; false when it asks the player to quit.
    fn apply(&mut self, request: Request) -> bool {
        self.stage.reloads.last_command = Instant::now();
        self.report(Report::Command(&request));
        if request.command == Command::Quit {
            return false;
        }
        let reply = self.dispatcher.apply(&mut self.desk, &mut self.stage, &request);
        if let Reply::State(state) = &reply {
            self.report(Report::State(state));
        }
        self.say_the_dispatchers_problems();
        true
    }

    /// One pass of the desk; whether the show moved (a cue started, a scene entered, a seek).
    fn poll_desk(&mut self) -> bool {
        // A flood's refusals are said even in a turn with no request.
        self.dispatcher.tick(Instant::now());
        self.say_the_dispatchers_problems();
        let notices = self.desk.poll();
        self.desk.meters();
        let marks: Vec<TransportMsg> = self.desk.moves.drain(..).collect();
        for mark in marks {
            if let Some(problem) = self.journal.record_move(&self.desk.controller, mark) {
                self.problem(&problem);
            }
        }
        let mut moved = false;
        for notice in notices {
            moved |= matches!(
                notice.event,
                Some(Event::CueStarted { .. } | Event::SceneEntered { .. } | Event::Seeked { .. })
            );
            if let Some(problem) = self.journal.record(&self.desk.controller, &notice) {
                self.problem(&problem);
            }
            self.notice(&notice);
        }
        moved
    }

    /// Saves of the show file that `--watch` saw or `r` asked for.
    fn take_saves(&mut self) {
        let saves: Vec<watch::Saved> = self.stage.reloads.saves.try_iter().collect();
        for saved in saves {
            match saved {
                watch::Saved::Valid(file) => {
                    self.report(Report::ShowChanged(
                        "the show file changed: it loads when the transport is stopped and nothing plays (r: now)",
                    ));
                    self.stage.reloads.pending = Some(file);
                }
                watch::Saved::Invalid(errors) => {
                    // An earlier valid save is not what the file is now.
                    self.stage.reloads.pending = None;
                    self.stage.reloads.now = false;
                    let problems: Vec<String> = errors.problems.iter().map(|p| p.to_string()).collect();
                    self.report(Report::ShowInvalid(&problems));
                }
                watch::Saved::Unreadable(text) => self.problem(&text),
            }
        }
    }

    /// Loads a saved show by itself only into silence: the transport stopped, no cue playing,
    /// nothing at all on the output (a bed a scene command started counts), and no command for
    /// a second (one that has not sounded yet would be lost with the old show); at once when
    /// asked (`r`, `/segue/reload`).
    fn reload_when_quiet(&mut self) {
        let meters = self.desk.last_meters();
        let silent = meters.main[0] == 0.0 && meters.main[1] == 0.0;
        let r = &mut self.stage.reloads;
        let rolling = match &self.stage.transport {
            Some(own) => own.rolling(),
            None => self.stage.published.load().0,
        };
        let quiet = !rolling && !self.desk.anything_playing() && silent && r.last_command.elapsed() >= RELOAD_CALM;
        let Some(file) = r.pending.take_if(|_| r.now || quiet) else { return };
        r.now = false;
        let (_, position) = self.stage.published.load();
        // The operator's place (the standby cue) stays, where the new show has it.
        self.desk.load(*file);
        if rolling {
            // The timeline plays on in the new show from where it is: the chase follows the
            // transport into it (`Chase::follow`), and what sounds in both shows plays on.
        } else if position > 0 {
            // Play from here is exact in the new show too.
            let _ = self.desk.controller.prepare_locate(position);
        }
        let text = format!("reloaded {}", self.stage.reloads.path.display());
        let show = self.desk.controller.show().show.name.clone();
        self.report(Report::ShowReloaded { show: &show, text: &text });
        self.say_what_will_not_sound();
    }

    /// Each bed and cue whose file cannot be read, and each the show's own timeline never lets
    /// sound (as `segue check` says), as a problem.
    fn say_what_will_not_sound(&mut self) {
        for (what, why) in self.desk.controller.broken_uses() {
            self.problem(&format!("{what} will not sound: {why}; everything else plays"));
        }
        let file = self.desk.controller.show();
        let name = file.path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let findings = crate::control::check::findings(file);
        for f in findings.iter().filter(|f| f.error) {
            self.problem(&format!("{} ({name}: {})", f.text, f.path));
        }
    }

    fn look_after_the_output(&mut self) {
        for news in self.output.look(self.stage.transport.as_mut(), &self.stage.published) {
            match news {
                OutputNews::Lost { text, problem } => {
                    self.report(Report::OutputLost(&text));
                    self.problem(&problem);
                }
                OutputNews::Problem(text) => self.problem(&text),
                OutputNews::Back(text) => {
                    self.dispatcher.remember(&text);
                    self.report(Report::OutputBack(&text));
                }
            }
        }
    }

    /// Writes the journal when the show moved, or now and then.
    fn keep_the_journal(&mut self, moved: bool) {
        let (desk, stage) = (&self.desk, &self.stage);
        let state = || {
            let (playing, position) = stage.published.load();
            let c = &desk.controller;
            journal::JournalState {
                position: position as f64 / c.sample_rate() as f64,
                playing,
                scene: c.current_scene().map(|s| c.scene_id(s).to_string()),
                standby: c.standby().map(|cue| c.cue_id(cue).to_string()),
                playing_cues: desk.cues.playing().map(|(_, row)| row.id.clone()).collect(),
                ..Default::default()
            }
        };
        if let Some(problem) = self.journal.keep(state, moved) {
            self.problem(&problem);
        }
    }

    /// Before the player quits: what is still sounding goes into the performance log (where it
    /// was heard so far), so its cue sheet has the last uses too. Waits at most a fifth of a
    /// second; then the last reports go out.
    fn farewell(&mut self) {
        if self.desk.controller.send(None, Action::ReportHeard).is_ok() {
            let until = Instant::now() + Duration::from_millis(200);
            let mut reported = false;
            while Instant::now() < until && !reported {
                std::thread::sleep(Duration::from_millis(10));
                for notice in self.desk.poll() {
                    reported |= matches!(notice.event, Some(Event::Heard { .. }));
                    let _ = self.journal.record(&self.desk.controller, &notice);
                }
            }
        }
        self.face.finish();
    }

    fn report(&mut self, report: Report<'_>) {
        self.face.report(&self.desk.controller, report);
    }

    /// What the dispatcher found wrong (it keeps them among the recent ones itself).
    fn say_the_dispatchers_problems(&mut self) {
        for problem in self.dispatcher.take_problems() {
            self.report(Report::Problem(&problem));
        }
    }

    /// Asks the video monitor which frame it shows, ten times a second.
    fn ask_the_picture(&mut self) {
        let stage = &mut self.stage;
        if let Some(picture) = stage.picture.as_mut() {
            if stage.picture_asked.elapsed() >= Duration::from_millis(100) {
                stage.picture_asked = Instant::now();
                picture.ask();
            }
        }
    }

    /// What the followed timecode did (locked, jumped, dropped out, stopped the show): said, and
    /// marked in the performance log.
    fn say_what_the_timecode_did(&mut self) {
        let Some(chased) = self.stage.chased.as_mut() else { return };
        let source = chased.source;
        let events: Vec<SyncEvent> = std::iter::from_fn(|| chased.events.pop().ok()).collect();
        let rate = self.desk.controller.sample_rate();
        for event in events {
            let words = event.words(source, rate);
            if let Some(problem) = self.journal.record_sync(&self.desk.controller, &event, &words) {
                self.problem(&problem);
            }
            if event.is_problem() {
                self.dispatcher.remember(&words);
            }
            self.report(Report::Timecode { event: &event, text: &words });
        }
    }

    /// A problem in words: reported, and kept among the recent ones for the state.
    fn problem(&mut self, text: &str) {
        self.dispatcher.remember(text);
        self.report(Report::Problem(text));
    }

    fn notice(&mut self, notice: &Notice) {
        if notice.severity != crate::control::Severity::Info {
            self.dispatcher.remember(&notice.text);
        }
        self.report(Report::Notice(notice));
    }
}

/// The transport the audio thread follows, the player's control of it (when it is its own),
/// where the audio thread says it is, and the timecode input when it follows one.
type Followed = (Box<dyn TransportSource>, Option<TransportControl>, Published, Option<Chased>);

/// A timecode the show follows: its input (running while this lives), its state and its events.
pub struct Chased {
    /// The input's JACK client (LTC or MTC), held: dropping it stops the input.
    _input: Box<dyn std::any::Any>,
    source: &'static str,
    board: SyncBoard,
    events: rtrb::Consumer<SyncEvent>,
}

/// The timecode at the show's 0: `--chase-offset`, else the production's `start_timecode`.
fn zero_timecode(options: &PlayOptions, controller: &Controller) -> Result<Timecode, PlayError> {
    let production = controller.show().show.production.clone().unwrap_or_default();
    match &options.chase_offset {
        Some(text) => sync::parse_offset(text, production.frame_rate)
            .map_err(|e| PlayError::Setup(format!("--chase-offset: {e}"))),
        None => Ok(production.start()),
    }
}

/// What the show follows: the player's own transport (with its control side), or the one
/// `--chase` names.
fn follow(
    options: &PlayOptions,
    output: &device::Output,
    controller: &Controller,
    start: u64,
) -> Result<Followed, PlayError> {
    if options.picture.is_some() && !matches!(options.follow, Follow::Own | Follow::Jack) {
        return Err(PlayError::Setup(format!(
            "--picture follows JACK transport; this show follows {}, whose source shows its own picture",
            options.follow.name()
        )));
    }
    if options.follow == Follow::Own {
        let (own, mut control) = transport::own(start);
        if options.autoplay {
            let _ = control.send(TransportCmd::Play);
        }
        let published = control.publisher();
        let mut source: Box<dyn TransportSource> = Box::new(own);
        if options.lead.jack || options.picture.is_some() {
            if output.backend != "jack" {
                return Err(PlayError::Setup(format!(
                    "--lead and --picture lead JACK transport, which needs the output on JACK too (--backend jack); it is on {}",
                    output.backend
                )));
            }
            let zero = sync::zero_frame(zero_timecode(options, controller)?, controller.sample_rate());
            source = Box::new(sync::lead::JackLead::open(source, zero).map_err(PlayError::Setup)?);
        }
        return Ok((source, Some(control), published, None));
    }
    if options.lead != sync::Lead::default() {
        return Err(PlayError::Setup(format!(
            "--lead leads with the show's own transport, and this show follows {} (--chase)",
            options.follow.name()
        )));
    }
    if output.backend != "jack" {
        return Err(PlayError::Setup(format!(
            "--chase follows {} through JACK, which needs the output on JACK too (--backend jack); it is on {}",
            options.follow.name(),
            output.backend
        )));
    }
    let production = controller.show().show.production.clone().unwrap_or_default();
    let zero = zero_timecode(options, controller)?;
    let rate = controller.sample_rate();
    let published = Published::new(0);
    match &options.follow {
        Follow::Ltc(_) | Follow::Mtc(_) => {
            let fps = production.frame_rate.base();
            let freewheel = match options.freewheel {
                Freewheel::Frames(n) => Freewheel::Frames(n.min(2 * fps as u32)),
                jam => jam,
            };
            let (input, heard, origin, points) = match &options.follow {
                Follow::Ltc(port) => {
                    let (input, heard, origin) =
                        sync::ltc::LtcInput::open(port, rate / fps as u32).map_err(PlayError::Setup)?;
                    (Box::new(input) as Box<dyn std::any::Any>, heard, origin, 32)
                }
                Follow::Mtc(port) => {
                    let (input, heard, origin) = sync::mtc::MtcInput::open(port).map_err(PlayError::Setup)?;
                    (Box::new(input) as Box<dyn std::any::Any>, heard, origin, 128)
                }
                _ => unreachable!("a timecode source"),
            };
            let (events_tx, events) = rtrb::RingBuffer::new(64);
            let board = SyncBoard::default();
            let settings = Settings { sample_rate: rate, show_rate: production.frame_rate, zero, freewheel, points };
            let lock = Lock::new(settings, events_tx, board.clone());
            let source = sync::timecode::TimecodeTransport::open(heard, origin, lock, published.clone())
                .map_err(PlayError::Setup)?;
            let chased = Chased { _input: input, source: options.follow.name(), board, events };
            Ok((Box::new(source), None, published, Some(chased)))
        }
        _ => {
            let source = sync::jack::JackTransport::open(sync::zero_frame(zero, rate), published.clone())
                .map_err(PlayError::Setup)?;
            Ok((Box::new(source), None, published, None))
        }
    }
}

/// Before the stream starts (the engine still on this thread): waits until playing from `start`
/// needs no disk, so play (or `--autoplay`) starts on its frame: the show's start armed, or a seek
/// to `start` prepared with its data. Bounded: a slow disk makes the first play land late
/// instead of keeping the operator waiting.
fn ready_to_start(engine: &mut Engine, controller: &mut Controller, start: u64) -> Vec<Notice> {
    let mut notices = Vec::new();
    if start > 0 {
        let _ = controller.prepare_locate(start);
    }
    let began = Instant::now();
    while began.elapsed() < OPEN_WAIT {
        engine.poll();
        // What happened meanwhile (a missing file, say) is reported once the output is up.
        notices.extend(controller.poll());
        let ready = if start > 0 { engine.locate_ready(start) } else { chase::start_is_armed(engine) };
        if ready {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    notices
}
