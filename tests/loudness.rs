//! Loudness and delivery formats, measured: EBU Tech 3341's first case through the meter and
//! through `segue render`, true peak above sample peak, TPDF-dithered 16-bit files read back.

mod common;

use std::process::Command;

use common::*;
use serde_json::json;

const RATE: u32 = 48_000;

/// A show playing `file` (a cue at 0, no ducking) from `dir`.
fn show_of(dir: &std::path::Path, file: &str) -> std::path::PathBuf {
    let json = json!({ "format": "segue-show/1", "scenes": [{ "id": "s", "at": 0, "cues": [{ "id": "c", "file": file, "at": 0, "duck_db": 0 }] }] });
    std::fs::write(dir.join("show.json"), json.to_string()).unwrap();
    dir.join("show.json")
}

fn stereo(x: &[f32]) -> Vec<f32> {
    x.iter().flat_map(|&s| [s, s]).collect()
}

fn render(show: &std::path::Path, out: &std::path::Path, extra: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_segue"))
        .arg("render")
        .arg(show)
        .arg("-o")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_stereo_1_khz_sine_at_minus_23_dbfs_measures_minus_23_lufs() {
    // EBU Tech 3341, case 1: stereo 1 kHz at -23 dBFS (peak) reads -23.0 LUFS ±0.1.
    let amp = 10f64.powf(-23.0 / 20.0);
    let tone = sine(RATE, 1000.0, amp, RATE as usize * 20, 0.0);
    let l = segue::deliver::loudness::measure(&[&tone, &tone], RATE).unwrap();
    assert!((l.integrated_lufs + 23.0).abs() <= 0.1, "{l}");
    // Through a show and `segue render`: the same, and on target.
    let dir = scratch("loudness-3341");
    write_wav(&dir.join("tone.wav"), RATE, 2, &stereo(&tone));
    let said =
        render(&show_of(&dir, "tone.wav"), &dir.join("out.wav"), &["--duration", "20", "--loudness-target", "-23"]);
    assert!(said.contains("loudness: -23.0 LUFS integrated"), "{said}");
    assert!(!said.contains("above the target") && !said.contains("below the target"), "{said}");
    // 3 dB louder: said, with what to do.
    let said =
        render(&show_of(&dir, "tone.wav"), &dir.join("out.wav"), &["--duration", "20", "--loudness-target", "-26"]);
    assert!(said.contains("3.0 LU above the target -26.0 LUFS: lower the master by 3.0 dB"), "{said}");
}

/// The advice can be followed as it says: 3 LU too loud names `master_db` -3.0 in the show and
/// `--gain-db -3.0`; either way the render is then on target, the two renders are the same to
/// the bit, and the mix is the 0 dB one 3 dB down, sample for sample.
#[test]
fn loudness_advice_names_master_db_and_gain_db_and_following_it_lands_on_target() {
    let dir = scratch("loudness-advice");
    let amp = 10f64.powf(-23.0 / 20.0);
    let tone = sine(RATE, 1000.0, amp, RATE as usize * 20, 0.0);
    write_wav(&dir.join("tone.wav"), RATE, 2, &stereo(&tone));
    let show = show_of(&dir, "tone.wav");
    let target = ["--duration", "20", "--loudness-target", "-26"];
    let said = render(&show, &dir.join("plain.wav"), &target);
    assert!(said.contains("set \"master_db\": -3.0 in the show (it is 0.0), or render with --gain-db -3.0"), "{said}");
    let said = render(&show, &dir.join("gain.wav"), &[&target[..], &["--gain-db", "-3"]].concat());
    assert!(!said.contains("above the target") && said.contains("-26.0 LUFS integrated"), "{said}");
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&show).unwrap()).unwrap();
    json["master_db"] = json!(-3.0);
    let trimmed_show = dir.join("trimmed.json");
    std::fs::write(&trimmed_show, json.to_string()).unwrap();
    let said = render(&trimmed_show, &dir.join("trimmed.wav"), &target);
    assert!(!said.contains("above the target"), "{said}");
    let read = |name: &str| -> Vec<f32> {
        hound::WavReader::open(dir.join(name)).unwrap().samples::<f32>().map(|s| s.unwrap()).collect()
    };
    let (plain, gain, trimmed) = (read("plain.wav"), read("gain.wav"), read("trimmed.wav"));
    assert!(gain == trimmed, "--gain-db and master_db are one gain stage");
    let k = 10f32.powf(-3.0 / 20.0);
    // (One float rounding of the product: 1e-6 is far below a 16-bit step.)
    assert!(plain.iter().zip(&trimmed).all(|(p, t)| (p * k - t).abs() < 1e-6), "3 dB down, sample for sample");
    // From a show with a master_db, the advice counts from it.
    let said = render(&trimmed_show, &dir.join("again.wav"), &["--duration", "20", "--loudness-target", "-29"]);
    assert!(said.contains("set \"master_db\": -6.0 in the show (it is -3.0), or render with --gain-db -3.0"), "{said}");
}

