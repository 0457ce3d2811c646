//! Locking the show to a timecode (audio thread): LTC or MTC frames heard, each stamped with the
//! audio clock frame it started on, become where the show must be and how fast it must go.
//!
//! - **Lock**: from the first frame heard, the follower picks a buffer three quarters of a
//!   timecode frame ahead, holds the show stopped at the timeline frame that buffer's sound must be (so the desk
//!   prepares that seek, as for a stopped DAW playhead) and starts it there, on time.
//! - **Follow**: a least-squares line through the last 32 frames gives the timecode's position
//!   and speed against the audio clock. The show plays at that speed (`Varispeed`), plus a
//!   correction that takes out what the sound is off in about a second; the speed moves in
//!   steps of at most 50 ppm a buffer. It never seeks while the timecode runs on. A step in the
//!   source smaller than a jump (its machine missed a buffer) starts a new line, the speed held.
//! - **Jump**: a frame more than 2 frames away from where the line says re-locates (as a lock).
//! - **Dropout**: no frame for a moment plays on at the last speed (freewheel); longer than the
//!   freewheel time, or a timecode that stands still, runs backwards or beyond ±10 % speed, stops
//!   the show (the transport's stop fade) and says why.
//!
//! `Lock` is plain arithmetic on clock frames (tested here on made-up frames); `ltc` feeds it
//! from a JACK port. It never allocates: its events go out through a wait-free queue.

use crate::app::sync::libltc::Label;
use crate::control::sync::{LockState, StopWhy, SyncBoard, SyncEvent};
use crate::control::transport::Transport;
use crate::show::timecode::{FrameRate, Timecode};

/// The most readings the line is fitted through.
const FIT: usize = 128;
/// Readings the line needs before its speed is trusted (fewer: the nominal speed): an eighth
/// of the points it is fitted through, at least 4.
/// How long a correction of the sound's offset takes, in seconds.
const CORRECT_SECS: f64 = 1.0;
/// The largest correction on top of the timecode's speed (0.5 %).
const MAX_CORRECTION: f64 = 0.005;
/// The largest change of speed from one buffer to the next: 50 ppm (0.09 cent), ramped by the
/// resampler across the buffer; a 0.5 % correction is reached in a tenth of a second at
/// 256-frame buffers, so the correction does not lag behind (and overshoot) the error.
const SPEED_STEP: f64 = 50e-6;
/// A frame this far off the line (but not a jump) is a step in the source: a new line starts.
/// Far above a decoder's jitter (a few samples), below a buffer a machine may miss (5 ms).
const STEP_MS: f64 = 1.5;
/// Readings off the line in a row that make a step (fewer: a stray reading, left out).
const STEPPED: u32 = 3;

/// One timecode frame (or quarter frame) heard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub label: Label,
    /// Quarter frames past `label` (MTC's quarter frames place the time between frames).
    pub quarters: u8,
    /// The audio clock frame it started on.
    pub start: u64,
    /// Audio clock frames it took (0: not measured, as for MTC).
    pub length: u32,
    pub reverse: bool,
    /// The rate the source says it runs at (MTC names one; LTC only carries the drop-frame flag).
    pub declared: Option<FrameRate>,
    /// Not running: the source was located here (MTC's full-frame message).
    pub parked: bool,
}

impl Reading {
    /// A frame of LTC heard from `start` for `length` clock frames.
    pub fn ltc(label: Label, start: u64, length: u32, reverse: bool) -> Reading {
        Reading { label, quarters: 0, start, length, reverse, declared: None, parked: false }
    }
}

/// How long a dropout may last before the show stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freewheel {
    /// This many timecode frames.
    Frames(u32),
    /// For good: play on until the timecode returns or the operator stops it.
    Jam,
}

impl Freewheel {
    /// Reads `--freewheel` (`FRAMES` or `jam`); at most 2 s of frames (`fps` the production's).
    pub fn parse(text: &str, fps: u64) -> Result<Freewheel, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("jam") {
            return Ok(Freewheel::Jam);
        }
        match text.parse::<u32>() {
            Ok(n) if (n as u64) <= 2 * fps => Ok(Freewheel::Frames(n)),
            Ok(n) => Err(format!("--freewheel {n}: at most {} frames (2 s), or jam", 2 * fps)),
            Err(_) => Err(format!("--freewheel \"{text}\": a number of frames (default 8), or jam")),
        }
    }
}

