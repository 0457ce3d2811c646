//! The real-time engine: everything in this folder runs on the audio thread.
//!
//! `Engine::process` never allocates, frees, locks, blocks, does I/O or formats text. All memory
//! (voice arena, schedule, queues) is sized in `Engine::new`, before audio starts. Things with
//! heap memory (feeds, programs) arrive through queues and leave through the `Retired` queue, to
//! be dropped on the loader thread.
//!
//! Time is a 64-bit frame clock. Commands carry an optional target frame; the block is split at
//! every command time and at every voice end, and all gains move per frame, so the output does
//! not depend on the block size.

pub mod command;
pub mod duck;
pub mod fade;
pub mod feed;
pub mod kernel;
pub mod meters;
pub mod program;
pub mod schedule;
pub mod voice;

use std::sync::Arc;

use crate::mix::{Curve, Quantize};
use command::{Action, Command, DuckAt, Event, Level, LoaderMsg, Locate, Problem, Retired};
use duck::Duck;
use fade::{db_to_gain, Ramp, Resume};
use feed::Feed;
use meters::Meters;

/// How often (in frames) the cues' levels are taken for the meters: about 43 ms at 48 kHz.
pub const CUE_METER_FRAMES: u64 = 2048;
use program::{Bus, NoteTarget, Program};
use schedule::{Due, Entry, Schedule};
use voice::{Awaiting, Voice};

/// Sizes fixed before audio starts.
#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    pub sample_rate: u32,
    /// Voices that can sound at once (beds in crossfade count too).
    pub voices: usize,
    /// Commands that can wait for their time at once.
    pub schedule: usize,
    /// Queue sizes (entries).
    pub queue: usize,
    /// Report, when each voice ends, the first and last frame it was heard on
    /// (`Event::Heard`): what a cue sheet is made from. Each voice is then mixed through a
    /// scratch buffer and scanned; the output is the same to the bit.
    pub trace: bool,
    /// With `trace`, also report each voice's level as it moves (`Event::Level`, a fade drawn
    /// as a ramp) and the bed's duck (`Event::Duck`): what a picture of the mix is drawn from.
    pub trace_levels: bool,
}

impl EngineConfig {
    pub fn new(sample_rate: u32) -> Self {
        EngineConfig { sample_rate, voices: 128, schedule: 1024, queue: 4096, trace: false, trace_levels: false }
    }
}

/// A traced level is reported again when it has moved this much (linear gain).
const LEVEL_STEP: f32 = 0.005;
/// The duck is reported again when it has moved this much (dB).
const DUCK_STEP_DB: f32 = 0.1;

/// A voice is heard while either channel of what it adds to its bus (after its gain and fades,
/// before the bus levels and the duck) is above -60 dBFS.
pub const HEARD: f32 = 0.001;

/// Frames of the scratch buffer a traced voice is mixed through.
const TRACE_FRAMES: usize = 1024;

/// The control side's ends of the engine's queues.
pub struct ControlEnds {
    pub commands: rtrb::Producer<Command>,
    pub events: rtrb::Consumer<Event>,
    pub meters: Arc<Meters>,
}

/// The loader thread's ends of the engine's queues.
pub struct LoaderEnds {
    pub feeds: rtrb::Producer<LoaderMsg>,
    pub retired: rtrb::Consumer<Retired>,
}

/// Where one block goes: stereo main, and the bed and cue buses (stems); main = bed + cues.
pub struct Outputs<'a> {
    pub main: [&'a mut [f32]; 2],
    pub bed: [&'a mut [f32]; 2],
    pub cues: [&'a mut [f32]; 2],
}

impl Outputs<'_> {
    pub fn frames(&self) -> usize {
        self.main[0].len()
    }
}

/// The most frames a front end renders at once into a `Mix`; a longer block is rendered in
/// pieces (the output does not depend on how a block is cut).
pub const PIECE: usize = 2048;

/// The engine's own output buffers for a front end (the plugin, the live player): main, bed and
/// cue stems, stereo each, `PIECE` frames. Made on the control side, used on the audio thread;
/// the front end copies from it to wherever its audio goes, so it never reads back a host's or a
/// device's buffers.
pub struct Mix {
    channels: [Box<[f32]>; 6],
}

impl Default for Mix {
    fn default() -> Mix {
        Mix { channels: std::array::from_fn(|_| vec![0.0; PIECE].into_boxed_slice()) }
    }
}

impl Mix {
    /// The first `frames` (at most `PIECE`) frames of each, as engine outputs.
    pub fn outputs(&mut self, frames: usize) -> Outputs<'_> {
        let [ml, mr, bl, br, cl, cr] = &mut self.channels;
        Outputs {
            main: [&mut ml[..frames], &mut mr[..frames]],
            bed: [&mut bl[..frames], &mut br[..frames]],
            cues: [&mut cl[..frames], &mut cr[..frames]],
        }
    }

    /// Main left and right, bed left and right, cues left and right, as last rendered.
    pub fn channels(&self) -> &[Box<[f32]>; 6] {
        &self.channels
    }
}

pub struct Engine {
    rate: u32,
    clock: u64,
    program: Box<Program>,
    voices: Vec<Voice>,
    /// Voice slots the meters were last told about (so slots above `high` are cleared once).
    metered: usize,
    /// Voices at this index and above are all free: the per-block loops stop here.
    high: usize,
    /// Every voice below this one plays: a start looks for a free voice from here (256 cues
    /// started on one frame each scanned the ones before).
    free_from: usize,
    /// A cue started since the duck was last pointed at its target: it is, once, before the
    /// frame is mixed (256 cues started on one frame each looked at every voice).
    duck_stale: bool,
    schedule: Schedule,
    commands: rtrb::Consumer<Command>,
    events: rtrb::Producer<Event>,
    feeds: rtrb::Consumer<LoaderMsg>,
    retired: rtrb::Producer<Retired>,
    meters: Arc<Meters>,
    master: Ramp,
    /// The show's own master level (`Program::trim`), under `master`.
    trim: Ramp,
    bed_level: Ramp,
    cue_level: Ramp,
    duck: Duck,
    duck_override: (Option<f32>, Option<u32>, Option<u32>),
    /// The release of the last ducking cue that ended.
    duck_release: u32,
    bed_voice: Option<usize>,
    scene: Option<u32>,
    scene_entry: u64,
    go_next: u32,
    panic_until: Option<u64>,
    last_clip_event: Option<u64>,
    declick: u32,
    level_smoothing: u32,
    /// Feeds for `StartClip` commands, by token, until their command comes (fixed capacity).
    offset_feeds: Vec<(u32, Feed)>,
    /// Tokens of offset feeds not needed after all (a start that took back a voice already
    /// there): the feed goes back as soon as it comes. A few are enough: one seek's worth.
    unneeded: [u32; UNNEEDED],
    unneeded_next: usize,
    /// Frame of the last seek: the duck follows at once there instead of over the attack.
    seek_at: Option<u64>,
    /// Frame of the last seek that set the duck to the timeline's.
    duck_set_at: Option<u64>,
    /// A seek kept ready for a transport start (see `locate`).
    located: Option<Box<Locate>>,
    /// With `EngineConfig::trace`: the scratch buffer each voice is mixed through (else none).
    trace: Option<[Box<[f32]>; 2]>,
    trace_levels: bool,
    /// The duck as last reported (with `trace_levels`).
    traced_duck: f32,
}

