//! The headless player's report sink: one JSON object per line on stdout for every report, so
//! scripts and tests follow the show. Lines are made on the control loop and written by a
//! thread of their own through a bounded queue: a reader that stops reading stdout never holds
//! up GO or panic; the lines it did not take are dropped, counted, and said as soon as it reads
//! again (and in `/segue/state`'s `counts.reports_dropped`).

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::control::command::Command;
use crate::control::report::{wall_ms, Report, Sink};
use crate::control::{Controller, Notice, Severity};
use crate::engine::command::Event;

/// Lines that may wait for a slow reader: a few seconds of a busy show's events.
pub const WAITING_LINES: usize = 4096;

/// How long `finish` waits for the last lines to be read.
const FINISH_WAIT: Duration = Duration::from_secs(1);

/// A way to write lines to the headless log from any thread (the stdin reader's problems).
#[derive(Clone)]
pub struct Lines {
    tx: crossbeam_channel::Sender<String>,
    dropped: Arc<AtomicU64>,
}

impl Lines {
    /// Queues one line; a full queue drops it (counted).
    pub fn line(&self, value: &Value) {
        if self.tx.try_send(value.to_string()).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Lines dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Lines waiting for the reader.
    pub fn waiting(&self) -> usize {
        self.tx.len()
    }
}

pub struct Headless {
    lines: Option<Lines>,
    /// Signalled when the writer has written every line before `finish`'s mark.
    done: crossbeam_channel::Receiver<()>,
}

impl Headless {
    /// Starts the writer thread.
    pub fn start() -> Headless {
        Headless::to(std::io::stdout())
    }

    /// Writes to `out` (stdout; a test's pipe).
    pub fn to(out: impl Write + Send + 'static) -> Headless {
        let (tx, rx) = crossbeam_channel::bounded::<String>(WAITING_LINES);
        let dropped = Arc::new(AtomicU64::new(0));
        let (done_tx, done) = crossbeam_channel::bounded(1);
        let counted = dropped.clone();
        let _ = std::thread::Builder::new().name("segue-stdout".into()).spawn(move || {
            let mut out = out;
            let mut said = 0;
            for line in rx {
                if line.is_empty() {
                    // `finish` asks whether everything before it is written.
                    let _ = done_tx.try_send(());
                    continue;
                }
                let lost = counted.load(Ordering::Relaxed);
                if lost > said {
                    let text = format!(
                        "{} report lines were dropped: stdout was not read in time (the show went on)",
                        lost - said
                    );
                    said = lost;
                    let note = json!({ "event": "problem", "text": text, "wall_ms": wall_ms() });
                    let _ = writeln!(out, "{note}");
                }
                // Flushed at once, so a reader sees each line when it happens.
                if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
                    // Nobody reads any more (a closed pipe): the rest is let go.
                    break;
                }
            }
        });
        Headless { lines: Some(Lines { tx, dropped }), done }
    }

    /// A handle other threads write lines with.
    pub fn lines(&self) -> Option<Lines> {
        self.lines.clone()
    }

    /// Lines dropped so far.
    pub fn dropped(&self) -> u64 {
        self.lines.as_ref().map_or(0, |l| l.dropped())
    }

    fn line(&self, value: &Value) {
        if let Some(lines) = &self.lines {
            lines.line(value);
        }
    }
}

