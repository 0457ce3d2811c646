//! LTC out (audio thread): the show's timeline as LTC on an output channel (`--patch ltc=N`),
//! so a video player, a lighting desk or a second Segue can follow Segue. Each LTC frame starts
//! on the audio frame where its picture frame starts on the timeline (the production's
//! `start_timecode` at the show's 0, or `--chase-offset`): written beside the mix, in the same
//! buffer, aligned to the sample. Silent while the transport is stopped; a jump starts the
//! timecode again where it jumped to, part-way into its frame.
//!
//! libltc's encoder writes into memory it allocated at creation: nothing here allocates.

use crate::app::sync::libltc::{Encoder, Label};
use crate::show::timecode::{FrameRate, Timecode};

/// The largest LTC frame, in samples (24 fps at 192 kHz is 8000).
const MOST: usize = 8192;

/// LTC written from the timeline.
pub struct LtcOut {
    enc: Encoder,
    rate: FrameRate,
    /// Audio frames from timecode 00:00:00:00 to the show's 0.
    zero: f64,
    /// Audio frames per timecode frame.
    per_frame: f64,
    frame: Box<[f32]>,
    len: usize,
    read: usize,
    /// The timeline frame the next sample is for (`None`: stopped, or not yet started).
    next: Option<u64>,
}

impl LtcOut {
    /// LTC at the production's `zero.rate`, the show's 0 at `zero`, for audio at `sample_rate`,
    /// at -18 dBFS (a line level a video deck or desk reads).
    pub fn new(zero: Timecode, sample_rate: u32) -> LtcOut {
        let rate = zero.rate;
        let (num, den) = rate.ratio();
        let per_frame = sample_rate as f64 * den as f64 / num as f64;
        LtcOut {
            enc: Encoder::new(sample_rate as f64, rate, -18.0),
            rate,
            zero: zero.frames as f64 * per_frame,
            per_frame,
            frame: vec![0.0; MOST].into_boxed_slice(),
            len: 0,
            read: 0,
            next: None,
        }
    }

    /// Writes `frames` samples to `channel` of the interleaved `out` for the timeline frames
    /// from `position` (when `playing`; silence when stopped).
    pub fn write(&mut self, out: &mut [f32], channels: usize, channel: usize, playing: bool, position: u64) {
        if channel >= channels {
            return;
        }
        if !playing {
            self.next = None;
            return;
        }
        for (i, frame) in out.chunks_exact_mut(channels).enumerate() {
            frame[channel] = self.sample(position + i as u64);
        }
    }

    fn sample(&mut self, position: u64) -> f32 {
        if self.next != Some(position) {
            self.start_at(position);
        }
        if self.read >= self.len {
            self.encode();
        }
        self.next = Some(position + 1);
        let s = self.frame.get(self.read).copied().unwrap_or(0.0);
        self.read += 1;
        s
    }

    /// The timecode frame `position` falls in, and how far into it.
    fn start_at(&mut self, position: u64) {
        let from_zero = self.zero + position as f64;
        let count = (from_zero / self.per_frame).floor();
        let into = ((from_zero - count * self.per_frame).round() as usize).min(MOST);
        self.enc.set(Label::of(count as u64, self.rate));
        self.encode();
        self.read = into;
    }

    fn encode(&mut self) {
        let (frame, len) = (&mut self.frame, &mut self.len);
        *len = 0;
        self.enc.frame(|bytes| {
            let n = bytes.len().min(MOST);
            for (d, &b) in frame[..n].iter_mut().zip(bytes) {
                *d = Encoder::sample(b);
            }
            *len = n;
        });
        self.read = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::sync::libltc::Decoder;

    /// `frames` of LTC out from timeline `position`, written in buffers of `block`.
    fn written(zero: &str, rate: FrameRate, position: u64, frames: usize, block: usize) -> Vec<f32> {
        let mut out = LtcOut::new(Timecode::parse(zero, rate).unwrap(), 48_000);
        let mut all = vec![0.0; frames * 2];
        for (b, chunk) in all.chunks_mut(block * 2).enumerate() {
            out.write(chunk, 2, 1, true, position + (b * block) as u64);
        }
        all.into_iter().skip(1).step_by(2).collect()
    }

    #[test]
    fn each_frame_starts_where_its_picture_frame_starts_on_the_timeline_whatever_the_buffer() {
        let rate = FrameRate::Fps25;
        // 5 s into the show (01:00:05:00), part-way into a frame: 700 samples in.
        let position = 5 * 48_000 + 700;
        let a = written("01:00:00:00", rate, position, 48_000, 256);
        let b = written("01:00:00:00", rate, position, 48_000, 37);
        assert_eq!(a, b, "the same timecode whatever the buffer size");
        let mut dec = Decoder::new(1920);
        dec.write(&a, position as i64);
        let mut heard = 0;
        while let Some(h) = dec.read() {
            let count = h.label.count(25, false);
            // Timeline frame of the LTC frame's start: (count - 01:00:00:00) frames of 1920.
            let expected = (count - 90_000) as i64 * 1920;
            assert!((h.start - expected).abs() <= 2, "{:?} starts at {} not {expected}", h.label, h.start);
            heard += 1;
        }
        assert!(heard >= 23, "{heard} frames heard in a second");
    }
}