/// What the follower needs to know of the show.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub sample_rate: u32,
    /// The production's rate (decides between 24 and 23.976, 30 and 29.97, which a timecode's
    /// bits do not tell apart).
    pub show_rate: FrameRate,
    /// The timecode at the show's 0.
    pub zero: Timecode,
    pub freewheel: Freewheel,
    /// Readings the line goes through (at most 128): 32 LTC frames (1.3 s at 25 fps), or 128
    /// MTC quarter frames (the same time), whose MIDI timing is coarser.
    pub points: usize,
}

/// The follower.
pub struct Lock {
    s: Settings,
    rate: Option<FrameRate>,
    said_mismatch: bool,
    /// The label heard last, and the highest frame number in its second.
    previous: Option<Label>,
    previous_start: u64,
    second_max: u8,
    /// The show's 0 as a frame count at `rate`.
    zero_count: f64,
    /// Audio frames per timecode frame at `rate`.
    per_frame: f64,
    /// (clock frame, timeline frame) of the frames heard, a ring; the line goes through the
    /// last `Settings::points` of them.
    fit: [(f64, f64); FIT],
    fitted: usize,
    next: usize,
    last: Option<u64>,
    /// The clock frame the last frame heard ended on.
    heard_at: u64,
    /// The last frames heard stood still (the same label again).
    still: bool,
    /// A jump was heard: re-locate.
    jumped: bool,
    state: LockState,
    /// Locking: (clock frame to start on, timeline frame to start at).
    due: Option<(u64, u64)>,
    playing: bool,
    /// The timeline frame of the next engine frame.
    position: u64,
    speed: f64,
    /// The speed while the line has too few frames to say (the last it said; 1 at first).
    held: f64,
    /// Readings off the line in a row (see `STEPPED`).
    off_line: u32,
    offset: f64,
    /// A lock after a jump, not the first.
    relocating: Option<u64>,
    events: rtrb::Producer<SyncEvent>,
    board: SyncBoard,
}

impl Lock {
    pub fn new(s: Settings, events: rtrb::Producer<SyncEvent>, board: SyncBoard) -> Lock {
        let mut lock = Lock {
            s,
            rate: None,
            said_mismatch: false,
            previous: None,
            previous_start: 0,
            second_max: 0,
            zero_count: 0.0,
            per_frame: s.sample_rate as f64 / 25.0,
            fit: [(0.0, 0.0); FIT],
            fitted: 0,
            next: 0,
            last: None,
            heard_at: 0,
            still: false,
            jumped: false,
            state: LockState::Waiting,
            due: None,
            playing: false,
            position: 0,
            speed: 1.0,
            held: 1.0,
            off_line: 0,
            offset: 0.0,
            relocating: None,
            events,
            board,
        };
        lock.set_rate(s.show_rate);
        lock.rate = None;
        lock
    }

    pub fn state(&self) -> LockState {
        self.state
    }

    /// A frame heard.
    pub fn hear(&mut self, r: Reading) {
        if r.reverse {
            self.stop(StopWhy::Reverse);
            return;
        }
        self.detect(&r);
        let rate = self.rate.unwrap_or(self.s.show_rate);
        let count = r.label.count(rate.base(), rate.drop_frame()) * 4 + r.quarters as u64;
        if r.parked {
            self.park(count);
            return;
        }
        if self.last == Some(count) {
            // The same label again: a paused deck. It does not count as heard.
            self.still = true;
            return;
        }
        self.still = false;
        let y = (count as f64 / 4.0 - self.zero_count) * self.per_frame;
        let x = r.start as f64;
        let backwards = self.last.is_some_and(|last| count < last);
        let off = if self.fitted > 0 { (y - self.line(x)).abs() } else { 0.0 };
        if self.fitted > 0 && (backwards || off > 2.0 * self.per_frame + 0.5 * self.per_frame) {
            self.fitted = 0;
            self.jumped = true;
        } else if self.fitted >= self.speed_points() && off > STEP_MS * self.s.sample_rate as f64 / 1000.0 {
            // Off the line, too little for a jump. Once, it is a frame the decoder placed badly
            // (the first after a dropout): left out. Three in a row, the source stepped (its
            // machine missed a buffer): a line through both sides would tilt, and the speed with
            // it, so a new line starts here, the speed held meanwhile; the correction takes the
            // step out.
            self.off_line += 1;
            if self.off_line < STEPPED {
                // Heard all the same: the timecode is there.
                self.last = Some(count);
                let length = if r.length > 0 { r.length as f64 } else { self.per_frame };
                self.heard_at = self.heard_at.max(r.start + length as u64);
                return;
            }
            self.held = self.slope();
            self.fitted = 0;
        }
        if off <= STEP_MS * self.s.sample_rate as f64 / 1000.0 {
            self.off_line = 0;
        }
        self.fit[self.next] = (x, y);
        self.next = (self.next + 1) % FIT;
        self.fitted = (self.fitted + 1).min(self.s.points.clamp(2, FIT));
        self.last = Some(count);
        let length = if r.length > 0 { r.length as f64 } else { self.per_frame };
        self.heard_at = self.heard_at.max(r.start + length as u64);
    }