impl Engine {
    /// Builds the engine and its queues (control side, before audio starts: every allocation the
    /// engine will ever make happens here).
    pub fn new(config: EngineConfig) -> (Engine, ControlEnds, LoaderEnds) {
        kernel::detect();
        let (commands_tx, commands) = rtrb::RingBuffer::new(config.queue);
        let (events, events_rx) = rtrb::RingBuffer::new(config.queue);
        let (feeds_tx, feeds) = rtrb::RingBuffer::new(config.queue);
        let (retired, retired_rx) = rtrb::RingBuffer::new(config.queue);
        let meters = Arc::new(Meters::new(config.voices));
        let rate = config.sample_rate;
        let engine = Engine {
            rate,
            clock: 0,
            program: Box::new(Program::empty()),
            voices: (0..config.voices).map(|_| Voice::default()).collect(),
            metered: 0,
            high: 0,
            free_from: 0,
            duck_stale: false,
            schedule: Schedule::with_capacity(config.schedule),
            commands,
            events,
            feeds,
            retired,
            meters: meters.clone(),
            master: Ramp::new(1.0),
            trim: Ramp::new(1.0),
            bed_level: Ramp::new(1.0),
            cue_level: Ramp::new(1.0),
            duck: Duck::default(),
            duck_override: (None, None, None),
            duck_release: 1,
            bed_voice: None,
            scene: None,
            scene_entry: 0,
            go_next: 0,
            panic_until: None,
            last_clip_event: None,
            declick: declick_frames(rate),
            level_smoothing: (rate / 50).max(1),
            offset_feeds: Vec::with_capacity(config.voices),
            unneeded: [u32::MAX; UNNEEDED],
            unneeded_next: 0,
            seek_at: None,
            duck_set_at: None,
            located: None,
            trace: (config.trace || config.trace_levels)
                .then(|| [vec![0.0; TRACE_FRAMES].into(), vec![0.0; TRACE_FRAMES].into()]),
            trace_levels: config.trace_levels,
            traced_duck: f32::NAN,
        };
        (
            engine,
            ControlEnds { commands: commands_tx, events: events_rx, meters },
            LoaderEnds { feeds: feeds_tx, retired: retired_rx },
        )
    }

    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    /// The frame clock: the time of the next frame to be processed.
    pub fn clock(&self) -> u64 {
        self.clock
    }

    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Takes in waiting commands and feeds. `process` does this itself; a front end that owns the
    /// engine (the plugin) may call it to act on commands between blocks.
    pub fn poll(&mut self) {
        // Commands first: a new show's `LoadProgram` is queued before the loader can know the
        // show, so its feeds always find their program in place.
        while let Ok(command) = self.commands.pop() {
            self.schedule_command(command);
        }
        while let Ok(msg) = self.feeds.pop() {
            match msg {
                LoaderMsg::Arm { generation, clip, feed } => match self.program.clips.get_mut(clip as usize) {
                    Some(slot) if generation == self.program.generation => {
                        let waiting = self.voices[..self.high].iter_mut().find(|v| {
                            v.awaiting == Some(Awaiting::Armed)
                                && v.clip == clip
                                && v.generation == generation
                                && !v.stopped
                        });
                        if let Some(v) = waiting {
                            // A start that came before its data: it sounds from here, in time.
                            v.attach(feed);
                            self.retire(Retired::Used { generation, clip });
                        } else if let Some(old) = slot.armed.replace(feed) {
                            self.retire(Retired::Feed(old));
                        }
                    }
                    _ => self.retire(Retired::Feed(feed)),
                },
                LoaderMsg::Offset { generation, token, feed } => {
                    if generation != self.program.generation || self.unneeded.contains(&token) {
                        self.retire(Retired::Feed(feed));
                    } else if let Some(v) =
                        self.voices[..self.high].iter_mut().find(|v| v.awaiting == Some(Awaiting::Offset(token)))
                    {
                        v.attach(feed);
                    } else if self.offset_feeds.len() < self.offset_feeds.capacity() {
                        self.offset_feeds.push((token, feed));
                    } else {
                        self.retire(Retired::Feed(feed));
                    }
                }
                LoaderMsg::Lost { generation, clip } => {
                    if generation == self.program.generation {
                        if let Some(slot) = self.program.clips.get_mut(clip as usize) {
                            slot.lost = true;
                        }
                        // Starts waiting for this clip's data wait no more (it ends, unheard).
                        let declick = self.declick;
                        for v in self.voices[..self.high].iter_mut() {
                            if v.awaiting == Some(Awaiting::Armed) && v.clip == clip && v.generation == generation {
                                v.stop(declick, Curve::Linear);
                            }
                        }
                    }
                }
                LoaderMsg::Disarm { generation, clip } => {
                    if generation == self.program.generation {
                        if let Some(old) = self.program.clips.get_mut(clip as usize).and_then(|c| c.armed.take()) {
                            self.retire(Retired::Feed(old));
                        }
                    }
                }
            }
        }
    }

    /// Queues a command from the thread that owns the engine (e.g. a MIDI note in the plugin's
    /// process call), exactly as if it had come through the command queue.
    pub fn schedule_command(&mut self, command: Command) {
        let action = match command.action {
            Action::LoadProgram(program) => return self.load_program(program),
            Action::PrepareLocate(locate) => {
                if let Some(old) = self.located.replace(locate) {
                    self.retire(Retired::Locate(old));
                }
                return;
            }
            action => action,
        };
        let command = Command { at: command.at, action };
        let mut action = command.action;
        let late = command.at.map_or(0, |at| self.clock.saturating_sub(at));
        if late > 0 {
            // A seek that arrives late lands where the timeline is by now, not where it was.
            match &mut action {
                Action::Seek { elapsed, bed_change_in, duck, .. } => {
                    *elapsed += late;
                    *bed_change_in = bed_change_in.map(|d| d.saturating_sub(late));
                    duck.duck.advance(late);
                }
                Action::StartClip { skip, .. } => *skip += late,
                _ => {}
            }
        }
        let at = command.at.unwrap_or(self.clock).max(self.clock);
        let urgent = action.is_urgent();
        if let Err(entry) = self.schedule.insert_command(Entry { at, due: Due::Command(action) }, urgent) {
            self.emit(Event::CommandDropped { at: entry.at, why: Problem::ScheduleFull });
        }
    }

