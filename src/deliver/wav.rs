//! Writing a render as the WAV a deliverable asks for: 32-bit float (as rendered), or 24- or
//! 16-bit integer with TPDF dither (two uniform random values of one LSB each, summed: the
//! rounding error becomes noise not correlated with the music, 0.5 LSB RMS in all), clipping at
//! full scale counted and reported, never silent.

use std::path::Path;

/// Sample format of a written WAV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bits {
    Int16,
    Int24,
    Float32,
}

impl Bits {
    /// `16`, `24` or `32f`.
    pub fn parse(text: &str) -> Result<Bits, String> {
        match text {
            "16" => Ok(Bits::Int16),
            "24" => Ok(Bits::Int24),
            "32f" | "32" => Ok(Bits::Float32),
            other => Err(format!("\"{other}\": the sample format is 16, 24 or 32f")),
        }
    }
}

/// A small, fast generator for the dither (xorshift; the same noise every run, so a render is
/// repeatable to the bit).
struct Noise(u64);

impl Noise {
    /// Uniform in [-0.5, 0.5).
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }
}

/// Writes planar stereo to `path`; returns how many samples had to be clipped at full scale.
pub fn write(path: &Path, rate: u32, channels: &[Vec<f32>; 2], bits: Bits) -> Result<u64, String> {
    let err = |e: hound::Error| format!("cannot write {}: {e}", path.display());
    let (bits_per_sample, sample_format) = match bits {
        Bits::Int16 => (16, hound::SampleFormat::Int),
        Bits::Int24 => (24, hound::SampleFormat::Int),
        Bits::Float32 => (32, hound::SampleFormat::Float),
    };
    let spec = hound::WavSpec { channels: 2, sample_rate: rate, bits_per_sample, sample_format };
    let mut writer = hound::WavWriter::create(path, spec).map_err(err)?;
    let mut clipped = 0u64;
    match bits {
        Bits::Float32 => {
            for (l, r) in channels[0].iter().zip(&channels[1]) {
                clipped += u64::from(l.abs() > 1.0) + u64::from(r.abs() > 1.0);
                writer.write_sample(*l).map_err(err)?;
                writer.write_sample(*r).map_err(err)?;
            }
        }
        Bits::Int16 | Bits::Int24 => {
            let full = if bits == Bits::Int16 { 32_767.0 } else { 8_388_607.0 };
            let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
            for (l, r) in channels[0].iter().zip(&channels[1]) {
                for x in [*l, *r] {
                    let dithered = x as f64 * full + noise.next() + noise.next();
                    let q = dithered.round();
                    let q = if q > full || q < -full - 1.0 {
                        clipped += 1;
                        q.clamp(-full - 1.0, full)
                    } else {
                        q
                    };
                    writer.write_sample(q as i32).map_err(err)?;
                }
            }
        }
    }
    writer.finalize().map_err(err)?;
    Ok(clipped)
}
