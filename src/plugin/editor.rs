//! The plugin's editor (egui, on the host's GUI thread): load a show, see its scenes and cues
//! with their state, GO / stop / panic, bus meters, and the show's problems in plain words.
//! It only reads the desk's status and sends requests to the desk; it never touches the engine.
//!
//! Layout: the show (name, file, GO / panic, chase, MIDI notes) across the top; the problems,
//! when there are any, across the bottom; the meters on the right; the scenes and cues in a
//! scroll area in the middle, so that nothing overlaps at any size down to the minimum.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crossbeam_channel::Sender;
use egui::{Align, Align2, Color32, CornerRadius, FontId, Layout, Margin, RichText, Sense, Stroke, Vec2};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::editor::{ResizeHint, SizeConstraints};
use nice_plug_egui::{baseview, create_egui_editor, EguiEditor, EguiNiceSettings, Frame, RepaintNotifier};

use crate::control::command::Command;
use crate::control::snapshot::{CueState, CueView, SceneView};
use crate::control::times;
use crate::plugin::desk::{DeskRequest, DeskStatus};
use crate::plugin::params::SegueParams;

/// Meter colours: below -18 dBFS, up to -6 dBFS, above.
pub const METER_OK: Color32 = Color32::from_rgb(70, 190, 90);
pub const METER_WARN: Color32 = Color32::from_rgb(230, 200, 60);
pub const METER_HOT: Color32 = Color32::from_rgb(235, 70, 60);
/// The background of the problems list.
pub const PROBLEM_FILL: Color32 = Color32::from_rgb(70, 30, 28);

const PROBLEM_STROKE: Color32 = Color32::from_rgb(170, 75, 60);
const PROBLEM_TEXT: Color32 = Color32::from_rgb(255, 214, 204);
const TEXT: Color32 = Color32::from_rgb(220, 220, 220);
const WEAK: Color32 = Color32::from_rgb(150, 150, 150);
const NOW_FILL: Color32 = Color32::from_rgb(30, 52, 74);
const NOW_STROKE: Color32 = Color32::from_rgb(90, 160, 230);
const PLAYING: Color32 = Color32::from_rgb(38, 120, 62);
const PLAYING_BAR: Color32 = Color32::from_rgb(60, 150, 220);
const GO_FILL: Color32 = Color32::from_rgb(34, 96, 52);
const PANIC_FILL: Color32 = Color32::from_rgb(120, 40, 34);
const DUCK: Color32 = Color32::from_rgb(230, 140, 50);
const METER_TRACK: Color32 = Color32::from_rgb(16, 16, 16);

/// The meters' scale: its floor, the marks, and where the colours change (dBFS).
const FLOOR_DB: f32 = -60.0;
const MARKS_DB: [f32; 8] = [0.0, -6.0, -12.0, -18.0, -24.0, -36.0, -48.0, -60.0];
const WARN_DB: f32 = -18.0;
const HOT_DB: f32 = -6.0;
/// Meter ballistics: how fast a bar falls back, how long the peak mark holds.
const FALL_DB_PER_S: f32 = 20.0;
const HOLD_S: f64 = 1.5;
/// The deepest duck the duck bar shows.
const DUCK_RANGE_DB: f32 = 24.0;

/// The smallest size the editor can be made (the layout is checked down to it).
const MIN_SIZE: (f32, f32) = (640.0, 480.0);

pub struct SegueEditor {
    params: Arc<SegueParams>,
    status: Arc<Mutex<DeskStatus>>,
    requests: Sender<DeskRequest>,
    repaint: RepaintNotifier,
    /// The show file field. It shows each show that loads; what is typed in it stays until then
    /// (a path that fails to load stays there to be corrected).
    path: String,
    /// The loaded show's path the field last took.
    path_loaded: String,
    /// For the chase toggle (set while the editor is open).
    gui: Option<GuiContext>,
    meters: Ballistics,
    /// The problems as they were when hidden: they show again when the list changes.
    hidden_problems: Option<VecDeque<String>>,
}

