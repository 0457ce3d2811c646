//! Compressed and other non-WAV audio (loader and control side, never the audio thread): MP3,
//! AAC and ALAC in M4A/MP4, FLAC, Ogg Vorbis, AIFF/AIFC, and WAVs hound does not read (64-bit
//! float, A-law...), decoded with symphonia 0.5 into frames of the file's own rate, folded to
//! mono or stereo.
//!
//! Positions are exact to the frame: frame 0 is the song's first real sample (an MP3's encoder
//! delay and padding trimmed through its LAME/Xing header, symphonia's gapless mode; an AAC's
//! priming samples trimmed from the MP4 edit list or the iTunSMPB tag, which symphonia reads but
//! does not apply), and a seek goes to a packet well before the target and decodes forward,
//! dropping what comes before it, so a stream opened mid-file holds the samples a stream from
//! the start has there.
//!
//! More than two channels are folded to stereo: 5.1 by ITU-R BS.775 (L + 0.7071 C + 0.7071 Ls,
//! R + 0.7071 C + 0.7071 Rs, the LFE left out); any other layout by position (left channels to
//! the left, right ones to the right, centre ones to both at 0.7071, the LFE left out; channels
//! with no position: the first left, the second right, the rest to both at 0.7071).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::stream::probe::AudioFormat;
use symphonia::core::audio::{Channels, SampleBuffer};
use symphonia::core::codecs::{Decoder, DecoderOptions, CODEC_TYPE_AAC, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader, SeekMode, SeekTo};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Frames decoded before a seek target and dropped, so the decoder's state (MDCT overlap, MP3's
/// bit reservoir and filter bank, Vorbis' previous block) is what it is when playing through.
const PREROLL: u64 = 8192;

/// A file opened for decoding.
pub struct Decoded {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track: u32,
    /// Codec timestamps of frame 0 (AAC priming trimmed by us; 0 where symphonia trims).
    lead: u64,
    /// Frames in the file (trimmed), 1 or 2 channels out.
    pub rate: u32,
    pub channels: u16,
    pub frames: u64,
    pub file_format: AudioFormat,
    fold: Fold,
    /// Decoded frames not handed out yet (interleaved, source channels), from `pending_at`
    /// (file frame of `pending[0]`).
    pending: Vec<f32>,
    pending_pos: usize,
    pending_at: u64,
    /// Next file frame `read` hands out.
    pos: u64,
    samples: Option<SampleBuffer<f32>>,
    path: String,
    /// Opened and nothing read or sought yet.
    fresh: bool,
    /// The decoder panicked: every call is an error from then on.
    broken: bool,
    /// The frame the next packet should start at (`None` right after opening or a seek).
    next_expected: Option<u64>,
}

/// How source channels become the output's one or two.
#[derive(Debug, Clone)]
enum Fold {
    Same,
    /// Per source channel, its gain into left and right.
    Matrix(Vec<[f32; 2]>),
}

const HALF_POWER: f32 = std::f32::consts::FRAC_1_SQRT_2;

fn fold_for(channels: Option<Channels>, count: usize) -> Fold {
    if count <= 2 {
        return Fold::Same;
    }
    let Some(channels) = channels.filter(|c| c.count() == count) else {
        let m = (0..count)
            .map(|i| match i {
                0 => [1.0, 0.0],
                1 => [0.0, 1.0],
                _ => [HALF_POWER, HALF_POWER],
            })
            .collect();
        return Fold::Matrix(m);
    };
    let left = Channels::FRONT_LEFT;
    let right = Channels::FRONT_RIGHT;
    let lefts = Channels::REAR_LEFT
        | Channels::SIDE_LEFT
        | Channels::FRONT_LEFT_CENTRE
        | Channels::FRONT_LEFT_WIDE
        | Channels::FRONT_LEFT_HIGH
        | Channels::TOP_FRONT_LEFT
        | Channels::TOP_REAR_LEFT
        | Channels::REAR_LEFT_CENTRE;
    let rights = Channels::REAR_RIGHT
        | Channels::SIDE_RIGHT
        | Channels::FRONT_RIGHT_CENTRE
        | Channels::FRONT_RIGHT_WIDE
        | Channels::FRONT_RIGHT_HIGH
        | Channels::TOP_FRONT_RIGHT
        | Channels::TOP_REAR_RIGHT
        | Channels::REAR_RIGHT_CENTRE;
    let lfe = Channels::LFE1 | Channels::LFE2;
    // Channel i of the stream is the i-th set bit of the mask (symphonia's order).
    let m = channels
        .iter()
        .map(|c| {
            if c == left {
                [1.0, 0.0]
            } else if c == right {
                [0.0, 1.0]
            } else if lfe.contains(c) {
                [0.0, 0.0]
            } else if lefts.contains(c) {
                [HALF_POWER, 0.0]
            } else if rights.contains(c) {
                [0.0, HALF_POWER]
            } else {
                // Centres (front, rear, top).
                [HALF_POWER, HALF_POWER]
            }
        })
        .collect();
    Fold::Matrix(m)
}

/// The codec's name as people say it; lossy or not.
fn codec_name(codec: symphonia::core::codecs::CodecType, path: &Path) -> (&'static str, bool) {
    use symphonia::core::codecs as c;
    match codec {
        c::CODEC_TYPE_MP3 => ("MP3", true),
        c::CODEC_TYPE_MP2 => ("MP2", true),
        c::CODEC_TYPE_MP1 => ("MP1", true),
        c::CODEC_TYPE_AAC => ("AAC", true),
        c::CODEC_TYPE_VORBIS => ("Vorbis", true),
        c::CODEC_TYPE_FLAC => ("FLAC", false),
        c::CODEC_TYPE_ALAC => ("ALAC", false),
        c::CODEC_TYPE_OPUS => ("Opus", true),
        _ => {
            let aiff =
                matches!(path.extension().and_then(|e| e.to_str()), Some("aif" | "aiff" | "aifc" | "AIF" | "AIFF"));
            (if aiff { "AIFF" } else { "WAV" }, false)
        }
    }
}

