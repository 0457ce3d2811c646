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