pub fn create(
    params: Arc<SegueParams>,
    status: Arc<Mutex<DeskStatus>>,
    requests: Sender<DeskRequest>,
) -> Option<EguiEditor<SegueEditor>> {
    let repaint = RepaintNotifier::new();
    let path = params.show.lock().ok().and_then(|s| s.as_ref().map(|s| s.path.clone())).unwrap_or_default();
    let state = params.editor_state.clone();
    let app = SegueEditor {
        params,
        status,
        requests,
        repaint: repaint.clone(),
        path,
        path_loaded: String::new(),
        gui: None,
        meters: Ballistics::default(),
        hidden_problems: None,
    };
    let resize = ResizeHint {
        can_resize: true,
        can_resize_horizontally: true,
        can_resize_vertically: true,
        size_constraints: SizeConstraints::min_logical_size(LogicalSize::new(MIN_SIZE.0, MIN_SIZE.1)),
        ..ResizeHint::NON_RESIZABLE
    };
    create_egui_editor(state, repaint, EguiNiceSettings::new().with_tile("Segue").with_resize_hint(resize), app)
}

impl nice_plug_egui::NiceEguiApp for SegueEditor {
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        gui: GuiContext,
        _frame: &mut Frame,
    ) -> Result<(), baseview::HandlerError> {
        self.gui = Some(gui);
        egui_ctx.all_styles_mut(|style| {
            use egui::TextStyle;
            for (text_style, size) in [
                (TextStyle::Heading, 20.0),
                (TextStyle::Body, 14.0),
                (TextStyle::Button, 14.0),
                (TextStyle::Monospace, 13.0),
                (TextStyle::Small, 11.5),
            ] {
                if let Some(font) = style.text_styles.get_mut(&text_style) {
                    font.size = size;
                }
            }
            style.spacing.item_spacing = Vec2::new(8.0, 6.0);
            style.spacing.button_padding = Vec2::new(10.0, 4.0);
            style.spacing.interact_size.y = 24.0;
            style.visuals.widgets.noninteractive.fg_stroke.color = TEXT;
            // Scroll bars that are always there when the list is longer than the window, so it
            // is plain that there is more below.
            style.spacing.scroll = egui::style::ScrollStyle::solid();
        });
        Ok(())
    }

    fn editor_closed(&mut self) {
        self.gui = None;
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut Frame) {
        // The desk updates the status in the background; keep the view moving.
        self.repaint.request_repaint();
        let status = self.status.lock().map(|s| s.clone()).unwrap_or_default();
        let now = ui.input(|i| i.time);
        self.meters.update(&status, now);
        let mut requests = Vec::new();

        // Files dropped on the window load as shows.
        let dropped: Vec<PathBuf> =
            ui.ctx().input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        if let Some(path) = dropped.into_iter().next() {
            self.path = path.display().to_string();
            requests.push(DeskRequest::LoadPath(path));
        }
        if status.path != self.path_loaded {
            self.path_loaded.clone_from(&status.path);
            if !status.path.is_empty() {
                self.path.clone_from(&status.path);
            }
        }

        let margin = Margin::symmetric(12, 8);
        let panel = egui::Frame::new().fill(ui.visuals().panel_fill).inner_margin(margin);
        egui::Panel::top("show").frame(panel).show(ui, |ui| self.show_section(ui, &status, &mut requests));
        if !status.problems.is_empty() && !self.problems_hidden(&status) {
            let height = (ui.available_height() * 0.25).clamp(48.0, 220.0);
            let hide =
                egui::Panel::bottom("problems").frame(panel).show(ui, |ui| problems_section(ui, &status, height));
            if hide.inner {
                self.hidden_problems = Some(status.problems.clone());
            }
        }
        egui::Panel::right("meters")
            .frame(panel)
            .resizable(false)
            .exact_size(210.0)
            .show(ui, |ui| self.meters_section(ui, &status));
        egui::CentralPanel::default().frame(panel).show(ui, |ui| cues_section(ui, &status, &mut requests));

        for request in requests {
            let _ = self.requests.send(request);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Show: name, file, GO / panic, chase, MIDI notes
// ---------------------------------------------------------------------------------------------

impl SegueEditor {
    fn show_section(&mut self, ui: &mut egui::Ui, status: &DeskStatus, requests: &mut Vec<DeskRequest>) {
        ui.horizontal(|ui| {
            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                // GO and panic notes (saved with the project), on the right; right to left.
                let mut midi = self.params.midi.lock().map(|m| *m).unwrap_or_default();
                let before = midi;
                let panic_name = format!(" {}", note_name(midi.panic_note));
                ui.add(egui::DragValue::new(&mut midi.panic_note).range(0..=127).suffix(panic_name))
                    .on_hover_text("The MIDI note that presses Panic");
                ui.label("Panic");
                let go_name = format!(" {}", note_name(midi.go_note));
                ui.add(egui::DragValue::new(&mut midi.go_note).range(0..=127).suffix(go_name))
                    .on_hover_text("The MIDI note that presses GO");
                ui.label("GO");
                ui.label(RichText::new("MIDI notes").color(WEAK));
                if midi != before {
                    requests.push(DeskRequest::SetMidi(midi));
                }
                // The show's name takes the room that is left.
                ui.with_layout(Layout::left_to_right(Align::Center), |ui| {
                    section_label(ui, "Show");
                    let name = if status.state.show.is_empty() && status.state.scenes.is_empty() {
                        RichText::new("No show loaded").heading().color(WEAK)
                    } else if status.state.show.is_empty() {
                        RichText::new("(untitled show)").heading()
                    } else {
                        RichText::new(&status.state.show).heading().color(Color32::WHITE)
                    };
                    ui.add(egui::Label::new(name).truncate());
                });
            });
        });
        ui.horizontal(|ui| {
            ui.label("Show file");
            let open_width = 70.0;
            let field = egui::TextEdit::singleline(&mut self.path)
                .hint_text("path to a show .json (or drop one on the window)")
                .desired_width((ui.available_width() - open_width - 8.0).max(120.0));
            let response = ui.add(field);
            let entered = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            let open = ui.add(egui::Button::new("Open").min_size(Vec2::new(open_width, 24.0)));
            if (open.clicked() || entered) && !self.path.trim().is_empty() {
                requests.push(DeskRequest::LoadPath(PathBuf::from(self.path.trim())));
            }
        });
        ui.add_space(2.0);
        ui.horizontal(|ui| {
            let go = egui::Button::new(RichText::new("GO").strong().size(16.0).color(Color32::WHITE))
                .fill(GO_FILL)
                .min_size(Vec2::new(96.0, 32.0));
            if ui.add(go).on_hover_text("Start the next manual cue").clicked() {
                requests.push(DeskRequest::Operator(Command::Go));
            }
            let panic = egui::Button::new(RichText::new("Panic").strong().size(16.0).color(Color32::WHITE))
                .fill(PANIC_FILL)
                .min_size(Vec2::new(96.0, 32.0));
            if ui.add(panic).on_hover_text("Fade everything out; press again during the fade to cut").clicked() {
                requests.push(DeskRequest::Operator(Command::Panic));
            }
            ui.add_space(8.0);
            let mut chase = self.params.chase.value();
            let toggle = ui
                .add_enabled(self.gui.is_some(), egui::Checkbox::new(&mut chase, "Chase host transport"))
                .on_hover_text("Follow the host's play position with the show timeline");
            if toggle.changed() {
                if let Some(gui) = &self.gui {
                    let setter = gui.param_setter();
                    setter.begin_set_parameter(&self.params.chase);
                    setter.set_parameter(&self.params.chase, chase);
                    setter.end_set_parameter(&self.params.chase);
                }
            }
            if !status.problems.is_empty() && self.problems_hidden(status) {
                ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                    let text = RichText::new(format!("Problems ({})", problem_count(status))).color(PROBLEM_TEXT);
                    let show = ui.add(egui::Button::new(text).fill(PROBLEM_FILL));
                    if show.on_hover_text("Show the problems again").clicked() {
                        self.hidden_problems = None;
                    }
                });
            }
        });
    }

    /// The problems were hidden and none came or went since.
    fn problems_hidden(&self, status: &DeskStatus) -> bool {
        self.hidden_problems.as_ref() == Some(&status.problems)
    }
}

