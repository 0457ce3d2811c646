//! What a timecode the show follows says (LTC or MTC chase): the audio thread publishes its
//! state in a `SyncBoard` (atomics: no lock, no allocation) and its moments as `SyncEvent`s
//! (a wait-free queue); the control side reads the board for the state (`SyncView`: console,
//! `/segue/state`) and turns events into words and performance-log marks.

use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU8, Ordering};
use std::sync::Arc;

use crate::show::timecode::FrameRate;

/// Where the follower is with the timecode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockState {
    /// No timecode heard yet (or since it was lost): the show waits, stopped.
    #[default]
    Waiting,
    /// Timecode heard: the show's seek is being prepared, to start in place.
    Locking,
    /// Playing where the timecode says, speed following it.
    Locked,
    /// Timecode missing for a moment: playing on at the last speed.
    Freewheeling,
    /// Timecode missing for longer than the freewheel time, stopped still, running backwards or
    /// beyond ±10 % speed: the show stopped.
    Lost,
}

impl LockState {
    pub fn name(self) -> &'static str {
        match self {
            LockState::Waiting => "waiting",
            LockState::Locking => "locking",
            LockState::Locked => "locked",
            LockState::Freewheeling => "freewheeling",
            LockState::Lost => "lost",
        }
    }

    fn code(self) -> u8 {
        self as u8
    }

    fn from_code(code: u8) -> LockState {
        use LockState::*;
        [Waiting, Locking, Locked, Freewheeling, Lost].get(code as usize).copied().unwrap_or_default()
    }
}

/// Why the follower stopped the show.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StopWhy {
    /// No timecode for longer than the freewheel time (it stopped, or the cable came out).
    Lost { after_ms: u32 },
    /// The timecode stands still on one frame (a paused deck).
    Still,
    /// The timecode runs backwards.
    Reverse,
    /// The timecode runs at this speed, beyond ±10 %.
    Speed { percent: f32 },
}

/// A moment of the follower's, for the control side to say and log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SyncEvent {
    /// Locked: the show plays from timeline `position` (audio frames) at the timecode's word.
    Locked { position: u64, rate: FrameRate },
    /// The timecode jumped (more than 2 frames): the show re-located from `from` to `to`.
    Relocated { from: u64, to: u64 },
    /// Timecode missing at timeline `position`: playing on.
    Freewheeling { position: u64 },
    /// Timecode back after a freewheel, where it was expected: nothing moved.
    Resumed { position: u64 },
    /// The show stopped at `position`.
    Stopped { position: u64, why: StopWhy },
    /// The source was located (MTC's full frame): the show waits at `position`, ready.
    Parked { position: u64 },
    /// The timecode's rate is not the production's (said once).
    RateMismatch { heard: FrameRate, show: FrameRate },
}

#[derive(Debug, Default)]
struct Board {
    state: AtomicU8,
    /// `FrameRate` as an index into `RATES`, plus one (0: none yet).
    rate: AtomicU8,
    /// Where the sound is against the timecode, in microseconds (+: the sound is late).
    offset_us: AtomicI32,
    /// The speed the show plays at, in parts per million off 1 (+: faster).
    speed_ppm: AtomicI32,
    relocates: AtomicU32,
    locks: AtomicU32,
}

const RATES: [FrameRate; 6] = FrameRate::ALL;

/// The follower's state, shared between the audio thread (writes) and the control side (reads).
#[derive(Debug, Clone, Default)]
pub struct SyncBoard(Arc<Board>);

impl SyncBoard {
    /// Audio thread: the state after a buffer.
    pub fn publish(&self, state: LockState, rate: Option<FrameRate>, offset_us: i32, speed_ppm: i32) {
        let b = &self.0;
        b.state.store(state.code(), Ordering::Relaxed);
        let rate = rate.and_then(|r| RATES.iter().position(|&x| x == r)).map_or(0, |i| i as u8 + 1);
        b.rate.store(rate, Ordering::Relaxed);
        b.offset_us.store(offset_us, Ordering::Relaxed);
        b.speed_ppm.store(speed_ppm, Ordering::Relaxed);
    }

