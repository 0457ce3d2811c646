//! A clip as a stream of frames at the engine rate (loader thread: file I/O, decoding,
//! looping and resampling; never on the audio thread).
//!
//! The file is decoded from the clip's in point; at the loop end it continues from the loop
//! start, and that continuous sequence goes through one resampler, so loop seams stay seamless
//! after resampling. The resampler's delay is trimmed, so frame 0 of the stream is the in point.
//! A non-looping stream is exactly `length()` frames long.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::stream::decode::Decoded;
use rubato::{
    FftFixedInOut, Resampler, SincFixedIn, SincInterpolationParameters, SincInterpolationType, WindowFunction,
};

/// Which part of which file to play.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipSpec {
    pub path: PathBuf,
    pub file_rate: u32,
    pub channels: u16,
    /// In and out points in file frames; with `looping`, the stream jumps from `loop_end` back
    /// to `loop_start` instead of ending.
    pub start: u64,
    pub end: u64,
    pub looping: bool,
    pub loop_start: u64,
    pub loop_end: u64,
}

impl ClipSpec {
    /// Frames the clip plays at `rate`, `None` for a loop.
    pub fn length(&self, rate: u32) -> Option<u64> {
        if self.looping {
            None
        } else {
            Some(convert_frames(self.end.saturating_sub(self.start), self.file_rate, rate))
        }
    }
}

/// The largest sample a file may give (+24 dB over full scale, as the engine's highest level):
/// beyond any real recording, small enough that the resampler's sums stay finite. Larger ones
/// (and NaN, which fails the comparison) play as silence.
pub const MAX_SAMPLE: f32 = 16.0;

/// Frames at `from` Hz to frames at `to` Hz, rounded to the nearest.
pub fn convert_frames(frames: u64, from: u32, to: u32) -> u64 {
    ((frames as u128 * to as u128 + from as u128 / 2) / from as u128) as u64
}

/// Why a stream failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot open {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("cannot resample {path} from {from} Hz to {to} Hz: {reason}")]
    Resample { path: PathBuf, from: u32, to: u32, reason: String },
}

enum Converter {
    /// Same rate: frames pass through untouched.
    None,
    Fft(Box<FftFixedInOut<f32>>),
    /// For rate pairs whose FFT sizes would be huge (e.g. 44101 Hz).
    Sinc(Box<SincFixedIn<f32>>),
}

/// Where a clip's frames come from.
enum Reader {
    /// A PCM WAV, read directly once hound has checked the header and converted in bulk: the
    /// file, the byte offset of its first frame, the sample encoding.
    Pcm { file: BufReader<File>, data_start: u64, encoding: Encoding, bytes: Vec<u8> },
    /// Everything else, through symphonia.
    Codec(Box<Decoded>),
}

/// A decoder may give a few frames fewer than its header promised (a lossy file's length is an
/// estimate in some headers): up to this many missing at the end is the end, more is a file
/// that ends early.
const END_SLACK: u64 = 4096;

/// Decoder + loop + resampler for one clip.
pub struct Source {
    spec: ClipSpec,
    reader: Reader,
    /// Frames in the file, and where decoding really ended, if before that.
    file_frames: u64,
    decoded_end: Option<u64>,
    /// Next file frame to decode.
    file_pos: u64,
    /// The input has run out (non-looping): only zeros from here, to flush the resampler.
    input_done: bool,
    converter: Converter,
    /// Planar input and output blocks of the resampler.
    input: Vec<Vec<f32>>,
    output: Vec<Vec<f32>>,
    /// Unread frames in `output` start at `out_pos`, up to `out_len`.
    out_pos: usize,
    out_len: usize,
    /// Resampler delay still to drop.
    skip: usize,
    /// Frames handed out so far, and the total (None: endless).
    produced: u64,
    length: Option<u64>,
}

