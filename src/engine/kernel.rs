//! The voices' inner loops (audio thread): a clip's frames times gain and pan, added to a bus.
//!
//! This is where nearly all of the engine's time goes, so each loop is one pass over the frames
//! with the gain made where it is used (a fade's gain is a straight line between anchors,
//! `fade::Segment`). The stereo steady and fade loops are written in SSE (4 frames at a time)
//! and AVX2 (8) instructions (`simd`); the mono and per-frame-gain loops are plain loops the
//! compiler vectorises, compiled for the baseline and for AVX2 (`kernel!`). AVX2 is taken at run
//! time where the processor has it (`detect`, once, when an engine is made; a relaxed atomic
//! load per call after that). No loop uses fused multiply-adds, which round once where the
//! baseline rounds twice: every machine gives the same bits, and so does any block size.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::engine::fade::Segment;

/// Whether this processor runs the AVX2 builds of the loops.
static AVX2: AtomicBool = AtomicBool::new(false);

/// Looks once at what the processor offers (not on the audio thread: the first look runs CPUID).
pub fn detect() {
    #[cfg(target_arch = "x86_64")]
    AVX2.store(std::arch::is_x86_feature_detected!("avx2"), Ordering::Relaxed);
}

/// Which build of the loops runs (for the benchmarks' tables).
pub fn name() -> &'static str {
    if AVX2.load(Ordering::Relaxed) {
        "avx2"
    } else {
        "baseline"
    }
}

