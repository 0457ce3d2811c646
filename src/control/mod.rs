//! The one API every front end uses (control side: the app's main thread, the plugin's GUI
//! thread, the renderer).
//!
//! `Controller` owns the show. It turns operator actions into engine `Command`s (through a
//! wait-free queue), turns engine `Event`s and loader reports into `Notice`s with words, and
//! decides which clips the loader keeps armed: the current and next scene, follow targets,
//! note-triggered cues, and anything asked for explicitly.

pub mod chase;
pub mod check;
pub mod command;
pub mod compile;
pub mod cuelist;
pub mod desk;
pub mod dispatch;
pub mod midi;
pub mod placing;
pub mod report;
pub mod snapshot;
pub mod sync;
pub mod timeline;
pub mod times;
pub mod transport;

use std::collections::BTreeSet;
use std::fmt;

use crate::engine::command::{Action, Command, Event, Level, Locate, Problem, URGENT_ROOM};
use crate::engine::meters::MeterReading;
use crate::engine::ControlEnds;
use crate::show::ShowFile;
use crate::stream::loader::{Loader, Report, Request};
use compile::compile;
use timeline::Timeline;

/// How long an offline render or a DAW's bounce waits for the loader before it gives up on a
/// clip: the loader keeps up at hundreds of times real time, so this long means the file or the
/// disk is gone.
pub const OFFLINE_STALL: std::time::Duration = std::time::Duration::from_secs(10);

/// How much a notice matters to the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// Something that happened, in words.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub severity: Severity,
    /// Engine time in frames, when known.
    pub at: Option<u64>,
    pub event: Option<Event>,
    pub text: String,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Why a front end's request was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ControlError {
    #[error("there is no cue \"{0}\" in the show")]
    UnknownCue(String),
    #[error("there is no scene \"{0}\" in the show")]
    UnknownScene(String),
    #[error("no cue has the number \"{0}\" (a cue's \"number\", or its id)")]
    UnknownCueNumber(String),
    #[error("the engine's command queue is full; the command was not sent")]
    QueueFull,
    #[error("cue \"{cue}\" cannot play: {why}")]
    Broken { cue: String, why: String },
    #[error("nothing stands by: GO has no cue to fire (choose one to stand by)")]
    NothingStandingBy,
}

/// Feeds asked for ahead of a seek (see `Controller::prepare_seek`).
#[derive(Debug, Clone)]
pub struct PreparedSeek {
    pub position: u64,
    generation: u32,
    first_token: u32,
    state: timeline::TimelineState,
    starts: Vec<(u32, u32, u64, Option<crate::engine::fade::Resume>)>,
}

pub struct Controller {
    file: ShowFile,
    rate: u32,
    generation: u32,
    ends: ControlEnds,
    loader: Loader,
    cue_ids: Vec<String>,
    scene_ids: Vec<String>,
    cue_scene: Vec<u32>,
    cue_followers: Vec<Vec<u32>>,
    scene_beds: Vec<Option<u32>>,
    /// For each scene, the cues that sound within its first second (`OPENING_SECS`) of being
    /// entered, and the cue its first GO fires: armed with the bed for the scenes near the
    /// current one, so a jump to a scene and a GO right after never wait for the disk.
    scene_openers: Vec<Vec<u32>>,
    note_clips: Vec<u32>,
    scene: Option<u32>,
    extra: BTreeSet<u32>,
    /// Cues sounding (or waiting for their data), as the engine's events tell: kept armed, so
    /// a start that came before its data gets it even after the scene moved on.
    sounding: BTreeSet<u32>,
    wanted: Vec<bool>,
    clip_names: Vec<String>,
    /// Clips whose files failed in the loader: they stay silent until the show is reloaded.
    failed: BTreeSet<u32>,
    /// For each clip whose file could not be read when the show loaded: why (where the show
    /// uses it, and the reader's words). Such a clip is broken: refused when fired, never asked
    /// of the loader.
    broken: Vec<Option<String>>,
    timeline: Timeline,
    /// Tokens for offset feeds (seeks); each seek takes new ones.
    next_token: u32,
    /// The scene where a prepared locate would start play: kept armed too, so play started
    /// there (from the top of the show, say) finds its clips in memory.
    locate_scene: Option<u32>,
    /// The manual cues in GO order, each scene's first of them, and the one GO fires next (as
    /// the engine moves it: its events are mirrored here), so the next GOs are always armed.
    manual: Vec<u32>,
    first_manual: Vec<Option<u32>>,
    standby: u32,
    /// Commands turned away because the engine's queue was full (`refused_commands`).
    refused: u64,
    /// Scenes asked for and not yet entered: their clips stay armed until they are.
    entering: Vec<u32>,
    /// Cues a completed cue's follow will start (after its wait): armed until they start or a
    /// seek drops the follow.
    following: BTreeSet<u32>,
    /// Where the timeline was at each engine frame, so notices name the show position.
    placing: placing::Placing,
    /// The engine frame of the last clip report, and whether the operator has been told at
    /// these levels (the engine reports twice a second while it clips; one warning is enough
    /// until a level changes or the output has been clean for `CLIP_QUIET_SECS`).
    clip_last: Option<u64>,
    /// The peak told, while told.
    clip_told: Option<f32>,
    /// Each clip of the show loaded now as the next load compares it (`ClipKey`), so the same
    /// audio plays on through a reload.
    clip_keys: Vec<ClipKey>,
}

