//! Loading and validating show files (control side; never on the audio thread).
//!
//! [`load`] reads a `segue-show/1` file and checks it completely before anything plays: the JSON
//! is first parsed into a generic tree and walked by hand, so that *every* problem is reported at
//! once, each with its JSON path (`scenes[0].cues[1].end`) and what was expected. Then the
//! cross-references are checked (unique ids, follows, MIDI notes), every distinct audio file is
//! probed once, and in and out points are checked against the files' lengths. Only a show without
//! problems is deserialized into [`Show`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::credits::CREDIT_FIELDS;
use super::model::{Show, FORMAT};
use super::time::parse_time;
use super::timecode::{FrameRate, Timecode, FRAME_RATES};
use crate::stream::probe::{probe, AudioInfo};

/// A loaded, validated show with the facts about its audio files.
#[derive(Debug, Clone, PartialEq)]
pub struct ShowFile {
    /// The show file (or the name given to [`from_json`]).
    pub path: PathBuf,
    /// The folder relative audio paths resolve against (the show file's folder).
    pub dir: PathBuf,
    pub show: Show,
    /// Every audio file of the show, keyed by the file string as written in the show.
    pub audio: BTreeMap<String, AudioInfo>,
    /// Audio files that could not be read, with why and where the show uses them (only when
    /// loaded with `Broken::Allowed`: the show opens, and what uses them does not sound).
    pub broken: BTreeMap<String, String>,
}

/// Whether a show with audio files that cannot be read still loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Broken {
    /// Every file must be readable (`check`, `render`, `--strict`).
    #[default]
    Refused,
    /// The show loads; the unreadable files are listed in `ShowFile::broken` (the live player:
    /// a screening is not stopped by one missing temp track).
    Allowed,
}

impl ShowFile {
    /// Where the audio file written as `file` in the show is: relative to [`ShowFile::dir`],
    /// or as written if absolute.
    pub fn audio_path(&self, file: &str) -> PathBuf {
        resolve(&self.dir, file)
    }

    /// The probed facts about an audio file of the show (`file` as written in the show).
    ///
    /// Panics if `file` is not used by the show: every bed and cue file is in [`ShowFile::audio`].
    pub fn info(&self, file: &str) -> &AudioInfo {
        self.audio
            .get(file)
            .unwrap_or_else(|| panic!("\"{file}\" is not an audio file of show {}", self.path.display()))
    }
}

/// Resolves an audio file string of a show against the show's folder.
pub fn resolve(dir: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}

/// One thing wrong with a show file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The show file.
    pub file: PathBuf,
    /// Where in the document, e.g. `scenes[0].cues[1].end`; empty for the whole document.
    pub json_path: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.json_path.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}: {}: {}", self.file.display(), self.json_path, self.message)
        }
    }
}

/// Everything wrong with a show file (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowErrors {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ShowErrors {
    /// One line per problem.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ShowErrors {}

/// The largest show file Segue reads (8 MB of JSON): far above any real show, low enough that a
/// wrong path or a damaged file is refused at once.
pub const MAX_SHOW_BYTES: u64 = 8_000_000;

/// The most cues a show may hold (a feature film has a few hundred).
pub const MAX_CUES: usize = 10_000;

/// The longest time a show may name: 24 hours, in seconds.
pub const MAX_SECONDS: f64 = 24.0 * 3600.0;

/// The loudest gain a bed or cue may ask for, in dB: the loudest the engine sets a level to.
pub const MAX_GAIN_DB: f64 = crate::mix::MAX_LEVEL_DB as f64;

/// The quietest gain or duck depth a show may write, in dB: where the engine's gains are
/// silence.
pub const MIN_DB: f64 = crate::mix::SILENCE_DB as f64;

/// A show of `bytes` bytes of text that is over `MAX_SHOW_BYTES`, as a problem of `file`.
fn too_large(file: &Path, bytes: u64) -> Option<Problem> {
    (bytes > MAX_SHOW_BYTES).then(|| Problem {
        file: file.to_path_buf(),
        json_path: String::new(),
        message: format!(
            "the show is {:.1} MB of text; a show is at most {} MB (a 100-cue show is about 30 KB)",
            bytes as f64 / 1e6,
            MAX_SHOW_BYTES / 1_000_000
        ),
    })
}

/// Reads, validates and probes the show file at `path`; audio paths resolve against its folder.
pub fn load(path: &Path) -> Result<ShowFile, ShowErrors> {
    load_with(path, Broken::Refused)
}

/// `load`, with unreadable audio files refused or allowed.
pub fn load_with(path: &Path, broken: Broken) -> Result<ShowFile, ShowErrors> {
    let refuse = |message: String| ShowErrors {
        problems: vec![Problem { file: path.to_path_buf(), json_path: String::new(), message }],
    };
    // What the path names is looked at before it is opened: opening a FIFO would block, and a
    // device such as /dev/zero would read without end.
    if let Ok(meta) = std::fs::metadata(path) {
        if let Some(what) = super::files::not_a_file(&meta) {
            return Err(refuse(format!("cannot read the show file: it is {what}, not a file")));
        }
        // Refused before it is read into memory (`from_json` holds text to the same size).
        if let Some(problem) = too_large(path, meta.len()) {
            return Err(ShowErrors { problems: vec![problem] });
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        let message = match e.kind() {
            std::io::ErrorKind::NotFound => "show file not found".to_string(),
            std::io::ErrorKind::InvalidData => "cannot read the show file: it is not UTF-8 text".to_string(),
            _ => format!("cannot read the show file: {e}"),
        };
        ShowErrors { problems: vec![Problem { file: path.to_path_buf(), json_path: String::new(), message }] }
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    from_json_with(&text, path, &dir, broken)
}

/// Validates a show given as JSON text. `origin` names it in messages; audio paths resolve
/// against `dir`.
pub fn from_json(json: &str, origin: &Path, dir: &Path) -> Result<ShowFile, ShowErrors> {
    from_json_with(json, origin, dir, Broken::Refused)
}

/// `from_json`, with unreadable audio files refused or allowed.
pub fn from_json_with(json: &str, origin: &Path, dir: &Path, broken: Broken) -> Result<ShowFile, ShowErrors> {
    let fail = |problems| Err(ShowErrors { problems });
    // A show given as text (a plugin state, a reload) is held to the show file's size.
    if let Some(problem) = too_large(origin, json.len() as u64) {
        return fail(vec![problem]);
    }
    let json = json.strip_prefix('\u{feff}').unwrap_or(json);
    let value: Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => {
            let full = e.to_string();
            let what = full.rfind(" at line ").map_or(full.as_str(), |i| &full[..i]);
            return fail(vec![Problem {
                file: origin.to_path_buf(),
                json_path: String::new(),
                message: format!("not valid JSON: line {}, column {}: {what}", e.line(), e.column()),
            }]);
        }
    };

    let cues: usize = value
        .get("scenes")
        .and_then(Value::as_array)
        .map_or(0, |scenes| scenes.iter().filter_map(|s| s.get("cues")?.as_array().map(Vec::len)).sum());
    if cues > MAX_CUES {
        return fail(vec![Problem {
            file: origin.to_path_buf(),
            json_path: "scenes".into(),
            message: format!("the show has {cues} cues; a show holds at most {MAX_CUES}"),
        }]);
    }
    let mut c = Checker::new(origin);
    c.show(&value);
    c.cross_check();
    let (audio, unreadable) = c.check_audio(dir);
    let mut broken_files = BTreeMap::new();
    for (file, path, message) in unreadable {
        match broken {
            Broken::Allowed => {
                broken_files.insert(file, format!("{path}: {message}"));
            }
            Broken::Refused => c.problem(path, message),
        }
    }
    if !c.problems.is_empty() {
        return fail(c.problems);
    }
    match serde_json::from_value::<Show>(value) {
        Ok(show) => {
            Ok(ShowFile { path: origin.to_path_buf(), dir: dir.to_path_buf(), show, audio, broken: broken_files })
        }
        Err(e) => fail(vec![Problem {
            file: origin.to_path_buf(),
            json_path: String::new(),
            message: format!("the show passed validation but could not be read (a bug in Segue): {e}"),
        }]),
    }
}

// ---------------------------------------------------------------------------------------------
// The fields of each object of the format. Kept equal to the model by a test against the schema.

/// A number of milliseconds a show may write (`MS`).
fn ms_ok(x: f64) -> bool {
    (0.0..=MAX_SECONDS * 1000.0).contains(&x)
}

/// A gain in dB a show may write (`GAIN`).
fn gain_ok(x: f64) -> bool {
    (MIN_DB..=MAX_GAIN_DB).contains(&x)
}

/// A duck depth in dB a show may write (`DUCK_DEPTH`).
fn duck_ok(x: f64) -> bool {
    (MIN_DB..=0.0).contains(&x)
}

const GAIN: &str = "a gain in dB, from -144 to +24";
const DUCK_DEPTH: &str = "a duck depth in dB, from -144 to 0 (0 = no ducking)";

/// An object kind of the format: its name in messages and its fields.
pub(crate) struct Level {
    pub(crate) noun: &'static str,
    pub(crate) fields: &'static [&'static str],
    /// It also takes the credits' fields (`show::credits::CREDIT_FIELDS`).
    pub(crate) credits: bool,
}

