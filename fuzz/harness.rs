//! What each fuzz target feeds to Segue, once per input. Shared by the targets in
//! `fuzz/fuzz_targets/` (libFuzzer, `cargo fuzz run TARGET`) and by `tests/fuzz_regressions.rs`,
//! which replays the committed seeds (`fuzz/seeds/TARGET/`) and every crash found
//! (`fuzz/regressions/TARGET/`) under `cargo test`. A function returns normally for any input:
//! a panic, an abort, a hang or runaway memory is the finding.

// Each target uses one of these functions; the test uses them all.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use segue::app::osc::{decode_packet, SlipDecoder};
use segue::control::midi::{decode, MidiMap};
use segue::plugin::desk::open_saved;
use segue::plugin::params::SavedShow;
use segue::stream::source::{whole_file, Source};

/// The rate the engine runs at in these targets.
const RATE: u32 = 48_000;
/// The most engine frames read from one fuzzed audio file: 2 s is past any header and a few
/// packets of every codec, and keeps an input well under a millisecond's worth of budget.
const MAX_FRAMES: usize = 2 * RATE as usize;

/// A folder of this process's (in memory where the system has /dev/shm), with a short stereo
/// WAV `a.wav` and a mono `b.wav` that the seeds' shows name, so the fuzzer reaches shows that
/// load.
fn workspace() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // libFuzzer's hook aborts on every panic, even one Segue catches on purpose (symphonia
        // panics on some damaged files; `Decoded::open` turns that into an error): back to the
        // default hook, so only a panic that escapes the harness (which libfuzzer-sys still
        // catches and aborts on) is a finding.
        let _ = std::panic::take_hook();
        let base = if Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
        let dir = base.join(format!("segue-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch folder for the fuzz inputs");
        for (name, channels) in [("a.wav", 2u16), ("b.wav", 1)] {
            let spec = hound::WavSpec {
                channels,
                sample_rate: 44_100,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            };
            let mut w = hound::WavWriter::create(dir.join(name), spec).expect("a scratch WAV");
            for i in 0..4410 * channels as i32 {
                w.write_sample(((i * 37) % 2000 - 1000) as i16).expect("a scratch WAV");
            }
            w.finalize().expect("a scratch WAV");
        }
        dir
    })
}

/// A show file's text: loaded and checked as `segue check` does (relative paths resolve in
/// the scratch folder), then compiled into the engine's program at 48 kHz.
pub fn show_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let dir = workspace();
    if let Ok(file) = segue::show::from_json(text, &dir.join("fuzz.json"), dir) {
        let compiled = segue::control::compile::compile(&file, RATE, 1);
        std::hint::black_box(compiled);
    }
}

/// A plugin state's persisted show, as the host hands it back: the JSON of the saved field,
/// then the show inside it.
pub fn plugin_state(data: &[u8]) {
    if let Ok(saved) = serde_json::from_slice::<SavedShow>(data) {
        let _ = std::hint::black_box(open_saved(&saved));
    }
}

/// One UDP datagram, then the same bytes as a TCP stream of SLIP frames, each frame a packet.
pub fn osc(data: &[u8]) {
    let _ = std::hint::black_box(decode_packet(data));
    let mut slip = SlipDecoder::default();
    for &byte in data {
        if let Some(Ok(frame)) = slip.push(byte) {
            let _ = std::hint::black_box(decode_packet(&frame));
        }
    }
}

/// One MIDI message as JACK or ALSA delivers it (notes, programs, MSC sysex), with the default
/// map and with a map on device 0x05.
pub fn midi(data: &[u8]) {
    let map = MidiMap::default();
    std::hint::black_box(decode(data, &map));
    let other = MidiMap { msc_device: 0x05, ..map };
    std::hint::black_box(decode(data, &other));
}

/// An audio file: the first byte picks the extension (which the probe trusts no more than the
/// bytes), the second where playback starts; the rest is the file. Probed as a show's file is,
/// then streamed through the loader's source (decoder, resampler to 48 kHz) for up to 2 s.
pub fn audio_file(data: &[u8]) {
    const EXTENSIONS: [&str; 8] = ["wav", "mp3", "flac", "ogg", "m4a", "aiff", "aif", "wave"];
    let [kind, start, body @ ..] = data else { return };
    let path = workspace().join(format!("input.{}", EXTENSIONS[*kind as usize % EXTENSIONS.len()]));
    {
        let Ok(mut f) = std::fs::File::create(&path) else { return };
        if f.write_all(body).is_err() {
            return;
        }
    }
    let Ok(spec) = whole_file(&path) else { return };
    let offset = (*start as u64) * 1000;
    let Ok(mut source) = Source::open(&spec, RATE, offset) else { return };
    let mut out = vec![0.0f32; 4096 * spec.channels as usize];
    let mut read = 0;
    while read < MAX_FRAMES {
        match source.read(&mut out) {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
    }
    assert!(out.iter().all(|s| s.is_finite()), "the source handed out a sample that is not a number");
}