/// What makes two clips of two loads of a show the same sound: the same use (cue id, or the
/// bed of a scene id), bus, file, in and out points, and pan.
#[derive(Debug, Clone, PartialEq)]
struct ClipKey {
    use_id: String,
    bus: crate::engine::program::Bus,
    spec: Option<crate::stream::source::ClipSpec>,
    pan: [f32; 2],
}

impl Controller {
    /// Loads `file` into the engine behind `ends`, with `loader` feeding it.
    pub fn new(file: ShowFile, rate: u32, ends: ControlEnds, loader: Loader) -> Controller {
        let mut c = Controller {
            timeline: Timeline::new(&crate::engine::program::Program::empty(), rate),
            file,
            rate,
            refused: 0,
            entering: Vec::new(),
            following: BTreeSet::new(),
            generation: 0,
            ends,
            loader,
            cue_ids: Vec::new(),
            scene_ids: Vec::new(),
            cue_scene: Vec::new(),
            cue_followers: Vec::new(),
            scene_beds: Vec::new(),
            scene_openers: Vec::new(),
            note_clips: Vec::new(),
            scene: None,
            extra: BTreeSet::new(),
            sounding: BTreeSet::new(),
            wanted: Vec::new(),
            clip_names: Vec::new(),
            failed: BTreeSet::new(),
            broken: Vec::new(),
            next_token: 0,
            locate_scene: None,
            manual: Vec::new(),
            first_manual: Vec::new(),
            standby: 0,
            placing: placing::Placing::default(),
            clip_last: None,
            clip_told: None,
            clip_keys: Vec::new(),
        };
        c.install();
        c
    }

    /// Replaces the show; the old one's voices fade out with the de-click.
    pub fn load(&mut self, file: ShowFile) {
        self.file = file;
        self.install();
    }

    fn install(&mut self) {
        self.generation += 1;
        self.clip_told = None;
        let mut compiled = compile(&self.file, self.rate, self.generation);
        let program = &compiled.program;
        self.timeline = Timeline::new(program, self.rate);
        self.cue_scene = program.cues.iter().map(|c| c.scene).collect();
        self.cue_followers = program.cues.iter().map(|c| c.followers.iter().map(|f| f.0).collect()).collect();
        self.scene_beds = program.scenes.iter().map(|s| s.bed).collect();
        let opening = (OPENING_SECS * self.rate as f64) as u64;
        self.scene_openers = program
            .scenes
            .iter()
            .map(|s| {
                let timed = s.timed.iter().filter(|&&(_, at)| at < opening).map(|&(cue, _)| cue);
                let first_go = s.first_manual.and_then(|i| program.manual.get(i as usize).copied());
                timed.chain(first_go).collect()
            })
            .collect();
        self.manual = program.manual.clone();
        self.first_manual = program.scenes.iter().map(|s| s.first_manual).collect();
        self.standby = 0;
        self.note_clips = program
            .notes
            .iter()
            .filter_map(|t| match *t {
                crate::engine::program::NoteTarget::Cue(c) => Some(program.cues[c as usize].clip),
                crate::engine::program::NoteTarget::Scene(s) => program.scenes[s as usize].bed,
                crate::engine::program::NoteTarget::Nothing => None,
            })
            .collect();
        self.clip_names = program
            .clips
            .iter()
            .map(|clip| match clip.bus {
                crate::engine::program::Bus::Cues => {
                    format!("cue \"{}\"", compiled.cue_ids[clip.owner as usize])
                }
                crate::engine::program::Bus::Bed => {
                    format!("the bed of scene \"{}\"", compiled.scene_ids[clip.owner as usize])
                }
            })
            .collect();
        self.cue_ids = compiled.cue_ids;
        self.scene_ids = compiled.scene_ids;
        self.scene = None;
        self.extra.clear();
        self.entering.clear();
        self.following.clear();
        self.sounding.clear();
        self.wanted.clear();
        self.failed.clear();
        self.locate_scene = None;
        let cues: Vec<_> = self.file.show.scenes.iter().flat_map(|s| &s.cues).collect();
        self.broken = program
            .clips
            .iter()
            .map(|clip| {
                let file = match clip.bus {
                    crate::engine::program::Bus::Cues => &cues.get(clip.owner as usize)?.file,
                    _ => &self.file.show.scenes.get(clip.owner as usize)?.bed.as_ref()?.file,
                };
                self.file.broken.get(file).cloned()
            })
            .collect();
        // What of the show before plays on in this one: the same key, with a file to play.
        let keys: Vec<ClipKey> = compiled
            .program
            .clips
            .iter()
            .zip(&compiled.clips)
            .enumerate()
            .map(|(i, (clip, spec))| ClipKey {
                use_id: self.use_id(i as u32),
                bus: clip.bus,
                spec: spec.clone(),
                pan: clip.pan,
            })
            .collect();
        let by_use: std::collections::HashMap<&str, usize> =
            keys.iter().enumerate().map(|(i, k)| (k.use_id.as_str(), i)).collect();
        compiled.program.carry = self
            .clip_keys
            .iter()
            .map(|old| {
                let &new = by_use.get(old.use_id.as_str())?;
                (old.spec.is_some() && keys[new] == *old).then_some(new as u32)
            })
            .collect();
        self.clip_keys = keys;
        self.loader.send(Request::Program { generation: self.generation, clips: compiled.clips });
        // The program goes after the loader knows it, so feeds and program meet on the same
        // generation; if the queue were full the show would not load, which is worth a panic
        // at load time rather than a silent show.
        self.push(Command::now(Action::LoadProgram(Box::new(compiled.program))))
            .expect("the engine's command queue is full while loading a show");
        self.update_wanted();
    }

