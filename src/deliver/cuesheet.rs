//! The music cue sheet (control side, after a render): one line per use of music, from what the
//! engine heard (`Event::Heard` of a traced render), with the credits the show gives each piece.
//! Written as CSV (the RapidCue layout), JSON, or a printable HTML page.
//!
//! The rules (also in `docs/cue-sheets.md`):
//! - A clip is heard while what it adds to its bus is above -60 dBFS (`engine::HEARD`): from
//!   its first audible sample (after a fade in, after silence at the file's start) to its last
//!   (its fade out, or the crossfade that took it out).
//! - Stretches of the same piece (same file and title) that overlap or are less than
//!   [`JOIN_SECS`] apart are one use (a bed carried through scenes by crossfades into the same
//!   music, a retriggered song), unless the later bed or cue says `"new_use": true`.
//! - In: the picture frame the first audible sample falls in; out: the first picture frame after
//!   the last, so [in, out) covers every frame it is heard in. Counted from the production's
//!   `start_timecode` at its `frame_rate` (29.97 drop-frame labelled as such).
//! - Duration: the heard time rounded up to whole seconds (no use is under-reported; a use
//!   under a second is 0:01), written m:ss.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::show::credits::{Credits, Production, Publisher, Writer};
use crate::show::ShowFile;

/// Where a clip was heard: `(clip, from, to)`, from its first audible frame to the frame after
/// its last, in timeline frames.
pub type Stretch = (u32, u64, u64);

/// Stretches of one piece closer than this are one use.
pub const JOIN_SECS: f64 = 1.0;

/// A cue sheet: the production and its uses of music, in order of first sound.
#[derive(Debug, Clone, Serialize)]
pub struct CueSheet {
    pub production: Production,
    pub show: String,
    pub sample_rate: u32,
    pub uses: Vec<Use>,
    /// Total music time per usage code, in seconds (sum of the rounded durations).
    pub totals: Vec<(String, u64)>,
    /// How many beds and cues the show has (each a possible use).
    pub parts: usize,
    /// Those of them not heard in the run the sheet comes from, each with why: a sheet never
    /// leaves out a piece without saying so.
    pub unheard: Vec<NotHeard>,
}

/// A bed or cue of the show that did not sound in the run a sheet comes from.
#[derive(Debug, Clone, Serialize)]
pub struct NotHeard {
    /// The cue's id, or `SCENE/bed`.
    pub cue: String,
    pub title: String,
    pub why: String,
}

/// One use of a piece of music.
#[derive(Debug, Clone, Serialize)]
pub struct Use {
    pub sequence: usize,
    /// The cue's id, or `SCENE/bed` for a scene's bed.
    pub cue: String,
    /// The cue's number as the show gives it ("1M1", "2M14A", "12.5").
    pub number: Option<String>,
    pub title: String,
    pub artist: Option<String>,
    pub usage: String,
    pub writers: Vec<Writer>,
    pub publishers: Vec<Publisher>,
    pub isrc: Option<String>,
    pub iswc: Option<String>,
    pub library: Option<String>,
    pub timecode_in: String,
    pub timecode_out: String,
    /// Whole seconds, rounded up.
    pub duration_secs: u64,
    /// m:ss of `duration_secs`.
    pub duration: String,
    /// Heard from this audio frame (timeline frames at `sample_rate`) ...
    pub from_frame: u64,
    /// ... to the frame before this one.
    pub to_frame: u64,
}

/// What a clip number of the compiled show is (see `control::compile`: cues first, in show
/// order, then the beds of the scenes that have one, in scene order).
pub(crate) struct Piece<'a> {
    pub(crate) cue: String,
    number: Option<&'a str>,
    file: &'a str,
    title: String,
    credits: &'a Credits,
    default_usage: &'static str,
}

