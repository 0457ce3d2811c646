//! The show timeline as plain frames, and what sounds at any point of it (control side).
//!
//! The renderer plays the timeline from its start; a seek (or a DAW's transport chase) asks
//! `state_at` which bed and cues sound at a position and how far into their clips, following
//! the same rules the engine follows in time: scene entries cancel the timed cues and pending
//! bed changes of the scene before, quantized bed changes wait for the outgoing bed's grid,
//! follows start after their cue's last frame, and the show's end stops everything.

use crate::engine::command::DuckAt;
use crate::engine::declick_frames;
use crate::engine::duck::Duck;
use crate::engine::fade::Resume;
use crate::engine::program::{to_next_line, DuckSpec, Program};
use crate::show::{Curve, Quantize};

#[derive(Debug, Clone)]
struct SceneTimes {
    bed: Option<u32>,
    quantize: Quantize,
    /// The transition: its length (with the de-click) and curve.
    fade: u32,
    curve: Curve,
    timed: Vec<(u32, u64)>,
}

#[derive(Debug, Clone)]
struct CueTimes {
    clip: u32,
    length: Option<u64>,
    /// The fade in as the engine plays it: length (with the de-click) and curve.
    fade_in: (u32, Curve),
    followers: Vec<(u32, u64)>,
    duck: Option<DuckSpec>,
}

/// A clip sounding at a position: frames into it, and the fade it is in the middle of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sound {
    pub clip: u32,
    pub offset: u64,
    pub fade: Option<Resume>,
}

/// What the timeline has at one position.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimelineState {
    /// The current scene and how long ago it was entered.
    pub scene: Option<u32>,
    pub elapsed: u64,
    /// The bed sounding, and the one fading out under a crossfade still going on.
    pub bed: Option<Sound>,
    pub outgoing_bed: Option<Sound>,
    /// The current scene's quantized bed change still to come, in frames from the position.
    pub bed_change_in: Option<u64>,
    /// Cues sounding.
    pub cues: Vec<Sound>,
    /// Follow cues that start later although their cue has already ended: (cue, frames from now).
    pub follows: Vec<(u32, u64)>,
}

/// Frames until something starts, and what (a cue or a scene): `Timeline::next_after`.
pub type Countdown = (u64, u32);

/// A bed or cue its own timeline never lets sound (`Timeline::never_sounding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unheard {
    pub part: Part,
    /// Where on the timeline it would start, in frames.
    pub would_start: u64,
    pub why: Unsounded,
}

/// A bed (by scene) or a cue (by cue index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Bed(u32),
    Cue(u32),
}

/// Why a part never sounds on the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsounded {
    /// It would start at or after the show's `end` (frames).
    AfterEnd { end: u64 },
    /// Its scene's next scene on the timeline (entered at `at`) cancels it before it starts.
    Cancelled { by: u32, at: u64 },
    /// It follows this cue, which never sounds (or never ends: a loop).
    Follows { cue: u32 },
}

/// The show's timeline at the engine rate.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// Scene entries (frame, scene) in time order.
    entries: Vec<(u64, u32)>,
    scenes: Vec<SceneTimes>,
    cues: Vec<CueTimes>,
    /// Bed clip tempo grids: frames per beat and beats per bar.
    tempos: Vec<Option<(f64, u32)>>,
    end: Option<u64>,
    panic: u64,
    rate: u32,
}

impl Timeline {
    pub fn new(program: &Program, rate: u32) -> Timeline {
        let declick = declick_frames(rate);
        Timeline {
            entries: program.timeline.clone(),
            scenes: program
                .scenes
                .iter()
                .map(|s| SceneTimes {
                    bed: s.bed,
                    quantize: s.quantize,
                    fade: s.fade_frames.max(declick),
                    curve: s.curve,
                    timed: s.timed.clone(),
                })
                .collect(),
            cues: program
                .cues
                .iter()
                .map(|c| {
                    let clip = &program.clips[c.clip as usize];
                    // As `Voice::start` plays it: equal-power unless only the de-click.
                    let curve = if clip.fade_in_frames >= declick { Curve::EqualPower } else { Curve::Linear };
                    CueTimes {
                        clip: c.clip,
                        length: clip.length,
                        fade_in: (clip.fade_in_frames.max(declick), curve),
                        followers: c.followers.clone(),
                        duck: clip.duck,
                    }
                })
                .collect(),
            tempos: program.clips.iter().map(|c| c.tempo).collect(),
            end: program.end,
            panic: program.panic_frames as u64,
            rate,
        }
    }

