//! Audio file probing (control/loader side: reads a file's header, never on the audio thread).
//!
//! `probe` opens a file, reads its header and says whether Segue can play it: WAV with 8-, 16-,
//! 24- or 32-bit integer or 32-bit float samples, mono or stereo, any sample rate. Everything
//! else is refused with a message that names the file and says what to do about it.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use hound::{SampleFormat, WavReader};

/// What a playable audio file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioInfo {
    /// Frames per second.
    pub sample_rate: u32,
    /// 1 (mono) or 2 (stereo).
    pub channels: u16,
    /// Length in frames (one frame = one sample per channel).
    pub frames: u64,
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

const SUPPORTED: &str = "Segue plays WAV files with 8-, 16-, 24- or 32-bit integer or 32-bit float samples";

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
    if meta.is_dir() {
        return Err(unreadable("it is a folder, not an audio file".into()));
    }
    let file_len = meta.len();
    if file_len == 0 {
        return Err(unsupported("the file is empty (0 bytes): it has no audio".into()));
    }
    let mut reader = BufReader::new(File::open(path).map_err(io_error)?);

    let wav = match WavReader::new(&mut reader) {
        Ok(wav) => wav,
        Err(hound::Error::IoError(e)) => return Err(io_error(e)),
        Err(hound::Error::Unsupported) => {
            return Err(unsupported(format!(
                "it is a compressed or unusual kind of WAV (not PCM or float); {SUPPORTED}: convert it"
            )))
        }
        Err(e) => {
            // hound refused the header: say what the file really is, if we can tell.
            return Err(match sniff(path) {
                Some(Sniffed::Wav) => unreadable(format!("the WAV header is damaged ({e})")),
                Some(Sniffed::Other(kind)) => unsupported(format!("{kind} is not supported yet: convert it to WAV")),
                None => unsupported(format!("it is not a WAV file; {SUPPORTED}")),
            });
        }
    };

    let spec = wav.spec();
    let frames = wav.duration() as u64;
    let data_bytes = wav.len() as u64 * (spec.bits_per_sample as u64).div_ceil(8);

    if spec.channels != 1 && spec.channels != 2 {
        return Err(unsupported(format!("it has {} channels; Segue plays mono or stereo files", spec.channels)));
    }
    match (spec.sample_format, spec.bits_per_sample) {
        (SampleFormat::Int, 8 | 16 | 24 | 32) | (SampleFormat::Float, 32) => {}
        (SampleFormat::Int, bits) => return Err(unsupported(format!("it is {bits}-bit integer WAV; {SUPPORTED}"))),
        (SampleFormat::Float, bits) => return Err(unsupported(format!("it is {bits}-bit float WAV; {SUPPORTED}"))),
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

    Ok(AudioInfo { sample_rate: spec.sample_rate, channels: spec.channels, frames })
}

enum Sniffed {
    Wav,
    Other(&'static str),
}

/// Guesses a file's format from its first bytes, then from its extension.
fn sniff(path: &Path) -> Option<Sniffed> {
    let mut head = [0u8; 12];
    let n = File::open(path).and_then(|mut f| read_up_to(&mut f, &mut head)).unwrap_or(0);
    let head = &head[..n];
    let by_content = if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WAVE") {
        Some(Sniffed::Wav)
    } else if head.starts_with(b"RF64") || head.starts_with(b"BW64") {
        Some(Sniffed::Other("RF64 (WAV larger than 4 GB)"))
    } else if head.starts_with(b"fLaC") {
        Some(Sniffed::Other("FLAC"))
    } else if head.starts_with(b"OggS") {
        Some(Sniffed::Other("Ogg"))
    } else if head.starts_with(b"ID3") || (head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0) {
        Some(Sniffed::Other("MP3"))
    } else if head.starts_with(b"FORM") && matches!(head.get(8..12), Some(b"AIFF") | Some(b"AIFC")) {
        Some(Sniffed::Other("AIFF"))
    } else if head.starts_with(b"caff") {
        Some(Sniffed::Other("CAF"))
    } else if head.get(4..8) == Some(b"ftyp") {
        Some(Sniffed::Other("AAC/M4A"))
    } else if head.starts_with(&[0x30, 0x26, 0xB2, 0x75]) {
        Some(Sniffed::Other("WMA"))
    } else {
        None
    };
    by_content.or_else(|| {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        let kind = match ext.as_str() {
            "mp3" => "MP3",
            "flac" => "FLAC",
            "ogg" | "oga" | "opus" => "Ogg",
            "aif" | "aiff" | "aifc" => "AIFF",
            "m4a" | "aac" | "mp4" => "AAC/M4A",
            "wma" => "WMA",
            "caf" => "CAF",
            _ => return None,
        };
        Some(Sniffed::Other(kind))
    })
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
            sample_format: if float { SampleFormat::Float } else { SampleFormat::Int },
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
                assert_eq!(info, AudioInfo { sample_rate: 44_100, channels, frames: 4410 });
                assert!((info.duration_secs() - 0.1).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn surround_files_are_refused_naming_their_channel_count() {
        let dir = scratch("surround");
        let p = dir.join("six.wav");
        write_wav(&p, 6, 48_000, 16, false, 100);
        let e = probe(&p).unwrap_err();
        assert!(matches!(e, AudioError::Unsupported { .. }), "{e:?}");
        assert!(e.to_string().contains("has 6 channels; Segue plays mono or stereo files"), "{e}");
        assert!(e.to_string().contains("six.wav"), "{e}");
    }

    #[test]
    fn missing_files_are_not_found() {
        let dir = scratch("missing");
        let e = probe(&dir.join("nope.wav")).unwrap_err();
        assert!(matches!(e, AudioError::NotFound { .. }), "{e:?}");
        assert!(e.to_string().contains("nope.wav"), "{e}");
    }

    #[test]
    fn other_formats_are_named_and_refused() {
        let dir = scratch("formats");
        let flac = dir.join("song.flac");
        std::fs::write(&flac, b"fLaC\0\0\0\x22 rest of a flac file").unwrap();
        let e = probe(&flac).unwrap_err();
        assert!(matches!(e, AudioError::Unsupported { .. }), "{e:?}");
        assert!(e.to_string().contains("FLAC is not supported yet: convert it to WAV"), "{e}");

        let mp3 = dir.join("song.mp3");
        std::fs::write(&mp3, b"garbage that is not an mp3 header").unwrap();
        assert!(probe(&mp3).unwrap_err().to_string().contains("MP3 is not supported yet"));

        let txt = dir.join("notes.txt");
        std::fs::write(&txt, b"hello").unwrap();
        let e = probe(&txt).unwrap_err();
        assert!(matches!(e, AudioError::Unsupported { .. }), "{e:?}");
        assert!(e.to_string().contains("not a WAV file"), "{e}");
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