/// Each clip of the compiled show as a piece of music, by clip number.
pub(crate) fn pieces(file: &ShowFile) -> Vec<Piece<'_>> {
    let show = &file.show;
    let mut out = Vec::new();
    for scene in &show.scenes {
        for cue in &scene.cues {
            let title = cue.credits.title.clone().or((!cue.name.is_empty()).then(|| cue.name.clone()));
            out.push(Piece {
                cue: cue.id.clone(),
                number: cue.number.as_deref(),
                file: &cue.file,
                title: title.unwrap_or_else(|| cue.id.clone()),
                credits: &cue.credits,
                default_usage: "",
            });
        }
    }
    for scene in &show.scenes {
        // Only a scene with a bed has a clip for it.
        let Some(bed) = &scene.bed else { continue };
        let stem = std::path::Path::new(&bed.file).file_stem().map(|s| s.to_string_lossy().into_owned());
        out.push(Piece {
            cue: format!("{}/bed", scene.id),
            number: None,
            file: &bed.file,
            title: bed.credits.title.clone().or(stem).unwrap_or_else(|| bed.file.clone()),
            credits: &bed.credits,
            default_usage: "BI",
        });
    }
    out
}

/// Builds the sheet from where each clip was heard: `(clip, from, to)` in timeline frames at
/// `sample_rate`, in any order.
pub fn build(file: &ShowFile, sample_rate: u32, heard: &[Stretch]) -> CueSheet {
    let pieces = pieces(file);
    let production = file.show.production.clone().unwrap_or_default();
    let start = production.start();
    let rate = production.frame_rate;
    let join = (JOIN_SECS * sample_rate as f64) as u64;
    let mut stretches: Vec<Stretch> = heard.iter().copied().filter(|&(_, from, to)| to > from).collect();
    stretches.sort_by_key(|&(clip, from, _)| (from, clip));
    // (piece, from, to) per use, in order of first sound.
    let mut spans: Vec<(usize, u64, u64)> = Vec::new();
    for (clip, from, to) in stretches {
        let Some(piece) = pieces.get(clip as usize) else { continue };
        let same = |p: usize| {
            let other = &pieces[p];
            other.file == piece.file && other.title == piece.title
        };
        let open = spans.iter_mut().rev().find(|(p, _, end)| same(*p) && from <= end.saturating_add(join));
        match open {
            Some((_, _, end)) if !piece.credits.new_use => *end = (*end).max(to),
            _ => spans.push((clip as usize, from, to)),
        }
    }
    let uses: Vec<Use> = spans
        .iter()
        .enumerate()
        .map(|(i, &(p, from, to))| {
            let piece = &pieces[p];
            let c = piece.credits;
            let picture_in = rate.picture_frame(from, sample_rate);
            // The first picture frame after the last audible sample (`to - 1`).
            let picture_out = rate.picture_frame(to - 1, sample_rate) + 1;
            let secs = (to - from).div_ceil(sample_rate as u64);
            Use {
                sequence: i + 1,
                cue: piece.cue.clone(),
                number: piece.number.map(str::to_string),
                title: piece.title.clone(),
                artist: c.artist.clone(),
                usage: c.usage.clone().unwrap_or_else(|| piece.default_usage.to_string()),
                writers: c.writers.clone(),
                publishers: c.publishers.clone(),
                isrc: c.isrc.clone(),
                iswc: c.iswc.clone(),
                library: c.library.clone(),
                timecode_in: start.plus(picture_in).to_string(),
                timecode_out: start.plus(picture_out).to_string(),
                duration_secs: secs,
                duration: format!("{}:{:02}", secs / 60, secs % 60),
                from_frame: from,
                to_frame: to,
            }
        })
        .collect();
    let mut totals: Vec<(String, u64)> = Vec::new();
    for u in &uses {
        match totals.iter_mut().find(|(usage, _)| *usage == u.usage) {
            Some((_, t)) => *t += u.duration_secs,
            None => totals.push((u.usage.clone(), u.duration_secs)),
        }
    }
    let show = if file.show.name.is_empty() { file.path.display().to_string() } else { file.show.name.clone() };
    let heard_clips: std::collections::BTreeSet<u32> =
        heard.iter().filter(|&&(_, from, to)| to > from).map(|&(clip, ..)| clip).collect();
    let unheard = not_heard(file, &pieces, &heard_clips);
    CueSheet { production, show, sample_rate, uses, totals, parts: pieces.len(), unheard }
}