/// The container's name, from the file's first bytes, for messages about what symphonia cannot
/// decode.
fn container(path: &Path) -> Option<&'static str> {
    let mut head = [0u8; 64];
    let n = File::open(path).and_then(|mut f| f.read(&mut head)).ok()?;
    let head = &head[..n];
    if head.starts_with(b"OggS") {
        if head.windows(8).any(|w| w == b"OpusHead") {
            return Some("Opus (in Ogg)");
        }
        return Some("Ogg");
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return Some("MP4/M4A");
    }
    if head.starts_with(b"\x1A\x45\xDF\xA3") {
        return Some("Matroska/WebM");
    }
    if head.starts_with(b"fLaC") {
        return Some("FLAC");
    }
    None
}

/// Why a file cannot be decoded, in words: what it is and what to do.
fn unsupported(path: &Path, e: &SymphoniaError) -> String {
    let convert = "convert it to WAV or FLAC (or MP3, AAC-LC in M4A)";
    let cut_short = matches!(e, SymphoniaError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof);
    match container(path) {
        Some("Opus (in Ogg)") => format!("Opus is not supported: {convert}"),
        Some("Matroska/WebM") => format!("Matroska/WebM files are not supported: {convert}"),
        Some(kind) if cut_short => {
            format!("it starts as {kind} but ends before its audio does: the file is truncated or damaged")
        }
        Some(kind) => format!("its {kind} audio cannot be read ({e}): the file is damaged, or {convert}"),
        None => format!(
            "it is not an audio file Segue can read ({e}); Segue plays WAV, AIFF, FLAC, MP3, Ogg Vorbis, and AAC or ALAC in M4A"
        ),
    }
}

impl Decoded {
    /// Opens `path` for decoding (frame 0 next). A decoder that panics on a malformed file (a
    /// few of symphonia's do) gives an error, never takes the thread down.
    pub fn open(path: &Path) -> Result<Decoded, String> {
        guarded(|| Decoded::open_inner(path)).unwrap_or_else(Err)
    }