impl Source {
    /// Opens a clip's stream at `rate`, `offset` engine frames after its in point.
    pub fn open(spec: &ClipSpec, rate: u32, offset: u64) -> Result<Source, SourceError> {
        let path = spec.path.clone();
        let open_err = |e: String| SourceError::Open { path: path.clone(), reason: e };
        let (reader, file_frames) = match open_pcm(&path) {
            Some(Ok(pcm)) => pcm,
            Some(Err(e)) => return Err(open_err(e)),
            None => {
                let decoded = Decoded::open(&path).map_err(open_err)?;
                if decoded.channels != spec.channels {
                    return Err(open_err(format!(
                        "it now has {} channels where it had {} (the file changed?)",
                        decoded.channels, spec.channels
                    )));
                }
                let frames = decoded.frames;
                (Reader::Codec(Box::new(decoded)), frames)
            }
        };
        let channels = spec.channels as usize;
        let converter = if spec.file_rate == rate {
            Converter::None
        } else {
            let (from, to) = (spec.file_rate as usize, rate as usize);
            let g = gcd(from, to);
            let err =
                |e: String| SourceError::Resample { path: path.clone(), from: spec.file_rate, to: rate, reason: e };
            if from / g <= 4096 && to / g <= 4096 {
                // Chunks of about 4096 frames (measured 20-25 % less loader CPU than 1024 for 64
                // voices) made of a power of two of the rates' smallest whole chunk, so the FFTs'
                // lengths have few odd factors: 44.1 kHz takes 32 x 147 = 4704 frames (FFTs of
                // 2^6·3·7² and 2^11·5 points), not 28 x 147 (2^3·3·7³ and 2^8·5·7).
                let chunk = (4096 / (from / g)).max(1).next_power_of_two() * (from / g);
                Converter::Fft(Box::new(FftFixedInOut::new(from, to, chunk, channels).map_err(|e| err(e.to_string()))?))
            } else {
                let params = SincInterpolationParameters {
                    sinc_len: 128,
                    f_cutoff: 0.95,
                    interpolation: SincInterpolationType::Cubic,
                    oversampling_factor: 256,
                    window: WindowFunction::BlackmanHarris2,
                };
                let s = SincFixedIn::new(to as f64 / from as f64, 1.0, params, 1024, channels)
                    .map_err(|e| err(e.to_string()))?;
                Converter::Sinc(Box::new(s))
            }
        };
        let (in_max, out_max, skip) = match &converter {
            Converter::None => (1024, 1024, 0),
            Converter::Fft(r) => (r.input_frames_max(), r.output_frames_max(), r.output_delay()),
            Converter::Sinc(r) => (r.input_frames_max(), r.output_frames_max(), r.output_delay()),
        };
        let length = spec.length(rate).map(|l| l.saturating_sub(offset));
        let mut source = Source {
            spec: spec.clone(),
            reader,
            file_frames,
            decoded_end: None,
            file_pos: 0,
            input_done: false,
            converter,
            input: vec![vec![0.0; in_max]; channels],
            output: vec![vec![0.0; out_max]; channels],
            out_pos: 0,
            out_len: 0,
            skip,
            produced: 0,
            length,
        };
        match &source.converter {
            // The FFT resampler works in fixed chunks, each output chunk made from its input
            // chunk and the overlap of the one before. Starting one chunk early and dropping
            // output up to `offset` rebuilds that overlap, so the stream from `offset` on is the
            // very one a start from the in point plays, to the bit (a seek lands where a render
            // from the start is).
            Converter::Fft(r) => {
                let (chunk_in, chunk_out) = (r.input_frames_max() as u64, r.output_frames_max() as u64);
                let raw = offset + skip as u64;
                let warm = (raw / chunk_out).saturating_sub(1);
                source.skip = (raw - warm * chunk_out) as usize;
                source.seek(source.unrolled(warm * chunk_in))?;
            }
            // Same rate: frame for frame. The sinc resampler's chunks vary in length, so it
            // starts at the nearest file frame instead.
            Converter::None | Converter::Sinc(_) => {
                source.seek(source.unrolled(convert_frames(offset, rate, spec.file_rate)))?;
            }
        }
        Ok(source)
    }

