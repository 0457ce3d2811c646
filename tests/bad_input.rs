//! Bad input (#8): a corpus of malformed show files, audio files, OSC packets, MIDI messages
//! and journals, each with the outcome it must have. Every one gives an answer, never a panic;
//! a refusal names what is wrong and where (the file, the JSON path, the address).
//!
//! Each test runs its whole table and lists every case that did not come out as expected.

mod common;

use std::path::{Path, PathBuf};

use segue::app::osc::{decode_packet, SlipDecoder};
use segue::control::midi::{decode as decode_midi, msc_message, MidiCommand, MidiMap, Msc, MAX_CUE_NUMBER};
use segue::show;
use segue::stream::probe::probe;
use segue::stream::source::{whole_file, Source};
use serde_json::{json, Value};

/// What a case must come to: accepted, or refused with every one of these words in the message.
enum Expect {
    Ok,
    Refused(&'static [&'static str]),
}

/// Compares an outcome with what was expected; `Some(why)` when they differ.
fn check(name: &str, outcome: Result<String, String>, expect: &Expect) -> Option<String> {
    match (outcome, expect) {
        (Ok(_), Expect::Ok) => None,
        (Err(e), Expect::Ok) => Some(format!("{name}: expected it to be accepted, got: {e}")),
        (Ok(what), Expect::Refused(words)) => {
            Some(format!("{name}: expected a refusal with {words:?}, got accepted: {what}"))
        }
        (Err(e), Expect::Refused(words)) => {
            let lower = e.to_lowercase();
            let missing: Vec<&&str> = words.iter().filter(|w| !lower.contains(&w.to_lowercase())).collect();
            (!missing.is_empty()).then(|| format!("{name}: the message lacks {missing:?}: {e}"))
        }
    }
}

fn report(failures: Vec<String>, cases: usize) {
    assert!(failures.is_empty(), "{} of {cases} cases came out wrong:\n{}", failures.len(), failures.join("\n"));
}

/// A valid show of one scene with a bed and two cues, in `dir` with its audio.
fn base_show(dir: &Path) -> Value {
    common::sine_file(dir, "bed.wav", 48_000, 220.0, 0.3, 2.0, 0.0);
    common::sine_file(dir, "song.wav", 48_000, 440.0, 0.3, 2.0, 0.0);
    json!({
        "format": "segue-show/1",
        "scenes": [{
            "id": "s1", "at": 0,
            "bed": { "file": "bed.wav", "loop": true },
            "cues": [
                { "id": "c1", "file": "song.wav", "at": 0.5 },
                { "id": "c2", "file": "song.wav" }
            ]
        }]
    })
}

/// `base` with the value at JSON pointer `at` replaced (or added) by `value`.
fn with(base: &Value, at: &str, value: Value) -> Value {
    let mut v = base.clone();
    let (parent, key) = at.rsplit_once('/').unwrap();
    match v.pointer_mut(parent).unwrap() {
        Value::Object(o) => {
            o.insert(key.to_string(), value);
        }
        Value::Array(a) => a[key.parse::<usize>().unwrap()] = value,
        _ => panic!("{at}"),
    }
    v
}

fn load_text(dir: &Path, name: &str, text: &[u8]) -> Result<String, String> {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    load_path(&path)
}