fn section_label(ui: &mut egui::Ui, text: &str) {
    ui.label(RichText::new(text.to_uppercase()).size(12.0).strong().color(WEAK));
}

/// A MIDI note's name, with middle C (60) as C4.
fn note_name(note: u8) -> String {
    const NAMES: [&str; 12] = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
    format!("{}{}", NAMES[note as usize % 12], note as i32 / 12 - 1)
}

// ---------------------------------------------------------------------------------------------
// Scenes and cues
// ---------------------------------------------------------------------------------------------

fn cues_section(ui: &mut egui::Ui, status: &DeskStatus, requests: &mut Vec<DeskRequest>) {
    section_label(ui, "Scenes and cues");
    if status.state.scenes.is_empty() {
        ui.add_space(8.0);
        ui.label(RichText::new("No scenes to show yet.").color(WEAK));
        ui.label(
            RichText::new("Type the path of a show file above and press Open, or drop a show file on this window.")
                .color(WEAK),
        );
        return;
    }
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
        for (s, scene) in status.state.scenes.iter().enumerate() {
            let current = status.state.scene == Some(s as u32);
            scene_block(ui, scene, current, requests);
            ui.add_space(4.0);
        }
    });
}

fn scene_block(ui: &mut egui::Ui, scene: &SceneView, current: bool, requests: &mut Vec<DeskRequest>) {
    let (fill, stroke) = if current {
        (NOW_FILL, Stroke::new(1.5, NOW_STROKE))
    } else {
        (ui.visuals().faint_bg_color, Stroke::new(1.0, ui.visuals().widgets.noninteractive.bg_stroke.color))
    };
    egui::Frame::new()
        .fill(fill)
        .stroke(stroke)
        .corner_radius(CornerRadius::same(6))
        .inner_margin(Margin::symmetric(8, 6))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                if current {
                    badge(ui, "NOW", NOW_STROKE, Color32::BLACK, 44.0);
                }
                let name = if scene.name.is_empty() { &scene.id } else { &scene.name };
                ui.label(RichText::new(name).strong().size(15.0).color(Color32::WHITE));
                if !scene.name.is_empty() && scene.name != scene.id {
                    ui.label(RichText::new(&scene.id).small().color(WEAK));
                }
            });
            if scene.cues.is_empty() {
                ui.label(RichText::new("no cues").small().color(WEAK));
            }
            for cue in &scene.cues {
                cue_row(ui, cue, requests);
            }
        });
}

