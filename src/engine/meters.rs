//! Levels and position shared with the control side through atomics (written on the audio
//! thread, read anywhere; no locks).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Peak levels since the last read (linear), per channel of main, bed and cues, and their
/// power (sum of squares over both channels, and the frames it is over) for RMS; the clock; the
/// duck depth now (dB); how many events were dropped because the control side read too slowly;
/// and per voice slot, the cue it plays (index + 1; 0: none or a bed) with its peak.
pub struct Meters {
    peaks: [AtomicU32; 6],
    /// f64 bits of the sums of squares of main, bed and cues.
    power: [AtomicU64; 3],
    frames: AtomicU64,
    clock: AtomicU64,
    duck_db: AtomicU32,
    dropped: AtomicU32,
    voices: Box<[(AtomicU32, AtomicU32)]>,
}

/// A reading of the meters.
#[derive(Debug, Clone, Copy, Default)]
pub struct MeterReading {
    pub main: [f32; 2],
    pub bed: [f32; 2],
    pub cues: [f32; 2],
    /// RMS since the last reading (linear, both channels): main, bed, cues.
    pub rms: [f32; 3],
    pub clock: u64,
    pub duck_db: f32,
    pub dropped_events: u32,
}

/// Adds `x` to the f64 in `slot` (the audio thread is the only writer; the reader swaps it to 0,
/// and the loop makes sure a swap between the load and the store is not lost).
fn add_f64(slot: &AtomicU64, x: f64) {
    let _ = slot.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| Some((f64::from_bits(bits) + x).to_bits()));
}

impl Meters {
    /// Meters for an engine of `voices` voice slots.
    pub fn new(voices: usize) -> Meters {
        Meters {
            peaks: Default::default(),
            power: Default::default(),
            frames: AtomicU64::new(0),
            clock: AtomicU64::new(0),
            duck_db: AtomicU32::new(0),
            dropped: AtomicU32::new(0),
            voices: (0..voices).map(|_| (AtomicU32::new(0), AtomicU32::new(0))).collect(),
        }
    }

    /// Audio thread: keeps the highest peak until it is read, and adds up the power of `frames`
    /// frames. Non-negative floats order like their bit patterns, so `fetch_max` on the bits is
    /// a max on the values.
    pub fn record(&self, peaks: &[f32; 6], power: &[f64; 3], frames: u64, clock: u64, duck_db: f32) {
        for (slot, p) in self.peaks.iter().zip(peaks) {
            slot.fetch_max(p.abs().to_bits(), Ordering::Relaxed);
        }
        for (slot, p) in self.power.iter().zip(power) {
            add_f64(slot, *p);
        }
        self.frames.fetch_add(frames, Ordering::Relaxed);
        self.duck_db.store(duck_db.to_bits(), Ordering::Relaxed);
        self.clock.store(clock, Ordering::Release);
    }

    /// Audio thread: voice slot `slot` plays cue `cue` (`None`: nothing, or a bed), `peak` loud.
    pub fn record_voice(&self, slot: usize, cue: Option<u32>, peak: f32) {
        if let Some((owner, level)) = self.voices.get(slot) {
            owner.store(cue.map_or(0, |c| c + 1), Ordering::Relaxed);
            // Nothing to raise the held peak by: no read-modify-write (it costs ~20 ns).
            if peak != 0.0 {
                level.fetch_max(peak.abs().to_bits(), Ordering::Relaxed);
            }
        }
    }

    /// Control side: each playing cue's peak since the last call (the loudest of its voices),
    /// into `out` as (cue index, linear peak).
    pub fn take_cues(&self, out: &mut Vec<(u32, f32)>) {
        out.clear();
        for (owner, level) in self.voices.iter() {
            let peak = f32::from_bits(level.swap(0, Ordering::Relaxed));
            let Some(cue) = owner.load(Ordering::Relaxed).checked_sub(1) else { continue };
            match out.iter_mut().find(|(c, _)| *c == cue) {
                Some((_, p)) => *p = p.max(peak),
                None => out.push((cue, peak)),
            }
        }
    }

    pub fn count_dropped_event(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Control side: reads and resets the peaks.
    pub fn take(&self) -> MeterReading {
        let p: Vec<f32> = self.peaks.iter().map(|a| f32::from_bits(a.swap(0, Ordering::Relaxed))).collect();
        let frames = self.frames.swap(0, Ordering::Relaxed).max(1) as f64;
        let rms = |i: usize| (f64::from_bits(self.power[i].swap(0, Ordering::Relaxed)) / (2.0 * frames)).sqrt() as f32;
        MeterReading {
            main: [p[0], p[1]],
            bed: [p[2], p[3]],
            cues: [p[4], p[5]],
            rms: [rms(0), rms(1), rms(2)],
            clock: self.clock.load(Ordering::Acquire),
            duck_db: f32::from_bits(self.duck_db.load(Ordering::Relaxed)),
            dropped_events: self.dropped.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rms_is_the_power_over_both_channels_since_the_last_reading() {
        let m = Meters::new(4);
        // A full-scale sine on both channels of main has an RMS of 1/sqrt(2): power 0.5 a sample.
        m.record(&[1.0; 6], &[0.5 * 2.0 * 100.0, 0.0, 0.0], 100, 0, 0.0);
        m.record(&[0.5; 6], &[0.5 * 2.0 * 300.0, 0.0, 0.0], 300, 0, 0.0);
        let r = m.take();
        assert!((r.rms[0] - 0.5f32.sqrt()).abs() < 1e-6, "{:?}", r.rms);
        assert_eq!(r.rms[1], 0.0);
        assert_eq!(r.main, [1.0, 1.0]);
        assert_eq!(m.take().rms[0], 0.0, "read, then nothing since");
    }

    #[test]
    fn a_cues_level_is_its_loudest_voice() {
        let m = Meters::new(4);
        m.record_voice(0, Some(2), 0.25);
        m.record_voice(1, Some(2), 0.5);
        m.record_voice(2, None, 0.9);
        m.record_voice(3, Some(0), 0.1);
        let mut out = Vec::new();
        m.take_cues(&mut out);
        assert_eq!(out, vec![(2, 0.5), (0, 0.1)]);
    }
}