    /// Whether every sound due in the next `frames` frames has its data in memory. The offline
    /// renderer waits for this; live playback never waits.
    pub fn is_ready(&self, frames: usize) -> bool {
        self.waiting_for(frames, |_| false).is_none()
    }

    /// The first clip whose data is missing for the next `frames` frames, if any, leaving out
    /// the clips that will never come (their files failed: they play silence), as the loader
    /// reported them or as `lost` says.
    pub fn waiting_for(&self, frames: usize, lost: impl Fn(u32) -> bool) -> Option<u32> {
        let lost = |clip: u32| lost(clip) || self.program.clips.get(clip as usize).is_some_and(|c| c.lost);
        for v in &self.voices[..self.high] {
            // A voice fading out (a crossfade picked up by a seek) still sounds until its fade ends.
            // A start stopped before its data came waits for nothing (its fade ends it).
            let stopped_early = v.stopped && v.awaiting == Some(Awaiting::Armed);
            if v.awaiting.is_some() && !stopped_early && v.frames_until_done() > 0 && !lost(v.clip) {
                return Some(v.clip);
            }
            if let Some(feed) = &v.feed.as_ref().filter(|_| !lost(v.clip)) {
                let need = v.frames_until_done().min(frames as u64);
                if feed.ready_frames() < need {
                    return Some(v.clip);
                }
            }
        }
        let horizon = self.clock + frames as u64;
        let armed = |clip: Option<u32>| match clip {
            Some(c) => lost(c) || self.program.clips.get(c as usize).is_none_or(|c| c.armed.is_some()),
            None => true,
        };
        let cue_clip = |cue: u32| self.program.cues.get(cue as usize).map(|c| c.clip);
        let cue_ready = |cue: u32| armed(cue_clip(cue));
        // Entering a scene at `at` starts its bed and, within the horizon, its timed cues.
        let scene_ready = |scene: u32, at: u64| {
            self.program.scenes.get(scene as usize).is_none_or(|s| {
                armed(s.bed) && s.timed.iter().all(|&(cue, offset)| at + offset >= horizon || cue_ready(cue))
            })
        };
        // What an earlier entry of this stretch drops before it is due: a scene entered drops
        // the timed cues and bed change of the scene left; a seek, a panic, a stop of all and a
        // rewind drop those and the follows too. Nothing waits for those (the control side has
        // stopped keeping their clips armed). Entries follow in the order they run.
        let (mut timed_dropped, mut follows_dropped) = (false, false);
        for entry in self.schedule.iter().take_while(|e| e.at < horizon) {
            match &entry.due {
                Due::Command(Action::EnterScene { .. }) => timed_dropped = true,
                Due::Command(Action::Note { note })
                    if matches!(self.program.notes[*note as usize & 127], NoteTarget::Scene(_)) =>
                {
                    timed_dropped = true
                }
                Due::Command(Action::Seek { .. } | Action::Panic | Action::StopAll { .. } | Action::Rewind) => {
                    (timed_dropped, follows_dropped) = (true, true)
                }
                Due::Timed { entry: of, .. } | Due::BedChange { entry: of, .. }
                    if timed_dropped || *of != self.scene_entry =>
                {
                    continue
                }
                Due::Follow { .. } if follows_dropped => continue,
                _ => {}
            }
            let cue = match &entry.due {
                Due::Timed { cue, .. } | Due::Follow { cue } | Due::Command(Action::StartCue { cue }) => Some(*cue),
                Due::Command(Action::Go) => self.program.manual.get(self.go_next as usize).copied(),
                Due::Command(Action::Note { note }) => match self.program.notes[*note as usize & 127] {
                    NoteTarget::Cue(cue) => Some(cue),
                    _ => None,
                },
                _ => None,
            };
            let scene = match &entry.due {
                Due::Command(Action::EnterScene { scene }) => Some(*scene),
                Due::Command(Action::Note { note }) => match self.program.notes[*note as usize & 127] {
                    NoteTarget::Scene(scene) => Some(scene),
                    _ => None,
                },
                _ => None,
            };
            if let Some(cue) = cue.filter(|&c| !cue_ready(c)) {
                return cue_clip(cue);
            }
            if let Due::Command(Action::StartClip { clip, token, .. }) = &entry.due {
                if !lost(*clip) && !self.offset_feeds.iter().any(|(t, _)| t == token) {
                    return Some(*clip);
                }
            }
            if let Due::BedChange { scene, .. } = &entry.due {
                let bed = self.program.scenes.get(*scene as usize).and_then(|s| s.bed);
                if !armed(bed) {
                    return bed;
                }
            }
            if let Some(scene) = scene.filter(|&s| !scene_ready(s, entry.at)) {
                let info = &self.program.scenes[scene as usize];
                return info
                    .bed
                    .filter(|&b| !armed(Some(b)))
                    .or_else(|| info.timed.iter().map(|&(c, _)| cue_clip(c)).find(|&c| !armed(c)).flatten());
            }
        }
        None
    }

    /// Gives up waiting for a clip's data (offline, it never came): it plays silence from here
    /// and is reported; nothing waits for it again in this show.
    pub fn give_up(&mut self, clip: u32) {
        if let Some(slot) = self.program.clips.get_mut(clip as usize) {
            slot.lost = true;
        }
        self.emit(Event::Stalled { clip, at: self.clock });
    }

    /// Whether a seek prepared for timeline `position` is here, ready for `locate`.
    pub fn has_locate(&self, position: u64) -> bool {
        self.located.as_ref().is_some_and(|l| l.position == position)
    }

    /// Whether a seek prepared for `position` is here with the data of everything it starts
    /// (or the loader gave that clip up): `locate` then starts it all on its frame.
    pub fn locate_ready(&self, position: u64) -> bool {
        self.located.as_ref().is_some_and(|l| {
            l.position == position
                && l.starts.iter().all(|&(clip, token, ..)| {
                    self.offset_feeds.iter().any(|(t, _)| *t == token)
                        || self.program.clips.get(clip as usize).is_some_and(|c| c.lost)
                })
        })
    }

    /// Whether entering `scene` now would start its bed and timed cues from armed feeds (or
    /// from nothing, where a file failed), rather than refuse them as not ready.
    pub fn can_enter(&self, scene: u32) -> bool {
        let ready = |clip: u32| self.program.clips.get(clip as usize).is_none_or(|c| c.lost || c.armed.is_some());
        self.program.scenes.get(scene as usize).is_some_and(|s| {
            s.bed.is_none_or(ready)
                && s.timed.iter().all(|&(cue, _)| self.program.cues.get(cue as usize).is_none_or(|c| ready(c.clip)))
        })
    }

