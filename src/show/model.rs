//! The show file's data model, format `segue-show/1` (control side; never on the audio thread).
//!
//! These types are the public JSON format: field names are stable. `show::load` validates the
//! raw JSON first (reporting every problem with its JSON path), then deserializes into these.
//! Documented for users in `docs/show-format.md`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::credits::{Credits, Production};
use super::time::Seconds;
/// Fade curves and quantized transitions are the engine's words too (`crate::mix`).
pub use crate::mix::{Curve, Quantize};

/// The format tag every show file carries.
pub const FORMAT: &str = "segue-show/1";

/// A whole show: scenes on a timeline, each with a score bed and song cues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Show {
    /// Always `"segue-show/1"`.
    #[schemars(extend("const" = "segue-show/1"))]
    pub format: String,
    /// The show's title, e.g. "Episode 1".
    #[serde(default)]
    pub name: String,
    /// The production it is the music of: the cue sheet's header and picture rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production: Option<Production>,
    /// Timeline position where everything fades out (the panic fade) and a render stops.
    /// Without it, the render runs until the last timed sound has ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Seconds>,
    /// The show's master level in dB (the mix as a whole, under the operator's master fader,
    /// which starts at 0 dB): where loudness advice ("lower the master by 9.0 dB") is followed.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[schemars(range(min = -144, max = 24))]
    pub master_db: f64,
    /// Default ducking of the bed under song cues.
    #[serde(default)]
    pub duck: Duck,
    /// Length of the panic fade in milliseconds (a second panic during it cuts at once).
    #[serde(default = "default_panic_ms")]
    #[schemars(range(min = 0, max = 86_400_000))]
    pub panic_ms: f64,
    /// The scenes, in show order (GO and "next scene" follow this order).
    pub scenes: Vec<Scene>,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn default_panic_ms() -> f64 {
    1000.0
}

/// How the bed ducks while song cues sound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Duck {
    /// How far the bed goes down while a cue sounds, in dB (0 = no ducking).
    #[serde(default = "default_duck_depth")]
    #[schemars(range(min = -144, max = 0))]
    pub depth_db: f64,
    /// Time to reach the full depth, in milliseconds.
    #[serde(default = "default_duck_attack")]
    #[schemars(range(min = 0, max = 86_400_000))]
    pub attack_ms: f64,
    /// Time to come fully back after the last ducking cue ends, in milliseconds.
    #[serde(default = "default_duck_release")]
    #[schemars(range(min = 0, max = 86_400_000))]
    pub release_ms: f64,
}

fn default_duck_depth() -> f64 {
    -12.0
}
fn default_duck_attack() -> f64 {
    200.0
}
fn default_duck_release() -> f64 {
    1000.0
}

impl Default for Duck {
    fn default() -> Self {
        Duck { depth_db: default_duck_depth(), attack_ms: default_duck_attack(), release_ms: default_duck_release() }
    }
}

/// A scene: a stretch of the show with its own score bed and song cues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scene {
    /// Unique id among scenes.
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Position on the show timeline; without it the scene is entered only by command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Seconds>,
    /// MIDI note (0..=127) that enters this scene.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 127))]
    pub note: Option<u8>,
    /// The score bed; a scene without one fades the playing bed out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bed: Option<Bed>,
    /// How the previous bed gives way to this scene's bed.
    #[serde(default)]
    pub transition: Transition,
    #[serde(default)]
    pub cues: Vec<Cue>,
}

/// The instrumental underscore that runs under a scene, usually looping.
///
/// (Unknown fields are refused by `show::load` before this is read; serde cannot refuse them
/// with the flattened credits.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(extend("additionalProperties" = false))]
pub struct Bed {
    /// Audio file, relative to the show file.
    pub file: String,
    #[serde(default)]
    #[schemars(range(min = -144, max = 24))]
    pub gain_db: f64,
    /// Beds loop by default.
    #[serde(default = "yes", rename = "loop")]
    pub looping: bool,
    /// Loop points in the file (defaults: the file's start and end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loop_start: Option<Seconds>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loop_end: Option<Seconds>,
    /// Tempo and meter, for transitions quantized to the beat or bar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0), range(max = 1000))]
    pub tempo_bpm: Option<f64>,
    #[serde(default = "four")]
    #[schemars(range(min = 1))]
    pub beats_per_bar: u32,
    /// Title, writers, publishers and codes, for the cue sheet.
    #[serde(flatten)]
    pub credits: Credits,
}

