//! Gain smoothing and curved fades (audio thread).
//!
//! Every gain the listener can hear change goes through one of these, evaluated per frame, so a
//! change never clicks and the result does not depend on where blocks are split.

use crate::mix::Curve;

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
            // Never past the target: the steps' rounding would otherwise overshoot it by a hair
            // (and a ramp to 0 would end below it, inverting the signal's sign).
            let next = self.value + self.step;
            self.value = match self.remaining {
                0 => self.target,
                _ if self.step > 0.0 => next.min(self.target),
                _ => next.max(self.target),
            };
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

/// Curved fades are evaluated exactly at anchors and in straight lines between: a sine per frame
/// and voice would cost more than the mixing itself. The anchors are `spacing(len)` frames
/// apart, a 64th of the fade or less (between 16 and 4096 frames), so a line bends off the curve
/// by at most (π/2 · 1/64)² / 8 ≈ 8e-5 of the fade's range (-82 dB) for any fade longer than
/// 1024 frames, and by less than 0.9 % (0.08 dB) for the shortest (5 ms) one. Long fades then cost
/// a curve evaluation every 4096 frames, not every 64 (which was a third of the cost of fading).
fn spacing(len: u32) -> u32 {
    let target = (len / 64).max(1);
    // The largest power of two at or below a 64th of the fade.
    (1u32 << (31 - target.leading_zeros())).clamp(MIN_SPACING, MAX_SPACING)
}

const MIN_SPACING: u32 = 16;
const MAX_SPACING: u32 = 4096;

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
    /// Frames between anchors (`spacing(len)`).
    spacing: u32,
    /// The exact levels at the anchors around `done`: (first anchor, its level, the next two
    /// levels). The one after next is made a line ahead, so the processor works it out while
    /// the mixing loop runs instead of the loop waiting for it.
    anchor: (u32, f32, f32, f32),
    /// The level per frame along the current line (as `between` makes it), made once per line.
    slope: f32,
}

impl Envelope {
    pub fn steady(level: f32) -> Self {
        Envelope {
            from: level,
            to: level,
            curve: Curve::Linear,
            done: 0,
            len: 0,
            spacing: MIN_SPACING,
            anchor: (u32::MAX, level, level, level),
            slope: 0.0,
        }
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
        *self = Envelope {
            from,
            to,
            curve,
            done: 0,
            len: frames,
            spacing: spacing(frames),
            anchor: (u32::MAX, from, from, from),
            slope: 0.0,
        };
    }

    /// A fade from `from` to `to` over `len` frames with `done` of them already played: where a
    /// fade in progress is picked up after a seek. Its levels from here on are the same as those
    /// of the fade started from its beginning.
    pub fn resume(from: f32, to: f32, curve: Curve, done: u32, len: u32) -> Self {
        if done >= len {
            return Envelope::steady(to);
        }
        Envelope { from, to, curve, done, len, spacing: spacing(len), anchor: (u32::MAX, from, from, from), slope: 0.0 }
    }

    pub fn is_steady(&self) -> bool {
        self.len == 0
    }

    /// The level reached so far.
    pub fn level(&self) -> f32 {
        if self.len == 0 {
            self.to
        } else {
            if self.done == 0 {
                return self.from;
            }
            let base = self.anchor_below(self.done);
            let (v0, v1) = (self.exact(base), self.exact((base + self.spacing).min(self.len)));
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
            (Curve::EqualPower, true) => quarter_sine(x),
            // cos(x π/2) = sin((1 - x) π/2)
            (Curve::EqualPower, false) => 1.0 - quarter_sine(1.0 - x),
            // 1/2 - cos(x π)/2 = sin²(x π/2)
            (Curve::SCurve, _) => {
                let s = quarter_sine(x);
                s * s
            }
        };
        self.from + (self.to - self.from) * shape
    }

    /// The anchor a frame's straight line starts from: frames `base + 1 ..= base + spacing` lie
    /// on the line from the anchor at `base` to the next, so a fade (or a block) that starts on
    /// an anchor is whole lines, which the mixing loops take in full vectors.
    #[inline]
    fn anchor_below(&self, done: u32) -> u32 {
        // `spacing` is a power of two.
        (done - 1) & !(self.spacing - 1)
    }

    /// Makes `base` the current anchor. The levels at the next anchors were made when the line
    /// before started, so moving on takes one curve evaluation, off the mixing loop's path.
    #[inline]
    fn move_anchor(&mut self, base: u32) {
        let (at, _, next, after) = self.anchor;
        if at == base {
            return;
        }
        let h = self.spacing;
        let (v0, v1) = if at != u32::MAX && at + h == base {
            (next, after)
        } else {
            (self.exact(base), self.exact((base + h).min(self.len)))
        };
        self.anchor = (base, v0, v1, self.exact(base.saturating_add(2 * h).min(self.len)));
        let span = (base + h).min(self.len) - base;
        self.slope = (v1 - v0) * (1.0 / span as f32);
    }