    /// Play starts (or jumps) to timeline `position` now: if a seek was prepared for exactly
    /// that position, it is applied on this frame and `true` is returned; otherwise the caller
    /// asks its control side to seek (which lands a little late).
    pub fn locate(&mut self, position: u64) -> bool {
        if self.located.as_ref().is_none_or(|l| l.position != position) {
            return false;
        }
        let Some(locate) = self.located.take() else { return false };
        let now = self.clock;
        self.seek(locate.scene, locate.elapsed, locate.bed_change_in, locate.first_token, locate.duck, now);
        for &(clip, token, offset, fade) in &locate.starts {
            self.start_clip_at(clip, token, offset, 0, fade, now);
        }
        for &(cue, delay) in &locate.follows {
            if self.schedule.insert(Entry { at: now + delay, due: Due::Follow { cue } }).is_err() {
                self.emit(Event::CommandDropped { at: now + delay, why: Problem::ScheduleFull });
            }
        }
        // Its feeds are used up; the box goes back to be freed off this thread.
        self.retire(Retired::Locate(locate));
        true
    }

    /// Renders one block of any length.
    pub fn process(&mut self, out: Outputs) {
        self.poll();
        let Outputs { main, bed, cues } = out;
        let [main_l, main_r] = main;
        let [bed_l, bed_r] = bed;
        let [cue_l, cue_r] = cues;
        let frames = main_l.len();
        // Cues' levels for the meters are taken in one block about every `CUE_METER_FRAMES`
        // (a screen needs no more, and it keeps the cost off most blocks).
        let meter_cues = self.clock / CUE_METER_FRAMES != (self.clock + frames as u64) / CUE_METER_FRAMES;
        for buf in [&mut *bed_l, &mut *bed_r, &mut *cue_l, &mut *cue_r] {
            buf[..frames].fill(0.0);
        }
        // This block's audio of every voice, asked for all at once before any is mixed: the
        // loader wrote it on another core, often a second ago, and the misses then overlap
        // instead of each voice waiting for its own in turn.
        for v in self.voices[..self.high].iter_mut() {
            if let Some(feed) = &mut v.feed {
                feed.prefetch(frames);
            }
        }
        let mut done = 0;
        while done < frames {
            let now = self.clock;
            // Applying can schedule more for this very frame (a timed cue at offset 0, a follow
            // with no wait after a voice ended): loop until nothing is due now.
            loop {
                while let Some(entry) = self.schedule.pop_due(now) {
                    self.apply(entry.due, now);
                }
                if std::mem::take(&mut self.duck_stale) {
                    self.update_duck();
                }
                self.reap();
                if self.schedule.next_time() != Some(now) {
                    break;
                }
            }
            let mut n = frames - done;
            if let Some(t) = self.schedule.next_time() {
                n = n.min((t - now) as usize);
            }
            for v in &self.voices[..self.high] {
                if !v.is_free() {
                    n = n.min(v.frames_until_done().min(usize::MAX as u64) as usize);
                }
            }
            let n = n.max(1).min(frames - done);
            let range = done..done + n;
            for v in self.voices[..self.high].iter_mut().filter(|v| !v.is_free()) {
                v.metering = meter_cues && v.bus == Bus::Cues;
                let (l, r) = match v.bus {
                    Bus::Bed => (&mut bed_l[range.clone()], &mut bed_r[range.clone()]),
                    Bus::Cues => (&mut cue_l[range.clone()], &mut cue_r[range.clone()]),
                };
                let before = v.underrun;
                match &mut self.trace {
                    None => v.render(l, r),
                    Some(scratch) => {
                        let levels = self.trace_levels.then_some(&mut self.events);
                        render_traced(v, l, r, scratch, now, levels)
                    }
                }
                // A gap in its data is reported once, when it is over (`report_gaps`), from
                // the frame it began on (the missing frames are the end of what it was asked).
                let missing = v.underrun.saturating_sub(before);
                v.starved = missing > 0;
                if missing > 0 && before == 0 {
                    v.underrun_at = Some(now + (n as u64).saturating_sub(missing as u64));
                }
            }
            let duck_moved = (self.duck.db() - self.traced_duck).abs();
            let settled = duck_moved > 0.0 && self.duck.is_steady();
            if self.trace_levels && (duck_moved >= DUCK_STEP_DB || settled || self.traced_duck.is_nan()) {
                self.traced_duck = self.duck.db();
                self.emit(Event::Duck { at: now, db: self.traced_duck });
            }
            self.mix_buses(
                &mut main_l[range.clone()],
                &mut main_r[range.clone()],
                &mut bed_l[range.clone()],
                &mut bed_r[range.clone()],
                &mut cue_l[range.clone()],
                &mut cue_r[range.clone()],
            );
            self.clock += n as u64;
            done += n;
            self.reap();
        }
        self.report_underruns();
        self.meter(main_l, main_r, bed_l, bed_r, cue_l, cue_r, meter_cues);
    }

    fn mix_buses(
        &mut self,
        main_l: &mut [f32],
        main_r: &mut [f32],
        bed_l: &mut [f32],
        bed_r: &mut [f32],
        cue_l: &mut [f32],
        cue_r: &mut [f32],
    ) {
        let steady = self.master.is_steady()
            && self.trim.is_steady()
            && self.bed_level.is_steady()
            && self.cue_level.is_steady()
            && self.duck.is_steady();
        if steady {
            let m = self.master.value() * self.trim.value();
            let b = self.bed_level.value() * self.duck.gain() * m;
            let c = self.cue_level.value() * m;
            kernel::buses([main_l, main_r], [bed_l, bed_r], [cue_l, cue_r], b, c);
            return;
        }
        for i in 0..main_l.len() {
            let m = self.master.tick() * self.trim.tick();
            let b = self.bed_level.tick() * self.duck.tick() * m;
            let c = self.cue_level.tick() * m;
            bed_l[i] *= b;
            bed_r[i] *= b;
            cue_l[i] *= c;
            cue_r[i] *= c;
            main_l[i] = bed_l[i] + cue_l[i];
            main_r[i] = bed_r[i] + cue_r[i];
        }
    }

    fn apply(&mut self, due: Due, now: u64) {
        match due {
            Due::Command(action) => self.apply_action(action, now),
            Due::Timed { cue, entry } => {
                if entry == self.scene_entry {
                    self.start_cue(cue, now);
                }
            }
            Due::Follow { cue } => self.start_cue(cue, now),
            Due::BedChange { scene, entry } => {
                if entry == self.scene_entry {
                    self.change_bed(scene, now);
                }
            }
        }
    }

