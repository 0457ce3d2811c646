//! Segue: a real-time audio cue player for score beds and song cues.
//!
//! The folders follow the threads:
//! - `show`: the show file (control side).
//! - `engine`: the audio thread; nothing there allocates, locks or does I/O.
//! - `stream`: files, decoding, resampling and the loader thread.
//! - `control`: the one API every front end uses to drive the engine.
//! - `render`: the offline bounce, the same engine driven from the show's timeline.
//! - `plugin`: the CLAP / VST3 plugin (nice-plug), its desk thread and editor.

pub mod app;
pub mod control;
pub mod deliver;
pub mod engine;
pub mod mix;
pub mod plugin;
pub mod render;
pub mod show;
pub mod stream;