    /// Audio thread: one more lock (`relocate`: a re-locate after a jump).
    pub fn count_lock(&self, relocate: bool) {
        let counter = if relocate { &self.0.relocates } else { &self.0.locks };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Control side: the state as last published, for a source named `source` ("LTC", "MTC").
    pub fn view(&self, source: &'static str) -> SyncView {
        let b = &self.0;
        let rate = b.rate.load(Ordering::Relaxed);
        SyncView {
            source,
            state: LockState::from_code(b.state.load(Ordering::Relaxed)),
            rate: (rate > 0).then(|| RATES[(rate - 1) as usize % RATES.len()]),
            offset_ms: b.offset_us.load(Ordering::Relaxed) as f32 / 1000.0,
            speed_ppm: b.speed_ppm.load(Ordering::Relaxed),
            relocates: b.relocates.load(Ordering::Relaxed),
            locks: b.locks.load(Ordering::Relaxed),
        }
    }
}

/// A followed timecode as the operator sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyncView {
    pub source: &'static str,
    pub state: LockState,
    /// The rate heard (none before the first frame).
    pub rate: Option<FrameRate>,
    /// Where the sound is against the timecode (+: late), in ms.
    pub offset_ms: f32,
    /// The speed the show plays at, in parts per million off 1.
    pub speed_ppm: i32,
    pub relocates: u32,
    pub locks: u32,
}

impl SyncView {
    /// One line for the console: "LTC 25 locked +0.2 ms +480 ppm".
    pub fn line(&self) -> String {
        let rate = self.rate.map_or("--", |r| r.name());
        match self.state {
            LockState::Locked | LockState::Freewheeling => format!(
                "{} {rate} {} {:+.1} ms {:+} ppm",
                self.source,
                self.state.name(),
                self.offset_ms,
                self.speed_ppm
            ),
            _ => format!("{} {rate} {}", self.source, self.state.name()),
        }
    }
}

impl SyncEvent {
    /// The event in the operator's words (`at`: how a timeline position reads, `rate`: the
    /// sample rate).
    pub fn words(&self, source: &str, rate: u32) -> String {
        let at = |frames: u64| crate::control::times::position(frames as f64 / rate.max(1) as f64);
        match *self {
            SyncEvent::Locked { position, rate: tc } => {
                format!("{source} locked at {} fps: the show plays from {}", tc.name(), at(position))
            }
            SyncEvent::Relocated { from, to } => {
                format!("{source} jumped: the show re-located from {} to {}", at(from), at(to))
            }
            SyncEvent::Freewheeling { position } => {
                format!("{source} missing at {}: playing on at the last speed (freewheel)", at(position))
            }
            SyncEvent::Resumed { position } => format!("{source} back at {}: in place, nothing moved", at(position)),
            SyncEvent::Parked { position } => {
                format!("{source} located to {}: the show waits there, ready to roll", at(position))
            }
            SyncEvent::Stopped { position, why } => {
                let why = match why {
                    StopWhy::Lost { after_ms } => {
                        format!("no timecode for {after_ms} ms, longer than the freewheel time")
                    }
                    StopWhy::Still => "the timecode stands still".to_string(),
                    StopWhy::Reverse => "the timecode runs backwards".to_string(),
                    StopWhy::Speed { percent } => format!("the timecode runs at {percent:.1} % speed, beyond ±10 %"),
                };
                format!("{source} lost at {}: the show stopped ({why})", at(position))
            }
            SyncEvent::RateMismatch { heard, show } => format!(
                "{source} runs at {} fps but the production is at {} fps: followed at the timecode's rate",
                heard.name(),
                show.name()
            ),
        }
    }

    /// What it is, in one word (for scripts and the performance log).
    pub fn kind(&self) -> &'static str {
        match self {
            SyncEvent::Locked { .. } => "locked",
            SyncEvent::Relocated { .. } => "relocated",
            SyncEvent::Freewheeling { .. } => "freewheeling",
            SyncEvent::Resumed { .. } => "resumed",
            SyncEvent::Stopped { .. } => "stopped",
            SyncEvent::Parked { .. } => "parked",
            SyncEvent::RateMismatch { .. } => "rate_mismatch",
        }
    }

    /// The timeline frame it happened at (where the show plays from, for a lock or re-locate).
    pub fn position(&self) -> Option<u64> {
        match *self {
            SyncEvent::Locked { position, .. }
            | SyncEvent::Freewheeling { position }
            | SyncEvent::Resumed { position }
            | SyncEvent::Parked { position }
            | SyncEvent::Stopped { position, .. } => Some(position),
            SyncEvent::Relocated { to, .. } => Some(to),
            SyncEvent::RateMismatch { .. } => None,
        }
    }

    /// Whether the operator must hear of it as a problem (else it is a notice).
    pub fn is_problem(&self) -> bool {
        matches!(self, SyncEvent::Stopped { .. } | SyncEvent::RateMismatch { .. } | SyncEvent::Freewheeling { .. })
    }
}

/// The cut in rehearsal (`--picture`), as the state shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PictureView {
    pub file: String,
    /// The cut's frame on screen, when the video monitor has said.
    pub frame: Option<i64>,
    /// The cut's frame the show was on when it said so.
    pub show_frame: Option<i64>,
    pub fps: f64,
}