fn load_path(path: &Path) -> Result<String, String> {
    match show::load(path) {
        Ok(file) => Ok(format!("{} scenes", file.show.scenes.len())),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn broken_show_files_are_refused_with_what_and_where() {
    let dir = common::scratch("bad-shows");
    let base = base_show(&dir);
    let cue = |key: &str, value: Value| with(&base, &format!("/scenes/0/cues/0/{key}"), value);
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    let many_cues: Vec<Value> = (0..100_000).map(|i| json!({ "id": format!("c{i}"), "file": "song.wav" })).collect();
    let mut chain = base.clone();
    chain["scenes"][0]["cues"] = json!([
        { "id": "a", "file": "song.wav", "follow": { "after": "b" } },
        { "id": "b", "file": "song.wav", "follow": { "after": "a" } }
    ]);
    let mut twins = base.clone();
    twins["scenes"][0]["cues"][1]["id"] = json!("c1");
    let text_cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        ("the base show", base.to_string().into_bytes(), Expect::Ok),
        ("an empty file", vec![], Expect::Refused(&["not valid JSON", "line 1"])),
        ("cut short", base.to_string().as_bytes()[..40].to_vec(), Expect::Refused(&["not valid JSON"])),
        (
            "a trailing comma",
            b"{\"format\": \"segue-show/1\", }".to_vec(),
            Expect::Refused(&["not valid JSON", "line 1"]),
        ),
        ("not UTF-8", b"{\"format\": \"segue-\xff\"}".to_vec(), Expect::Refused(&["UTF-8"])),
        ("an array, not an object", b"[1, 2, 3]".to_vec(), Expect::Refused(&["object"])),
        ("no format", json!({ "scenes": [] }).to_string().into_bytes(), Expect::Refused(&["format"])),
        (
            "another format",
            with(&base, "/format", json!("segue-show/9")).to_string().into_bytes(),
            Expect::Refused(&["format", "segue-show/1"]),
        ),
        ("10,000-deep nesting", deep.into_bytes(), Expect::Refused(&["not valid JSON"])),
        (
            "a 10 MB name",
            cue("name", json!("x".repeat(10_000_000))).to_string().into_bytes(),
            Expect::Refused(&["MB", "at most"]),
        ),
        (
            "100,000 cues",
            with(&base, "/scenes/0/cues", Value::Array(many_cues)).to_string().into_bytes(),
            Expect::Refused(&["100000 cues", "at most 10000"]),
        ),
        (
            "a gain of 1e300 dB",
            cue("gain_db", json!(1e300)).to_string().into_bytes(),
            Expect::Refused(&["scenes[0].cues[0].gain_db", "+24"]),
        ),
        (
            "a gain of -1e300 dB",
            cue("gain_db", json!(-1e300)).to_string().into_bytes(),
            Expect::Refused(&["gain_db", "-144"]),
        ),
        (
            "a gain as text",
            cue("gain_db", json!("loud")).to_string().into_bytes(),
            Expect::Refused(&["gain_db", "a gain in dB"]),
        ),
        (
            "a time of 1e300 s",
            cue("at", json!(1e300)).to_string().into_bytes(),
            Expect::Refused(&["scenes[0].cues[0].at", "24 hours"]),
        ),
        (
            "a negative time",
            cue("at", json!(-1)).to_string().into_bytes(),
            Expect::Refused(&["cues[0].at", "negative"]),
        ),
        (
            "a time of 100 hours as text",
            cue("at", json!("100:00:00.000")).to_string().into_bytes(),
            Expect::Refused(&["cues[0].at", "24 hours"]),
        ),
        (
            "a time that is not one",
            cue("at", json!("soon")).to_string().into_bytes(),
            Expect::Refused(&["cues[0].at", "not a time"]),
        ),
        (
            "a fade of 1e300 ms",
            cue("fade_in_ms", json!(1e300)).to_string().into_bytes(),
            Expect::Refused(&["fade_in_ms", "24 hours"]),
        ),
        (
            "a negative fade",
            cue("fade_out_ms", json!(-5)).to_string().into_bytes(),
            Expect::Refused(&["fade_out_ms", "milliseconds"]),
        ),
        (
            "a duck of -1e300 dB",
            cue("duck_db", json!(-1e300)).to_string().into_bytes(),
            Expect::Refused(&["duck_db", "-144"]),
        ),
        (
            "a positive duck",
            cue("duck_db", json!(6)).to_string().into_bytes(),
            Expect::Refused(&["duck_db", "0 = no ducking"]),
        ),
        ("a pan of 2", cue("pan", json!(2)).to_string().into_bytes(), Expect::Refused(&["pan", "-1"])),
        (
            "a tempo of 0",
            with(&base, "/scenes/0/bed/tempo_bpm", json!(0)).to_string().into_bytes(),
            Expect::Refused(&["tempo_bpm", "more than 0"]),
        ),
        (
            "a tempo of 1e9",
            with(&base, "/scenes/0/bed/tempo_bpm", json!(1e9)).to_string().into_bytes(),
            Expect::Refused(&["tempo_bpm", "1000"]),
        ),
        (
            "an unknown field",
            cue("gian_db", json!(3)).to_string().into_bytes(),
            Expect::Refused(&["gian_db", "gain_db"]),
        ),
        ("a note of 300", cue("note", json!(300)).to_string().into_bytes(), Expect::Refused(&["note"])),
        ("two cues with one id", twins.to_string().into_bytes(), Expect::Refused(&["c1"])),
        ("a follow cycle", chain.to_string().into_bytes(), Expect::Refused(&["follow"])),
        (
            "a follow of a cue that is not there",
            cue("follow", json!({ "after": "nobody" })).to_string().into_bytes(),
            Expect::Refused(&["nobody"]),
        ),
        (
            "a missing audio file",
            cue("file", json!("gone.wav")).to_string().into_bytes(),
            Expect::Refused(&["gone.wav", "not found"]),
        ),
        ("audio that is a folder", cue("file", json!(".")).to_string().into_bytes(), Expect::Refused(&["folder"])),
        (
            "audio that is /dev/zero",
            cue("file", json!("/dev/zero")).to_string().into_bytes(),
            Expect::Refused(&["/dev/zero", "device"]),
        ),
        (
            "audio that is a FIFO",
            cue("file", json!("pipe.wav")).to_string().into_bytes(),
            Expect::Refused(&["pipe.wav", "named pipe"]),
        ),
        (
            "audio that is the show itself",
            cue("file", json!("show.json")).to_string().into_bytes(),
            Expect::Refused(&["show.json"]),
        ),
        (
            "an accented audio file name that is not on disk",
            cue("file", json!("caf\u{e9}.wav")).to_string().into_bytes(),
            Expect::Refused(&["caf\u{e9}.wav", "not found"]),
        ),
        (
            "a file name with a NUL",
            cue("file", json!("a\u{0}b.wav")).to_string().into_bytes(),
            Expect::Refused(&["cues[0]"]),
        ),
    ];
    make_fifo(&dir.join("pipe.wav"));
    let mut failures = Vec::new();
    let cases = text_cases.len() + 5;
    for (name, text, expect) in &text_cases {
        // Each case in a file of its own, next to the audio.
        failures.extend(check(name, load_text(&dir, "show.json", text), expect));
    }
    // What the show path itself names.
    make_fifo(&dir.join("fifo.json"));
    // A file name that is not UTF-8 (Linux allows any bytes but / and NUL).
    use std::os::unix::ffi::OsStrExt;
    let latin1 = dir.join(std::ffi::OsStr::from_bytes(b"\xe9pisode.json"));
    std::fs::write(&latin1, base.to_string()).unwrap();
    let paths: Vec<(&str, PathBuf, Expect)> = vec![
        ("a show file whose name is not UTF-8", latin1, Expect::Ok),
        ("a show path that is a folder", dir.clone(), Expect::Refused(&["folder"])),
        ("a show path that is /dev/zero", PathBuf::from("/dev/zero"), Expect::Refused(&["/dev/zero", "device"])),
        ("a show path that is a FIFO", dir.join("fifo.json"), Expect::Refused(&["fifo.json", "named pipe"])),
        ("a show path that is not there", dir.join("nothing.json"), Expect::Refused(&["nothing.json", "not found"])),
    ];
    for (name, path, expect) in &paths {
        failures.extend(check(name, load_path(path), expect));
    }
    report(failures, cases);
}

/// A named pipe at `path` (mkfifo, from coreutils).
fn make_fifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    let ok = std::process::Command::new("mkfifo").arg(path).status().is_ok_and(|s| s.success());
    assert!(ok, "mkfifo {}", path.display());
}

