//! Gain smoothing and curved fades (audio thread).
//!
//! Every gain the listener can hear change goes through one of these, evaluated per frame, so a
//! change never clicks and the result does not depend on where blocks are split.

use crate::show::Curve;

/// Linear smoothing of a gain toward a target over a fixed time: for level changes.
#[derive(Debug, Clone, Copy)]
pub struct Ramp {
    value: f32,
    target: f32,
    step: f32,
    remaining: u32,
}

impl Ramp {
    pub fn new(value: f32) -> Self {
        Ramp { value, target: value, step: 0.0, remaining: 0 }
    }

    /// Moves to `target` over `frames` frames (at least one).
    pub fn set(&mut self, target: f32, frames: u32) {
        let frames = frames.max(1);
        self.target = target;
        self.remaining = frames;
        self.step = (target - self.value) / frames as f32;
    }

    pub fn is_steady(&self) -> bool {
        self.remaining == 0
    }

    pub fn value(&self) -> f32 {
        self.value
    }

    pub fn target(&self) -> f32 {
        self.target
    }

    /// The gain for the next frame.
    #[inline]
    pub fn tick(&mut self) -> f32 {
        if self.remaining > 0 {
            self.remaining -= 1;
            self.value = if self.remaining == 0 { self.target } else { self.value + self.step };
        }
        self.value
    }

    /// The gains for the next `out.len()` frames: the very values `tick` would give, a steady
    /// stretch written at once.
    #[inline]
    pub fn fill(&mut self, out: &mut [f32]) {
        let moving = (self.remaining as usize).min(out.len());
        for g in &mut out[..moving] {
            *g = self.tick();
        }
        out[moving..].fill(self.value);
    }
}

/// A fade in progress at a seek position (see `Envelope::resume`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resume {
    pub from: f32,
    pub to: f32,
    pub curve: Curve,
    pub done: u32,
    pub len: u32,
}

/// Curved fades are evaluated exactly every `ANCHOR` frames and in straight lines between:
/// a sine per frame and voice would cost more than the mixing itself, and the difference from
/// the exact curve stays below -55 dB for any fade (it is largest, about 0.1 %, for short fades).
const ANCHOR: u32 = 64;

/// A fade between two levels along a curve, or a steady level.
///
/// Every frame's level is a pure function of the frames done, so splitting a fade across blocks
/// of any size gives the same levels.
#[derive(Debug, Clone, Copy)]
pub struct Envelope {
    from: f32,
    to: f32,
    curve: Curve,
    /// Frames done and the fade's length; `len == 0` means steady at `to`.
    done: u32,
    len: u32,
    /// The exact levels at the anchors around `done`: (first anchor, its level, next level).
    anchor: (u32, f32, f32),
}

impl Envelope {
    pub fn steady(level: f32) -> Self {
        Envelope { from: level, to: level, curve: Curve::Linear, done: 0, len: 0, anchor: (u32::MAX, level, level) }
    }

    /// Starts a fade from the current level to `to` over `frames` frames.
    ///
    /// The first frame after the call already moved one step, so a fade-in from silence sounds on
    /// its first frame (a cue's onset is the frame it was asked for).
    pub fn fade_to(&mut self, to: f32, frames: u32, curve: Curve) {
        let from = self.level();
        if frames == 0 {
            *self = Envelope::steady(to);
            return;
        }
        *self = Envelope { from, to, curve, done: 0, len: frames, anchor: (u32::MAX, from, from) };
    }

    /// A fade from `from` to `to` over `len` frames with `done` of them already played: where a
    /// fade in progress is picked up after a seek. Its levels from here on are the same as those
    /// of the fade started from its beginning.
    pub fn resume(from: f32, to: f32, curve: Curve, done: u32, len: u32) -> Self {
        if done >= len {
            return Envelope::steady(to);
        }
        Envelope { from, to, curve, done, len, anchor: (u32::MAX, from, from) }
    }

    pub fn is_steady(&self) -> bool {
        self.len == 0
    }

    /// The level reached so far.
    pub fn level(&self) -> f32 {
        if self.len == 0 {
            self.to
        } else {
            let base = self.done - self.done % ANCHOR;
            let (v0, v1) = (self.exact(base), self.exact((base + ANCHOR).min(self.len)));
            self.between(base, v0, v1, self.done)
        }
    }