    fn open_inner(path: &Path) -> Result<Decoded, String> {
        mp4_tables_fit(path)?;
        flac_blocks_fit(path)?;
        ogg_comments_fit(path)?;
        let file = File::open(path).map_err(|e| e.to_string())?;
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let options = FormatOptions { enable_gapless: true, ..Default::default() };
        let probed = symphonia::default::get_probe()
            .format(&hint, mss, &options, &MetadataOptions::default())
            .map_err(|e| unsupported(path, &e))?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| "it holds no audio track".to_string())?;
        let params = track.codec_params.clone();
        let (codec, lossy) = codec_name(params.codec, path);
        let decoder = symphonia::default::get_codecs().make(&params, &DecoderOptions::default()).map_err(|e| {
            let convert = "convert it to WAV or FLAC (or MP3, AAC-LC in M4A)";
            if container(path) == Some("MP4/M4A") && params.codec == CODEC_TYPE_AAC {
                format!("this AAC cannot be decoded (HE-AAC, or protected by DRM?) ({e}): {convert}")
            } else if codec == "Opus" {
                format!("Opus is not supported: {convert}")
            } else {
                format!("its {codec} audio cannot be decoded ({e}): {convert}")
            }
        })?;
        // Some containers leave the rate and channels to the codec (AAC and ALAC in MP4).
        let rate = params.sample_rate.or(decoder.codec_params().sample_rate).unwrap_or(0);
        let channels = params.channels.or(decoder.codec_params().channels);
        let source_channels = channels.map_or(0, |c| c.count());
        // MP3: symphonia trims delay and padding (gapless mode); its numbers are for `check`.
        let (mut delay, mut padding) = (params.delay.unwrap_or(0) as u64, params.padding.unwrap_or(0) as u64);
        let mut lead = 0;
        let mut frames = params.n_frames;
        if params.codec == CODEC_TYPE_AAC {
            if let Some(trim) = mp4_priming(path, rate) {
                lead = trim.priming;
                delay = trim.priming;
                if let Some(length) = trim.length {
                    let total = params.n_frames.unwrap_or(length + lead);
                    padding = total.saturating_sub(lead + length);
                    frames = Some(length);
                } else {
                    frames = params.n_frames.map(|n| n.saturating_sub(lead + trim.padding));
                    padding = trim.padding;
                }
            }
        }
        // An MP3 without a LAME/Xing header and a raw ADTS stream get a length symphonia
        // estimates from the bitrate: count the packets instead.
        let estimated = (params.codec == symphonia::core::codecs::CODEC_TYPE_MP3 && params.delay.is_none())
            || (params.codec == CODEC_TYPE_AAC && container(path) != Some("MP4/M4A"));
        if estimated {
            frames = None;
        }
        let id = track.id;
        let mut decoded = Decoded {
            format,
            decoder,
            track: id,
            lead,
            rate,
            channels: if source_channels <= 1 { 1 } else { 2 },
            frames: 0,
            file_format: AudioFormat { codec, source_channels: source_channels as u16, delay, padding, lossy },
            fold: fold_for(channels, source_channels),
            pending: Vec::new(),
            pending_pos: 0,
            pending_at: 0,
            pos: 0,
            samples: None,
            path: path.display().to_string(),
            fresh: true,
            broken: false,
            next_expected: None,
        };
        if rate == 0 || source_channels == 0 {
            // The first packet's audio says (it stays as the first to hand out).
            decoded.frames = u64::MAX;
            if !decoded.decode_packet()? || decoded.rate == 0 {
                return Err("it holds no audio (no packet decodes)".into());
            }
        }
        decoded.frames = match frames {
            Some(n) => n,
            // No length in the header (an MP3 without a Xing tag, some Ogg files): count the
            // packets (no decoding), then start again.
            None => {
                let n = decoded.count_frames()?;
                decoded.fresh = false;
                decoded.frames = n;
                decoded.seek(0)?;
                n
            }
        };
        Ok(decoded)
    }

    fn count_frames(&mut self) -> Result<u64, String> {
        let mut end = 0u64;
        loop {
            match self.format.next_packet() {
                Ok(p) if p.track_id() == self.track => end = end.max(p.ts + p.dur),
                Ok(_) => {}
                Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(format!("cannot read it to its end: {e}")),
            }
        }
        Ok(end.saturating_sub(self.lead))
    }

    /// Moves to file frame `frame` exactly (through a packet well before it).
    pub fn seek(&mut self, frame: u64) -> Result<(), String> {
        self.guard(|d| d.seek_inner(frame))
    }

    fn seek_inner(&mut self, frame: u64) -> Result<(), String> {
        let frame = frame.min(self.frames);
        if std::mem::take(&mut self.fresh) && frame == 0 {
            // Just opened: what comes next is frame 0 already.
            return Ok(());
        }
        self.pending.clear();
        self.pending_pos = 0;
        self.pos = frame;
        self.next_expected = None;
        let from = (frame + self.lead).saturating_sub(PREROLL);
        let to = SeekTo::TimeStamp { ts: from, track_id: self.track };
        // Wherever the seek lands (at or before `from`), the packets' own timestamps say where
        // they are, and decoding forward gets to the frame.
        self.format.seek(SeekMode::Accurate, to).map_err(|e| format!("cannot seek in it: {e}"))?;
        self.decoder.reset();
        self.skip_to(frame)
    }

    /// Decodes and drops until the next frame handed out is `frame`.
    fn skip_to(&mut self, frame: u64) -> Result<(), String> {
        loop {
            if !self.pending.is_empty() {
                let ch = self.file_format.source_channels as usize;
                let start = self.pending_at;
                let end = start + (self.pending.len() / ch) as u64;
                if frame < end && frame >= start {
                    self.pending_pos = ((frame - start) as usize) * ch;
                    return Ok(());
                }
                if frame < start {
                    // Landed after the target: nothing before this packet can be had.
                    self.pending_pos = 0;
                    return Ok(());
                }
            }
            if !self.decode_packet()? {
                // Past the end: nothing left to hand out.
                self.pending.clear();
                self.pending_pos = 0;
                return Ok(());
            }
        }
    }

    /// Decodes the next packet of the track into `pending`; false at the end of the file.
    fn decode_packet(&mut self) -> Result<bool, String> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(p) => p,
                Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
                Err(SymphoniaError::ResetRequired) => {
                    self.decoder.reset();
                    continue;
                }
                Err(e) => return Err(format!("cannot read {}: {e}", self.path)),
            };
            if packet.track_id() != self.track {
                continue;
            }
            let ts = packet.ts;
            let decoded = match self.decoder.decode(&packet) {
                Ok(d) => d,
                // A damaged packet: skipped; the next one's timestamp fills its time with silence.
                Err(SymphoniaError::DecodeError(_)) => continue,
                Err(e) => return Err(format!("cannot decode {}: {e}", self.path)),
            };
            let spec = *decoded.spec();
            let frames = decoded.frames();
            if spec.channels.count() == 0 || spec.rate == 0 {
                return Err(format!("cannot decode {}: a packet claims no channels or no rate", self.path));
            }
            if self.file_format.source_channels == 0 {
                let count = spec.channels.count();
                self.file_format.source_channels = count as u16;
                self.channels = if count <= 1 { 1 } else { 2 };
                self.fold = fold_for(Some(spec.channels), count);
            }
            if self.rate == 0 {
                self.rate = spec.rate;
            }
            let samples = match &mut self.samples {
                Some(s) if s.capacity() >= frames * spec.channels.count() => s,
                slot => slot.insert(SampleBuffer::new(frames.max(4096) as u64, spec)),
            };
            samples.copy_interleaved_ref(decoded);
            let ch = self.file_format.source_channels as usize;
            let got = samples.samples();
            // Our frame 0 is codec timestamp `lead`: drop what comes before it.
            let (first, skip) = if ts >= self.lead { (ts - self.lead, 0) } else { (0, (self.lead - ts) as usize) };
            let skip = skip.min(got.len() / ch);
            self.pending.clear();
            // A damaged packet skipped before this one leaves its time as silence, so what
            // follows stays on its frames (up to a second; more is no gap but a jump).
            let mut first = first;
            if let Some(expected) = self.next_expected.filter(|&e| first > e && first - e <= self.rate as u64) {
                self.pending.resize(((first - expected) as usize) * ch, 0.0);
                first = expected;
            }
            self.pending.extend_from_slice(&got[skip * ch..]);
            self.pending_pos = 0;
            self.pending_at = first;
            if !self.pending.is_empty() {
                self.next_expected = Some(first + (self.pending.len() / ch) as u64);
                return Ok(true);
            }
        }
    }

    /// Decodes up to `n` frames into the planar `out` (one or two channels) from index `at`;
    /// fewer only at the end of the file.
    pub fn read(&mut self, out: &mut [Vec<f32>], at: usize, n: usize) -> Result<usize, String> {
        self.guard(|d| d.read_inner(out, at, n))
    }

    /// Runs `f`; after a panic in the decoder the file is given up for good.
    fn guard<T>(&mut self, f: impl FnOnce(&mut Decoded) -> Result<T, String>) -> Result<T, String> {
        if self.broken {
            return Err(format!("{}: its decoder failed earlier (the file is damaged)", self.path));
        }
        guarded(|| f(self)).unwrap_or_else(|panicked| {
            self.broken = true;
            Err(panicked)
        })
    }

    fn read_inner(&mut self, out: &mut [Vec<f32>], at: usize, n: usize) -> Result<usize, String> {
        let ch = self.file_format.source_channels as usize;
        let mut done = 0;
        while done < n && self.pos < self.frames {
            if self.pending_pos >= self.pending.len() {
                self.fresh = false;
                if !self.decode_packet()? {
                    break;
                }
                continue;
            }
            let left = (self.frames - self.pos) as usize;
            let have = (self.pending.len() - self.pending_pos) / ch;
            let k = (n - done).min(have).min(left);
            let src = &self.pending[self.pending_pos..self.pending_pos + k * ch];
            match (&self.fold, out.len()) {
                (Fold::Same, 1) => out[0][at + done..at + done + k].copy_from_slice(&src[..k]),
                (Fold::Same, _) => {
                    for (i, f) in src.chunks_exact(ch).enumerate() {
                        out[0][at + done + i] = f[0];
                        out[1][at + done + i] = f[ch.min(2) - 1];
                    }
                }
                (Fold::Matrix(m), _) => {
                    for (i, f) in src.chunks_exact(ch).enumerate() {
                        let (mut l, mut r) = (0.0, 0.0);
                        for (x, g) in f.iter().zip(m) {
                            l += x * g[0];
                            r += x * g[1];
                        }
                        out[0][at + done + i] = l;
                        out[1][at + done + i] = r;
                    }
                }
            }
            self.pending_pos += k * ch;
            self.pos += k as u64;
            done += k;
        }
        Ok(done)
    }
}

