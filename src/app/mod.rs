//! The live player, `segue play` (this module runs its control loop on the main thread).
//!
//! Threads: the audio device's callback owns the `Engine` (`audio`); the loader feeds it; the
//! OSC thread (`osc`) and, headless, a stdin reader turn remote commands into `Request`s; this
//! loop owns the `Controller`, stamps each request on arrival and schedules it one audio buffer
//! ahead on the engine clock (so its timing does not depend on where buffers fall), answers the
//! transport's seek requests (`control::chase`), and reports every event: headless, as one JSON
//! object per line on stdout (`headless`).

pub mod audio;
pub mod console;
pub mod device;
pub mod headless;
pub mod journal;
pub mod midi;
pub mod osc;
pub mod remote;
pub mod watch;

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::control::chase::{Chase, TransportMsg};
use crate::control::desk::Desk;
use crate::control::Controller;
use crate::engine::command::Action;
use crate::engine::{Engine, EngineConfig};
use crate::show;
use crate::stream::loader::{Loader, LoaderConfig};
use audio::{AudioSide, ClockMap, Patch, TransportCmd, PLAYING_BIT};
use device::DeviceOptions;
use osc::OscServer;
use remote::{Remote, Request, Source};

/// What `segue play` was asked to do.
#[derive(Debug, Clone)]
pub struct PlayOptions {
    pub show: PathBuf,
    pub device: DeviceOptions,
    pub patch: Patch,
    /// Timeline seconds to open at (default 0).
    pub start: Option<f64>,
    pub autoplay: bool,
    pub headless: bool,
    /// Where OSC listens (`None`: no OSC).
    pub osc: Option<SocketAddr>,
    pub osc_allow: Vec<(std::net::IpAddr, u8)>,
    /// A second GO sooner than this after the first is ignored (and counted).
    pub go_guard: Duration,
    /// The journal (default: `journal::default_path`); the performance log goes beside it.
    pub journal: Option<PathBuf>,
    /// Open where the journal says the show was.
    pub resume: bool,
    /// MIDI inputs to listen to (`--midi`).
    pub midi: Vec<midi::Wanted>,
    /// GO and panic notes, MSC device id.
    pub midi_map: crate::control::midi::MidiMap,
    /// Reload the show file when it is saved.
    pub watch: bool,
}

/// Why `segue play` stopped with an error: a show that does not load or a remote or console
/// that cannot be set up (exit 1), or no audio output (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    #[error("{0}")]
    Show(#[from] show::ShowErrors),
    #[error("{0}")]
    NoOutput(String),
    #[error("{0}")]
    Setup(String),
}