    /// The straight line from the anchor at `base` (level `v0`) to the next (level `v1`).
    #[inline]
    fn between(&self, base: u32, v0: f32, v1: f32, done: u32) -> f32 {
        let span = (base + self.spacing).min(self.len) - base;
        // The slope per frame once, then one multiply-add per frame (as `Segment::level`).
        v0 + ((v1 - v0) * (1.0 / span as f32)) * (done - base) as f32
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
        let base = self.anchor_below(self.done);
        self.move_anchor(base);
        let (_, v0, v1, _) = self.anchor;
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
            let s = self.segment(out.len() - at);
            for (k, g) in out[at..at + s.frames].iter_mut().enumerate() {
                *g = s.level(k) * scale;
            }
            at += s.frames;
        }
    }

    /// The levels of the next frames (at most `max`, at least one) as one straight line, and the
    /// envelope moved past them: up to the next anchor, the fade's end, or `max`; all `max` once
    /// it is steady. Frame `k`'s level is `level(k)`, the very value `tick` would give, so a mix
    /// loop can make each gain where it uses it.
    #[inline]
    pub fn segment(&mut self, max: usize) -> Segment {
        loop {
            if self.len == 0 {
                return Segment { frames: max, v0: self.to, slope: 0.0, offset: 0 };
            }
            // Frames `done + 1 ..` up to the next anchor, the frame before the fade's end (that
            // one is steady at `to`), or `max`.
            let first = self.done + 1;
            if first >= self.len {
                *self = Envelope::steady(self.to);
                continue;
            }
            let base = self.anchor_below(first);
            self.move_anchor(base);
            let v0 = self.anchor.1;
            let stop = (base + self.spacing).min(self.len);
            let last = if stop == self.len { stop - 1 } else { stop };
            let frames = ((last + 1 - first) as usize).min(max);
            self.done += frames as u32;
            // At most 4096: exact as a float whichever integer type it comes from, and a signed
            // one converts in a vector instruction.
            return Segment { frames, v0, slope: self.slope, offset: (first - base) as i32 };
        }
    }
}

/// A stretch of an envelope's levels along one straight line (see `Envelope::segment`).
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    pub frames: usize,
    pub v0: f32,
    /// Level per frame along the line.
    pub slope: f32,
    pub offset: i32,
}

impl Segment {
    /// The level of its frame `k`: as `Envelope::between`, v0 + ((v1 - v0) * (1 / span)) * (done - base).
    /// A steady segment (slope 0) gives its level exactly.
    #[inline(always)]
    pub fn level(&self, k: usize) -> f32 {
        self.v0 + self.slope * (self.offset + k as i32) as f32
    }

    pub fn is_steady(&self) -> bool {
        self.slope == 0.0
    }
}

/// Points of the quarter sine table: sin(x π/2) at x = k / QUARTER_POINTS.
const QUARTER_POINTS: usize = 4096;

/// sin(x π/2) for x in 0..=1, made when the program is compiled (a Taylor series in f64 to the
/// 15th power: exact to f32 over the quarter).
static QUARTER_SINE: [f32; QUARTER_POINTS + 1] = {
    let mut table = [0.0f32; QUARTER_POINTS + 1];
    let mut k = 0;
    while k <= QUARTER_POINTS {
        let t = k as f64 / QUARTER_POINTS as f64 * std::f64::consts::FRAC_PI_2;
        let u = t * t;
        // t - t³/3! + t⁵/5! - ... as t (1 - u/(2·3) (1 - u/(4·5) (1 - ...))).
        let mut series = 1.0;
        let mut n = 14.0;
        while n >= 2.0 {
            series = 1.0 - u / (n * (n + 1.0)) * series;
            n -= 2.0;
        }
        table[k] = (t * series) as f32;
        k += 1;
    }
    table
};

/// sin(x π/2) for x in 0..=1 (clamped), from the table with straight lines between its points:
/// within 2e-8 of the sine (a step of π/8192 bends the line off the curve by at most
/// step²/8), several times cheaper than `sinf`, which was a sixth of the cost of fading 256
/// voices. 0 and 1 give 0 and 1 exactly.
#[inline]
fn quarter_sine(x: f32) -> f32 {
    let p = x.clamp(0.0, 1.0) * QUARTER_POINTS as f32;
    let i = (p as usize).min(QUARTER_POINTS - 1);
    let (a, b) = (QUARTER_SINE[i], QUARTER_SINE[i + 1]);
    a + (b - a) * (p - i as f32)
}

pub use crate::mix::SILENCE_DB;

/// Decibels to a linear gain; -inf (or anything at or below `SILENCE_DB`) is silence.
pub fn db_to_gain(db: f32) -> f32 {
    if db <= SILENCE_DB {
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
    fn the_quarter_sine_is_the_sine() {
        assert_eq!(quarter_sine(0.0), 0.0);
        assert_eq!(quarter_sine(1.0), 1.0);
        let worst = (0..=100_000)
            .map(|k| {
                let x = k as f64 / 100_000.0;
                (quarter_sine(x as f32) as f64 - (x * std::f64::consts::FRAC_PI_2).sin()).abs()
            })
            .fold(0.0, f64::max);
        // The table's lines bend off by < 2e-8; f32 rounding of x and of the result adds ~1e-7.
        assert!(worst < 2e-7, "{worst}");
    }

    /// Found by tests/properties.rs: 2434 steps of a small fall rounded to below the target.
    #[test]
    fn a_ramp_never_passes_its_target() {
        let (from, to) = (15.45294f32, 15.439022f32);
        let mut r = Ramp::new(from);
        r.set(to, 2434);
        let gains: Vec<f32> = (0..2500).map(|_| r.tick()).collect();
        assert!(gains.iter().all(|&g| g >= to && g <= from));
        let mut r = Ramp::new(1.0);
        r.set(0.0, 48_000);
        assert!((0..48_000).map(|_| r.tick()).all(|g| g >= 0.0), "a ramp to silence stays positive");
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