fn cue_row(ui: &mut egui::Ui, cue: &CueView, requests: &mut Vec<DeskRequest>) {
    const BADGE: f32 = 70.0;
    let playing = cue.state == CueState::Playing;
    ui.horizontal(|ui| {
        match cue.state {
            CueState::Playing => badge(ui, "PLAYING", PLAYING, Color32::WHITE, BADGE),
            CueState::Done => badge(ui, "DONE", Color32::TRANSPARENT, WEAK, BADGE),
            CueState::Broken => badge(ui, "BROKEN", Color32::from_rgb(150, 40, 40), Color32::WHITE, BADGE),
            CueState::Ready => badge(ui, "READY", Color32::from_gray(60), TEXT, BADGE),
        }
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            // Fixed widths, so the stop buttons, lengths and notes line up in columns.
            if playing {
                let stop = ui.add(egui::Button::new("Stop").min_size(Vec2::new(56.0, 22.0)));
                if stop.on_hover_text("Fade this cue out").clicked() {
                    requests.push(DeskRequest::Operator(Command::StopCue(cue.id.clone())));
                }
            } else {
                ui.add_space(56.0);
            }
            let note = cue.note.map_or(String::new(), |n| format!("note {n} {}", note_name(n)));
            let note = ui.add_sized(Vec2::new(84.0, 20.0), egui::Label::new(RichText::new(note).small().color(WEAK)));
            if cue.note.is_some() {
                note.on_hover_text("The MIDI note that starts this cue");
            }
            if !playing {
                let (length, hover) = match cue.length {
                    Some(len) => (times::cue_time(len), "How long the cue plays"),
                    None => ("loop".to_string(), "The cue loops until it is stopped"),
                };
                ui.add_sized(Vec2::new(52.0, 20.0), egui::Label::new(RichText::new(length).monospace().color(WEAK)))
                    .on_hover_text(hover);
            }
            ui.with_layout(Layout::left_to_right(Align::Center), |ui| {
                let name = if cue.name.is_empty() { &cue.id } else { &cue.name };
                let text = RichText::new(name).color(if playing { Color32::WHITE } else { TEXT });
                ui.add(egui::Label::new(if playing { text.strong() } else { text }).truncate());
                if !cue.name.is_empty() && cue.name != cue.id {
                    ui.add(egui::Label::new(RichText::new(&cue.id).small().color(WEAK)).truncate());
                }
            });
        });
    });
    if let Some(elapsed) = cue.played {
        // Played and left, in numbers on either side of a bar of the cue's length.
        ui.horizontal(|ui| {
            ui.add_space(BADGE + ui.spacing().item_spacing.x);
            let mono = |text: String| RichText::new(text).monospace();
            match cue.length {
                Some(len) if len > 0.0 => {
                    ui.label(mono(times::cue_time(elapsed)))
                        .on_hover_text(format!("played, of {}", times::cue_time(len)));
                    ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                        let left = cue.left.unwrap_or(0.0);
                        ui.label(mono(format!("-{}", times::cue_time(left))).strong().color(Color32::WHITE))
                            .on_hover_text("left to play");
                        let (r, _) = ui.allocate_exact_size(Vec2::new(ui.available_width(), 8.0), Sense::hover());
                        ui.painter().rect_filled(r, CornerRadius::same(3), METER_TRACK);
                        let done = r.width() * (elapsed / len).clamp(0.0, 1.0) as f32;
                        let fill = egui::Rect::from_min_size(r.min, Vec2::new(done, r.height()));
                        ui.painter().rect_filled(fill, CornerRadius::same(3), PLAYING_BAR);
                    });
                }
                _ => {
                    ui.label(mono(times::cue_time(elapsed)));
                    ui.label(RichText::new("loops until stopped").color(WEAK));
                }
            }
        });
    }
}

