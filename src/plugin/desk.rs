//! The plugin's desk thread (its own, not nice-plug's shared background worker, where a long
//! decode would stall other plugins). It drives the shared `control::desk::Desk` (the
//! controller, chase's seek requests, the cue list, meters), carries the editor's operator
//! commands out through the one dispatcher (`control::dispatch`), and adds what is the plugin's
//! own: shows from the host's saved state, the MIDI notes setting, and the status the editor
//! shows (a `control::snapshot::Snapshot`, as every front end shows).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::control::chase::TransportMsg;
use crate::control::command::{Command, Request, Source};
use crate::control::desk::{Desk as ShowDesk, METER_PERIOD};
use crate::control::dispatch::{Dispatcher, Stage};
use crate::control::snapshot::Snapshot;
use crate::control::transport::TransportControl;
use crate::control::{Controller, Severity};
use crate::engine::ControlEnds;
use crate::plugin::params::{MidiSettings, SavedShow, SegueParams, STATE_FORMAT};
use crate::show::{self, ShowFile};
use crate::stream::loader::Loader;

/// What the editor (or the plugin on the main thread) asks of the desk: the plugin's own
/// requests, or an operator command (GO, stop a cue, panic), which goes through the same
/// dispatcher as the live player's.
#[derive(Debug, Clone)]
pub enum DeskRequest {
    LoadPath(PathBuf),
    LoadSaved(SavedShow),
    SetMidi(MidiSettings),
    Operator(Command),
}

/// What the editor shows; written by the desk, read by the editor (a short lock on two non-audio
/// threads).
#[derive(Debug, Clone, Default)]
pub struct DeskStatus {
    pub path: String,
    /// The show as every front end shows it.
    pub state: Snapshot,
    /// Recent warnings and errors, newest last.
    pub problems: VecDeque<String>,
}

impl DeskStatus {
    fn report(&mut self, text: String) {
        self.problems.push_back(text);
        while self.problems.len() > 12 {
            self.problems.pop_front();
        }
    }
}

/// What the plugin knows and does itself, for the dispatcher: commands land as soon as the
/// engine takes them, and the host's transport drives the show (the desk follows where it is
/// from chase's marks).
#[derive(Default)]
struct PluginStage {
    /// Where the host's transport was last seen: rolling from a timeline frame since an engine
    /// frame, or stopped at one.
    rolling: Option<(u64, u64)>,
    stopped_at: u64,
    now: u64,
}

impl PluginStage {
    fn follow(&mut self, mark: TransportMsg) {
        match mark {
            TransportMsg::Rolled { position, at } => self.rolling = Some((position, at)),
            TransportMsg::Halted { position, .. } => {
                self.rolling = None;
                self.stopped_at = position;
            }
            TransportMsg::Play { .. } | TransportMsg::Prepare { .. } => {}
        }
    }
}

impl Stage for PluginStage {
    fn schedule(&self, _arrived: Instant) -> Option<u64> {
        None
    }

    fn now(&self, desk: &ShowDesk) -> u64 {
        desk.last_meters().clock
    }

    fn own_transport(&mut self) -> Option<&mut TransportControl> {
        None
    }

    fn transport(&self) -> (bool, u64) {
        match self.rolling {
            Some((position, at)) => (true, position + self.now.saturating_sub(at)),
            None => (false, self.stopped_at),
        }
    }

    fn reload(&mut self, _desk: &mut ShowDesk) -> Result<(), String> {
        Err("the plugin keeps its show in the project: open the show file again to load its changes".into())
    }
}

/// Packs the GO and panic notes into one atomic the audio thread reads.
pub fn pack_notes(midi: MidiSettings) -> u32 {
    (midi.go_note as u32) << 8 | midi.panic_note as u32
}

pub fn unpack_notes(packed: u32) -> (u8, u8) {
    ((packed >> 8) as u8 & 127, packed as u8 & 127)
}

