//! Levels and position shared with the control side through atomics (written on the audio
//! thread, read anywhere; no locks).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Peak levels since the last read (linear), per channel of main, bed and cues; the clock; the
/// duck depth now (dB); how many events were dropped because the control side read too slowly.
#[derive(Default)]
pub struct Meters {
    peaks: [AtomicU32; 6],
    clock: AtomicU64,
    duck_db: AtomicU32,
    dropped: AtomicU32,
}

/// A reading of the meters.
#[derive(Debug, Clone, Copy, Default)]
pub struct MeterReading {
    pub main: [f32; 2],
    pub bed: [f32; 2],
    pub cues: [f32; 2],
    pub clock: u64,
    pub duck_db: f32,
    pub dropped_events: u32,
}

impl Meters {
    /// Audio thread: keeps the highest peak until it is read. Non-negative floats order like
    /// their bit patterns, so `fetch_max` on the bits is a max on the values.
    pub fn record(&self, peaks: &[f32; 6], clock: u64, duck_db: f32) {
        for (slot, p) in self.peaks.iter().zip(peaks) {
            slot.fetch_max(p.abs().to_bits(), Ordering::Relaxed);
        }
        self.duck_db.store(duck_db.to_bits(), Ordering::Relaxed);
        self.clock.store(clock, Ordering::Release);
    }

    pub fn count_dropped_event(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Control side: reads and resets the peaks.
    pub fn take(&self) -> MeterReading {
        let p: Vec<f32> = self.peaks.iter().map(|a| f32::from_bits(a.swap(0, Ordering::Relaxed))).collect();
        MeterReading {
            main: [p[0], p[1]],
            bed: [p[2], p[3]],
            cues: [p[4], p[5]],
            clock: self.clock.load(Ordering::Acquire),
            duck_db: f32::from_bits(self.duck_db.load(Ordering::Relaxed)),
            dropped_events: self.dropped.load(Ordering::Relaxed),
        }
    }
}
