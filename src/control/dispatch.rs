//! The one dispatcher: every operator command, from any front end, is carried out here (control
//! side: the live player's control loop, the plugin's desk thread).
//!
//! A front end hands each `Request` to `Dispatcher::apply` together with its `Stage`: what only
//! the front end knows (when a command that arrived now should land on the engine clock, the
//! transport it owns if any, how it reloads its show, the counts of its own inputs). The reply
//! is a value (`Reply`): the dispatcher sends it back where the request asked (`ReplyTo`), and
//! the front end shows it its own way. What went wrong is kept as problems in words for the
//! front end to report (`take_problems`), so no two front ends word or count it differently.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::control::command::{Command, Overflow, Request, Source};
use crate::control::desk::Desk;
use crate::control::snapshot::{RemoteCounts, Snapshot};
use crate::control::transport::{TransportCmd, TransportControl};
use crate::control::ControlError;
use crate::engine::command::{Action, Level};

/// The fade of "every cue fades out" (OSC `/segue/stop`, MSC STOP).
pub const STOP_ALL_FADE_MS: f32 = 1000.0;

/// How many recent problems the state keeps (newest last).
pub const RECENT_PROBLEMS: usize = 12;

/// What a command got: done, refused with the reason in words, or the state asked for.
#[derive(Debug, Clone)]
pub enum Reply {
    Ok,
    Error(String),
    State(Box<Snapshot>),
}

impl Reply {
    /// The reply as one line of text: `ok`, `error: ...`, or the state as JSON (what OSC and
    /// the headless log send).
    pub fn text(&self) -> String {
        match self {
            Reply::Ok => "ok".into(),
            Reply::Error(e) => format!("error: {e}"),
            Reply::State(s) => s.json().to_string(),
        }
    }
}

/// What the front end carrying out a command knows and does itself.
pub trait Stage {
    /// The engine frame a command that arrived at `arrived` lands on (`None`: as soon as the
    /// engine takes it). The live player stamps one audio buffer after arrival.
    fn schedule(&self, arrived: Instant) -> Option<u64>;
    /// The engine frame playing now (time played and left are counted from it).
    fn now(&self, desk: &Desk) -> u64;
    /// The front end's own transport; `None` where another's drives the show (a DAW's, JACK
    /// transport): play, stop and locate are then refused in words.
    fn own_transport(&mut self) -> Option<&mut TransportControl>;
    /// What drives the show, in words ("its own transport", "the host's transport", "JACK
    /// transport").
    fn follows(&self) -> &'static str {
        "the host's transport"
    }
    /// (playing, timeline frame) of the transport the show follows.
    fn transport(&self) -> (bool, u64);
    /// Loads the show file again, or says why it cannot.
    fn reload(&mut self, desk: &mut Desk) -> Result<(), String>;
    /// What the front end's own inputs took and passed over (OSC, MIDI).
    fn remote(&self) -> RemoteCounts {
        RemoteCounts::default()
    }
    /// Frames per audio buffer, if the front end knows it.
    fn buffer(&self) -> Option<u64> {
        None
    }
    /// The timecode the show follows, if it follows one (LTC, MTC).
    fn sync(&self) -> Option<crate::control::sync::SyncView> {
        None
    }
    /// Buffers the audio device itself reported it could not fill in time (xruns).
    fn device_xruns(&self) -> u64 {
        0
    }
    /// The cut shown in rehearsal (`--picture`), if any.
    fn picture(&self) -> Option<crate::control::sync::PictureView> {
        None
    }
}

/// Counts the dispatcher keeps, for the state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Taken {
    pub ignored_gos: u64,
    pub osc_commands: u64,
    pub midi_commands: u64,
    pub other_commands: u64,
}

/// The operator's side of the show: the GO guard, the levels set, what was counted and refused.
pub struct Dispatcher {
    go_guard: Duration,
    last_go: Option<Instant>,
    /// Master, bed and cue levels as last set (dB).
    levels: [f32; 3],
    taken: Taken,
    overflow: Overflow,
    /// Problems not yet reported by the front end.
    outbox: Vec<String>,
    /// The last few problems, for the state.
    recent: VecDeque<String>,
}

