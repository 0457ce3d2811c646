//! Following a transport with the show timeline. `Chase::follow` runs on the audio thread,
//! beside `Engine::process` (it only calls the engine and pushes to a wait-free queue: no
//! allocation, no locks); offline it may sleep while it waits for the desk or the loader, which
//! is what a faster-than-real-time front end wants. The plugin follows the host's transport with
//! it, the live player its own.
//!
//! While playing, scene entries and the show's end inside each block are scheduled on their
//! exact frames. Play from timeline 0 starts the show from the top (`Action::Rewind`), exactly
//! as `segue render` does. Elsewhere, where play starts or jumps, the engine applies the seek the
//! desk prepared while the transport was stopped at that position (exact), or the desk is asked
//! to seek: it lands as soon as the loader has the data, with its fades and the duck where the
//! timeline has them. Offline, the desk prepares that seek while `follow` waits, so it is exact
//! too. While stopped, everything fades out and the desk prefetches at the playhead.

use std::time::{Duration, Instant};

use crate::engine::command::{Action, Command};
use crate::engine::Engine;

/// The fade when the transport stops.
pub const TRANSPORT_STOP_FADE_MS: f32 = 30.0;

/// Offline, how often to look again while waiting (as `segue render` does).
const OFFLINE_POLL: Duration = Duration::from_micros(50);

/// What the audio thread tells the desk about the transport (through a wait-free queue).
#[derive(Debug, Clone, Copy)]
pub enum TransportMsg {
    /// Play started or jumped to timeline `position` at engine frame `at`, and no prepared
    /// seek matched: seek now (it lands a little late).
    Play { position: u64, at: u64 },
    /// Play will (re)start at `position` (the transport is stopped there, or a loop jumps back
    /// there): prepare a seek so the engine can apply it on the exact frame.
    Prepare { position: u64 },
    /// For the record: from engine frame `at` the timeline rolls from `position` (play
    /// started, or jumped).
    Rolled { position: u64, at: u64 },
    /// For the record: from engine frame `at` the transport is stopped at timeline `position`
    /// (it stopped, or the stopped playhead moved).
    Halted { position: u64, at: u64 },
}

/// The transport as it is at the first frame of a block.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Transport {
    pub playing: bool,
    /// Timeline frame (`None`: the host does not say).
    pub position: Option<u64>,
    /// Where a loop that is on jumps back to.
    pub loop_start: Option<u64>,
}

/// How a block is paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// Real time: never wait; what is late sounds late.
    RealTime,
    /// Faster than real time: wait for the desk and the loader, up to `stall` each time; with
    /// `give_up`, a clip whose data does not come in that time is given up (reported, silent).
    Offline { stall: Duration, give_up: bool },
}

/// The audio thread's side of following a transport.
pub struct Chase {
    to_desk: rtrb::Producer<TransportMsg>,
    /// Where the next block starts if the transport keeps playing.
    expected: Option<u64>,
    /// Where a prepared seek waits (the stopped playhead, or the loop start while looping).
    prepared_at: Option<u64>,
    /// The show generation last followed: a new show is followed from where the transport is.
    chased: u32,
    /// Where the stopped transport was last said to rest (for the record).
    rested: Option<u64>,
}

impl Chase {
    pub fn new(to_desk: rtrb::Producer<TransportMsg>) -> Chase {
        Chase { to_desk, expected: None, prepared_at: None, chased: 0, rested: None }
    }

    /// Whether the last block followed a playing transport.
    pub fn is_playing(&self) -> bool {
        self.expected.is_some()
    }