/// Each bed and cue not in `heard`, with why, the likeliest reason first: its file cannot be
/// read, the show's timeline never lets it sound (`control::check`), nothing in the run started
/// it (GO, a MIDI note, a scene entered by command), it follows one of those, or it was too
/// quiet to count.
fn not_heard(file: &ShowFile, pieces: &[Piece<'_>], heard: &std::collections::BTreeSet<u32>) -> Vec<NotHeard> {
    use crate::control::timeline::Part;
    use crate::show::Cue;
    let show = &file.show;
    let findings = crate::control::check::findings(file);
    // Clip → where the show writes it: (scene index, its cue; none for a bed).
    let mut owners: Vec<(usize, Option<&Cue>)> = Vec::new();
    for (s, scene) in show.scenes.iter().enumerate() {
        owners.extend(scene.cues.iter().map(|cue| (s, Some(cue))));
    }
    owners.extend(show.scenes.iter().enumerate().filter(|(_, scene)| scene.bed.is_some()).map(|(s, _)| (s, None)));
    let cue_by_id = |id: &str| show.scenes.iter().flat_map(|s| &s.cues).position(|c| c.id == id);
    let mut out = Vec::new();
    for (clip, piece) in pieces.iter().enumerate() {
        if heard.contains(&(clip as u32)) {
            continue;
        }
        let (s, cue) = owners[clip];
        let scene = &show.scenes[s];
        // Clips are numbered cues first (clip i is cue i), then beds (`control::compile`).
        let part = match cue {
            Some(_) => Part::Cue(clip as u32),
            None => Part::Bed(s as u32),
        };
        let found = findings.iter().find_map(|f| f.unheard.as_ref().filter(|(p, _)| *p == part));
        let why = if let Some(why) = file.broken.get(piece.file) {
            format!("its file cannot be read: {why}")
        } else if let Some((_, why)) = found {
            why.clone()
        } else if scene.at.is_none() && cue.is_none_or(|c| c.at.is_some()) {
            format!("scene \"{}\" has no `at`: it is entered by command only, and this run did not enter it", scene.id)
        } else {
            match cue {
                Some(c) if c.note.is_some() => {
                    format!("it is started by MIDI note {} only, and this run did not play it", c.note.unwrap_or(0))
                }
                Some(c) if c.follow.is_some() => {
                    let after = c.follow.as_ref().map_or("", |f| f.after.as_str());
                    let leader = cue_by_id(after);
                    let looped =
                        leader.and_then(|l| show.scenes.iter().flat_map(|s| &s.cues).nth(l)).is_some_and(|l| l.looping);
                    if leader.is_some_and(|l| !heard.contains(&(l as u32))) {
                        format!("it follows cue \"{after}\", which did not sound")
                    } else if looped {
                        format!("it follows cue \"{after}\", a loop that ends only when stopped")
                    } else {
                        "it was never above -60 dBFS (a silent or very quiet file, or its gain far down)".to_string()
                    }
                }
                Some(c) if c.at.is_none() => "a manual cue: GO starts it, and no GO did in this run".to_string(),
                _ => "it was never above -60 dBFS (a silent or very quiet file, or its gain far down)".to_string(),
            }
        };
        out.push(NotHeard { cue: piece.cue.clone(), title: piece.title.clone(), why });
    }
    out
}

/// Where each clip was heard in a run of `segue play`, from its performance log: the last run
/// of this show in the log (`session` lines start runs), its `heard` lines placed on the show's
/// timeline by the run's `rolled` / `halted` transport marks: `(clip, from, to)` in timeline
/// frames at the run's rate, for [`build`]. A stretch heard while the transport was stopped (a
/// GO with the timeline at rest) sits at the stopped position.
pub fn heard_from_log(file: &ShowFile, log: &str, log_name: &str) -> Result<LogRun, String> {
    let ids: Vec<String> = pieces(file).into_iter().map(|p| p.cue).collect();
    let show = std::fs::canonicalize(&file.path).unwrap_or_else(|_| file.path.clone()).display().to_string();
    // (rate, lines) per run of this show.
    let mut runs: Vec<(u32, Vec<Value>)> = Vec::new();
    let mut skipped = Vec::new();
    let mut ours = false;
    for (n, text) in log.lines().enumerate() {
        if text.trim().is_empty() {
            continue;
        }
        // A line cut short (a crash, a full disk) is passed over and counted.
        let Ok(line) = serde_json::from_str::<Value>(text) else {
            skipped.push(n + 1);
            continue;
        };
        if line["what"] == "session" {
            ours = line["show"] == show.as_str();
            if ours {
                let rate = line["rate"].as_u64().filter(|r| (1..=u32::MAX as u64).contains(r));
                let rate = rate.ok_or_else(|| format!("{log_name}: line {}: a session without its rate", n + 1))?;
                runs.push((rate as u32, Vec::new()));
            }
        } else if ours {
            if let Some((_, lines)) = runs.last_mut() {
                lines.push(line);
            }
        }
    }
    let Some((rate, lines)) = runs.into_iter().rev().find(|(_, l)| l.iter().any(|l| l["what"] == "heard")) else {
        return Err(format!("{log_name}: no run of {show} in it heard anything (is it the log of this show?)"));
    };
    // The transport's marks in engine frames: from `frame` on, the timeline rolls from
    // `position` (`true`) or rests at `position` (`false`). Heard lines come when a voice ends,
    // often after a later mark, so each is placed by the mark in force at its first frame.
    let mut marks: Vec<(u64, u64, bool)> = vec![(0, 0, false)];
    for line in &lines {
        let Some(at) = line["frame"].as_u64() else { continue };
        match line["what"].as_str() {
            Some("rolled") => {
                if let Some(position) = line["position"].as_u64() {
                    marks.push((at, position, true));
                }
            }
            Some("halted") => {
                // Where it rests (the log says; older logs did not: where it rolled to).
                let &(from, position, rolling) = marks.last().expect("starts with one");
                let rolled_to = if rolling { position + at.saturating_sub(from) } else { position };
                marks.push((at, line["position"].as_u64().unwrap_or(rolled_to), false));
            }
            _ => {}
        }
    }
    let timeline = |frame: u64| {
        let i = marks.partition_point(|&(at, ..)| at <= frame).saturating_sub(1);
        let (at, position, rolling) = marks[i];
        if rolling {
            position + (frame - at.min(frame))
        } else {
            position
        }
    };
    let mut heard = Vec::new();
    for line in lines.iter().filter(|l| l["what"] == "heard") {
        let (Some(from), Some(to)) = (line["from_frame"].as_u64(), line["to_frame"].as_u64()) else { continue };
        let id = line["use"].as_str().unwrap_or_default();
        // A use the show no longer has (it was edited since): left out.
        let Some(clip) = ids.iter().position(|i| i == id) else { continue };
        let start = timeline(from);
        heard.push((clip as u32, start, start + to.saturating_sub(from)));
    }
    Ok(LogRun { rate, heard, skipped })
}

/// What a performance log says of its last run of a show.
pub struct LogRun {
    /// The run's engine rate: the stretches' frames are at it.
    pub rate: u32,
    pub heard: Vec<Stretch>,
    /// Lines that are not JSON (cut short by a crash or a full disk), by number: passed over.
    pub skipped: Vec<usize>,
}

/// The CSV columns of a use's rows (see `docs/cue-sheets.md`).
pub const CSV_COLUMNS: &[&str] = &[
    "Sequence", "Cue ID", "Cue No.", "Title", "Usage", "TC In", "TC Out", "Duration", "Role", "Name", "Society",
    "Share %", "Artist", "ISRC", "ISWC", "Library",
];

fn csv_field(out: &mut String, text: &str) {
    if text.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

fn csv_row(out: &mut String, fields: &[&str]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, f);
    }
    out.push_str("\r\n");
}

