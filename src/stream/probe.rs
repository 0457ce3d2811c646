//! Audio file probing (control/loader side: reads a file's header, never on the audio thread).
//!
//! `probe` opens a file, reads its header and says whether Segue can play it and what it is: PCM
//! WAV (8-, 16-, 24-, 32-bit integer, 32-bit float) through hound's header reader; everything
//! else (AIFF, FLAC, MP3, Ogg Vorbis, AAC or ALAC in M4A, other WAVs) through symphonia
//! (`stream::decode`). Files with more than two channels play folded to stereo. What cannot be
//! played is refused with a message that names the file and says what to do about it.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use hound::WavReader;

/// What a playable audio file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioInfo {
    /// Frames per second.
    pub sample_rate: u32,
    /// 1 (mono) or 2 (stereo): what it plays as (more channels are folded to stereo).
    pub channels: u16,
    /// Length in frames (one frame = one sample per channel), delay and padding trimmed.
    pub frames: u64,
    pub format: AudioFormat,
}

/// What kind of file it is, for `segue check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioFormat {
    /// "WAV", "MP3", "AAC", "FLAC", "ALAC", "Vorbis", "AIFF"...
    pub codec: &'static str,
    /// Channels in the file.
    pub source_channels: u16,
    /// Lossy files: frames trimmed at the start (encoder delay, priming) and at the end.
    pub delay: u64,
    pub padding: u64,
    pub lossy: bool,
}

impl AudioFormat {
    /// A PCM WAV of `channels` channels.
    pub fn wav(channels: u16) -> AudioFormat {
        AudioFormat { codec: "WAV", source_channels: channels, delay: 0, padding: 0, lossy: false }
    }

    /// "MP3, 2 ch, encoder delay 1105 + padding 1071 frames trimmed".
    pub fn describe(&self) -> String {
        let mut text = format!("{}, {} ch", self.codec, self.source_channels);
        if self.source_channels > 2 {
            text.push_str(" (played folded to stereo)");
        }
        if self.lossy {
            text.push_str(&format!(", delay {} + padding {} frames trimmed", self.delay, self.padding));
        }
        text
    }
}

impl AudioInfo {
    /// Length in seconds.
    pub fn duration_secs(&self) -> f64 {
        if self.sample_rate == 0 {
            return 0.0;
        }
        self.frames as f64 / self.sample_rate as f64
    }
}

/// Why an audio file cannot be played. Every message names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudioError {
    #[error("{}: audio file not found", path.display())]
    NotFound { path: PathBuf },
    #[error("{}: cannot read the audio file: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("{}: {reason}", path.display())]
    Unsupported { path: PathBuf, reason: String },
}

impl AudioError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            AudioError::NotFound { path }
            | AudioError::Unreadable { path, .. }
            | AudioError::Unsupported { path, .. } => path,
        }
    }
}

/// Reads the header of the audio file at `path` and says what it holds, or why Segue can't play it.
pub fn probe(path: &Path) -> Result<AudioInfo, AudioError> {
    let unreadable = |reason: String| AudioError::Unreadable { path: path.to_path_buf(), reason };
    let unsupported = |reason: String| AudioError::Unsupported { path: path.to_path_buf(), reason };
    let io_error = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => AudioError::NotFound { path: path.to_path_buf() },
        io::ErrorKind::UnexpectedEof => unreadable("the file ends inside its header (truncated?)".into()),
        _ => unreadable(e.to_string()),
    };

    let meta = std::fs::metadata(path).map_err(io_error)?;
    // Before it is opened: a FIFO would block the open, a device would read without end.
    if let Some(what) = not_a_file(&meta) {
        return Err(unreadable(format!("it is {what}, not an audio file")));
    }
    let file_len = meta.len();
    if file_len == 0 {
        return Err(unsupported("the file is empty (0 bytes): it has no audio".into()));
    }
    let mut reader = BufReader::new(File::open(path).map_err(io_error)?);

    let wav = match WavReader::new(&mut reader) {
        Ok(wav) => wav,
        Err(hound::Error::IoError(e)) if e.kind() != io::ErrorKind::UnexpectedEof => return Err(io_error(e)),
        Err(hound::Error::FormatError(e)) if looks_like_wav(path) => {
            // Maybe a kind of WAV hound does not read (symphonia may), else a damaged header.
            return probe_decoded(path).map_err(|_| unreadable(format!("the WAV header is damaged ({e})")));
        }
        // Not a WAV, or one hound does not read: symphonia's turn.
        Err(_) => return probe_decoded(path),
    };

    let spec = wav.spec();
    let frames = wav.duration() as u64;
    let data_bytes = wav.len() as u64 * (spec.bits_per_sample as u64).div_ceil(8);

    if !crate::stream::source::bulk_readable(&spec) {
        // Multichannel (folded to stereo) or a sample format the bulk reader does not take.
        return probe_decoded(path);
    }
    if spec.sample_rate == 0 {
        return Err(unreadable("its header gives a sample rate of 0".into()));
    }
    if frames == 0 {
        return Err(unsupported("it has no audio (0 frames)".into()));
    }
    // hound trusts the header; a file cut short (an interrupted copy or recording) holds fewer
    // bytes than the data chunk announces.
    if let Ok(data_start) = reader.stream_position() {
        // Containers may pad samples (e.g. 24-bit in 4 bytes): only compare when they don't.
        let available = file_len.saturating_sub(data_start);
        if spec.bits_per_sample % 8 == 0 && available < data_bytes {
            let frame_bytes = data_bytes / frames;
            return Err(unreadable(format!(
                "the file is truncated: its header announces {frames} frames but only {} are there",
                available / frame_bytes.max(1)
            )));
        }
    }

    Ok(AudioInfo {
        sample_rate: spec.sample_rate,
        channels: spec.channels,
        frames,
        format: AudioFormat::wav(spec.channels),
    })
}