impl Dispatcher {
    /// `go_guard`: a second GO sooner than this after the first is ignored and counted.
    pub fn new(go_guard: Duration) -> Dispatcher {
        Dispatcher {
            go_guard,
            last_go: None,
            levels: [0.0; 3],
            taken: Taken::default(),
            overflow: Overflow::default(),
            outbox: Vec::new(),
            recent: VecDeque::new(),
        }
    }

    /// Carries out `request` and sends its reply where it asked; returns the reply.
    pub fn apply(&mut self, desk: &mut Desk, stage: &mut dyn Stage, request: &Request) -> Reply {
        match request.source {
            Source::Osc | Source::OscTcp => self.taken.osc_commands += 1,
            Source::Midi => self.taken.midi_commands += 1,
            Source::Key | Source::Stdin | Source::Editor => self.taken.other_commands += 1,
        }
        let refused_before = desk.controller.refused_commands();
        let result = self.carry_out(desk, stage, request);
        let reply = match result {
            Ok(None) => Reply::Ok,
            Ok(Some(state)) => Reply::State(state),
            Err(e) => {
                let refused = desk.controller.refused_commands() - refused_before;
                if refused > 0 {
                    // A full engine queue is counted, and said once a second (`tick`).
                    self.overflow.count(0, refused);
                } else {
                    self.problem(e.clone());
                }
                Reply::Error(e)
            }
        };
        if let Some(to) = &request.reply {
            to.send(&request.address, &reply);
        }
        reply
    }

    fn carry_out(
        &mut self,
        desk: &mut Desk,
        stage: &mut dyn Stage,
        request: &Request,
    ) -> Result<Option<Box<Snapshot>>, String> {
        let at = stage.schedule(request.arrived);
        let e = |r: Result<(), ControlError>| r.map_err(|e| e.to_string());
        let controller = &mut desk.controller;
        match &request.command {
            Command::Go => {
                if self.last_go.is_some_and(|t| request.arrived.duration_since(t) < self.go_guard) {
                    self.taken.ignored_gos += 1;
                    return Err(format!(
                        "GO ignored: within {} ms of the last ({} so far)",
                        self.go_guard.as_millis(),
                        self.taken.ignored_gos
                    ));
                }
                self.last_go = Some(request.arrived);
                let (_, position) = stage.transport();
                let has_timeline = !controller.timeline().entries().is_empty();
                match stage.own_transport() {
                    // Stopped at the top of a show with a timeline: GO plays it.
                    Some(transport) if !transport.rolling() && position == 0 && has_timeline => {
                        transport.send(TransportCmd::Play)
                    }
                    _ => e(controller.go(at)),
                }
            }
            Command::Reload => stage.reload(desk),
            Command::State => Ok(()),
            Command::Quit => Ok(()),
            Command::StopAll => e(controller.send(at, Action::StopAll { fade_ms: STOP_ALL_FADE_MS })),
            Command::Panic => e(controller.panic(at)),
            Command::StartCue(id) => e(controller.start_cue(id, at)),
            Command::StopCue(id) => e(controller.stop_cue(id, None, at)),
            Command::Standby(id) => {
                let cue = controller.cue_index(id).map_err(|e| e.to_string())?;
                if !controller.is_manual(cue) {
                    return Err(format!("cue \"{id}\" is not fired by GO, so it cannot stand by"));
                }
                e(controller.set_standby(cue))
            }
            Command::Scene(id) => e(controller.enter_scene(id, at)),
            Command::Level(level, db) => {
                e(controller.set_level(*level, *db, at))?;
                self.levels[level_index(*level)] = *db;
                Ok(())
            }
            Command::Play => {
                let transport = own(stage)?;
                if transport.rolling() {
                    return Err("the transport is already playing".into());
                }
                transport.send(TransportCmd::Play)
            }
            Command::StopTransport => own(stage)?.send(TransportCmd::Stop),
            Command::Locate(moment) => {
                let frame = controller.frames(moment.secs(&controller.show().show)?);
                own(stage)?.send(TransportCmd::Locate(frame))
            }
            Command::Note(note) => e(controller.send(at, Action::Note { note: *note })),
            Command::Program(program) => {
                let scenes = controller.show().show.scenes.len();
                let Some(scene) = controller.show().show.scenes.get(*program as usize).map(|s| s.id.clone()) else {
                    return Err(format!(
                        "program change {program}: the show has {scenes} scenes (programs 0 to {})",
                        scenes.saturating_sub(1)
                    ));
                };
                e(controller.enter_scene(&scene, at))
            }
            Command::GoNumber(number) => {
                let cue = controller.cue_by_number(number).map_err(|e| e.to_string())?;
                if controller.is_manual(cue) {
                    // As GO on it: it fires and standby moves on past it.
                    e(controller.set_standby(cue))?;
                    e(controller.go(at))
                } else {
                    let id = controller.cue_id(cue).to_string();
                    e(controller.start_cue(&id, at))
                }
            }
            Command::StopNumber(number) => {
                let cue = controller.cue_by_number(number).map_err(|e| e.to_string())?;
                let id = controller.cue_id(cue).to_string();
                e(controller.stop_cue(&id, None, at))
            }
            Command::StopShow => {
                e(controller.send(at, Action::StopAll { fade_ms: STOP_ALL_FADE_MS }))?;
                match stage.own_transport() {
                    Some(transport) if transport.rolling() => transport.send(TransportCmd::Stop),
                    _ => Ok(()),
                }
            }
        }?;
        if request.command == Command::State {
            return Ok(Some(Box::new(self.snapshot(desk, stage))));
        }
        Ok(None)
    }

