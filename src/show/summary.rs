//! The short human summary of a loaded show that `segue check` prints (control side).

use std::collections::HashMap;
use std::fmt::Write;

use super::load::ShowFile;
use super::model::{Bed, Cue};

/// A few lines (no trailing newline) about the show: name, counts, duration and one line per
/// scene, e.g.
///
/// ```text
/// Episode 1  (ep1.json)
/// 2 scenes, 5 cues (3 timed, 1 on MIDI notes, 1 follow, 1 manual), 4 audio files
/// Duration: 12:00.000 (the show's end)
///   00:00.000  cold-open  Cold open  bed tension.wav (loop 32.0 s, 96 bpm)  3 cues
///   --:--.---  chase      Chase      no bed  2 cues, note 40
/// ```
pub fn summary(file: &ShowFile) -> String {
    let show = &file.show;
    let mut out = String::new();
    let title = if show.name.is_empty() { "(untitled show)" } else { show.name.as_str() };
    let _ = writeln!(out, "{title}  ({})", file.path.display());

    let cues: Vec<&Cue> = show.scenes.iter().flat_map(|s| &s.cues).collect();
    let timed = cues.iter().filter(|c| c.at.is_some()).count();
    let noted = cues.iter().filter(|c| c.note.is_some()).count();
    let follows = cues.iter().filter(|c| c.follow.is_some()).count();
    let manual = cues.iter().filter(|c| c.at.is_none() && c.note.is_none() && c.follow.is_none()).count();
    let _ = writeln!(
        out,
        "{}, {} ({timed} timed, {noted} on MIDI notes, {follows} follow, {manual} manual), {}",
        plural(show.scenes.len(), "scene"),
        plural(cues.len(), "cue"),
        plural(file.audio.len(), "audio file"),
    );

    let duration = match (show.end, timed_end(file)) {
        (Some(end), _) => format!("{} (the show's end)", mmss(end.0)),
        (None, Some(end)) => format!("about {} (when the last timed cue ends)", mmss(end)),
        (None, None) => "nothing on the timeline (everything is started by command)".to_string(),
    };
    let _ = writeln!(out, "Duration: {duration}");

    let id_width = show.scenes.iter().map(|s| s.id.chars().count()).max().unwrap_or(0);
    let name_width = show.scenes.iter().map(|s| s.name.chars().count()).max().unwrap_or(0);
    for scene in &show.scenes {
        let at = scene.at.map_or_else(|| "--:--.---".to_string(), |t| mmss(t.0));
        let bed = match &scene.bed {
            Some(bed) => bed_text(file, bed),
            None => "no bed".to_string(),
        };
        let mut line = format!("  {at}  {:id_width$}  ", scene.id);
        if name_width > 0 {
            let _ = write!(line, "{:name_width$}  ", scene.name);
        }
        let _ = write!(line, "{bed}  {}", plural(scene.cues.len(), "cue"));
        if let Some(note) = scene.note {
            let _ = write!(line, ", note {note}");
        }
        let _ = writeln!(out, "{line}");
    }
    if !file.audio.is_empty() {
        let _ = writeln!(out, "Audio files:");
        let width = file.audio.keys().map(|k| k.chars().count()).max().unwrap_or(0);
        for (name, info) in &file.audio {
            let _ = writeln!(
                out,
                "  {name:width$}  {} Hz, {}, {}",
                info.sample_rate,
                mmss(info.duration_secs()),
                info.format.describe()
            );
        }
    }
    let outside: Vec<&str> =
        file.audio.keys().map(String::as_str).filter(|name| super::files::leaves_folder(name)).collect();
    if !outside.is_empty() {
        let _ = writeln!(out, "Audio outside the show's folder (as the show writes it):");
        for name in outside {
            let _ = writeln!(out, "  {name}");
        }
    }
    out.truncate(out.trim_end().len());
    out
}

fn bed_text(file: &ShowFile, bed: &Bed) -> String {
    let length = file.audio.get(&bed.file).map(|i| i.duration_secs());
    let mut facts = Vec::new();
    if bed.looping {
        let from = bed.loop_start.map_or(0.0, |t| t.0);
        match bed.loop_end.map(|t| t.0).or(length) {
            Some(to) => facts.push(format!("loop {:.1} s", to - from)),
            None => facts.push("loop".to_string()),
        }
    } else if let Some(length) = length {
        facts.push(format!("once, {length:.1} s"));
    } else {
        facts.push("once".to_string());
    }
    if let Some(bpm) = bed.tempo_bpm {
        let bpm = if bpm.fract() == 0.0 { format!("{bpm:.0}") } else { format!("{bpm}") };
        facts.push(format!("{bpm} bpm"));
        if bed.beats_per_bar != 4 {
            facts.push(format!("{} beats/bar", bed.beats_per_bar));
        }
    }
    format!("bed {} ({})", bed.file, facts.join(", "))
}

