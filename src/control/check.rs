//! What a loaded show's own timeline never lets sound, in words with the JSON path (control
//! side: `segue check`, the player's problem list at load, the editor).
//!
//! The loader validates each field; this looks at the show as a whole, the way the engine will
//! play it (`Timeline::never_sounding`): a bed or cue placed after the show's `end`, a timed cue
//! placed after the next scene has begun (which cancels it), and every cue following one of
//! those. A scene `at` that reads like picture timecode written as seconds gets a hint.

use super::compile::compile;
use super::timeline::{Part, Timeline, Unsounded};
use super::times::{moment, position};
use crate::engine::program::NoteTarget;
use crate::show::{Show, ShowFile};

/// The rate the check counts in: any rate gives the same answer to the millisecond.
const RATE: u32 = 48_000;

/// One thing `segue check` says of a show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Where in the show file, as the loader names it (`scenes[2].cues[0].at`).
    pub path: String,
    pub text: String,
    /// An error: something in the show never sounds. Otherwise a warning (a hint).
    pub error: bool,
    /// For an error, the part that never sounds and why, in the words after "never sounds: "
    /// (the cue sheet says the same of it).
    pub unheard: Option<(Part, String)>,
}

/// Everything in `file` its timeline never lets sound, then the hints, in show order.
pub fn findings(file: &ShowFile) -> Vec<Finding> {
    let show = &file.show;
    let compiled = compile(file, RATE, 1);
    let program = &compiled.program;
    let timeline = Timeline::new(program, RATE);
    let note_cues: Vec<u32> = program
        .notes
        .iter()
        .filter_map(|t| match *t {
            NoteTarget::Cue(c) => Some(c),
            _ => None,
        })
        .collect();
    // Cue index → (scene index, index in the scene), as the show writes it.
    let places: Vec<(usize, usize)> =
        show.scenes.iter().enumerate().flat_map(|(s, scene)| (0..scene.cues.len()).map(move |c| (s, c))).collect();
    let cue = |i: u32| {
        let (s, c) = places[i as usize];
        (s, c, &show.scenes[s].cues[c])
    };
    let when = |frames: u64| moment(show, frames, RATE);
    let mut out = Vec::new();
    for unheard in timeline.never_sounding(&note_cues) {
        let why = match unheard.why {
            Unsounded::AfterEnd { end } => format!("after the show's end at {}", when(end)),
            Unsounded::Cancelled { by, at } => format!(
                "after scene \"{}\" begins at {}, which cancels what its scene still had to start",
                show.scenes[by as usize].id,
                when(at)
            ),
            Unsounded::Follows { cue: leader } => {
                format!("it follows cue \"{}\", which never sounds", cue(leader).2.id)
            }
        };
        let (path, what, why) = match unheard.part {
            Part::Bed(s) => (
                format!("scenes[{s}].at"),
                format!("the bed of scene \"{}\"", show.scenes[s as usize].id),
                format!("the scene begins at {}, {why}", when(unheard.would_start)),
            ),
            Part::Cue(i) => {
                let (s, c, written) = cue(i);
                let field = if written.follow.is_some() { "follow" } else { "at" };
                (
                    format!("scenes[{s}].cues[{c}].{field}"),
                    format!("cue \"{}\"", written.id),
                    format!("it would start at {}, {why}", when(unheard.would_start)),
                )
            }
        };
        let text = format!("{what} never sounds: {why}");
        out.push(Finding { path, text, error: true, unheard: Some((unheard.part, why)) });
    }
    out.extend(timecode_hints(show));
    out
}

/// A scene `at` that is picture timecode written as seconds: at or past the production's
/// `start_timecode` (an hour or more in) and within the show's length of it, or past `end`.
fn timecode_hints(show: &Show) -> Vec<Finding> {
    let Some(production) = &show.production else { return Vec::new() };
    let start = production.start();
    let (num, den) = production.frame_rate.ratio();
    let start_secs = start.frames as f64 * den as f64 / num as f64;
    // Shorter start timecodes (00:00:00:00, the default) cannot be told from show times.
    if start_secs < 60.0 {
        return Vec::new();
    }
    let length = show.end.map_or(4.0 * 3600.0, |e| e.0);
    let mut out = Vec::new();
    for (s, scene) in show.scenes.iter().enumerate() {
        let Some(at) = scene.at else { continue };
        let into = at.0 - start_secs;
        if (0.0..=length).contains(&into) {
            let tc = start.plus((into * num as f64 / den as f64).round() as u64);
            out.push(Finding {
                path: format!("scenes[{s}].at"),
                text: format!(
                    "scene \"{}\" begins {} into the show: that reads like picture timecode {tc} written as \
                     seconds. Show times count from the show's 0, which is {start} on picture: {tc} is show time \
                     {} (write \"{}\")",
                    scene.id,
                    position(at.0),
                    position(into),
                    position(into)
                ),
                error: false,
                unheard: None,
            });
        }
    }
    out
}