/// A canonical 16-bit PCM WAV header for `frames` frames (the data chunk's size as given).
fn wav_header(channels: u16, rate: u32, data_bytes: u32) -> Vec<u8> {
    let block = channels * 2;
    let mut h = Vec::new();
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(36u32.wrapping_add(data_bytes)).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&channels.to_le_bytes());
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&(rate * block as u32).to_le_bytes());
    h.extend_from_slice(&block.to_le_bytes());
    h.extend_from_slice(&16u16.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_bytes.to_le_bytes());
    h
}

fn probe_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<String, String> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    probe_path(&path)
}

fn probe_path(path: &Path) -> Result<String, String> {
    let info = probe(path).map_err(|e| e.to_string())?;
    // Accepted files must also decode to their end without an error.
    let spec = whole_file(path).map_err(|e| e.to_string())?;
    let mut source = Source::open(&spec, 48_000, 0).map_err(|e| e.to_string())?;
    let ch = source.channels() as usize;
    let mut buf = vec![0.0f32; 4096 * ch];
    let mut frames = 0usize;
    loop {
        let n = source.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        frames += n;
        if let Some(x) = buf[..n * ch].iter().find(|x| !x.is_finite()) {
            return Err(format!("a sample that is not a number reached the output: {x}"));
        }
    }
    Ok(format!("{} Hz, {} channels, {} frames, {frames} decoded", info.sample_rate, info.channels, info.frames))
}

