//! Turns a validated show into the engine's `Program` and the loader's clip list (control side).
//!
//! Clip numbering: cue `i` (in show order, scene by scene) is clip `i`; then the beds, in scene
//! order: the bed of the `k`-th scene that has one is clip `cues + k` (scenes without a bed have
//! no clip).

use std::collections::HashMap;

use crate::engine::fade::db_to_gain;
use crate::engine::program::{Bus, Clip, CueInfo, DuckSpec, NoteTarget, Program, SceneInfo};
use crate::show::{Bed, Cue, ShowFile};
use crate::stream::source::ClipSpec;

/// A show ready for the engine and the loader.
pub struct Compiled {
    pub program: Program,
    pub clips: Vec<Option<ClipSpec>>,
    /// Cue ids by cue index, with the scene each belongs to.
    pub cue_ids: Vec<String>,
    pub scene_ids: Vec<String>,
}

/// Milliseconds to frames at `rate`.
pub fn ms_frames(ms: f64, rate: u32) -> u32 {
    (ms.max(0.0) * rate as f64 / 1000.0).round() as u32
}

/// Stereo balance (far channel down on a constant-power curve) or mono placement
/// (constant-power, unity at the centre).
pub fn pan_gains(pan: f64, channels: u16) -> [f32; 2] {
    let p = pan.clamp(-1.0, 1.0);
    if channels >= 2 {
        let far = (p.abs() * std::f64::consts::FRAC_PI_2).cos();
        if p >= 0.0 {
            [far as f32, 1.0]
        } else {
            [1.0, far as f32]
        }
    } else {
        let theta = (p + 1.0) * std::f64::consts::FRAC_PI_4;
        let s = std::f64::consts::SQRT_2;
        [(s * theta.cos()) as f32, (s * theta.sin()) as f32]
    }
}

