//! What the live player reports (control loop, main thread): headless, one JSON object per line
//! on stdout for every event, so scripts and tests follow the show; with a console, problems
//! only (the console shows the rest).

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::app::remote::{Remote, Request};
use crate::control::{Controller, Notice, Severity};
use crate::engine::command::Event;

pub struct Out {
    headless: bool,
}

fn wall_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Out {
    pub fn new(headless: bool) -> Out {
        Out { headless }
    }

    /// One line of JSON (headless), flushed at once so a reader sees it when it happens.
    pub fn line(&mut self, value: &Value) {
        if self.headless {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{value}");
            let _ = stdout.flush();
        }
    }

    pub fn problem(&mut self, text: &str) {
        if self.headless {
            self.line(&json!({ "event": "problem", "text": text, "wall_ms": wall_ms() }));
        } else {
            eprintln!("segue: {text}");
        }
    }

    /// A remote command as it arrived.
    pub fn command(&mut self, request: &Request) {
        let source = request.source.name();
        let mut line =
            json!({ "event": "command", "source": source, "address": request.address, "wall_ms": wall_ms() });
        if let Remote::Level(_, db) = request.remote {
            line["db"] = json!(db);
        }
        self.line(&line);
    }

    /// An engine event or loader report, in words and fields.
    pub fn notice(&mut self, controller: &Controller, notice: &Notice) {
        if !self.headless {
            if notice.severity != Severity::Info {
                eprintln!("segue: {notice}");
            }
            return;
        }
        let rate = controller.sample_rate() as f64;
        let mut line = match notice.event {
            Some(Event::CueStarted { cue, .. }) => json!({ "event": "cue_started", "cue": controller.cue_id(cue) }),
            Some(Event::CueEnded { cue, completed, .. }) => {
                json!({ "event": "cue_ended", "cue": controller.cue_id(cue), "completed": completed })
            }
            Some(Event::SceneEntered { scene, .. }) => {
                json!({ "event": "scene_entered", "scene": controller.scene_id(scene) })
            }
            Some(Event::BedStarted { scene, .. }) => {
                json!({ "event": "bed_started", "scene": controller.scene_id(scene) })
            }
            Some(Event::Seeked { scene, .. }) => {
                json!({ "event": "located", "scene": scene.map(|s| controller.scene_id(s).to_string()) })
            }
            Some(Event::Panic { hard, .. }) => json!({ "event": "panic", "hard": hard }),
            Some(Event::LateStart { clip, frames, .. }) => {
                json!({ "event": "late_start", "clip": controller.clip_name(clip), "frames": frames })
            }
            Some(Event::Underrun { clip, frames, .. }) => {
                json!({ "event": "underrun", "clip": controller.clip_name(clip), "frames": frames })
            }
            Some(Event::ProgramLoaded { .. }) => json!({ "event": "show_loaded" }),
            Some(Event::Heard { clip, from, to }) => {
                json!({ "event": "heard", "use": controller.use_id(clip), "from_frame": from, "to_frame": to })
            }
            _ if notice.severity == Severity::Info => json!({ "event": "info" }),
            _ => json!({ "event": "problem" }),
        };
        if let Some(at) = notice.at {
            line["frame"] = json!(at);
            line["time"] = json!(at as f64 / rate);
        }
        line["wall_ms"] = json!(wall_ms());
        line["text"] = json!(notice.text);
        self.line(&line);
    }
}