    /// The source was located to `quarters` (quarter frames) and waits there: the show stops
    /// (if it played) and waits there, its seek prepared, for the timecode to roll.
    fn park(&mut self, quarters: u64) {
        let position = ((quarters as f64 / 4.0 - self.zero_count) * self.per_frame).max(0.0).round() as u64;
        self.fitted = 0;
        self.last = None;
        self.jumped = false;
        self.due = None;
        self.relocating = None;
        self.playing = false;
        self.position = position;
        self.state = LockState::Waiting;
        self.event(SyncEvent::Parked { position });
    }

    /// Once per device buffer, at clock frame `now`, with `ahead` device frames between the
    /// engine and the sound and `block` frames in the buffer: where the show goes, and the speed
    /// it plays at.
    pub fn steer(&mut self, now: u64, ahead: f64, block: u64) -> f64 {
        let stale = now.saturating_sub(self.heard_at) as f64;
        // A frame is due every frame (a buffer may hold it back); one lost now and then (noisy
        // LTC) is no dropout: the line carries on through it.
        let missing = self.fitted > 0 && stale > 2.5 * self.per_frame + block as f64;
        let limit = match self.s.freewheel {
            Freewheel::Frames(n) => n as f64 * self.per_frame,
            Freewheel::Jam => f64::INFINITY,
        };
        match self.state {
            LockState::Waiting | LockState::Lost => {
                // After a loss, the timecode must run at a speed the show can follow before it
                // locks again (else one running at 115 % would lock and stop over and over).
                let sane = self.state == LockState::Waiting
                    || (self.fitted >= self.speed_points() && (self.slope() - 1.0).abs() <= 0.1);
                if self.fitted > 0 && !missing && sane {
                    self.begin_lock(now, ahead, block);
                }
            }
            LockState::Locking => {
                if missing {
                    // Gone before the show started: wait again, nothing was heard.
                    self.state = LockState::Waiting;
                    self.due = None;
                } else if self.jumped {
                    self.begin_lock(now, ahead, block);
                } else if let Some((at, position)) = self.due {
                    if now + block / 2 >= at {
                        self.start(position);
                    }
                }
            }
            LockState::Locked | LockState::Freewheeling => {
                let sounding = self.position as f64 - ahead * self.speed;
                if self.jumped && !missing {
                    self.relocating = Some(sounding.max(0.0) as u64);
                    self.playing = false;
                    self.begin_lock(now, ahead, block);
                } else if missing {
                    if self.state == LockState::Locked {
                        self.state = LockState::Freewheeling;
                        self.event(SyncEvent::Freewheeling { position: sounding.max(0.0) as u64 });
                    }
                    if stale - self.per_frame > limit {
                        let why =
                            if self.still { StopWhy::Still } else { StopWhy::Lost { after_ms: self.ms(stale) as u32 } };
                        self.stop(why);
                    }
                } else {
                    if self.state == LockState::Freewheeling {
                        self.state = LockState::Locked;
                        self.event(SyncEvent::Resumed { position: sounding.max(0.0) as u64 });
                    }
                    self.follow(now, sounding);
                }
            }
        }
        if self.fitted >= self.speed_points() && self.state != LockState::Lost {
            let speed = self.slope();
            if (speed - 1.0).abs() > 0.1 {
                self.stop(StopWhy::Speed { percent: (speed * 100.0) as f32 });
            }
        }
        self.board.publish(
            self.state,
            self.rate,
            (self.offset / self.s.sample_rate as f64 * 1e6) as i32,
            ((self.speed - 1.0) * 1e6).round() as i32,
        );
        self.speed
    }