    fn apply_action(&mut self, action: Action, now: u64) {
        match action {
            Action::Go => match self.program.manual.get(self.go_next as usize) {
                Some(&cue) => {
                    self.go_next += 1;
                    self.start_cue(cue, now);
                }
                None => self.emit(Event::GoAtEnd { at: now }),
            },
            Action::StartCue { cue } => self.start_cue(cue, now),
            Action::StopCue { cue, fade_ms } => {
                let declick = self.declick;
                let rate = self.rate as f32;
                let clip_fade =
                    self.program.cues.get(cue as usize).map(|c| self.program.clips[c.clip as usize].fade_out_frames);
                let frames = match fade_ms {
                    Some(ms) => (ms * rate / 1000.0) as u32,
                    None => clip_fade.unwrap_or(0),
                }
                .max(declick);
                let generation = self.program.generation;
                for v in self.voices[..self.high].iter_mut() {
                    if !v.is_free() && v.bus == Bus::Cues && v.owner == cue && v.generation == generation {
                        v.stop(frames, Curve::EqualPower);
                    }
                }
            }
            Action::EnterScene { scene } => self.enter_scene(scene, now),
            Action::Panic => self.panic(now),
            // A level that is not a number would silence the bus for good, and +inf would put
            // infinities on the output: refused (-inf is silence, and taken as such).
            Action::SetLevel { db, .. } if db.is_nan() || db == f32::INFINITY => {
                self.emit(Event::CommandDropped { at: now, why: Problem::Unknown })
            }
            Action::SetDuckOverride { depth_db: Some(d), .. } if !d.is_finite() => {
                self.emit(Event::CommandDropped { at: now, why: Problem::Unknown })
            }
            Action::SetLevel { level, db } => {
                let frames = self.level_smoothing;
                let ramp = match level {
                    Level::Master => &mut self.master,
                    Level::Bed => &mut self.bed_level,
                    Level::Cues => &mut self.cue_level,
                };
                ramp.set(db_to_gain(db.min(MAX_LEVEL_DB)), frames);
            }
            Action::SetDuckOverride { depth_db, attack_ms, release_ms } => {
                let ms = |v: Option<f32>| v.map(|ms| (ms.max(0.0) * self.rate as f32 / 1000.0) as u32);
                let depth_db = depth_db.map(|d| d.clamp(fade::SILENCE_DB, 0.0));
                self.duck_override = (depth_db, ms(attack_ms), ms(release_ms));
                self.update_duck();
            }
            Action::Note { note } => match self.program.notes[note as usize & 127] {
                NoteTarget::Cue(cue) => self.start_cue(cue, now),
                NoteTarget::Scene(scene) => self.enter_scene(scene, now),
                NoteTarget::Nothing => {}
            },
            Action::Seek { scene, elapsed, bed_change_in, first_token, duck } => {
                self.seek(scene, elapsed, bed_change_in, first_token, duck, now)
            }
            Action::StartClip { clip, token, offset, skip, fade } => {
                self.start_clip_at(clip, token, offset + skip, skip, fade, now)
            }
            Action::StopAll { fade_ms } => {
                let frames = ((fade_ms.max(0.0) * self.rate as f32 / 1000.0) as u32).max(self.declick);
                self.stop_everything(frames, Curve::SCurve);
            }
            Action::DropOffsetFeeds { below } => self.drop_offset_feeds(below),
            Action::Rewind => self.rewind(now),
            Action::ReportHeard => self.report_heard(),
            Action::Standby { manual } => {
                if (manual as usize) < self.program.manual.len() {
                    self.go_next = manual;
                }
            }
            // Applied when they arrive (see `schedule_command`); never scheduled.
            Action::LoadProgram(program) => self.load_program(program),
            Action::PrepareLocate(locate) => self.retire(Retired::Locate(locate)),
        }
    }

    fn start_cue(&mut self, cue: u32, now: u64) {
        let Some(info) = self.program.cues.get(cue as usize) else {
            self.emit(Event::CannotStart { clip: u32::MAX, at: now, why: Problem::Unknown });
            return;
        };
        let (clip, restart) = (info.clip, info.restart);
        let generation = self.program.generation;
        let playing = self.voices[..self.high]
            .iter()
            .any(|v| !v.is_free() && v.bus == Bus::Cues && v.owner == cue && v.generation == generation && !v.stopped);
        // `retrigger: ignore`: a cue that plays on is not started again.
        if playing && !restart {
            return;
        }
        if playing && self.program.clips[clip as usize].armed.is_none() {
            // A restart before the clip is armed again would cut the cue for a late start: the
            // cue plays on, and the refused restart is reported.
            self.emit(Event::CannotStart { clip, at: now, why: Problem::NotReady });
            return;
        }
        let fade_in = self.program.clips[clip as usize].fade_in_frames;
        let Some(started) = self.start_clip(clip, now, fade_in, Curve::EqualPower) else {
            // A restart that cannot start (no free voice) leaves the cue playing.
            return;
        };
        // A cue started again restarts: the running voice gets out of the way with a de-click.
        let declick = self.declick;
        if playing {
            for (i, v) in self.voices[..self.high].iter_mut().enumerate() {
                if i != started
                    && !v.is_free()
                    && v.bus == Bus::Cues
                    && v.owner == cue
                    && v.generation == generation
                    && !v.stopped
                {
                    v.stop(declick, Curve::Linear);
                }
            }
        }
        self.emit(Event::CueStarted { cue, at: now });
        // Before this frame is mixed (`process`), with every other start on it.
        self.duck_stale = true;
    }

    /// Starts a clip's armed feed in a free voice; returns the voice.
    fn start_clip(&mut self, clip: u32, now: u64, fade_in: u32, curve: Curve) -> Option<usize> {
        let generation = self.program.generation;
        let Some(slot) = self.program.clips.get_mut(clip as usize) else {
            self.emit(Event::CannotStart { clip, at: now, why: Problem::Unknown });
            return None;
        };
        let Some(index) = free_voice(&self.voices, self.free_from) else {
            self.emit(Event::CannotStart { clip, at: now, why: Problem::NoFreeVoice });
            return None;
        };
        if slot.lost && slot.armed.is_none() {
            self.emit(Event::CannotStart { clip, at: now, why: Problem::NotReady });
            return None;
        }
        // Live, a start never waits: one asked for before the loader has the clip's head ready
        // (just after a load, or a restart before it is armed again) starts now without data
        // and sounds, in time, from where its data arrives (reported as a late start).
        let feed = slot.armed.take().ok_or(Awaiting::Armed);
        let waits = feed.is_err();
        self.voices[index].start(feed, 0, generation, clip, slot, now, fade_in, curve, self.declick);
        self.high = self.high.max(index + 1);
        self.free_from = index + 1;
        if waits {
            self.voices[index].hold_until_fed(self.declick);
        } else {
            self.retire(Retired::Used { generation, clip });
        }
        Some(index)
    }