    /// The state as every front end shows it, now.
    pub fn snapshot(&self, desk: &Desk, stage: &dyn Stage) -> Snapshot {
        Snapshot::take(desk, stage, self)
    }

    /// Commands refused by the front end's inbox for a full queue (counted, said once a second).
    pub fn refused_by_inbox(&mut self, count: u64) {
        self.overflow.count(count, 0);
    }

    /// Once per loop turn: a flood's refusals, said at most once a second.
    pub fn tick(&mut self, now: Instant) {
        if let Some(text) = self.overflow.report(now) {
            self.problem(text);
        }
    }

    /// A problem for the front end to report, kept among the recent ones for the state.
    pub fn problem(&mut self, text: String) {
        self.remember(&text);
        self.outbox.push(text);
    }

    /// A problem the front end reported itself (an output gone, a journal that cannot be
    /// written): kept among the recent ones for the state.
    pub fn remember(&mut self, text: &str) {
        if self.recent.len() == RECENT_PROBLEMS {
            self.recent.pop_front();
        }
        self.recent.push_back(text.to_string());
    }

    /// Problems since the last call, oldest first.
    pub fn take_problems(&mut self) -> Vec<String> {
        std::mem::take(&mut self.outbox)
    }

    pub fn levels(&self) -> [f32; 3] {
        self.levels
    }

    pub fn taken(&self) -> Taken {
        self.taken
    }

    /// Commands refused in floods since the start: by the inbox, by the engine's queue.
    pub fn refused_totals(&self) -> (u64, u64) {
        (self.overflow.inbox_total, self.overflow.engine_total)
    }

    pub fn recent_problems(&self) -> impl Iterator<Item = &String> {
        self.recent.iter()
    }
}

/// The stage's own transport, or why play, stop and locate are not Segue's to do.
fn own(stage: &mut dyn Stage) -> Result<&mut TransportControl, String> {
    let follows = stage.follows();
    stage.own_transport().ok_or_else(|| format!("{follows} drives the show here: play, stop and locate it there"))
}

/// Master, bed, cues: 0, 1, 2.
pub fn level_index(level: Level) -> usize {
    match level {
        Level::Master => 0,
        Level::Bed => 1,
        Level::Cues => 2,
    }
}
