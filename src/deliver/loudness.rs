//! Loudness of stereo audio by EBU R128 / ITU-R BS.1770-4 (through the `ebur128` crate):
//! integrated loudness (LUFS), loudness range (LU), true peak (dBTP, 4x oversampled) and sample
//! peak (dBFS).

use std::fmt;

use ebur128::{EbuR128, Mode};

/// Where a delivery's true peak may go at most (EBU R128: -1 dBTP).
pub const TRUE_PEAK_LIMIT_DBTP: f64 = -1.0;

/// A measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loudness {
    /// Integrated (gated) loudness, LUFS; -inf for silence.
    pub integrated_lufs: f64,
    pub range_lu: f64,
    /// The higher channel's, dBTP / dBFS.
    pub true_peak_dbtp: f64,
    pub sample_peak_dbfs: f64,
}

fn db(x: f64) -> f64 {
    20.0 * x.max(1e-12).log10()
}

/// Measures planar audio of one or two channels at `rate`.
pub fn measure(channels: &[&[f32]], rate: u32) -> Result<Loudness, String> {
    let mut meter =
        EbuR128::new(channels.len() as u32, rate, Mode::I | Mode::LRA | Mode::TRUE_PEAK | Mode::SAMPLE_PEAK)
            .map_err(|e| format!("cannot measure loudness at {rate} Hz: {e:?}"))?;
    // In pieces, so the meter's own buffers stay small.
    let len = channels.iter().map(|c| c.len()).min().unwrap_or(0);
    let mut at = 0;
    while at < len {
        let n = (len - at).min(1 << 16);
        let piece: Vec<&[f32]> = channels.iter().map(|c| &c[at..at + n]).collect();
        meter.add_frames_planar_f32(&piece).map_err(|e| format!("loudness: {e:?}"))?;
        at += n;
    }
    let peak = |f: &dyn Fn(u32) -> Result<f64, ebur128::Error>| {
        (0..channels.len() as u32).map(|c| f(c).unwrap_or(0.0)).fold(0.0f64, f64::max)
    };
    Ok(Loudness {
        integrated_lufs: meter.loudness_global().unwrap_or(f64::NEG_INFINITY),
        range_lu: meter.loudness_range().unwrap_or(0.0),
        true_peak_dbtp: db(peak(&|c| meter.true_peak(c))),
        sample_peak_dbfs: db(peak(&|c| meter.sample_peak(c))),
    })
}

impl fmt::Display for Loudness {
    /// "-23.0 LUFS integrated, LRA 4.2 LU, true peak -1.3 dBTP (sample peak -1.5 dBFS)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.integrated_lufs.is_finite() {
            write!(f, "{:.1} LUFS integrated", self.integrated_lufs)?;
        } else {
            write!(f, "silent (no integrated loudness)")?;
        }
        write!(
            f,
            ", LRA {:.1} LU, true peak {:.1} dBTP (sample peak {:.1} dBFS)",
            self.range_lu, self.true_peak_dbtp, self.sample_peak_dbfs
        )
    }
}

impl Loudness {
    /// What a delivery should hear about: a true peak over the limit, and how far the mix is
    /// from `target` LUFS.
    pub fn warnings(&self, target: Option<f64>, levels: Levels) -> Vec<String> {
        let mut out = Vec::new();
        if self.true_peak_dbtp > TRUE_PEAK_LIMIT_DBTP {
            let down = self.true_peak_dbtp - TRUE_PEAK_LIMIT_DBTP;
            out.push(format!(
                "true peak {:.1} dBTP is above {TRUE_PEAK_LIMIT_DBTP:.0} dBTP: lower the master by at least {down:.1} dB: {} \
                 (or lower the loudest cue's gain_db)",
                self.true_peak_dbtp,
                levels.change(-down)
            ));
        }
        if let Some(target) = target {
            if self.integrated_lufs.is_finite() {
                let off = self.integrated_lufs - target;
                if off.abs() >= 0.05 {
                    let (how, way) = if off > 0.0 { ("above", "lower") } else { ("below", "raise") };
                    out.push(format!(
                        "{:.1} LU {how} the target {target:.1} LUFS: {way} the master by {:.1} dB: {}",
                        off.abs(),
                        off.abs(),
                        levels.change(-off)
                    ));
                }
            } else {
                out.push(format!("the render is silent: no loudness to bring to {target:.1} LUFS"));
            }
        }
        out
    }
}

/// The master levels a render was made at, so advice names what to change and to what.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Levels {
    /// The show's `master_db`.
    pub master_db: f64,
    /// `segue render --gain-db` on top of it.
    pub gain_db: f64,
}

impl Levels {
    /// Where `by` dB more (or less) is set: the show's `master_db`, or the render's `--gain-db`.
    fn change(&self, by: f64) -> String {
        let round = |x: f64| (x * 10.0).round() / 10.0 + 0.0;
        format!(
            "set \"master_db\": {:.1} in the show (it is {:.1}), or render with --gain-db {:.1}",
            round(self.master_db + self.gain_db + by),
            self.master_db,
            round(self.gain_db + by)
        )
    }
}

/// `segue check --loudness`: each audio file of a show, decoded whole at its own rate and
/// measured as it plays (a mono file on both sides), as (name, words); a file that cannot be
/// measured says why.
pub fn of_files(file: &crate::show::ShowFile) -> Vec<(String, String)> {
    use crate::stream::source::{decode_all, whole_file};
    let width = file.audio.keys().map(|k| k.chars().count()).max().unwrap_or(0);
    file.audio
        .iter()
        .map(|(name, info)| {
            let path = file.dir.join(name);
            let line = whole_file(&path)
                .and_then(|spec| decode_all(&spec, info.sample_rate).map(|x| (spec.channels, x)))
                .map_err(|e| e.to_string())
                .and_then(|(channels, interleaved)| {
                    let ch = channels as usize;
                    let planar: Vec<Vec<f32>> =
                        (0..ch).map(|c| interleaved.iter().skip(c).step_by(ch).copied().collect()).collect();
                    // A mono file plays on both sides at its level: measured as it sounds.
                    let refs: Vec<&[f32]> = match planar.as_slice() {
                        [mono] => vec![mono.as_slice(), mono.as_slice()],
                        _ => planar.iter().map(|p| p.as_slice()).collect(),
                    };
                    measure(&refs, info.sample_rate)
                })
                .map_or_else(|e| format!("cannot measure: {e}"), |l| l.to_string());
            (format!("{name:width$}"), line)
        })
        .collect()
}
