//! The bed's duck envelope (audio thread).
//!
//! While ducking cues sound, the bed moves in a straight line in dB toward the deepest active
//! depth, reaching it within that cue's attack time; when the target rises (the last ducking cue
//! ended, or only shallower ones are left) it returns within the release time.

use crate::engine::fade::db_to_gain;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Duck {
    db: f32,
    target: f32,
    step: f32,
    remaining: u32,
    gain: f32,
}

impl Default for Duck {
    fn default() -> Self {
        Duck { db: 0.0, target: 0.0, step: 0.0, remaining: 0, gain: 1.0 }
    }
}

impl Duck {
    /// Heads for `target_db`: over `attack` frames if that is deeper, else over `release`.
    pub fn set_target(&mut self, target_db: f32, attack: u32, release: u32) {
        if target_db == self.target {
            return;
        }
        self.target = target_db;
        let frames = if target_db < self.db { attack } else { release }.max(1);
        self.remaining = frames;
        self.step = (target_db - self.db) / frames as f32;
    }

    /// Moves `frames` frames on, frame by frame as `tick` does (so the levels after are the
    /// same to the bit); a steady duck stays put at once.
    pub fn advance(&mut self, frames: u64) {
        for _ in 0..frames.min(self.remaining as u64) {
            self.tick();
        }
    }

    pub fn is_steady(&self) -> bool {
        self.remaining == 0
    }

    /// The bed gain for the next frame.
    #[inline]
    pub fn tick(&mut self) -> f32 {
        if self.remaining > 0 {
            self.remaining -= 1;
            self.db = if self.remaining == 0 { self.target } else { self.db + self.step };
            self.gain = db_to_gain(self.db);
        }
        self.gain
    }

    pub fn gain(&self) -> f32 {
        self.gain
    }

    pub fn db(&self) -> f32 {
        self.db
    }
}
