//! The live player's journal and performance log (control loop, main thread; file I/O here,
//! never on the audio thread).
//!
//! - The **journal** holds where the show is: timeline position, transport, scene, standby and
//!   what plays. It is rewritten whole (a temporary file renamed over it, so a power cut leaves
//!   the old or the new one, never half of one) twice a second and whenever a cue or scene
//!   starts. `segue play SHOW --resume` opens where it says, stopped.
//! - The **performance log** (JSON lines, appended) records every cue and bed that actually
//!   started and ended, with engine frame, show position (`position_secs`, and `timecode` when
//!   the show has a production) and wall time, and where each was heard
//!   (`heard`, from the engine's trace): the record of what an audience heard. Each run begins
//!   with a `session` line (the engine's rate; frames count from 0 in each run) and the
//!   transport's moves (`rolled`: from this frame the timeline runs from `position`; `halted`)
//!   place its frames on the show's timeline, so `segue cuesheet --from-log` can write the cue
//!   sheet of the run.
//!
//! A write that fails (a full disk, a folder that went away) is reported once and the show goes
//! on; the next successful write is reported too.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::control::chase::TransportMsg;
use crate::control::sync::SyncEvent;
use crate::control::{Controller, Notice};
use crate::engine::command::Event;

/// How often the journal is rewritten while nothing happens.
const JOURNAL_PERIOD: Duration = Duration::from_millis(500);

/// Where the show was, as the journal keeps it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JournalState {
    pub show: String,
    /// Timeline seconds.
    pub position: f64,
    pub playing: bool,
    pub scene: Option<String>,
    pub standby: Option<String>,
    pub playing_cues: Vec<String>,
    pub wall_ms: u64,
}

fn wall_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The default journal for a show: `$XDG_STATE_HOME/segue/` (or `~/.local/state/segue/`), named
/// after the show file.
pub fn default_path(show: &Path) -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    let stem = show.file_stem().map_or("show".into(), |s| s.to_string_lossy().into_owned());
    base.join("segue").join(format!("{stem}.journal.json"))
}

/// The performance log beside a journal: `NAME.journal.json` → `NAME.play.log`.
pub fn log_path(journal: &Path) -> PathBuf {
    let name = journal.file_name().map_or("segue".into(), |n| n.to_string_lossy().into_owned());
    let stem = name.strip_suffix(".journal.json").unwrap_or(name.trim_end_matches(".json"));
    journal.with_file_name(format!("{stem}.play.log"))
}

/// Reads a journal; the error says why it cannot be used.
pub fn read(path: &Path, show: &Path) -> Result<JournalState, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the journal {}: {e}", path.display()))?;
    let state: JournalState =
        serde_json::from_str(&text).map_err(|e| format!("the journal {} is damaged: {e}", path.display()))?;
    let same = |a: &str, b: &Path| std::fs::canonicalize(a).ok() == std::fs::canonicalize(b).ok();
    if !same(&state.show, show) {
        return Err(format!("the journal {} is of another show ({})", path.display(), state.show));
    }
    if !state.position.is_finite() || state.position < 0.0 {
        return Err(format!("the journal {} has no usable position", path.display()));
    }
    Ok(state)
}

pub struct Journal {
    path: PathBuf,
    show: String,
    log: Option<File>,
    log_path: PathBuf,
    last_write: Option<Instant>,
    /// A performance-log write failed and was reported; the next success is reported too.
    failing: bool,
    /// The journal is written (with an fsync, which can take long on a slow disk) on a thread of
    /// its own, so the control loop never waits for the disk; at most one write is pending.
    writer: crossbeam_channel::Sender<JournalState>,
    results: crossbeam_channel::Receiver<std::io::Result<()>>,
    journal_failing: bool,
}

fn write_journal(path: &Path, state: &JournalState) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    let mut file = File::create(&tmp)?;
    file.write_all(serde_json::to_string_pretty(state).map_err(std::io::Error::other)?.as_bytes())?;
    file.sync_data()?;
    std::fs::rename(&tmp, path)
}

