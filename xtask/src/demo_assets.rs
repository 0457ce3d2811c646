//! `cargo xtask demo-assets`: synthesises the demo show's music, all original, from code.
//!
//! Writes six 16-bit PCM WAV files at 44.1 kHz into `presets/demo/audio/` (44.1 kHz on purpose:
//! the engine runs at 48 kHz, so the demo always exercises its resampler):
//!
//! | file               | what                                                   | length          |
//! |--------------------|--------------------------------------------------------|-----------------|
//! | `bed-tension.wav`  | score bed: dark pad, pulsing bass, ticking clock, mono  | 96 bpm, 4 bars  |
//! | `bed-chase.wav`    | score bed: drums, 16th-note bass, brass-ish stabs, mono | 120 bpm, 4 bars |
//! | `bed-calm.wav`     | score bed: warm pad, soft bass, bell arpeggio, mono    | 72 bpm, 2 bars  |
//! | `theme.wav`        | song cue "theme": melody, chords, drums, final chord   | 12 s, stereo    |
//! | `sting.wav`        | stinger: chord hit, boom and cymbal decay              | 2.5 s, stereo   |
//! | `credits.wav`      | end-credits song, ends on a major chord                | 7 s, stereo     |
//!
//! Everything is in A minor with equal-tempered pitches from MIDI note numbers. The instruments
//! are small synth voices: detuned band-limited (polyBLEP) saws through a resonant state-variable
//! filter for pads, bass and stabs; two-operator FM for the lead and bells; a pitch-swept sine
//! for the kick; filtered noise from a seeded xorshift generator for snare, hats and cymbals.
//!
//! Beds are exact, seamless loops: each lasts a whole number of bars whose length is a whole
//! number of frames at 44.1 kHz, notes are mixed into a circular buffer (so tails that run past
//! the end wrap into the start), slow filter sweeps are periodic in the loop length, and the
//! stateful effects (reverb, echo) run over the loop twice with only the second pass kept.
//!
//! Output is deterministic: no clock, no OS randomness, every noise source has a fixed seed, so
//! the files are byte-identical on every run (on the same platform's floating-point library).
//! Each file is peak-normalised to -1 dBFS.

use std::f64::consts::{PI, TAU};
use std::path::Path;

use anyhow::{Context, Result};

const SR: u32 = 44_100;
const SRF: f64 = SR as f64;
/// Peak level every file is normalised to.
const PEAK_DBFS: f64 = -1.0;

/// Renders every demo file into `out_dir`.
pub fn run(out_dir: &Path) -> Result<()> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let pieces: [(&str, Render); 6] = [
        ("bed-tension.wav", tension),
        ("bed-chase.wav", chase),
        ("bed-calm.wav", calm),
        ("theme.wav", theme),
        ("sting.wav", sting),
        ("credits.wav", credits),
    ];
    println!(
        "{:<16} {:>3} {:>9} {:>8} {:>9} {:>10}  loop seam",
        "file", "ch", "frames", "seconds", "raw peak", "bytes"
    );
    let mut total = 0u64;
    for (name, make) in pieces {
        let piece = make();
        let path = out_dir.join(name);
        let report = write_wav(&path, &piece).with_context(|| format!("writing {}", path.display()))?;
        total += report.bytes;
        let seam = match report.seam {
            Some((seam, max_step)) => {
                format!("|end->start| {seam:.4} (largest step inside {max_step:.4})")
            }
            None => "-".to_string(),
        };
        println!(
            "{:<16} {:>3} {:>9} {:>8.3} {:>7.1}dB {:>10}  {seam}",
            name,
            piece.channels,
            piece.mix.len(),
            piece.mix.len() as f64 / SRF,
            report.raw_peak_db,
            report.bytes
        );
    }
    println!("total {total} bytes ({:.2} MiB) in {}", total as f64 / (1024.0 * 1024.0), out_dir.display());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Output

/// Renders one piece.
type Render = fn() -> Piece;

/// A rendered piece: a stereo mix, written with `channels` channels (1 = downmixed to mono).
struct Piece {
    mix: Mix,
    channels: u16,
}

struct WavReport {
    raw_peak_db: f64,
    bytes: u64,
    /// For loops: the step from the last frame to the first, and the largest step between
    /// neighbouring frames inside the file (after normalisation, full scale = 1).
    seam: Option<(f64, f64)>,
}

fn write_wav(path: &Path, piece: &Piece) -> Result<WavReport> {
    let mix = &piece.mix;
    let channels: Vec<Vec<f64>> = if piece.channels == 1 {
        vec![mix.l.iter().zip(&mix.r).map(|(l, r)| 0.5 * (l + r)).collect()]
    } else {
        vec![mix.l.clone(), mix.r.clone()]
    };
    let peak = channels.iter().flatten().fold(0.0f64, |p, x| p.max(x.abs()));
    anyhow::ensure!(peak > 0.0, "silent render");
    let scale = db_to_gain(PEAK_DBFS) / peak;
    let spec = hound::WavSpec {
        channels: piece.channels,
        sample_rate: SR,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec)?;
    let quantise = |x: f64| (x * scale * 32767.0).round().clamp(-32768.0, 32767.0) as i16;
    for i in 0..mix.len() {
        for ch in &channels {
            writer.write_sample(quantise(ch[i]))?;
        }
    }
    writer.finalize()?;
    let seam = mix.wrap.then(|| {
        let mut seam = 0.0f64;
        let mut max_step = 0.0f64;
        for ch in &channels {
            let n = ch.len();
            seam = seam.max((ch[0] - ch[n - 1]).abs() * scale);
            for w in ch.windows(2) {
                max_step = max_step.max((w[1] - w[0]).abs() * scale);
            }
        }
        (seam, max_step)
    });
    Ok(WavReport { raw_peak_db: 20.0 * peak.log10(), bytes: std::fs::metadata(path)?.len(), seam })
}