    /// Follows `transport` for a block of `frames` (before `Engine::process` renders it).
    pub fn follow(&mut self, engine: &mut Engine, transport: Transport, frames: u64, pacing: Pacing) {
        let generation = engine.program().generation;
        // A new show while the transport rolls on without a jump (a reload): followed from
        // where the timeline is, with what plays on in both shows going on (see below).
        let mut reloaded = false;
        if generation != self.chased {
            self.chased = generation;
            reloaded = transport.playing && transport.position.is_some() && self.expected == transport.position;
            self.expected = None;
            self.prepared_at = None;
        }
        match (transport.playing, transport.position) {
            (true, Some(position)) => {
                let clock = engine.clock();
                let jumped = self.expected != Some(position);
                // Whether a seek covers what is at `position` itself (then its scene entry there
                // must not be played again).
                let mut sought = jumped;
                self.rested = None;
                if jumped {
                    // A full queue loses only this mark of the record.
                    let _ = self.to_desk.push(TransportMsg::Rolled { position, at: clock });
                    if reloaded && pacing == Pacing::RealTime {
                        // Nothing stops: the new show's seek lands where the timeline has got
                        // to by then, and what plays there in both shows plays on through it
                        // (`Engine::load_program` carried it; the seek takes it back).
                        if self.to_desk.push(TransportMsg::Play { position, at: clock }).is_err() {
                            return;
                        }
                    } else if position == 0 && self.play_from_the_top(engine, pacing) {
                        sought = false;
                    } else if engine.locate(position) {
                        // Used up: the next loop pass needs a fresh one.
                        self.prepared_at = None;
                    } else if self.prepared(engine, position, pacing) {
                        // Offline: the desk prepared the seek while this waited; exact.
                        engine.locate(position);
                        self.prepared_at = None;
                    } else {
                        // What played before the jump stops now; the seek lands a little late.
                        engine.schedule_command(Command::now(Action::StopAll { fade_ms: 0.0 }));
                        // A full queue only delays the seek to the next block's retry.
                        if self.to_desk.push(TransportMsg::Play { position, at: clock }).is_err() {
                            return;
                        }
                    }
                }
                let first = if sought { position + 1 } else { position };
                let entries = engine.program().timeline.len();
                let end = engine.program().end;
                for i in 0..entries {
                    let (at, scene) = engine.program().timeline[i];
                    if at >= first && at < position + frames {
                        engine.schedule_command(Command::at(clock + at - position, Action::EnterScene { scene }));
                    }
                }
                if let Some(end) = end.filter(|&e| e >= first && e < position + frames) {
                    engine.schedule_command(Command::at(clock + end - position, Action::Panic));
                }
                self.expected = Some(position + frames);
                // While looping, keep the loop start prepared so every pass re-chases on time.
                if let Some(start) = transport.loop_start {
                    self.prepare(start);
                }
            }
            (false, _) | (true, None) => {
                self.stop(engine);
                let position = transport.position.unwrap_or(0);
                if self.rested != Some(position)
                    && self.to_desk.push(TransportMsg::Halted { position, at: engine.clock() }).is_ok()
                {
                    self.rested = Some(position);
                }
                self.prepare(position);
            }
        }
    }

    /// The transport is no longer followed (stopped, or chase switched off): everything fades.
    pub fn stop(&mut self, engine: &mut Engine) {
        if self.expected.take().is_some() {
            engine.schedule_command(Command::now(Action::StopAll { fade_ms: TRANSPORT_STOP_FADE_MS }));
        }
    }

    /// Offline: asks the desk to prepare a seek to `position` and waits (bounded) until the
    /// engine has it. Real time: false at once.
    fn prepared(&mut self, engine: &mut Engine, position: u64, pacing: Pacing) -> bool {
        let Pacing::Offline { stall, .. } = pacing else { return false };
        self.prepared_at = None;
        self.prepare(position);
        let ready = wait_until(engine, stall, |e| e.has_locate(position));
        self.prepared_at = None;
        ready
    }

    /// Play starts at timeline 0: the show from the top, as `segue render` plays it (frame for
    /// frame the same), when what starts at 0 is armed. Offline it waits for that (the desk arms
    /// the show's start when asked to prepare 0). Returns false where a prepared or late seek
    /// must do instead (real time, and the start's clips are not in memory).
    fn play_from_the_top(&mut self, engine: &mut Engine, pacing: Pacing) -> bool {
        if !start_is_armed(engine) {
            let Pacing::Offline { stall, .. } = pacing else { return false };
            self.prepare(0);
            wait_until(engine, stall, start_is_armed);
        }
        engine.schedule_command(Command::now(Action::Rewind));
        true
    }

    /// Asks the desk to prepare a seek to `position`, once.
    fn prepare(&mut self, position: u64) {
        if self.prepared_at == Some(position) {
            return;
        }
        if self.to_desk.push(TransportMsg::Prepare { position }).is_ok() {
            self.prepared_at = Some(position);
        }
    }
}

/// Whether what the show starts with at timeline 0 is armed (or lost: it will not come).
pub fn start_is_armed(engine: &Engine) -> bool {
    let program = engine.program();
    program.timeline.iter().take_while(|(at, _)| *at == 0).all(|&(_, s)| engine.can_enter(s))
}

/// Polls the engine until `done` says so, for at most `stall`; returns whether it did. It
/// sleeps: on the audio thread only offline (a faster-than-real-time front end waits for the
/// block), else before audio starts (a front end getting the show's start ready).
pub fn wait_until(engine: &mut Engine, stall: Duration, mut done: impl FnMut(&Engine) -> bool) -> bool {
    let start = Instant::now();
    loop {
        engine.poll();
        if done(engine) {
            return true;
        }
        if start.elapsed() > stall {
            return false;
        }
        std::thread::sleep(OFFLINE_POLL);
    }
}

/// Before rendering `frames` frames: offline, waits until everything due in them has its data,
/// as `segue render` does; real time, returns at once.
pub fn wait_for_data(engine: &mut Engine, frames: usize, pacing: Pacing) {
    let Pacing::Offline { stall, give_up } = pacing else { return };
    let mut start = Instant::now();
    loop {
        engine.poll();
        let Some(clip) = engine.waiting_for(frames, |_| false) else { return };
        if start.elapsed() > stall {
            // Without `give_up` (a front end only guessing it is offline) a clip is never given
            // up for good: the block just plays with what is there.
            if !give_up {
                return;
            }
            engine.give_up(clip);
            start = Instant::now();
            continue;
        }
        std::thread::sleep(OFFLINE_POLL);
    }
}