impl Journal {
    pub fn new(path: PathBuf, show: &Path) -> Journal {
        let log_path = log_path(&path);
        let show = std::fs::canonicalize(show).unwrap_or_else(|_| show.to_path_buf()).display().to_string();
        let (writer, pending) = crossbeam_channel::bounded::<JournalState>(1);
        let (done, results) = crossbeam_channel::unbounded();
        let target = path.clone();
        let _ = std::thread::Builder::new().name("segue-journal".into()).spawn(move || {
            for state in pending {
                if done.send(write_journal(&target, &state)).is_err() {
                    return;
                }
            }
        });
        Journal {
            path,
            show,
            log: None,
            log_path,
            last_write: None,
            failing: false,
            writer,
            results,
            journal_failing: false,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Records what the transport did (`rolled`: from engine frame `frame` the timeline runs from
    /// `position`; `halted`: from `frame` it rests at `position`), so a reader can place the
    /// log's frames on the timeline.
    pub fn record_move(&mut self, controller: &Controller, mark: TransportMsg) -> Option<String> {
        let line = match mark {
            TransportMsg::Rolled { position, at } => json!({ "what": "rolled", "frame": at, "position": position }),
            TransportMsg::Halted { position, at } => json!({ "what": "halted", "frame": at, "position": position }),
            _ => return None,
        };
        self.append(controller, line)
    }

    /// Records what the followed timecode did (locked, re-located, dropped out, stopped the
    /// show), where on the timeline, in words: the log says why the show moved or stopped.
    pub fn record_sync(&mut self, controller: &Controller, event: &SyncEvent, text: &str) -> Option<String> {
        let line = json!({ "what": "timecode", "event": event.kind(), "position": event.position(), "text": text });
        self.append(controller, line)
    }

    /// Records what sounded (cues and beds starting and ending, and where each was heard) in
    /// the performance log; returns a problem to report, if writing failed.
    pub fn record(&mut self, controller: &Controller, notice: &Notice) -> Option<String> {
        let line = match notice.event? {
            Event::Heard { clip, from, to } => {
                json!({ "what": "heard", "use": controller.use_id(clip), "from_frame": from, "to_frame": to })
            }
            Event::CueStarted { cue, at } => {
                json!({ "what": "cue_started", "cue": controller.cue_id(cue), "frame": at })
            }
            Event::CueEnded { cue, at, completed } => {
                json!({ "what": "cue_ended", "cue": controller.cue_id(cue), "completed": completed, "frame": at })
            }
            Event::BedStarted { scene, at } => {
                json!({ "what": "bed_started", "scene": controller.scene_id(scene), "frame": at })
            }
            Event::SceneEntered { scene, at } => {
                json!({ "what": "scene_entered", "scene": controller.scene_id(scene), "frame": at })
            }
            Event::Panic { at, hard } => {
                json!({ "what": "panic", "hard": hard, "frame": at })
            }
            _ => return None,
        };
        let mut line = line;
        if let Some(at) = notice.at.filter(|_| line.get("frame").is_some()) {
            // Where on the show, in seconds (a move's `position` is in timeline frames), and its
            // picture timecode; `frame` is the engine's.
            let (secs, timecode) = controller.show_time_at(at);
            line["position_secs"] = json!(secs);
            if let Some(tc) = timecode {
                line["timecode"] = json!(tc);
            }
        }
        self.append(controller, line)
    }

    /// Appends a line (with the wall time and the show); the first of a run is preceded by a
    /// `session` line with the engine's rate (each run's frames count from 0).
    fn append(&mut self, controller: &Controller, mut line: serde_json::Value) -> Option<String> {
        line["wall_ms"] = json!(wall_ms());
        line["show"] = json!(self.show);
        let result = (|| -> std::io::Result<()> {
            if self.log.is_none() {
                if let Some(dir) = self.log_path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let mut log = OpenOptions::new().create(true).append(true).open(&self.log_path)?;
                let session = json!({ "what": "session", "rate": controller.sample_rate(), "show": self.show, "wall_ms": wall_ms() });
                writeln!(log, "{session}")?;
                self.log = Some(log);
            }
            let log = self.log.as_mut().expect("just opened");
            writeln!(log, "{line}")?;
            log.flush()
        })();
        outcome(&mut self.failing, result, &self.log_path)
    }

    /// Rewrites the journal if it is due (or `now_please`); returns a problem to report, if any.
    pub fn keep(&mut self, state: impl FnOnce() -> JournalState, now_please: bool) -> Option<String> {
        if !now_please && self.last_write.is_some_and(|t| t.elapsed() < JOURNAL_PERIOD) {
            return None;
        }
        let mut state = state();
        state.show = self.show.clone();
        state.wall_ms = wall_ms();
        // A write still pending (a slow disk) makes this one wait for the next turn of the
        // loop, not for the next period: the journal is as fresh as the disk lets it be.
        if self.writer.try_send(state).is_ok() {
            self.last_write = Some(Instant::now());
        }
        let mut problem = None;
        for result in self.results.try_iter() {
            problem = problem.or(outcome(&mut self.journal_failing, result, &self.path));
        }
        problem
    }
}

/// A write's result as something to report: its first failure, and its recovery.
fn outcome(failing: &mut bool, result: std::io::Result<()>, what: &Path) -> Option<String> {
    match (result, *failing) {
        (Ok(()), false) => None,
        (Ok(()), true) => {
            *failing = false;
            Some(format!("{} is written again", what.display()))
        }
        (Err(_), true) => None,
        (Err(e), false) => {
            *failing = true;
            Some(format!("cannot write {}: {e}; the show goes on without it", what.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_sits_beside_the_journal() {
        assert_eq!(log_path(Path::new("/x/ep1.journal.json")), PathBuf::from("/x/ep1.play.log"));
        assert_eq!(log_path(Path::new("/x/mine.json")), PathBuf::from("/x/mine.play.log"));
    }
}