#[test]
fn true_peak_sees_the_peak_between_samples() {
    // A sine at a quarter of the rate, 45° off: every sample at 0.707 of its 0.95 peak.
    let x: Vec<f32> = (0..RATE as usize * 5)
        .map(|i| (0.95 * (std::f64::consts::FRAC_PI_2 * i as f64 + std::f64::consts::FRAC_PI_4).sin()) as f32)
        .collect();
    let l = segue::deliver::loudness::measure(&[&x, &x], RATE).unwrap();
    assert!((l.sample_peak_dbfs - db(0.95 * std::f64::consts::FRAC_1_SQRT_2)).abs() < 0.05, "{l}");
    // 4x oversampling finds the peak between the samples to within its interpolation (0.5 dB).
    assert!(l.true_peak_dbtp > l.sample_peak_dbfs + 2.5, "{l}");
    assert!((l.true_peak_dbtp - db(0.95)).abs() < 0.5, "{l}");
    let dir = scratch("loudness-tp");
    write_wav(&dir.join("tp.wav"), RATE, 2, &stereo(&x));
    let said = render(&show_of(&dir, "tp.wav"), &dir.join("out.wav"), &["--duration", "5"]);
    assert!(said.contains("is above -1 dBTP"), "a true peak over -1 dBTP is warned of: {said}");
}

#[test]
fn sixteen_and_24_bit_renders_are_dithered_and_clipping_is_said() {
    let dir = scratch("loudness-bits");
    let tone = sine(RATE, 997.0, 0.3, RATE as usize * 2, 0.0);
    write_wav(&dir.join("tone.wav"), RATE, 2, &stereo(&tone));
    let show = show_of(&dir, "tone.wav");
    render(&show, &dir.join("f.wav"), &["--duration", "2"]);
    let float: Vec<f32> =
        hound::WavReader::open(dir.join("f.wav")).unwrap().samples::<f32>().map(|s| s.unwrap()).collect();
    for (bits, full) in [("16", 32_767.0f64), ("24", 8_388_607.0)] {
        render(&show, &dir.join(format!("i{bits}.wav")), &["--duration", "2", "--bits", bits]);
        let mut reader = hound::WavReader::open(dir.join(format!("i{bits}.wav"))).unwrap();
        assert_eq!(reader.spec().bits_per_sample.to_string(), bits);
        let ints: Vec<i32> = reader.samples::<i32>().map(|s| s.unwrap()).collect();
        assert_eq!(ints.len(), float.len());
        let errors: Vec<f64> = ints.iter().zip(&float).map(|(&q, &x)| q as f64 - x as f64 * full).collect();
        let rms = (errors.iter().map(|e| e * e).sum::<f64>() / errors.len() as f64).sqrt();
        let worst = errors.iter().fold(0.0f64, |m, e| m.max(e.abs()));
        let mean = errors.iter().sum::<f64>() / errors.len() as f64;
        // TPDF dither plus rounding: 0.5 LSB RMS (1/12 + 1/6 LSB²), never past 1.5 LSB, no bias.
        assert!((rms - 0.5).abs() < 0.02, "{bits}-bit: error {rms:.3} LSB RMS");
        assert!(worst <= 1.5 + 1e-9, "{bits}-bit: error up to {worst:.3} LSB");
        assert!(mean.abs() < 0.01, "{bits}-bit: error biased by {mean:.4} LSB");
    }
    // Too loud for 16 bits: clipped, and said.
    let loud = sine(RATE, 997.0, 1.4, RATE as usize, 0.0);
    write_wav(&dir.join("loud.wav"), RATE, 2, &stereo(&loud));
    let said = render(&show_of(&dir, "loud.wav"), &dir.join("clip.wav"), &["--duration", "1", "--bits", "16"]);
    assert!(said.contains("were clipped at full scale"), "{said}");
}

