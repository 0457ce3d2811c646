//! Varispeed (audio thread): the show played a little faster or slower than the audio clock, to
//! follow a timecode whose clock drifts from it (a generator on another machine: up to ±0.1 %).
//! The engine renders as many frames as the speed asks and a band-limited sinc resampler
//! (rubato, 64 taps) turns them into the device's frames; the speed changes smoothly (rubato
//! ramps the ratio across each 64-frame chunk), so a correction is never heard as a pitch step
//! or a zipper. Everything is allocated in `new`; `push` and `pop` only copy and filter.
//!
//! The six channels are the engine's mix (main, bed and cues, left and right), resampled before
//! the output patch routes them.

use rubato::{Resampler, SincFixedOut, SincInterpolationParameters, SincInterpolationType, WindowFunction};

/// Output frames made at a time: the ratio ramps across each.
const CHUNK: usize = 64;
/// Output frames the queue towards the device holds at most (a device buffer of up to 16,384
/// frames, the most `--buffer` takes, plus a chunk).
pub const QUEUE: usize = 16_384 + 2 * CHUNK;
/// How far the speed may go either way (±10 %: beyond, the follower stops the show).
const MAX_RELATIVE: f64 = 1.12;

/// The resampler between the engine and the device.
pub struct Varispeed {
    resampler: SincFixedOut<f32>,
    /// Engine frames gathered for the next chunk.
    input: Vec<Vec<f32>>,
    filled: usize,
    chunk: Vec<Vec<f32>>,
    /// Resampled frames waiting for the device (a ring).
    queue: Vec<Vec<f32>>,
    read: usize,
    len: usize,
    speed: f64,
}

impl Default for Varispeed {
    fn default() -> Self {
        Self::new()
    }
}

impl Varispeed {
    pub fn new() -> Varispeed {
        let params = SincInterpolationParameters {
            sinc_len: 64,
            f_cutoff: 0.95,
            oversampling_factor: 256,
            interpolation: SincInterpolationType::Cubic,
            window: WindowFunction::BlackmanHarris2,
        };
        let resampler =
            SincFixedOut::<f32>::new(1.0, MAX_RELATIVE, params, CHUNK, 6).expect("valid resampler settings");
        let max_in = resampler.input_frames_max();
        Varispeed {
            resampler,
            input: vec![vec![0.0; max_in]; 6],
            filled: 0,
            chunk: vec![vec![0.0; CHUNK]; 6],
            queue: vec![vec![0.0; QUEUE]; 6],
            read: 0,
            len: 0,
            speed: 1.0,
        }
    }