/// Runs the live player until it is told to quit.
pub fn play(options: PlayOptions) -> Result<(), PlayError> {
    if !options.headless && !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return Err(PlayError::Setup(
            "the console needs a terminal; use --headless to drive segue play from a script".into(),
        ));
    }
    // What --watch compares saves with: the file as it was before it was loaded.
    let mut opened = options.watch.then(|| std::fs::read(&options.show).ok()).flatten();
    let file = show::load(&options.show)?;
    if !options.headless {
        // libjack writes its complaints (a server that went away, a MIDI server not there) to
        // stderr, which would scribble over the console; the player reports what matters itself.
        jack::set_logger(jack::LoggerType::None);
    }
    let mut device_options = options.device.clone();
    device_options.channels = options.patch.channels_needed();
    let output = device::choose(&device_options).map_err(PlayError::NoOutput)?;
    let rate = output.config.sample_rate;
    let (mut engine, ends, loader_ends) = Engine::new(engine_config(rate));
    let loader = Loader::spawn(LoaderConfig::live(rate), loader_ends);
    let mut controller = Controller::new(file, rate, ends, loader);
    let journal_path = options.journal.clone().unwrap_or_else(|| journal::default_path(&options.show));
    let mut journal = journal::Journal::new(journal_path.clone(), &options.show);
    let mut opening_problems = Vec::new();
    let resumed = if options.resume {
        match journal::read(&journal_path, &options.show) {
            Ok(state) => Some(state),
            Err(e) => {
                opening_problems.push(format!("{e}; opening at the start instead"));
                None
            }
        }
    } else {
        None
    };
    let start_secs = resumed.as_ref().map(|r| r.position).or(options.start).unwrap_or(0.0);
    let start = controller.frames(start_secs);
    if let Some(standby) = resumed.as_ref().and_then(|r| r.standby.as_deref()) {
        if let Ok(cue) = controller.cue_index(standby) {
            let _ = controller.set_standby(cue);
        }
    }
    let early = ready_to_start(&mut engine, &mut controller, start);
    let (to_desk, from_audio) = rtrb::RingBuffer::<TransportMsg>::new(256);
    let (mut transport_tx, transport_rx) = rtrb::RingBuffer::<TransportCmd>::new(256);
    let clock = Arc::new(ClockMap::new(rate));
    // Where the transport is before the first callback says so.
    let published = Arc::new(AtomicU64::new(start));
    let side =
        AudioSide::new(engine, Chase::new(to_desk), options.patch, transport_rx, clock.clone(), published.clone());
    let (errors_tx, errors) = crossbeam_channel::unbounded::<device::StreamProblem>();
    let (back_tx, back) = crossbeam_channel::unbounded::<AudioSide>();
    let (requests_tx, inbox) = remote::requests();
    let osc = match options.osc {
        Some(addr) => {
            Some(OscServer::start(addr, options.osc_allow.clone(), requests_tx.clone()).map_err(PlayError::Setup)?)
        }
        None => None,
    };
    if options.headless {
        spawn_stdin_reader(requests_tx.clone());
    }
    let (midi_status_tx, midi_status) = crossbeam_channel::unbounded::<midi::MidiStatus>();
    // Listening until the player quits.
    let midi_in = midi::MidiIn::start(options.midi.clone(), options.midi_map, requests_tx.clone(), midi_status_tx);
    let mut out = headless::Out::new(options.headless);
    let buffer = match output.config.buffer_size {
        cpal::BufferSize::Fixed(n) => Some(n),
        cpal::BufferSize::Default => None,
    };
    let (backend, device_name, channels) = (output.backend.clone(), output.name.clone(), output.config.channels);
    // The first callback already plays from `start` (and, with --autoplay, plays).
    let _ = transport_tx.push(TransportCmd::Locate(start));
    if options.autoplay {
        let _ = transport_tx.push(TransportCmd::Play);
    }
    let mut _running = Some(output.start(side, back_tx.clone(), errors_tx.clone()).map_err(PlayError::NoOutput)?);
    // While the output is gone: since when, where the transport was, when it was last tried.
    let mut lost: Option<Lost> = None;
    out.line(&serde_json::json!({
        "event": "ready",
        "show": controller.show().show.name,
        "backend": backend,
        "device": device_name,
        "rate": rate,
        "channels": channels,
        "buffer": buffer,
        "osc": osc.as_ref().map(|o| o.local.to_string()),
        "journal": journal.path().display().to_string(),
        "log": journal.log_path().display().to_string(),
        "start": start_secs,
    }));
    for notice in early {
        out.notice(&controller, &notice);
    }
    for problem in opening_problems {
        out.problem(&problem);
    }
    let mut desk = Desk::new(controller, from_audio);

    let mut console = (!options.headless).then(|| {
        let rig = console::Rig {
            backend: backend.clone(),
            device: device_name.clone(),
            rate,
            osc: osc.as_ref().map(|o| o.local.to_string()),
            midi: !options.midi.is_empty(),
        };
        console::Console::new(rig)
    });
    let keys = console.as_ref().map(|_| console::spawn_keys()).unwrap_or_else(crossbeam_channel::never);
    // Whether the transport was told to play: what the next command should take as the state,
    // even before the audio thread has acted on it.
    let mut rolling = options.autoplay;
    let mut last_go: Option<Instant> = None;
    let mut counts = console::Counts::default();
    // Saves --watch saw, and checks `r` asked for, both made off this loop.
    let (saved_tx, saves) = crossbeam_channel::unbounded::<watch::Saved>();
    if options.watch {
        watch::spawn(options.show.clone(), opened.take(), saved_tx.clone());
    }
    // A valid saved show waiting for the transport to stop (or for `r`).
    let mut pending: Option<Box<show::ShowFile>> = None;
    let mut reload_now = false;
    let mut last_command = Instant::now();
    let mut overflow = remote::Overflow::default();
    loop {
        // Remote commands and keys, stamped on arrival, scheduled one buffer after it.
        let mut batch: Vec<Request> = Vec::new();
        let mut pressed = Vec::new();
        crossbeam_channel::select! {
            recv(inbox.urgent) -> r => batch.extend(r.ok()),
            recv(inbox.normal) -> r => batch.extend(r.ok()),
            recv(keys) -> k => pressed.extend(k.ok()),
            default(Duration::from_millis(2)) => {}
        }
        for status in midi_status.try_iter() {
            match status {
                midi::MidiStatus::Connected(text) => {
                    out.line(&serde_json::json!({ "event": "midi", "text": text }));
                    if let Some(c) = console.as_mut() {
                        c.problem(&text);
                    }
                }
                midi::MidiStatus::Problem(text) => match console.as_mut() {
                    Some(c) => c.problem(&text),
                    None => out.problem(&text),
                },
            }
        }
        inbox.drain(&mut batch);
        pressed.extend(keys.try_iter());
        let playing = rolling;
        for (key, arrived) in pressed {
            let Some(console) = console.as_mut() else { break };
            match console.key(key, &desk.controller, &desk.cues, playing) {
                Some(console::KeyAction::Remote(remote)) => {
                    batch.push(Request { remote, address: "key".into(), arrived, source: Source::Key })
                }
                Some(console::KeyAction::Standby(cue)) => {
                    if let Err(e) = desk.controller.set_standby(cue) {
                        console.problem(&e.to_string());
                    }
                }
                Some(console::KeyAction::Quit) => {
                    farewell(&mut desk, &mut journal);
                    return Ok(());
                }
                None => {}
            }
        }
        for request in batch {
            last_command = Instant::now();
            out.command(&request);
            if request.remote == Remote::Quit {
                farewell(&mut desk, &mut journal);
                return Ok(());
            }
            match request.source {
                Source::Osc(_) => counts.osc_commands += 1,
                Source::Midi => counts.midi_commands += 1,
                Source::Key | Source::Stdin => {}
            }
            let (_, position) = transport_state(&published);
            let playing = rolling;
            let at = clock.frame_at(request.arrived) + clock.block();
            let refused_before = desk.controller.refused_commands();
            let result = match &request.remote {
                Remote::Go => {
                    if last_go.is_some_and(|t| request.arrived.duration_since(t) < options.go_guard) {
                        counts.ignored_gos += 1;
                        Err(format!(
                            "GO ignored: within {} ms of the last ({} so far)",
                            options.go_guard.as_millis(),
                            counts.ignored_gos
                        ))
                    } else {
                        last_go = Some(request.arrived);
                        // Stopped at the top of a show with a timeline: GO plays it.
                        if !playing && position == 0 && !desk.controller.timeline().entries().is_empty() {
                            rolling = true;
                            push(&mut transport_tx, TransportCmd::Play)
                        } else {
                            desk.controller.go(Some(at)).map_err(|e| e.to_string())
                        }
                    }
                }
                Remote::Reload => {
                    if pending.is_none() {
                        // Not seen by --watch (or no --watch): the file as it is now, checked
                        // on a thread (probing every audio file takes a while); it loads when
                        // the check comes back valid, or its problems are listed.
                        watch::check_once(options.show.clone(), saved_tx.clone());
                    }
                    reload_now = true;
                    Ok(())
                }
                remote => apply(&mut desk.controller, &mut transport_tx, remote, at, &mut rolling),
            };
            if let (Some(osc), Source::Osc(from)) = (&osc, &request.source) {
                let reply = match (&request.remote, &result) {
                    (Remote::State, _) => {
                        let mut state =
                            state_json(&desk.controller, &published, &desk.cues, clock.frame_at(Instant::now()));
                        state["remote"] = remote_counts(Some(osc), &midi_in, &overflow);
                        state.to_string()
                    }
                    (_, Ok(())) => "ok".to_string(),
                    (_, Err(e)) => format!("error: {e}"),
                };
                let _ = remote::reply(&osc.socket, from, &request.address, &reply);
            }
            if request.remote == Remote::State {
                let mut state = state_json(&desk.controller, &published, &desk.cues, clock.frame_at(Instant::now()));
                state["remote"] = remote_counts(osc.as_ref(), &midi_in, &overflow);
                out.line(&state);
            }
            let refused = desk.controller.refused_commands() - refused_before;
            match result {
                // A full engine queue is counted, and said once a second below.
                Err(_) if refused > 0 => overflow.count(0, refused),
                Err(e) => match console.as_mut() {
                    Some(c) => c.problem(&e),
                    None => out.problem(&e),
                },
                Ok(()) => {}
            }
        }
        overflow.count(inbox.take_refused(), 0);
        if let Some(text) = overflow.report(Instant::now()) {
            match console.as_mut() {
                Some(c) => c.problem(&text),
                None => out.problem(&text),
            }
        }
        let mut moved = false;
        let notices = desk.poll();
        for mark in desk.moves.drain(..) {
            if let Some(problem) = journal.record_move(&desk.controller, mark) {
                match console.as_mut() {
                    Some(c) => c.problem(&problem),
                    None => out.problem(&problem),
                }
            }
        }
        for notice in notices {
            use crate::engine::command::Event;
            match notice.event {
                Some(Event::Underrun { .. } | Event::LateStart { .. }) => counts.underruns += 1,
                Some(Event::CueStarted { .. } | Event::SceneEntered { .. } | Event::Seeked { .. }) => moved = true,
                _ => {}
            }
            if let Some(problem) = journal.record(&desk.controller, &notice) {
                match console.as_mut() {
                    Some(c) => c.problem(&problem),
                    None => out.problem(&problem),
                }
            }
            match console.as_mut() {
                Some(c) => c.notice(&notice),
                None => out.notice(&desk.controller, &notice),
            }
        }
        for saved in saves.try_iter() {
            match saved {
                watch::Saved::Valid(file) => {
                    let text =
                        "the show file changed: it loads when the transport is stopped and nothing plays (r: now)";
                    out.line(&serde_json::json!({ "event": "show_changed", "text": text }));
                    if let Some(c) = console.as_mut() {
                        c.problem(text);
                    }
                    pending = Some(file);
                }
                watch::Saved::Invalid(errors) => {
                    // An earlier valid save is not what the file is now.
                    pending = None;
                    reload_now = false;
                    let problems = show_problems(&errors);
                    out.line(&serde_json::json!({ "event": "show_invalid", "problems": problems }));
                    if let Some(c) = console.as_mut() {
                        c.show_problems(problems);
                    }
                }
                watch::Saved::Unreadable(text) => match console.as_mut() {
                    Some(c) => c.problem(&text),
                    None => out.problem(&text),
                },
            }
        }
        // Loaded by itself only into silence: the transport stopped, no cue playing, nothing at
        // all on the output (a bed a scene command started counts), and no command for a second
        // (one that has not sounded yet would be lost with the old show).
        let silent = {
            let m = desk.meters();
            m.main[0] == 0.0 && m.main[1] == 0.0
        };
        let quiet = !rolling && !desk.anything_playing() && silent && last_command.elapsed() >= RELOAD_CALM;
        if let Some(file) = pending.take_if(|_| reload_now || quiet) {
            reload_now = false;
            let (_, position) = transport_state(&published);
            // The operator's place: the standby cue, by id, if the new show still has it.
            let standby = desk.controller.standby().map(|c| desk.controller.cue_id(c).to_string());
            desk.load(*file);
            if let Some(cue) = standby.and_then(|id| desk.controller.cue_index(&id).ok()) {
                if desk.controller.is_manual(cue) {
                    let _ = desk.controller.set_standby(cue);
                }
            }
            if rolling {
                // The timeline plays on in the new show from where it is (the transport's jump
                // path: it lands as soon as the loader has the data).
                let _ = push(&mut transport_tx, TransportCmd::Locate(position + clock.block()));
            } else if position > 0 {
                // Play from here is exact in the new show too.
                let _ = desk.controller.prepare_locate(position);
            }
            let text = format!("reloaded {}", options.show.display());
            out.line(
                &serde_json::json!({ "event": "show_reloaded", "show": desk.controller.show().show.name, "text": text }),
            );
            if let Some(c) = console.as_mut() {
                c.show_problems(Vec::new());
                c.problem(&text);
            }
        }
        for e in errors.try_iter() {
            if e.gone && lost.is_none() {
                // The stream is dead: drop it (its callback state comes back) and retry.
                _running = None;
                let (_, position) = transport_state(&published);
                lost = Some(Lost { since: Instant::now(), position, tried: Instant::now(), said: None });
                out.line(&serde_json::json!({ "event": "output_lost", "text": e.text }));
            }
            let text = if e.gone {
                format!("the audio output went away ({}); trying again every second, the show's time goes on", e.text)
            } else {
                format!("the audio output reported: {}", e.text)
            };
            match console.as_mut() {
                Some(c) => c.problem(&text),
                None => out.problem(&text),
            }
        }
        if let Some(gone) = lost.as_mut().filter(|l| l.tried.elapsed() >= RETRY) {
            gone.tried = Instant::now();
            if let Ok(side) = back.try_recv() {
                match reopen(side, &device_options, rate, &back_tx, &errors_tx, &mut transport_tx, rolling, gone) {
                    Ok((stream, text)) => {
                        _running = Some(stream);
                        out.line(&serde_json::json!({ "event": "output_back", "text": text }));
                        if let Some(c) = console.as_mut() {
                            c.problem(&text);
                        }
                        lost = None;
                    }
                    // A server back at another rate or buffer size, a device not there yet:
                    // said once per reason, so the operator knows what to change.
                    Err(why) if gone.said.as_ref() != Some(&why) => {
                        let text = format!("the audio output cannot be opened again yet: {why}; trying every second");
                        gone.said = Some(why);
                        match console.as_mut() {
                            Some(c) => c.problem(&text),
                            None => out.problem(&text),
                        }
                    }
                    Err(_) => {}
                }
            }
        }
        let state = || {
            let (playing, position) = transport_state(&published);
            journal::JournalState {
                position: position as f64 / rate as f64,
                playing,
                scene: desk.controller.current_scene().map(|s| desk.controller.scene_id(s).to_string()),
                standby: desk.controller.standby().map(|c| desk.controller.cue_id(c).to_string()),
                playing_cues: desk.cues.playing().map(|(_, c)| c.id.clone()).collect(),
                ..Default::default()
            }
        };
        if let Some(problem) = journal.keep(state, moved) {
            match console.as_mut() {
                Some(c) => c.problem(&problem),
                None => out.problem(&problem),
            }
        }
        if let Some(c) = console.as_mut() {
            let (playing, position) = transport_state(&published);
            counts.buffer = clock.block();
            if let Some(osc) = &osc {
                counts.osc_malformed = osc.counts.malformed.load(Ordering::Relaxed);
                counts.osc_refused = osc.counts.refused.load(Ordering::Relaxed);
            }
            counts.midi_dropped = midi_in.counts.dropped.load(Ordering::Relaxed);
            let meters = desk.meters();
            c.draw(&desk.controller, &desk.cues, &meters, &desk.cue_levels, playing, position, counts);
        }
    }
}