    /// The file frame at `frames` file frames into the clip's stream, following loops.
    fn unrolled(&self, frames: u64) -> u64 {
        let spec = &self.spec;
        let pos = spec.start + frames;
        if spec.looping && pos >= spec.loop_end && spec.loop_end > spec.loop_start {
            spec.loop_start + (pos - spec.loop_start) % (spec.loop_end - spec.loop_start)
        } else {
            pos
        }
    }

    pub fn channels(&self) -> u16 {
        self.spec.channels
    }

    /// Whether a stream opened at an offset is, from there, the very stream opened at the in
    /// point, to the bit: a WAV read directly (a codec restarted mid-file comes within 1e-4,
    /// not to the bit) at the same rate or through the FFT resampler, which rebuilds its
    /// overlap. Then a feed behind a cached head can open where the head ends instead of
    /// decoding and resampling the head again.
    pub fn opens_exactly_anywhere(&self) -> bool {
        matches!(self.reader, Reader::Pcm { .. }) && !matches!(self.converter, Converter::Sinc(_))
    }

    /// Frames still to come (`None`: endless).
    pub fn remaining(&self) -> Option<u64> {
        self.length.map(|l| l - self.produced)
    }

    fn seek(&mut self, frame: u64) -> Result<(), SourceError> {
        let frame = frame.min(self.file_frames);
        let read_err = |reason: String| SourceError::Read { path: self.spec.path.clone(), reason };
        match &mut self.reader {
            Reader::Pcm { file, data_start, encoding, .. } => {
                let offset = *data_start + frame * encoding.bytes() as u64 * self.spec.channels as u64;
                file.seek(SeekFrom::Start(offset)).map_err(|e| read_err(e.to_string()))?;
            }
            Reader::Codec(d) => d.seek(frame).map_err(read_err)?,
        }
        self.file_pos = frame;
        Ok(())
    }

    /// Fills `out` (interleaved) with `out.len() / channels` frames, fewer only where a
    /// non-looping clip ends; returns the frames written.
    pub fn read(&mut self, out: &mut [f32]) -> Result<usize, SourceError> {
        let ch = self.spec.channels as usize;
        let mut want = out.len() / ch;
        if let Some(left) = self.remaining() {
            want = want.min(left as usize);
        }
        let mut written = 0;
        while written < want {
            if self.out_pos == self.out_len {
                self.refill()?;
                continue;
            }
            let n = (want - written).min(self.out_len - self.out_pos);
            let dst = &mut out[written * ch..(written + n) * ch];
            let from = self.out_pos..self.out_pos + n;
            match &self.output[..] {
                [mono] => dst.copy_from_slice(&mono[from]),
                // Interleaving two planes, in a loop without bounds checks that vectorises.
                [left, right] => {
                    for ((frame, l), r) in dst.chunks_exact_mut(2).zip(&left[from.clone()]).zip(&right[from]) {
                        frame[0] = *l;
                        frame[1] = *r;
                    }
                }
                planes => {
                    for (i, frame) in dst.chunks_exact_mut(ch).enumerate() {
                        for (x, plane) in frame.iter_mut().zip(planes) {
                            *x = plane[self.out_pos + i];
                        }
                    }
                }
            }
            self.out_pos += n;
            written += n;
        }
        self.produced += written as u64;
        Ok(written)
    }