#[test]
fn check_lists_each_files_loudness_as_it_plays() {
    let dir = scratch("loudness-check");
    let amp = 10f64.powf(-23.0 / 20.0);
    write_wav(&dir.join("st.wav"), RATE, 2, &stereo(&sine(RATE, 1000.0, amp, RATE as usize * 10, 0.0)));
    // Mono at the same level plays on both sides: the same loudness.
    write_wav(&dir.join("mono.wav"), RATE, 1, &sine(RATE, 1000.0, amp, RATE as usize * 10, 0.0));
    let json = json!({ "format": "segue-show/1", "scenes": [{ "id": "s", "at": 0, "bed": { "file": "st.wav" }, "cues": [{ "id": "c", "file": "mono.wav" }] }] });
    std::fs::write(dir.join("show.json"), json.to_string()).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_segue"))
        .args(["check", "--loudness"])
        .arg(dir.join("show.json"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{text}");
    for name in ["st.wav", "mono.wav"] {
        let line = text.lines().find(|l| l.contains(name) && l.contains("LUFS")).unwrap_or_else(|| panic!("{text}"));
        assert!(line.contains("-23.0 LUFS integrated"), "{line}");
    }
}

/// Every WAV `render` writes (main and stems) is a Broadcast WAV that lands at its timecode: its
/// `bext` TimeReference is the samples since midnight of the production's start timecode, plus
/// where the render starts, read back by two readers of their own (the bwavfile crate and
/// ffprobe): 23.976 from 01:00:00:00 at 48 kHz gives 172,972,800 (an hour of timecode is 3603.6
/// s); 29.97 drop-frame from 01:00:00;00 gives 172,799,827; `--start 00:10.000` adds 480,000.
/// iXML says the rate and the drop-frame flag, with the same timestamp.
#[test]
fn renders_are_broadcast_wavs_stamped_with_their_timecode() {
    let dir = scratch("loudness-bwf");
    let tone = sine(RATE, 997.0, 0.3, RATE as usize * 2, 0.0);
    write_wav(&dir.join("tone.wav"), RATE, 2, &stereo(&tone));
    let time_reference = |path: &std::path::Path| -> (u64, String) {
        let mut reader = bwavfile::WaveReader::open(path).unwrap();
        let bext = reader.broadcast_extension().unwrap().expect("a bext chunk");
        let mut ixml = Vec::new();
        reader.read_ixml(&mut ixml).unwrap();
        (bext.time_reference, String::from_utf8_lossy(&ixml).into_owned())
    };
    for (rate, start, extra, want, flag, speed) in [
        ("23.976", "01:00:00:00", None, 172_972_800u64, "NDF", "24000/1001"),
        ("29.97df", "01:00:00;00", None, 172_799_827, "DF", "30000/1001"),
        ("29.97df", "01:00:00;00", Some("00:10.000"), 172_799_827 + 480_000, "DF", "30000/1001"),
    ] {
        let json = json!({ "format": "segue-show/1", "end": 30,
            "production": { "frame_rate": rate, "start_timecode": start },
            "scenes": [{ "id": "s", "at": 0, "cues": [{ "id": "c", "file": "tone.wav", "at": 0, "duck_db": 0 }] }] });
        std::fs::write(dir.join("show.json"), json.to_string()).unwrap();
        let out = dir.join("main.wav");
        let stems = dir.join("stems");
        let mut args = vec!["--duration", "1", "--bits", "24", "--stems", stems.to_str().unwrap()];
        if let Some(at) = extra {
            args.extend(["--start", at]);
        }
        render(&dir.join("show.json"), &out, &args);
        for file in [out.clone(), stems.join("bed.wav"), stems.join("cues.wav")] {
            let (reference, ixml) = time_reference(&file);
            assert_eq!(reference, want, "{rate} {start} {extra:?}: {}", file.display());
            for text in [
                format!("<TIMECODE_RATE>{speed}</TIMECODE_RATE>"),
                format!("<TIMECODE_FLAG>{flag}</TIMECODE_FLAG>"),
                format!("<TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO>{want}</TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO>"),
            ] {
                assert!(ixml.contains(&text), "{text} in {ixml}");
            }
        }
        let probe = std::process::Command::new("ffprobe")
            .args(["-v", "error", "-show_entries", "format_tags=time_reference", "-of", "default=nw=1:nk=1"])
            .arg(&out)
            .output()
            .expect("ffprobe (ffmpeg, installed by .ci/setup)");
        assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), want.to_string(), "ffprobe's reading");
        // The audio is what it was: 24-bit, read back by hound, the tone at its level (from
        // the top: the tone is over by 10 s).
        if extra.is_some() {
            continue;
        }
        let back: Vec<f32> =
            hound::WavReader::open(&out).unwrap().samples::<i32>().map(|s| s.unwrap() as f32 / 8_388_608.0).collect();
        let left: Vec<f32> = back.iter().step_by(2).copied().collect();
        assert!((level_db(&left, RATE, 997.0, 0.1, 0.9) - db(0.3)).abs() < 0.1, "the tone in the file");
    }
}