/// A small label in a coloured box, of a fixed width so the rows line up.
fn badge(ui: &mut egui::Ui, text: &str, fill: Color32, color: Color32, width: f32) {
    let (rect, _) = ui.allocate_exact_size(Vec2::new(width, 20.0), Sense::hover());
    let painter = ui.painter();
    painter.rect_filled(rect, CornerRadius::same(4), fill);
    if fill == Color32::TRANSPARENT {
        painter.rect_stroke(
            rect,
            CornerRadius::same(4),
            Stroke::new(1.0, Color32::from_gray(70)),
            egui::StrokeKind::Inside,
        );
    }
    painter.text(rect.center(), Align2::CENTER_CENTER, text, FontId::proportional(11.5), color);
}

// ---------------------------------------------------------------------------------------------
// Meters
// ---------------------------------------------------------------------------------------------

/// What the meters show: each channel's level falling back slowly, and its peak held a moment.
/// A bar jumps up to each reading and falls back at `FALL_DB_PER_S`, so the picture stays steady
/// although the desk's readings are short peaks (the peak since its last look, a few ms).
#[derive(Default)]
struct Ballistics {
    /// Main L/R, bed L/R, cues L/R (dBFS).
    level: [f32; 6],
    hold: [(f32, f64); 6],
    last: Option<f64>,
}

impl Ballistics {
    fn update(&mut self, status: &DeskStatus, now: f64) {
        let m = &status.state.meters;
        let peaks = [m.main[0], m.main[1], m.bed[0], m.bed[1], m.cues[0], m.cues[1]];
        let dt = self.last.map_or(0.0, |last| (now - last).max(0.0)) as f32;
        if self.last.is_none() {
            self.level = [FLOOR_DB; 6];
            self.hold = [(FLOOR_DB, now); 6];
        }
        self.last = Some(now);
        for (i, peak) in peaks.into_iter().enumerate() {
            let db = 20.0 * peak.max(1e-6).log10();
            self.level[i] = db.max(self.level[i] - FALL_DB_PER_S * dt).max(FLOOR_DB);
            let (held, since) = self.hold[i];
            if db >= held || now - since > HOLD_S {
                self.hold[i] = (db.max(self.level[i]), now);
            }
        }
    }
}