    /// Runs one resampler block (or one pass-through block) into `output`.
    fn refill(&mut self) -> Result<(), SourceError> {
        let frames_in = match &self.converter {
            Converter::None => self.input[0].len(),
            Converter::Fft(r) => r.input_frames_next(),
            Converter::Sinc(r) => r.input_frames_next(),
        };
        self.decode_into_input(frames_in)?;
        // A float file can hold samples that are not numbers, infinite or absurdly large (a
        // damaged recording, a bad export): they would spread through the resampler (whose FFT
        // sums overflow to NaN) and reach the output, so they play as silence.
        for plane in &mut self.input {
            for x in &mut plane[..frames_in] {
                *x = if x.abs() <= MAX_SAMPLE { *x } else { 0.0 };
            }
        }
        let (input, output) = (&self.input, &mut self.output);
        let resampled = match &mut self.converter {
            Converter::None => {
                for c in 0..input.len() {
                    output[c][..frames_in].copy_from_slice(&input[c][..frames_in]);
                }
                Ok(Ok((frames_in, frames_in)))
            }
            // A resampler that panics (a bug on some input) fails this clip, not the loader.
            Converter::Fft(r) => {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| r.process_into_buffer(input, output, None)))
            }
            Converter::Sinc(r) => {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| r.process_into_buffer(input, output, None)))
            }
        };
        let (_, produced) = match resampled {
            Ok(result) => result.map_err(|e| self.resample_error(e.to_string()))?,
            Err(_) => return Err(self.resample_error("the resampler failed on this file's samples".into())),
        };
        let skip = self.skip.min(produced);
        self.skip -= skip;
        self.out_pos = skip;
        self.out_len = produced;
        Ok(())
    }

    fn resample_error(&self, reason: String) -> SourceError {
        SourceError::Resample { path: self.spec.path.clone(), from: self.spec.file_rate, to: 0, reason }
    }

    /// Decodes `frames` file frames into the planar input block, looping or zero-padding.
    fn decode_into_input(&mut self, frames: usize) -> Result<(), SourceError> {
        let ch = self.spec.channels as usize;
        let mut i = 0;
        while i < frames {
            let mut stop = if self.spec.looping { self.spec.loop_end } else { self.spec.end };
            if let Some(end) = self.decoded_end {
                stop = stop.min(end);
            }
            if self.input_done || self.file_pos >= stop {
                if self.spec.looping && !self.input_done && stop > self.spec.loop_start {
                    self.seek(self.spec.loop_start)?;
                    continue;
                }
                self.input_done = true;
                for c in 0..ch {
                    self.input[c][i..frames].fill(0.0);
                }
                return Ok(());
            }
            let n = ((stop - self.file_pos) as usize).min(frames - i);
            let got = match &mut self.reader {
                Reader::Pcm { file, encoding, bytes, .. } => {
                    let width = encoding.bytes() * ch;
                    bytes.resize(n * width, 0);
                    if let Err(e) = file.read_exact(bytes) {
                        let reason = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                            "the file ends early".into()
                        } else {
                            e.to_string()
                        };
                        return Err(SourceError::Read { path: self.spec.path.clone(), reason });
                    }
                    encoding.decode_planes(bytes, &mut self.input, i, n);
                    n
                }
                Reader::Codec(d) => {
                    let got = d
                        .read(&mut self.input, i, n)
                        .map_err(|reason| SourceError::Read { path: self.spec.path.clone(), reason })?;
                    if got < n {
                        let end = self.file_pos + got as u64;
                        if self.file_frames.saturating_sub(end) > END_SLACK {
                            let reason = format!(
                                "the file ends early (damaged or cut short): its audio stops at {:.3} s of {:.3} s",
                                end as f64 / self.spec.file_rate as f64,
                                self.file_frames as f64 / self.spec.file_rate as f64
                            );
                            return Err(SourceError::Read { path: self.spec.path.clone(), reason });
                        }
                        self.decoded_end = Some(end);
                    }
                    got
                }
            };
            self.file_pos += got as u64;
            i += got;
        }
        Ok(())
    }
}

/// The encoding of a WAV the bulk reader takes: mono or stereo PCM of 8 to 32 bits, or 32-bit
/// float (`None`: symphonia decodes it).
fn bulk_encoding(format: &hound::WavSpec) -> Option<Encoding> {
    if format.channels > 2 {
        return None;
    }
    match (format.sample_format, format.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => Some(Encoding::F32),
        (hound::SampleFormat::Int, 8) => Some(Encoding::U8),
        (hound::SampleFormat::Int, 16) => Some(Encoding::I16),
        (hound::SampleFormat::Int, 24) => Some(Encoding::I24),
        (hound::SampleFormat::Int, 32) => Some(Encoding::I32),
        _ => None,
    }
}