impl Level {
    /// Every field the object takes.
    pub(crate) fn all_fields(&self) -> Vec<&'static str> {
        let credits = if self.credits { CREDIT_FIELDS } else { &[] };
        self.fields.iter().chain(credits).copied().collect()
    }
}

pub(crate) const SHOW: Level = Level {
    noun: "the show",
    fields: &["format", "name", "production", "end", "master_db", "duck", "panic_ms", "scenes"],
    credits: false,
};
pub(crate) const PRODUCTION: Level = Level {
    noun: "the production",
    fields: &["title", "episode_title", "episode_number", "air_date", "company", "frame_rate", "start_timecode"],
    credits: false,
};
pub(crate) const WRITER: Level =
    Level { noun: "a writer", fields: &["name", "role", "society", "share"], credits: false };
pub(crate) const PUBLISHER: Level =
    Level { noun: "a publisher", fields: &["name", "society", "share"], credits: false };
pub(crate) const DUCK: Level = Level { noun: "duck", fields: &["depth_db", "attack_ms", "release_ms"], credits: false };
pub(crate) const SCENE: Level =
    Level { noun: "a scene", fields: &["id", "name", "at", "note", "bed", "transition", "cues"], credits: false };
pub(crate) const BED: Level = Level {
    noun: "a bed",
    fields: &["file", "gain_db", "loop", "loop_start", "loop_end", "tempo_bpm", "beats_per_bar"],
    credits: true,
};
pub(crate) const TRANSITION: Level =
    Level { noun: "a transition", fields: &["fade_ms", "curve", "quantize"], credits: false };
pub(crate) const CUE: Level = Level {
    noun: "a cue",
    fields: &[
        "id",
        "name",
        "number",
        "file",
        "at",
        "note",
        "follow",
        "gain_db",
        "pan",
        "fade_in_ms",
        "fade_out_ms",
        "start",
        "end",
        "loop",
        "duck_db",
        "duck_attack_ms",
        "duck_release_ms",
        "retrigger",
    ],
    credits: true,
};
pub(crate) const FOLLOW: Level = Level { noun: "follow", fields: &["after", "wait_ms"], credits: false };

pub(crate) const CURVES: &[&str] = &["linear", "equal_power", "s_curve"];
pub(crate) const QUANTIZES: &[&str] = &["none", "beat", "bar"];
pub(crate) const RETRIGGERS: &[&str] = &["restart", "ignore"];

/// The longest cue number taken (film cue numbers run to "101M14AB"; MSC sends a few digits).
pub const MAX_CUE_NUMBER: usize = 16;

/// A cue number as a show writes it: a QLab-style "12" or "12.5", or a film cue number such as
/// "1M1" (reel 1, music 1), "2M14A" or "101-3" (episode 101, cue 3).
pub fn is_cue_number(text: &str) -> bool {
    let ok = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'-';
    text.len() <= MAX_CUE_NUMBER
        && text.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && text.bytes().all(ok)
}

const MS: &str = "a number of milliseconds, from 0 to 86400000 (24 hours)";

// ---------------------------------------------------------------------------------------------

/// An object being checked, with its JSON path.
struct Obj<'v> {
    map: &'v Map<String, Value>,
    path: String,
}

/// A time in an audio file that must lie inside it.
struct Point {
    json_path: String,
    field: &'static str,
    secs: f64,
    /// `end`/`loop_end` may equal the file's length; `start`/`loop_start` must be before it.
    is_end: bool,
}

/// A bed or cue's use of an audio file.
struct AudioUse {
    json_path: String,
    points: Vec<Point>,
}

struct FollowRef {
    cue: String,
    after: String,
    json_path: String,
}

struct Checker {
    origin: PathBuf,
    problems: Vec<Problem>,
    scene_ids: HashMap<String, String>,
    /// Cue id -> JSON path of the cue; ids in show order.
    cue_ids: HashMap<String, String>,
    cue_order: Vec<String>,
    follows: Vec<FollowRef>,
    /// MIDI note -> (JSON path of the note, who uses it).
    notes: HashMap<u64, (String, String)>,
    /// Cue number -> (JSON path of the number, who uses it).
    cue_numbers: HashMap<String, (String, String)>,
    /// Each audio file as written, with its uses, in show order.
    audio: Vec<(String, Vec<AudioUse>)>,
    audio_index: HashMap<String, usize>,
}

impl Checker {
    fn new(origin: &Path) -> Self {
        Checker {
            origin: origin.to_path_buf(),
            problems: Vec::new(),
            scene_ids: HashMap::new(),
            cue_ids: HashMap::new(),
            cue_order: Vec::new(),
            follows: Vec::new(),
            notes: HashMap::new(),
            cue_numbers: HashMap::new(),
            audio: Vec::new(),
            audio_index: HashMap::new(),
        }
    }