fn share(s: Option<f64>) -> String {
    s.map(|s| format!("{s:.2}")).unwrap_or_default()
}

impl CueSheet {
    /// The production header as (label, value) lines.
    pub fn header(&self) -> Vec<(&'static str, String)> {
        let p = &self.production;
        let total: u64 = self.uses.iter().map(|u| u.duration_secs).sum();
        vec![
            ("Series/Film Title", p.title.clone().unwrap_or_else(|| self.show.clone())),
            ("Episode Title", p.episode_title.clone().unwrap_or_default()),
            ("Episode Number", p.episode_number.clone().unwrap_or_default()),
            ("Air Date", p.air_date.clone().unwrap_or_default()),
            ("Production Company", p.company.clone().unwrap_or_default()),
            ("Frame Rate", p.frame_rate.name().to_string()),
            ("Start Timecode", p.start().to_string()),
            ("Total Music Duration", format!("{}:{:02}", total / 60, total % 60)),
            ("Beds and Cues Heard", format!("{} of {}", self.parts - self.unheard.len(), self.parts)),
        ]
    }

    /// CSV: the header as label,value lines, a blank line, the column names, then per use one
    /// row for each writer and publisher (a use without any has one row). Every row repeats the
    /// use's sequence, id, title, usage, timecodes and duration, so each row stands alone.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        for (label, value) in self.header() {
            csv_row(&mut out, &[label, &value]);
        }
        out.push_str("\r\n");
        csv_row(&mut out, CSV_COLUMNS);
        for u in &self.uses {
            let seq = u.sequence.to_string();
            let mut parties: Vec<[String; 4]> = u
                .writers
                .iter()
                .map(|w| {
                    [
                        w.role.clone().unwrap_or_default(),
                        w.name.clone(),
                        w.society.clone().unwrap_or_default(),
                        share(w.share),
                    ]
                })
                .collect();
            // "E": the original publisher, as the societies' role codes have it.
            parties.extend(
                u.publishers
                    .iter()
                    .map(|p| ["E".to_string(), p.name.clone(), p.society.clone().unwrap_or_default(), share(p.share)]),
            );
            if parties.is_empty() {
                parties.push(Default::default());
            }
            for [role, name, society, share] in &parties {
                let opt = |o: &Option<String>| o.clone().unwrap_or_default();
                csv_row(
                    &mut out,
                    &[
                        &seq,
                        &u.cue,
                        u.number.as_deref().unwrap_or_default(),
                        &u.title,
                        &u.usage,
                        &u.timecode_in,
                        &u.timecode_out,
                        &u.duration,
                        role,
                        name,
                        society,
                        share,
                        &opt(&u.artist),
                        &opt(&u.isrc),
                        &opt(&u.iswc),
                        &opt(&u.library),
                    ],
                );
            }
        }
        out
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a cue sheet is plain data")
    }

    /// A printable page: the production header, one table row per use (its writers and
    /// publishers listed in it), the music time by usage, and `picture` (an SVG of the mix,
    /// `deliver::picture`) below, when given.
    pub fn to_html(&self, picture: Option<&str>) -> String {
        let e = html_escape;
        let mut h = String::new();
        let title = self.header()[0].1.clone();
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Music cue sheet: {}</title>\n<style>\n\
             body {{ font: 11pt/1.35 system-ui, sans-serif; margin: 2em; color: #111; }}\n\
             h1 {{ font-size: 16pt; margin: 0 0 .4em; }}\n\
             table {{ border-collapse: collapse; width: 100%; }}\n\
             th, td {{ border: 1px solid #999; padding: 3px 6px; vertical-align: top; text-align: left; }}\n\
             th {{ background: #eee; }} td.n {{ text-align: right; white-space: nowrap; }}\n\
             table.head td {{ border: none; padding: 1px 12px 1px 0; }}\n\
             div.picture svg {{ max-width: 100%; height: auto; }}\n\
             td {{ overflow-wrap: anywhere; }} td.codes {{ font-size: 90%; }}\n\
             @page {{ margin: 12mm; }}\n\
             @media print {{ body {{ margin: 0; font-size: 8pt; }} h1 {{ font-size: 13pt; }} h2 {{ font-size: 11pt; }}\n\
               th, td {{ padding: 2px 3px; }} tr {{ page-break-inside: avoid; }} div.picture {{ page-break-inside: avoid; }} }}\n\
             </style></head><body>\n<h1>Music cue sheet</h1>\n<table class=\"head\">\n",
            e(&title)
        );
        for (label, value) in self.header() {
            let _ = writeln!(h, "<tr><td><b>{}</b></td><td>{}</td></tr>", e(label), e(&value));
        }
        h.push_str("</table>\n<h2>Music</h2>\n<table class=\"uses\">\n<tr><th>#</th><th>Title</th><th>Cue</th>\
                    <th>Writers</th><th>Publishers</th><th>Codes</th><th>Usage</th><th>TC in</th><th>TC out</th><th>Duration</th></tr>\n");
        for u in &self.uses {
            let party = |name: &str, role: Option<&str>, society: Option<&str>, share: Option<f64>| {
                let mut s = e(name);
                let role = role.map(|r| format!(" ({})", e(r))).unwrap_or_default();
                s.push_str(&role);
                if let Some(society) = society {
                    let _ = write!(s, ", {}", e(society));
                }
                if let Some(share) = share {
                    let _ = write!(s, " {share:.2}%");
                }
                s
            };
            let writers: Vec<String> =
                u.writers.iter().map(|w| party(&w.name, w.role.as_deref(), w.society.as_deref(), w.share)).collect();
            let publishers: Vec<String> =
                u.publishers.iter().map(|p| party(&p.name, None, p.society.as_deref(), p.share)).collect();
            let mut title = e(&u.title);
            if let Some(artist) = &u.artist {
                let _ = write!(title, "<br><small>{}</small>", e(artist));
            }
            // The codes the CSV carries in columns of their own, labelled.
            let codes: Vec<String> = [("ISRC", &u.isrc), ("ISWC", &u.iswc), ("Library", &u.library)]
                .into_iter()
                .filter_map(|(label, v)| v.as_ref().map(|v| format!("{label} {}", e(v))))
                .collect();
            let _ = writeln!(
                h,
                "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"codes\">{}</td><td>{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                u.sequence,
                title,
                match &u.number {
                    Some(number) => format!("{}<br><small>{}</small>", e(number), e(&u.cue)),
                    None => e(&u.cue),
                },
                writers.join("<br>"),
                publishers.join("<br>"),
                codes.join("<br>"),
                e(&u.usage),
                e(&u.timecode_in),
                e(&u.timecode_out),
                e(&u.duration)
            );
        }
        h.push_str("</table>\n<h2>Music time by usage</h2>\n<table class=\"totals\">\n");
        for (usage, secs) in &self.totals {
            let _ = writeln!(h, "<tr><td>{}</td><td class=\"n\">{}:{:02}</td></tr>", e(usage), secs / 60, secs % 60);
        }
        h.push_str("</table>\n");
        if !self.unheard.is_empty() {
            h.push_str(
                "<h2>Not heard</h2>\n<table class=\"unheard\">\n<tr><th>Cue</th><th>Title</th><th>Why</th></tr>\n",
            );
            for n in &self.unheard {
                let _ = writeln!(h, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", e(&n.cue), e(&n.title), e(&n.why));
            }
            h.push_str("</table>\n");
        }
        if let Some(svg) = picture {
            h.push_str("<h2>The mix</h2>\n<div class=\"picture\">\n");
            h.push_str(svg);
            h.push_str("</div>\n");
        }
        h.push_str("</body></html>\n");
        h
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