#[test]
fn broken_audio_files_are_refused_with_why() {
    let dir = common::scratch("bad-audio");
    let pcm: Vec<u8> = (0..48_000 * 2).flat_map(|i: i32| ((i * 37 % 20_000) as i16).to_le_bytes()).collect();
    let whole = [wav_header(1, 48_000, pcm.len() as u32), pcm.clone()].concat();
    // One second of stereo float at `rate`, the left channel's every thousandth frames NaN,
    // +inf, -inf, 1e30 and -3e38.
    let float_wav = |rate: u32, name: &str| {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: rate,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let path = dir.join(name);
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..rate {
            let x = match i % 1000 {
                0 => f32::NAN,
                1 => f32::INFINITY,
                2 => f32::NEG_INFINITY,
                3 => 1e30,
                4 => -3e38,
                _ => 0.1,
            };
            w.write_sample(x).unwrap();
            w.write_sample(0.1f32).unwrap();
        }
        w.finalize().unwrap();
        std::fs::read(&path).unwrap()
    };
    let float_nan = float_wav(48_000, "nan.wav");
    // Resampled to 48 kHz: the huge values overflowed the resampler's FFT and panicked it
    // (found by the audio_file fuzz target).
    let float_huge = float_wav(44_100, "huge.wav");
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend(std::iter::repeat_n(0u8, 2000));
    let eight: Vec<u8> = (0..4800 * 8).flat_map(|i: i32| ((i % 3000) as i16).to_le_bytes()).collect();
    let cases: Vec<(&str, &str, Vec<u8>, Expect)> = vec![
        ("a good WAV", "good.wav", whole.clone(), Expect::Ok),
        ("an empty WAV", "empty.wav", vec![], Expect::Refused(&["empty.wav", "empty"])),
        ("a WAV cut inside its header", "head.wav", whole[..30].to_vec(), Expect::Refused(&["head.wav"])),
        (
            "a WAV cut inside its data",
            "half.wav",
            whole[..whole.len() / 2].to_vec(),
            Expect::Refused(&["half.wav", "truncated"]),
        ),
        (
            "a WAV that declares 4 GB",
            "huge.wav",
            [wav_header(1, 48_000, 0xFFFF_FFF0), pcm.clone()].concat(),
            Expect::Refused(&["huge.wav", "truncated"]),
        ),
        (
            "a WAV whose RIFF size is wrong",
            "riff.wav",
            {
                let mut w = whole.clone();
                w[4..8].copy_from_slice(&7u32.to_le_bytes());
                w
            },
            Expect::Ok,
        ),
        (
            "a WAV of 0 channels",
            "zero-ch.wav",
            [wav_header(0, 48_000, 1000), vec![0; 1000]].concat(),
            Expect::Refused(&["zero-ch.wav"]),
        ),
        (
            "a WAV at 0 Hz",
            "zero-hz.wav",
            [wav_header(1, 0, 1000), vec![0; 1000]].concat(),
            Expect::Refused(&["zero-hz.wav", "0"]),
        ),
        (
            "a WAV of 8 channels (folded to stereo)",
            "eight.wav",
            [wav_header(8, 48_000, eight.len() as u32), eight].concat(),
            Expect::Ok,
        ),
        ("a float WAV with NaN, infinite and huge samples (they play as silence)", "nan.wav", float_nan, Expect::Ok),
        ("the same at 44.1 kHz, through the resampler", "huge.wav", float_huge, Expect::Ok),
        (
            "a text file named .wav",
            "notes.wav",
            b"these are not the samples you are looking for\n".repeat(50),
            Expect::Refused(&["notes.wav"]),
        ),
        ("a PNG named .mp3", "picture.mp3", png.clone(), Expect::Refused(&["picture.mp3"])),
        ("a PNG named .flac", "picture.flac", png.clone(), Expect::Refused(&["picture.flac"])),
        ("a PNG named .m4a", "picture.m4a", png.clone(), Expect::Refused(&["picture.m4a"])),
        ("a PNG named .ogg", "picture.ogg", png.clone(), Expect::Refused(&["picture.ogg"])),
        ("a PNG named .aiff", "picture.aiff", png, Expect::Refused(&["picture.aiff"])),
        (
            "random bytes named .wav",
            "noise.wav",
            (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect(),
            Expect::Refused(&["noise.wav"]),
        ),
        (
            "a RIFF file that is not WAVE",
            "avi.wav",
            {
                let mut w = whole.clone();
                w[8..12].copy_from_slice(b"AVI ");
                w
            },
            Expect::Refused(&["avi.wav"]),
        ),
    ];
    let mut failures = Vec::new();
    let count = cases.len() + 4;
    for (name, file, bytes, expect) in &cases {
        failures.extend(check(name, probe_file(&dir, file, bytes), expect));
    }
    make_fifo(&dir.join("pipe.wav"));
    let paths: Vec<(&str, PathBuf, Expect)> = vec![
        ("a folder", dir.clone(), Expect::Refused(&["folder"])),
        ("/dev/zero", PathBuf::from("/dev/zero"), Expect::Refused(&["/dev/zero", "device"])),
        ("a FIFO", dir.join("pipe.wav"), Expect::Refused(&["pipe.wav", "named pipe"])),
        ("a file that is not there", dir.join("gone.wav"), Expect::Refused(&["gone.wav", "not found"])),
    ];
    for (name, path, expect) in &paths {
        failures.extend(check(name, probe_path(path), expect));
    }
    report(failures, count);
}

/// An MP3 with a damaged stretch in its middle plays on past it, to its full length.
#[test]
fn an_mp3_damaged_in_the_middle_plays_on_past_it() {
    let dir = common::scratch("bad-mp3");
    common::sine_file(&dir, "tone.wav", 44_100, 440.0, 0.5, 6.0, 0.0);
    let mp3 = dir.join("tone.mp3");
    let ok = std::process::Command::new("ffmpeg")
        .args(["-y", "-loglevel", "error", "-i"])
        .arg(dir.join("tone.wav"))
        .args(["-c:a", "libmp3lame", "-b:a", "128k"])
        .arg(&mp3)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ffmpeg (installed by .ci/setup) could not make the MP3");
    let mut bytes = std::fs::read(&mp3).unwrap();
    let mid = bytes.len() / 2;
    for (i, b) in bytes[mid..mid + 2000].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(151) ^ 0x5A;
    }
    std::fs::write(&mp3, &bytes).unwrap();
    assert!(probe(&mp3).is_ok(), "a file damaged in its middle is still taken");
    // Decoded as the loader does: past the damage to (nearly) the end. Where the damage took
    // whole frames with it, what follows comes that much earlier and the file comes up short at
    // its end: that is reported, once, with words for it.
    let spec = whole_file(&mp3).unwrap();
    let mut source = Source::open(&spec, 48_000, 0).unwrap();
    let mut buf = vec![0.0f32; 4096 * source.channels() as usize];
    let mut frames = 0usize;
    let outcome = loop {
        match source.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => frames += n,
            Err(e) => break Err(e.to_string()),
        }
    };
    // Past the damage (at 3 s) to 5.5 s of the 6: the 2000 damaged bytes are about five 128k
    // frames (0.13 s), and reads come in chunks of 4096 frames.
    assert!(frames >= 48_000 * 11 / 2, "played {frames} frames, {outcome:?}");
    if let Err(e) = outcome {
        assert!(e.contains("tone.mp3") && e.contains("ends early") && e.contains("damaged"), "{e}");
    }
}