impl SegueEditor {
    fn meters_section(&mut self, ui: &mut egui::Ui, status: &DeskStatus) {
        ui.horizontal(|ui| {
            section_label(ui, "Meters");
            if status.state.rate > 0 {
                ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                    let rate = format!("{:.1} kHz", status.state.rate as f64 / 1000.0);
                    ui.label(RichText::new(rate).small().color(WEAK))
                        .on_hover_text("The host's sample rate; the show's audio is resampled to it");
                });
            }
        });
        let small = FontId::proportional(11.5);
        // Below the bars, inside the picture: channel letters, bus names, held peaks.
        const BELOW: f32 = 58.0;
        const DUCK_ROW: f32 = 30.0;
        let width = ui.available_width();
        let height = (ui.available_height() - DUCK_ROW).max(120.0);
        let (rect, response) = ui.allocate_exact_size(Vec2::new(width, height), Sense::hover());
        let painter = ui.painter_at(rect);
        let scale_w = 34.0;
        let (bar_w, pair_gap, group_gap) = (13.0, 3.0, 16.0);
        let group_w = bar_w * 2.0 + pair_gap;
        let groups_w = group_w * 3.0 + group_gap * 2.0;
        let left = rect.left() + scale_w + ((width - scale_w - groups_w) / 2.0).max(4.0);
        let top = rect.top() + 22.0;
        let bottom = rect.bottom() - BELOW;
        let y = |db: f32| bottom - (db.clamp(FLOOR_DB, 0.0) - FLOOR_DB) / -FLOOR_DB * (bottom - top);

        // The scale: a line across the bars at each mark, its number on the left where there is
        // room for it (the top and the floor always).
        let scale_x = rect.left() + scale_w - 6.0;
        painter.text(egui::pos2(scale_x, rect.top() + 2.0), Align2::RIGHT_TOP, "dBFS", small.clone(), WEAK);
        let mut last_label = f32::NEG_INFINITY;
        for (m, mark) in MARKS_DB.into_iter().enumerate() {
            let my = y(mark);
            painter.line_segment(
                [egui::pos2(left - 4.0, my), egui::pos2(left + groups_w + 4.0, my)],
                Stroke::new(1.0, Color32::from_gray(52)),
            );
            let is_floor = m == MARKS_DB.len() - 1;
            let room = my - last_label >= 16.0 && (is_floor || y(FLOOR_DB) - my >= 16.0);
            if room || m == 0 || is_floor {
                painter.text(egui::pos2(scale_x, my), Align2::RIGHT_CENTER, format!("{mark:.0}"), small.clone(), WEAK);
                last_label = my;
            }
        }

        for (g, name) in ["Main", "Bed", "Cues"].into_iter().enumerate() {
            let gx = left + g as f32 * (group_w + group_gap);
            for ch in 0..2 {
                let i = g * 2 + ch;
                let x = gx + ch as f32 * (bar_w + pair_gap);
                let bar = egui::Rect::from_min_max(egui::pos2(x, top), egui::pos2(x + bar_w, bottom));
                painter.rect_filled(bar, CornerRadius::ZERO, METER_TRACK);
                let level = self.meters.level[i];
                for (from, to, color) in
                    [(FLOOR_DB, WARN_DB, METER_OK), (WARN_DB, HOT_DB, METER_WARN), (HOT_DB, 0.0, METER_HOT)]
                {
                    if level > from {
                        let seg =
                            egui::Rect::from_min_max(egui::pos2(x, y(level.min(to))), egui::pos2(x + bar_w, y(from)));
                        painter.rect_filled(seg, CornerRadius::ZERO, color);
                    }
                }
                let held = self.meters.hold[i].0;
                if held > FLOOR_DB {
                    let hy = y(held);
                    painter.line_segment(
                        [egui::pos2(x, hy), egui::pos2(x + bar_w, hy)],
                        Stroke::new(2.0, zone_colour(held)),
                    );
                }
                let letter = if ch == 0 { "L" } else { "R" };
                painter.text(
                    egui::pos2(x + bar_w / 2.0, bottom + 2.0),
                    Align2::CENTER_TOP,
                    letter,
                    small.clone(),
                    WEAK,
                );
            }
            let cx = gx + group_w / 2.0;
            painter.text(egui::pos2(cx, bottom + 17.0), Align2::CENTER_TOP, name, FontId::proportional(13.5), TEXT);
            // The held peak of the louder channel, in numbers.
            let held = self.meters.hold[g * 2].0.max(self.meters.hold[g * 2 + 1].0);
            let (text, color) = if held <= FLOOR_DB {
                ("-inf".to_string(), WEAK)
            } else {
                (format!("{held:.1}"), if held >= -0.1 { METER_HOT } else { TEXT })
            };
            painter.text(egui::pos2(cx, bottom + 37.0), Align2::CENTER_TOP, text, FontId::monospace(12.5), color);
        }
        painter.text(egui::pos2(scale_x, bottom + 37.0), Align2::RIGHT_TOP, "peak", small.clone(), WEAK);
        response.on_hover_text(
            "Peak level per channel (dBFS): green below -18, yellow to -6, red above; \
             the mark and the number hold the highest peak for a moment",
        );

        // The duck: how far the bed is pulled down under the cues.
        let duck = -status.state.meters.duck_db.min(0.0);
        ui.horizontal(|ui| {
            ui.label("Bed duck");
            let (r, _) = ui.allocate_exact_size(Vec2::new(60.0, 10.0), Sense::hover());
            ui.painter().rect_filled(r, CornerRadius::same(2), METER_TRACK);
            if duck > 0.05 {
                let w = (duck / DUCK_RANGE_DB).clamp(0.0, 1.0) * r.width();
                ui.painter().rect_filled(
                    egui::Rect::from_min_size(r.min, Vec2::new(w, r.height())),
                    CornerRadius::same(2),
                    DUCK,
                );
                ui.label(RichText::new(format!("-{duck:.1} dB")).color(DUCK));
            } else {
                ui.label(RichText::new("off").color(WEAK));
            }
        })
        .response
        .on_hover_text("How far the bed is turned down under the cues right now");
    }
}