    /// The level it is heading for.
    pub fn target(&self) -> f32 {
        self.to
    }

    /// Frames left in the running fade.
    pub fn remaining(&self) -> u32 {
        self.len - self.done
    }

    /// The curve itself at `done` frames.
    fn exact(&self, done: u32) -> f32 {
        let x = done as f32 / self.len as f32;
        let rising = self.to >= self.from;
        // Shapes are written for a fade in; a fade out uses the mirror image, so an equal-power
        // crossfade pairs sin with cos and their powers sum to one.
        let shape = match (self.curve, rising) {
            (Curve::Linear, _) => x,
            (Curve::EqualPower, true) => (x * std::f32::consts::FRAC_PI_2).sin(),
            (Curve::EqualPower, false) => 1.0 - ((x * std::f32::consts::FRAC_PI_2).cos()),
            (Curve::SCurve, _) => 0.5 - 0.5 * (x * std::f32::consts::PI).cos(),
        };
        self.from + (self.to - self.from) * shape
    }

    /// Makes `base` the current anchor. The level at an anchor is the one the segment before
    /// ended on, so moving on to the next anchor takes one curve evaluation, not two.
    #[inline]
    fn move_anchor(&mut self, base: u32) {
        let (at, _, next) = self.anchor;
        if at == base {
            return;
        }
        let v0 = if at != u32::MAX && at + ANCHOR == base { next } else { self.exact(base) };
        self.anchor = (base, v0, self.exact((base + ANCHOR).min(self.len)));
    }

    /// The straight line from the anchor at `base` (level `v0`) to the next (level `v1`).
    #[inline]
    fn between(&self, base: u32, v0: f32, v1: f32, done: u32) -> f32 {
        let span = (base + ANCHOR).min(self.len) - base;
        // A multiply by the reciprocal (as `fill` does, in a loop the compiler vectorises).
        v0 + (v1 - v0) * ((done - base) as f32 * (1.0 / span as f32))
    }

    /// Moves `frames` frames on without playing them: the levels after are those the fade would
    /// have reached frame by frame (a voice waiting for its data stays on the timeline).
    pub fn advance(&mut self, frames: u64) {
        if self.len == 0 {
            return;
        }
        let done = self.done as u64 + frames;
        if done >= self.len as u64 {
            *self = Envelope::steady(self.to);
        } else {
            self.done = done as u32;
        }
    }

    /// The level for the next frame.
    #[inline]
    pub fn tick(&mut self) -> f32 {
        if self.len == 0 {
            return self.to;
        }
        self.done += 1;
        if self.done >= self.len {
            *self = Envelope::steady(self.to);
            return self.to;
        }
        let base = self.done - self.done % ANCHOR;
        self.move_anchor(base);
        let (_, v0, v1) = self.anchor;
        self.between(base, v0, v1, self.done)
    }

    /// The levels for the next `out.len()` frames: the very values `tick` would give, computed a
    /// stretch between two anchors at a time in a loop without branches (which the compiler
    /// vectorises).
    #[inline]
    pub fn fill(&mut self, out: &mut [f32]) {
        self.fill_scaled(out, 1.0);
    }

    /// `fill`, each level times `scale` (the very bits of `scale * tick()`).
    #[inline]
    pub fn fill_scaled(&mut self, out: &mut [f32], scale: f32) {
        let mut at = 0;
        while at < out.len() {
            if self.len == 0 {
                out[at..].fill(self.to * scale);
                return;
            }
            // Frames `done + 1 ..` up to the next anchor, the fade's end, or the slice's end.
            let first = self.done + 1;
            if first >= self.len {
                *self = Envelope::steady(self.to);
                continue;
            }
            let base = first - first % ANCHOR;
            self.move_anchor(base);
            let (_, v0, v1) = self.anchor;
            let stop = (base + ANCHOR).min(self.len);
            let n = ((stop - first) as usize).min(out.len() - at);
            let step = 1.0 / (stop - base) as f32;
            // Below ANCHOR: exact as a float whichever integer type it comes from, and a signed
            // one converts in a vector instruction.
            let (rise, offset) = (v1 - v0, (first - base) as i32);
            for (k, g) in out[at..at + n].iter_mut().enumerate() {
                // As `between`: v0 + (v1 - v0) * ((done - base) * (1 / span)).
                *g = (v0 + rise * ((offset + k as i32) as f32 * step)) * scale;
            }
            self.done += n as u32;
            at += n;
        }
    }
}