pub fn compile(file: &ShowFile, rate: u32, generation: u32) -> Compiled {
    let show = &file.show;
    let cues: Vec<(u32, &Cue)> =
        show.scenes.iter().enumerate().flat_map(|(s, scene)| scene.cues.iter().map(move |c| (s as u32, c))).collect();
    let index: HashMap<&str, u32> = cues.iter().enumerate().map(|(i, (_, c))| (c.id.as_str(), i as u32)).collect();
    let n_cues = cues.len() as u32;
    let mut clips = Vec::new();
    let mut specs = Vec::new();
    let mut infos = Vec::new();
    let mut manual = Vec::new();
    let mut notes = [NoteTarget::Nothing; 128];
    let duck = &show.duck;

    for (i, (scene, cue)) in cues.iter().enumerate() {
        let spec = cue_spec(file, cue);
        let channels = spec.as_ref().map_or(2, |s| s.channels);
        let depth = cue.duck_db.unwrap_or(duck.depth_db);
        clips.push(Clip {
            bus: Bus::Cues,
            owner: i as u32,
            gain: db_to_gain(cue.gain_db as f32),
            pan: pan_gains(cue.pan, channels),
            fade_in_frames: ms_frames(cue.fade_in_ms, rate),
            fade_out_frames: ms_frames(cue.fade_out_ms, rate),
            length: spec.as_ref().and_then(|s| s.length(rate)),
            duck: (depth < 0.0).then(|| DuckSpec {
                depth_db: depth as f32,
                attack_frames: ms_frames(cue.duck_attack_ms.unwrap_or(duck.attack_ms), rate),
                release_frames: ms_frames(cue.duck_release_ms.unwrap_or(duck.release_ms), rate),
            }),
            tempo: None,
            armed: None,
            lost: false,
        });
        specs.push(spec);
        let restart = cue.retrigger == crate::show::Retrigger::Restart;
        infos.push(CueInfo { clip: i as u32, scene: *scene, followers: Vec::new(), restart });
        if let Some(n) = cue.note {
            notes[n as usize & 127] = NoteTarget::Cue(i as u32);
        }
        if cue.at.is_none() && cue.note.is_none() && cue.follow.is_none() {
            manual.push(i as u32);
        }
    }
    for (i, (_, cue)) in cues.iter().enumerate() {
        if let Some(follow) = &cue.follow {
            if let Some(&after) = index.get(follow.after.as_str()) {
                let wait = (follow.wait_ms.max(0.0) * rate as f64 / 1000.0).round() as u64;
                infos[after as usize].followers.push((i as u32, wait));
            }
        }
    }

    let mut scenes = Vec::new();
    for (s, scene) in show.scenes.iter().enumerate() {
        let bed = scene.bed.as_ref().map(|bed| {
            let spec = bed_spec(file, bed);
            let channels = spec.as_ref().map_or(2, |s| s.channels);
            clips.push(Clip {
                bus: Bus::Bed,
                owner: s as u32,
                gain: db_to_gain(bed.gain_db as f32),
                pan: pan_gains(0.0, channels),
                fade_in_frames: 0,
                fade_out_frames: 0,
                length: spec.as_ref().and_then(|s| s.length(rate)),
                duck: None,
                tempo: bed.tempo_bpm.map(|bpm| (60.0 * rate as f64 / bpm, bed.beats_per_bar.max(1))),
                armed: None,
                lost: false,
            });
            specs.push(spec);
            clips.len() as u32 - 1
        });
        let timed = scene.cues.iter().filter_map(|c| c.at.map(|at| (index[c.id.as_str()], at.frames(rate)))).collect();
        let first_manual = manual
            .iter()
            .position(|&c| infos[c as usize].scene >= s as u32)
            .filter(|&p| infos[manual[p] as usize].scene == s as u32)
            .map(|p| p as u32);
        if let Some(n) = scene.note {
            notes[n as usize & 127] = NoteTarget::Scene(s as u32);
        }
        scenes.push(SceneInfo {
            bed,
            fade_frames: ms_frames(scene.transition.fade_ms, rate),
            curve: scene.transition.curve,
            quantize: scene.transition.quantize,
            timed,
            first_manual,
        });
    }
    debug_assert_eq!(clips.len(), specs.len());
    let _ = n_cues;

    Compiled {
        program: Program {
            generation,
            clips,
            cues: infos,
            scenes,
            manual,
            notes,
            panic_frames: ms_frames(show.panic_ms, rate),
            trim: db_to_gain(show.master_db as f32),
            // Filled in by the controller, which knows the show loaded before.
            carry: Vec::new(),
            timeline: {
                let mut entries: Vec<(u64, u32)> = show
                    .scenes
                    .iter()
                    .enumerate()
                    .filter_map(|(s, scene)| scene.at.map(|at| (at.frames(rate), s as u32)))
                    .collect();
                entries.sort_by_key(|e| e.0);
                entries
            },
            end: show.end.map(|e| e.frames(rate)),
        },
        clips: specs,
        cue_ids: cues.iter().map(|(_, c)| c.id.clone()).collect(),
        scene_ids: show.scenes.iter().map(|s| s.id.clone()).collect(),
    }
}

fn cue_spec(file: &ShowFile, cue: &Cue) -> Option<ClipSpec> {
    let info = file.audio.get(&cue.file)?;
    let rate = info.sample_rate;
    let start = cue.start.map_or(0, |t| t.frames(rate)).min(info.frames);
    let end = cue.end.map_or(info.frames, |t| t.frames(rate)).min(info.frames);
    Some(ClipSpec {
        path: file.audio_path(&cue.file),
        file_rate: rate,
        channels: info.channels,
        start,
        end,
        looping: cue.looping,
        loop_start: start,
        loop_end: end,
    })
}

fn bed_spec(file: &ShowFile, bed: &Bed) -> Option<ClipSpec> {
    let info = file.audio.get(&bed.file)?;
    let rate = info.sample_rate;
    let loop_start = bed.loop_start.map_or(0, |t| t.frames(rate)).min(info.frames);
    let loop_end = bed.loop_end.map_or(info.frames, |t| t.frames(rate)).min(info.frames);
    Some(ClipSpec {
        path: file.audio_path(&bed.file),
        file_rate: rate,
        channels: info.channels,
        start: 0,
        end: if bed.looping { loop_end } else { info.frames },
        looping: bed.looping && loop_end > loop_start,
        loop_start,
        loop_end,
    })
}
