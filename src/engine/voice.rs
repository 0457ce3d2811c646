//! One sounding clip (audio thread): reads its feed, applies gain, pan and fades, mixes into a bus.

use crate::engine::fade::{Envelope, Ramp, Resume};
use crate::engine::feed::Feed;
use crate::engine::kernel;
use crate::engine::program::{Bus, Clip, DuckSpec};
use crate::mix::Curve;

/// The feed a voice started without data waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Awaiting {
    /// The offset feed with this token (a start mid-clip after a seek).
    Offset(u32),
    /// Its clip's armed feed (a start asked for before the loader had the clip's head ready).
    Armed,
}

/// A slot in the engine's fixed voice arena; free while it has neither a feed nor awaits one.
pub struct Voice {
    pub feed: Option<Feed>,
    /// A voice started mid-clip (after a seek) waits for its feed from the loader; the frames it
    /// waited are skipped when the feed comes and its envelope moves on meanwhile, so audio and
    /// fades land together where the timeline is.
    pub awaiting: Option<Awaiting>,
    waited: u64,
    pub generation: u32,
    pub clip: u32,
    pub owner: u32,
    pub bus: Bus,
    pub duck: Option<DuckSpec>,
    /// Engine time of the first frame and frames into the clip there (the tempo grid for
    /// quantized transitions starts `offset` frames before `started_at`).
    pub started_at: u64,
    pub offset: u64,
    pub tempo: Option<(f64, u32)>,
    /// Stopped by a command, a panic or a transition: it will not count as completed.
    pub stopped: bool,
    gain: Ramp,
    pan: [f32; 2],
    env: Envelope,
    /// The natural end's fade: it starts this many frames before the clip's end.
    fade_out: u32,
    fade_out_curve: Curve,
    /// Frames played as silence because the feed was late, not yet reported.
    pub underrun: u32,
    /// Engine time of the first of those frames, where the engine saw it (a feed that came late
    /// to a start mid-clip has none: it is reported where it came).
    pub underrun_at: Option<u64>,
    /// Its last block was short of data: the gap goes on, and is reported once it is over.
    pub starved: bool,
    /// Frames a start waited for its armed feed, not yet reported.
    pub late: u32,
    /// The loudest sample this voice put out since the engine last published it (linear),
    /// taken while `metering` (the engine sets it for one block now and then).
    pub peak: f32,
    pub metering: bool,
    /// With the engine's trace on: the first frame it was heard on and the frame after the last
    /// (engine time), so far.
    pub heard: Option<(u64, u64)>,
    /// With the engine's level trace on: the level last reported (NaN: none yet).
    pub traced_level: f32,
    /// Playing when a seek stopped it on this engine frame, with its envelope then: a start of
    /// the same clip at the very place it has reached, on that frame, takes it back
    /// (`resume`) instead of starting again from the disk.
    revivable: Option<(u64, Envelope)>,
}

impl Default for Voice {
    fn default() -> Self {
        Voice {
            feed: None,
            awaiting: None,
            waited: 0,
            offset: 0,
            generation: 0,
            clip: 0,
            owner: 0,
            bus: Bus::Cues,
            duck: None,
            started_at: 0,
            tempo: None,
            stopped: false,
            gain: Ramp::new(1.0),
            pan: [1.0, 1.0],
            env: Envelope::steady(0.0),
            fade_out: 0,
            fade_out_curve: Curve::EqualPower,
            underrun: 0,
            underrun_at: None,
            starved: false,
            late: 0,
            peak: 0.0,
            metering: false,
            heard: None,
            traced_level: f32::NAN,
            revivable: None,
        }
    }
}

impl Voice {
    pub fn is_free(&self) -> bool {
        self.feed.is_none() && self.awaiting.is_none()
    }