#[test]
fn malformed_osc_is_refused_and_the_rest_answered() {
    let message = |addr: &str, args: Vec<rosc::OscType>| {
        rosc::encoder::encode(&rosc::OscPacket::Message(rosc::OscMessage { addr: addr.into(), args })).unwrap()
    };
    let go = message("/segue/go", vec![]);
    let mut nested = go.clone();
    for _ in 0..1000 {
        nested = rosc::encoder::encode(&rosc::OscPacket::Bundle(rosc::OscBundle {
            timetag: rosc::OscTime { seconds: 0, fractional: 1 },
            content: vec![rosc::decoder::decode_udp(&nested)
                .map(|(_, p)| p)
                .unwrap_or(rosc::OscPacket::Message(rosc::OscMessage { addr: "/segue/go".into(), args: vec![] }))],
        }))
        .unwrap();
        if nested.windows(8).filter(|w| w == b"#bundle\0").count() > 40 {
            break;
        }
    }
    let outcome = |bytes: &[u8]| -> Result<String, String> {
        let list = decode_packet(bytes)?;
        let mut said = Vec::new();
        for (address, remote) in list {
            match remote {
                Ok(r) => said.push(format!("{address}: {r:?}")),
                Err(e) => return Err(format!("{address}: {e}")),
            }
        }
        Ok(said.join("; "))
    };
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        ("GO", go.clone(), Expect::Ok),
        ("an empty packet", vec![], Expect::Refused(&["not an OSC packet"])),
        ("a packet cut short", go[..5].to_vec(), Expect::Refused(&["not an OSC packet"])),
        ("a packet with no address", b"\0\0\0\0,\0\0\0".to_vec(), Expect::Refused(&[])),
        (
            "a level given as text",
            message("/segue/level/master", vec![rosc::OscType::String("loud".into())]),
            Expect::Refused(&["/segue/level/master"]),
        ),
        (
            "a level that is not a number",
            message("/segue/level/master", vec![rosc::OscType::Float(f32::NAN)]),
            Expect::Refused(&["finite"]),
        ),
        (
            "an infinite level",
            message("/segue/level/cues", vec![rosc::OscType::Double(f64::INFINITY)]),
            Expect::Refused(&["finite"]),
        ),
        (
            "a negative locate",
            message("/segue/transport/locate", vec![rosc::OscType::Float(-3.0)]),
            Expect::Refused(&["seconds"]),
        ),
        ("an unknown address", message("/segue/fly", vec![]), Expect::Refused(&["/segue/fly", "not a Segue address"])),
        (
            "a 64 KB string",
            message("/segue/cue/go", vec![rosc::OscType::String("x".repeat(65_536))]),
            Expect::Refused(&["/segue/cue"]),
        ),
        (
            "a 64 KB address",
            message(&format!("/{}", "a".repeat(65_536)), vec![]),
            Expect::Refused(&["not a Segue address"]),
        ),
        ("bundles nested 1,000 deep", nested, Expect::Refused(&["bundles", "at most"])),
        ("garbage", (0..300u32).map(|i| (i * 97 % 251) as u8).collect(), Expect::Refused(&["not an OSC packet"])),
    ];
    let mut failures = Vec::new();
    for (name, bytes, expect) in &cases {
        failures.extend(check(name, outcome(bytes), expect));
    }
    // SLIP (OSC over TCP): a stream that never ends a frame is dropped once it is longer than
    // any packet, and the next frame is read as it should be.
    let mut slip = SlipDecoder::default();
    let flood: Vec<Option<Result<Vec<u8>, ()>>> = (0..200_000).map(|i| slip.push((i % 150) as u8)).collect();
    if flood.iter().any(|r| r.is_some()) {
        failures.push("a SLIP stream without END gave a frame before its END".into());
    }
    if slip.push(0xC0) != Some(Err(())) {
        failures.push("an over-long SLIP frame was not refused at its END".into());
    }
    let mut frame = Vec::new();
    for &b in &go {
        if let Some(done) = slip.push(b) {
            frame.push(done);
        }
    }
    if slip.push(0xC0) != Some(Ok(go.clone())) || !frame.is_empty() {
        failures.push("the frame after an over-long one did not come through whole".into());
    }
    // A bad escape drops that frame only.
    if [0xDBu8, 0x01, 0xC0].iter().filter_map(|&b| slip.push(b)).next() != Some(Err(())) {
        failures.push("a bad SLIP escape was not refused".into());
    }
    report(failures, cases.len() + 3);
}