/// Probes a file through symphonia (opening it for decoding tells everything probing needs).
fn probe_decoded(path: &Path) -> Result<AudioInfo, AudioError> {
    let decoded = crate::stream::decode::Decoded::open(path)
        .map_err(|reason| AudioError::Unsupported { path: path.to_path_buf(), reason })?;
    if decoded.frames == 0 {
        return Err(AudioError::Unsupported { path: path.to_path_buf(), reason: "it has no audio (0 frames)".into() });
    }
    Ok(AudioInfo {
        sample_rate: decoded.rate,
        channels: decoded.channels,
        frames: decoded.frames,
        format: decoded.file_format,
    })
}

/// Whether a file starts as a WAV does.
fn looks_like_wav(path: &Path) -> bool {
    let mut head = [0u8; 12];
    let n = File::open(path).and_then(|mut f| read_up_to(&mut f, &mut head)).unwrap_or(0);
    n == 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WAVE"
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// What `meta` names when it is not a regular file ("a folder", "a device", ...); `None` when
/// it is one. Callers say "it is {what}, not ...".
pub fn not_a_file(meta: &std::fs::Metadata) -> Option<&'static str> {
    let kind = meta.file_type();
    if kind.is_file() {
        return None;
    }
    if kind.is_dir() {
        return Some("a folder");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Some("a named pipe (FIFO)");
        }
        if kind.is_char_device() || kind.is_block_device() {
            return Some("a device");
        }
        if kind.is_socket() {
            return Some("a socket");
        }
    }
    Some("something other than a regular file")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("segue-probe-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
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
                w.write_sample((i as f32 * 0.01).sin() * 0.5).unwrap();
            } else {
                w.write_sample(((i % 50) as i32 - 25) * (1 << (bits - 8))).unwrap();
            }
        }
        w.finalize().unwrap();
    }

    #[test]
    fn every_supported_wav_kind_probes_with_its_rate_channels_and_length() {
        let dir = scratch("kinds");
        for (bits, float) in [(8, false), (16, false), (24, false), (32, false), (32, true)] {
            for channels in [1, 2] {
                let p = dir.join(format!("{bits}-{float}-{channels}.wav"));
                write_wav(&p, channels, 44_100, bits, float, 4410);
                let info = probe(&p).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(
                    info,
                    AudioInfo { sample_rate: 44_100, channels, frames: 4410, format: AudioFormat::wav(channels) }
                );
                assert!((info.duration_secs() - 0.1).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn surround_files_play_folded_to_stereo() {
        let dir = scratch("surround");
        let p = dir.join("six.wav");
        write_wav(&p, 6, 48_000, 16, false, 100);
        let info = probe(&p).unwrap();
        assert_eq!((info.channels, info.format.source_channels, info.frames), (2, 6, 100));
        assert!(info.format.describe().contains("6 ch (played folded to stereo)"));
    }

    #[test]
    fn missing_files_are_not_found() {
        let dir = scratch("missing");
        let e = probe(&dir.join("nope.wav")).unwrap_err();
        assert!(matches!(e, AudioError::NotFound { .. }), "{e:?}");
        assert!(e.to_string().contains("nope.wav"), "{e}");
    }

    #[test]
    fn broken_and_unsupported_files_say_what_they_are() {
        let dir = scratch("formats");
        let flac = dir.join("song.flac");
        std::fs::write(&flac, b"fLaC\0\0\0\x22 rest of a flac file").unwrap();
        let e = probe(&flac).unwrap_err();
        assert!(matches!(e, AudioError::Unsupported { .. }), "{e:?}");
        assert!(e.to_string().contains("starts as FLAC but ends before its audio does"), "{e}");

        let opus = dir.join("song.opus");
        std::fs::write(&opus, b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x13OpusHead\x01\x02").unwrap();
        assert!(probe(&opus).unwrap_err().to_string().contains("Opus is not supported: convert it to WAV or FLAC"));

        let txt = dir.join("notes.txt");
        std::fs::write(&txt, b"hello").unwrap();
        let e = probe(&txt).unwrap_err();
        assert!(matches!(e, AudioError::Unsupported { .. }), "{e:?}");
        assert!(e.to_string().contains("not an audio file Segue can read"), "{e}");
    }

    #[test]
    fn files_without_audio_are_refused() {
        let dir = scratch("empty");
        let p = dir.join("silence.wav");
        write_wav(&p, 2, 48_000, 16, false, 0);
        let e = probe(&p).unwrap_err();
        assert!(matches!(e, AudioError::Unsupported { .. }), "{e:?}");
        assert!(e.to_string().contains("has no audio"), "{e}");

        let zero = dir.join("zero.wav");
        std::fs::write(&zero, b"").unwrap();
        assert!(probe(&zero).unwrap_err().to_string().contains("no audio"));
    }

    #[test]
    fn truncated_files_are_unreadable() {
        let dir = scratch("truncated");
        let p = dir.join("cut.wav");
        write_wav(&p, 2, 48_000, 16, false, 1000);
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 400]).unwrap();
        let e = probe(&p).unwrap_err();
        assert!(matches!(e, AudioError::Unreadable { .. }), "{e:?}");
        assert!(e.to_string().contains("truncated"), "{e}");
    }
}