/// The running desk thread.
pub struct Desk {
    thread: Option<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

/// Everything the desk thread needs.
pub struct DeskParts {
    pub rate: u32,
    pub ends: ControlEnds,
    pub loader: Loader,
    pub requests: Receiver<DeskRequest>,
    pub transport: rtrb::Consumer<TransportMsg>,
    pub status: Arc<Mutex<DeskStatus>>,
    pub params: Arc<SegueParams>,
    pub notes: Arc<AtomicU32>,
    /// The show to start with, if the host restored one.
    pub initial: Option<SavedShow>,
    /// The show actually playing, as saved state (the host's copy may be one that was refused).
    pub loaded: Arc<Mutex<Option<SavedShow>>>,
    /// True while a show is being loaded (set by the plugin before the desk starts; an offline
    /// bounce waits for it).
    pub loading: Arc<AtomicBool>,
}

impl Desk {
    pub fn spawn(parts: DeskParts) -> Desk {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("segue-desk".into())
            .spawn(move || run(parts, &flag))
            .expect("the desk thread could not be started");
        Desk { thread: Some(thread), stop }
    }
}

impl Drop for Desk {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// An empty show, so the engine runs (silently) before one is loaded.
pub fn empty_show() -> ShowFile {
    let show = show::Show {
        format: show::FORMAT.into(),
        name: String::new(),
        production: None,
        end: None,
        master_db: 0.0,
        duck: Default::default(),
        panic_ms: 1000.0,
        scenes: Vec::new(),
    };
    ShowFile { path: PathBuf::new(), dir: PathBuf::new(), show, audio: Default::default(), broken: Default::default() }
}

/// Validates a saved show; the message says why it was refused.
pub fn open_saved(saved: &SavedShow) -> Result<ShowFile, String> {
    if saved.format != STATE_FORMAT {
        return Err(format!(
            "the saved show is in format \"{}\", which this Segue does not know (it reads \"{STATE_FORMAT}\"): \
             it comes from a newer Segue; the current show stays",
            saved.format
        ));
    }
    let origin = if saved.path.is_empty() { Path::new("saved show") } else { Path::new(&saved.path) };
    show::from_json(&saved.json, origin, Path::new(&saved.dir)).map_err(|e| e.to_string())
}

fn run(parts: DeskParts, stop: &AtomicBool) {
    let DeskParts { rate, ends, loader, requests, transport, status, params, notes, initial, loaded, loading } = parts;
    let desk = Shared { status: &status, params: &params, loaded: &loaded, loading: &loading };
    let mut show = ShowDesk::new(Controller::new(empty_show(), rate, ends, loader), transport);
    // A saved show that was refused while nothing else played: kept in the state (so a newer
    // Segue's project is not erased by saving it here) and not tried again.
    let mut refused: Option<SavedShow> = None;
    if let Some(saved) = initial {
        if !load(&mut show, &desk, Loaded::Saved(saved.clone())) {
            refused = Some(saved);
            // Refused (a newer Segue's state, a missing file) on a restart (reactivation, new
            // rate): the show that played before the restart stays.
            let previous = lock(&loaded).clone();
            if let Some(previous) = previous {
                load(&mut show, &desk, Loaded::Saved(previous));
            }
        }
    }
    publish(&show, &status);
    // The show it starts with is in the engine's queue.
    loading.store(false, Ordering::SeqCst);
    let mut operator = Dispatcher::new(Duration::ZERO);
    let mut stage = PluginStage::default();
    // When the editor's state was last taken (`None`: take it at the end of this turn).
    let mut shown: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        match requests.recv_timeout(Duration::from_millis(2)) {
            Ok(DeskRequest::Operator(command)) => {
                let request = Request::new(command, "editor", Source::Editor);
                operator.apply(&mut show, &mut stage, &request);
                for problem in operator.take_problems() {
                    lock(&status).report(problem);
                }
                shown = None;
            }
            Ok(request) => {
                handle(request, &mut show, &desk, &notes);
                shown = None;
            }
            Err(RecvTimeoutError::Timeout) => {}
            // The plugin is gone; nothing will ask again.
            Err(RecvTimeoutError::Disconnected) => {}
        }
        // A host loading a state only sets the persisted fields (nice-plug does not re-activate):
        // pick up a show or MIDI settings that changed under us.
        let changed = {
            let saved = lock(&params.show);
            saved.is_some() && *saved != *lock(&loaded) && *saved != refused
        };
        if changed {
            // The clone first: a guard in the `if let` would live through `load`, which locks
            // the show again (a deadlock that also hangs the host's next deactivate).
            let saved = lock(&params.show).clone();
            if let Some(saved) = saved {
                if !load(&mut show, &desk, Loaded::Saved(saved.clone())) {
                    refused = Some(saved);
                }
            }
            shown = None;
        }
        let midi = pack_notes(*lock(&params.midi));
        if notes.load(Ordering::Relaxed) != midi {
            notes.store(midi, Ordering::Relaxed);
        }
        let notices = show.poll();
        show.meters();
        for mark in show.moves.drain(..) {
            stage.follow(mark);
        }
        stage.now = show.last_meters().clock;
        let moved = notices.iter().any(|n| n.event.is_some());
        let mut s = lock(&status);
        for notice in notices {
            if notice.severity != Severity::Info {
                operator.remember(&notice.text);
                s.report(notice.text);
            }
        }
        // At about a screen's pace, and at once when the show moved.
        if moved || shown.is_none_or(|t| t.elapsed() >= METER_PERIOD) {
            s.state = operator.snapshot(&show, &stage);
            shown = Some(Instant::now());
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

enum Loaded {
    Path(PathBuf),
    Saved(SavedShow),
}

/// What the desk shares with the plugin and the editor.
struct Shared<'a> {
    status: &'a Mutex<DeskStatus>,
    params: &'a SegueParams,
    loaded: &'a Mutex<Option<SavedShow>>,
    loading: &'a AtomicBool,
}

fn handle(request: DeskRequest, show: &mut ShowDesk, desk: &Shared, notes: &AtomicU32) {
    match request {
        DeskRequest::LoadPath(path) => {
            load(show, desk, Loaded::Path(path));
        }
        DeskRequest::LoadSaved(saved) => {
            load(show, desk, Loaded::Saved(saved));
        }
        DeskRequest::SetMidi(midi) => {
            *lock(&desk.params.midi) = midi;
            notes.store(pack_notes(midi), Ordering::Relaxed);
        }
        // Carried out by the dispatcher in `run`.
        DeskRequest::Operator(_) => {}
    }
}

/// Loads a show from a file or from saved state; on failure the current show stays (also in the
/// state the host will save) and the problems are shown. Returns whether the show was loaded.
fn load(show: &mut ShowDesk, desk: &Shared, what: Loaded) -> bool {
    let (status, params) = (desk.status, desk.params);
    let (file, saved) = match what {
        Loaded::Path(path) => match crate::show::load(&path) {
            Ok(file) => match std::fs::read_to_string(&path) {
                Ok(json) => {
                    let saved = SavedShow {
                        format: STATE_FORMAT.into(),
                        path: path.display().to_string(),
                        dir: file.dir.display().to_string(),
                        json,
                    };
                    (file, saved)
                }
                Err(e) => {
                    lock(status).report(format!("cannot read {}: {e}", path.display()));
                    return false;
                }
            },
            Err(errors) => {
                lock(status).report(errors.to_string());
                return false;
            }
        },
        Loaded::Saved(saved) => match open_saved(&saved) {
            Ok(file) => (file, saved),
            Err(message) => {
                // The show playing stays, also in the state the host will save; with none
                // playing, the refused one stays in the state untouched.
                let current = lock(desk.loaded).clone();
                if current.is_some() {
                    *lock(&params.show) = current;
                }
                lock(status).report(message);
                return false;
            }
        },
    };
    *lock(&params.show) = Some(saved.clone());
    *lock(desk.loaded) = Some(saved);
    let was_loading = desk.loading.swap(true, Ordering::SeqCst);
    show.load(file);
    desk.loading.store(was_loading, Ordering::SeqCst);
    publish(show, status);
    true
}

/// Tells the editor which file the show came from (its state follows at the end of the desk's
/// turn).
fn publish(show: &ShowDesk, status: &Mutex<DeskStatus>) {
    lock(status).path = show.controller.show().path.display().to_string();
}