    /// Starts `feed` for `clip` (or waits for the feed it names), `offset` frames into the
    /// clip, fading in over `fade_in` frames along `curve`.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        &mut self,
        feed: Result<Feed, Awaiting>,
        offset: u64,
        generation: u32,
        clip_index: u32,
        clip: &Clip,
        now: u64,
        fade_in: u32,
        curve: Curve,
        declick: u32,
    ) {
        (self.feed, self.awaiting) = match feed {
            Ok(feed) => (Some(feed), None),
            Err(awaiting) => (None, Some(awaiting)),
        };
        self.waited = 0;
        self.offset = offset;
        self.generation = generation;
        self.clip = clip_index;
        self.owner = clip.owner;
        self.bus = clip.bus;
        self.duck = clip.duck;
        self.started_at = now;
        self.tempo = clip.tempo;
        self.stopped = false;
        self.gain = Ramp::new(clip.gain);
        self.pan = clip.pan;
        self.env = Envelope::steady(0.0);
        self.env.fade_to(1.0, fade_in.max(declick), if fade_in >= declick { curve } else { Curve::Linear });
        self.fade_out = clip.fade_out_frames.max(declick);
        self.fade_out_curve = if clip.fade_out_frames >= declick { Curve::EqualPower } else { Curve::Linear };
        self.underrun = 0;
        self.underrun_at = None;
        self.starved = false;
        self.late = 0;
        self.heard = None;
        self.traced_level = f32::NAN;
        self.revivable = None;
    }

    /// A new show plays on with this voice: the same audio is clip `clip_index` of generation
    /// `generation` now; its level moves to the new clip's gain over `smoothing` frames.
    pub fn carry(&mut self, clip_index: u32, generation: u32, clip: &Clip, smoothing: u32, declick: u32) {
        self.clip = clip_index;
        self.generation = generation;
        self.owner = clip.owner;
        self.duck = clip.duck;
        self.tempo = clip.tempo;
        // Its end fades as the new show says.
        self.fade_out = clip.fade_out_frames.max(declick);
        self.fade_out_curve = if clip.fade_out_frames >= declick { Curve::EqualPower } else { Curve::Linear };
        if self.gain.target() != clip.gain {
            self.gain.set(clip.gain, smoothing);
        }
    }

    /// A seek on engine frame `now` is about to stop this playing voice: keep what it takes to
    /// take it back on that frame.
    pub fn mark_revivable(&mut self, now: u64) {
        if !self.is_free() && !self.stopped {
            self.revivable = Some((now, self.env));
        }
    }

    /// Whether a start on frame `now` of clip `clip` (of `generation`) `offset` frames in is
    /// this voice going on: it was playing until a seek stopped it on this very frame (nothing
    /// of the stop rendered yet), it has its data, and it has reached exactly that place.
    pub fn can_resume(&self, clip: u32, generation: u32, offset: u64, now: u64) -> bool {
        self.revivable.is_some_and(|(at, _)| at == now)
            && self.feed.is_some()
            && self.awaiting.is_none()
            && self.clip == clip
            && self.generation == generation
            && now.checked_sub(self.started_at).is_some_and(|played| self.offset + played == offset)
    }

    /// Takes back the stop `can_resume` allowed for: it sounds on as it was.
    pub fn resume(&mut self) {
        if let Some((_, env)) = self.revivable.take() {
            self.env = env;
            self.stopped = false;
        }
    }

    /// A start mid-clip after a seek: the level comes up over the de-click through the gain (so
    /// any fade in progress, in the envelope, goes on as it was); a fade out ends the voice when
    /// it is over. While the voice waits for its feed the gain stays at 0 and the envelope moves
    /// on, so the de-click starts where the sound does.
    pub fn pick_up(&mut self, gain: f32, fade: Option<Resume>, declick: u32) {
        self.gain = Ramp::new(0.0);
        self.gain.set(gain, declick);
        match fade {
            Some(r) => {
                self.env = Envelope::resume(r.from, r.to, r.curve, r.done, r.len);
                self.stopped = r.to == 0.0;
            }
            None => self.env = Envelope::steady(1.0),
        }
    }

    /// A start from the beginning whose feed is not here yet: the fade in moves on with the
    /// timeline while it waits, and the gain comes up over the de-click where the data starts.
    pub fn hold_until_fed(&mut self, declick: u32) {
        let gain = self.gain.target();
        self.gain = Ramp::new(0.0);
        self.gain.set(gain, declick);
    }

    /// Counts `frames` as already waited for (a start that came late).
    pub fn wait(&mut self, frames: u64) {
        self.waited += frames;
    }

    /// The awaited feed arrived: skip what was due meanwhile (reported as an underrun, or for a
    /// start that came before its armed feed, as a late start).
    pub fn attach(&mut self, mut feed: Feed) {
        feed.skip(self.waited);
        let waited = self.waited.min(u32::MAX as u64) as u32;
        if self.awaiting == Some(Awaiting::Armed) {
            self.late = self.late.saturating_add(waited);
        } else {
            self.underrun = self.underrun.saturating_add(waited);
        }
        self.feed = Some(feed);
        self.awaiting = None;
        self.waited = 0;
    }

    /// Whether neither its gain nor its fade is moving.
    pub fn is_steady(&self) -> bool {
        self.gain.is_steady() && self.env.is_steady()
    }

    /// Its gain and fade together now (what it multiplies its file by, before pan).
    pub fn level(&self) -> f32 {
        self.gain.value() * self.env.level()
    }

    /// Fades out over `frames` along `curve`, then the voice ends (a stop, never completed).
    pub fn stop(&mut self, frames: u32, curve: Curve) {
        let left = self.env.remaining();
        // A stop never lengthens a fade out already under way.
        if self.stopped && !self.env.is_steady() && self.env.target() == 0.0 && left <= frames {
            return;
        }
        self.stopped = true;
        self.env.fade_to(0.0, frames, curve);
    }

    /// Frames until the voice has played its last frame (0: it is done).
    pub fn frames_until_done(&self) -> u64 {
        let natural = match (&self.feed, self.awaiting) {
            (Some(feed), _) => feed.remaining(),
            // Its length is not known before the feed comes; a fade out still ends it in time.
            (None, Some(_)) => u64::MAX,
            (None, None) => return 0,
        };
        if self.env.target() == 0.0 {
            if self.env.is_steady() {
                return 0;
            }
            return natural.min(self.env.remaining() as u64);
        }
        natural
    }

    /// Whether the clip reached its own end (rather than being stopped).
    pub fn completed(&self) -> bool {
        !self.stopped && self.feed.as_ref().is_some_and(|f| f.remaining() == 0)
    }

    /// Mixes the next `out_l.len()` frames into the bus; the caller never asks past the end.
    pub fn render(&mut self, out_l: &mut [f32], out_r: &mut [f32]) {
        let frames = out_l.len();
        if self.feed.is_none() {
            // Still waiting for its feed: silence. The envelope moves on with the timeline (a
            // fade in progress is where the render has it when the sound comes); the gain holds
            // at 0, so the sound comes in over the de-click from where the data starts.
            self.waited += frames as u64;
            self.env.advance(frames as u64);
            return;
        }
        let mut done = 0;
        while done < frames {
            let mut n = frames - done;
            // Split at the start of the natural end's fade out.
            if let Some(feed) = &self.feed {
                let remaining = feed.remaining();
                let fade = self.fade_out as u64;
                if remaining != u64::MAX && !self.stopped {
                    if remaining <= fade && self.env.target() != 0.0 {
                        self.env.fade_to(0.0, remaining as u32, self.fade_out_curve);
                    } else if remaining > fade {
                        n = n.min((remaining - fade) as usize);
                    }
                }
            }
            self.mix(&mut out_l[done..done + n], &mut out_r[done..done + n]);
            done += n;
        }
    }

    fn mix(&mut self, out_l: &mut [f32], out_r: &mut [f32]) {
        let Voice { feed, gain, env, pan, underrun, peak, metering, .. } = self;
        let Some(feed) = feed else { return };
        let ch = feed.channels as usize;
        let mut at = 0usize;
        let missing = feed.read(out_l.len(), |src, n| {
            let (l, r) = (&mut out_l[at..at + n], &mut out_r[at..at + n]);
            at += n;
            *peak = peak.max(mix_into(src, ch, l, r, gain, env, *pan, *metering));
        });
        *underrun = underrun.saturating_add(missing as u32);
    }
}

