//! Ten minutes of LTC chase at +500 ppm and at -500 ppm, as fast as the machine goes: LTC made
//! by libltc's encoder on a clock that runs off the listener's, heard by libltc's decoder in
//! 256-frame buffers, followed by the player's `Lock`, the show rendered through its `Varispeed`.
//! The "show" is a slow sine and cosine of the timeline position (a 0.1 s period), so each output
//! sample says which timeline frame it is, to a fraction: set against where the timecode was at
//! that sample, that is the chase's error. Prints the worst error after the first second, the
//! seeks (re-locates) and the gaps (samples of silence after the lock), and how fast it ran.
//! (`cargo test` runs 30 s of the same on a real JACK server: tests/chase.rs.)

use std::f64::consts::PI;
use std::time::Instant;

use segue::app::sync::libltc::{Decoder, Encoder, Label};
use segue::app::sync::lock::{Freewheel, Lock, Reading, Settings};
use segue::app::sync::varispeed::Varispeed;
use segue::control::sync::{SyncBoard, SyncEvent};
use segue::show::timecode::{FrameRate, Timecode};

const RATE: u32 = 48_000;
const BLOCK: usize = 256;
/// The period of the position signal, in timeline frames.
const PERIOD: f64 = 4800.0;

struct Outcome {
    worst_ms: f64,
    relocates: usize,
    locks: usize,
    gaps: usize,
    secs: f64,
}

fn chase(ppm: f64, minutes: f64) -> Outcome {
    let rate = FrameRate::Fps25;
    let speed = 1.0 + ppm * 1e-6;
    let zero = Timecode::parse("01:00:00:00", rate).unwrap();
    let first = Timecode::parse("01:00:05:00", rate).unwrap().frames;
    let mut enc = Encoder::new(RATE as f64 / speed, rate, -18.0);
    enc.set(Label::of(first, rate));
    let mut dec = Decoder::new(1920);
    let (events_tx, mut events) = rtrb::RingBuffer::new(64);
    let settings = Settings { sample_rate: RATE, show_rate: rate, zero, freewheel: Freewheel::Frames(8), points: 32 };
    let mut lock = Lock::new(settings, events_tx, SyncBoard::default());
    let mut vari = Varispeed::new();
    let mut mix: [Box<[f32]>; 6] = std::array::from_fn(|_| vec![0.0; 4096].into_boxed_slice());
    let mut ltc: Vec<f32> = Vec::new();
    let (mut locks, mut relocates, mut gaps) = (0, 0, 0);
    let mut worst: f64 = 0.0;
    let mut locked_at: Option<u64> = None;
    let blocks = (minutes * 60.0 * RATE as f64) as usize / BLOCK;
    let began = Instant::now();
    for b in 0..blocks {
        let now = (b * BLOCK) as u64;
        while ltc.len() < BLOCK {
            enc.frame(|bytes| ltc.extend(bytes.iter().map(|&x| Encoder::sample(x))));
        }
        dec.write(&ltc[..BLOCK], now as i64);
        ltc.drain(..BLOCK);
        while let Some(h) = dec.read() {
            lock.hear(Reading::ltc(h.label, h.start.max(0) as u64, (h.end - h.start + 1) as u32, h.reverse));
        }
        let s = lock.steer(now, vari.ahead(), BLOCK as u64);
        vari.set_speed(s);
        while vari.ready() < BLOCK {
            let n = vari.wants();
            let t = lock.transport();
            let p0 = t.position.unwrap_or(0) as f64;
            let [sines, cosines, ..] = &mut mix;
            for (i, (s, c)) in sines[..n].iter_mut().zip(cosines[..n].iter_mut()).enumerate() {
                let (sin, cos) = if t.playing { (2.0 * PI * (p0 + i as f64) / PERIOD).sin_cos() } else { (0.0, 0.0) };
                *s = sin as f32;
                *c = cos as f32;
            }
            vari.push(&mix, n);
            lock.advance(n as u64);
        }
        vari.pop(BLOCK, |at, run| {
            for (i, (&s, &c)) in run[0].iter().zip(run[1]).enumerate() {
                let t = now + (at + i) as u64;
                let (s, c) = (s as f64, c as f64);
                let Some(since) = locked_at.map(|l| t.saturating_sub(l)) else { continue };
                if s.hypot(c) < 0.5 {
                    gaps += 1;
                    continue;
                }
                if since < RATE as u64 {
                    continue;
                }
                // Where the timecode has the show at sample t: from 01:00:05:00 at sample 0.
                let expected = 5.0 * RATE as f64 + t as f64 * speed;
                let heard = s.atan2(c).rem_euclid(2.0 * PI) / (2.0 * PI) * PERIOD;
                let off = (expected - heard).rem_euclid(PERIOD);
                let off = if off > PERIOD / 2.0 { off - PERIOD } else { off };
                worst = worst.max(off.abs());
            }
        });
        while let Ok(e) = events.pop() {
            match e {
                SyncEvent::Locked { .. } => {
                    locks += 1;
                    // The sound of the lock reaches the output a buffer or so later.
                    locked_at = Some(now + 2 * BLOCK as u64);
                }
                SyncEvent::Relocated { .. } => relocates += 1,
                _ => {}
            }
        }
    }
    Outcome { worst_ms: worst * 1000.0 / RATE as f64, relocates, locks, gaps, secs: began.elapsed().as_secs_f64() }
}

fn main() {
    let minutes: f64 = std::env::var("SEGUE_CHASE_MINUTES").ok().and_then(|m| m.parse().ok()).unwrap_or(10.0);
    println!("LTC chase, {minutes} minutes each, 25 fps, 256-frame buffers (libltc encode/decode, Lock, Varispeed)");
    for ppm in [500.0, -500.0] {
        let o = chase(ppm, minutes);
        println!(
            "  {ppm:+} ppm: worst {:.3} ms after the first second, {} lock, {} seeks, {} gap samples; {:.1} s ({:.0}x real time)",
            o.worst_ms,
            o.locks,
            o.relocates,
            o.gaps,
            o.secs,
            minutes * 60.0 / o.secs
        );
    }
}