    /// The transport for the engine frames about to be rendered.
    pub fn transport(&self) -> Transport {
        Transport { playing: self.playing, position: Some(self.position), loop_start: None }
    }

    /// `frames` engine frames were rendered.
    pub fn advance(&mut self, frames: u64) {
        if self.playing {
            self.position += frames;
        }
    }

    /// The timeline frame playing (as the engine sees it).
    pub fn position(&self) -> (bool, u64) {
        (self.playing, self.position)
    }

    /// Holds the show stopped where the sound of a buffer about one timecode frame ahead must
    /// be, so its seek gets ready; `steer` starts it when that buffer comes.
    fn begin_lock(&mut self, now: u64, ahead: f64, block: u64) {
        self.jumped = false;
        self.state = LockState::Locking;
        let block = block.max(1);
        // Three quarters of a frame: time for the desk to prepare the seek (a few ms to tens of
        // ms), and sounding within 2 frames of the frame heard.
        let lead = (0.75 * self.per_frame).max(2.0 * block as f64);
        let mut at = now + (lead / block as f64).ceil() as u64 * block;
        let mut target = self.line(at as f64 + ahead);
        if target < 0.0 {
            // Before the show's 0: start at 0 when the timecode gets there.
            let speed = self.fit_speed();
            let reach = at as f64 + ahead - target / speed;
            at = (reach - ahead).max(at as f64) as u64;
            target = 0.0;
        }
        let position = target.round() as u64;
        self.due = Some((at, position));
        self.playing = false;
        self.position = position;
        self.speed = self.fit_speed();
    }

    fn start(&mut self, position: u64) {
        self.due = None;
        self.playing = true;
        self.position = position;
        self.state = LockState::Locked;
        self.offset = 0.0;
        match self.relocating.take() {
            Some(from) => {
                self.board.count_lock(true);
                self.event(SyncEvent::Relocated { from, to: position });
            }
            None => {
                self.board.count_lock(false);
                let rate = self.rate.unwrap_or(self.s.show_rate);
                self.event(SyncEvent::Locked { position, rate });
            }
        }
    }

    /// Locked: the speed that keeps the sound on the timecode.
    fn follow(&mut self, now: u64, sounding: f64) {
        let error = self.line(now as f64) - sounding;
        self.offset = -error;
        if error.abs() > 2.0 * self.per_frame {
            // Drifted further than a jump would be (should not happen while following): lock anew.
            self.relocating = Some(sounding.max(0.0) as u64);
            self.playing = false;
            self.begin_lock(now, 0.0, 1);
            return;
        }
        let correction = (error / (self.s.sample_rate as f64 * CORRECT_SECS)).clamp(-MAX_CORRECTION, MAX_CORRECTION);
        let target = self.fit_speed() + correction;
        self.speed += (target - self.speed).clamp(-SPEED_STEP, SPEED_STEP);
    }

    fn stop(&mut self, why: StopWhy) {
        let was = self.state;
        self.fitted = 0;
        self.last = None;
        self.jumped = false;
        self.due = None;
        self.relocating = None;
        self.state = LockState::Lost;
        if was != LockState::Lost {
            let position = self.position;
            self.playing = false;
            self.event(SyncEvent::Stopped { position, why });
        }
    }

    /// Where the line through the frames heard puts clock frame `x` on the timeline.
    fn line(&self, x: f64) -> f64 {
        let n = self.fitted;
        if n == 0 {
            return 0.0;
        }
        let points = || (0..n).map(|i| self.fit[(self.next + FIT - 1 - i) % FIT]);
        let (mx, my) = points().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
        let (mx, my) = (mx / n as f64, my / n as f64);
        my + self.fit_speed() * (x - mx)
    }

    /// The timecode's speed against the audio clock, once the line has enough frames.
    fn speed_points(&self) -> usize {
        (self.s.points / 8).max(4)
    }

    fn fit_speed(&self) -> f64 {
        if self.fitted < self.speed_points() {
            self.held
        } else {
            self.slope()
        }
    }

    fn slope(&self) -> f64 {
        let n = self.fitted;
        let points = || (0..n).map(|i| self.fit[(self.next + FIT - 1 - i) % FIT]);
        let (mx, my) = points().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
        let (mx, my) = (mx / n as f64, my / n as f64);
        let (sxy, sxx) = points().fold((0.0, 0.0), |(a, b), (x, y)| (a + (x - mx) * (y - my), b + (x - mx) * (x - mx)));
        if sxx > 0.0 {
            sxy / sxx
        } else {
            1.0
        }
    }