/// Whether the bulk WAV reader plays a file with this header (probing decides on it too).
pub fn bulk_readable(format: &hound::WavSpec) -> bool {
    bulk_encoding(format).is_some()
}

/// Opens `path` as a PCM WAV the bulk reader takes (`None`: not one, symphonia's turn).
fn open_pcm(path: &Path) -> Option<Result<(Reader, u64), String>> {
    let mut reader = hound::WavReader::open(path).ok()?;
    let encoding = bulk_encoding(&reader.spec())?;
    let file_frames = reader.duration() as u64;
    let opened = (|| {
        reader.seek(0).map_err(|e| e.to_string())?;
        let mut file = reader.into_inner();
        let data_start = file.stream_position().map_err(|e| e.to_string())?;
        Ok((Reader::Pcm { file, data_start, encoding, bytes: Vec::new() }, file_frames))
    })();
    Some(opened)
}

/// How samples are stored in a WAV file's data chunk (little-endian, interleaved).
#[derive(Debug, Clone, Copy)]
enum Encoding {
    U8,
    I16,
    I24,
    I32,
    F32,
}

impl Encoding {
    fn bytes(self) -> usize {
        match self {
            Encoding::U8 => 1,
            Encoding::I16 => 2,
            Encoding::I24 => 3,
            Encoding::I32 | Encoding::F32 => 4,
        }
    }

    /// Every frame in `bytes` into the planes (one per channel) from frame `at` on, `n` frames.
    fn decode_planes(self, bytes: &[u8], planes: &mut [Vec<f32>], at: usize, n: usize) {
        let channels = planes.len();
        if let (Encoding::I16, [l, r]) = (self, &mut *planes) {
            // 16-bit stereo, the usual WAV: both sides in one pass over the bytes.
            for ((f, l), r) in bytes.chunks_exact(4).zip(&mut l[at..at + n]).zip(&mut r[at..at + n]) {
                *l = i16::from_le_bytes([f[0], f[1]]) as f32 / 32_768.0;
                *r = i16::from_le_bytes([f[2], f[3]]) as f32 / 32_768.0;
            }
            return;
        }
        for (c, plane) in planes.iter_mut().enumerate() {
            self.decode(bytes, c, channels, &mut plane[at..at + n]);
        }
    }