    pub fn show(&self) -> &ShowFile {
        &self.file
    }

    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    pub fn loader(&self) -> &Loader {
        &self.loader
    }

    pub fn cue_index(&self, id: &str) -> Result<u32, ControlError> {
        self.cue_ids.iter().position(|c| c == id).map(|i| i as u32).ok_or_else(|| ControlError::UnknownCue(id.into()))
    }

    /// The cue a MIDI Show Control cue number names: the cue with that `number`, else the cue
    /// with that id.
    pub fn cue_by_number(&self, number: &str) -> Result<u32, ControlError> {
        let numbered = self
            .file
            .show
            .scenes
            .iter()
            .flat_map(|s| &s.cues)
            .find(|c| c.number.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(number)));
        match numbered {
            Some(cue) => self.cue_index(&cue.id),
            None => self.cue_index(number).map_err(|_| ControlError::UnknownCueNumber(number.into())),
        }
    }

    pub fn scene_index(&self, id: &str) -> Result<u32, ControlError> {
        self.scene_ids
            .iter()
            .position(|s| s == id)
            .map(|i| i as u32)
            .ok_or_else(|| ControlError::UnknownScene(id.into()))
    }

    /// Why cue `cue` cannot play, when its file could not be read (a show opened with
    /// `show::Broken::Allowed`).
    pub fn broken_cue(&self, cue: u32) -> Option<&str> {
        // Cue index == clip index.
        self.broken.get(cue as usize)?.as_deref()
    }

    /// Every bed and cue whose file could not be read: (`cue id` or `SCENE/bed`, why).
    pub fn broken_uses(&self) -> Vec<(String, String)> {
        let broken = self.broken.iter().enumerate();
        broken.filter_map(|(clip, why)| Some((self.use_id(clip as u32), why.clone()?))).collect()
    }

    fn refuse_broken(&self, cue: u32) -> Result<(), ControlError> {
        match self.broken_cue(cue) {
            Some(why) => Err(ControlError::Broken { cue: self.cue_id(cue).to_string(), why: why.to_string() }),
            None => Ok(()),
        }
    }

    pub fn cue_id(&self, cue: u32) -> &str {
        self.cue_ids.get(cue as usize).map_or("?", |s| s.as_str())
    }

    pub fn scene_id(&self, scene: u32) -> &str {
        self.scene_ids.get(scene as usize).map_or("?", |s| s.as_str())
    }

    /// What a clip is on a cue sheet: the cue's id, or `SCENE/bed` for a scene's bed (as
    /// `deliver::cuesheet` names its uses).
    pub fn use_id(&self, clip: u32) -> String {
        if let Some(cue) = self.cue_ids.get(clip as usize) {
            return cue.clone();
        }
        match self.scene_beds.iter().position(|&b| b == Some(clip)) {
            Some(scene) => format!("{}/bed", self.scene_id(scene as u32)),
            None => format!("clip {clip}"),
        }
    }

    /// "cue \"theme\"" or "the bed of scene \"chase\"".
    pub fn clip_name(&self, clip: u32) -> String {
        self.clip_names.get(clip as usize).cloned().unwrap_or_else(|| format!("clip {clip}"))
    }

    /// How many clips the loader is asked to keep armed (leaving out failed ones).
    pub fn wanted_count(&self) -> usize {
        self.wanted.iter().enumerate().filter(|(c, &w)| w && !self.failed.contains(&(*c as u32))).count()
    }

    /// Whether the loader gave up on a clip (missing or broken file).
    pub fn has_failed(&self, clip: u32) -> bool {
        self.failed.contains(&clip)
    }

    /// The manual cue GO fires next (engine cue index), as far as the engine's events tell.
    pub fn standby(&self) -> Option<u32> {
        self.manual.get(self.standby as usize).copied()
    }

    /// Makes manual cue `cue` (engine cue index) the one GO fires next; it is armed at once.
    pub fn set_standby(&mut self, cue: u32) -> Result<(), ControlError> {
        let Some(index) = self.manual.iter().position(|&c| c == cue) else {
            return Err(ControlError::UnknownCue(self.cue_id(cue).to_string()));
        };
        self.send(None, Action::Standby { manual: index as u32 })?;
        self.standby = index as u32;
        self.update_wanted();
        Ok(())
    }

    /// Whether cue `cue` is fired by GO (not by a time, a follow or a note alone).
    pub fn is_manual(&self, cue: u32) -> bool {
        self.manual.contains(&cue)
    }

    /// The scene last entered, as reported by the engine.
    pub fn current_scene(&self) -> Option<u32> {
        self.scene
    }

    /// Sends a command to the engine. A flood fills the queue with ordinary commands only: the
    /// last `URGENT_ROOM` places are kept for stops and panics.
    fn push(&mut self, command: Command) -> Result<(), ControlError> {
        self.room_for(1, command.action.is_urgent())?;
        self.ends.commands.push(command).map_err(|_| {
            self.refused += 1;
            ControlError::QueueFull
        })
    }

    /// Whether the engine's queue takes `n` commands: only urgent ones (stops, panics) may take
    /// its last `URGENT_ROOM` places, so a flood never keeps them out. A refusal is counted.
    fn room_for(&mut self, n: usize, urgent: bool) -> Result<(), ControlError> {
        let room = self.ends.commands.slots();
        if room < n || (!urgent && room < n + URGENT_ROOM) {
            self.refused += 1;
            return Err(ControlError::QueueFull);
        }
        Ok(())
    }

    /// Commands turned away so far because the engine's queue was full.
    pub fn refused_commands(&self) -> u64 {
        self.refused
    }

    /// Sends an action for frame `at` on the engine clock (`None`: as soon as possible).
    pub fn send(&mut self, at: Option<u64>, action: Action) -> Result<(), ControlError> {
        self.push(Command { at, action })
    }

    /// Sends commands that must land in the same engine block (a seek and its starts: a start
    /// takes back a voice the seek stopped only on the seek's own frame): they reach the
    /// engine's queue at once, all or none.
    fn push_together(&mut self, commands: Vec<Command>) -> Result<(), ControlError> {
        self.room_for(commands.len(), commands.iter().all(|c| c.action.is_urgent()))?;
        match self.ends.commands.write_chunk_uninit(commands.len()) {
            Ok(chunk) => {
                chunk.fill_from_iter(commands);
                Ok(())
            }
            Err(_) => {
                self.refused += 1;
                Err(ControlError::QueueFull)
            }
        }
    }

    /// Fires the cue standing by; refused in words when nothing stands by or its file is broken.
    pub fn go(&mut self, at: Option<u64>) -> Result<(), ControlError> {
        let cue = self.standby().ok_or(ControlError::NothingStandingBy)?;
        self.refuse_broken(cue)?;
        self.send(at, Action::Go)
    }

    pub fn start_cue(&mut self, id: &str, at: Option<u64>) -> Result<(), ControlError> {
        let cue = self.cue_index(id)?;
        self.refuse_broken(cue)?;
        self.want_clip(cue);
        self.send(at, Action::StartCue { cue })
    }

    pub fn stop_cue(&mut self, id: &str, fade_ms: Option<f32>, at: Option<u64>) -> Result<(), ControlError> {
        let cue = self.cue_index(id)?;
        self.send(at, Action::StopCue { cue, fade_ms })
    }

    pub fn enter_scene(&mut self, id: &str, at: Option<u64>) -> Result<(), ControlError> {
        let scene = self.scene_index(id)?;
        // The scene's bed and cues are armed from now until the engine has entered it, not from
        // when it says it did: a cue timed at its very start would otherwise start late live,
        // and an offline render would wait for a clip nobody asked for (found by the soak).
        if !self.entering.contains(&scene) {
            self.entering.push(scene);
            self.update_wanted();
        }
        self.send(at, Action::EnterScene { scene })
    }

    pub fn panic(&mut self, at: Option<u64>) -> Result<(), ControlError> {
        self.send(at, Action::Panic)
    }

    pub fn set_level(&mut self, level: Level, db: f32, at: Option<u64>) -> Result<(), ControlError> {
        self.send(at, Action::SetLevel { level, db })?;
        // New levels: clipping at them is news again.
        self.clip_told = None;
        Ok(())
    }

    /// What the transport did (`TransportMsg::Rolled` and `Halted`): from then on, engine
    /// frames fall there on the timeline (`position_at`). An offline render says it once with
    /// `place_render`.
    pub fn mark_transport(&mut self, mark: &chase::TransportMsg) {
        match *mark {
            chase::TransportMsg::Rolled { position, at } => self.placing.mark(at, position, true),
            chase::TransportMsg::Halted { position, at } => self.placing.mark(at, position, false),
            _ => {}
        }
    }

    /// An offline render: engine frame 0 is timeline frame `position`, rolling.
    pub fn place_render(&mut self, position: u64) {
        self.placing = placing::Placing::rolling(position);
    }

    /// The timeline frame engine frame `at` fell on.
    pub fn position_at(&self, at: u64) -> u64 {
        self.placing.position(at)
    }

    /// Where on the show engine frame `at` fell, for a log line or an event's fields: show
    /// seconds, and the picture timecode when the show has a production.
    pub fn show_time_at(&self, at: u64) -> (f64, Option<String>) {
        let position = self.position_at(at);
        let production = self.file.show.production.as_ref();
        (position as f64 / self.rate as f64, production.map(|p| p.timecode_at(position, self.rate).to_string()))
    }

    /// Engine frame `at` as the operator reads a moment: the show position, and its picture
    /// timecode when the show has a production (`01:20.000 (01:01:20:00)`).
    pub fn moment_at(&self, at: u64) -> String {
        let (secs, tc) = self.show_time_at(at);
        let time = times::event_time(secs);
        match tc {
            Some(tc) => format!("{time} ({tc})"),
            None => time,
        }
    }

    /// Frames from show seconds at the engine rate.
    pub fn frames(&self, secs: f64) -> u64 {
        (secs.max(0.0) * self.rate as f64).round() as u64
    }

    /// The show's timeline in frames.
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// The show's own timeline as commands from timeline frame `from` on: scene entries at
    /// their `at`, and the panic at `end` (frames on the timeline).
    pub fn timeline_commands(&self, from: u64) -> Vec<(u64, Action)> {
        let mut out: Vec<(u64, Action)> = self
            .timeline
            .entries()
            .iter()
            .filter(|(at, _)| *at >= from)
            .map(|&(at, scene)| (at, Action::EnterScene { scene }))
            .collect();
        if let Some(end) = self.timeline.end().filter(|&e| e >= from) {
            out.push((end, Action::Panic));
        }
        out.sort_by_key(|(at, _)| *at);
        out
    }

    /// Where a render of the whole timeline ends, in frames.
    pub fn timeline_end(&self) -> u64 {
        self.timeline.render_end()
    }

    /// Jumps the timeline to frame `position`, at engine frame `at`: what sounds there starts
    /// from the right offsets (after a de-click), the rest stops. Clips starting mid-way are
    /// read from the disk at their offset: live, they may sound a little late (and say so with
    /// an underrun); the offline renderer waits for them.
    pub fn seek(&mut self, position: u64, at: u64) -> Result<(), ControlError> {
        let prepared = self.prepare_seek(position);
        self.commit_seek(prepared, at)
    }

    /// The first half of a seek: asks the loader for the feeds that sound at `position`. A
    /// front end that knows where play will start (a DAW stopped at its playhead) prepares ahead,
    /// so starting costs no disk wait.
    pub fn prepare_seek(&mut self, position: u64) -> PreparedSeek {
        let state = self.timeline.state_at(position);
        let first_token = self.next_token;
        let mut starts = Vec::new();
        // The outgoing bed first, so the incoming one becomes the playing bed.
        for sound in state.outgoing_bed.iter().chain(&state.bed).chain(&state.cues) {
            let token = self.next_token;
            self.next_token += 1;
            let (clip, offset) = (sound.clip, sound.offset);
            self.loader.send(Request::Prepare { generation: self.generation, clip, offset, token });
            starts.push((clip, token, offset, sound.fade));
        }
        PreparedSeek { position, generation: self.generation, first_token, state, starts }
    }

    /// The second half: the jump itself, at engine frame `at`.
    pub fn commit_seek(&mut self, prepared: PreparedSeek, at: u64) -> Result<(), ControlError> {
        if prepared.generation != self.generation {
            return self.seek(prepared.position, at);
        }
        let PreparedSeek { state, starts, first_token, position, .. } = prepared;
        let seek = Action::Seek {
            scene: state.scene,
            elapsed: state.elapsed,
            bed_change_in: state.bed_change_in,
            first_token,
            duck: self.timeline.duck_at(position),
        };
        let starts = starts.into_iter().map(|(clip, token, offset, fade)| Command {
            at: Some(at),
            action: Action::StartClip { clip, token, offset, skip: 0, fade },
        });
        self.push_together(std::iter::once(Command { at: Some(at), action: seek }).chain(starts).collect())?;
        for &(cue, delay) in &state.follows {
            self.want_clip(cue);
            self.send(Some(at + delay), Action::StartCue { cue })?;
        }
        self.scene = state.scene;
        self.extra.clear();
        self.update_wanted();
        Ok(())
    }

    /// Prepares a seek to `position` and hands it to the engine to keep ready: when play starts
    /// there, `Engine::locate` applies it on that very frame. Older prepared feeds are dropped.
    pub fn prepare_locate(&mut self, position: u64) -> Result<(), ControlError> {
        let below = self.next_token;
        self.send(None, Action::DropOffsetFeeds { below })?;
        let prepared = self.prepare_seek(position);
        let locate = Locate {
            position,
            scene: prepared.state.scene,
            elapsed: prepared.state.elapsed,
            bed_change_in: prepared.state.bed_change_in,
            first_token: prepared.first_token,
            duck: self.timeline.duck_at(position),
            starts: prepared.starts,
            follows: prepared.state.follows.clone(),
        };
        for &(cue, _) in &locate.follows {
            self.want_clip(cue);
        }
        // Before the first scene, the show's start is what play would reach first.
        self.locate_scene = Some(locate.scene.unwrap_or(0));
        self.update_wanted();
        self.send(None, Action::PrepareLocate(Box::new(locate)))
    }

    /// The stopped playhead moved to timeline frame `position` (Home, a locate while stopped):
    /// the scene and the standby cue are the timeline's there, as play from there has them,
    /// and the engine's GO fires that standby.
    pub fn rest_at(&mut self, position: u64) -> Result<(), ControlError> {
        let scene = self.timeline.state_at(position).scene;
        // The first GO cue of that scene, or of the first scene after it that has one.
        let from = scene.unwrap_or(0);
        let first = self.manual.iter().position(|&c| self.cue_scene[c as usize] >= from).map(|i| i as u32);
        self.scene = scene;
        if let Some(manual) = first {
            self.standby = manual;
            self.send(None, Action::Standby { manual })?;
        }
        self.update_wanted();
        Ok(())
    }

    /// Answers what the audio thread asked while following a transport (`control::chase`): a
    /// seek now, or one prepared for where play will start.
    pub fn follow(&mut self, msg: chase::TransportMsg) -> Result<(), ControlError> {
        match msg {
            chase::TransportMsg::Play { position, at } => self.seek(position, at),
            chase::TransportMsg::Prepare { position } => self.prepare_locate(position),
            // What the transport did, for the record (the desk keeps them): nothing to do.
            chase::TransportMsg::Rolled { .. } | chase::TransportMsg::Halted { .. } => Ok(()),
        }
    }

    /// Engine events and loader reports since the last call, in words; keeps the armed set up
    /// to date with the scene that is playing.
    pub fn poll(&mut self) -> Vec<Notice> {
        let mut out = Vec::new();
        while let Ok(event) = self.ends.events.pop() {
            if let Event::Clipped { at, peak } = event {
                let quiet = self.clip_last.is_none_or(|last| at >= last + CLIP_QUIET_SECS * self.rate as u64);
                // A peak 1 dB over the one told is news too (the first report can come while a
                // level is still on its way up).
                let worse = self.clip_told.is_some_and(|told| peak > told * CLIP_WORSE);
                self.clip_last = Some(at);
                if self.clip_told.is_some() && !quiet && !worse {
                    continue;
                }
                self.clip_told = Some(peak);
            }
            match event {
                Event::SceneEntered { scene, .. } | Event::Seeked { scene: Some(scene), .. } => {
                    self.entering.retain(|&s| s != scene);
                    if matches!(event, Event::Seeked { .. }) {
                        self.following.clear();
                    }
                    self.scene = Some(scene);
                    if let Some(Some(first)) = self.first_manual.get(scene as usize) {
                        self.standby = *first;
                    }
                    self.extra.clear();
                    self.update_wanted();
                }
                // Before the first scene: the show's start is what comes next.
                Event::Seeked { scene: None, .. } => {
                    self.following.clear();
                    self.scene = None;
                    self.standby = 0;
                    self.update_wanted();
                }
                Event::CueStarted { cue, .. } => {
                    if self.manual.get(self.standby as usize) == Some(&cue) {
                        self.standby += 1;
                    }
                    self.sounding.insert(cue);
                    self.following.remove(&cue);
                    self.update_wanted();
                }
                Event::CueEnded { cue, completed, .. } => {
                    if completed {
                        // Its follows are scheduled in the engine now: keep them armed.
                        self.following.extend(self.cue_followers.get(cue as usize).into_iter().flatten().copied());
                    }
                    self.sounding.remove(&cue);
                    self.update_wanted();
                }
                _ => {}
            }
            if let Some(notice) = self.describe(event) {
                out.push(notice);
            }
        }
        let reports: Vec<Report> = self.loader.reports().collect();
        for report in reports {
            let Report::Failed { generation, clip, message } = report;
            if generation == self.generation {
                self.failed.insert(clip);
                let what = self.clip_names.get(clip as usize).cloned().unwrap_or_default();
                out.push(Notice {
                    severity: Severity::Error,
                    at: None,
                    event: None,
                    text: format!("{what} cannot play and stays silent: {message}"),
                });
            }
        }
        out
    }

    pub fn meters(&self) -> MeterReading {
        self.ends.meters.take()
    }

    /// Each playing cue's peak since the last call: (cue index, linear peak).
    pub fn cue_levels(&self, out: &mut Vec<(u32, f32)>) {
        self.ends.meters.take_cues(out);
    }

    fn describe(&self, event: Event) -> Option<Notice> {
        let time = |at: u64| self.moment_at(at);
        let clip_name = |clip: u32| self.clip_names.get(clip as usize).cloned().unwrap_or_else(|| "a clip".into());
        let (severity, at, text) = match event {
            Event::CueStarted { cue, at } => {
                (Severity::Info, at, format!("{} cue \"{}\" started", time(at), self.cue_id(cue)))
            }
            Event::CueEnded { cue, at, completed } => (
                Severity::Info,
                at,
                format!("{} cue \"{}\" {}", time(at), self.cue_id(cue), if completed { "ended" } else { "stopped" }),
            ),
            Event::SceneEntered { scene, at } => {
                (Severity::Info, at, format!("{} scene \"{}\" entered", time(at), self.scene_id(scene)))
            }
            Event::BedStarted { scene, at } => {
                (Severity::Info, at, format!("{} bed of scene \"{}\" fading in", time(at), self.scene_id(scene)))
            }
            Event::GoAtEnd { at } => (Severity::Warning, at, format!("{} GO: no manual cue is left", time(at))),
            // Points of a drawing: no words.
            Event::Level { at, .. } | Event::Duck { at, .. } => (Severity::Info, at, String::new()),
            Event::Heard { clip, from, to } => {
                (Severity::Info, from, format!("{} {} heard until {}", time(from), clip_name(clip), time(to)))
            }
            Event::LateStart { clip, at, frames } => (
                Severity::Warning,
                at,
                format!(
                    "{} {} started {:.1} ms late: its audio was still loading; it plays in time from there",
                    time(at),
                    clip_name(clip),
                    frames as f64 * 1000.0 / self.rate as f64
                ),
            ),
            Event::Underrun { clip, at, frames } => (
                Severity::Warning,
                at,
                format!(
                    "{} {} ran out of data for {:.1} ms (disk too slow?); it played silence there",
                    time(at),
                    clip_name(clip),
                    frames as f64 * 1000.0 / self.rate as f64
                ),
            ),
            Event::CannotStart { clip, at, why } => (
                Severity::Error,
                at,
                format!("{} {} could not start: {}", time(at), clip_name(clip), problem_text(why)),
            ),
            Event::CommandDropped { at, why } => {
                (Severity::Error, at, format!("{} a command was dropped: {}", time(at), problem_text(why)))
            }
            Event::Clipped { at, peak } => (
                Severity::Warning,
                at,
                format!(
                    "{} the output clipped: peak {:+.1} dBFS; lower the master by {:.1} dB or more (the master level, \
                     or `master_db` in the show); said again only if a level changes or it gets worse",
                    time(at),
                    20.0 * peak.log10(),
                    (20.0 * peak.log10()).max(0.1)
                ),
            ),
            Event::Panic { at, hard } => (
                Severity::Info,
                at,
                format!("{} {}", time(at), if hard { "panic: cut" } else { "panic: fading everything out" }),
            ),
            Event::Seeked { scene, at } => (
                Severity::Info,
                at,
                match scene {
                    Some(scene) => format!("{} located in scene \"{}\"", time(at), self.scene_id(scene)),
                    None => format!("{} located before the first scene", time(at)),
                },
            ),
            Event::Stalled { clip, at } => (
                Severity::Error,
                at,
                format!(
                    "{} {} got no audio from the disk for {} s during an offline bounce; it is silent in the bounce",
                    time(at),
                    clip_name(clip),
                    OFFLINE_STALL.as_secs()
                ),
            ),
            Event::ProgramLoaded { generation, at } => {
                if generation != self.generation {
                    return None;
                }
                (Severity::Info, at, format!("{} show \"{}\" loaded", time(at), self.file.show.name))
            }
        };
        Some(Notice { severity, at: Some(at), event: Some(event), text })
    }

    fn want_clip(&mut self, cue: u32) {
        if !self.wanted.get(cue as usize).copied().unwrap_or(false) {
            self.extra.insert(cue);
            self.update_wanted();
        }
    }

    /// The armed set: current and next scene (beds and cues), the beds of the `ARMED_BEDS`
    /// scenes nearest the current one (so a jump to another scene starts its bed on its frame),
    /// the openers of the `ARMED_OPENERS` nearest (so its first cues and its first GO do too),
    /// note targets, follow targets of everything armed, and explicit extras.
    fn update_wanted(&mut self) {
        let n_clips = self.cue_ids.len() + self.scene_beds.iter().flatten().count();
        let mut want = vec![false; n_clips];
        let current = self.scene.unwrap_or(0);
        let mut near: Vec<usize> = (0..self.scene_beds.len()).collect();
        near.sort_by_key(|&s| s.abs_diff(current as usize));
        for &s in near.iter().take(ARMED_BEDS) {
            if let Some(bed) = self.scene_beds[s] {
                want[bed as usize] = true;
            }
        }
        for &s in near.iter().take(ARMED_OPENERS) {
            for &cue in &self.scene_openers[s] {
                want[cue as usize] = true;
            }
        }
        for s in [current, current + 1].into_iter().chain(self.locate_scene).chain(self.entering.iter().copied()) {
            if let Some(Some(bed)) = self.scene_beds.get(s as usize) {
                want[*bed as usize] = true;
            }
            for (cue, &scene) in self.cue_scene.iter().enumerate() {
                if scene == s {
                    want[cue] = true;
                }
            }
        }
        // The next two GOs (cue index == clip index for cues).
        let standby = self.manual.iter().skip(self.standby as usize).take(2);
        for &clip in
            self.note_clips.iter().chain(self.extra.iter()).chain(&self.sounding).chain(&self.following).chain(standby)
        {
            want[clip as usize] = true;
        }
        // Follow targets, transitively (cue index == clip index for cues).
        let mut stack: Vec<u32> = (0..self.cue_ids.len() as u32).filter(|&c| want[c as usize]).collect();
        while let Some(cue) = stack.pop() {
            for &f in &self.cue_followers[cue as usize] {
                if !want[f as usize] {
                    want[f as usize] = true;
                    stack.push(f);
                }
            }
        }
        // A broken clip (said when the show opened) is not asked of the loader: it would only
        // fail again, in vaguer words.
        for (w, why) in want.iter_mut().zip(&self.broken) {
            *w &= why.is_none();
        }
        if want != self.wanted {
            self.wanted = want.clone();
            self.loader.send(Request::Want(want));
        }
    }
}

/// Scenes whose beds are kept armed, nearest the current scene first: a head and a ring each
/// (about 0.8 MB of stereo at 48 kHz), so at most about 50 MB for the beds of a long film.
const ARMED_BEDS: usize = 64;

/// After this long without clipping, the output clipping again is warned again.
const CLIP_QUIET_SECS: u64 = 60;

/// A clip peak this much over the one told (1 dB) is told again.
const CLIP_WORSE: f32 = 1.122;

/// Scenes whose openers are kept armed, nearest the current scene first: with a cue or two
/// each, at most about 25 MB more. An operator's jump lands near where the show is; a jump
/// farther still plays, and says so if its first cue started late.
const ARMED_OPENERS: usize = 16;

/// How far into a scene a timed cue counts as one of its openers: the loader's head (1 s).
const OPENING_SECS: f64 = 1.0;

fn problem_text(problem: Problem) -> &'static str {
    match problem {
        Problem::NotReady => "its audio is not loaded (missing file, or still loading)",
        Problem::NoFreeVoice => "every voice is busy",
        Problem::ScheduleFull => "too many commands are waiting for their time",
        Problem::Unknown => "it is not in the loaded show",
    }
}