    /// The rate: the base (frames a second) is first taken from how long a frame takes (the
    /// production's unless that is more than 8 % off: within the ±10 % a timecode may run at,
    /// 24 and 25 differ by 4 %), then from the frame numbers themselves at each new second (the
    /// last number before 00, plus one); 29.97 drop-frame from the flag; 23.976 against 24 and
    /// 29.97 against 30 (0.1 % apart, what a clock may drift) as the production has it. MTC says
    /// its rate.
    fn detect(&mut self, r: &Reading) {
        let show = self.s.show_rate;
        let named = |base: u64, drop: bool| match (base, drop) {
            (30, true) => FrameRate::Fps29_97Df,
            (24, _) if show == FrameRate::Fps23_976 => FrameRate::Fps23_976,
            (24, _) => FrameRate::Fps24,
            (25, _) => FrameRate::Fps25,
            (_, _) if show == FrameRate::Fps29_97 => FrameRate::Fps29_97,
            _ => FrameRate::Fps30,
        };
        let label = r.label;
        // The frame numbers of the second just ended tell its base, when its last frame was
        // heard (the one before this, no frame lost between).
        let length = if r.length > 0 { r.length as f64 } else { self.per_frame };
        let next_to = (r.start as f64 - self.previous_start as f64) < 1.5 * length;
        let counted = match self.previous {
            Some(p) if next_to && label.frames == 0 && p.seconds != label.seconds && p.frames == self.second_max => {
                Some(p.frames as u64 + 1).filter(|b| [24, 25, 30].contains(b))
            }
            _ => None,
        };
        if label.seconds != self.previous.map_or(255, |p| p.seconds) {
            self.second_max = 0;
        }
        self.second_max = self.second_max.max(label.frames);
        self.previous = Some(label);
        self.previous_start = r.start;
        let rate = match (r.declared, self.rate, counted) {
            (Some(declared), _, _) => named(declared.base(), declared.drop_frame()),
            (None, _, Some(base)) => named(base, label.drop),
            // A frame number or flag the rate does not have: it was guessed wrong.
            (None, Some(rate), None) if (label.frames as u64) < rate.base() && label.drop == rate.drop_frame() => {
                return
            }
            (None, _, None) => {
                let fps = if r.length > 0 { self.s.sample_rate as f64 / r.length as f64 } else { show.base() as f64 };
                let mut base = if (fps / show.base() as f64 - 1.0).abs() < 0.08 {
                    show.base()
                } else {
                    [24u64, 25, 30].into_iter().min_by_key(|&b| ((b as f64 - fps).abs() * 1000.0) as u64).unwrap_or(25)
                };
                if label.drop || label.frames >= 25 {
                    base = 30;
                } else if label.frames >= 24 {
                    base = base.max(25);
                }
                named(base, label.drop)
            }
        };
        if self.rate != Some(rate) {
            let had = self.rate.is_some();
            self.set_rate(rate);
            // What was heard was counted at another rate: heard anew (a re-locate if playing).
            self.fitted = 0;
            self.last = None;
            self.jumped = had;
            if rate != show && !self.said_mismatch {
                self.said_mismatch = true;
                self.event(SyncEvent::RateMismatch { heard: rate, show });
            }
        }
    }

    fn set_rate(&mut self, rate: FrameRate) {
        self.rate = Some(rate);
        let (num, den) = rate.ratio();
        self.per_frame = self.s.sample_rate as f64 * den as f64 / num as f64;
        let zero = Label::of(self.s.zero.frames, self.s.zero.rate);
        self.zero_count = zero.count(rate.base(), rate.drop_frame()) as f64;
    }

    fn ms(&self, frames: f64) -> f64 {
        frames * 1000.0 / self.s.sample_rate as f64
    }

