//! Shows: the `segue-show/1` file format, its loading and validation (control side; nothing here
//! runs on the audio thread).
//!
//! A show file is JSON: scenes on a timeline, each with a score bed (usually looping, crossfaded
//! on scene changes) and song cues (started by the timeline, a MIDI note, another cue ending, or
//! GO), plus how the bed ducks under the cues. The format is documented for users in
//! `docs/show-format.md`; `segue schema` prints its JSON Schema.
//!
//! - [`model`]: the serde types (`Show`, `Scene`, `Bed`, `Cue`, ...): the format itself.
//! - [`credits`]: the production header and each piece's title, writers and publishers (for
//!   cue sheets), and what `segue check` warns a cue sheet would lack.
//! - [`timecode`]: SMPTE timecode at the production's frame rate (drop-frame included).
//! - [`time`]: times written as seconds or `"HH:MM:SS.mmm"` / `"MM:SS.mmm"`.
//! - [`files`]: refuses paths that name a folder, a FIFO or a device before anything reads them.
//! - [`load`]: reads a show file, validates it (every problem at once, each with its JSON path)
//!   and probes its audio files.
//! - [`schema`]: the JSON Schema of the format.
//! - [`summary`]: the human summary `segue check` prints.

pub mod credits;
pub mod files;
pub mod load;
pub mod model;
pub mod schema;
pub mod summary;
pub mod time;
pub mod timecode;

pub use load::{from_json, from_json_with, load, load_with, Broken, Problem, ShowErrors, ShowFile};
pub use model::*;
pub use time::Seconds;