/// Runs `f`; a panic inside it (symphonia on a malformed file) comes back as the outer error,
/// in words.
fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<Result<T, String>, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        let why = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        format!("the decoder failed on it (the file is damaged?): {why}")
    })
}

/// An AAC file's priming and length, from its MP4 edit list or iTunSMPB tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priming {
    pub priming: u64,
    pub padding: u64,
    /// The real length in frames, when the edit list gives it.
    pub length: Option<u64>,
}

/// Reads the first sound track's edit list (`moov/trak/edts/elst`: media time = priming,
/// segment duration = length) or, without one, the iTunSMPB tag.
/// Times come in the track's media timescale (the edit's duration in the movie's); both are
/// turned into frames at the stream's `rate` (most files use the sample rate as the media
/// timescale, but not all).
pub fn mp4_priming(path: &Path, rate: u32) -> Option<Priming> {
    let mut file = File::open(path).ok()?;
    let len = file.seek(SeekFrom::End(0)).ok()?;
    let moov = find_box(&mut file, 0, len, b"moov")?;
    let moov_data = read_box(&mut file, moov)?;
    let movie_scale = child(&moov_data, b"mvhd").and_then(|m| timescale(m, 12, 20));
    let mut at = 0;
    while let Some((kind, body, next)) = next_box(&moov_data, at) {
        at = next;
        if kind != *b"trak" {
            continue;
        }
        let mdia = child(body, b"mdia")?;
        let is_sound = child(mdia, b"hdlr").is_some_and(|h| h.get(8..12) == Some(b"soun"));
        if !is_sound {
            continue;
        }
        let media_scale = child(mdia, b"mdhd").and_then(|m| timescale(m, 12, 20));
        if let Some(elst) = child(body, b"edts").and_then(|e| child(e, b"elst")) {
            let version = *elst.first()?;
            let count = u32::from_be_bytes(elst.get(4..8)?.try_into().ok()?);
            if count >= 1 {
                let (duration, media_time) = if version == 1 {
                    (be_u64(elst.get(8..16)?), be_u64(elst.get(16..24)?) as i64)
                } else {
                    (
                        u32::from_be_bytes(elst.get(8..12)?.try_into().ok()?) as u64,
                        i32::from_be_bytes(elst.get(12..16)?.try_into().ok()?) as i64,
                    )
                };
                if media_time >= 0 {
                    // Without a rate (a file that does not say), the media timescale is taken for it.
                    let rate = if rate > 0 { rate as u128 } else { media_scale.unwrap_or(1) as u128 };
                    let to_frames =
                        |t: u128, scale: u64| u64::try_from((t * rate + scale as u128 / 2) / scale as u128).ok();
                    let priming = match media_scale {
                        Some(md) if md > 0 => to_frames(media_time as u128, md)?,
                        _ => media_time as u64,
                    };
                    let length = match movie_scale {
                        Some(mv) if mv > 0 && duration > 0 => to_frames(duration as u128, mv),
                        _ => None,
                    };
                    return Some(Priming { priming, padding: 0, length });
                }
            }
        }
        break;
    }
    itunsmpb(&moov_data)
}

/// `iTunSMPB`: " 00000000 PPPPPPPP DDDDDDDD LLLLLLLLLLLLLLLL ..." (hex: priming, padding, length).
fn itunsmpb(moov: &[u8]) -> Option<Priming> {
    let key = b"iTunSMPB";
    let pos = moov.windows(key.len()).position(|w| w == key)?;
    let rest = &moov[pos + key.len()..(pos + key.len() + 200).min(moov.len())];
    let text: String = rest.iter().map(|&b| if b.is_ascii_hexdigit() || b == b' ' { b as char } else { '|' }).collect();
    let words: Vec<&str> = text.split(['|', ' ']).filter(|w| w.len() >= 8).collect();
    let hex = |w: &str| u64::from_str_radix(w, 16).ok();
    let priming = hex(words.get(1)?)?;
    let padding = hex(words.get(2)?)?;
    let length = words.get(3).and_then(|w| hex(w)).filter(|&l| l > 0);
    Some(Priming { priming, padding, length })
}