#[test]
fn malformed_midi_is_ignored_never_taken_for_a_command() {
    let map = MidiMap::default();
    let msc = |q: &str| msc_message(0x7F, 0x10, 0x01, Some(q));
    let cases: Vec<(&str, Vec<u8>, Option<MidiCommand>)> = vec![
        ("a GO note", vec![0x90, map.go_note, 100], Some(MidiCommand::Go)),
        ("running status (a data byte first)", vec![map.go_note, 100], None),
        ("a note on of velocity 0 (a note off)", vec![0x90, map.go_note, 0], None),
        ("a note cut short", vec![0x90], None),
        ("an empty message", vec![], None),
        ("a SysEx cut short", vec![0xF0, 0x7F, 0x7F, 0x02], None),
        ("an MSC GO of cue 12.5", msc("12.5"), Some(MidiCommand::Msc(Msc::Go(Some("12.5".into()))))),
        ("an MSC GO with a 1 KB cue number", msc(&"7".repeat(1024)), None),
        ("an MSC GO with a cue number that is not one", msc("1a"), None),
        (
            "an MSC GO at the longest cue number",
            msc(&"7".repeat(MAX_CUE_NUMBER)),
            Some(MidiCommand::Msc(Msc::Go(Some("7".repeat(MAX_CUE_NUMBER))))),
        ),
        ("a SysEx of another maker", vec![0xF0, 0x43, 0x10, 0x4C, 0x00, 0xF7], None),
        ("real-time clock bytes", vec![0xF8, 0xFA, 0xFC], None),
    ];
    let mut failures = Vec::new();
    for (name, bytes, want) in &cases {
        let got = decode_midi(bytes, &map);
        if &got != want {
            failures.push(format!("{name}: expected {want:?}, got {got:?}"));
        }
    }
    report(failures, cases.len());
}