    /// Channel `c` of every frame in `bytes` into `out`, scaled to -1..1.
    fn decode(self, bytes: &[u8], c: usize, channels: usize, out: &mut [f32]) {
        let w = self.bytes();
        let frames = bytes.chunks_exact(w * channels).map(|f| &f[c * w..c * w + w]);
        match self {
            Encoding::U8 => frames.zip(out).for_each(|(b, o)| *o = (b[0] as f32 - 128.0) / 128.0),
            Encoding::I16 => frames.zip(out).for_each(|(b, o)| *o = i16::from_le_bytes([b[0], b[1]]) as f32 / 32_768.0),
            Encoding::I24 => frames
                .zip(out)
                .for_each(|(b, o)| *o = (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0),
            Encoding::I32 => frames
                .zip(out)
                .for_each(|(b, o)| *o = i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0),
            Encoding::F32 => frames.zip(out).for_each(|(b, o)| *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        }
    }
}

/// Decodes a whole clip at `rate` (tests and tools; not used for playback).
pub fn decode_all(spec: &ClipSpec, rate: u32) -> Result<Vec<f32>, SourceError> {
    let mut source = Source::open(spec, rate, 0)?;
    let ch = spec.channels as usize;
    let len = source.remaining().unwrap_or(rate as u64 * 10) as usize;
    let mut out = vec![0.0; len * ch];
    source.read(&mut out)?;
    Ok(out)
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A clip spec for a whole file, from its header (tests and tools).
pub fn whole_file(path: &Path) -> Result<ClipSpec, SourceError> {
    let info = crate::stream::probe::probe(path)
        .map_err(|e| SourceError::Open { path: path.to_path_buf(), reason: e.to_string() })?;
    let frames = info.frames;
    Ok(ClipSpec {
        path: path.to_path_buf(),
        file_rate: info.sample_rate,
        channels: info.channels,
        start: 0,
        end: frames,
        looping: false,
        loop_start: 0,
        loop_end: frames,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every supported encoding decodes to the same values hound reads, at the same rate.
    #[test]
    fn raw_decoding_matches_hound_for_every_sample_format() {
        let dir = std::env::temp_dir().join(format!("segue-source-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let kinds = [
            (hound::SampleFormat::Int, 8u16),
            (hound::SampleFormat::Int, 16),
            (hound::SampleFormat::Int, 24),
            (hound::SampleFormat::Int, 32),
            (hound::SampleFormat::Float, 32),
        ];
        for (format, bits) in kinds {
            let path = dir.join(format!("{bits}-{format:?}.wav"));
            let spec = hound::WavSpec { channels: 2, sample_rate: 8000, bits_per_sample: bits, sample_format: format };
            let mut w = hound::WavWriter::create(&path, spec).unwrap();
            let full = ((1i64 << (bits - 1)) - 1) as f64;
            let mut expected = Vec::new();
            for i in 0..3000 {
                for c in 0..2 {
                    let x = 0.7 * ((i as f64) * 0.01 + c as f64).sin();
                    if format == hound::SampleFormat::Float {
                        w.write_sample(x as f32).unwrap();
                        expected.push(x as f32);
                    } else {
                        let q = (x * full).round() as i32;
                        if bits == 8 {
                            w.write_sample(q as i8).unwrap();
                        } else {
                            w.write_sample(q).unwrap();
                        }
                        expected.push(q as f32 / (full + 1.0) as f32);
                    }
                }
            }
            w.finalize().unwrap();
            let got = decode_all(&whole_file(&path).unwrap(), 8000).unwrap();
            assert_eq!(got.len(), expected.len(), "{bits}-bit {format:?}");
            for (k, (g, e)) in got.iter().zip(&expected).enumerate() {
                assert!((g - e).abs() < 1e-6, "{bits}-bit {format:?} sample {k}: {g} vs {e}");
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A stream opened mid-clip is the stream from the in point from there on, bit for bit, also
    /// through the resampler and across loop seams.
    #[test]
    fn a_stream_opened_at_an_offset_is_the_whole_stream_from_there() {
        let dir = std::env::temp_dir().join(format!("segue-offset-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tone.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 44_100,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..30_000 {
            let t = i as f64 / 44_100.0;
            w.write_sample((0.5 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as f32).unwrap();
            w.write_sample((0.3 * (2.0 * std::f64::consts::PI * 1234.5 * t).sin()) as f32).unwrap();
        }
        w.finalize().unwrap();
        let once = ClipSpec { start: 1000, end: 29_000, ..whole_file(&path).unwrap() };
        let looped = ClipSpec { looping: true, loop_start: 5_000, loop_end: 21_000, ..once.clone() };
        for (name, clip) in [("once", once), ("looped", looped)] {
            for rate in [44_100, 48_000] {
                let mut whole = Source::open(&clip, rate, 0).unwrap();
                let mut all = vec![0.0; 2 * 80_000];
                let n = whole.read(&mut all).unwrap();
                for offset in [1, 4_095, 4_096, 10_000, 23_456, 31_999].into_iter().filter(|&o| o < n) {
                    let mut from = Source::open(&clip, rate, offset as u64).unwrap();
                    let mut got = vec![0.0; 2 * 6_000];
                    let m = from.read(&mut got).unwrap();
                    let expected = &all[2 * offset..(2 * (offset + m)).min(2 * n)];
                    assert_eq!(&got[..expected.len()], expected, "{name} at {rate} Hz from frame {offset}");
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
