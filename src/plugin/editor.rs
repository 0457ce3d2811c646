//! The plugin's editor (egui, on the host's GUI thread): load a show, see its scenes and cues
//! with their state, GO / stop / panic, bus meters, and the show's problems in plain words.
//! It only reads the desk's status and sends requests to the desk; it never touches the engine.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crossbeam_channel::Sender;
use nice_plug_egui::{create_egui_editor, EguiEditor, EguiNiceSettings, Frame, RepaintNotifier};

use crate::control::format_time;
use crate::plugin::desk::{DeskRequest, DeskStatus};
use crate::plugin::params::SegueParams;

pub struct SegueEditor {
    params: Arc<SegueParams>,
    status: Arc<Mutex<DeskStatus>>,
    requests: Sender<DeskRequest>,
    repaint: RepaintNotifier,
    path: String,
}

pub fn create(
    params: Arc<SegueParams>,
    status: Arc<Mutex<DeskStatus>>,
    requests: Sender<DeskRequest>,
) -> Option<EguiEditor<SegueEditor>> {
    let repaint = RepaintNotifier::new();
    let path = params.show.lock().ok().and_then(|s| s.as_ref().map(|s| s.path.clone())).unwrap_or_default();
    let state = params.editor_state.clone();
    let app = SegueEditor { params, status, requests, repaint: repaint.clone(), path };
    create_egui_editor(state, repaint, EguiNiceSettings::new().with_tile("Segue"), app)
}

fn meter(ui: &mut egui::Ui, label: &str, peaks: [f32; 2]) {
    let db = 20.0 * peaks[0].max(peaks[1]).max(1e-6).log10();
    let fill = ((db + 60.0) / 60.0).clamp(0.0, 1.0);
    ui.horizontal(|ui| {
        ui.label(format!("{label:5}"));
        ui.add(egui::ProgressBar::new(fill).desired_width(220.0).text(format!("{db:+.1} dBFS")));
    });
}

impl nice_plug_egui::NiceEguiApp for SegueEditor {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut Frame) {
        // The desk updates the status in the background; keep the view moving.
        self.repaint.request_repaint();
        let status = self.status.lock().map(|s| s.clone()).unwrap_or_default();
        let send = |r: DeskRequest| {
            let _ = self.requests.send(r);
        };
        ui.heading(if status.show_name.is_empty() { "Segue" } else { &status.show_name });
        ui.horizontal(|ui| {
            ui.label("Show file");
            ui.add(egui::TextEdit::singleline(&mut self.path).desired_width(420.0));
            if ui.button("Open").clicked() {
                send(DeskRequest::LoadPath(PathBuf::from(self.path.trim())));
            }
        });
        // Files dropped on the window load as shows.
        let dropped: Vec<PathBuf> =
            ui.ctx().input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        if let Some(path) = dropped.into_iter().next() {
            self.path = path.display().to_string();
            send(DeskRequest::LoadPath(path));
        }
        ui.horizontal(|ui| {
            if ui.add(egui::Button::new("GO").min_size(egui::vec2(80.0, 32.0))).clicked() {
                send(DeskRequest::Go);
            }
            if ui.add(egui::Button::new("Panic").min_size(egui::vec2(80.0, 32.0))).clicked() {
                send(DeskRequest::Panic);
            }
            ui.label(format!("chase {}", if self.params.chase.value() { "on" } else { "off" }));
            // GO and panic notes: saved with the project.
            let mut midi = self.params.midi.lock().map(|m| *m).unwrap_or_default();
            let before = midi;
            ui.label("GO note");
            ui.add(egui::DragValue::new(&mut midi.go_note).range(0..=127));
            ui.label("Panic note");
            ui.add(egui::DragValue::new(&mut midi.panic_note).range(0..=127));
            if midi != before {
                send(DeskRequest::SetMidi(midi));
            }
        });
        meter(ui, "Main", status.meters.main);
        meter(ui, "Bed", status.meters.bed);
        meter(ui, "Cues", status.meters.cues);
        ui.separator();
        let rate = status.sample_rate.max(1) as f64;
        let now = status.meters.clock;
        egui::ScrollArea::vertical().max_height(240.0).show(ui, |ui| {
            for (s, scene) in status.scenes.iter().enumerate() {
                let current = status.current_scene == Some(s as u32);
                let title = format!("{} {}  {}", if current { "▶" } else { " " }, scene.id, scene.name);
                ui.label(egui::RichText::new(title).strong());
                for cue in &scene.cues {
                    ui.horizontal(|ui| {
                        let state = match (cue.started, cue.ended) {
                            (Some(at), _) => {
                                let elapsed = now.saturating_sub(at) as f64 / rate;
                                match cue.length {
                                    Some(len) => format!(
                                        "playing {} / -{}",
                                        format_time(elapsed),
                                        format_time((len - elapsed).max(0.0))
                                    ),
                                    None => format!("playing {} (loop)", format_time(elapsed)),
                                }
                            }
                            (None, true) => "ended".to_string(),
                            (None, false) => "armed".to_string(),
                        };
                        ui.label(format!("    {:12} {:24} {}", cue.id, cue.name, state));
                        if cue.started.is_some() && ui.small_button("stop").clicked() {
                            send(DeskRequest::StopCue(cue.id.clone()));
                        }
                    });
                }
            }
        });
        if !status.problems.is_empty() {
            ui.separator();
            for problem in &status.problems {
                ui.colored_label(egui::Color32::from_rgb(230, 120, 90), problem);
            }
        }
    }
}