fn be_u64(b: &[u8]) -> u64 {
    u64::from_be_bytes(b.try_into().unwrap_or([0; 8]))
}

/// The timescale of an `mvhd` / `mdhd` body (version 0: at `v0`, version 1: at `v1`).
fn timescale(body: &[u8], v0: usize, v1: usize) -> Option<u64> {
    let at = if *body.first()? == 1 { v1 } else { v0 };
    Some(u32::from_be_bytes(body.get(at..at + 4)?.try_into().ok()?) as u64)
}

/// Checks an MP4/M4A file's index before symphonia reads it: symphonia reserves memory for as
/// many entries as a table declares, and for some boxes their declared size, before reading,
/// so a damaged file declaring 4 billion would ask for gigabytes (and abort the process where
/// the system refuses). Every box must fit in its container, and every table in its box. Not
/// an MP4 file, or no `moov` found: nothing to check.
pub fn mp4_tables_fit(path: &Path) -> Result<(), String> {
    let Ok(mut file) = File::open(path) else { return Ok(()) };
    let Ok(len) = file.seek(SeekFrom::End(0)) else { return Ok(()) };
    // symphonia's probe finds an `ftyp` anywhere in the first 1 MB (junk before it is skipped)
    // and reads the boxes from there; so does this check. (Random bytes that happen to hold
    // `ftyp` do not lead to a `moov`: nothing to check.)
    let mut head = Vec::new();
    if file.seek(SeekFrom::Start(0)).is_err() || (&mut file).take((1 << 20) + 8).read_to_end(&mut head).is_err() {
        return Ok(());
    }
    let Some(start) = head.windows(4).skip(4).position(|w| w == b"ftyp").map(|p| p as u64) else { return Ok(()) };
    let Some((at, size)) = find_box(&mut file, start, len, b"moov") else { return Ok(()) };
    if size > len - at {
        return Err(format!(
            "its MP4 index (moov) says {size} bytes where the file has {} (the file is damaged)",
            len - at
        ));
    }
    let have = size.min(64 << 20) as usize;
    let mut moov = vec![0u8; have];
    if file.seek(SeekFrom::Start(at)).is_err() || file.read_exact(&mut moov).is_err() {
        return Ok(());
    }
    let header = if moov.get(..4) == Some(&[0, 0, 0, 1]) { 16 } else { 8 };
    tables_fit(&moov[header.min(have)..], size.saturating_sub(header as u64), len, 0)
}

/// Checks a FLAC file's metadata blocks before symphonia reads them, for the same reason as
/// `mp4_tables_fit`: it reserves a Vorbis comment's or a picture's declared length before
/// reading it. Every block must fit in the file, and every length inside a comment or picture
/// block in that block. Not a FLAC file: nothing to check.
pub fn flac_blocks_fit(path: &Path) -> Result<(), String> {
    let Ok(mut file) = File::open(path) else { return Ok(()) };
    let Ok(len) = file.seek(SeekFrom::End(0)) else { return Ok(()) };
    let mut magic = [0u8; 4];
    if file.seek(SeekFrom::Start(0)).is_err() || file.read_exact(&mut magic).is_err() || &magic != b"fLaC" {
        return Ok(());
    }
    let damaged = |what: &str| Err(format!("its FLAC {what} runs past its block (the file is damaged)"));
    let mut at = 4u64;
    loop {
        let mut head = [0u8; 4];
        if file.seek(SeekFrom::Start(at)).is_err() || file.read_exact(&mut head).is_err() {
            return Ok(());
        }
        let (last, kind) = (head[0] & 0x80 != 0, head[0] & 0x7F);
        let block = u32::from_be_bytes([0, head[1], head[2], head[3]]) as u64;
        // A file cut short in its metadata: symphonia says so in its own words, once the
        // lengths in what there is are checked against the block's.
        let cut = at + 4 + block > len;
        // VORBIS_COMMENT (4) and PICTURE (6): at most 16 MB, read as far as the file goes.
        if kind == 4 || kind == 6 {
            let mut body = vec![0u8; block.min(len - at - 4) as usize];
            if file.read_exact(&mut body).is_err() {
                return Ok(());
            }
            let block = block as usize;
            let u32_at = |b: &[u8], i: usize, le: bool| {
                b.get(i..i + 4).map(|x| {
                    let x: [u8; 4] = x.try_into().unwrap_or_default();
                    (if le { u32::from_le_bytes(x) } else { u32::from_be_bytes(x) }) as usize
                })
            };
            if kind == 4 {
                // Vendor string, then the count and each comment, lengths little-endian.
                // (A length that is not in the bytes there are: the file is cut there.)
                let mut i = 0;
                let Some(vendor) = u32_at(&body, i, true) else { return Ok(()) };
                i = i.saturating_add(4).saturating_add(vendor);
                if i > block {
                    return damaged("comment");
                }
                let Some(count) = u32_at(&body, i, true) else { return Ok(()) };
                i += 4;
                for _ in 0..count {
                    let Some(n) = u32_at(&body, i, true) else { return Ok(()) };
                    i = i.saturating_add(4).saturating_add(n);
                    if i > block {
                        return damaged("comment");
                    }
                }
            } else {
                // Type, MIME type, description, four numbers, the data; lengths big-endian.
                let mut i = 4;
                for _ in 0..2 {
                    let Some(n) = u32_at(&body, i, false) else { return Ok(()) };
                    i = i.saturating_add(4).saturating_add(n);
                    if i > block {
                        return damaged("picture");
                    }
                }
                i = i.saturating_add(16);
                let Some(n) = u32_at(&body, i, false) else { return Ok(()) };
                if i.saturating_add(4).saturating_add(n) > block {
                    return damaged("picture");
                }
            }
        }
        at += 4 + block;
        if last || cut {
            return Ok(());
        }
    }
}

