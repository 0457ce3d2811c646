//! What a cue sheet says about the production and about each piece of music (control side):
//! the show's `production` header, and the `title`, `writers`, `publishers` and codes a bed or a
//! cue carries. Part of the `segue-show/1` format (see `docs/show-format.md`); nothing here
//! changes what sounds.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::Show;
use super::timecode::{FrameRate, Timecode};

/// The production a show is the music of: the cue sheet's header.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Production {
    /// Series or film title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode_number: Option<String>,
    /// First air or release date, e.g. "2026-12-01".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub air_date: Option<String>,
    /// Production company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Picture rate the cue sheet's timecodes are counted in.
    #[serde(default)]
    pub frame_rate: FrameRate,
    /// The timecode of the show's 0 on picture, e.g. "01:00:00:00" (default 00:00:00:00).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timecode: Option<String>,
}

impl Production {
    /// The timecode at the show's 0 (a start timecode the loader has checked).
    pub fn start(&self) -> Timecode {
        let zero = Timecode { frames: 0, rate: self.frame_rate };
        self.start_timecode.as_deref().and_then(|t| Timecode::parse(t, self.frame_rate).ok()).unwrap_or(zero)
    }

    /// The picture timecode audio frame `frame` (at `sample_rate`, from the show's 0) sounds in.
    pub fn timecode_at(&self, frame: u64, sample_rate: u32) -> Timecode {
        self.start().plus(self.frame_rate.picture_frame(frame, sample_rate))
    }
}

/// Who wrote a piece and who publishes it, and how it is used: one bed's or cue's line on a
/// cue sheet. Written in the bed or cue object itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Credits {
    /// The work's title (default on a cue sheet: the cue's or scene's name, else its id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The performing artist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writers: Vec<Writer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub publishers: Vec<Publisher>,
    /// The recording's ISRC, e.g. "USRC17607839".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isrc: Option<String>,
    /// The work's ISWC, e.g. "T-034.524.680-1".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iswc: Option<String>,
    /// Production-music library and catalogue number, e.g. "APM / KPM 1234-5".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library: Option<String>,
    /// Cue-sheet usage code (see [`USAGES`]); beds default to "BI".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<String>,
    /// This bed or cue begins a new use on the cue sheet even where the same piece was still
    /// sounding (see `docs/cue-sheets.md`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub new_use: bool,
}

/// A writer of the work.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Writer {
    pub name: String,
    /// Role code (see [`WRITER_ROLES`]): C composer, A author (lyricist), CA both, AR arranger,
    /// AD adapter, TR translator, SA sub-author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Performing rights society, e.g. "ASCAP", "BMI", "PRS".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub society: Option<String>,
    /// Share of the writers' part, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub share: Option<f64>,
}

/// A publisher of the work.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Publisher {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub society: Option<String>,
    /// Share of the publishers' part, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub share: Option<f64>,
}

/// Usage codes as ASCAP, BMI and SOCAN cue sheets write them.
pub const USAGES: &[(&str, &str)] = &[
    ("BI", "background instrumental"),
    ("BV", "background vocal"),
    ("VI", "visual instrumental"),
    ("VV", "visual vocal"),
    ("MT", "main title"),
    ("ET", "end title"),
    ("OT", "opening theme"),
    ("CT", "closing theme"),
    ("TO", "theme (open and close)"),
    ("L", "logo"),
    ("SRC", "source music"),
];

/// Writer role codes (CISAC's interested-party roles as cue sheets use them).
pub const WRITER_ROLES: &[(&str, &str)] = &[
    ("C", "composer"),
    ("A", "author"),
    ("CA", "composer and author"),
    ("AR", "arranger"),
    ("AD", "adapter"),
    ("TR", "translator"),
    ("SA", "sub-author"),
];

/// The fields of [`Credits`] as they are written in a bed or cue (the loader's field lists).
pub const CREDIT_FIELDS: &[&str] =
    &["title", "artist", "writers", "publishers", "isrc", "iswc", "library", "usage", "new_use"];

/// What a cue sheet would lack for one use: the warnings `segue check` prints (`who` names the
/// bed or cue, `path` its JSON path).
pub fn cue_sheet_gaps(credits: &Credits, path: &str, who: &str) -> Vec<String> {
    let mut gaps = Vec::new();
    if credits.title.as_deref().is_none_or(|t| t.trim().is_empty()) {
        gaps.push(format!("{path}: {who} has no title: its cue sheet line would use its name or id"));
    }
    if credits.writers.is_empty() && credits.library.is_none() {
        gaps.push(format!("{path}: {who} has no writers: a cue sheet needs who wrote it"));
    }
    let sum = |shares: Vec<Option<f64>>| -> Option<f64> {
        shares.iter().any(Option::is_some).then(|| shares.iter().map(|s| s.unwrap_or(0.0)).sum())
    };
    let groups = [
        ("writers", sum(credits.writers.iter().map(|w| w.share).collect())),
        ("publishers", sum(credits.publishers.iter().map(|p| p.share).collect())),
    ];
    for (group, total) in groups {
        // Shares are written with up to two decimals: a hundredth of a percent is rounding.
        if let Some(total) = total.filter(|t| (t - 100.0).abs() > 0.01) {
            gaps.push(format!("{path}.{group}: {who}'s {group}' shares add up to {total:.2} %, not 100 %"));
        }
    }
    if let Some(usage) = &credits.usage {
        if !USAGES.iter().any(|(code, _)| code == usage) {
            let codes: Vec<&str> = USAGES.iter().map(|(c, _)| *c).collect();
            gaps.push(format!("{path}.usage: {who}: unknown usage code \"{usage}\" (known: {})", codes.join(", ")));
        }
    }
    for (i, w) in credits.writers.iter().enumerate() {
        if let Some(role) = &w.role {
            if !WRITER_ROLES.iter().any(|(code, _)| code == role) {
                let codes: Vec<&str> = WRITER_ROLES.iter().map(|(c, _)| *c).collect();
                gaps.push(format!(
                    "{path}.writers[{i}].role: {who}: unknown writer role \"{role}\" (known: {})",
                    codes.join(", ")
                ));
            }
        }
    }
    gaps
}

/// Everything `segue check` warns a cue sheet of `show` would lack, each with its JSON path.
pub fn show_gaps(show: &Show) -> Vec<String> {
    let mut gaps = Vec::new();
    if show.production.as_ref().is_none_or(|p| p.title.is_none()) {
        gaps.push("production.title: the show names no production: the cue sheet's header would be empty".into());
    }
    for (i, scene) in show.scenes.iter().enumerate() {
        if let Some(bed) = &scene.bed {
            let who = format!("the bed of scene \"{}\"", scene.id);
            gaps.extend(cue_sheet_gaps(&bed.credits, &format!("scenes[{i}].bed"), &who));
        }
        for (j, cue) in scene.cues.iter().enumerate() {
            let who = format!("cue \"{}\"", cue.id);
            gaps.extend(cue_sheet_gaps(&cue.credits, &format!("scenes[{i}].cues[{j}]"), &who));
        }
    }
    gaps
}