fn zone_colour(db: f32) -> Color32 {
    if db > HOT_DB {
        METER_HOT
    } else if db > WARN_DB {
        METER_WARN
    } else {
        METER_OK
    }
}

// ---------------------------------------------------------------------------------------------
// Problems
// ---------------------------------------------------------------------------------------------

/// The problems' lines, one per problem (a refused show's report holds one problem per line).
fn problem_count(status: &DeskStatus) -> usize {
    status.problems.iter().flat_map(|p| p.lines()).filter(|l| !l.trim().is_empty()).count()
}

/// Shows the problems; returns whether "Hide" was pressed.
fn problems_section(ui: &mut egui::Ui, status: &DeskStatus, height: f32) -> bool {
    let mut hide = false;
    // Newest first; a refused show's report holds one problem per line.
    let problems: Vec<Problem> = status
        .problems
        .iter()
        .rev()
        .flat_map(|p| p.lines().filter(|l| !l.trim().is_empty()))
        .map(plain_problem)
        .collect();
    egui::Frame::new()
        .fill(PROBLEM_FILL)
        .stroke(Stroke::new(1.0, PROBLEM_STROKE))
        .corner_radius(CornerRadius::same(6))
        .inner_margin(Margin::symmetric(10, 6))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new(format!("PROBLEMS ({})", problems.len())).size(12.0).strong().color(PROBLEM_TEXT),
                );
                let hint = if problems.iter().any(|p| p.in_show_file) {
                    "Newest first. A show with problems is not loaded; the show before it keeps playing."
                } else {
                    "Newest first."
                };
                ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                    hide = ui.button("Hide").on_hover_text("Hide these problems until there is a new one").clicked();
                    ui.add(egui::Label::new(RichText::new(hint).small().color(PROBLEM_TEXT)).truncate());
                });
            });
            egui::ScrollArea::vertical().max_height(height).auto_shrink([false, true]).show(ui, |ui| {
                for problem in &problems {
                    ui.horizontal_top(|ui| {
                        ui.label(RichText::new("!").strong().color(METER_HOT));
                        ui.vertical(|ui| {
                            ui.add(egui::Label::new(RichText::new(&problem.what).color(PROBLEM_TEXT)).wrap());
                            if let Some(detail) = &problem.detail {
                                ui.add(
                                    egui::Label::new(
                                        RichText::new(detail).small().color(Color32::from_rgb(210, 160, 150)),
                                    )
                                    .wrap(),
                                );
                            }
                        });
                    });
                }
            });
        });
    hide
}

/// A problem as the editor shows it: what is wrong, and where.
#[derive(Debug, PartialEq)]
struct Problem {
    what: String,
    detail: Option<String>,
    /// It comes from a show file (so that show was not loaded).
    in_show_file: bool,
}