/// Checks an Ogg Vorbis file's comment header before symphonia reads it (it reserves each
/// comment's declared length before reading it): every length must fit in the packet. The
/// first packets are gathered from the first pages (at most 1 MB); not Ogg, another codec, or
/// anything unexpected: nothing to check.
pub fn ogg_comments_fit(path: &Path) -> Result<(), String> {
    let Ok(file) = File::open(path) else { return Ok(()) };
    let mut data = Vec::new();
    if file.take(1 << 20).read_to_end(&mut data).is_err() || !data.starts_with(b"OggS") {
        return Ok(());
    }
    // The packets of the first logical stream, in order, from its pages' segment tables.
    let mut packets: Vec<Vec<u8>> = vec![Vec::new()];
    let mut serial = None;
    let mut at = 0;
    while packets.len() < 3 && at + 27 <= data.len() && &data[at..at + 4] == b"OggS" {
        let page_serial = &data[at + 14..at + 18];
        let segments = data[at + 26] as usize;
        let Some(table) = data.get(at + 27..at + 27 + segments) else { return Ok(()) };
        let mut body = at + 27 + segments;
        if *serial.get_or_insert(page_serial) == page_serial {
            for &lace in table {
                let Some(bytes) = data.get(body..body + lace as usize) else { return Ok(()) };
                packets.last_mut().expect("one at least").extend_from_slice(bytes);
                if lace < 255 {
                    packets.push(Vec::new());
                }
                body += lace as usize;
            }
        } else {
            body += table.iter().map(|&l| l as usize).sum::<usize>();
        }
        at = body;
    }
    // Vorbis: the comment header is the second packet, `\x03vorbis` then as in FLAC.
    let Some(comment) = packets.get(1).filter(|p| p.starts_with(b"\x03vorbis")) else { return Ok(()) };
    let body = &comment[7..];
    let u32_at = |i: usize| body.get(i..i + 4).map(|x| u32::from_le_bytes(x.try_into().unwrap_or_default()) as usize);
    let damaged = || Err("its Ogg Vorbis comments run past their packet (the file is damaged)".to_string());
    let Some(vendor) = u32_at(0) else { return Ok(()) };
    let mut i = 4usize.saturating_add(vendor);
    if i > body.len() {
        return damaged();
    }
    let Some(count) = u32_at(i) else { return Ok(()) };
    i += 4;
    for _ in 0..count {
        let Some(n) = u32_at(i) else { return damaged() };
        i = i.saturating_add(4).saturating_add(n);
        if i > body.len() {
            return damaged();
        }
    }
    Ok(())
}

/// Walks the boxes of a container whose body is `declared` bytes (`data`: what of it was read)
/// down to the sample tables (`trak/mdia/minf/stbl`, and `edts`, `dinf`, `udta`, `mvex`):
/// every box must fit in its container (symphonia reserves a box's declared size for some of
/// them before reading), and each table's entry count in its box.
fn tables_fit(data: &[u8], declared_body: u64, file_len: u64, depth: usize) -> Result<(), String> {
    let mut at = 0;
    while at + 8 <= data.len() && depth < 8 {
        let declared = u32::from_be_bytes(data[at..at + 4].try_into().unwrap_or_default()) as u64;
        let kind: [u8; 4] = data[at + 4..at + 8].try_into().unwrap_or_default();
        let (header, declared) = match declared {
            1 if at + 16 <= data.len() => (16, be_u64(&data[at + 8..at + 16])),
            0 => (8, declared_body.saturating_sub(at as u64)),
            d => (8, d),
        };
        if declared < header as u64 {
            return Ok(());
        }
        if declared > declared_body.saturating_sub(at as u64) {
            return Err(format!(
                "its MP4 box '{}' says {declared} bytes, more than the box holding it (the file is damaged)",
                String::from_utf8_lossy(&kind)
            ));
        }
        let body = &data[at + header..(at as u64).saturating_add(declared).min(data.len() as u64) as usize];
        let body_len = declared - header as u64;
        // (offset of the count in the body, bytes per entry).
        let table = match &kind {
            b"stco" => Some((4, 4)),
            b"co64" => Some((4, 8)),
            b"stts" => Some((4, 8)),
            b"stsc" => Some((4, 12)),
            // A sample size of 0: one size per sample follows the count.
            b"stsz" if body.get(4..8) == Some(&[0, 0, 0, 0]) => Some((8, 4)),
            _ => None,
        };
        if let Some((offset, entry)) = table {
            if let Some(count) = body.get(offset..offset + 4) {
                let count = u32::from_be_bytes(count.try_into().unwrap_or_default()) as u64;
                if count * entry > body_len {
                    return Err(format!(
                        "its MP4 table '{}' declares {count} entries in {body_len} bytes (the file is damaged)",
                        String::from_utf8_lossy(&kind)
                    ));
                }
            }
        } else if matches!(&kind, b"trak" | b"mdia" | b"minf" | b"stbl" | b"edts" | b"dinf" | b"udta" | b"mvex") {
            tables_fit(body, body_len, file_len, depth + 1)?;
        }
        // Sample sizes: symphonia reserves each packet's size before reading it; none can be
        // larger than the file.
        if &kind == b"stsz" {
            let sizes: Vec<u64> = match body.get(4..8) {
                Some([0, 0, 0, 0]) => {
                    body.get(12..).unwrap_or_default().chunks_exact(4).map(|c| be_u32(c) as u64).collect()
                }
                Some(constant) => vec![be_u32(constant) as u64],
                None => Vec::new(),
            };
            if let Some(big) = sizes.into_iter().find(|&n| n > file_len) {
                return Err(format!(
                    "its MP4 says a sample of {big} bytes in a file of {file_len} (the file is damaged)"
                ));
            }
        }
        at = match at.checked_add(declared as usize) {
            Some(next) if declared <= usize::MAX as u64 => next,
            _ => return Ok(()),
        };
    }
    Ok(())
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes(b.try_into().unwrap_or_default())
}