    /// Starts a clip mid-way from its offset feed (after a seek), or waits for that feed.
    fn start_clip_at(&mut self, clip: u32, token: u32, offset: u64, skip: u64, fade: Option<Resume>, now: u64) {
        let generation = self.program.generation;
        // A late start is further into its fade too; a fade out already over sounds no more.
        let fade = fade.map(|r| Resume { done: r.done.saturating_add(skip.min(u32::MAX as u64) as u32), ..r });
        if fade.is_some_and(|r| r.to == 0.0 && r.done >= r.len) {
            return;
        }
        let Some(slot) = self.program.clips.get(clip as usize) else {
            self.emit(Event::CannotStart { clip, at: now, why: Problem::Unknown });
            return;
        };
        // The seek on this frame stopped a voice that is already there: it sounds on, with its
        // own feed (no read from the disk, no gap), and the prepared one goes back.
        let fading_in_or_steady = fade.is_none_or(|r| r.to > 0.0);
        let taken_back = (self.seek_at == Some(now) && fading_in_or_steady)
            .then(|| self.voices[..self.high].iter().position(|v| v.can_resume(clip, generation, offset, now)))
            .flatten();
        if let Some(index) = taken_back {
            let (bus, owner) = (slot.bus, slot.owner);
            self.voices[index].resume();
            match self.offset_feeds.iter().position(|(t, _)| *t == token) {
                Some(i) => {
                    let (_, feed) = self.offset_feeds.swap_remove(i);
                    self.retire(Retired::Feed(feed));
                }
                // Still on its way: it goes back when it comes.
                None => {
                    self.unneeded[self.unneeded_next] = token;
                    self.unneeded_next = (self.unneeded_next + 1) % UNNEEDED;
                }
            }
            match bus {
                Bus::Bed => self.bed_voice = Some(index),
                Bus::Cues => {
                    // Playing since it first started (a console's time played goes on).
                    let started = self.voices[index].started_at;
                    self.emit(Event::CueStarted { cue: owner, at: started });
                    self.update_duck();
                }
            }
            return;
        }
        let Some(index) = free_voice(&self.voices, self.free_from) else {
            self.emit(Event::CannotStart { clip, at: now, why: Problem::NoFreeVoice });
            return;
        };
        let feed = match self.offset_feeds.iter().position(|(t, _)| *t == token) {
            Some(i) => {
                let mut feed = self.offset_feeds.swap_remove(i).1;
                feed.skip(skip);
                Ok(feed)
            }
            None => Err(Awaiting::Offset(token)),
        };
        let (bus, owner, gain) = (slot.bus, slot.owner, slot.gain);
        let awaiting = feed.is_err();
        self.voices[index].start(feed, offset, generation, clip, slot, now, 0, Curve::Linear, self.declick);
        self.voices[index].pick_up(gain, fade, self.declick);
        self.high = self.high.max(index + 1);
        self.free_from = index + 1;
        if awaiting {
            // The frames it came late by are due already when its feed arrives.
            self.voices[index].wait(skip);
        }
        let fading_out = fade.is_some_and(|r| r.to == 0.0);
        match bus {
            // A bed fading out under a crossfade is not the playing bed.
            Bus::Bed if fading_out => {}
            Bus::Bed => self.bed_voice = Some(index),
            Bus::Cues => {
                self.emit(Event::CueStarted { cue: owner, at: now });
                self.update_duck();
            }
        }
    }

    /// Drops prepared offset feeds with tokens below `below`, except those the kept locate needs.
    fn drop_offset_feeds(&mut self, below: u32) {
        // A locate's tokens are consecutive from its first.
        let kept = self.located.as_ref().map_or(0..0, |l| l.first_token..l.first_token + l.starts.len() as u32);
        let mut i = 0;
        while i < self.offset_feeds.len() {
            let token = self.offset_feeds[i].0;
            if token < below && !kept.contains(&token) {
                let (_, feed) = self.offset_feeds.swap_remove(i);
                self.retire(Retired::Feed(feed));
            } else {
                i += 1;
            }
        }
    }

    fn seek(
        &mut self,
        scene: Option<u32>,
        elapsed: u64,
        bed_change_in: Option<u64>,
        first_token: u32,
        duck: DuckAt,
        now: u64,
    ) {
        // What plays on where the seek lands (a reloaded show played on from where it is) is
        // taken back by the seek's own starts on this frame (`start_clip_at`).
        for v in self.voices[..self.high].iter_mut() {
            v.mark_revivable(now);
        }
        self.stop_everything(self.declick, Curve::Linear);
        self.drop_offset_feeds(first_token);
        self.panic_until = None;
        self.seek_at = Some(now);
        // The duck goes on from where the timeline has it, exactly; with the plugin's duck
        // overrides on (which the timeline does not know) it reaches its target over the de-click.
        if self.duck_override == (None, None, None) {
            self.duck = duck.duck;
            self.duck_release = duck.release;
            self.duck_set_at = Some(now);
        }
        self.scene = scene;
        // An identity for this entry of the scene: it need not be a real past frame.
        self.scene_entry = now.wrapping_sub(elapsed);
        if let Some(info) = scene.and_then(|s| self.program.scenes.get(s as usize)) {
            if let Some(first) = info.first_manual {
                self.go_next = first;
            }
            for i in 0..info.timed.len() {
                let (cue, offset) = self.program.scenes[scene.unwrap_or(0) as usize].timed[i];
                if offset > elapsed {
                    let entry = Entry { at: now + offset - elapsed, due: Due::Timed { cue, entry: self.scene_entry } };
                    if self.schedule.insert(entry).is_err() {
                        self.emit(Event::CommandDropped { at: now, why: Problem::ScheduleFull });
                    }
                }
            }
            if let (Some(s), Some(delay)) = (scene, bed_change_in) {
                let entry = Entry { at: now + delay, due: Due::BedChange { scene: s, entry: self.scene_entry } };
                if self.schedule.insert(entry).is_err() {
                    self.emit(Event::CommandDropped { at: now, why: Problem::ScheduleFull });
                }
            }
        }
        self.update_duck();
        self.emit(Event::Seeked { scene, at: now });
    }

    /// Back to the top of the show (see `Action::Rewind`).
    fn rewind(&mut self, now: u64) {
        self.stop_everything(self.declick, Curve::Linear);
        self.panic_until = None;
        self.scene = None;
        self.scene_entry = now;
        self.go_next = 0;
        // The duck of a fresh engine: the show's start sounds as in a render.
        self.duck = Duck::default();
        self.duck_release = 1;
        self.emit(Event::Seeked { scene: None, at: now });
    }

