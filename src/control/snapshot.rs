//! The state of the show as every front end shows it (control side): made in one place,
//! `Snapshot::take`, and shown by the console, the plugin's editor, `/segue/state` and any
//! later page. A new place that shows state reads a `Snapshot`; it never asks the controller,
//! the cue list and the meters itself, so no two places count time played or left differently.

use serde_json::{json, Value};

use crate::control::desk::Desk;
use crate::control::dispatch::{Dispatcher, Stage, Taken};
use crate::control::sync::{PictureView, SyncView};
use crate::control::times;
use crate::engine::meters::MeterReading;
use crate::show::timecode::Timecode;

/// What a cue is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CueState {
    Ready,
    Playing,
    Done,
    /// Its file could not be read: it does not sound, and firing it is refused in words.
    Broken,
}

/// A cue as the operator sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct CueView {
    /// Engine cue index.
    pub index: u32,
    pub id: String,
    pub name: String,
    /// Its cue number ("12.5", "1M1"), shown beside the title.
    pub number: Option<String>,
    pub note: Option<u8>,
    /// Length in seconds (`None`: it loops).
    pub length: Option<f64>,
    /// Fired by GO (it can stand by).
    pub manual: bool,
    pub state: CueState,
    /// While it plays: seconds played, and left (`None` for a loop).
    pub played: Option<f64>,
    pub left: Option<f64>,
    /// While it plays: its loudest sample at the last meter reading, in dBFS.
    pub level_db: Option<f32>,
}