fn yes() -> bool {
    true
}
fn four() -> u32 {
    4
}

/// A crossfade between beds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    #[serde(default = "default_fade_ms")]
    #[schemars(range(min = 0, max = 86_400_000))]
    pub fade_ms: f64,
    #[serde(default)]
    pub curve: Curve,
    #[serde(default)]
    pub quantize: Quantize,
}

fn default_fade_ms() -> f64 {
    2000.0
}

impl Default for Transition {
    fn default() -> Self {
        Transition { fade_ms: default_fade_ms(), curve: Curve::EqualPower, quantize: Quantize::None }
    }
}

/// What starting a cue that is already playing does (a GO, its note, a command).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Retrigger {
    /// It starts again from its beginning; the running one gets out of the way with a de-click.
    #[default]
    Restart,
    /// It plays on; the start is ignored.
    Ignore,
}

/// A song cue: a piece of the soundtrack placed at a moment of a scene.
///
/// (Unknown fields are refused by `show::load` before this is read; serde cannot refuse them
/// with the flattened credits.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(extend("additionalProperties" = false))]
pub struct Cue {
    /// Unique id among all cues of the show.
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Cue number, unique in either case: as on a QLab cue list ("12", "12.5") or a film cue
    /// number ("1M1", "2M14A", "101-3"): letters, digits, dots and dashes, up to 16. Shown
    /// beside the title on the cue sheet and in the console; OSC names a cue by it, and MIDI
    /// Show Control's GO and STOP by a number of digits and dots (MSC carries no letters).
    /// Without one, MSC can name the cue by its id when that is a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// Audio file, relative to the show file.
    pub file: String,
    /// Offset from the scene's start at which the cue starts on the timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Seconds>,
    /// MIDI note (0..=127) that starts this cue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 127))]
    pub note: Option<u8>,
    /// Start automatically after another cue ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow: Option<Follow>,
    #[serde(default)]
    #[schemars(range(min = -144, max = 24))]
    pub gain_db: f64,
    /// -1 (left) .. 1 (right); 0 leaves the file's level unchanged.
    #[serde(default)]
    #[schemars(range(min = -1, max = 1))]
    pub pan: f64,
    #[serde(default)]
    #[schemars(range(min = 0, max = 86_400_000))]
    pub fade_in_ms: f64,
    /// Fade at the end; it ends at `end` (or the file's end).
    #[serde(default)]
    #[schemars(range(min = 0, max = 86_400_000))]
    pub fade_out_ms: f64,
    /// In point in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Seconds>,
    /// Out point in the file (default: the file's end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Seconds>,
    /// Loop between `start` and `end`.
    #[serde(default, rename = "loop")]
    pub looping: bool,
    /// How far the bed ducks while this cue sounds, in dB (0 = not at all; default: the show's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -144, max = 0))]
    pub duck_db: Option<f64>,
    /// Overrides of the show's duck attack and release for this cue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86_400_000))]
    pub duck_attack_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86_400_000))]
    pub duck_release_ms: Option<f64>,
    /// Starting the cue while it plays: `restart` or `ignore`.
    #[serde(default)]
    pub retrigger: Retrigger,
    /// Title, writers, publishers, usage code, for the cue sheet.
    #[serde(flatten)]
    pub credits: Credits,
}

/// Start `wait_ms` after the cue named by `after` has ended (played its last sample).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Follow {
    pub after: String,
    #[serde(default)]
    #[schemars(range(min = 0, max = 86_400_000))]
    pub wait_ms: f64,
}