/// A loop `$name` that runs `$body` as compiled for the baseline or, on x86-64 processors that
/// have it, for AVX2.
macro_rules! kernel {
    ($(#[$doc:meta])* $name:ident => $body:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?) => {
        $(#[$doc])*
        #[inline]
        pub fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if AVX2.load(Ordering::Relaxed) {
                    // SAFETY: `detect` saw AVX2 on this processor.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}

kernel! {
    /// Adds `src` (interleaved, `ch` channels: 1 or 2) times the steady gains `gl`, `gr`.
    steady => steady_body(src: &[f32], ch: usize, l: &mut [f32], r: &mut [f32], gl: f32, gr: f32)
}

kernel! {
    /// Adds `src` times the fade's levels along `seg` (from its frame 0), times `scale`, panned:
    /// the very bits of a gain per frame of `seg.level(k) * scale`, then `x * (gain * pan)`.
    faded => faded_body(src: &[f32], ch: usize, l: &mut [f32], r: &mut [f32], seg: Segment, scale: f32, pan: [f32; 2])
}

kernel! {
    /// Adds `src` times a gain per frame (`gains`), panned.
    gained => gained_body(src: &[f32], ch: usize, l: &mut [f32], r: &mut [f32], gains: &[f32], pan: [f32; 2])
}

kernel! {
    /// The peak (largest magnitude) and the sum of squares of `buf`, for the meters.
    level => level_body(buf: &[f32]) -> (f32, f32)
}

kernel! {
    /// The buses at steady levels: `bed *= b`, `cues *= c`, `main = bed + cues`, per channel.
    buses => buses_body(main: [&mut [f32]; 2], bed: [&mut [f32]; 2], cues: [&mut [f32]; 2], b: f32, c: f32)
}

/// Eight running peaks and sums (one per lane of a vector) then their total: the same order
/// in every build, so the same bits.
#[inline(always)]
fn level_body(buf: &[f32]) -> (f32, f32) {
    let (mut peak, mut power) = ([0.0f32; 8], [0.0f32; 8]);
    let chunks = buf.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for j in 0..8 {
            peak[j] = peak[j].max(chunk[j].abs());
            power[j] += chunk[j] * chunk[j];
        }
    }
    for (j, x) in rest.iter().enumerate() {
        peak[j] = peak[j].max(x.abs());
        power[j] += x * x;
    }
    (peak.iter().fold(0.0f32, |p, &x| p.max(x)), power.iter().sum())
}

#[inline(always)]
fn buses_body(main: [&mut [f32]; 2], bed: [&mut [f32]; 2], cues: [&mut [f32]; 2], b: f32, c: f32) {
    for ((main, bed), cues) in main.into_iter().zip(bed).zip(cues) {
        let n = main.len().min(bed.len()).min(cues.len());
        let (main, bed, cues) = (&mut main[..n], &mut bed[..n], &mut cues[..n]);
        for i in 0..n {
            bed[i] *= b;
            cues[i] *= c;
            main[i] = bed[i] + cues[i];
        }
    }
}

/// Frames in an interleaved slice of one or two channels (a shift, not a division).
#[inline(always)]
fn frames_in(src: &[f32], ch: usize) -> usize {
    if ch == 2 {
        src.len() / 2
    } else {
        src.len()
    }
}

// Stereo sources are interleaved and the buses planar. The compiler vectorises such a loop with
// a scalar epilogue of a whole vector's frames even where the count is a multiple of it (a fade's
// stretch of 64 frames ran 8 of them one by one), so on x86-64 the stereo loops are written with
// the vector instructions themselves: the same operations in the same order as the scalar code
// (`l + x * (g * pan)`, `g = (v0 + slope * k) * scale`), so the bits are the same.

#[inline(always)]
fn steady_body(src: &[f32], ch: usize, l: &mut [f32], r: &mut [f32], gl: f32, gr: f32) {
    let n = l.len().min(r.len()).min(frames_in(src, ch));
    let (l, r) = (&mut l[..n], &mut r[..n]);
    if ch == 2 {
        let src = &src[..2 * n];
        let done = simd::steady(src, l, r, gl, gr);
        for ((frame, l), r) in src[2 * done..].chunks_exact(2).zip(&mut l[done..]).zip(&mut r[done..]) {
            *l += frame[0] * gl;
            *r += frame[1] * gr;
        }
    } else {
        for ((x, l), r) in src[..n].iter().zip(l.iter_mut()).zip(r.iter_mut()) {
            *l += x * gl;
            *r += x * gr;
        }
    }
}

#[inline(always)]
fn faded_body(src: &[f32], ch: usize, l: &mut [f32], r: &mut [f32], seg: Segment, scale: f32, pan: [f32; 2]) {
    let n = l.len().min(r.len()).min(frames_in(src, ch));
    let (l, r) = (&mut l[..n], &mut r[..n]);
    // `Segment::level` with the frame index as i32 (a segment is at most an anchor's span):
    // a signed integer converts to float in one vector instruction.
    let gain = |k: i32| (seg.v0 + seg.slope * (seg.offset + k) as f32) * scale;
    if ch == 2 {
        let src = &src[..2 * n];
        let done = simd::faded(src, l, r, seg, scale, pan);
        for (k, ((frame, l), r)) in src[2 * done..].chunks_exact(2).zip(&mut l[done..]).zip(&mut r[done..]).enumerate()
        {
            let g = gain((done + k) as i32);
            *l += frame[0] * (g * pan[0]);
            *r += frame[1] * (g * pan[1]);
        }
    } else {
        let src = &src[..n];
        for k in 0..n as i32 {
            let (i, g) = (k as usize, gain(k));
            l[i] += src[i] * (g * pan[0]);
            r[i] += src[i] * (g * pan[1]);
        }
    }
}

#[inline(always)]
fn gained_body(src: &[f32], ch: usize, l: &mut [f32], r: &mut [f32], gains: &[f32], pan: [f32; 2]) {
    let n = l.len().min(r.len()).min(frames_in(src, ch)).min(gains.len());
    let (l, r, gains) = (&mut l[..n], &mut r[..n], &gains[..n]);
    if ch == 2 {
        for (((frame, g), l), r) in src[..2 * n].chunks_exact(2).zip(gains).zip(l.iter_mut()).zip(r.iter_mut()) {
            *l += frame[0] * (g * pan[0]);
            *r += frame[1] * (g * pan[1]);
        }
    } else {
        for (((x, g), l), r) in src[..n].iter().zip(gains).zip(l.iter_mut()).zip(r.iter_mut()) {
            *l += x * (g * pan[0]);
            *r += x * (g * pan[1]);
        }
    }
}

/// The stereo loops in vector instructions: each takes the frames that fill whole vectors and
/// returns how many it took (the caller does the rest one by one, the same way): 8 at a time
/// with AVX2, else 4 with SSE, which every x86-64 processor has.
#[cfg(target_arch = "x86_64")]
mod simd {
    use super::{Ordering, Segment, AVX2};
    use std::arch::x86_64::*;

    #[inline(always)]
    pub fn steady(src: &[f32], l: &mut [f32], r: &mut [f32], gl: f32, gr: f32) -> usize {
        if AVX2.load(Ordering::Relaxed) {
            // SAFETY: `detect` saw AVX2 on this processor.
            unsafe { steady_avx2(src, l, r, gl, gr) }
        } else {
            steady_sse(src, l, r, gl, gr)
        }
    }

    #[inline(always)]
    pub fn faded(src: &[f32], l: &mut [f32], r: &mut [f32], seg: Segment, scale: f32, pan: [f32; 2]) -> usize {
        if AVX2.load(Ordering::Relaxed) {
            // SAFETY: `detect` saw AVX2 on this processor.
            unsafe { faded_avx2(src, l, r, seg, scale, pan) }
        } else {
            faded_sse(src, l, r, seg, scale, pan)
        }
    }

    /// Frames of a stereo `src` the loops may take `width` at a time.
    #[inline(always)]
    fn whole(src: &[f32], l: &[f32], r: &[f32], width: usize) -> usize {
        let n = l.len().min(r.len()).min(src.len() / 2);
        n - n % width
    }

    // SAFETY (every loop below): frames `k .. k + width` with `k + width <= whole`, and `whole`
    // is at most the frames of `src`, `l` and `r`: every access is inside its slice.

    fn steady_sse(src: &[f32], l: &mut [f32], r: &mut [f32], gl: f32, gr: f32) -> usize {
        let whole = whole(src, l, r, 4);
        unsafe {
            let (vgl, vgr) = (_mm_set1_ps(gl), _mm_set1_ps(gr));
            let mut k = 0;
            while k < whole {
                let (xl, xr) = split4(src.as_ptr().add(2 * k));
                let (pl, pr) = (l.as_mut_ptr().add(k), r.as_mut_ptr().add(k));
                _mm_storeu_ps(pl, _mm_add_ps(_mm_loadu_ps(pl), _mm_mul_ps(xl, vgl)));
                _mm_storeu_ps(pr, _mm_add_ps(_mm_loadu_ps(pr), _mm_mul_ps(xr, vgr)));
                k += 4;
            }
        }
        whole
    }

    fn faded_sse(src: &[f32], l: &mut [f32], r: &mut [f32], seg: Segment, scale: f32, pan: [f32; 2]) -> usize {
        let whole = whole(src, l, r, 4);
        unsafe {
            let (v0, slope, vscale) = (_mm_set1_ps(seg.v0), _mm_set1_ps(seg.slope), _mm_set1_ps(scale));
            let (p0, p1) = (_mm_set1_ps(pan[0]), _mm_set1_ps(pan[1]));
            let mut index = _mm_add_epi32(_mm_set1_epi32(seg.offset), _mm_setr_epi32(0, 1, 2, 3));
            let mut k = 0;
            while k < whole {
                // g = (v0 + slope * index) * scale
                let g = _mm_mul_ps(_mm_add_ps(v0, _mm_mul_ps(slope, _mm_cvtepi32_ps(index))), vscale);
                let (xl, xr) = split4(src.as_ptr().add(2 * k));
                let (pl, pr) = (l.as_mut_ptr().add(k), r.as_mut_ptr().add(k));
                _mm_storeu_ps(pl, _mm_add_ps(_mm_loadu_ps(pl), _mm_mul_ps(xl, _mm_mul_ps(g, p0))));
                _mm_storeu_ps(pr, _mm_add_ps(_mm_loadu_ps(pr), _mm_mul_ps(xr, _mm_mul_ps(g, p1))));
                index = _mm_add_epi32(index, _mm_set1_epi32(4));
                k += 4;
            }
        }
        whole
    }

    /// Four interleaved stereo frames at `at` as (left, right).
    #[inline(always)]
    unsafe fn split4(at: *const f32) -> (__m128, __m128) {
        let (a, b) = (_mm_loadu_ps(at), _mm_loadu_ps(at.add(4)));
        (_mm_shuffle_ps::<0b10_00_10_00>(a, b), _mm_shuffle_ps::<0b11_01_11_01>(a, b))
    }

    #[target_feature(enable = "avx2")]
    fn steady_avx2(src: &[f32], l: &mut [f32], r: &mut [f32], gl: f32, gr: f32) -> usize {
        let whole = whole(src, l, r, 8);
        unsafe {
            let (vgl, vgr) = (_mm256_set1_ps(gl), _mm256_set1_ps(gr));
            let mut k = 0;
            while k < whole {
                let (xl, xr) = split8(src.as_ptr().add(2 * k));
                let (pl, pr) = (l.as_mut_ptr().add(k), r.as_mut_ptr().add(k));
                _mm256_storeu_ps(pl, _mm256_add_ps(_mm256_loadu_ps(pl), _mm256_mul_ps(xl, vgl)));
                _mm256_storeu_ps(pr, _mm256_add_ps(_mm256_loadu_ps(pr), _mm256_mul_ps(xr, vgr)));
                k += 8;
            }
        }
        whole
    }

    #[target_feature(enable = "avx2")]
    fn faded_avx2(src: &[f32], l: &mut [f32], r: &mut [f32], seg: Segment, scale: f32, pan: [f32; 2]) -> usize {
        let whole = whole(src, l, r, 8);
        unsafe {
            let (v0, slope, vscale) = (_mm256_set1_ps(seg.v0), _mm256_set1_ps(seg.slope), _mm256_set1_ps(scale));
            let (p0, p1) = (_mm256_set1_ps(pan[0]), _mm256_set1_ps(pan[1]));
            let mut index = _mm256_add_epi32(_mm256_set1_epi32(seg.offset), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            let mut k = 0;
            while k < whole {
                let g = _mm256_mul_ps(_mm256_add_ps(v0, _mm256_mul_ps(slope, _mm256_cvtepi32_ps(index))), vscale);
                let (xl, xr) = split8(src.as_ptr().add(2 * k));
                let (pl, pr) = (l.as_mut_ptr().add(k), r.as_mut_ptr().add(k));
                _mm256_storeu_ps(pl, _mm256_add_ps(_mm256_loadu_ps(pl), _mm256_mul_ps(xl, _mm256_mul_ps(g, p0))));
                _mm256_storeu_ps(pr, _mm256_add_ps(_mm256_loadu_ps(pr), _mm256_mul_ps(xr, _mm256_mul_ps(g, p1))));
                index = _mm256_add_epi32(index, _mm256_set1_epi32(8));
                k += 8;
            }
        }
        whole
    }

    /// Eight interleaved stereo frames at `at` as (left, right): the shuffle leaves each half's
    /// pairs crossed ([0 1 4 5 | 2 3 6 7]); a permute of 64-bit pairs puts them in order.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn split8(at: *const f32) -> (__m256, __m256) {
        let a = _mm256_loadu2_m128(at.add(8), at);
        let b = _mm256_loadu2_m128(at.add(12), at.add(4));
        (_mm256_shuffle_ps::<0b10_00_10_00>(a, b), _mm256_shuffle_ps::<0b11_01_11_01>(a, b))
    }
}

/// Elsewhere the scalar loops take every frame.
#[cfg(not(target_arch = "x86_64"))]
mod simd {
    use super::Segment;

    pub fn steady(_: &[f32], _: &mut [f32], _: &mut [f32], _: f32, _: f32) -> usize {
        0
    }

    pub fn faded(_: &[f32], _: &mut [f32], _: &mut [f32], _: Segment, _: f32, _: [f32; 2]) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fade::Envelope;
    use crate::mix::Curve;

    /// The AVX2 build and the baseline give the same bits (where the processor has AVX2), and
    /// a fade made in the loop gives the bits of the gains made first.
    #[test]
    fn every_build_of_the_loops_gives_the_same_bits() {
        let src: Vec<f32> = (0..2 * 1000).map(|i| ((i as f32) * 0.37).sin() * 0.8).collect();
        let run = |avx2: bool| {
            AVX2.store(avx2, Ordering::Relaxed);
            let mut out = [vec![0.01f32; 1000], vec![-0.02f32; 1000]];
            let mut env = Envelope::steady(0.0);
            env.fade_to(1.0, 700, Curve::EqualPower);
            let mut at = 0;
            while at < 1000 {
                let seg = env.segment(1000 - at);
                let [l, r] = &mut out;
                faded(
                    &src[2 * at..],
                    2,
                    &mut l[at..at + seg.frames],
                    &mut r[at..at + seg.frames],
                    seg,
                    0.7,
                    [0.9, 0.6],
                );
                at += seg.frames;
            }
            let [l, r] = &mut out;
            steady(&src, 2, l, r, 0.3, 0.4);
            steady(&src[..1000], 1, l, r, 0.2, 0.1);
            let gains: Vec<f32> = (0..1000).map(|k| k as f32 / 999.0).collect();
            gained(&src, 2, l, r, &gains, [1.0, 0.5]);
            out
        };
        let baseline = run(false);
        detect();
        let best = run(AVX2.load(Ordering::Relaxed));
        for c in 0..2 {
            assert!(baseline[c].iter().zip(&best[c]).all(|(a, b)| a.to_bits() == b.to_bits()), "channel {c}");
        }
        // The fade made in the loop equals gains made by `fill_scaled` first.
        let mut env = Envelope::steady(0.0);
        env.fade_to(1.0, 700, Curve::EqualPower);
        let mut gains = vec![0.0f32; 1000];
        env.fill_scaled(&mut gains, 0.7);
        let mut out = [vec![0.01f32; 1000], vec![-0.02f32; 1000]];
        {
            let [l, r] = &mut out;
            gained(&src, 2, l, r, &gains, [0.9, 0.6]);
            steady(&src, 2, l, r, 0.3, 0.4);
            steady(&src[..1000], 1, l, r, 0.2, 0.1);
            let g2: Vec<f32> = (0..1000).map(|k| k as f32 / 999.0).collect();
            gained(&src, 2, l, r, &g2, [1.0, 0.5]);
        }
        for c in 0..2 {
            assert!(baseline[c].iter().zip(&out[c]).all(|(a, b)| a.to_bits() == b.to_bits()), "fade, channel {c}");
        }
    }
}