/// The box at `at` in `data`: (type, body, offset of the next box).
fn next_box(data: &[u8], at: usize) -> Option<([u8; 4], &[u8], usize)> {
    let size = u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?) as usize;
    let kind: [u8; 4] = data.get(at + 4..at + 8)?.try_into().ok()?;
    let (header, size) = match size {
        1 => (16, usize::try_from(be_u64(data.get(at + 8..at + 16)?)).ok()?),
        0 => (8, data.len() - at),
        s => (8, s),
    };
    let end = at.checked_add(size)?;
    if size < header || end > data.len() {
        return None;
    }
    Some((kind, &data[at + header..end], end))
}

/// The first child box of `kind` in a box body.
fn child<'a>(body: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    let mut at = 0;
    while let Some((k, b, next)) = next_box(body, at) {
        if &k == kind {
            return Some(b);
        }
        at = next;
    }
    None
}

/// A top-level box's (offset, size) in the file.
fn find_box(file: &mut File, mut at: u64, end: u64, kind: &[u8; 4]) -> Option<(u64, u64)> {
    while at + 8 <= end {
        let mut head = [0u8; 16];
        file.seek(SeekFrom::Start(at)).ok()?;
        file.read_exact(&mut head[..8]).ok()?;
        let mut size = u32::from_be_bytes(head[..4].try_into().ok()?) as u64;
        if size == 1 {
            file.read_exact(&mut head[8..16]).ok()?;
            size = be_u64(&head[8..16]);
        } else if size == 0 {
            size = end - at;
        }
        if size < 8 {
            return None;
        }
        if &head[4..8] == kind {
            return Some((at, size));
        }
        at = at.checked_add(size)?;
    }
    None
}