/// The loudest of `src`'s samples (either channel), for the meters.
#[inline]
fn loudest(src: &[f32]) -> f32 {
    src.iter().fold(0.0f32, |p, x| p.max(x.abs()))
}

/// The inner loop: a constant gain when nothing moves, a fade's straight lines made in the loop
/// when only the fade moves, a gain per frame when the level gain moves (see `kernel`).
/// With `meter`, returns about the loudest sample it added (the source's peak at the loudest gain
/// of each stretch), for the cue's level on the console; else 0.
#[inline]
#[allow(clippy::too_many_arguments)]
fn mix_into(
    src: Option<&[f32]>,
    ch: usize,
    out_l: &mut [f32],
    out_r: &mut [f32],
    gain: &mut Ramp,
    env: &mut Envelope,
    pan: [f32; 2],
    meter: bool,
) -> f32 {
    let pan_max = pan[0].max(pan[1]).abs();
    let frames = out_l.len();
    if gain.is_steady() && env.is_steady() {
        let g = gain.value() * env.level();
        let Some(src) = src else { return 0.0 };
        kernel::steady(src, ch, out_l, out_r, g * pan[0], g * pan[1]);
        return if meter { loudest(src) * g.abs() * pan_max } else { 0.0 };
    }
    let mut peak = 0.0f32;
    if gain.is_steady() {
        // A fade: its gains are straight lines between anchors, made where they are used.
        let scale = gain.value();
        let Some(src) = src else {
            env.advance(frames as u64);
            return 0.0;
        };
        let mut at = 0;
        while at < frames {
            let seg = env.segment(frames - at);
            let n = seg.frames;
            let part = &src[ch * at..ch * (at + n)];
            let (l, r) = (&mut out_l[at..at + n], &mut out_r[at..at + n]);
            if seg.is_steady() {
                let g = seg.v0 * scale;
                kernel::steady(part, ch, l, r, g * pan[0], g * pan[1]);
            } else {
                kernel::faded(part, ch, l, r, seg, scale, pan);
            }
            if meter {
                let g_max = (seg.level(0) * scale).abs().max((seg.level(n - 1) * scale).abs());
                peak = peak.max(loudest(part) * g_max * pan_max);
            }
            at += n;
        }
        return peak;
    }
    // The level gain moves too (20 ms after a level change): gains first, in short runs on the
    // stack, the same values as `gain.tick() * env.tick()` frame by frame.
    let mut gains = [0.0f32; 64];
    let mut levels = [0.0f32; 64];
    let mut at = 0;
    while at < frames {
        let n = (frames - at).min(gains.len());
        gain.fill(&mut gains[..n]);
        env.fill(&mut levels[..n]);
        for (g, e) in gains[..n].iter_mut().zip(&levels[..n]) {
            *g *= e;
        }
        if let Some(src) = src {
            let part = &src[ch * at..ch * (at + n)];
            if meter {
                let g_max = gains[..n].iter().fold(0.0f32, |m, g| m.max(g.abs()));
                peak = peak.max(loudest(part) * g_max * pan_max);
            }
            kernel::gained(part, ch, &mut out_l[at..at + n], &mut out_r[at..at + n], &gains[..n], pan);
        }
        at += n;
    }
    peak
}