#[test]
fn damaged_journals_are_refused_with_why() {
    let dir = common::scratch("bad-journal");
    let base = base_show(&dir);
    let show = dir.join("show.json");
    std::fs::write(&show, base.to_string()).unwrap();
    let other = dir.join("other.json");
    std::fs::write(&other, base.to_string()).unwrap();
    let good = json!({ "show": show, "position": 12.5, "playing": false, "scene": "s1", "standby": null, "playing_cues": [], "wall_ms": 0 });
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        ("a good journal", good.to_string().into_bytes(), Expect::Ok),
        ("a journal cut short", good.to_string().as_bytes()[..30].to_vec(), Expect::Refused(&["damaged"])),
        ("an empty journal", vec![], Expect::Refused(&["damaged"])),
        (
            "another show's journal",
            with(&good, "/show", json!(other)).to_string().into_bytes(),
            Expect::Refused(&["other.json"]),
        ),
        (
            "a position that is not a number",
            with(&good, "/position", json!("later")).to_string().into_bytes(),
            Expect::Refused(&["damaged"]),
        ),
        ("not UTF-8", b"{\"show\": \"\xff\"}".to_vec(), Expect::Refused(&["journal"])),
    ];
    let mut failures = Vec::new();
    for (name, bytes, expect) in &cases {
        let path = dir.join("journal.json");
        std::fs::write(&path, bytes).unwrap();
        let outcome = segue::app::journal::read(&path, &show).map(|s| format!("at {}", s.position));
        failures.extend(check(name, outcome, expect));
    }
    let missing = segue::app::journal::read(&dir.join("none.json"), &show).map(|s| format!("at {}", s.position));
    failures.extend(check("a journal that is not there", missing, &Expect::Refused(&["none.json"])));
    report(failures, cases.len() + 1);
}