    /// Scene entries in time order: (frame, scene).
    pub fn entries(&self) -> &[(u64, u32)] {
        &self.entries
    }

    /// The show's `end` in frames, if it has one.
    pub fn end(&self) -> Option<u64> {
        self.end
    }

    /// Where a render of the whole timeline stops: the `end` plus the panic fade; without an
    /// `end`, when the last timed cue and its follows have ended, or a minute after the last
    /// scene starts if nothing else ends.
    pub fn render_end(&self) -> u64 {
        if let Some(end) = self.end {
            return end + self.panic;
        }
        let mut last = 0u64;
        for (i, &(at, scene)) in self.entries.iter().enumerate() {
            last = last.max(at + 60 * self.rate as u64);
            let next = self.entries.get(i + 1).map(|e| e.0);
            for &(cue, offset) in &self.scenes[scene as usize].timed {
                let start = at + offset;
                if next.is_none_or(|n| start <= n) {
                    last = last.max(self.chain_end(cue, start));
                }
            }
        }
        last + self.panic
    }

    /// Every bed and timed cue on the timeline that never sounds there, with where it would
    /// start and why, and every cue following one of them: what `segue check` calls an error.
    /// A part a MIDI note can also start is left out (it can sound, just not by itself).
    pub fn never_sounding(&self, note_cues: &[u32]) -> Vec<Unheard> {
        let mut out = Vec::new();
        let after_end = |at: u64| self.end.filter(|&e| at >= e).map(|end| Unsounded::AfterEnd { end });
        for (i, &(at, scene)) in self.entries.iter().enumerate() {
            let next = self.entries.get(i + 1).copied();
            let info = &self.scenes[scene as usize];
            if let (Some(why), Some(_)) = (after_end(at), info.bed) {
                out.push(Unheard { part: Part::Bed(scene), would_start: at, why });
            }
            for &(cue, offset) in &info.timed {
                let start = at + offset;
                let cancelled = next.filter(|&(n, _)| start > n).map(|(n, by)| Unsounded::Cancelled { by, at: n });
                match after_end(start).or(cancelled) {
                    Some(why) => self.unheard(cue, start, why, note_cues, &mut out),
                    None => self.unheard_follows(cue, start, note_cues, &mut out),
                }
            }
        }
        out
    }

    /// Cue `cue`, which would start at `start`, never sounds; nor do its follows.
    fn unheard(&self, cue: u32, start: u64, why: Unsounded, note_cues: &[u32], out: &mut Vec<Unheard>) {
        if note_cues.contains(&cue) {
            return;
        }
        out.push(Unheard { part: Part::Cue(cue), would_start: start, why });
        let info = &self.cues[cue as usize];
        for &(f, wait) in &info.followers {
            let would = start + info.length.unwrap_or(0) + wait;
            self.unheard(f, would, Unsounded::Follows { cue }, note_cues, out);
        }
    }

    /// The follows of cue `cue`, which sounds from `start`: those that would start after the
    /// show's end never do.
    fn unheard_follows(&self, cue: u32, start: u64, note_cues: &[u32], out: &mut Vec<Unheard>) {
        let info = &self.cues[cue as usize];
        // A loop (or a clip without a length) never ends by itself: its follows wait for a stop.
        let Some(len) = info.length else { return };
        for &(f, wait) in &info.followers {
            let follow = start + len + wait;
            match self.end.filter(|&e| follow >= e) {
                Some(end) => self.unheard(f, follow, Unsounded::AfterEnd { end }, note_cues, out),
                None => self.unheard_follows(f, follow, note_cues, out),
            }
        }
    }