/// Decibels to a linear gain; -inf (or anything at or below -144 dB) is silence.
pub fn db_to_gain(db: f32) -> f32 {
    if db <= -144.0 {
        0.0
    } else {
        (db * (std::f32::consts::LN_10 / 20.0)).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_gives_the_very_values_tick_gives_however_the_frames_are_cut() {
        for (len, curve, cut) in [
            (1000u32, Curve::EqualPower, 7usize),
            (64, Curve::Linear, 64),
            (130, Curve::SCurve, 1),
            (5000, Curve::EqualPower, 333),
            (3, Curve::Linear, 100),
        ] {
            for start in [0u32, 1, 63, 64, 65] {
                let start = start.min(len - 1);
                let (mut a, mut b) =
                    (Envelope::resume(0.2, 0.9, curve, start, len), Envelope::resume(0.2, 0.9, curve, start, len));
                let ticked: Vec<f32> = (0..len as usize + 50).map(|_| a.tick()).collect();
                let mut filled = vec![0.0f32; len as usize + 50];
                for chunk in filled.chunks_mut(cut) {
                    b.fill(chunk);
                }
                assert!(
                    ticked.iter().zip(&filled).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{len} {curve:?} from {start} in {cut}s"
                );
            }
            let (mut r, mut q) = (Ramp::new(0.3), Ramp::new(0.3));
            r.set(0.8, len);
            q.set(0.8, len);
            let ticked: Vec<f32> = (0..len as usize + 50).map(|_| r.tick()).collect();
            let mut filled = vec![0.0f32; len as usize + 50];
            for chunk in filled.chunks_mut(cut) {
                q.fill(chunk);
            }
            assert!(ticked.iter().zip(&filled).all(|(x, y)| x.to_bits() == y.to_bits()), "ramp {len} in {cut}s");
            // Scaled: the bits of `scale * tick()`.
            let (mut a, mut b) = (Envelope::resume(0.1, 1.0, curve, 0, len), Envelope::resume(0.1, 1.0, curve, 0, len));
            let ticked: Vec<f32> = (0..len as usize + 50).map(|_| 0.37 * a.tick()).collect();
            let mut filled = vec![0.0f32; len as usize + 50];
            for chunk in filled.chunks_mut(cut) {
                b.fill_scaled(chunk, 0.37);
            }
            assert!(ticked.iter().zip(&filled).all(|(x, y)| x.to_bits() == y.to_bits()), "scaled {len} in {cut}s");
        }
    }

    #[test]
    fn equal_power_crossfade_keeps_power() {
        let mut a = Envelope::steady(1.0);
        let mut b = Envelope::steady(0.0);
        a.fade_to(0.0, 1000, Curve::EqualPower);
        b.fade_to(1.0, 1000, Curve::EqualPower);
        for _ in 0..1000 {
            let (ga, gb) = (a.tick(), b.tick());
            // Exact sin/cos sum to one; the straight lines between anchors dip by < 0.5 % (0.02 dB).
            assert!((ga * ga + gb * gb - 1.0).abs() < 5e-3, "{}", ga * ga + gb * gb);
        }
        assert_eq!(a.level(), 0.0);
        assert_eq!(b.level(), 1.0);
    }

    #[test]
    fn advancing_a_fade_lands_where_ticking_does() {
        for curve in [Curve::Linear, Curve::EqualPower, Curve::SCurve] {
            let mut ticked = Envelope::resume(1.0, 0.0, curve, 10, 1000);
            let mut jumped = ticked;
            for _ in 0..333 {
                ticked.tick();
            }
            jumped.advance(333);
            // Every level is a pure function of the frames done: bit-identical from here on.
            for _ in 0..700 {
                assert_eq!(ticked.tick(), jumped.tick());
            }
            jumped.advance(5000);
            assert!(jumped.is_steady() && jumped.level() == 0.0);
        }
    }

    #[test]
    fn ramp_reaches_its_target_exactly() {
        let mut r = Ramp::new(0.0);
        r.set(0.5, 3);
        let v: Vec<f32> = (0..4).map(|_| r.tick()).collect();
        assert_eq!(v[2], 0.5);
        assert_eq!(v[3], 0.5);
        assert!(r.is_steady());
    }
}
