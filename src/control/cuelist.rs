//! The show as an operator's cue list (control side: the plugin's desk thread, the live
//! player's control loop): its scenes with their cues, which cue plays since which engine frame,
//! which ended. Every front end that shows cues keeps one and feeds it the engine's events.

use crate::engine::command::Event;
use crate::show::ShowFile;

/// A cue as a front end shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CueRow {
    pub id: String,
    pub name: String,
    /// The cue number the show gives it ("12.5", "1M1").
    pub number: Option<String>,
    pub note: Option<u8>,
    /// Length in seconds (`None` for a loop).
    pub length: Option<f64>,
    /// Engine frame it started at, while it plays.
    pub started: Option<u64>,
    pub ended: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SceneRow {
    pub id: String,
    pub name: String,
    pub cues: Vec<CueRow>,
}

impl CueRow {
    /// Seconds played at engine frame `now` (rate `rate`), while it plays.
    pub fn played(&self, now: u64, rate: u32) -> Option<f64> {
        self.started.map(|at| now.saturating_sub(at) as f64 / rate.max(1) as f64)
    }

    /// Seconds left after `played` (`None` for a loop).
    pub fn left(&self, played: f64) -> Option<f64> {
        self.length.map(|l| (l - played).max(0.0))
    }
}

/// The cue list: scenes in show order, cues in GO order (the flat order of all cues is the
/// engine's cue index).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CueList {
    pub scenes: Vec<SceneRow>,
}

impl CueList {
    pub fn new(file: &ShowFile) -> CueList {
        let scenes = file
            .show
            .scenes
            .iter()
            .map(|scene| SceneRow {
                id: scene.id.clone(),
                name: scene.name.clone(),
                cues: scene
                    .cues
                    .iter()
                    .map(|cue| CueRow {
                        id: cue.id.clone(),
                        name: cue.name.clone(),
                        number: cue.number.clone(),
                        note: cue.note,
                        length: (!cue.looping).then(|| {
                            let total = file.audio.get(&cue.file).map_or(0.0, |i| i.duration_secs());
                            cue.end.map_or(total, |e| e.0.min(total)) - cue.start.map_or(0.0, |s| s.0)
                        }),
                        ..CueRow::default()
                    })
                    .collect(),
            })
            .collect();
        CueList { scenes }
    }

    /// The row of cue `cue` (engine cue index).
    pub fn cue(&self, cue: u32) -> Option<&CueRow> {
        self.scenes.iter().flat_map(|s| s.cues.iter()).nth(cue as usize)
    }

    fn cue_mut(&mut self, cue: u32) -> Option<&mut CueRow> {
        self.scenes.iter_mut().flat_map(|s| s.cues.iter_mut()).nth(cue as usize)
    }

    /// Follows what the engine reports.
    pub fn observe(&mut self, event: &Event) {
        match *event {
            Event::CueStarted { cue, at } => {
                if let Some(row) = self.cue_mut(cue) {
                    row.started = Some(at);
                    row.ended = false;
                }
            }
            Event::CueEnded { cue, .. } => {
                if let Some(row) = self.cue_mut(cue) {
                    row.started = None;
                    row.ended = true;
                }
            }
            _ => {}
        }
    }

    /// Every cue that played is ready again (the stopped playhead moved back over it).
    pub fn ready_again(&mut self) {
        for row in self.scenes.iter_mut().flat_map(|s| s.cues.iter_mut()) {
            row.ended = false;
        }
    }

    /// Every cue playing: (engine cue index, its row).
    pub fn playing(&self) -> impl Iterator<Item = (u32, &CueRow)> {
        self.scenes
            .iter()
            .flat_map(|s| s.cues.iter())
            .enumerate()
            .filter(|(_, c)| c.started.is_some())
            .map(|(i, c)| (i as u32, c))
    }
}