    fn enter_scene(&mut self, scene: u32, now: u64) {
        let Some(info) = self.program.scenes.get(scene as usize) else {
            self.emit(Event::CommandDropped { at: now, why: Problem::Unknown });
            return;
        };
        let quantize = info.quantize;
        let first_manual = info.first_manual;
        // Timed cues and a pending bed change of the scene being left no longer apply.
        self.schedule.retain(|e| !matches!(e.due, Due::Timed { .. } | Due::BedChange { .. }));
        self.scene = Some(scene);
        self.scene_entry = now;
        if let Some(first) = first_manual {
            self.go_next = first;
        }
        self.emit(Event::SceneEntered { scene, at: now });
        for i in 0..self.program.scenes[scene as usize].timed.len() {
            let (cue, offset) = self.program.scenes[scene as usize].timed[i];
            let entry = Entry { at: now + offset, due: Due::Timed { cue, entry: now } };
            if self.schedule.insert(entry).is_err() {
                self.emit(Event::CommandDropped { at: now + offset, why: Problem::ScheduleFull });
            }
        }
        let at = self.quantized(now, quantize);
        if at == now {
            self.change_bed(scene, now);
        } else if self.schedule.insert(Entry { at, due: Due::BedChange { scene, entry: now } }).is_err() {
            self.emit(Event::CommandDropped { at, why: Problem::ScheduleFull });
        }
    }

    /// The first beat or bar line of the playing bed at or after `now`.
    fn quantized(&self, now: u64, quantize: Quantize) -> u64 {
        let Some(bed) = self.bed_voice.map(|i| &self.voices[i]) else {
            return now;
        };
        now + program::to_next_line(now - bed.started_at + bed.offset, bed.tempo, quantize)
    }

    fn change_bed(&mut self, scene: u32, now: u64) {
        let info = &self.program.scenes[scene as usize];
        let (bed, fade, curve) = (info.bed, info.fade_frames.max(self.declick), info.curve);
        if let Some(old) = self.bed_voice.take() {
            self.voices[old].stop(fade, curve);
        }
        if let Some(clip) = bed {
            self.bed_voice = self.start_clip(clip, now, fade, curve);
        }
        self.emit(Event::BedStarted { scene, at: now });
    }

    /// Fades every voice out over `frames` and drops the timed cues, follows and bed change
    /// still waiting (a panic, a seek, a transport stop).
    fn stop_everything(&mut self, frames: u32, curve: Curve) {
        for v in self.voices[..self.high].iter_mut().filter(|v| !v.is_free()) {
            v.stop(frames, curve);
        }
        self.schedule.retain(|e| !matches!(e.due, Due::Timed { .. } | Due::BedChange { .. } | Due::Follow { .. }));
        self.bed_voice = None;
    }

    fn panic(&mut self, now: u64) {
        let hard = self.panic_until.is_some_and(|until| now < until);
        let frames = if hard { self.declick } else { self.program.panic_frames.max(self.declick) };
        self.stop_everything(frames, Curve::SCurve);
        self.panic_until = Some(now + frames as u64);
        self.emit(Event::Panic { at: now, hard });
    }

    fn load_program(&mut self, program: Box<Program>) {
        let declick = self.declick;
        let (old, generation) = (self.program.generation, program.generation);
        self.bed_voice = None;
        for i in 0..self.high {
            let v = &mut self.voices[i];
            if v.is_free() {
                continue;
            }
            // The same audio in the new show (`Program::carry`) plays on; the rest fades out.
            // (A voice still waiting for its data is not: its feed would come for the old show.)
            let carried = (v.generation == old && !v.stopped && v.feed.is_some() && v.awaiting.is_none())
                .then(|| program.carry.get(v.clip as usize).copied().flatten())
                .flatten()
                .and_then(|c| program.clips.get(c as usize).map(|clip| (c, clip)))
                .filter(|(_, clip)| clip.bus == v.bus);
            match carried {
                Some((c, clip)) => {
                    v.carry(c, generation, clip, self.level_smoothing, declick);
                    if v.bus == Bus::Bed {
                        self.bed_voice = Some(i);
                    }
                }
                None => v.stop(declick, Curve::Linear),
            }
        }
        self.schedule.retain(|_| false);
        // A locate prepared for the old show names its clips: the new show prepares its own.
        if let Some(old) = self.located.take() {
            self.retire(Retired::Locate(old));
        }
        self.scene = None;
        self.go_next = 0;
        // The show's master level: at once when nothing sounds (a first load, a render's
        // start), smoothed under what plays on through a reload.
        let sounding = self.voices[..self.high].iter().any(|v| !v.is_free());
        let trim = if sounding { self.level_smoothing } else { 0 };
        self.trim.set(program.trim, trim);
        let previous = std::mem::replace(&mut self.program, program);
        self.retire(Retired::Program(previous));
        self.update_duck();
        self.emit(Event::ProgramLoaded { generation, at: self.clock });
        // The cues that play on, as playing in the new show (from when they started).
        for i in 0..self.high {
            let v = &self.voices[i];
            if !v.is_free() && v.generation == generation && v.bus == Bus::Cues {
                let (cue, at) = (v.owner, v.started_at);
                self.emit(Event::CueStarted { cue, at });
            }
        }
    }

    /// Frees voices that are done; schedules the follows of cues that completed.
    fn reap(&mut self) {
        let now = self.clock;
        let generation = self.program.generation;
        let mut changed = false;
        for i in 0..self.high {
            let v = &mut self.voices[i];
            if v.is_free() || v.frames_until_done() > 0 {
                continue;
            }
            let completed = v.completed();
            let (bus, owner, current) = (v.bus, v.owner, v.generation == generation);
            if let Some(duck) = v.duck {
                self.duck_release = duck.release_frames;
                changed = true;
            }
            self.report_gaps(i, now);
            self.report_stretch(i);
            self.voices[i].awaiting = None;
            self.free_from = self.free_from.min(i);
            if let Some(feed) = self.voices[i].feed.take() {
                self.retire(Retired::Feed(feed));
            }
            if self.bed_voice == Some(i) {
                self.bed_voice = None;
            }
            if bus == Bus::Cues && current {
                self.emit(Event::CueEnded { cue: owner, at: now, completed });
                if completed {
                    for f in 0..self.program.cues[owner as usize].followers.len() {
                        let (cue, wait) = self.program.cues[owner as usize].followers[f];
                        if self.schedule.insert(Entry { at: now + wait, due: Due::Follow { cue } }).is_err() {
                            self.emit(Event::CommandDropped { at: now + wait, why: Problem::ScheduleFull });
                        }
                    }
                }
            }
        }
        while self.high > 0 && self.voices[self.high - 1].is_free() {
            self.high -= 1;
        }
        if changed {
            self.update_duck();
        }
    }

    /// Points the duck envelope at the deepest depth among sounding cues.
    fn update_duck(&mut self) {
        // A seek on this frame set the duck as the timeline has it, with the cues it starts.
        if self.duck_set_at == Some(self.clock) {
            return;
        }
        let (depth_override, attack_override, release_override) = self.duck_override;
        let mut target = 0.0f32;
        let mut attack = 1;
        for v in self.voices[..self.high].iter().filter(|v| !v.is_free() && v.bus == Bus::Cues) {
            if let Some(duck) = v.duck {
                let depth = match depth_override {
                    Some(d) if duck.depth_db < 0.0 => d,
                    _ => duck.depth_db,
                };
                if depth < target {
                    target = depth;
                    attack = duck.attack_frames;
                }
            }
        }
        let mut attack = attack_override.unwrap_or(attack);
        let mut release = release_override.unwrap_or(self.duck_release);
        // Right after a seek the bed is where the timeline has it, not on its way there.
        if self.seek_at == Some(self.clock) {
            attack = self.declick;
            release = self.declick;
        }
        self.duck.set_target(target, attack, release);
    }