// ---------------------------------------------------------------------------------------------
// Building blocks

fn midi_hz(note: f64) -> f64 {
    440.0 * 2f64.powf((note - 69.0) / 12.0)
}

fn db_to_gain(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// Frame of `beat` at `bpm` (beats counted from 0).
fn frame_at(beat: f64, bpm: f64) -> usize {
    (beat * 60.0 / bpm * SRF).round() as usize
}

/// Seconds of `beats` at `bpm`.
fn beats_s(beats: f64, bpm: f64) -> f64 {
    beats * 60.0 / bpm
}

/// xorshift64* pseudo-random generator: tiny, fast, and the same sequence on every run.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // Scramble the seed so neighbouring seeds give unrelated sequences; never zero.
        let mut s = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        s = (s ^ (s >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        s = (s ^ (s >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((s ^ (s >> 31)) | 1)
    }
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [-1, 1).
    fn noise(&mut self) -> f64 {
        self.unit() * 2.0 - 1.0
    }
}

/// Band-limited sawtooth (polyBLEP), `phase` in [0, 1), `dt` = frequency / sample rate.
fn saw(phase: f64, dt: f64) -> f64 {
    let blep = if phase < dt {
        let x = phase / dt;
        x + x - x * x - 1.0
    } else if phase > 1.0 - dt {
        let x = (phase - 1.0) / dt;
        x * x + x + x + 1.0
    } else {
        0.0
    };
    2.0 * phase - 1.0 - blep
}

fn wrap_phase(p: f64) -> f64 {
    p - p.floor()
}

/// Topology-preserving state-variable filter (Simper), per-voice state.
#[derive(Default)]
struct Svf {
    ic1: f64,
    ic2: f64,
}

struct SvfOut {
    low: f64,
    band: f64,
    high: f64,
}

impl Svf {
    fn tick(&mut self, x: f64, cutoff: f64, q: f64) -> SvfOut {
        let g = (PI * cutoff.clamp(20.0, 0.45 * SRF) / SRF).tan();
        let k = 1.0 / q;
        let a1 = 1.0 / (1.0 + g * (g + k));
        let a2 = g * a1;
        let a3 = g * a2;
        let v3 = x - self.ic2;
        let v1 = a1 * self.ic1 + a2 * v3;
        let v2 = self.ic2 + a2 * self.ic1 + a3 * v3;
        self.ic1 = 2.0 * v1 - self.ic1;
        self.ic2 = 2.0 * v2 - self.ic2;
        SvfOut { low: v2, band: v1, high: x - k * v1 - v2 }
    }
}

/// Smooth envelope: raised-cosine attack, exponential decay to the sustain level while the note
/// is held, then an exponential release that is windowed to reach exactly zero after `6 r`.
#[derive(Clone, Copy)]
struct Env {
    a: f64,
    d: f64,
    s: f64,
    r: f64,
}

impl Env {
    fn len(&self, hold: f64) -> f64 {
        hold + 6.0 * self.r
    }
    fn held(&self, t: f64) -> f64 {
        if t < self.a {
            0.5 - 0.5 * (PI * t / self.a).cos()
        } else {
            self.s + (1.0 - self.s) * (-(t - self.a) / self.d).exp()
        }
    }
    fn at(&self, t: f64, hold: f64) -> f64 {
        if t < hold {
            self.held(t)
        } else {
            let x = t - hold;
            let len = 6.0 * self.r;
            if x >= len {
                0.0
            } else {
                self.held(hold) * (-x / self.r).exp() * (0.5 + 0.5 * (PI * x / len).cos())
            }
        }
    }
}

/// Short percussive envelope: `attack` seconds raised-cosine in, exponential decay with time
/// constant `decay`, windowed to zero at `len`.
fn perc(t: f64, attack: f64, decay: f64, len: f64) -> f64 {
    if t >= len {
        return 0.0;
    }
    let a = if t < attack { 0.5 - 0.5 * (PI * t / attack).cos() } else { 1.0 };
    let tail = if t > 0.8 * len { 0.5 + 0.5 * (PI * (t - 0.8 * len) / (0.2 * len)).cos() } else { 1.0 };
    a * (-t / decay).exp() * tail
}

fn frames(seconds: f64) -> usize {
    (seconds * SRF).ceil() as usize
}

/// A stereo mix buffer. A looping buffer (`wrap`) is circular: what runs past the end is added
/// at the start, which makes the loop seamless; otherwise it is cut at the end.
struct Mix {
    l: Vec<f64>,
    r: Vec<f64>,
    wrap: bool,
}

impl Mix {
    fn new(frames: usize, wrap: bool) -> Self {
        Mix { l: vec![0.0; frames], r: vec![0.0; frames], wrap }
    }
    fn len(&self) -> usize {
        self.l.len()
    }
    /// Adds a mono sound at `start` with `gain`, panned (-1..1) with a constant-power law that
    /// leaves a centred sound at `gain` in both channels.
    fn add(&mut self, start: usize, sound: &[f64], gain: f64, pan: f64) {
        let angle = (pan.clamp(-1.0, 1.0) + 1.0) * PI / 4.0;
        let (gl, gr) = (angle.cos() * 2f64.sqrt() * gain, angle.sin() * 2f64.sqrt() * gain);
        let n = self.len();
        for (i, x) in sound.iter().enumerate() {
            let mut j = start + i;
            if j >= n {
                if !self.wrap {
                    break;
                }
                j %= n;
            }
            self.l[j] += x * gl;
            self.r[j] += x * gr;
        }
    }
    /// Adds another mix of the same length.
    fn add_mix(&mut self, other: &Mix, gain: f64) {
        for i in 0..self.len() {
            self.l[i] += other.l[i] * gain;
            self.r[i] += other.r[i] * gain;
        }
    }
    /// Applies a stateful stereo effect. For a loop, the effect runs over the loop twice and the
    /// second pass is kept, so the effect's state at the loop start is what the loop's end left.
    fn effect(&self, mut fx: impl FnMut(f64, f64) -> (f64, f64)) -> Mix {
        let n = self.len();
        let mut out = Mix::new(n, self.wrap);
        let passes = if self.wrap { 2 } else { 1 };
        for pass in 0..passes {
            for i in 0..n {
                let (l, r) = fx(self.l[i], self.r[i]);
                if pass == passes - 1 {
                    out.l[i] = l;
                    out.r[i] = r;
                }
            }
        }
        out
    }
    /// Fades the last `seconds` out (raised cosine) so a song ends in silence.
    fn fade_out_end(&mut self, seconds: f64) {
        let n = self.len();
        let k = frames(seconds).min(n);
        for i in 0..k {
            let g = 0.5 + 0.5 * (PI * (i + 1) as f64 / k as f64).cos();
            self.l[n - k + i] *= g;
            self.r[n - k + i] *= g;
        }
    }
}

/// Freeverb-style stereo reverb (8 damped combs + 4 allpasses per side); returns the wet signal.
fn reverb(dry: &Mix, room: f64, damp: f64) -> Mix {
    const COMBS: [usize; 8] = [1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617];
    const ALLPASSES: [usize; 4] = [556, 441, 341, 225];
    const SPREAD: usize = 23;
    struct Comb {
        buf: Vec<f64>,
        i: usize,
        store: f64,
    }
    struct Allpass {
        buf: Vec<f64>,
        i: usize,
    }
    let combs = |spread: usize| -> Vec<Comb> {
        COMBS.iter().map(|&d| Comb { buf: vec![0.0; d + spread], i: 0, store: 0.0 }).collect()
    };
    let allpasses = |spread: usize| -> Vec<Allpass> {
        ALLPASSES.iter().map(|&d| Allpass { buf: vec![0.0; d + spread], i: 0 }).collect()
    };
    let mut side = [(combs(0), allpasses(0)), (combs(SPREAD), allpasses(SPREAD))];
    dry.effect(move |l, r| {
        let input = (l + r) * 0.015;
        let mut out = [0.0; 2];
        for (o, (cs, aps)) in out.iter_mut().zip(side.iter_mut()) {
            let mut acc = 0.0;
            for c in cs.iter_mut() {
                let y = c.buf[c.i];
                c.store = y * (1.0 - damp) + c.store * damp;
                c.buf[c.i] = input + c.store * room;
                c.i = (c.i + 1) % c.buf.len();
                acc += y;
            }
            for a in aps.iter_mut() {
                let b = a.buf[a.i];
                a.buf[a.i] = acc + b * 0.5;
                a.i = (a.i + 1) % a.buf.len();
                acc = b - acc;
            }
            *o = acc;
        }
        (out[0], out[1])
    })
}

/// Ping-pong echo; returns the wet signal only.
fn echo(dry: &Mix, delay_s: f64, feedback: f64, tone_hz: f64) -> Mix {
    let d = frames(delay_s);
    let mut bl = vec![0.0; d];
    let mut br = vec![0.0; d];
    let mut i = 0;
    let mut lp = [0.0f64; 2];
    let a = (-TAU * tone_hz / SRF).exp();
    dry.effect(move |l, r| {
        let (yl, yr) = (bl[i], br[i]);
        // Cross-feed for ping-pong; a one-pole low-pass darkens each repeat.
        lp[0] = (1.0 - a) * (0.5 * (l + r) + yr * feedback) + a * lp[0];
        lp[1] = (1.0 - a) * (yl * feedback) + a * lp[1];
        bl[i] = lp[0];
        br[i] = lp[1];
        i = (i + 1) % d;
        (yl, yr)
    })
}

// ---------------------------------------------------------------------------------------------
// Instruments. Each returns a mono sound starting at its note-on; `t0` is the note-on time in
// seconds, for modulation that must stay periodic in a loop.

/// Pad: four detuned saws plus a sine through a slowly moving low-pass.
/// `sweep(t)` multiplies the cutoff at absolute time `t`.
fn pad(note: f64, hold: f64, env: Env, cutoff: f64, t0: f64, sweep: &dyn Fn(f64) -> f64, seed: u64) -> Vec<f64> {
    let f = midi_hz(note);
    let mut rng = Rng::new(seed);
    let detune = [-11.0, -4.0, 3.5, 10.0];
    let dts: Vec<f64> = detune.iter().map(|c| f * 2f64.powf(c / 1200.0) / SRF).collect();
    let mut ph: Vec<f64> = detune.iter().map(|_| rng.unit()).collect();
    let mut sine = 0.0;
    let mut filter = Svf::default();
    (0..frames(env.len(hold)))
        .map(|i| {
            let t = i as f64 / SRF;
            let mut x = 0.0;
            for (p, dt) in ph.iter_mut().zip(&dts) {
                x += saw(*p, *dt);
                *p = wrap_phase(*p + dt);
            }
            x = 0.22 * x + 0.5 * (TAU * sine).sin();
            sine = wrap_phase(sine + f / SRF);
            let e = env.at(t, hold);
            let fc = cutoff * sweep(t0 + t) * (0.55 + 0.45 * e);
            filter.tick(x, fc, 0.8).low * e
        })
        .collect()
}

/// Soft sine bass with a little second harmonic.
fn sine_bass(note: f64, hold: f64, env: Env) -> Vec<f64> {
    let f = midi_hz(note);
    (0..frames(env.len(hold)))
        .map(|i| {
            let t = i as f64 / SRF;
            let p = TAU * f * t;
            (p.sin() + 0.15 * (2.0 * p).sin()) * env.at(t, hold)
        })
        .collect()
}

/// Synth bass: saw + square + sine sub through a low-pass with a plucky filter envelope.
fn bass(note: f64, hold: f64, accent: f64, brightness: f64) -> Vec<f64> {
    let f = midi_hz(note);
    let dt = f / SRF;
    let env = Env { a: 0.004, d: 0.25, s: 0.7, r: 0.035 };
    let mut p = 0.0;
    let mut filter = Svf::default();
    (0..frames(env.len(hold)))
        .map(|i| {
            let t = i as f64 / SRF;
            let sq = saw(p, dt) - saw(wrap_phase(p + 0.5), dt);
            let x = 0.6 * saw(p, dt) + 0.35 * sq;
            let sub = (TAU * p).sin();
            p = wrap_phase(p + dt);
            let fc = f * 1.5 + brightness * accent * (-t / 0.09).exp();
            let y = filter.tick(x, fc, 1.6).low;
            (0.8 * y + 0.6 * sub) * env.at(t, hold) * (0.6 + 0.4 * accent)
        })
        .collect()
}

/// Brass-ish chord stab: two detuned saws per note, filter envelope opening fast then closing.
fn stab(notes: &[f64], hold: f64, seed: u64, bright: f64) -> Vec<f64> {
    let env = Env { a: 0.006, d: 0.18, s: 0.5, r: 0.09 };
    let mut rng = Rng::new(seed);
    let mut osc: Vec<(f64, f64)> = Vec::new();
    for &n in notes {
        for cents in [-7.0, 7.0] {
            osc.push((rng.unit(), midi_hz(n) * 2f64.powf(cents / 1200.0) / SRF));
        }
    }
    let mut filter = Svf::default();
    let norm = 1.0 / osc.len() as f64;
    (0..frames(env.len(hold)))
        .map(|i| {
            let t = i as f64 / SRF;
            let mut x = 0.0;
            for (p, dt) in osc.iter_mut() {
                x += saw(*p, *dt);
                *p = wrap_phase(*p + *dt);
            }
            let fc = 500.0 + bright * (1.0 - (-t / 0.008).exp()) * (-t / 0.15).exp();
            filter.tick(x * norm, fc, 1.2).low * env.at(t, hold)
        })
        .collect()
}

/// Two-operator FM lead with a touch of delayed vibrato and a second, slightly detuned carrier.
fn lead(note: f64, hold: f64) -> Vec<f64> {
    let f = midi_hz(note);
    let env = Env { a: 0.012, d: 0.35, s: 0.6, r: 0.12 };
    let (mut pc, mut pc2, mut pm) = (0.0, 0.25, 0.0);
    (0..frames(env.len(hold)))
        .map(|i| {
            let t = i as f64 / SRF;
            let vib_depth = ((t - 0.25) / 0.4).clamp(0.0, 1.0) * 0.004;
            let fv = f * (1.0 + vib_depth * (TAU * 5.3 * t).sin());
            let index = 1.6 * (-t / 0.2).exp() + 0.45;
            let m = (TAU * pm).sin() * index;
            let y = (TAU * pc + m).sin() + 0.6 * (TAU * pc2 + 0.6 * m).sin();
            pm = wrap_phase(pm + fv / SRF);
            pc = wrap_phase(pc + fv / SRF);
            pc2 = wrap_phase(pc2 + fv * 1.003 / SRF);
            y * env.at(t, hold)
        })
        .collect()
}

/// FM bell / electric piano: ratio-`ratio` modulator with a fast-decaying index.
fn bell(note: f64, decay: f64, ratio: f64) -> Vec<f64> {
    let f = midi_hz(note);
    let len = decay * 5.0;
    (0..frames(len))
        .map(|i| {
            let t = i as f64 / SRF;
            let index = 2.2 * (-t / 0.12).exp() + 0.25;
            let y = (TAU * f * t + index * (TAU * f * ratio * t).sin()).sin();
            y * perc(t, 0.002, decay, len)
        })
        .collect()
}

/// Kick: sine with a fast downward pitch sweep, plus a tiny noise click.
fn kick(seed: u64, low_hz: f64, decay: f64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let len = decay * 4.0;
    let mut p = 0.0;
    (0..frames(len))
        .map(|i| {
            let t = i as f64 / SRF;
            let f = low_hz + 120.0 * (-t / 0.03).exp();
            let y = (TAU * p).sin();
            p = wrap_phase(p + f / SRF);
            let click = rng.noise() * 0.25 * (-t / 0.003).exp();
            ((y * 1.2).tanh() + click) * perc(t, 0.0008, decay, len)
        })
        .collect()
}

/// Snare: band-passed noise plus a short tonal body.
fn snare(seed: u64, level: f64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let mut bp = Svf::default();
    let len = 0.45;
    (0..frames(len))
        .map(|i| {
            let t = i as f64 / SRF;
            let n = rng.noise();
            let o = bp.tick(n, 2400.0, 0.7);
            let noise = (o.band * 0.9 + o.high * 0.35) * perc(t, 0.001, 0.11, len);
            let body = (TAU * 185.0 * t).sin() * perc(t, 0.001, 0.05, len);
            (noise + 0.6 * body) * level
        })
        .collect()
}

/// Hi-hat (closed with a short decay, open with a long one): high-passed noise.
fn hat(seed: u64, decay: f64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let mut hp = Svf::default();
    let len = (decay * 5.0).max(0.05);
    (0..frames(len))
        .map(|i| {
            let t = i as f64 / SRF;
            let o = hp.tick(rng.noise(), 7500.0, 0.9);
            (o.high * 0.7 + o.band * 0.5) * perc(t, 0.0005, decay, len)
        })
        .collect()
}

/// Crash cymbal: bright noise with a long decay.
fn crash(seed: u64, decay: f64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let mut hp = Svf::default();
    let mut bp = Svf::default();
    let len = decay * 4.0;
    (0..frames(len))
        .map(|i| {
            let t = i as f64 / SRF;
            let n = rng.noise();
            let h = hp.tick(n, 4500.0, 0.7).high;
            let b = bp.tick(n, 9000.0, 2.0).band;
            (0.6 * h + 0.5 * b) * perc(t, 0.002, decay, len)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The pieces

/// Adds a chord as a stereo pad: each note twice (different detune phases), panned apart.
#[allow(clippy::too_many_arguments)]
fn pad_chord(
    mix: &mut Mix,
    start: usize,
    notes: &[f64],
    hold: f64,
    env: Env,
    cutoff: f64,
    sweep: &dyn Fn(f64) -> f64,
    gain: f64,
    seed: u64,
) {
    let t0 = start as f64 / SRF;
    for (k, &n) in notes.iter().enumerate() {
        let s = seed * 100 + k as u64 * 2;
        let spread = 0.35 + 0.1 * k as f64;
        mix.add(start, &pad(n, hold, env, cutoff, t0, sweep, s), gain, -spread);
        mix.add(start, &pad(n, hold, env, cutoff, t0, sweep, s + 1), gain, spread);
    }
}

/// Score bed "tension": i–VI–iv–V in A minor (Am, F, Dm, E), dark pad, pulsing eighth-note bass,
/// a quiet ticking clock and a heartbeat kick. 96 bpm, 4 bars = 10 s = 441 000 frames.
fn tension() -> Piece {
    let bpm = 96.0;
    let bars = 4;
    let len = frame_at(bars as f64 * 4.0, bpm);
    let loop_s = len as f64 / SRF;
    let mut mix = Mix::new(len, true);
    let sweep = move |t: f64| 2f64.powf(0.9 * (TAU * t / loop_s).sin());
    let chords: [(f64, [f64; 3], f64); 4] = [
        (45.0, [57.0, 60.0, 64.0], 33.0),
        (41.0, [57.0, 60.0, 65.0], 29.0),
        (38.0, [57.0, 62.0, 65.0], 38.0),
        (40.0, [56.0, 59.0, 64.0], 40.0),
    ];
    let pad_env = Env { a: 0.9, d: 1.8, s: 0.8, r: 0.6 };
    let accents = [1.0, 0.45, 0.7, 0.45, 0.9, 0.45, 0.7, 0.6];
    for (bar, (root, triad, bass_note)) in chords.iter().enumerate() {
        let b0 = bar as f64 * 4.0;
        let start = frame_at(b0, bpm);
        let hold = beats_s(4.0, bpm) + 0.2;
        pad_chord(&mut mix, start, triad, hold, pad_env, 650.0, &sweep, 0.16, bar as u64 + 1);
        let t0 = start as f64 / SRF;
        mix.add(start, &pad(*root, hold, pad_env, 380.0, t0, &sweep, 900 + bar as u64), 0.32, 0.0);
        for (step, acc) in accents.iter().enumerate() {
            let s = frame_at(b0 + step as f64 * 0.5, bpm);
            mix.add(s, &bass(*bass_note, 0.17, *acc, 900.0), 0.34, 0.0);
        }
        // Heartbeat: "lub-dub" on the downbeat.
        mix.add(start, &kick(bar as u64, 42.0, 0.16), 0.45, 0.0);
        mix.add(frame_at(b0 + 0.5, bpm), &kick(bar as u64 + 50, 40.0, 0.12), 0.28, 0.0);
        // Clock: quiet sixteenth ticks, accented on the beat.
        for step in 0..16 {
            let s = frame_at(b0 + step as f64 * 0.25, bpm);
            let level = if step % 4 == 0 { 0.07 } else { 0.035 };
            mix.add(s, &hat(1000 + (bar * 16 + step) as u64, 0.018), level, 0.3);
        }
    }
    // A distant high bell on the first and third bars, carried by the echo.
    let mut bells = Mix::new(len, true);
    bells.add(frame_at(1.5, bpm), &bell(76.0, 0.8, 3.5), 0.06, -0.3);
    bells.add(frame_at(9.5, bpm), &bell(77.0, 0.8, 3.5), 0.06, 0.3);
    let echoed = echo(&bells, beats_s(0.75, bpm), 0.55, 3000.0);
    mix.add_mix(&bells, 1.0);
    mix.add_mix(&echoed, 0.8);
    let wet = reverb(&mix, 0.86, 0.35);
    mix.add_mix(&wet, 0.35);
    Piece { mix, channels: 1 }
}

const CHORDS_AM_F_C_G: [([f64; 4], f64); 4] = [
    ([57.0, 60.0, 64.0, 69.0], 33.0),
    ([57.0, 60.0, 65.0, 69.0], 29.0),
    ([55.0, 60.0, 64.0, 67.0], 36.0),
    ([55.0, 59.0, 62.0, 67.0], 31.0),
];

/// Drums for one 4/4 bar at `bar_beat`: kick, snare on 2 and 4, sixteenth hats.
fn drum_bar(mix: &mut Mix, bar_beat: f64, bpm: f64, seed: u64, kicks: &[f64], fill: bool, level: f64) {
    for &k in kicks {
        mix.add(frame_at(bar_beat + k, bpm), &kick(seed * 10 + (k * 4.0) as u64, 46.0, 0.14), 0.9 * level, 0.0);
    }
    for k in [1.0, 3.0] {
        mix.add(frame_at(bar_beat + k, bpm), &snare(seed * 10 + k as u64, 1.0), 0.55 * level, 0.05);
    }
    if fill {
        for (i, k) in [3.5, 3.75].iter().enumerate() {
            mix.add(frame_at(bar_beat + k, bpm), &snare(seed * 10 + 7 + i as u64, 0.7), 0.5 * level, -0.1);
        }
    }
    for step in 0..16 {
        let b = step as f64 * 0.25;
        let open = step == 6 || step == 14;
        let decay = if open { 0.09 } else { 0.022 };
        let accent = if step % 2 == 0 { 0.2 } else { 0.11 };
        mix.add(frame_at(bar_beat + b, bpm), &hat(seed * 100 + step as u64, decay), accent * level, 0.25);
    }
}

/// Score bed "chase": Am–F–C–G, driving drums, sixteenth-note bass, syncopated stabs.
/// 120 bpm, 4 bars = 8 s = 352 800 frames.
fn chase() -> Piece {
    let bpm = 120.0;
    let len = frame_at(16.0, bpm);
    let mut mix = Mix::new(len, true);
    let bass_steps = [0.0, 0.0, 12.0, 0.0, 0.0, 12.0, 0.0, 0.0, 0.0, 0.0, 12.0, 0.0, 7.0, 0.0, 10.0, 12.0];
    let mut stabs = Mix::new(len, true);
    for (bar, (voicing, root)) in CHORDS_AM_F_C_G.iter().enumerate() {
        let b0 = bar as f64 * 4.0;
        drum_bar(&mut mix, b0, bpm, 10 + bar as u64, &[0.0, 0.75, 2.0, 2.5], bar == 3, 1.0);
        for (step, off) in bass_steps.iter().enumerate() {
            let accent = if step % 4 == 0 {
                1.0
            } else if step % 2 == 0 {
                0.7
            } else {
                0.5
            };
            mix.add(frame_at(b0 + step as f64 * 0.25, bpm), &bass(root + off, 0.09, accent, 1400.0), 0.42, 0.0);
        }
        for (i, s) in [0.0, 0.75, 1.5, 3.0].iter().enumerate() {
            let hold = if i == 2 { 0.3 } else { 0.12 };
            let pan = if i % 2 == 0 { -0.35 } else { 0.35 };
            stabs.add(frame_at(b0 + s, bpm), &stab(voicing, hold, (bar * 4 + i) as u64, 3500.0), 0.5, pan);
        }
    }
    // A quiet pad under the stabs glues the harmony without blurring the rhythm.
    let sweep = |_t: f64| 1.0;
    let pad_env = Env { a: 0.4, d: 1.0, s: 0.7, r: 0.3 };
    for (bar, (voicing, _)) in CHORDS_AM_F_C_G.iter().enumerate() {
        pad_chord(
            &mut mix,
            frame_at(bar as f64 * 4.0, bpm),
            &voicing[..3],
            beats_s(3.8, bpm),
            pad_env,
            1200.0,
            &sweep,
            0.05,
            40 + bar as u64,
        );
    }
    let stab_echo = echo(&stabs, beats_s(0.75, bpm), 0.3, 2500.0);
    mix.add_mix(&stabs, 1.0);
    mix.add_mix(&stab_echo, 0.5);
    let wet = reverb(&mix, 0.78, 0.4);
    mix.add_mix(&wet, 0.18);
    Piece { mix, channels: 1 }
}

/// Score bed "calm": Fmaj7 – Am(add9), warm slow pad, soft sine bass, a gentle bell arpeggio.
/// 72 bpm, 2 bars = 6.667 s = 294 000 frames.
fn calm() -> Piece {
    let bpm = 72.0;
    let len = frame_at(8.0, bpm);
    let loop_s = len as f64 / SRF;
    let mut mix = Mix::new(len, true);
    let sweep = move |t: f64| 2f64.powf(0.5 * (TAU * t / loop_s).sin());
    let chords: [([f64; 4], f64, [f64; 8]); 2] = [
        ([53.0, 57.0, 60.0, 64.0], 41.0, [69.0, 72.0, 76.0, 79.0, 77.0, 76.0, 72.0, 76.0]),
        ([57.0, 60.0, 64.0, 71.0], 45.0, [69.0, 71.0, 72.0, 76.0, 79.0, 76.0, 72.0, 71.0]),
    ];
    let pad_env = Env { a: 1.3, d: 2.5, s: 0.85, r: 0.5 };
    let mut bells = Mix::new(len, true);
    for (bar, (voicing, root, arp)) in chords.iter().enumerate() {
        let b0 = bar as f64 * 4.0;
        let start = frame_at(b0, bpm);
        let hold = beats_s(4.0, bpm) + 0.4;
        pad_chord(&mut mix, start, voicing, hold, pad_env, 1500.0, &sweep, 0.14, 60 + bar as u64);
        mix.add(start, &sine_bass(*root, hold, Env { a: 0.5, d: 2.0, s: 0.8, r: 0.4 }), 0.35, 0.0);
        for (i, n) in arp.iter().enumerate() {
            let level = if i % 2 == 0 { 0.09 } else { 0.06 };
            let pan = [-0.4, 0.1, 0.4, -0.1][i % 4];
            bells.add(frame_at(b0 + i as f64 * 0.5, bpm), &bell(*n, 0.6, 2.0), level, pan);
        }
    }
    let echoed = echo(&bells, beats_s(0.75, bpm), 0.4, 2500.0);
    mix.add_mix(&bells, 1.0);
    mix.add_mix(&echoed, 0.5);
    let wet = reverb(&mix, 0.88, 0.5);
    mix.add_mix(&wet, 0.4);
    Piece { mix, channels: 1 }
}

/// Song cue "theme": four bars of Am–F–C–G with melody, pad, bass and drums at 120 bpm, then a
/// final A minor chord with a cymbal that decays to silence. 12 s, stereo.
fn theme() -> Piece {
    let bpm = 120.0;
    let len = frames(12.0);
    let mut mix = Mix::new(len, false);
    let sweep = |t: f64| 1.0 + 0.3 * (TAU * t / 8.0).sin();
    let pad_env = Env { a: 0.25, d: 1.0, s: 0.75, r: 0.3 };
    let bass_steps = [0.0, 0.0, 12.0, 0.0, 0.0, 12.0, 0.0, 12.0];
    for (bar, (voicing, root)) in CHORDS_AM_F_C_G.iter().enumerate() {
        let b0 = bar as f64 * 4.0;
        pad_chord(
            &mut mix,
            frame_at(b0, bpm),
            &voicing[..3],
            beats_s(3.9, bpm),
            pad_env,
            1600.0,
            &sweep,
            0.09,
            80 + bar as u64,
        );
        drum_bar(&mut mix, b0, bpm, 20 + bar as u64, &[0.0, 1.75, 2.0], bar == 3, 0.8);
        for (step, off) in bass_steps.iter().enumerate() {
            let accent = if step % 2 == 0 { 1.0 } else { 0.6 };
            mix.add(frame_at(b0 + step as f64 * 0.5, bpm), &bass(root + off, 0.2, accent, 1000.0), 0.38, 0.0);
        }
    }
    // Melody (beat, length in beats, MIDI note).
    let melody: [(f64, f64, f64); 19] = [
        (0.0, 1.0, 76.0),
        (1.0, 1.0, 81.0),
        (2.0, 0.5, 79.0),
        (2.5, 0.5, 76.0),
        (3.0, 1.0, 72.0),
        (4.0, 1.5, 77.0),
        (5.5, 0.5, 76.0),
        (6.0, 1.0, 74.0),
        (7.0, 1.0, 72.0),
        (8.0, 1.0, 76.0),
        (9.0, 1.0, 79.0),
        (10.0, 0.5, 84.0),
        (10.5, 0.5, 83.0),
        (11.0, 1.0, 79.0),
        (12.0, 1.5, 79.0),
        (13.5, 0.5, 77.0),
        (14.0, 1.0, 76.0),
        (15.0, 1.0, 74.0),
        (16.0, 3.0, 76.0),
    ];
    let mut lead_mix = Mix::new(len, false);
    for (beat, dur, note) in melody {
        lead_mix.add(frame_at(beat, bpm), &lead(note, beats_s(dur, bpm) * 0.92), 0.22, 0.05);
    }
    // Ending: A minor on beat 16 (8 s), kick, crash, a bell doubling the top.
    let end = frame_at(16.0, bpm);
    let final_env = Env { a: 0.01, d: 0.8, s: 0.5, r: 0.4 };
    pad_chord(&mut mix, end, &[57.0, 60.0, 64.0, 69.0], 1.2, final_env, 2200.0, &sweep, 0.09, 99);
    mix.add(end, &stab(&[45.0, 52.0, 57.0, 60.0, 64.0], 0.6, 98, 2500.0), 0.45, 0.0);
    mix.add(end, &bass(33.0, 1.0, 1.0, 600.0), 0.45, 0.0);
    mix.add(end, &kick(97, 44.0, 0.25), 0.9, 0.0);
    mix.add(end, &crash(96, 0.7), 0.22, -0.4);
    mix.add(end, &crash(95, 0.7), 0.22, 0.4);
    lead_mix.add(end, &bell(81.0, 0.7, 2.0), 0.12, 0.2);
    let echoed = echo(&lead_mix, beats_s(0.75, bpm), 0.35, 3500.0);
    mix.add_mix(&lead_mix, 1.0);
    mix.add_mix(&echoed, 0.35);
    let wet = reverb(&mix, 0.82, 0.4);
    mix.add_mix(&wet, 0.25);
    mix.fade_out_end(1.2);
    Piece { mix, channels: 2 }
}

/// Sting: a brass-like A minor hit with a sub boom and a wide cymbal, 2.5 s, stereo.
fn sting() -> Piece {
    let len = frames(2.5);
    let mut mix = Mix::new(len, false);
    let hit = [33.0, 45.0, 52.0, 57.0, 60.0, 64.0, 69.0];
    mix.add(0, &stab(&hit, 0.6, 200, 6000.0), 0.8, -0.2);
    mix.add(0, &stab(&hit, 0.6, 201, 6000.0), 0.8, 0.2);
    // A brighter sustained layer so the chord rings on under the cymbal.
    let ring = Env { a: 0.004, d: 0.5, s: 0.35, r: 0.25 };
    pad_chord(&mut mix, 0, &hit[3..], 0.7, ring, 2600.0, &|_| 1.0, 0.12, 206);
    mix.add(0, &kick(202, 34.0, 0.4), 0.9, 0.0);
    mix.add(0, &snare(203, 0.8), 0.3, 0.0);
    mix.add(0, &crash(204, 0.5), 0.3, -0.6);
    mix.add(0, &crash(205, 0.5), 0.3, 0.6);
    let wet = reverb(&mix, 0.85, 0.3);
    mix.add_mix(&wet, 0.35);
    mix.fade_out_end(0.5);
    Piece { mix, channels: 2 }
}

/// Song cue "credits": Fmaj7–G | Dm7–E, resolving to A major (a hopeful last chord),
/// bells, lead, pad and soft drums at 96 bpm. 7 s, stereo.
fn credits() -> Piece {
    let bpm = 96.0;
    let len = frames(7.0);
    let mut mix = Mix::new(len, false);
    let sweep = |_t: f64| 1.0;
    let pad_env = Env { a: 0.2, d: 1.0, s: 0.8, r: 0.25 };
    // (start beat, pad voicing, bass, arpeggio)
    let chords: [(f64, [f64; 4], f64, [f64; 4]); 4] = [
        (0.0, [53.0, 57.0, 60.0, 64.0], 41.0, [77.0, 81.0, 84.0, 88.0]),
        (2.0, [55.0, 59.0, 62.0, 67.0], 43.0, [79.0, 83.0, 86.0, 83.0]),
        (4.0, [53.0, 57.0, 60.0, 62.0], 38.0, [74.0, 77.0, 81.0, 84.0]),
        (6.0, [52.0, 56.0, 59.0, 62.0], 40.0, [76.0, 80.0, 83.0, 86.0]),
    ];
    let mut bells = Mix::new(len, false);
    for (k, (beat, voicing, root, arp)) in chords.iter().enumerate() {
        let start = frame_at(*beat, bpm);
        pad_chord(&mut mix, start, voicing, beats_s(1.95, bpm), pad_env, 1800.0, &sweep, 0.08, 120 + k as u64);
        mix.add(start, &sine_bass(*root, beats_s(1.9, bpm), Env { a: 0.01, d: 0.6, s: 0.6, r: 0.1 }), 0.4, 0.0);
        for (i, n) in arp.iter().enumerate() {
            let pan = if i % 2 == 0 { -0.45 } else { 0.45 };
            bells.add(frame_at(beat + i as f64 * 0.5, bpm), &bell(*n, 0.5, 2.0), 0.07, pan);
        }
    }
    for bar in 0..2 {
        let b0 = bar as f64 * 4.0;
        for k in [0.0, 2.0, 2.5] {
            mix.add(frame_at(b0 + k, bpm), &kick(300 + bar * 10 + (k * 2.0) as u64, 48.0, 0.12), 0.5, 0.0);
        }
        for k in [1.0, 3.0] {
            mix.add(frame_at(b0 + k, bpm), &snare(320 + bar * 10 + k as u64, 0.6), 0.3, 0.1);
        }
        for step in 0..8 {
            let level = if step % 2 == 0 { 0.12 } else { 0.2 };
            mix.add(frame_at(b0 + step as f64 * 0.5, bpm), &hat(340 + bar * 10 + step, 0.03), level, 0.3);
        }
    }
    let melody: [(f64, f64, f64); 8] = [
        (0.0, 1.0, 72.0),
        (1.0, 1.0, 76.0),
        (2.0, 1.5, 74.0),
        (3.5, 0.5, 71.0),
        (4.0, 1.0, 69.0),
        (5.0, 1.0, 72.0),
        (6.0, 1.0, 71.0),
        (7.0, 1.0, 68.0),
    ];
    let mut lead_mix = Mix::new(len, false);
    for (beat, dur, note) in melody {
        lead_mix.add(frame_at(beat, bpm), &lead(note, beats_s(dur, bpm) * 0.9), 0.16, -0.05);
    }
    // Final A major (beat 8 = 5 s).
    let end = frame_at(8.0, bpm);
    let final_env = Env { a: 0.01, d: 0.6, s: 0.5, r: 0.2 };
    pad_chord(&mut mix, end, &[57.0, 61.0, 64.0, 69.0], 0.6, final_env, 2200.0, &sweep, 0.1, 130);
    mix.add(end, &sine_bass(33.0, 0.6, Env { a: 0.01, d: 0.5, s: 0.5, r: 0.2 }), 0.5, 0.0);
    mix.add(end, &kick(350, 44.0, 0.2), 0.6, 0.0);
    mix.add(end, &crash(351, 0.45), 0.14, 0.3);
    lead_mix.add(end, &lead(69.0, 0.7), 0.16, -0.05);
    bells.add(end, &bell(81.0, 0.5, 2.0), 0.1, 0.2);
    bells.add(frame_at(8.5, bpm), &bell(85.0, 0.45, 2.0), 0.07, -0.3);
    bells.add(frame_at(9.0, bpm), &bell(88.0, 0.4, 2.0), 0.05, 0.4);
    mix.add_mix(&bells, 1.0);
    let echoed = echo(&lead_mix, beats_s(0.75, bpm), 0.3, 3000.0);
    mix.add_mix(&lead_mix, 1.0);
    mix.add_mix(&echoed, 0.3);
    let wet = reverb(&mix, 0.8, 0.4);
    mix.add_mix(&wet, 0.28);
    mix.fade_out_end(0.8);
    Piece { mix, channels: 2 }
}