impl Sink for Headless {
    fn report(&mut self, controller: &Controller, report: Report<'_>) {
        let line = match report {
            Report::Opened(o) => json!({
                "event": "ready",
                "show": o.show,
                "backend": o.backend,
                "device": o.device,
                "rate": o.rate,
                "channels": o.channels,
                "buffer": o.buffer,
                "osc": o.osc,
                "journal": o.journal,
                "log": o.log,
                "start": o.start,
            }),
            Report::Command(request) => {
                let mut line = json!({
                    "event": "command",
                    "source": request.source.name(),
                    "address": request.address,
                    "wall_ms": wall_ms(),
                });
                if let Command::Level(_, db) = request.command {
                    line["db"] = json!(db);
                }
                line
            }
            Report::Notice(notice) => notice_line(controller, notice),
            Report::Problem(text) => json!({ "event": "problem", "text": text, "wall_ms": wall_ms() }),
            Report::State(state) => state.json(),
            Report::MidiConnected(text) => json!({ "event": "midi", "text": text }),
            Report::ShowChanged(text) => json!({ "event": "show_changed", "text": text }),
            Report::ShowInvalid(problems) => json!({ "event": "show_invalid", "problems": problems }),
            Report::ShowReloaded { show, text } => json!({ "event": "show_reloaded", "show": show, "text": text }),
            Report::OutputLost(text) => json!({ "event": "output_lost", "text": text }),
            Report::OutputBack(text) => json!({ "event": "output_back", "text": text }),
            Report::Timecode { event, text } => json!({
                "event": "timecode",
                "what": event.kind(),
                "position": event.position().map(|p| p as f64 / controller.sample_rate() as f64),
                "text": text,
                "wall_ms": wall_ms(),
            }),
        };
        self.line(&line);
    }

    fn finish(&mut self) {
        // A mark behind the last line: the writer says when it reaches it.
        if let Some(lines) = self.lines.take() {
            if lines.tx.send_timeout(String::new(), FINISH_WAIT).is_ok() {
                let _ = self.done.recv_timeout(FINISH_WAIT);
            }
        }
    }
}

/// An engine event or loader report, in words and fields.
fn notice_line(controller: &Controller, notice: &Notice) -> Value {
    let mut line = match notice.event {
        Some(Event::CueStarted { cue, .. }) => json!({ "event": "cue_started", "cue": controller.cue_id(cue) }),
        Some(Event::CueEnded { cue, completed, .. }) => {
            json!({ "event": "cue_ended", "cue": controller.cue_id(cue), "completed": completed })
        }
        Some(Event::SceneEntered { scene, .. }) => {
            json!({ "event": "scene_entered", "scene": controller.scene_id(scene) })
        }
        Some(Event::BedStarted { scene, .. }) => json!({ "event": "bed_started", "scene": controller.scene_id(scene) }),
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
        // Where on the show it happened (and its picture timecode), and the engine's frame.
        let (secs, timecode) = controller.show_time_at(at);
        line["position"] = json!(secs);
        if let Some(tc) = timecode {
            line["timecode"] = json!(tc);
        }
        line["frame"] = json!(at);
    }
    line["wall_ms"] = json!(wall_ms());
    line["text"] = json!(notice.text);
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A stdout nobody reads: every write blocks until `open` is set.
    struct Stuck {
        open: Arc<Mutex<bool>>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Stuck {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            while !*self.open.lock().unwrap() {
                std::thread::sleep(Duration::from_millis(1));
            }
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_reader_that_stops_reading_never_holds_up_the_loop_and_the_drops_are_said() {
        let open = Arc::new(Mutex::new(false));
        let written = Arc::new(Mutex::new(Vec::new()));
        let out = Headless::to(Stuck { open: open.clone(), written: written.clone() });
        let lines = out.lines().unwrap();
        // Far more than may wait: every call returns at once (the loop would be stuck in the
        // first write otherwise, as this reader never reads until told to).
        let extra = 1000;
        for i in 0..WAITING_LINES + extra {
            lines.line(&json!({ "n": i }));
        }
        // The writer holds one line it is trying to write, so one more than `extra` may be
        // taken into the queue after it; at least `extra - 1` are dropped.
        let dropped = out.dropped();
        assert!(dropped + 1 >= extra as u64 && dropped <= extra as u64, "dropped {dropped}");
        *open.lock().unwrap() = true;
        // The reader catches up (bounded: a stuck test fails rather than hangs).
        let t0 = std::time::Instant::now();
        while lines.waiting() > 0 && t0.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(1));
        }
        lines.line(&json!({ "n": "after" }));
        let mut out = out;
        drop(lines);
        out.finish();
        let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        assert!(text.contains("report lines were dropped"), "the drop is said");
        assert!(
            text.trim_end().ends_with(r#"{"n":"after"}"#),
            "and the show's lines go on: {}",
            &text[text.len() - 200..]
        );
    }
}