    /// With `EngineConfig::trace`: reports where each voice still sounding has been heard so
    /// far (`Event::Heard`), as if it ended here: the end of a render.
    pub fn report_heard(&mut self) {
        for i in 0..self.high {
            self.report_stretch(i);
        }
    }

    fn report_underruns(&mut self) {
        for i in 0..self.high {
            let v = &self.voices[i];
            // A gap still going on waits for its end, unless it has gone on for long.
            let due = v.underrun > 0 && (!v.starved || v.underrun >= LONG_GAP_SECS * self.rate);
            if v.late > 0 || due {
                self.report_gaps(i, self.clock);
            }
        }
    }

    /// Reports, once, the frames voice `i` missed since the last report: waiting for its data
    /// at its start (a late start) and after (an underrun).
    fn report_gaps(&mut self, i: usize, at: u64) {
        let v = &mut self.voices[i];
        let (clip, late, underrun) = (v.clip, std::mem::take(&mut v.late), std::mem::take(&mut v.underrun));
        let gap_at = v.underrun_at.take().unwrap_or(at);
        if late > 0 {
            self.emit(Event::LateStart { clip, at, frames: late });
        }
        if underrun > 0 {
            self.emit(Event::Underrun { clip, at: gap_at, frames: underrun });
        }
    }

    /// With the trace: reports where voice `i` has been heard so far, once.
    fn report_stretch(&mut self, i: usize) {
        if let Some((from, to)) = self.voices[i].heard.take() {
            let clip = self.voices[i].clip;
            self.emit(Event::Heard { clip, from, to });
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn meter(
        &mut self,
        main_l: &[f32],
        main_r: &[f32],
        bed_l: &[f32],
        bed_r: &[f32],
        cue_l: &[f32],
        cue_r: &[f32],
        voices: bool,
    ) {
        let levels = [main_l, main_r, bed_l, bed_r, cue_l, cue_r].map(kernel::level);
        let peaks = levels.map(|(peak, _)| peak);
        let power = |c: usize| levels[c].1 as f64 + levels[c + 1].1 as f64;
        let power = [power(0), power(2), power(4)];
        self.meters.record(&peaks, &power, main_l.len() as u64, self.clock, self.duck.db());
        // The voices' levels only in the blocks that took them (see `CUE_METER_FRAMES`): a
        // screen needs no more, and an atomic per voice per block cost more than mixing it.
        if voices {
            for (slot, v) in self.voices.iter_mut().enumerate().take(self.high.max(self.metered)) {
                let cue = (!v.is_free() && v.bus == Bus::Cues).then_some(v.owner);
                self.meters.record_voice(slot, cue, std::mem::take(&mut v.peak));
            }
            self.metered = self.high;
        }
        let main_peak = peaks[0].max(peaks[1]);
        // One clip report per half second is enough to see it and does not flood the queue.
        if main_peak > 1.0 && self.last_clip_event.is_none_or(|t| self.clock >= t + self.rate as u64 / 2) {
            self.last_clip_event = Some(self.clock);
            self.emit(Event::Clipped { at: self.clock, peak: main_peak });
        }
    }

    fn emit(&mut self, event: Event) {
        if self.events.push(event).is_err() {
            self.meters.count_dropped_event();
        }
    }

    /// Sends something to the loader thread to be dropped there. The queue is sized so it is
    /// never full; if it were, leaking is the real-time-safe choice over freeing here.
    fn retire(&mut self, item: Retired) {
        if let Err(rtrb::PushError::Full(item)) = self.retired.push(item) {
            std::mem::forget(item);
            self.meters.count_dropped_event();
        }
    }
}

/// The first free voice at `from` or above (every voice below `from` plays).
fn free_voice(voices: &[Voice], from: usize) -> Option<usize> {
    let from = from.min(voices.len());
    voices[from..].iter().position(|v| v.is_free()).map(|i| from + i)
}

/// A gap in a voice's data that goes on this long (seconds) is reported without waiting for
/// its end (and what follows, once it ends): a disk that stalls for a second or two gives one
/// report, a file that never comes back does not wait for silence to be told.
const LONG_GAP_SECS: u32 = 5;

pub use crate::mix::MAX_LEVEL_DB;

/// How many offset feeds a taken-back start can leave on their way (`Engine::unneeded`).
const UNNEEDED: usize = 64;

/// The shortest fade used anywhere: 5 ms, so no start or stop clicks.
pub fn declick_frames(rate: u32) -> u32 {
    (rate / 200).max(1)
}

/// Mixes a voice through `scratch`, noting the frames it is heard on (`HEARD`); `now` is the
/// engine time of `out`'s first frame. Adding the voice to a zeroed buffer first and that to the
/// bus gives the bus the very sums a direct mix gives.
fn render_traced(
    v: &mut Voice,
    out_l: &mut [f32],
    out_r: &mut [f32],
    scratch: &mut [Box<[f32]>; 2],
    now: u64,
    levels: Option<&mut rtrb::Producer<Event>>,
) {
    let [sl, sr] = scratch;
    let mut levels = levels;
    let mut at = 0;
    while at < out_l.len() {
        let n = (out_l.len() - at).min(sl.len());
        if let Some(events) = levels.as_mut() {
            let level = v.level();
            // Also where a ramp ends, so a drawing reaches the level it holds.
            let moved = (level - v.traced_level).abs();
            if v.traced_level.is_nan() || moved >= LEVEL_STEP || (moved > 0.0 && v.is_steady()) {
                v.traced_level = level;
                // A full queue drops a point of the drawing, nothing that sounds.
                let _ = events.push(Event::Level { clip: v.clip, at: now + at as u64, gain: level });
            }
        }
        let (l, r) = (&mut sl[..n], &mut sr[..n]);
        l.fill(0.0);
        r.fill(0.0);
        v.render(l, r);
        let heard = |k: &usize| l[*k].abs().max(r[*k].abs()) > HEARD;
        if let (Some(first), Some(last)) = ((0..n).find(heard), (0..n).rev().find(heard)) {
            let (first, last) = (now + (at + first) as u64, now + (at + last) as u64 + 1);
            v.heard = Some(v.heard.map_or((first, last), |(from, _)| (from, last)));
        }
        let (ol, or) = (&mut out_l[at..at + n], &mut out_r[at..at + n]);
        for (o, x) in ol.iter_mut().zip(l.iter()) {
            *o += x;
        }
        for (o, x) in or.iter_mut().zip(r.iter()) {
            *o += x;
        }
        at += n;
    }
}