/// When the last cue that runs on the timeline ends: scene `at` + cue `at` + the cue's length,
/// and follows of such cues after them (one pass of looping cues).
fn timed_end(file: &ShowFile) -> Option<f64> {
    let length = |cue: &Cue| -> f64 {
        let start = cue.start.map_or(0.0, |t| t.0);
        let end = cue.end.map(|t| t.0).or_else(|| file.audio.get(&cue.file).map(|i| i.duration_secs()));
        end.map_or(0.0, |e| (e - start).max(0.0))
    };
    let cues: Vec<&Cue> = file.show.scenes.iter().flat_map(|s| &s.cues).collect();
    let mut ends: HashMap<&str, f64> = HashMap::new();
    for scene in &file.show.scenes {
        let Some(scene_at) = scene.at else { continue };
        for cue in &scene.cues {
            if let Some(at) = cue.at {
                ends.insert(&cue.id, scene_at.0 + at.0 + length(cue));
            }
        }
    }
    // Follow chains: each pass settles at least one more link.
    for _ in 0..cues.len() {
        let mut changed = false;
        for cue in &cues {
            let Some(follow) = &cue.follow else { continue };
            if ends.contains_key(cue.id.as_str()) {
                continue;
            }
            if let Some(&after_end) = ends.get(follow.after.as_str()) {
                ends.insert(&cue.id, after_end + follow.wait_ms / 1000.0 + length(cue));
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    ends.values().copied().fold(None, |m: Option<f64>, e| Some(m.map_or(e, |m| m.max(e))))
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `MM:SS.mmm` (minutes may exceed 59).
pub fn mmss(secs: f64) -> String {
    let ms = (secs.max(0.0) * 1000.0).round() as u64;
    format!("{:02}:{:02}.{:03}", ms / 60_000, ms / 1000 % 60, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::probe::{AudioFormat, AudioInfo};
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    fn show_file(json: serde_json::Value) -> ShowFile {
        let mut audio = BTreeMap::new();
        audio.insert(
            "tension.wav".to_string(),
            AudioInfo { sample_rate: 48_000, channels: 2, frames: 48_000 * 40, format: AudioFormat::wav(2) },
        );
        audio.insert(
            "song.wav".to_string(),
            AudioInfo { sample_rate: 44_100, channels: 2, frames: 44_100 * 90, format: AudioFormat::wav(2) },
        );
        ShowFile {
            path: PathBuf::from("ep1.json"),
            dir: PathBuf::from("."),
            show: serde_json::from_value(json).unwrap(),
            audio,
            broken: Default::default(),
        }
    }

    fn example() -> serde_json::Value {
        serde_json::json!({
            "format": "segue-show/1", "name": "Episode 1",
            "scenes": [
                { "id": "cold-open", "name": "Cold open", "at": 0,
                  "bed": { "file": "tension.wav", "loop_start": 4, "loop_end": 36, "tempo_bpm": 96 },
                  "cues": [
                      { "id": "a", "file": "song.wav", "at": 10 },
                      { "id": "b", "file": "song.wav", "follow": { "after": "a", "wait_ms": 2000 }, "end": 30 },
                      { "id": "c", "file": "song.wav", "note": 60 }
                  ] },
                { "id": "chase", "note": 40, "cues": [ { "id": "d", "file": "song.wav" } ] }
            ]
        })
    }

    #[test]
    fn summary_lists_counts_and_one_line_per_scene() {
        let text = summary(&show_file(example()));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Episode 1  (ep1.json)");
        assert_eq!(lines[1], "2 scenes, 4 cues (1 timed, 1 on MIDI notes, 1 follow, 1 manual), 2 audio files");
        assert_eq!(lines[3], "  00:00.000  cold-open  Cold open  bed tension.wav (loop 32.0 s, 96 bpm)  3 cues");
        // Ids and names are padded to the longest of each.
        assert_eq!(lines[4], format!("  --:--.---  {:9}  {:9}  no bed  1 cue, note 40", "chase", ""));
    }

    #[test]
    fn duration_is_the_show_end_or_the_last_timed_cue_and_its_follows() {
        // a: 10 s + 90 s = 100 s; b follows 2 s later and plays 30 s: ends at 132 s.
        let text = summary(&show_file(example()));
        assert!(text.contains("Duration: about 02:12.000 (when the last timed cue ends)"), "{text}");
        let mut with_end = example();
        with_end["end"] = serde_json::json!("01:00:00.000");
        assert!(summary(&show_file(with_end)).contains("Duration: 60:00.000 (the show's end)"));
    }

    #[test]
    fn times_are_written_as_minutes_seconds_and_milliseconds() {
        assert_eq!(mmss(0.0), "00:00.000");
        assert_eq!(mmss(62.5), "01:02.500");
        assert_eq!(mmss(3725.0004), "62:05.000");
    }
}