/// A file past 4 GB is written as RF64 with its 64-bit sizes in `ds64` (here with the limit
/// lowered, so the test writes kilobytes): bwavfile and ffprobe read its length, its samples and
/// its stamp back.
#[test]
fn a_render_past_the_riff_limit_is_written_as_rf64() {
    use segue::deliver::wav::{self, Bits, Stamp};
    let dir = scratch("loudness-rf64");
    let n = 4_800;
    let l: Vec<f32> = sine(RATE, 1000.0, 0.5, n, 0.0);
    let r: Vec<f32> = l.iter().map(|x| -x).collect();
    let stamp = Stamp { time_reference: 5_000_000_000, frame_rate: None, description: "a long one".into() };
    let path = dir.join("long.wav");
    wav::write_with(&path, RATE, &[l.clone(), r], Bits::Float32, &stamp, 1_000).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..4], b"RF64");
    let mut reader = bwavfile::WaveReader::open(&path).unwrap();
    assert_eq!(reader.frame_length().unwrap(), n as u64);
    assert_eq!(reader.broadcast_extension().unwrap().unwrap().time_reference, 5_000_000_000, "past 32 bits too");
    let mut frames = reader.audio_frame_reader().unwrap();
    let mut buffer = vec![0.0f32; 2 * n];
    assert_eq!(frames.read_frames(&mut buffer).unwrap(), n as u64);
    assert!(buffer.chunks(2).zip(&l).all(|(f, x)| f[0] == *x && f[1] == -x), "the samples as written");
    let probe = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=duration_ts", "-of", "default=nw=1:nk=1"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), n.to_string(), "ffprobe reads its length");
}