/// A show's problems, one line each (file, JSON path, what is wrong).
fn show_problems(errors: &show::ShowErrors) -> Vec<String> {
    errors.problems.iter().map(|p| p.to_string()).collect()
}

/// How long after the last command a saved show may load by itself.
const RELOAD_CALM: Duration = Duration::from_secs(1);

/// How often a lost output is tried again.
const RETRY: Duration = Duration::from_secs(1);

/// An output that went away.
struct Lost {
    since: Instant,
    /// The timeline frame it stopped at.
    position: u64,
    tried: Instant,
    /// Why the last try failed, once said (a new reason is said again).
    said: Option<String>,
}

/// Tries to start the output again with the callback state `side`; on success the transport
/// moves on by the time the output was gone (a screening does not wait) and the words say so;
/// on failure, why (the engine keeps the rate it was built for: a server back at another rate
/// is named with both rates).
/// On failure `side` is back on `back` (from here, or from the failed stream's callback as it
/// is dropped) for the next try.
#[allow(clippy::too_many_arguments)]
fn reopen(
    side: AudioSide,
    options: &DeviceOptions,
    rate: u32,
    back: &crossbeam_channel::Sender<AudioSide>,
    errors: &crossbeam_channel::Sender<device::StreamProblem>,
    transport: &mut rtrb::Producer<TransportCmd>,
    rolling: bool,
    lost: &Lost,
) -> Result<(device::Running, String), String> {
    let mut options = options.clone();
    // The engine runs at the rate it was built for.
    options.sample_rate = Some(rate);
    let output = match device::choose(&options) {
        Ok(output) => output,
        Err(e) => {
            let _ = back.send(side);
            return Err(e);
        }
    };
    let gap = lost.since.elapsed();
    let resume = if rolling { lost.position + (gap.as_secs_f64() * rate as f64) as u64 } else { lost.position };
    let _ = transport.push(TransportCmd::Locate(resume));
    let stream = output.start(side, back.clone(), errors.clone()).map_err(|e| {
        if e.contains("does not match the server rate") {
            format!("{e} (this show was opened at {rate} Hz: start the server at {rate} Hz, or open the show again)")
        } else {
            e
        }
    })?;
    let text = format!(
        "the audio output is back after {:.1} s; the show goes on at {}",
        gap.as_secs_f64(),
        console::clock_text(resume as f64 / rate as f64)
    );
    Ok((stream, text))
}

