//! The plugin's parameters and persisted state (read on the audio thread through atomics; the
//! persisted fields are read and written by the host on its main thread).

use std::sync::{Arc, Mutex};

use nice_plug::prelude::*;
use nice_plug_egui::EguiEditorState;
use serde::{Deserialize, Serialize};

/// The format tag of the persisted show.
pub const STATE_FORMAT: &str = "segue-plugin-state/1";

/// The show as the host saves it with the project: its JSON and the folder its relative paths
/// resolve against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedShow {
    pub format: String,
    /// Where the show was loaded from (for the editor and messages).
    pub path: String,
    pub dir: String,
    pub json: String,
}

/// MIDI settings that are not automatable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MidiSettings {
    /// Note that fires GO (the next manual cue).
    pub go_note: u8,
    /// Note that panics (fade all; again during the fade: cut).
    pub panic_note: u8,
}

impl Default for MidiSettings {
    fn default() -> Self {
        // C0 and C#0: below the notes shows usually give scenes (36..) and cues (60..).
        MidiSettings { go_note: 12, panic_note: 13 }
    }
}

/// Defaults of the duck overrides: at its default a parameter leaves the show's setting alone.
pub const DUCK_DEPTH_DEFAULT: f32 = -12.0;
pub const DUCK_ATTACK_DEFAULT: f32 = 200.0;
pub const DUCK_RELEASE_DEFAULT: f32 = 1000.0;

#[derive(Params)]
pub struct SegueParams {
    /// The editor's window size (not saved with the project).
    pub editor_state: Arc<EguiEditorState>,
    #[persist = "show"]
    pub show: Arc<Mutex<Option<SavedShow>>>,
    #[persist = "midi"]
    pub midi: Arc<Mutex<MidiSettings>>,

    #[id = "master"]
    pub master: FloatParam,
    #[id = "bed"]
    pub bed: FloatParam,
    #[id = "cues"]
    pub cues: FloatParam,
    /// Overrides the show's duck depth while not at its default.
    #[id = "duck_depth"]
    pub duck_depth: FloatParam,
    #[id = "duck_attack"]
    pub duck_attack: FloatParam,
    #[id = "duck_release"]
    pub duck_release: FloatParam,
    /// 0: no scene asked for; N: enter scene N (in show order) with its transition.
    #[id = "scene"]
    pub scene: IntParam,
    /// Follow the host's transport with the show timeline.
    #[id = "chase"]
    pub chase: BoolParam,
}

fn level(name: &str) -> FloatParam {
    // The engine smooths every level change itself (20 ms), so no smoother here.
    FloatParam::new(name, 0.0, FloatRange::Linear { min: -60.0, max: 12.0 })
        .with_unit(" dB")
        .with_step_size(0.1)
        .with_value_to_string(formatters::v2s_f32_rounded(1))
}

fn millis(name: &str, default: f32, max: f32) -> FloatParam {
    FloatParam::new(name, default, FloatRange::Skewed { min: 0.0, max, factor: FloatRange::skew_factor(-1.0) })
        .with_unit(" ms")
        .with_step_size(1.0)
        .with_value_to_string(formatters::v2s_f32_rounded(0))
}

impl Default for SegueParams {
    fn default() -> Self {
        SegueParams {
            editor_state: EguiEditorState::from_size(nice_plug::editor::dpi::LogicalSize::new(720.0, 520.0), 1.0),
            show: Arc::new(Mutex::new(None)),
            midi: Arc::new(Mutex::new(MidiSettings::default())),
            master: level("Master level"),
            bed: level("Bed level"),
            cues: level("Cue level"),
            duck_depth: FloatParam::new("Duck depth", DUCK_DEPTH_DEFAULT, FloatRange::Linear { min: -60.0, max: 0.0 })
                .with_unit(" dB")
                .with_step_size(0.1)
                .with_value_to_string(formatters::v2s_f32_rounded(1)),
            duck_attack: millis("Duck attack", DUCK_ATTACK_DEFAULT, 5000.0),
            duck_release: millis("Duck release", DUCK_RELEASE_DEFAULT, 10000.0),
            scene: IntParam::new("Scene", 0, IntRange::Linear { min: 0, max: 128 })
                .with_value_to_string(Arc::new(|n| if n == 0 { "none".to_string() } else { format!("scene {n}") }))
                .with_string_to_value(Arc::new(|s| {
                    let s = s.trim();
                    if s.eq_ignore_ascii_case("none") {
                        Some(0)
                    } else {
                        s.trim_start_matches("scene").trim().parse().ok()
                    }
                })),
            chase: BoolParam::new("Chase", true),
        }
    }
}
