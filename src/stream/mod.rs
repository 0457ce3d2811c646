//! The file side: everything that touches the disk (loader thread and control side, never the
//! audio thread).
//!
//! - `probe`: reads an audio file's header (validation, `segue check`).
//! - `decode`: every format but plain WAV, through symphonia: gapless, frame-exact seeks, folded
//!   to stereo.
//! - `source`: decodes a clip, follows its loop and resamples it to the engine rate.
//! - `loader`: the loader thread that arms the engine with preloaded feeds and keeps playing
//!   feeds' ring buffers ahead.
//!
//! Why not creek: creek streams a file at its own rate into the audio thread and leaves
//! resampling and loop seams to the reader; Segue resamples on the loader thread (the audio
//! thread only copies), needs a loop seam that is continuous *through* the resampler, and needs a
//! shared preloaded head with a tail that continues the same resampled stream. That is the part
//! creek would not have done for us, so the loader owns it.

pub mod decode;
pub mod loader;
pub mod probe;
pub mod source;