    fn event(&mut self, event: SyncEvent) {
        // A full queue loses only the words; the state says it still.
        let _ = self.events.push(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 48_000;

    struct Run {
        lock: Lock,
        events: rtrb::Consumer<SyncEvent>,
        now: u64,
        /// The next frame's clock start and count.
        next_frame: f64,
        count: u64,
        /// Timecode speed against the clock.
        speed: f64,
        /// Clock frames of sound between engine and output.
        ahead: f64,
        carry: f64,
        /// The last frame of every second is not heard.
        lose_the_last: bool,
    }

    fn run(speed: f64, first: &str) -> Run {
        let zero = Timecode::parse("01:00:00:00", FrameRate::Fps25).unwrap();
        let (tx, rx) = rtrb::RingBuffer::new(64);
        let s = Settings {
            sample_rate: RATE,
            show_rate: FrameRate::Fps25,
            zero,
            freewheel: Freewheel::Frames(8),
            points: 32,
        };
        let count = Timecode::parse(first, FrameRate::Fps25).unwrap().frames;
        Run {
            lock: Lock::new(s, tx, SyncBoard::default()),
            events: rx,
            now: 10_000,
            next_frame: 10_000.0,
            count,
            speed,
            ahead: 96.0,
            carry: 0.0,
            lose_the_last: false,
        }
    }

    impl Run {
        /// Plays `secs` seconds in 256-frame buffers, the timecode on (or not); returns the
        /// sound's worst offset from the timecode once locked, in frames.
        fn play(&mut self, secs: f64, heard: bool) -> f64 {
            let mut worst: f64 = 0.0;
            let end = self.now + (secs * RATE as f64) as u64;
            while self.now < end {
                let per = RATE as f64 / 25.0 / self.speed;
                while self.next_frame + per <= self.now as f64 {
                    let label = Label::of(self.count, FrameRate::Fps25);
                    if heard && !(self.lose_the_last && label.frames == 24) {
                        self.lock.hear(Reading::ltc(label, self.next_frame as u64, per as u32, false));
                    }
                    self.next_frame += per;
                    self.count += 1;
                }
                let speed = self.lock.steer(self.now, self.ahead, 256);
                if self.lock.state() == LockState::Locked {
                    // Where the timecode is at the sound's frame, on the show's timeline.
                    let tc = (self.count as f64 - 90_000.0) * 1920.0 - (self.next_frame - self.now as f64) * self.speed;
                    let sounding = self.lock.position().1 as f64 - self.ahead * speed;
                    worst = worst.max((tc - sounding).abs());
                }
                // The resampler takes fractions of a frame over the buffers.
                self.carry += 256.0 * speed;
                let engine = self.carry.floor();
                self.carry -= engine;
                self.lock.advance(engine as u64);
                self.now += 256;
            }
            worst
        }

        fn events(&mut self) -> Vec<SyncEvent> {
            std::iter::from_fn(|| self.events.pop().ok()).collect()
        }
    }

    #[test]
    fn it_locks_within_two_frames_in_place_and_follows_drift_without_seeking() {
        for speed in [1.0, 1.0005, 0.9995] {
            let mut r = run(speed, "01:00:05:00");
            r.play(0.12, true);
            // Locked within 2 frames (80 ms) of the first frame (heard 40 ms in): by 120 ms.
            assert_eq!(r.lock.state(), LockState::Locked, "speed {speed}");
            let events = r.events();
            let SyncEvent::Locked { position, rate } = events[0] else { panic!("{events:?}") };
            assert_eq!(rate, FrameRate::Fps25);
            // Started where the timecode was at that buffer's sound: 5 s and a few frames.
            assert!(position > 5 * RATE as u64 && position < 5 * RATE as u64 + 4 * 1920, "{position}");
            // Thirty seconds on: within ±1 ms (48 frames) after the first second, no seek.
            r.play(1.0, true);
            let worst = r.play(30.0, true);
            assert!(worst < 48.0, "speed {speed}: off by {worst} frames");
            assert!(r.events().is_empty(), "speed {speed}: nothing but the lock happened");
        }
    }

    #[test]
    fn a_short_dropout_plays_on_a_long_one_stops_and_a_jump_relocates() {
        let mut r = run(1.0, "01:00:05:00");
        r.play(2.0, true);
        r.events();
        // 120 ms without timecode (3 frames: under the 8 of the freewheel).
        r.play(0.12, false);
        let worst = r.play(1.0, true);
        let events = r.events();
        assert!(matches!(events[..], [SyncEvent::Freewheeling { .. }, SyncEvent::Resumed { .. }]), "{events:?}");
        assert!(worst < 48.0, "{worst}");
        // A second without: stopped, said.
        r.play(1.0, false);
        let events = r.events();
        assert!(
            matches!(
                events[..],
                [SyncEvent::Freewheeling { .. }, SyncEvent::Stopped { why: StopWhy::Lost { .. }, .. }]
            ),
            "{events:?}"
        );
        assert!(!r.lock.position().0);
        // Back, somewhere else: a new lock.
        r.count += 25 * 60;
        r.play(0.5, true);
        assert_eq!(r.lock.state(), LockState::Locked);
        assert!(matches!(r.events()[..], [SyncEvent::Locked { .. }]));
        // A jump of 10 s while rolling: re-located.
        r.count += 250;
        r.play(0.5, true);
        let events = r.events();
        let [SyncEvent::Relocated { from, to }] = events[..] else { panic!("{events:?}") };
        assert!(to > from + 9 * RATE as u64, "{from} -> {to}");
    }

    #[test]
    fn a_step_of_a_buffer_in_the_source_is_taken_out_without_overshoot_or_a_seek() {
        let mut r = run(1.0005, "01:00:05:00");
        r.play(3.0, true);
        r.events();
        // The source's machine missed a buffer: its timecode comes 256 samples late from here.
        r.next_frame += 256.0;
        let mut worst_after = 0.0f64;
        let mut overshoot = 0.0f64;
        for tenth in 0..60 {
            let w = r.play(0.1, true);
            if tenth >= 30 {
                worst_after = worst_after.max(w);
            }
            // The sound was 256 early; an overshoot would leave it late.
            let sounding = r.lock.position().1 as f64 - r.ahead * r.lock.speed;
            let tc = (r.count as f64 - 90_000.0) * 1920.0 - (r.next_frame - r.now as f64) * r.speed;
            overshoot = overshoot.max(tc - sounding);
        }
        assert!(r.events().is_empty(), "no seek, no freewheel");
        assert!(worst_after < 48.0, "within 1 ms three seconds after the step: {worst_after}");
        assert!(overshoot < 24.0, "no overshoot past half a millisecond: {overshoot}");
    }

    #[test]
    fn a_stray_reading_placed_3_ms_off_does_not_move_the_sound() {
        let mut r = run(1.0005, "01:00:05:00");
        r.play(3.0, true);
        r.events();
        // The next frame, as a decoder re-syncing after a dropout may place it: 150 samples late.
        let label = Label::of(r.count, FrameRate::Fps25);
        r.lock.hear(Reading::ltc(label, r.next_frame as u64 + 150, 1919, false));
        r.next_frame += 1920.0 / r.speed;
        r.count += 1;
        let worst = r.play(2.0, true);
        assert!(worst < 12.0, "a quarter millisecond at most: {worst}");
        assert!(r.events().is_empty());
    }

    #[test]
    fn a_frame_lost_at_each_second_does_not_change_the_rate() {
        let mut r = run(1.0, "01:00:05:00");
        r.lose_the_last = true;
        let worst = r.play(5.0, true);
        let events = r.events();
        assert!(matches!(events[..], [SyncEvent::Locked { rate: FrameRate::Fps25, .. }]), "{events:?}");
        assert!(worst < 48.0);
    }

    #[test]
    fn timecode_beyond_ten_percent_or_backwards_stops_the_show() {
        // 25 fps at 115 %: its frames look like 28.75 fps until the numbers say 25 a second.
        let mut r = run(1.15, "01:00:05:00");
        r.play(5.0, true);
        let events = r.events();
        let stops =
            events.iter().filter(|e| matches!(e, SyncEvent::Stopped { why: StopWhy::Speed { .. }, .. })).count();
        assert_eq!(stops, 1, "stopped once, and not locked again while it runs that fast: {events:?}");
        assert!(!r.lock.position().0);
        let mut r = run(1.0, "01:00:05:00");
        r.play(1.0, true);
        r.lock.hear(Reading::ltc(Label::default(), r.now, 1920, true));
        assert!(matches!(r.events()[..], [SyncEvent::Locked { .. }, SyncEvent::Stopped { why: StopWhy::Reverse, .. }]));
    }

    #[test]
    fn before_the_shows_zero_it_waits_and_starts_at_zero_on_time() {
        let mut r = run(1.0, "00:59:59:10");
        r.play(0.5, true);
        assert_eq!(r.lock.state(), LockState::Locking);
        assert!(!r.lock.position().0);
        let worst = r.play(2.0, true);
        assert!(matches!(r.events()[..], [SyncEvent::Locked { position: 0, .. }]));
        // Started within half a buffer of 0 and pulled in from there.
        assert!(worst <= 129.0, "{worst}");
        assert!(r.play(2.0, true) < 24.0);
    }
}