    /// Engine frames per device frame from the next chunk on (clamped to ±10 %).
    pub fn set_speed(&mut self, speed: f64) {
        let speed = speed.clamp(1.0 / MAX_RELATIVE + 1e-9, MAX_RELATIVE - 1e-9);
        if speed != self.speed && self.filled == 0 {
            self.speed = speed;
            // rubato's ratio is output over input; ramped across the next chunk.
            let _ = self.resampler.set_resample_ratio(1.0 / speed, true);
        }
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Device frames already on their way (queued, and inside the filter), in device frames: the
    /// engine's playhead is this far ahead of what sounds.
    pub fn ahead(&self) -> f64 {
        self.len as f64 + self.resampler.output_delay() as f64 + self.filled as f64 / self.speed
    }

    /// Device frames ready.
    pub fn ready(&self) -> usize {
        self.len
    }

    /// Engine frames the next chunk still needs.
    pub fn wants(&self) -> usize {
        self.resampler.input_frames_next().saturating_sub(self.filled)
    }

    /// Takes the first `frames` (at most `wants()`) engine frames of `mix` (main, bed and cues,
    /// left and right); makes a chunk once it has enough.
    pub fn push(&mut self, mix: &[Box<[f32]>; 6], frames: usize) {
        let frames = frames.min(self.wants());
        for (input, channel) in self.input.iter_mut().zip(mix.iter()) {
            input[self.filled..self.filled + frames].copy_from_slice(&channel[..frames]);
        }
        self.filled += frames;
        if self.filled < self.resampler.input_frames_next() {
            return;
        }
        let needed = self.filled;
        let inputs: [&[f32]; 6] = std::array::from_fn(|c| &self.input[c][..needed]);
        if self.resampler.process_into_buffer(&inputs, &mut self.chunk, None).is_err() {
            // Cannot happen with buffers sized by the resampler itself; a chunk of silence if so.
            self.chunk.iter_mut().for_each(|c| c.fill(0.0));
        }
        self.filled = 0;
        for (queue, chunk) in self.queue.iter_mut().zip(self.chunk.iter()) {
            for (i, &s) in chunk.iter().enumerate() {
                queue[(self.read + self.len + i) % QUEUE] = s;
            }
        }
        // A device buffer larger than the queue is not asked for (`pop` takes what is there).
        self.len = (self.len + CHUNK).min(QUEUE);
    }

    /// Hands the next `frames` device frames (the six channels of each) to `out`, in at most
    /// two runs: `out(first_frame_of_the_run, [channels; 6])`.
    pub fn pop(&mut self, frames: usize, mut out: impl FnMut(usize, [&[f32]; 6])) {
        let frames = frames.min(self.len);
        let first = frames.min(QUEUE - self.read);
        let runs = [(self.read, first, 0), (0, frames - first, first)];
        for (from, n, at) in runs {
            if n > 0 {
                out(at, std::array::from_fn(|c| &self.queue[c][from..from + n]));
            }
        }
        self.read = (self.read + frames) % QUEUE;
        self.len -= frames;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `frames` of a 1 kHz sine at 0.5 through the varispeed in 256-frame buffers, the speed
    /// set before each buffer by `speed` (the buffer's number).
    fn sine_through(frames: usize, mut speed: impl FnMut(usize) -> f64) -> Vec<f32> {
        let rate = 48_000.0;
        let mut v = Varispeed::new();
        let mut mix: [Box<[f32]>; 6] = std::array::from_fn(|_| vec![0.0; 4096].into_boxed_slice());
        let mut t = 0u64;
        let mut out = Vec::new();
        while out.len() < frames {
            v.set_speed(speed(out.len() / 256));
            while v.ready() < 256 {
                let n = v.wants();
                for ch in mix.iter_mut() {
                    for (i, s) in ch[..n].iter_mut().enumerate() {
                        *s = (2.0 * std::f64::consts::PI * 1000.0 * (t + i as u64) as f64 / rate).sin() as f32 * 0.5;
                    }
                }
                t += n as u64;
                v.push(&mix, n);
            }
            v.pop(256, |_, ch| out.extend_from_slice(ch[0]));
        }
        out
    }

    /// The frequency of 1 kHz heard through the varispeed at `speed`.
    fn through(speed: f64) -> f64 {
        let out = sine_through(48_000, |_| speed);
        // Zero crossings upwards over the second half: the frequency heard.
        let half = &out[24_000..48_000];
        let ups = half.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
        ups as f64 / 0.5
    }

    #[test]
    fn a_speed_that_moves_as_the_follower_moves_it_adds_no_zipper() {
        // 1 kHz through a speed swept from 1 to 1.005 and back in steps of 50 ppm a 256-frame
        // buffer (the follower's largest), as a correction does.
        let rate = 48_000.0;
        let (mut speed, mut up) = (1.0f64, true);
        let out = sine_through(65_536, |_| {
            speed += if up { 50e-6 } else { -50e-6 };
            up = if speed >= 1.005 {
                false
            } else if speed <= 1.0 {
                true
            } else {
                up
            };
            speed
        });
        // The spectrum of 8192 samples (4-term Blackman-Harris window: its leakage is 92 dB down)
        // from the middle: everything more than 100 Hz from 1 kHz (where a 64-frame chunk's
        // ratio steps would put sidebands, at 750 Hz, or a pitch step its splatter) at least
        // 85 dB below the tone (the same sweep 8 times faster with the ratio stepped instead of
        // ramped: 69 dB).
        let n = 8192;
        let x: Vec<f64> = out[32_768..32_768 + n]
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let a = 2.0 * std::f64::consts::PI * i as f64 / n as f64;
                s as f64 * (0.35875 - 0.48829 * a.cos() + 0.14128 * (2.0 * a).cos() - 0.01168 * (3.0 * a).cos())
            })
            .collect();
        let power = |k: usize| {
            let w = 2.0 * std::f64::consts::PI * k as f64 / n as f64;
            let (re, im) = x
                .iter()
                .enumerate()
                .fold((0.0, 0.0), |(re, im), (i, &s)| (re + s * (w * i as f64).cos(), im - s * (w * i as f64).sin()));
            re * re + im * im
        };
        let hz = rate / n as f64;
        let tone = (165..=178).map(power).fold(0.0, f64::max);
        let (worst_k, worst) = (4..n / 2)
            .filter(|&k| (k as f64 * hz - 1000.0).abs() > 100.0)
            .step_by(3)
            .map(|k| (k, power(k)))
            .fold((0, 0.0), |a, b| if b.1 > a.1 { b } else { a });
        let below = 10.0 * (tone / worst).log10();
        assert!(below > 85.0, "a spur at {} Hz only {below:.1} dB below the tone", worst_k as f64 * hz);
    }

    #[test]
    fn the_largest_device_buffer_fits() {
        let mut v = Varispeed::new();
        v.set_speed(0.9);
        let mix: [Box<[f32]>; 6] = std::array::from_fn(|_| vec![0.25; 4096].into_boxed_slice());
        while v.ready() < 16_384 {
            let n = v.wants();
            v.push(&mix, n);
        }
        let mut popped = 0;
        v.pop(16_384, |_, run| popped += run[0].len());
        assert_eq!(popped, 16_384);
    }

    #[test]
    fn the_show_sounds_faster_or_slower_by_the_speed_asked() {
        // 1 kHz played 0.5 % fast is heard at 1005 Hz; counted over half a second, ±2 crossings.
        assert!((through(1.005) - 1005.0).abs() <= 4.0, "{}", through(1.005));
        assert!((through(0.995) - 995.0).abs() <= 4.0, "{}", through(0.995));
        assert!((through(1.0) - 1000.0).abs() <= 4.0);
    }
}