/// How long opening waits for the show's first sounds to be in memory.
const OPEN_WAIT: Duration = Duration::from_secs(5);

/// Before the stream starts (the engine still on this thread): waits until playing from `start`
/// needs no disk, so play (or `--autoplay`) starts on its frame: the show's start armed, or a seek
/// to `start` prepared with its data. Bounded: a slow disk makes the first play land late
/// instead of keeping the operator waiting.
fn ready_to_start(engine: &mut Engine, controller: &mut Controller, start: u64) -> Vec<crate::control::Notice> {
    let mut notices = Vec::new();
    if start > 0 {
        let _ = controller.prepare_locate(start);
    }
    let began = Instant::now();
    while began.elapsed() < OPEN_WAIT {
        engine.poll();
        // What happened meanwhile (a missing file, say) is reported once the output is up.
        notices.extend(controller.poll());
        let ready = if start > 0 { engine.locate_ready(start) } else { crate::control::chase::start_is_armed(engine) };
        if ready {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    notices
}

fn push(tx: &mut rtrb::Producer<TransportCmd>, cmd: TransportCmd) -> Result<(), String> {
    tx.push(cmd).map_err(|_| "the transport queue is full; try again".to_string())
}

/// Before the player quits: what is still sounding goes into the performance log (where it was
/// heard so far), so its cue sheet has the last uses too. Waits at most a fifth of a second.
fn farewell(desk: &mut Desk, journal: &mut journal::Journal) {
    if desk.controller.send(None, Action::ReportHeard).is_err() {
        return;
    }
    let until = Instant::now() + Duration::from_millis(200);
    let mut reported = false;
    while Instant::now() < until && !reported {
        std::thread::sleep(Duration::from_millis(10));
        for notice in desk.poll() {
            reported |= matches!(notice.event, Some(crate::engine::command::Event::Heard { .. }));
            let _ = journal.record(&desk.controller, &notice);
        }
    }
}

/// The live player's engine: with the trace, so the performance log records where each bed
/// and cue was heard (the cue sheet of what the audience heard: `segue cuesheet --from-log`).
pub fn engine_config(rate: u32) -> EngineConfig {
    EngineConfig { trace: true, ..EngineConfig::new(rate) }
}

/// (playing, timeline frame) as the audio thread last published it.
fn transport_state(published: &AtomicU64) -> (bool, u64) {
    let word = published.load(Ordering::Relaxed);
    (word & PLAYING_BIT != 0, word & !PLAYING_BIT)
}

/// Carries out a remote command other than GO at engine frame `at`.
fn apply(
    controller: &mut Controller,
    transport: &mut rtrb::Producer<TransportCmd>,
    remote: &Remote,
    at: u64,
    rolling: &mut bool,
) -> Result<(), String> {
    let e = |r: Result<(), crate::control::ControlError>| r.map_err(|e| e.to_string());
    match remote {
        Remote::Go | Remote::Quit | Remote::State | Remote::Reload => Ok(()),
        Remote::StopAll => e(controller.send(Some(at), Action::StopAll { fade_ms: 1000.0 })),
        Remote::Panic => e(controller.panic(Some(at))),
        Remote::StartCue(id) => e(controller.start_cue(id, Some(at))),
        Remote::StopCue(id) => e(controller.stop_cue(id, None, Some(at))),
        Remote::Scene(id) => e(controller.enter_scene(id, Some(at))),
        Remote::Level(level, db) => e(controller.set_level(*level, *db, Some(at))),
        Remote::Play => {
            if *rolling {
                return Err("the transport is already playing".into());
            }
            push(transport, TransportCmd::Play)?;
            *rolling = true;
            Ok(())
        }
        Remote::StopTransport => {
            push(transport, TransportCmd::Stop)?;
            *rolling = false;
            Ok(())
        }
        Remote::Locate(secs) => push(transport, TransportCmd::Locate(controller.frames(*secs))),
        Remote::Note(note) => e(controller.send(Some(at), Action::Note { note: *note })),
        Remote::Program(program) => {
            let scenes = controller.show().show.scenes.len();
            let Some(scene) = controller.show().show.scenes.get(*program as usize).map(|s| s.id.clone()) else {
                return Err(format!(
                    "program change {program}: the show has {scenes} scenes (programs 0 to {})",
                    scenes.saturating_sub(1)
                ));
            };
            e(controller.enter_scene(&scene, Some(at)))
        }
        Remote::GoNumber(number) => {
            let cue = controller.cue_by_number(number).map_err(|e| e.to_string())?;
            if controller.is_manual(cue) {
                // As GO on it: it fires and standby moves on past it.
                e(controller.set_standby(cue))?;
                e(controller.go(Some(at)))
            } else {
                let id = controller.cue_id(cue).to_string();
                e(controller.start_cue(&id, Some(at)))
            }
        }
        Remote::StopNumber(number) => {
            let cue = controller.cue_by_number(number).map_err(|e| e.to_string())?;
            let id = controller.cue_id(cue).to_string();
            e(controller.stop_cue(&id, None, Some(at)))
        }
        Remote::StopShow => {
            e(controller.send(Some(at), Action::StopAll { fade_ms: 1000.0 }))?;
            if *rolling {
                push(transport, TransportCmd::Stop)?;
                *rolling = false;
            }
            Ok(())
        }
    }
}

/// What the remote inputs took and passed over, for `/segue/state`.
fn remote_counts(osc: Option<&OscServer>, midi: &midi::MidiIn, overflow: &remote::Overflow) -> serde_json::Value {
    let n = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    serde_json::json!({
        "osc": osc.map(|o| serde_json::json!({
            "received": n(&o.counts.received),
            "malformed": n(&o.counts.malformed),
            "refused": n(&o.counts.refused),
        })),
        "midi": { "received": n(&midi.counts.received), "dropped": n(&midi.counts.dropped) },
        // Commands turned away in a flood: by the player's queue, and by the engine's.
        "refused": { "queue_full": overflow.inbox_total, "engine_full": overflow.engine_total },
    })
}

/// The reply to `/segue/state`: the transport, the scene, the standby cue and every playing cue
/// with its time played and left (seconds; `null` left for a loop). `now`: the engine frame.
fn state_json(
    controller: &Controller,
    published: &AtomicU64,
    rows: &crate::control::cuelist::CueList,
    now: u64,
) -> serde_json::Value {
    let (playing, position) = transport_state(published);
    let rate = controller.sample_rate() as f64;
    let cues: Vec<serde_json::Value> = rows
        .playing()
        .map(|(_, row)| {
            let elapsed = row.started.map_or(0.0, |at| now.saturating_sub(at) as f64 / rate);
            serde_json::json!({
                "cue": row.id,
                "elapsed": elapsed,
                "remaining": row.length.map(|l| (l - elapsed).max(0.0)),
            })
        })
        .collect();
    serde_json::json!({
        "event": "state",
        "playing": playing,
        "position": position as f64 / rate,
        "position_frames": position,
        "scene": controller.current_scene().map(|s| controller.scene_id(s).to_string()),
        "standby": controller.standby().map(|c| controller.cue_id(c).to_string()),
        "cues": cues,
    })
}

/// Headless: each stdin line is a command, as an OSC address without arguments' types
/// (`/segue/go`, `go`, `level/bed -6`, `transport/locate 12.5`, `quit`).
fn spawn_stdin_reader(requests: remote::Requests) {
    let _ = std::thread::Builder::new().name("segue-stdin".into()).spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            let Ok(line) = line else { return };
            let arrived = Instant::now();
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            let head = words.next().unwrap_or_default();
            let address = if head.starts_with('/') { head.to_string() } else { format!("/segue/{head}") };
            let remote = if address == "/segue/quit" {
                Ok(Remote::Quit)
            } else {
                let args = words.map(|w| rosc::OscType::String(w.to_string())).collect();
                osc::parse(&rosc::OscMessage { addr: address.clone(), args })
            };
            match remote {
                Ok(remote) => {
                    if requests.send(Request { remote, address, arrived, source: Source::Stdin }).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let line = serde_json::json!({ "event": "problem", "text": format!("stdin: {e}") });
                    let mut stdout = std::io::stdout().lock();
                    let _ = writeln!(stdout, "{line}");
                    let _ = stdout.flush();
                }
            }
        }
    });
}