    fn problem(&mut self, json_path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem { file: self.origin.clone(), json_path: json_path.into(), message: message.into() });
    }

    // --- the document --------------------------------------------------------------------

    fn show(&mut self, root: &Value) {
        let Some(o) = self.object(root, String::new(), &SHOW) else {
            return;
        };

        match o.map.get("format") {
            None => self.problem("format", format!("missing required field \"format\": add \"format\": \"{FORMAT}\"")),
            Some(Value::String(s)) if s == FORMAT => {}
            Some(Value::String(s)) => {
                let newer = s.strip_prefix("segue-show/").and_then(|n| n.parse::<u64>().ok()).filter(|&n| n > 1);
                let msg = match newer {
                    Some(_) => format!(
                        "this show is in format \"{s}\", which needs a newer version of Segue (this one reads \"{FORMAT}\")"
                    ),
                    None => format!("expected \"{FORMAT}\", found {}", found(&Value::String(s.clone()))),
                };
                self.problem("format", msg);
            }
            Some(v) => self.problem("format", format!("expected the string \"{FORMAT}\", found {}", found(v))),
        }
        self.string(&o, "name", false);
        if let Some((v, path)) = self.field(&o, "production", true) {
            self.production(v, path);
        }
        if let Some(end) = self.time(&o, "end") {
            if end <= 0.0 {
                self.problem(
                    child(&o.path, "end"),
                    format!("expected the show's end as a time after 0, found {}", secs(end)),
                );
            }
        }
        if let Some((v, path)) = self.field(&o, "duck", false) {
            if let Some(d) = self.object(v, path, &DUCK) {
                self.number(&d, "depth_db", false, DUCK_DEPTH, duck_ok);
                self.number(&d, "attack_ms", false, MS, ms_ok);
                self.number(&d, "release_ms", false, MS, ms_ok);
            }
        }
        self.number(&o, "panic_ms", false, MS, ms_ok);
        self.number(&o, "master_db", false, GAIN, gain_ok);

        match o.map.get("scenes") {
            None => self.problem("scenes", "missing required field \"scenes\" (a list of scenes)"),
            Some(Value::Array(scenes)) => {
                for (i, s) in scenes.iter().enumerate() {
                    self.scene(s, format!("scenes[{i}]"));
                }
            }
            Some(v) => self.problem("scenes", format!("expected a list of scenes, found {}", found(v))),
        }
    }

    fn scene(&mut self, v: &Value, path: String) {
        let Some(o) = self.object(v, path, &SCENE) else {
            return;
        };
        let id = self.id(&o, "scene");
        if let Some(id) = &id {
            let here = child(&o.path, "id");
            match self.scene_ids.get(id) {
                Some(first) => {
                    let msg = format!("duplicate scene id \"{id}\": {first} already uses it; scene ids must be unique");
                    self.problem(here, msg);
                }
                None => {
                    self.scene_ids.insert(id.clone(), here);
                }
            }
        }
        let who = match &id {
            Some(id) => format!("scene \"{id}\""),
            None => format!("the scene at {}", o.path),
        };
        self.string(&o, "name", false);
        self.time(&o, "at");
        self.note(&o, &who);
        if let Some((v, path)) = self.field(&o, "bed", true) {
            self.bed(v, path);
        }
        if let Some((v, path)) = self.field(&o, "transition", false) {
            if let Some(t) = self.object(v, path, &TRANSITION) {
                self.number(&t, "fade_ms", false, MS, ms_ok);
                self.choice(&t, "curve", "a fade curve", CURVES);
                self.choice(&t, "quantize", "a quantize setting", QUANTIZES);
            }
        }
        if let Some((v, path)) = self.field(&o, "cues", false) {
            match v {
                Value::Array(cues) => {
                    for (i, c) in cues.iter().enumerate() {
                        self.cue(c, format!("{path}[{i}]"));
                    }
                }
                _ => self.problem(path, format!("expected a list of cues, found {}", found(v))),
            }
        }
    }

    fn bed(&mut self, v: &Value, path: String) {
        let Some(o) = self.object(v, path, &BED) else {
            return;
        };
        let file = self.required_string(&o, "file", "the bed's audio file, relative to the show file");
        self.number(&o, "gain_db", false, GAIN, gain_ok);
        self.boolean(&o, "loop");
        let start = self.time(&o, "loop_start");
        let end = self.time(&o, "loop_end");
        self.end_after_start(&o, "loop_end", end, "loop_start", start);
        self.number(&o, "tempo_bpm", true, "a tempo in beats per minute, more than 0 and at most 1000", |x| {
            x > 0.0 && x <= 1000.0
        });
        self.whole(&o, "beats_per_bar", "a whole number of beats per bar, 1 or more", 1, u32::MAX as u64);
        self.credits(&o);

        let mut points = Vec::new();
        points.extend(start.map(|s| point(&o, "loop_start", s, false)));
        points.extend(end.map(|s| point(&o, "loop_end", s, true)));
        self.use_audio(&o, file, points);
    }

    fn cue(&mut self, v: &Value, path: String) {
        let Some(o) = self.object(v, path, &CUE) else {
            return;
        };
        let id = self.id(&o, "cue");
        if let Some(id) = &id {
            let here = child(&o.path, "id");
            match self.cue_ids.get(id) {
                Some(first) => {
                    let msg = format!(
                        "duplicate cue id \"{id}\": {first} already uses it; cue ids must be unique in the whole show"
                    );
                    self.problem(here, msg);
                }
                None => {
                    self.cue_ids.insert(id.clone(), here);
                    self.cue_order.push(id.clone());
                }
            }
        }
        let who = match &id {
            Some(id) => format!("cue \"{id}\""),
            None => format!("the cue at {}", o.path),
        };
        self.string(&o, "name", false);
        self.cue_number(&o, &who);
        let file = self.required_string(&o, "file", "the cue's audio file, relative to the show file");
        self.time(&o, "at");
        self.note(&o, &who);
        if let Some((v, path)) = self.field(&o, "follow", true) {
            if let Some(f) = self.object(v, path, &FOLLOW) {
                let after = self.required_string(&f, "after", "the id of the cue this one follows");
                self.number(&f, "wait_ms", false, MS, ms_ok);
                if let (Some(cue), Some(after)) = (&id, after) {
                    self.follows.push(FollowRef {
                        cue: cue.clone(),
                        after: after.to_string(),
                        json_path: child(&f.path, "after"),
                    });
                }
            }
        }
        self.number(&o, "gain_db", false, GAIN, gain_ok);
        self.number(&o, "pan", false, "a pan position from -1 (left) to 1 (right)", |x| (-1.0..=1.0).contains(&x));
        self.number(&o, "fade_in_ms", false, MS, ms_ok);
        self.number(&o, "fade_out_ms", false, MS, ms_ok);
        let start = self.time(&o, "start");
        let end = self.time(&o, "end");
        self.end_after_start(&o, "end", end, "start", start);
        self.boolean(&o, "loop");
        self.number(&o, "duck_db", true, DUCK_DEPTH, duck_ok);
        self.number(&o, "duck_attack_ms", true, MS, ms_ok);
        self.number(&o, "duck_release_ms", true, MS, ms_ok);
        self.choice(&o, "retrigger", "what starting it while it plays does", RETRIGGERS);
        self.credits(&o);

        let mut points = Vec::new();
        points.extend(start.map(|s| point(&o, "start", s, false)));
        points.extend(end.map(|s| point(&o, "end", s, true)));
        self.use_audio(&o, file, points);
    }

    fn production(&mut self, v: &Value, path: String) {
        let Some(o) = self.object(v, path, &PRODUCTION) else {
            return;
        };
        for key in ["title", "episode_title", "episode_number", "air_date", "company"] {
            self.string(&o, key, true);
        }
        let rate = match self.choice(&o, "frame_rate", "a picture rate", FRAME_RATES) {
            Some(name) => FrameRate::from_name(name),
            None if o.map.contains_key("frame_rate") => None,
            None => Some(FrameRate::default()),
        };
        if let (Some(text), Some(rate)) = (self.string(&o, "start_timecode", true), rate) {
            if let Err(why) = Timecode::parse(text, rate) {
                self.problem(child(&o.path, "start_timecode"), why);
            }
        }
    }

    /// A bed's or cue's credits: types and ranges (what a cue sheet would lack is a warning of
    /// `segue check`, not a problem: see `show::credits::cue_sheet_gaps`).
    fn credits(&mut self, o: &Obj) {
        for key in ["title", "artist", "isrc", "iswc", "library", "usage"] {
            self.string(o, key, true);
        }
        self.boolean(o, "new_use");
        for (key, level) in [("writers", &WRITER), ("publishers", &PUBLISHER)] {
            let Some((v, path)) = self.field(o, key, true) else { continue };
            let Value::Array(people) = v else {
                self.problem(path, format!("expected a list of {key}, found {}", found(v)));
                continue;
            };
            for (i, p) in people.iter().enumerate() {
                let Some(p) = self.object(p, format!("{path}[{i}]"), level) else { continue };
                self.required_string(&p, "name", "their name as the society has it");
                self.string(&p, "society", true);
                if key == "writers" {
                    self.string(&p, "role", true);
                }
                self.number(&p, "share", true, "a share in percent, 0 to 100", |x| (0.0..=100.0).contains(&x));
            }
        }
    }

    fn end_after_start(&mut self, o: &Obj, end_key: &str, end: Option<f64>, start_key: &str, start: Option<f64>) {
        let Some(end) = end else { return };
        let start_value = start.unwrap_or(0.0);
        if end <= start_value {
            let start_text = match start {
                Some(s) => format!("{start_key} ({})", secs(s)),
                None => format!("the file's start (no {start_key} given)"),
            };
            self.problem(child(&o.path, end_key), format!("{end_key} ({}) must be after {start_text}", secs(end)));
        }
    }

    fn use_audio(&mut self, o: &Obj, file: Option<&str>, points: Vec<Point>) {
        if let Some(file) = file {
            let json_path = child(&o.path, "file");
            let i = *self.audio_index.entry(file.to_string()).or_insert_with(|| {
                self.audio.push((file.to_string(), Vec::new()));
                self.audio.len() - 1
            });
            self.audio[i].1.push(AudioUse { json_path, points });
        }
    }

    // --- checks across the document ------------------------------------------------------

    fn cross_check(&mut self) {
        // Follows must name a cue.
        let follows = std::mem::take(&mut self.follows);
        let known: Vec<&str> = self.cue_order.iter().map(String::as_str).collect();
        let mut after_of: HashMap<&str, (&str, &str)> = HashMap::new();
        let mut problems = Vec::new();
        for f in &follows {
            if self.cue_ids.contains_key(&f.after) {
                // Duplicate cue ids are reported already; the first cue's follow is the one used.
                after_of.entry(f.cue.as_str()).or_insert((f.after.as_str(), f.json_path.as_str()));
            } else {
                let hint = match closest(&f.after, &known) {
                    Some(c) => format!("; did you mean \"{c}\"?"),
                    None => String::new(),
                };
                problems.push((f.json_path.clone(), format!("no cue has id \"{}\"{hint}", f.after)));
            }
        }

        // Follow cycles: each cue follows at most one other, so walking `after` from a cue either
        // ends or comes back round. Report each cycle once, at its first cue in show order.
        let mut reported: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for start in &self.cue_order {
            let start = start.as_str();
            if reported.contains(start) {
                continue;
            }
            let mut chain = vec![start];
            let mut at = start;
            while let Some(&(after, _)) = after_of.get(at) {
                if after == start {
                    // `chain` runs backwards in time (each cue follows the next one in it).
                    let mut order = vec![start];
                    order.extend(chain[1..].iter().rev());
                    order.push(start);
                    let text = order.join(" -> ");
                    let msg = if chain.len() == 1 {
                        format!("cue \"{start}\" follows itself ({text}): it could never start")
                    } else {
                        format!("follow cycle {text}: these cues would only ever start each other")
                    };
                    problems.push((after_of[start].1.to_string(), msg));
                    reported.extend(chain.iter().copied());
                    break;
                }
                if chain.contains(&after) || chain.len() > after_of.len() {
                    break; // a cycle further on, reported from its own first cue
                }
                chain.push(after);
                at = after;
            }
        }
        for (path, msg) in problems {
            self.problem(path, msg);
        }
    }

    /// Probes every distinct audio file once and checks in and out points against its length.
    /// Returns what it read, and the files it could not read: (file, first use's JSON path,
    /// why, with the other uses).
    #[allow(clippy::type_complexity)]
    fn check_audio(&mut self, dir: &Path) -> (BTreeMap<String, AudioInfo>, Vec<(String, String, String)>) {
        let mut infos = BTreeMap::new();
        let mut unreadable = Vec::new();
        let audio = std::mem::take(&mut self.audio);
        for (file, uses) in &audio {
            let Some(first) = uses.first() else { continue };
            match probe(&resolve(dir, file)) {
                Err(e) => {
                    let mut msg = e.to_string();
                    if uses.len() > 1 {
                        let others: Vec<&str> = uses[1..].iter().map(|u| u.json_path.as_str()).collect();
                        msg += &format!(" (also used at {})", others.join(", "));
                    }
                    unreadable.push((file.clone(), first.json_path.clone(), msg));
                }
                Ok(info) => {
                    let length = info.duration_secs();
                    for p in uses.iter().flat_map(|u| &u.points) {
                        // Times are written to the millisecond: allow an end rounded up by that much.
                        let bad = if p.is_end { p.secs > length + 0.001 } else { p.secs >= length };
                        if bad {
                            let place = if p.is_end { "past the end" } else { "at or past the end" };
                            self.problem(
                                p.json_path.clone(),
                                format!(
                                    "{} ({}) is {place} of \"{file}\", which is {} long",
                                    p.field,
                                    secs(p.secs),
                                    secs(length)
                                ),
                            );
                        }
                    }
                    infos.insert(file.clone(), info);
                }
            }
        }
        (infos, unreadable)
    }

    // --- typed fields ----------------------------------------------------------------------

    /// Checks that `v` is an object with only the fields of `level`.
    fn object<'v>(&mut self, v: &'v Value, path: String, level: &Level) -> Option<Obj<'v>> {
        let Value::Object(map) = v else {
            let what = match level.noun {
                "the show" => "the show as a JSON object".to_string(),
                noun => format!("{noun} (a JSON object)"),
            };
            self.problem(path, format!("expected {what}, found {}", found(v)));
            return None;
        };
        let fields = level.all_fields();
        for key in map.keys() {
            if fields.contains(&key.as_str()) {
                continue;
            }
            let hint = match closest(key, &fields) {
                Some(c) => format!("; did you mean \"{c}\"?"),
                None => String::new(),
            };
            self.problem(
                child(&path, key),
                format!("unknown field \"{key}\"{hint} (fields allowed in {}: {})", level.noun, fields.join(", ")),
            );
        }
        Some(Obj { map, path })
    }

    /// The value of an optional field and its path; `None` if absent, or null where null means
    /// absent (`nullable`).
    fn field<'v>(&mut self, o: &Obj<'v>, key: &str, nullable: bool) -> Option<(&'v Value, String)> {
        match o.map.get(key) {
            None => None,
            Some(Value::Null) if nullable => None,
            Some(v) => Some((v, child(&o.path, key))),
        }
    }

    fn string<'v>(&mut self, o: &Obj<'v>, key: &str, nullable: bool) -> Option<&'v str> {
        let (v, path) = self.field(o, key, nullable)?;
        match v {
            Value::String(s) => Some(s),
            _ => {
                self.problem(path, format!("expected a string, found {}", found(v)));
                None
            }
        }
    }

    fn required_string<'v>(&mut self, o: &Obj<'v>, key: &str, what: &str) -> Option<&'v str> {
        match o.map.get(key) {
            None => {
                self.problem(child(&o.path, key), format!("missing required field \"{key}\" ({what})"));
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.problem(child(&o.path, key), format!("expected {what}, found an empty string"));
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(v) => {
                self.problem(child(&o.path, key), format!("expected a string ({what}), found {}", found(v)));
                None
            }
        }
    }

    fn id(&mut self, o: &Obj, kind: &str) -> Option<String> {
        let what = match kind {
            "cue" => "a cue id, unique in the whole show",
            _ => "a scene id, unique among scenes",
        };
        self.required_string(o, "id", what).map(str::to_string)
    }

    fn number(&mut self, o: &Obj, key: &str, nullable: bool, what: &str, ok: impl Fn(f64) -> bool) -> Option<f64> {
        let (v, path) = self.field(o, key, nullable)?;
        match v.as_f64() {
            Some(x) if ok(x) => Some(x),
            _ => {
                self.problem(path, format!("expected {what}, found {}", found(v)));
                None
            }
        }
    }

    fn whole(&mut self, o: &Obj, key: &str, what: &str, min: u64, max: u64) -> Option<u64> {
        let (v, path) = self.field(o, key, false)?;
        match v.as_u64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.problem(path, format!("expected {what}, found {}", found(v)));
                None
            }
        }
    }

    fn boolean(&mut self, o: &Obj, key: &str) -> Option<bool> {
        let (v, path) = self.field(o, key, false)?;
        match v {
            Value::Bool(b) => Some(*b),
            _ => {
                self.problem(path, format!("expected true or false, found {}", found(v)));
                None
            }
        }
    }

    /// A time field (always optional): seconds, or a `"MM:SS.mmm"` / `"HH:MM:SS.mmm"` string.
    fn time(&mut self, o: &Obj, key: &str) -> Option<f64> {
        let (v, path) = self.field(o, key, true)?;
        match v {
            Value::Number(n) => match n.as_f64() {
                Some(x) if (0.0..=MAX_SECONDS).contains(&x) => Some(x),
                Some(x) if x > MAX_SECONDS => {
                    self.problem(path, format!("expected a time of at most 24 hours (86400 seconds), found {n}"));
                    None
                }
                _ => {
                    self.problem(
                        path,
                        format!("expected a time, 0 or more seconds, found {n}: times cannot be negative"),
                    );
                    None
                }
            },
            Value::String(s) => match parse_time(s) {
                Ok(x) if x > MAX_SECONDS => {
                    self.problem(path, format!("expected a time of at most 24 hours, found \"{s}\""));
                    None
                }
                Ok(x) => Some(x),
                Err(e) => {
                    self.problem(path, e.0);
                    None
                }
            },
            _ => {
                self.problem(
                    path,
                    format!(
                        "expected a time (seconds as a number, or \"MM:SS.mmm\" / \"HH:MM:SS.mmm\"), found {}",
                        found(v)
                    ),
                );
                None
            }
        }
    }

    /// The optional `number` of a cue: digits and dots (what MIDI Show Control can send), unique.
    fn cue_number(&mut self, o: &Obj, who: &str) {
        let Some((v, path)) = self.field(o, "number", true) else {
            return;
        };
        let number = match v {
            Value::String(s) if is_cue_number(s) => s,
            _ => {
                let msg = format!(
                    "expected a cue number as a string, like \"12\" or \"12.5\" (a QLab list) or a film cue number \
                     like \"1M1\", \"2M14A\" or \"101-3\": up to {MAX_CUE_NUMBER} letters, digits, dots and dashes, \
                     starting with a letter or digit; found {}",
                    found(v)
                );
                return self.problem(path, msg);
            }
        };
        // Operators type numbers in either case ("1m1" over OSC): one number, one cue.
        let number = &number.to_ascii_uppercase();
        match self.cue_numbers.get(number) {
            Some((first_path, first_who)) => {
                let msg = format!(
                    "cue number \"{number}\" is used twice: by {first_who} ({first_path}) and by {who}; cue numbers must be unique"
                );
                self.problem(path, msg);
            }
            None => {
                self.cue_numbers.insert(number.clone(), (path, who.to_string()));
            }
        }
    }

    /// The optional `note` field of a scene or cue; notes must be unique across the show.
    fn note(&mut self, o: &Obj, who: &str) {
        let Some((v, path)) = self.field(o, "note", true) else {
            return;
        };
        match v.as_u64() {
            Some(n) if n <= 127 => match self.notes.get(&n) {
                Some((first_path, first_who)) => {
                    let msg = format!(
                        "MIDI note {n} is used twice: by {first_who} ({first_path}) and by {who}; a note can trigger only one thing"
                    );
                    self.problem(path, msg);
                }
                None => {
                    self.notes.insert(n, (path, who.to_string()));
                }
            },
            _ => self.problem(path, format!("expected a MIDI note number 0..=127, found {}", found(v))),
        }
    }

    fn choice<'v>(&mut self, o: &Obj<'v>, key: &str, what: &str, allowed: &[&str]) -> Option<&'v str> {
        let (v, path) = self.field(o, key, false)?;
        if let Value::String(s) = v {
            if allowed.contains(&s.as_str()) {
                return Some(s);
            }
        }
        let hint = match v.as_str().and_then(|s| closest(s, allowed)) {
            Some(c) => format!("; did you mean \"{c}\"?"),
            None => String::new(),
        };
        let names: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
        self.problem(path, format!("expected {what}: one of {}, found {}{hint}", names.join(", "), found(v)));
        None
    }
}