    /// What the timeline starts next after frame `t`, for a countdown: the next timed cue of
    /// the scene playing there (that its next scene does not cancel), and the next scene entry,
    /// each as (frames from `t`, cue or scene). The show's end stops both.
    pub fn next_after(&self, t: u64) -> (Option<Countdown>, Option<Countdown>) {
        let before_end = |at: u64| self.end.is_none_or(|e| at < e);
        let i = self.entries.iter().rposition(|&(at, _)| at <= t);
        let next_entry = self.entries.get(i.map_or(0, |i| i + 1)).copied();
        let next_scene = next_entry.filter(|&(at, _)| before_end(at)).map(|(at, scene)| (at - t, scene));
        let next_cue = i.and_then(|i| {
            let (at, scene) = self.entries[i];
            self.scenes[scene as usize]
                .timed
                .iter()
                .map(|&(cue, offset)| (at + offset, cue))
                .filter(|&(start, _)| start > t && before_end(start))
                .filter(|&(start, _)| next_entry.is_none_or(|(n, _)| start <= n))
                .min()
                .map(|(start, cue)| (start - t, cue))
        });
        (next_cue, next_scene)
    }

    /// When a cue started at `start` and everything that follows it have ended (loops: never).
    fn chain_end(&self, cue: u32, start: u64) -> u64 {
        let info = &self.cues[cue as usize];
        let Some(len) = info.length else { return start };
        let end = start + len;
        // Cycles are rejected by validation, so this ends.
        info.followers.iter().fold(end, |last, &(f, wait)| last.max(self.chain_end(f, end + wait)))
    }

    /// What sounds at frame `t` of the timeline.
    pub fn state_at(&self, t: u64) -> TimelineState {
        let mut state = TimelineState::default();
        // The bed playing: (clip, frame it started, its fade in); the one it replaced: (clip,
        // frame it started, frame the crossfade began, fade length, curve).
        let mut bed: Option<(u32, u64, u32, Curve)> = None;
        let mut outgoing: Option<(u32, u64, u64, u32, Curve)> = None;
        for (i, &(at, scene)) in self.entries.iter().enumerate() {
            if at > t {
                break;
            }
            let next = self.entries.get(i + 1).map(|e| e.0);
            let info = &self.scenes[scene as usize];
            state.scene = Some(scene);
            state.elapsed = t - at;
            // The bed change, quantized on the outgoing bed; a scene entered before it happens
            // cancels it (its own change then quantizes on the same outgoing bed).
            let grid = bed.and_then(|(clip, ..)| self.tempos[clip as usize]);
            let change = at + to_next_line(at - bed.map_or(at, |b| b.1), grid, info.quantize);
            state.bed_change_in = None;
            if next.is_none_or(|n| n >= change) {
                if change <= t {
                    outgoing = bed.map(|(clip, start, ..)| (clip, start, change, info.fade, info.curve));
                    bed = info.bed.map(|clip| (clip, change, info.fade, info.curve));
                } else {
                    state.bed_change_in = Some(change - t);
                }
            }
            for &(cue, offset) in &info.timed {
                let start = at + offset;
                if start <= t && next.is_none_or(|n| start <= n) {
                    self.sounding(cue, start, t, &mut state);
                }
            }
        }
        if self.end.is_some_and(|end| t >= end) {
            // Past the end everything has been faded out by the panic.
            return TimelineState { scene: state.scene, elapsed: state.elapsed, ..TimelineState::default() };
        }
        // Fades still going on at `t`, as the engine plays them (a frame `k` into a fade has
        // the level of `k + 1` steps: see `Envelope::fade_to`).
        let resume = |from: f32, to: f32, curve: Curve, done: u64, len: u32| {
            (done < len as u64).then_some(Resume { from, to, curve, done: done as u32, len })
        };
        state.bed = bed.map(|(clip, start, len, curve)| Sound {
            clip,
            offset: t - start,
            fade: resume(0.0, 1.0, curve, t - start, len),
        });
        state.outgoing_bed = outgoing.and_then(|(clip, start, change, len, curve)| {
            resume(1.0, 0.0, curve, t - change, len).map(|fade| Sound { clip, offset: t - start, fade: Some(fade) })
        });
        state
    }