/// Rewrites a problem line in plain words. A show file's problems read
/// `<file>: <place in the JSON>: <message>`: the message comes first, paths in it relative to the
/// show's folder, and the place reads "scene 1 > cue 2 > file" instead of `scenes[0].cues[1].file`.
/// Other lines stay as they are.
fn plain_problem(line: &str) -> Problem {
    let line = line.trim();
    let Some((file, rest)) = line.split_once(".json: ").map(|(f, r)| (format!("{f}.json"), r)) else {
        return Problem { what: line.to_string(), detail: None, in_show_file: false };
    };
    let path = std::path::Path::new(&file);
    let name = path.file_name().map_or(file.clone(), |n| n.to_string_lossy().into_owned());
    let folder = path.parent().map(|d| d.display().to_string()).filter(|d| !d.is_empty());
    let (place, message) = match rest.split_once(": ") {
        Some((place, message)) if is_json_place(place) => (Some(plain_place(place)), message),
        _ => (None, rest),
    };
    let mut what = message.to_string();
    if let Some(folder) = &folder {
        what = what.replace(&format!("{folder}/"), "");
    }
    let what = plain_places_in(&what);
    let mut detail = format!("in {name}");
    if let Some(place) = place {
        detail.push_str(&format!(" at {place}"));
    }
    if let Some(folder) = folder {
        detail.push_str(&format!("  (folder {folder})"));
    }
    Problem { what: capitalise(&what), detail: Some(detail), in_show_file: true }
}

/// `scenes[0].cues[1].file`, `duck.depth_db`, `name`: a place in a show's JSON.
fn is_json_place(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|part| {
            let name = part.split('[').next().unwrap_or("");
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                && part[name.len()..]
                    .split_terminator(']')
                    .all(|i| i.strip_prefix('[').is_some_and(|n| n.parse::<u32>().is_ok()))
        })
}

/// `scenes[0].cues[1].file` as "scene 1 > cue 2 > file".
fn plain_place(place: &str) -> String {
    place
        .split('.')
        .map(|part| match part.split_once('[') {
            Some((name, index)) => {
                let n = index.trim_end_matches(']').parse::<u32>().map_or(0, |n| n + 1);
                let name = name.strip_suffix('s').unwrap_or(name);
                format!("{name} {n}")
            }
            None => part.replace('_', " "),
        })
        .collect::<Vec<_>>()
        .join(" > ")
}

/// Every `scenes[..]...` place inside a message, in plain words.
fn plain_places_in(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("scenes[") {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || "_.[]".contains(c))).unwrap_or(tail.len());
        let place = tail[..end].trim_end_matches('.');
        if is_json_place(place) {
            out.push_str(&plain_place(place));
        } else {
            out.push_str(place);
        }
        rest = &tail[place.len()..];
    }
    out.push_str(rest);
    out
}

/// A message starting with a plain word starts with a capital ("not valid JSON" → "Not valid
/// JSON"); one starting with a file name or a number stays as it is.
fn capitalise(text: &str) -> String {
    let first_word = text.split(' ').next().unwrap_or("");
    if !first_word.chars().all(|c| c.is_ascii_lowercase()) {
        return text.to_string();
    }
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_show_file_problem_reads_message_first_with_plain_places() {
        let p = plain_problem(
            "/shows/ep1/show.json: scenes[0].cues[1].file: /shows/ep1/audio/sting.wav: audio file not found \
             (also used at scenes[1].cues[0].file, scenes[3].cues[1].file)",
        );
        assert_eq!(
            p.what,
            "audio/sting.wav: audio file not found (also used at scene 2 > cue 1 > file, scene 4 > cue 2 > file)"
        );
        assert_eq!(p.detail.as_deref(), Some("in show.json at scene 1 > cue 2 > file  (folder /shows/ep1)"));
        assert!(p.in_show_file);
    }

    #[test]
    fn other_problems_stay_as_they_are() {
        let text = "00:12.000 GO: no manual cue is left";
        assert_eq!(plain_problem(text), Problem { what: text.into(), detail: None, in_show_file: false });
        let p = plain_problem("/x/show.json: not valid JSON: line 3, column 1: expected value");
        assert_eq!(p.what, "Not valid JSON: line 3, column 1: expected value");
        assert_eq!(p.detail.as_deref(), Some("in show.json  (folder /x)"));
    }

    #[test]
    fn notes_and_times_read_as_musicians_write_them() {
        assert_eq!(note_name(60), "C4");
        assert_eq!(note_name(12), "C0");
        assert_eq!(note_name(13), "C#0");
        assert_eq!(times::cue_time(3.04), "0:03.0");
        assert_eq!(times::cue_time(71.96), "1:11.9");
        assert_eq!(times::cue_time(3725.0), "1:02:05.0");
    }
}
