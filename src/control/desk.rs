//! The desk: what every live front end runs on its control side (the plugin on its desk thread,
//! `segue play` on its main thread's loop). It owns the `Controller`, answers the transport's
//! seek requests from the audio thread (`chase`), keeps the cue list in step with the engine's
//! events, reads the meters at a screen's pace, and loads shows so that a show that does not
//! load leaves the current one playing. A front end keeps only what is its own: where requests
//! come from (a host, a console, OSC, MIDI) and where words and meters go.

use std::time::{Duration, Instant};

use crate::control::chase::TransportMsg;
use crate::control::cuelist::CueList;
use crate::control::{Controller, Notice, Severity};
use crate::engine::command::Event;
use crate::engine::meters::MeterReading;
use crate::engine::CUE_METER_FRAMES;
use crate::show::ShowFile;

/// How often the meters are read: about one screen frame. Peaks build up in the engine's
/// meters until read, so each peak reaches the screen (read every pass, most would be
/// overwritten unseen).
pub const METER_PERIOD: Duration = Duration::from_millis(30);

pub struct Desk {
    pub controller: Controller,
    /// The show's scenes and cues with what each is doing, as the engine's events tell.
    pub cues: CueList,
    /// Each playing cue's peak at the last meter reading: (cue index, linear).
    pub cue_levels: Vec<(u32, f32)>,
    /// What the transport did since the front end last took them (`TransportMsg::Rolled` and
    /// `Halted`), for a performance log.
    pub moves: Vec<TransportMsg>,
    /// Underruns and late starts since the desk started.
    pub underruns: u64,
    /// The transport's last mark (rolled or halted).
    last_mark: Option<TransportMsg>,
    transport: rtrb::Consumer<TransportMsg>,
    meters: MeterReading,
    meters_read: Option<Instant>,
    cue_levels_read: Option<Instant>,
}

impl Desk {
    /// `transport`: what the audio thread's `Chase` asks of the desk.
    pub fn new(controller: Controller, transport: rtrb::Consumer<TransportMsg>) -> Desk {
        let cues = CueList::new(controller.show());
        Desk {
            controller,
            cues,
            cue_levels: Vec::with_capacity(64),
            moves: Vec::new(),
            underruns: 0,
            last_mark: None,
            transport,
            meters: MeterReading::default(),
            meters_read: None,
            cue_levels_read: None,
        }
    }

    /// One pass of the desk: the transport's seek requests are answered, then the engine's
    /// events and the loader's reports are taken (the cue list follows them) and returned in
    /// words, a seek that could not be made among them.
    pub fn poll(&mut self) -> Vec<Notice> {
        let mut notices = Vec::new();
        while let Ok(msg) = self.transport.pop() {
            if matches!(msg, TransportMsg::Rolled { .. } | TransportMsg::Halted { .. }) {
                // Notices name the show position from them on.
                self.controller.mark_transport(&msg);
                // The stopped playhead moved (Home, a locate): what the operator sees is the
                // timeline's there, every cue ready again.
                if let (TransportMsg::Halted { position, .. }, Some(TransportMsg::Halted { position: was, .. })) =
                    (msg, self.last_mark)
                {
                    if position != was {
                        if let Err(e) = self.controller.rest_at(position) {
                            notices.push(Notice {
                                severity: Severity::Warning,
                                at: None,
                                event: None,
                                text: e.to_string(),
                            });
                        }
                        self.cues.ready_again();
                    }
                }
                self.last_mark = Some(msg);
                // Kept for a front end that logs them (the plugin's desk lets them go).
                if self.moves.len() < 1024 {
                    self.moves.push(msg);
                }
                continue;
            }
            if let Err(e) = self.controller.follow(msg) {
                notices.push(Notice { severity: Severity::Warning, at: None, event: None, text: e.to_string() });
            }
        }
        let mut taken = self.controller.poll();
        for notice in &taken {
            match &notice.event {
                Some(Event::Underrun { .. } | Event::LateStart { .. }) => self.underruns += 1,
                Some(Event::ProgramLoaded { .. }) => self.cues = CueList::new(self.controller.show()),
                Some(event) => self.cues.observe(event),
                None => {}
            }
        }
        notices.append(&mut taken);
        notices
    }

    /// The meters, read from the engine at most once per `METER_PERIOD` (between reads, the
    /// last reading); `cue_levels` at most once per two of the engine's cue-meter blocks
    /// (`CUE_METER_FRAMES`): read more often, a window without such a block reads as silence,
    /// and a playing cue's level would flicker to nothing.
    pub fn meters(&mut self) -> MeterReading {
        if self.meters_read.is_none_or(|t| t.elapsed() >= METER_PERIOD) {
            self.meters = self.controller.meters();
            self.meters_read = Some(Instant::now());
        }
        let cue_period =
            Duration::from_secs_f64(2.0 * CUE_METER_FRAMES as f64 / self.controller.sample_rate().max(1) as f64);
        if self.cue_levels_read.is_none_or(|t| t.elapsed() >= cue_period) {
            self.controller.cue_levels(&mut self.cue_levels);
            self.cue_levels_read = Some(Instant::now());
        }
        self.meters
    }

    /// The meters as last read (`meters` reads them).
    pub fn last_meters(&self) -> MeterReading {
        self.meters
    }

    /// Replaces the show (the old one's voices fade out with the de-click); the cue list is the
    /// new show's at once. The operator's place stays: the standby cue, by id, if the new show
    /// still has it as a GO cue.
    pub fn load(&mut self, file: ShowFile) {
        let standby = self.controller.standby().map(|c| self.controller.cue_id(c).to_string());
        self.controller.load(file);
        self.cues = CueList::new(self.controller.show());
        if let Some(cue) = standby.and_then(|id| self.controller.cue_index(&id).ok()) {
            if self.controller.is_manual(cue) {
                let _ = self.controller.set_standby(cue);
            }
        }
    }

    /// Whether any cue is playing.
    pub fn anything_playing(&self) -> bool {
        self.cues.playing().next().is_some()
    }
}