    /// The bed's duck at frame `t`, as the engine has it after playing the timeline from its
    /// start: every ducking cue's start and end before `t` replayed in order through the same
    /// `Duck`, so a seek into an attack or a release lands on the render's level to the bit.
    pub fn duck_at(&self, t: u64) -> DuckAt {
        // (frame, ends before starts at the same frame, cue); the engine frees a voice that
        // ended before it starts what is due on that frame.
        let mut changes: Vec<(u64, bool, u32)> = Vec::new();
        for (i, &(at, scene)) in self.entries.iter().enumerate() {
            if at > t {
                break;
            }
            let next = self.entries.get(i + 1).map(|e| e.0);
            for &(cue, offset) in &self.scenes[scene as usize].timed {
                let start = at + offset;
                if start <= t && next.is_none_or(|n| start <= n) {
                    self.duck_changes(cue, start, t, &mut changes);
                }
            }
        }
        if let Some(end) = self.end {
            // Past the end the panic has stopped everything; the bed is silent there anyway.
            changes.retain(|&(at, ..)| at < end);
        }
        changes.sort_by_key(|&(at, starts, _)| (at, starts));
        let mut duck = Duck::default();
        let mut release = 1;
        let mut sounding: Vec<u32> = Vec::new();
        let mut now = 0;
        for (at, starts, cue) in changes {
            duck.advance(at - now);
            now = at;
            let Some(spec) = self.cues[cue as usize].duck else { continue };
            if starts {
                sounding.push(cue);
            } else {
                sounding.retain(|&c| c != cue);
                release = spec.release_frames;
            }
            // As `Engine::update_duck`: the deepest sounding cue, with its attack.
            let mut target = 0.0f32;
            let mut attack = 1;
            for spec in sounding.iter().filter_map(|&c| self.cues[c as usize].duck) {
                if spec.depth_db < target {
                    target = spec.depth_db;
                    attack = spec.attack_frames;
                }
            }
            duck.set_target(target, attack, release);
        }
        duck.advance(t - now);
        DuckAt { duck, release }
    }

    /// The starts and ends up to `t` (included: the engine applies them before frame `t` plays)
    /// of cue `cue` started at `start` and of its follows.
    fn duck_changes(&self, cue: u32, start: u64, t: u64, out: &mut Vec<(u64, bool, u32)>) {
        let info = &self.cues[cue as usize];
        out.push((start, true, cue));
        let Some(len) = info.length else { return };
        let end = start + len;
        if end > t {
            return;
        }
        out.push((end, false, cue));
        for &(f, wait) in &info.followers {
            if end + wait <= t && self.end.is_none_or(|e| end + wait < e) {
                self.duck_changes(f, end + wait, t, out);
            }
        }
    }

    /// Adds cue `cue` started at `start` (≤ t) and its follows to what sounds at `t`.
    fn sounding(&self, cue: u32, start: u64, t: u64, state: &mut TimelineState) {
        let info = &self.cues[cue as usize];
        let (fade_len, curve) = info.fade_in;
        let offset = t - start;
        let fade = (offset < fade_len as u64).then_some(Resume {
            from: 0.0,
            to: 1.0,
            curve,
            done: offset as u32,
            len: fade_len,
        });
        let sound = Sound { clip: info.clip, offset, fade };
        let Some(len) = info.length else {
            state.cues.push(sound);
            return;
        };
        let end = start + len;
        if t < end {
            state.cues.push(sound);
            return;
        }
        for &(f, wait) in &info.followers {
            let follow = end + wait;
            if self.end.is_some_and(|e| follow >= e) {
                continue;
            }
            if follow <= t {
                self.sounding(f, follow, t, state);
            } else {
                state.follows.push((f, follow - t));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_timed_cue_and_scene_count_down_from_any_frame() {
        let scene = |timed: Vec<(u32, u64)>| SceneTimes {
            bed: None,
            quantize: Quantize::None,
            fade: 1,
            curve: Curve::Linear,
            timed,
        };
        let mut t = Timeline {
            entries: vec![(100, 0), (1000, 1)],
            scenes: vec![scene(vec![(0, 50), (1, 2000)]), scene(vec![(2, 10)])],
            cues: Vec::new(),
            tempos: Vec::new(),
            end: Some(1005),
            panic: 0,
            rate: 48_000,
        };
        assert_eq!(t.next_after(0), (None, Some((100, 0))), "before the first scene");
        assert_eq!(t.next_after(120), (Some((30, 0)), Some((880, 1))), "cue 1 falls after scene 1 begins");
        assert_eq!(t.next_after(150), (None, Some((850, 1))));
        assert_eq!(t.next_after(1000), (None, None), "cue 2 would start after the end");
        t.end = None;
        assert_eq!(t.next_after(1000), (Some((10, 2)), None));
    }
}
