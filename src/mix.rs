//! The words the show file and the engine share (any thread: plain values and constants): fade
//! curves, where a transition may start, and the limits of a gain. Both `show` and `engine`
//! read them from here, so neither reaches into the other: the dependencies run one way, from
//! the show file and the control side down to the audio thread.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The shape of a fade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Curve {
    Linear,
    #[default]
    EqualPower,
    SCurve,
}

/// Where a transition may start: at once, or on the outgoing bed's next beat or bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Quantize {
    #[default]
    None,
    Beat,
    Bar,
}

/// The loudest a level (master, bed, cues) can be set to, in dB: a command asking for more
/// gets this (a show's gains stop at the same +24 dB).
pub const MAX_LEVEL_DB: f32 = 24.0;

/// The level at and below which a gain is silence, in dB (also the quietest gain or duck depth
/// a show may write).
pub const SILENCE_DB: f32 = -144.0;