/// A show's audio paths that climb out of its folder play when written that way, and the
/// summary `segue check` prints lists them; paths inside are not listed.
#[test]
fn audio_outside_the_show_folder_is_listed_by_check() {
    let root = common::scratch("outside");
    let dir = root.join("show");
    std::fs::create_dir_all(dir.join("audio")).unwrap();
    common::sine_file(&root, "library.wav", 48_000, 440.0, 0.3, 1.0, 0.0);
    common::sine_file(&dir.join("audio"), "inside.wav", 48_000, 440.0, 0.3, 1.0, 0.0);
    let absolute = root.join("library.wav").display().to_string();
    let file = common::show_file(
        &dir,
        json!({ "format": "segue-show/1", "scenes": [{ "id": "s", "at": 0, "cues": [
            { "id": "a", "file": "../library.wav", "at": 0 },
            { "id": "b", "file": absolute, "at": 0 },
            { "id": "c", "file": "audio/inside.wav", "at": 0 }
        ] }] }),
    );
    let text = show::summary::summary(&file);
    let listed = text.split("Audio outside the show's folder").nth(1).unwrap_or_else(|| panic!("{text}"));
    assert!(listed.contains("../library.wav") && listed.contains(&absolute), "{text}");
    assert!(!listed.contains("inside.wav"), "{text}");
}

/// A show given as text (a plugin state, a reload) is held to a show file's size, before any
/// parsing: a 50 MB one is refused at once.
#[test]
fn a_show_given_as_text_is_held_to_a_show_files_size() {
    let text = format!("{{\"format\": \"segue-show/1\", \"name\": \"{}\", \"scenes\": []}}", "x".repeat(50_000_000));
    let Err(refused) = show::from_json(&text, Path::new("state"), Path::new(".")) else {
        panic!("a 50 MB show was taken")
    };
    let message = refused.to_string();
    assert!(message.contains("state") && message.contains("at most 8 MB"), "{message}");
}