fn point(o: &Obj, field: &'static str, secs: f64, is_end: bool) -> Point {
    Point { json_path: child(&o.path, field), field, secs, is_end }
}

/// The path of `key` inside the object at `parent`.
fn child(parent: &str, key: &str) -> String {
    let plain = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let key = if plain { key.to_string() } else { format!("[{}]", Value::String(key.to_string())) };
    match (parent.is_empty(), plain) {
        (true, _) => key,
        (false, true) => format!("{parent}.{key}"),
        (false, false) => format!("{parent}{key}"),
    }
}

/// A short description of a JSON value for "found ..." messages.
fn found(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let short: String = s.chars().take(40).collect();
            let more = if short.len() < s.len() { "..." } else { "" };
            format!("the string {}{more}", Value::String(short))
        }
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// Seconds for messages, to the millisecond.
fn secs(x: f64) -> String {
    format!("{x:.3} s")
}

/// The candidate closest to `word` (ignoring case, `_` and `-`), if it is close enough to be a
/// likely typo: at most 2 edits, or one name a prefix of the other (`fade_out` / `fade_out_ms`).
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let norm = |s: &str| -> Vec<char> {
        s.chars().filter(|c| !matches!(c, '_' | '-' | ' ')).flat_map(char::to_lowercase).collect()
    };
    let w = norm(word);
    candidates
        .iter()
        .filter_map(|&c| {
            let n = norm(c);
            let d = edit_distance(&w, &n);
            let prefix = w.len() >= 4 && (n.starts_with(&w) || (n.len() >= 4 && w.starts_with(&n)));
            ((d <= 2 && d < w.len()) || prefix).then_some((d, c))
        })
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = (diag + usize::from(ca != cb)).min(up + 1).min(row[j] + 1);
            diag = up;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::OnceLock;

    /// A folder with the test show's audio files, written once per test run.
    fn media() -> &'static Path {
        static DIR: OnceLock<PathBuf> = OnceLock::new();
        DIR.get_or_init(|| {
            let dir = std::env::temp_dir().join(format!("segue-show-tests-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            write_wav(&dir.join("bed.wav"), 2, 1000, 16, false, 10_000); // 10 s
            write_wav(&dir.join("bed2.wav"), 2, 1102, 24, false, 11_020); // 10 s
            write_wav(&dir.join("song.wav"), 2, 800, 32, false, 4_000); // 5 s
            write_wav(&dir.join("mono.wav"), 1, 1600, 32, true, 3_200); // 2 s
            write_wav(&dir.join("six.wav"), 6, 8000, 16, false, 800);
            write_wav(&dir.join("empty.wav"), 2, 8000, 16, false, 0);
            std::fs::write(dir.join("song.flac"), b"fLaC\0\0\0\x22 not really").unwrap();
            std::fs::create_dir_all(dir.join("folder.wav")).unwrap();
            dir
        })
    }

    fn write_wav(path: &Path, channels: u16, rate: u32, bits: u16, float: bool, frames: u32) {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: if float { hound::SampleFormat::Float } else { hound::SampleFormat::Int },
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for i in 0..frames * channels as u32 {
            if float {
                w.write_sample(0.25f32 * ((i % 100) as f32 / 50.0 - 1.0)).unwrap();
            } else {
                w.write_sample((i % 100) as i32 - 50).unwrap();
            }
        }
        w.finalize().unwrap();
    }

    /// A valid show using the media files; tests break one thing in it.
    fn base() -> Value {
        json!({
            "format": "segue-show/1",
            "name": "Episode 1",
            "duck": { "depth_db": -10, "attack_ms": 150 },
            "scenes": [
                {
                    "id": "open", "name": "Cold open", "at": 0, "note": 36,
                    "bed": { "file": "bed.wav", "tempo_bpm": 96, "loop_start": 0.5, "loop_end": "00:08.000" },
                    "cues": [
                        { "id": "a", "file": "song.wav", "at": "00:01.000", "note": 60 },
                        { "id": "b", "file": "song.wav", "start": 1, "end": 4, "follow": { "after": "a", "wait_ms": 500 } }
                    ]
                },
                {
                    "id": "two", "at": "00:30.000",
                    "transition": { "fade_ms": 1000, "curve": "s_curve", "quantize": "bar" },
                    "bed": { "file": "bed2.wav", "beats_per_bar": 3, "tempo_bpm": 120 },
                    "cues": [ { "id": "c", "file": "mono.wav", "pan": -0.5, "duck_db": -6, "fade_out_ms": 200 } ]
                }
            ]
        })
    }

    fn check(v: &Value) -> Result<ShowFile, ShowErrors> {
        from_json(&v.to_string(), Path::new("show.json"), media())
    }

    fn problems(v: &Value) -> Vec<Problem> {
        match check(v) {
            Ok(_) => panic!("expected problems, the show loaded"),
            Err(e) => e.problems,
        }
    }

    /// Asserts one problem is at `path` and its message contains every phrase.
    #[track_caller]
    fn assert_problem(problems: &[Problem], path: &str, phrases: &[&str]) {
        let found = problems.iter().any(|p| p.json_path == path && phrases.iter().all(|ph| p.message.contains(ph)));
        assert!(
            found,
            "no problem at {path:?} containing {phrases:?}; got:\n{}",
            ShowErrors { problems: problems.to_vec() }
        );
    }

    /// Sets (or adds) the field at `pointer`.
    fn set(v: &mut Value, pointer: &str, new: Value) {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        match v.pointer_mut(parent).unwrap_or_else(|| panic!("no {parent}")) {
            Value::Object(map) => {
                map.insert(key.to_string(), new);
            }
            Value::Array(items) => items[key.parse::<usize>().unwrap()] = new,
            _ => panic!("{parent} holds no fields"),
        }
    }

    fn remove(v: &mut Value, pointer: &str) {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        v.pointer_mut(parent).unwrap().as_object_mut().unwrap().remove(key).expect("field to remove");
    }

    #[test]
    fn valid_show_loads_with_the_facts_of_its_audio_files() {
        let show = check(&base()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(show.show.name, "Episode 1");
        assert_eq!(show.show.scenes.len(), 2);
        assert_eq!(show.show.scenes[1].cues[0].duck_db, Some(-6.0));
        let facts = |file: &str| {
            let i = show.info(file);
            (i.sample_rate, i.channels, i.frames)
        };
        assert_eq!(facts("bed.wav"), (1000, 2, 10_000));
        assert_eq!(facts("bed2.wav"), (1102, 2, 11_020));
        assert_eq!(facts("song.wav"), (800, 2, 4_000));
        assert_eq!(facts("mono.wav"), (1600, 1, 3_200));
        assert!((show.info("bed2.wav").duration_secs() - 10.0).abs() < 1e-9);
        assert_eq!(show.audio.len(), 4);
        assert_eq!(show.audio_path("song.wav"), media().join("song.wav"));
        assert_eq!(show.path, Path::new("show.json"));
    }

    #[test]
    fn load_resolves_audio_against_the_show_files_folder() {
        let path = media().join("loaded.json");
        std::fs::write(&path, base().to_string()).unwrap();
        let show = load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(show.dir, media());
        assert_eq!(show.audio_path("bed.wav"), media().join("bed.wav"));
    }

    #[test]
    fn absolute_audio_paths_stay_absolute() {
        let mut v = base();
        let abs = media().join("song.wav");
        set(&mut v, "/scenes/0/cues/0/file", json!(abs.to_str().unwrap()));
        let show = from_json(&v.to_string(), Path::new("show.json"), Path::new("/nowhere")).unwrap_err();
        // Everything else is relative to /nowhere and missing, but the absolute file is found.
        assert!(!show.problems.iter().any(|p| p.json_path == "scenes[0].cues[0].file"), "{show}");
        assert_problem(&show.problems, "scenes[0].cues[1].file", &["not found"]);
    }

    #[test]
    fn production_and_credits_are_checked_for_their_types_and_ranges() {
        let mut v = base();
        set(&mut v, "/production", json!({ "title": "T", "frame_rate": "29.97DF", "start_timecode": "01:00:00:00" }));
        set(&mut v, "/scenes/0/bed/writers", json!("Ann"));
        set(&mut v, "/scenes/0/cues/0/writers", json!([{ "role": "C", "share": 120 }, { "name": "B", "pen": 1 }]));
        set(&mut v, "/scenes/0/cues/0/publishers", json!([{ "name": "P", "share": "half" }]));
        set(&mut v, "/scenes/0/cues/1/new_use", json!("yes"));
        let p = problems(&v);
        assert_problem(&p, "production.frame_rate", &["\"29.97df\""]);
        assert_problem(&p, "scenes[0].bed.writers", &["expected a list of writers"]);
        assert_problem(&p, "scenes[0].cues[0].writers[0].name", &["missing required field \"name\""]);
        assert_problem(&p, "scenes[0].cues[0].writers[0].share", &["0 to 100", "120"]);
        assert_problem(&p, "scenes[0].cues[0].writers[1].pen", &["unknown field"]);
        assert_problem(&p, "scenes[0].cues[0].publishers[0].share", &["share in percent"]);
        assert_problem(&p, "scenes[0].cues[1].new_use", &["true or false"]);
        let mut v = base();
        set(&mut v, "/production", json!({ "frame_rate": "29.97df", "start_timecode": "00:01:00;01" }));
        assert_problem(&problems(&v), "production.start_timecode", &["drop-frame skips"]);
        set(&mut v, "/production/start_timecode", json!("00:59:59;29"));
        let show = check(&v).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(show.show.production.unwrap().start().to_string(), "00:59:59;29");
    }

    #[test]
    fn missing_show_file_is_reported() {
        let e = load(&media().join("no-such-show.json")).unwrap_err();
        assert_eq!(e.problems.len(), 1);
        assert!(e.problems[0].message.contains("not found"), "{e}");
    }

    #[test]
    fn invalid_json_is_reported_with_line_and_column() {
        let e = from_json("{\n  \"format\": \"segue-show/1\",\n  \"scenes\": [,]\n}", Path::new("show.json"), media())
            .unwrap_err();
        assert_eq!(e.problems.len(), 1);
        assert_eq!(e.problems[0].json_path, "");
        assert!(e.problems[0].message.contains("line 3, column 14"), "{e}");
    }

    #[test]
    fn problems_display_one_line_each_with_file_and_path() {
        let mut v = base();
        set(&mut v, "/scenes/0/cues/1/end", json!(0.5));
        set(&mut v, "/scenes/1/cues/0/pan", json!(3));
        let e = check(&v).unwrap_err();
        let text = e.to_string();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text
            .lines()
            .next()
            .unwrap()
            .starts_with("show.json: scenes[0].cues[1].end: end (0.500 s) must be after start"));
    }

    #[test]
    fn unknown_fields_are_reported_at_every_level_with_the_allowed_names() {
        let mut v = base();
        v["colour"] = json!("red");
        v["duck"]["depth"] = json!(-6);
        v["scenes"][0]["bpm"] = json!(96);
        v["scenes"][0]["bed"]["looping"] = json!(true);
        v["scenes"][1]["transition"]["fade"] = json!(100);
        v["scenes"][0]["cues"][0]["volume"] = json!(1);
        v["scenes"][0]["cues"][1]["follow"]["delay_ms"] = json!(1);
        let p = problems(&v);
        assert_problem(&p, "colour", &["unknown field \"colour\"", "fields allowed in the show: format, name"]);
        assert_problem(&p, "duck.depth", &["did you mean \"depth_db\"?"]);
        assert_problem(&p, "scenes[0].bpm", &["unknown field \"bpm\"", "fields allowed in a scene: id, name, at"]);
        assert_problem(&p, "scenes[0].bed.looping", &["unknown field \"looping\"", "loop_start"]);
        assert_problem(&p, "scenes[1].transition.fade", &["did you mean \"fade_ms\"?"]);
        assert_problem(&p, "scenes[0].cues[0].volume", &["unknown field \"volume\"", "fields allowed in a cue"]);
        assert_problem(&p, "scenes[0].cues[1].follow.delay_ms", &["unknown field", "after, wait_ms"]);
        assert_eq!(p.len(), 7, "{}", ShowErrors { problems: p.clone() });
    }

    #[test]
    fn unknown_field_suggests_the_closest_known_name() {
        let mut v = base();
        v["scenes"][0]["cues"][0]["fade_out"] = json!(100);
        v["scenes"][0]["cues"][1]["fadeInMs"] = json!(100);
        v["scenes"][0]["cues"][1]["nmae"] = json!("x");
        let p = problems(&v);
        assert_problem(
            &p,
            "scenes[0].cues[0].fade_out",
            &["unknown field \"fade_out\"; did you mean \"fade_out_ms\"?"],
        );
        assert_problem(&p, "scenes[0].cues[1].fadeInMs", &["did you mean \"fade_in_ms\"?"]);
        assert_problem(&p, "scenes[0].cues[1].nmae", &["did you mean \"name\"?"]);
    }

    #[test]
    fn wrong_types_say_what_was_expected() {
        let mut v = base();
        set(&mut v, "/name", json!(5));
        set(&mut v, "/scenes/0/bed", json!("bed.wav"));
        set(&mut v, "/scenes/0/cues/0/gain_db", json!("loud"));
        set(&mut v, "/scenes/0/cues/0/loop", json!("yes"));
        set(&mut v, "/scenes/1/cues", json!({}));
        set(&mut v, "/scenes/0/cues/1/file", json!(["a.wav"]));
        let p = problems(&v);
        assert_problem(&p, "name", &["expected a string, found 5"]);
        assert_problem(&p, "scenes[0].bed", &["expected a bed (a JSON object), found the string \"bed.wav\""]);
        assert_problem(&p, "scenes[0].cues[0].gain_db", &["expected a gain in dB"]);
        assert_problem(&p, "scenes[0].cues[0].loop", &["expected true or false"]);
        assert_problem(&p, "scenes[1].cues", &["expected a list of cues, found an object"]);
        assert_problem(&p, "scenes[0].cues[1].file", &["expected a string (the cue's audio file", "found a list"]);

        let e = from_json("[1, 2]", Path::new("show.json"), media()).unwrap_err();
        assert_problem(&e.problems, "", &["expected the show as a JSON object, found a list"]);
    }

    #[test]
    fn missing_required_fields_are_reported() {
        let mut v = base();
        remove(&mut v, "/format");
        remove(&mut v, "/scenes/0/id");
        remove(&mut v, "/scenes/0/bed/file");
        remove(&mut v, "/scenes/0/cues/0/id");
        remove(&mut v, "/scenes/1/cues/0/file");
        remove(&mut v, "/scenes/0/cues/1/follow/after");
        let p = problems(&v);
        assert_problem(&p, "format", &["missing required field \"format\""]);
        assert_problem(&p, "scenes[0].id", &["missing required field \"id\""]);
        assert_problem(&p, "scenes[0].bed.file", &["missing required field \"file\""]);
        assert_problem(&p, "scenes[0].cues[0].id", &["missing required field \"id\""]);
        assert_problem(&p, "scenes[1].cues[0].file", &["missing required field \"file\""]);
        assert_problem(&p, "scenes[0].cues[1].follow.after", &["missing required field \"after\""]);

        let p = problems(&json!({ "format": "segue-show/1" }));
        assert_problem(&p, "scenes", &["missing required field \"scenes\""]);
    }

    #[test]
    fn wrong_format_is_reported() {
        let mut v = base();
        set(&mut v, "/format", json!("segue-show/0"));
        assert_problem(&problems(&v), "format", &["expected \"segue-show/1\""]);
    }

    #[test]
    fn newer_format_asks_for_a_newer_segue() {
        let mut v = base();
        set(&mut v, "/format", json!("segue-show/2"));
        assert_problem(&problems(&v), "format", &["segue-show/2", "needs a newer version of Segue"]);
    }

    #[test]
    fn duplicate_scene_ids_are_reported() {
        let mut v = base();
        set(&mut v, "/scenes/1/id", json!("open"));
        assert_problem(&problems(&v), "scenes[1].id", &["duplicate scene id \"open\"", "scenes[0].id"]);
    }

    #[test]
    fn duplicate_cue_ids_are_reported_across_scenes() {
        let mut v = base();
        set(&mut v, "/scenes/1/cues/0/id", json!("a"));
        assert_problem(&problems(&v), "scenes[1].cues[0].id", &["duplicate cue id \"a\"", "scenes[0].cues[0].id"]);
    }

    #[test]
    fn follow_of_an_unknown_cue_is_reported() {
        let mut v = base();
        set(&mut v, "/scenes/0/cues/1/follow/after", json!("aa"));
        assert_problem(&problems(&v), "scenes[0].cues[1].follow.after", &["no cue has id \"aa\""]);
        set(&mut v, "/scenes/0/cues/1/follow/after", json!("C"));
        assert_problem(&problems(&v), "scenes[0].cues[1].follow.after", &["no cue has id \"C\"; did you mean \"c\"?"]);
    }

    #[test]
    fn follow_cycle_is_reported_with_its_path() {
        let mut v = base();
        v["scenes"][0]["cues"][0]["follow"] = json!({ "after": "c" });
        v["scenes"][1]["cues"][0]["follow"] = json!({ "after": "b" });
        let p = problems(&v);
        // b follows a, c follows b, a follows c.
        assert_problem(&p, "scenes[0].cues[0].follow.after", &["follow cycle a -> b -> c -> a"]);
        assert_eq!(p.len(), 1, "{}", ShowErrors { problems: p.clone() });
    }

    #[test]
    fn two_cue_follow_cycle_is_reported_once() {
        let mut v = base();
        v["scenes"][0]["cues"][0]["follow"] = json!({ "after": "b" });
        let p = problems(&v);
        assert_problem(&p, "scenes[0].cues[0].follow.after", &["follow cycle a -> b -> a"]);
        assert_eq!(p.len(), 1, "{}", ShowErrors { problems: p.clone() });
    }

    #[test]
    fn self_follow_is_reported_as_a_cycle() {
        let mut v = base();
        v["scenes"][1]["cues"][0]["follow"] = json!({ "after": "c" });
        assert_problem(&problems(&v), "scenes[1].cues[0].follow.after", &["follows itself (c -> c)"]);
    }

    #[test]
    fn cue_end_not_after_start_is_reported() {
        let mut v = base();
        set(&mut v, "/scenes/0/cues/1/end", json!("00:01.000"));
        assert_problem(&problems(&v), "scenes[0].cues[1].end", &["end (1.000 s) must be after start (1.000 s)"]);
        set(&mut v, "/scenes/0/cues/1/end", json!(0.5));
        assert_problem(&problems(&v), "scenes[0].cues[1].end", &["must be after start"]);
        v["scenes"][0]["cues"][0]["end"] = json!(0);
        assert_problem(&problems(&v), "scenes[0].cues[0].end", &["must be after the file's start"]);
    }

    #[test]
    fn negative_times_are_reported() {
        let mut v = base();
        set(&mut v, "/scenes/0/cues/0/at", json!(-1));
        set(&mut v, "/scenes/1/at", json!(-30.5));
        let p = problems(&v);
        assert_problem(&p, "scenes[0].cues[0].at", &["times cannot be negative"]);
        assert_problem(&p, "scenes[1].at", &["-30.5"]);
    }

    #[test]
    fn unreadable_time_strings_are_reported() {
        let mut v = base();
        set(&mut v, "/scenes/1/at", json!("half past"));
        set(&mut v, "/scenes/0/cues/1/start", json!("1:75.0"));
        set(&mut v, "/scenes/0/cues/0/at", json!(true));
        let p = problems(&v);
        assert_problem(&p, "scenes[1].at", &["\"half past\" is not a time", "MM:SS.mmm"]);
        assert_problem(&p, "scenes[0].cues[1].start", &["\"1:75.0\" is not a time"]);
        assert_problem(&p, "scenes[0].cues[0].at", &["expected a time", "found true"]);
    }

    #[test]
    fn loop_end_not_after_loop_start_is_reported() {
        let mut v = base();
        set(&mut v, "/scenes/0/bed/loop_end", json!(0.25));
        assert_problem(
            &problems(&v),
            "scenes[0].bed.loop_end",
            &["loop_end (0.250 s) must be after loop_start (0.500 s)"],
        );
    }

    #[test]
    fn notes_outside_the_midi_range_are_reported() {
        let mut v = base();
        set(&mut v, "/scenes/0/note", json!(128));
        set(&mut v, "/scenes/0/cues/0/note", json!(-1));
        set(&mut v, "/scenes/0/cues/1/note", json!(60.5));
        let p = problems(&v);
        assert_problem(&p, "scenes[0].note", &["expected a MIDI note number 0..=127, found 128"]);
        assert_problem(&p, "scenes[0].cues[0].note", &["0..=127, found -1"]);
        assert_problem(&p, "scenes[0].cues[1].note", &["0..=127, found 60.5"]);
    }

    #[test]
    fn pan_outside_minus_one_to_one_is_reported() {
        let mut v = base();
        set(&mut v, "/scenes/1/cues/0/pan", json!(-1.5));
        assert_problem(&problems(&v), "scenes[1].cues[0].pan", &["from -1 (left) to 1 (right), found -1.5"]);
    }

    #[test]
    fn negative_fades_and_waits_are_reported() {
        let mut v = base();
        set(&mut v, "/scenes/1/cues/0/fade_out_ms", json!(-200));
        set(&mut v, "/scenes/1/transition/fade_ms", json!(-1));
        set(&mut v, "/scenes/0/cues/1/follow/wait_ms", json!(-5));
        v["panic_ms"] = json!(-1);
        v["duck"]["release_ms"] = json!(-100);
        v["scenes"][0]["cues"][0]["duck_attack_ms"] = json!(-3);
        let p = problems(&v);
        for path in [
            "scenes[1].cues[0].fade_out_ms",
            "scenes[1].transition.fade_ms",
            "scenes[0].cues[1].follow.wait_ms",
            "panic_ms",
            "duck.release_ms",
            "scenes[0].cues[0].duck_attack_ms",
        ] {
            assert_problem(&p, path, &["expected a number of milliseconds, from 0 to 86400000"]);
        }
    }

    #[test]
    fn positive_duck_depths_are_reported() {
        let mut v = base();
        set(&mut v, "/duck/depth_db", json!(6));
        set(&mut v, "/scenes/1/cues/0/duck_db", json!(3));
        let p = problems(&v);
        assert_problem(&p, "duck.depth_db", &["from -144 to 0", "found 6"]);
        assert_problem(&p, "scenes[1].cues[0].duck_db", &["from -144 to 0", "found 3"]);
    }

    #[test]
    fn tempo_must_be_positive_and_bars_need_beats() {
        let mut v = base();
        set(&mut v, "/scenes/0/bed/tempo_bpm", json!(0));
        set(&mut v, "/scenes/1/bed/beats_per_bar", json!(0));
        let p = problems(&v);
        assert_problem(&p, "scenes[0].bed.tempo_bpm", &["more than 0 and at most 1000, found 0"]);
        assert_problem(&p, "scenes[1].bed.beats_per_bar", &["1 or more, found 0"]);
    }

    #[test]
    fn unknown_curve_and_quantize_names_are_reported() {
        let mut v = base();
        set(&mut v, "/scenes/1/transition/curve", json!("equal-power"));
        set(&mut v, "/scenes/1/transition/quantize", json!("phrase"));
        let p = problems(&v);
        assert_problem(
            &p,
            "scenes[1].transition.curve",
            &["\"linear\", \"equal_power\", \"s_curve\"", "did you mean \"equal_power\"?"],
        );
        assert_problem(
            &p,
            "scenes[1].transition.quantize",
            &["one of \"none\", \"beat\", \"bar\", found the string \"phrase\""],
        );
    }

    #[test]
    fn cue_numbers_are_qlab_or_film_cue_numbers_and_unique() {
        let mut v = base();
        set(&mut v, "/scenes/0/cues/0/number", json!("12.5"));
        set(&mut v, "/scenes/1/cues/0/number", json!("12.5"));
        set(&mut v, "/scenes/0/cues/1/number", json!(7));
        let p = problems(&v);
        assert_problem(
            &p,
            "scenes[1].cues[0].number",
            &["cue number \"12.5\" is used twice", "scenes[0].cues[0].number"],
        );
        assert_problem(&p, "scenes[0].cues[1].number", &["film cue number", "like \"12\""]);
        assert_eq!(p.len(), 2, "{p:?}");
        // Film cue numbers, the standard in music editing; one number in either case.
        let mut v = base();
        set(&mut v, "/scenes/0/cues/0/number", json!("1M1"));
        set(&mut v, "/scenes/0/cues/1/number", json!("101-3"));
        set(&mut v, "/scenes/1/cues/0/number", json!("2M14A"));
        assert!(check(&v).is_ok(), "{:?}", check(&v).err());
        set(&mut v, "/scenes/1/cues/0/number", json!("1m1"));
        assert_problem(&problems(&v), "scenes[1].cues[0].number", &["cue number \"1M1\" is used twice"]);
        for bad in ["", "-1", "1 M 1", "1M1/2", "12345678901234567"] {
            set(&mut v, "/scenes/1/cues/0/number", json!(bad));
            assert_problem(&problems(&v), "scenes[1].cues[0].number", &["film cue number"]);
        }
    }

    #[test]
    fn duplicate_midi_notes_name_both_users() {
        let mut v = base();
        set(&mut v, "/scenes/1/cues/0/note", json!(36));
        assert_problem(
            &problems(&v),
            "scenes[1].cues[0].note",
            &["MIDI note 36 is used twice", "scene \"open\" (scenes[0].note)", "cue \"c\""],
        );
        let mut v = base();
        set(&mut v, "/scenes/0/cues/1/note", json!(60));
        assert_problem(&problems(&v), "scenes[0].cues[1].note", &["cue \"a\" (scenes[0].cues[0].note)", "cue \"b\""]);
    }

    #[test]
    fn missing_audio_files_are_reported_once_with_every_use() {
        let mut v = base();
        set(&mut v, "/scenes/0/cues/0/file", json!("gone.wav"));
        set(&mut v, "/scenes/0/cues/1/file", json!("gone.wav"));
        let p = problems(&v);
        assert_eq!(p.len(), 1, "{}", ShowErrors { problems: p.clone() });
        assert_problem(
            &p,
            "scenes[0].cues[0].file",
            &["gone.wav: audio file not found", "also used at scenes[0].cues[1].file"],
        );
    }

    #[test]
    fn unreadable_audio_files_are_reported() {
        let mut v = base();
        set(&mut v, "/scenes/1/cues/0/file", json!("folder.wav"));
        assert_problem(&problems(&v), "scenes[1].cues[0].file", &["folder.wav: cannot read", "folder"]);
    }

    #[test]
    fn unsupported_audio_is_reported_with_what_to_do() {
        let mut v = base();
        set(&mut v, "/scenes/0/bed/file", json!("song.flac"));
        set(&mut v, "/scenes/1/bed/file", json!("empty.wav"));
        let p = problems(&v);
        assert_problem(&p, "scenes[0].bed.file", &["song.flac", "starts as FLAC but ends before its audio does"]);
        assert_problem(&p, "scenes[1].bed.file", &["empty.wav", "has no audio"]);
    }

    #[test]
    fn times_past_the_end_of_the_file_are_reported_with_its_length() {
        let mut v = base();
        set(&mut v, "/scenes/0/cues/1/end", json!(6)); // song.wav is 5 s long
        v["scenes"][0]["cues"][0]["start"] = json!("00:05.000");
        set(&mut v, "/scenes/0/bed/loop_end", json!(12)); // bed.wav is 10 s long
        set(&mut v, "/scenes/0/bed/loop_start", json!(10));
        let p = problems(&v);
        assert_problem(
            &p,
            "scenes[0].cues[1].end",
            &["end (6.000 s) is past the end of \"song.wav\", which is 5.000 s long"],
        );
        assert_problem(&p, "scenes[0].cues[0].start", &["start (5.000 s) is at or past the end of \"song.wav\""]);
        assert_problem(&p, "scenes[0].bed.loop_end", &["loop_end (12.000 s)", "10.000 s long"]);
        assert_problem(&p, "scenes[0].bed.loop_start", &["loop_start (10.000 s) is at or past the end"]);
    }

    #[test]
    fn an_end_at_the_files_length_is_fine() {
        let mut v = base();
        set(&mut v, "/scenes/0/cues/1/end", json!("00:05.000"));
        check(&v).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn show_end_must_be_after_zero() {
        let mut v = base();
        v["end"] = json!(0);
        assert_problem(&problems(&v), "end", &["after 0, found 0.000 s"]);
        v["end"] = json!("01:00.000");
        assert_eq!(check(&v).unwrap().show.end, Some(crate::show::Seconds(60.0)));
    }

    #[test]
    fn timed_cue_in_a_scene_entered_by_command_is_accepted() {
        let mut v = base();
        remove(&mut v, "/scenes/1/at");
        v["scenes"][1]["cues"][0]["at"] = json!(2);
        let show = check(&v).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(show.show.scenes[1].at, None);
    }

    #[test]
    fn null_means_absent_only_for_optional_fields() {
        let mut v = base();
        v["end"] = Value::Null;
        set(&mut v, "/scenes/0/note", Value::Null);
        check(&v).unwrap_or_else(|e| panic!("{e}"));
        set(&mut v, "/scenes/0/cues/0/gain_db", Value::Null);
        assert_problem(&problems(&v), "scenes[0].cues[0].gain_db", &["found null"]);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut v = base();
        set(&mut v, "/format", json!("segue-show/3"));
        v["scenes"][0]["cues"][0]["fade_out"] = json!(100);
        set(&mut v, "/scenes/0/cues/1/end", json!(0.5));
        set(&mut v, "/scenes/1/id", json!("open"));
        set(&mut v, "/scenes/1/cues/0/pan", json!(2));
        set(&mut v, "/scenes/1/cues/0/note", json!(60));
        set(&mut v, "/scenes/1/transition/curve", json!("log"));
        set(&mut v, "/scenes/1/bed/file", json!("missing.wav"));
        v["scenes"][0]["cues"][0]["follow"] = json!({ "after": "b" });
        let p = problems(&v);
        for path in [
            "format",
            "scenes[0].cues[0].fade_out",
            "scenes[0].cues[1].end",
            "scenes[1].id",
            "scenes[1].cues[0].pan",
            "scenes[1].cues[0].note",
            "scenes[1].transition.curve",
            "scenes[1].bed.file",
            "scenes[0].cues[0].follow.after",
        ] {
            assert!(p.iter().any(|x| x.json_path == path), "nothing at {path}: {}", ShowErrors { problems: p.clone() });
        }
        assert_eq!(p.len(), 9, "{}", ShowErrors { problems: p.clone() });
    }

    #[test]
    fn odd_field_names_get_bracketed_paths() {
        let mut v = base();
        v["scenes"][0]["my field"] = json!(1);
        assert_problem(&problems(&v), "scenes[0][\"my field\"]", &["unknown field \"my field\""]);
    }

    #[test]
    fn closest_names_are_found_for_typos_only() {
        assert_eq!(closest("fade_out", CUE.fields), Some("fade_out_ms"));
        assert_eq!(closest("nmae", CUE.fields), Some("name"));
        assert_eq!(closest("Gain-dB", CUE.fields), Some("gain_db"));
        assert_eq!(closest("colour", SHOW.fields), None);
        assert_eq!(closest("xy", SCENE.fields), None);
    }
}
