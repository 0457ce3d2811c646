//! A voice's audio supply (audio thread reads it; the loader thread builds and refills it).
//!
//! A `Feed` is the preloaded head of a clip (shared, immutable, in memory) followed by a tail
//! ring buffer the loader keeps ahead of the play position. Frames are at the engine rate,
//! interleaved, one or two channels. The audio thread reads without waiting: what is not there
//! yet is played as silence and counted as an underrun, and the late frames are skipped when
//! they arrive so the voice stays in time.

use std::sync::Arc;

/// The first stretch of a clip, decoded and resampled before it can be started.
#[derive(Debug)]
pub struct Head {
    pub samples: Box<[f32]>,
    pub channels: u16,
}

impl Head {
    pub fn frames(&self) -> u64 {
        (self.samples.len() / self.channels as usize) as u64
    }
}

/// Everything a voice needs to play one clip from its start (or from an offset).
pub struct Feed {
    pub head: Arc<Head>,
    pub tail: rtrb::Consumer<f32>,
    pub channels: u16,
    /// Frames the voice plays in all; `None` plays until stopped (loops).
    pub length: Option<u64>,
    /// Frames read so far (head and tail together).
    pos: u64,
    /// `head.frames()`, kept here: asking the head would touch its allocation (a cache miss per
    /// voice and block) and divide.
    head_frames: u64,
    /// Frames of the tail that were due but missing, still to be skipped when they arrive.
    debt: u64,
}

impl Feed {
    pub fn new(head: Arc<Head>, tail: rtrb::Consumer<f32>, length: Option<u64>) -> Self {
        let (channels, head_frames) = (head.channels, head.frames());
        Feed { head, tail, channels, length, pos: 0, debt: 0, head_frames }
    }

    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Moves the play position `frames` ahead without playing them (the voice waited for this
    /// feed): they are dropped from the tail as they arrive.
    pub fn skip(&mut self, frames: u64) {
        let head_left = self.head_frames.saturating_sub(self.pos);
        let from_head = frames.min(head_left);
        self.pos += frames;
        self.debt += frames - from_head;
    }

    /// Frames left before the clip's natural end (`u64::MAX` for a loop).
    pub fn remaining(&self) -> u64 {
        match self.length {
            Some(len) => len.saturating_sub(self.pos),
            None => u64::MAX,
        }
    }

    /// Frames that can be read now without an underrun.
    pub fn ready_frames(&self) -> u64 {
        let ch = self.channels as u64;
        let head_left = self.head_frames.saturating_sub(self.pos);
        let tail = (self.tail.slots() as u64 / ch).saturating_sub(self.debt);
        head_left + tail
    }

    /// Asks the processor to bring the next `frames` frames into its cache, without reading
    /// them: the engine asks for every voice's block before it mixes the first, so the misses
    /// on the lines the loader wrote (on another core, often a second ago) are waited for
    /// together rather than one voice after another.
    #[inline]
    pub fn prefetch(&mut self, frames: usize) {
        let ch = self.channels as usize;
        let head_frames = self.head_frames;
        let mut left = frames;
        if self.pos < head_frames {
            let start = self.pos as usize;
            let n = left.min((head_frames - self.pos) as usize);
            prefetch(&self.head.samples[start * ch..(start + n) * ch]);
            left -= n;
        }
        if left == 0 || self.debt > 0 {
            return;
        }
        // Uncommitted, a chunk reads nothing: the ring stays as it is. A ring that seems short
        // of the block is not asked again (that would read the index the loader writes).
        if let Ok(chunk) = self.tail.read_chunk(left * ch) {
            let (a, b) = chunk.as_slices();
            prefetch(a);
            prefetch(b);
        }
    }

    /// Hands the next `frames` frames to `sink` as one or more interleaved slices, in order;
    /// missing frames are handed as `None` (silence). Returns the frames that were missing.
    #[inline]
    pub fn read(&mut self, frames: usize, mut sink: impl FnMut(Option<&[f32]>, usize)) -> usize {
        let ch = self.channels as usize;
        let mut left = frames;
        // Head first.
        let head_frames = self.head_frames;
        if self.pos < head_frames && left > 0 {
            let start = self.pos as usize;
            let n = left.min((head_frames - self.pos) as usize);
            sink(Some(&self.head.samples[start * ch..(start + n) * ch]), n);
            self.pos += n as u64;
            left -= n;
        }
        if left == 0 {
            return 0;
        }
        // Skip frames that arrived too late to be played.
        if self.debt > 0 {
            let have = self.tail.slots() / ch;
            let skip = (self.debt as usize).min(have);
            if skip > 0 {
                if let Ok(chunk) = self.tail.read_chunk(skip * ch) {
                    chunk.commit_all();
                }
                self.debt -= skip as u64;
            }
        }
        if self.debt == 0 {
            // `read_chunk` trusts the ring's cached fill level when it is enough, so a voice that
            // is well fed does not touch the line the loader writes on every block.
            let chunk = match self.tail.read_chunk(left * ch) {
                Ok(chunk) => Some(chunk),
                Err(rtrb::chunks::ChunkError::TooFewSlots(have)) if have >= ch => {
                    self.tail.read_chunk(have - have % ch).ok()
                }
                Err(_) => None,
            };
            if let Some(chunk) = chunk {
                let n = chunk.len() / ch;
                let (a, b) = chunk.as_slices();
                sink(Some(a), a.len() / ch);
                if !b.is_empty() {
                    sink(Some(b), b.len() / ch);
                }
                chunk.commit_all();
                self.pos += n as u64;
                left -= n;
            }
        }
        if left > 0 {
            sink(None, left);
            self.pos += left as u64;
            self.debt += left as u64;
        }
        left
    }
}

/// Bytes in a cache line (64 on every x86-64 and most ARM processors; where it is larger, a
/// line is asked for twice, which costs nothing).
const LINE: usize = 64;

/// A prefetch hint for every cache line of `samples` (no-op off x86-64).
#[inline]
fn prefetch(samples: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let bytes = std::mem::size_of_val(samples);
        let start = samples.as_ptr() as *const i8;
        let mut at = 0;
        while at < bytes {
            // SAFETY: SSE is in every x86-64 processor; a prefetch is a hint that never faults
            // and changes no data, whatever the address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(at)) };
            at += LINE;
        }
        if bytes > 0 {
            // The last line, where the slice does not start on a line.
            // SAFETY: as above.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(bytes - 1)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = samples;
}