/// A box's bytes (header included), when it is of a size worth reading (`moov` is kilobytes).
fn read_box(file: &mut File, (at, size): (u64, u64)) -> Option<Vec<u8>> {
    if size > 64 << 20 {
        return None;
    }
    let mut data = vec![0u8; size as usize];
    file.seek(SeekFrom::Start(at)).ok()?;
    file.read_exact(&mut data).ok()?;
    // The body of the box: the children start after its header (16 bytes with a 64-bit size).
    let header = if data.get(..4) == Some(&[0, 0, 0, 1]) { 16 } else { 8 };
    (data.len() >= header).then(|| data.split_off(header))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(body);
        b
    }

    /// Found by the audio_file fuzz target: a chunk table declaring 4 billion entries had
    /// symphonia reserve 16 GB before reading one, and an `hdlr` box of 4 GB had it reserve
    /// that for its name. Refused before symphonia sees them, naming why; tables that fit pass.
    #[test]
    fn an_mp4_box_or_table_declaring_more_than_its_container_holds_is_refused() {
        let dir = std::env::temp_dir().join(format!("segue-mp4-tables-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = |name: &str, count: u32| {
            let mut stco = vec![0u8, 0, 0, 0];
            stco.extend_from_slice(&count.to_be_bytes());
            stco.extend_from_slice(&[0u8; 8]);
            let stbl = mp4_box(b"stbl", &mp4_box(b"stco", &stco));
            let trak = mp4_box(b"trak", &mp4_box(b"mdia", &mp4_box(b"minf", &stbl)));
            let mut bytes = mp4_box(b"ftyp", b"M4A \0\0\0\0");
            bytes.extend(mp4_box(b"moov", &trak));
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let damaged = file("damaged.m4a", u32::MAX);
        let why = mp4_tables_fit(&damaged).unwrap_err();
        assert!(why.contains("'stco' declares 4294967295 entries in 16 bytes"), "{why}");
        let opened = Decoded::open(&damaged).map(|_| ()).unwrap_err();
        assert!(opened.contains("stco"), "{opened}");
        assert_eq!(mp4_tables_fit(&file("fits.m4a", 2)), Ok(()));
        // A box larger than the box holding it (an hdlr of 4 GB: symphonia read its name into
        // a buffer of that size).
        let mut hdlr = mp4_box(b"hdlr", &[0u8; 24]);
        hdlr[..4].copy_from_slice(&0xFB00_0000u32.to_be_bytes());
        let mut bytes = mp4_box(b"ftyp", b"M4A \0\0\0\0");
        bytes.extend(mp4_box(b"moov", &mp4_box(b"trak", &mp4_box(b"mdia", &hdlr))));
        std::fs::write(dir.join("hdlr.m4a"), bytes).unwrap();
        let why = mp4_tables_fit(&dir.join("hdlr.m4a")).unwrap_err();
        assert!(why.contains("box 'hdlr' says 4211081216 bytes"), "{why}");
        // A sample of 3 GB in a file of a few bytes (symphonia reserved it to read the packet).
        let mut stsz = vec![0u8; 4];
        stsz.extend_from_slice(&0u32.to_be_bytes());
        stsz.extend_from_slice(&2u32.to_be_bytes());
        stsz.extend_from_slice(&10u32.to_be_bytes());
        stsz.extend_from_slice(&3_000_000_000u32.to_be_bytes());
        let stbl = mp4_box(b"stbl", &mp4_box(b"stsz", &stsz));
        let mut bytes = mp4_box(b"ftyp", b"M4A \0\0\0\0");
        bytes.extend(mp4_box(b"moov", &mp4_box(b"trak", &mp4_box(b"mdia", &mp4_box(b"minf", &stbl)))));
        std::fs::write(dir.join("stsz.m4a"), bytes).unwrap();
        let why = mp4_tables_fit(&dir.join("stsz.m4a")).unwrap_err();
        assert!(why.contains("a sample of 3000000000 bytes"), "{why}");
    }

    /// Found by the audio_file fuzz target: a Vorbis comment of 2 GB in a FLAC file had
    /// symphonia reserve 2 GB for it. Refused, naming why; a FLAC file from ffmpeg passes.
    #[test]
    fn a_flac_comment_longer_than_its_block_is_refused() {
        let dir = std::env::temp_dir().join(format!("segue-flac-blocks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let flac = |name: &str, comment_len: u32| {
            let mut body = 3u32.to_le_bytes().to_vec();
            body.extend_from_slice(b"abc");
            body.extend_from_slice(&1u32.to_le_bytes());
            body.extend_from_slice(&comment_len.to_le_bytes());
            body.extend_from_slice(b"TITLE=x");
            let mut bytes = b"fLaC".to_vec();
            bytes.push(0x80 | 4);
            bytes.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
            bytes.extend(body);
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let why = flac_blocks_fit(&flac("damaged.flac", 2_000_000_000)).unwrap_err();
        assert!(why.contains("FLAC comment"), "{why}");
        assert_eq!(flac_blocks_fit(&flac("fits.flac", 7)), Ok(()));
    }

    /// The same for Ogg Vorbis: a comment declared at 2 GB in a comment packet of a few bytes
    /// is refused; the packet is gathered across pages as symphonia does.
    #[test]
    fn an_ogg_vorbis_comment_longer_than_its_packet_is_refused() {
        let dir = std::env::temp_dir().join(format!("segue-ogg-comments-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let page = |serial: u32, packets: &[&[u8]]| {
            let mut table = Vec::new();
            let mut body = Vec::new();
            for p in packets {
                table.extend(std::iter::repeat_n(255u8, p.len() / 255));
                table.push((p.len() % 255) as u8);
                body.extend_from_slice(p);
            }
            let mut page = b"OggS\0\0".to_vec();
            page.extend_from_slice(&[0u8; 8]);
            page.extend_from_slice(&serial.to_le_bytes());
            page.extend_from_slice(&[0u8; 8]);
            page.push(table.len() as u8);
            page.extend(table);
            page.extend(body);
            page
        };
        let ogg = |name: &str, comment_len: u32| {
            let ident = b"\x01vorbis identification".to_vec();
            let mut comment = b"\x03vorbis".to_vec();
            comment.extend_from_slice(&3u32.to_le_bytes());
            comment.extend_from_slice(b"abc");
            comment.extend_from_slice(&1u32.to_le_bytes());
            comment.extend_from_slice(&comment_len.to_le_bytes());
            comment.extend_from_slice(b"TITLE=x");
            let mut bytes = page(7, &[&ident]);
            bytes.extend(page(9, &[b"another stream"]));
            bytes.extend(page(7, &[&comment, b"\x05vorbis setup"]));
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let why = ogg_comments_fit(&ogg("damaged.ogg", 2_000_000_000)).unwrap_err();
        assert!(why.contains("Ogg Vorbis comments"), "{why}");
        assert_eq!(ogg_comments_fit(&ogg("fits.ogg", 7)), Ok(()));
    }

    /// A version-0 `mvhd` / `mdhd` body with `scale` at its timescale's place.
    fn header(scale: u32) -> Vec<u8> {
        let mut b = vec![0u8; 24];
        b[12..16].copy_from_slice(&scale.to_be_bytes());
        b
    }

    #[test]
    fn edit_list_times_in_other_timescales_become_frames_at_the_stream_rate() {
        // Movie timescale 1000, media timescale 90000, a 44.1 kHz stream: 2112 frames of priming
        // are 4310.2 ticks at 90 kHz (4310 written), 10 s of edit are 10000 ms.
        let mut elst = vec![0u8; 8];
        elst[4..8].copy_from_slice(&1u32.to_be_bytes());
        elst.extend_from_slice(&10_000u32.to_be_bytes());
        elst.extend_from_slice(&4_310i32.to_be_bytes());
        elst.extend_from_slice(&[0, 1, 0, 0]);
        let mut hdlr = vec![0u8; 8];
        hdlr.extend_from_slice(b"soun");
        hdlr.extend_from_slice(&[0; 12]);
        let mdia = [mp4_box(b"mdhd", &header(90_000)), mp4_box(b"hdlr", &hdlr)].concat();
        let trak = [mp4_box(b"edts", &mp4_box(b"elst", &elst)), mp4_box(b"mdia", &mdia)].concat();
        let moov = [mp4_box(b"mvhd", &header(1_000)), mp4_box(b"trak", &trak)].concat();
        let file = [mp4_box(b"ftyp", b"M4A \0\0\0\0"), mp4_box(b"moov", &moov)].concat();
        let path = std::env::temp_dir().join("segue-timescale.m4a");
        std::fs::write(&path, file).unwrap();
        let trim = mp4_priming(&path, 44_100).expect("the edit list is read");
        // 4310 / 90000 x 44100 = 2111.9: the priming to the nearest frame.
        assert_eq!(trim.priming, 2112);
        assert_eq!(trim.length, Some(441_000));
        // Where the media timescale is the rate (the usual case) the numbers are as written.
        assert_eq!(mp4_priming(&path, 90_000).unwrap().priming, 4_310);
    }
}