impl CueView {
    /// The name an operator knows it by: its name, else its id.
    pub fn title(&self) -> &str {
        if self.name.is_empty() {
            &self.id
        } else {
            &self.name
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SceneView {
    pub id: String,
    pub name: String,
    pub cues: Vec<CueView>,
}

/// What the front end's own inputs took and passed over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RemoteCounts {
    /// `None`: OSC is off.
    pub osc: Option<OscCounts>,
    /// `None`: no MIDI input was asked for.
    pub midi: Option<MidiCounts>,
    /// Report lines a headless reader did not take in time (dropped, never holding up the show).
    pub reports_dropped: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OscCounts {
    pub received: u64,
    /// Packets that were not OSC.
    pub malformed: u64,
    /// Packets or connections from outside the allowed network, or over the limit.
    pub refused: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MidiCounts {
    pub received: u64,
    /// Messages too long to copy or that found the queue full.
    pub dropped: u64,
}

/// Everything counted, for the state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Underruns since the start, of every cause: the engine's (a clip's data late from disk,
    /// a late start) and the device's (a buffer it could not fill in time).
    pub underruns: u64,
    /// Of those, the device's own.
    pub device_xruns: u64,
    pub taken: Taken,
    pub remote: RemoteCounts,
    /// Commands refused in floods: by the front end's queue, by the engine's.
    pub queue_full: u64,
    pub engine_full: u64,
    /// Frames per audio buffer, where known.
    pub buffer: Option<u64>,
}

/// The show's state at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub show: String,
    pub rate: u32,
    /// The engine frame it was taken at.
    pub now: u64,
    pub playing: bool,
    /// Timeline frame.
    pub position: u64,
    /// What drives the timeline, in words.
    pub follows: String,
    /// The timecode followed, when one is (its state, rate, offset and speed).
    pub sync: Option<SyncView>,
    /// The cut shown in rehearsal, and the frame it shows.
    pub picture: Option<PictureView>,
    /// Beds and cues whose file cannot be read: (`cue id` or `SCENE/bed`, why).
    pub broken: Vec<(String, String)>,
    /// The current scene's bed: its title (else its file).
    pub bed: Option<String>,
    /// The position as picture timecode at the production's rate from its `start_timecode`.
    pub timecode: Timecode,
    /// Whether the show names a production (then its timecode is the picture's, and the
    /// console shows it).
    pub production: bool,
    /// What the timeline starts next: the timed cue and the scene, with seconds to go.
    pub next_cue: Option<(String, f64)>,
    pub next_scene: Option<(String, f64)>,
    pub scene: Option<u32>,
    pub standby: Option<u32>,
    pub scenes: Vec<SceneView>,
    /// Master, bed and cue levels as last set (dB).
    pub levels: [f32; 3],
    pub meters: MeterReading,
    pub counts: Counts,
    /// The last few problems, newest last.
    pub problems: Vec<String>,
}

impl Default for Snapshot {
    /// Before any show: nothing plays, at 00:00:00:00.
    fn default() -> Snapshot {
        Snapshot {
            show: String::new(),
            rate: 0,
            now: 0,
            playing: false,
            position: 0,
            follows: String::new(),
            sync: None,
            picture: None,
            broken: Vec::new(),
            bed: None,
            timecode: Timecode { frames: 0, rate: Default::default() },
            production: false,
            next_cue: None,
            next_scene: None,
            scene: None,
            standby: None,
            scenes: Vec::new(),
            levels: [0.0; 3],
            meters: MeterReading::default(),
            counts: Counts::default(),
            problems: Vec::new(),
        }
    }
}

impl Snapshot {
    /// The state now: the desk's show, cue list and meters (as last read), the dispatcher's
    /// levels and counts, the stage's transport and clock.
    pub fn take(desk: &Desk, stage: &dyn Stage, dispatcher: &Dispatcher) -> Snapshot {
        let controller = &desk.controller;
        let rate = controller.sample_rate();
        let now = stage.now(desk);
        let (playing, position) = stage.transport();
        let production = controller.show().show.production.clone().unwrap_or_default();
        let timecode = production.timecode_at(position, rate);
        let (next_cue, next_scene) = controller.timeline().next_after(position);
        let mut index = 0u32;
        let scenes = desk
            .cues
            .scenes
            .iter()
            .map(|scene| SceneView {
                id: scene.id.clone(),
                name: scene.name.clone(),
                cues: scene
                    .cues
                    .iter()
                    .map(|row| {
                        let cue = index;
                        index += 1;
                        let played = row.played(now, rate);
                        let state = match (played, row.ended) {
                            (Some(_), _) => CueState::Playing,
                            _ if controller.broken_cue(cue).is_some() => CueState::Broken,
                            (None, true) => CueState::Done,
                            (None, false) => CueState::Ready,
                        };
                        let level_db = played.map(|_| {
                            let peak = desk.cue_levels.iter().find(|(c, _)| *c == cue).map_or(0.0, |&(_, p)| p);
                            20.0 * peak.max(1e-6).log10()
                        });
                        CueView {
                            index: cue,
                            id: row.id.clone(),
                            name: row.name.clone(),
                            number: row.number.clone(),
                            note: row.note,
                            length: row.length,
                            manual: controller.is_manual(cue),
                            state,
                            played,
                            left: played.and_then(|p| row.left(p)),
                            level_db,
                        }
                    })
                    .collect(),
            })
            .collect();
        let (queue_full, engine_full) = dispatcher.refused_totals();
        Snapshot {
            show: controller.show().show.name.clone(),
            rate,
            now,
            playing,
            position,
            follows: stage.follows().to_string(),
            sync: stage.sync(),
            picture: stage.picture(),
            broken: controller.broken_uses(),
            bed: controller.current_scene().and_then(|s| controller.show().show.scenes.get(s as usize)).and_then(|s| {
                let bed = s.bed.as_ref()?;
                Some(bed.credits.title.clone().filter(|t| !t.is_empty()).unwrap_or_else(|| bed.file.clone()))
            }),
            timecode,
            production: controller.show().show.production.is_some(),
            next_cue: next_cue.map(|(frames, cue)| (controller.cue_id(cue).to_string(), frames as f64 / rate as f64)),
            next_scene: next_scene
                .map(|(frames, scene)| (controller.scene_id(scene).to_string(), frames as f64 / rate as f64)),
            scene: controller.current_scene(),
            standby: controller.standby(),
            scenes,
            levels: dispatcher.levels(),
            meters: desk.last_meters(),
            counts: Counts {
                underruns: desk.underruns + stage.device_xruns(),
                device_xruns: stage.device_xruns(),
                taken: dispatcher.taken(),
                remote: stage.remote(),
                queue_full,
                engine_full,
                buffer: stage.buffer(),
            },
            problems: dispatcher.recent_problems().cloned().collect(),
        }
    }

    /// Every cue, in engine order.
    pub fn cues(&self) -> impl Iterator<Item = &CueView> {
        self.scenes.iter().flat_map(|s| s.cues.iter())
    }

    /// Every playing cue.
    pub fn playing_cues(&self) -> impl Iterator<Item = &CueView> {
        self.cues().filter(|c| c.state == CueState::Playing)
    }

    pub fn cue(&self, index: u32) -> Option<&CueView> {
        self.cues().nth(index as usize)
    }

    /// The position in seconds.
    pub fn position_secs(&self) -> f64 {
        self.position as f64 / self.rate.max(1) as f64
    }

    pub fn scene_id(&self) -> Option<&str> {
        self.scene.and_then(|s| self.scenes.get(s as usize)).map(|s| s.id.as_str())
    }

    pub fn standby_id(&self) -> Option<&str> {
        self.standby.and_then(|c| self.cue(c)).map(|c| c.id.as_str())
    }

    /// Whether a cue plays.
    pub fn anything_playing(&self) -> bool {
        self.playing_cues().next().is_some()
    }

    /// The state as `/segue/state` answers it (and the headless log writes it): the transport,
    /// the scene, the standby cue, every playing cue with its time played and left (seconds;
    /// `null` left for a loop) and level, the levels, meters, counts and recent problems.
    pub fn json(&self) -> Value {
        let cues: Vec<Value> = self
            .playing_cues()
            .map(|c| {
                json!({
                    "cue": c.id,
                    "number": c.number,
                    "elapsed": c.played.unwrap_or(0.0),
                    "remaining": c.left,
                    "level_db": c.level_db,
                })
            })
            .collect();
        let counts = &self.counts;
        let remote = &counts.remote;
        let db = |peak: [f32; 2]| 20.0 * peak[0].max(peak[1]).max(1e-6).log10();
        let rms = |i: usize| 20.0 * self.meters.rms[i].max(1e-6).log10();
        json!({
            "event": "state",
            "show": self.show,
            "playing": self.playing,
            "position": self.position_secs(),
            "position_frames": self.position,
            "position_text": times::position(self.position_secs()),
            "follows": self.follows,
            "sync": self.sync.map(|v| json!({
                "source": v.source,
                "state": v.state.name(),
                "rate": v.rate.map(|r| r.name()),
                "offset_ms": v.offset_ms,
                "speed_ppm": v.speed_ppm,
                "locks": v.locks,
                "relocates": v.relocates,
            })),
            "bed": self.bed,
            "broken": self.broken.iter().map(|(what, why)| json!({ "use": what, "why": why })).collect::<Vec<_>>(),
            "picture": self.picture.as_ref().map(|p| json!({
                "file": p.file,
                "frame": p.frame,
                "show_frame": p.show_frame,
                "fps": p.fps,
            })),
            "timecode": self.timecode.to_string(),
            "next_cue": self.next_cue.as_ref().map(|(cue, secs)| json!({ "cue": cue, "in": secs })),
            "next_scene": self.next_scene.as_ref().map(|(scene, secs)| json!({ "scene": scene, "in": secs })),
            "frame_rate": self.timecode.rate.name(),
            "scene": self.scene_id(),
            "standby": self.standby_id(),
            "cues": cues,
            "levels": { "master": self.levels[0], "bed": self.levels[1], "cues": self.levels[2] },
            "meters": {
                "main": { "peak_db": db(self.meters.main), "rms_db": rms(0) },
                "bed": { "peak_db": db(self.meters.bed), "rms_db": rms(1) },
                "cues": { "peak_db": db(self.meters.cues), "rms_db": rms(2) },
                "duck_db": self.meters.duck_db,
            },
            "counts": {
                "underruns": counts.underruns,
                "underrun_causes": { "disk": counts.underruns - counts.device_xruns, "device": counts.device_xruns },
                "ignored_gos": counts.taken.ignored_gos,
                "osc_commands": counts.taken.osc_commands,
                "midi_commands": counts.taken.midi_commands,
                "reports_dropped": remote.reports_dropped,
            },
            "remote": {
                "osc": remote.osc.map(|o| json!({
                    "received": o.received,
                    "malformed": o.malformed,
                    "refused": o.refused,
                })),
                "midi": {
                    "received": remote.midi.map_or(0, |m| m.received),
                    "dropped": remote.midi.map_or(0, |m| m.dropped),
                },
                // Commands turned away in a flood: by the player's queue, and by the engine's.
                "refused": { "queue_full": counts.queue_full, "engine_full": counts.engine_full },
            },
            "problems": self.problems,
        })
    }
}
