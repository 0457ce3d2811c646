//! Writing a render as the WAV a deliverable asks for (control side, after a render): 32-bit
//! float (as rendered), or 24- or 16-bit integer with TPDF dither (two uniform random values of
//! one LSB each, summed: the rounding error becomes noise not correlated with the music, 0.5 LSB
//! RMS in all), clipping at full scale counted and reported, never silent.
//!
//! Every file is a Broadcast WAV that lands at its timecode in Pro Tools, Resolve or Avid: an
//! EBU Tech 3285 `bext` chunk (TimeReference: samples since midnight on the picture's clock at
//! the first sample) and an iXML chunk (timecode rate, drop-frame flag, the same timestamp). A
//! file past 4 GB (about 3 h 6 min of stereo 32-bit float at 48 kHz) is written as RF64
//! (EBU Tech 3306, a `ds64` chunk with the 64-bit sizes) instead of failing.

use std::io::Write;
use std::path::Path;

use crate::show::timecode::FrameRate;
use crate::show::Show;

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

/// What a delivered file says of itself: where it sits on the picture's clock, and what it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stamp {
    /// Samples since midnight of the timecode clock at the file's first sample (`bext`
    /// TimeReference, iXML's timestamp).
    pub time_reference: u64,
    /// The picture rate the timecode counts in, when the show names a production.
    pub frame_rate: Option<FrameRate>,
    /// `bext` Description: the show and what the file holds.
    pub description: String,
}

impl Stamp {
    /// The stamp of a render of `show` at `rate` from timeline frame `start`: the production's
    /// `start_timecode` (at its rate: a timecode second of 23.976 is 1.001 s) plus `start`.
    pub fn of(show: &Show, rate: u32, start: u64, what: &str) -> Stamp {
        let production = show.production.clone().unwrap_or_default();
        let (num, den) = production.frame_rate.ratio();
        let zero = production.start().frames as u128 * rate as u128 * den as u128 / num as u128;
        let name = if show.name.is_empty() { "Segue render" } else { show.name.as_str() };
        Stamp {
            time_reference: zero as u64 + start,
            frame_rate: show.production.as_ref().map(|p| p.frame_rate),
            description: format!("{name}: {what}"),
        }
    }
}

/// Writes planar stereo to `path` as a Broadcast WAV stamped `stamp`; returns how many samples
/// had to be clipped at full scale.
pub fn write(path: &Path, rate: u32, channels: &[Vec<f32>; 2], bits: Bits, stamp: &Stamp) -> Result<u64, String> {
    write_with(path, rate, channels, bits, stamp, u32::MAX as u64)
}

/// `write`, as RF64 when the RIFF size would pass `riff_limit` bytes (4 GB less one byte: the
/// most a RIFF size field holds; smaller in tests).
pub fn write_with(
    path: &Path,
    rate: u32,
    channels: &[Vec<f32>; 2],
    bits: Bits,
    stamp: &Stamp,
    riff_limit: u64,
) -> Result<u64, String> {
    let err = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let frames = channels[0].len().min(channels[1].len()) as u64;
    let bytes = match bits {
        Bits::Int16 => 2u16,
        Bits::Int24 => 3,
        Bits::Float32 => 4,
    };
    let block_align = 2 * bytes;
    let data_len = frames * block_align as u64;
    // The chunks before the audio.
    let mut fmt = Vec::new();
    let float = bits == Bits::Float32;
    fmt.extend_from_slice(&(if float { 3u16 } else { 1u16 }).to_le_bytes()); // IEEE float or PCM
    fmt.extend_from_slice(&2u16.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&(rate * block_align as u32).to_le_bytes());
    fmt.extend_from_slice(&block_align.to_le_bytes());
    fmt.extend_from_slice(&(bytes * 8).to_le_bytes());
    if float {
        fmt.extend_from_slice(&0u16.to_le_bytes()); // cbSize: a non-PCM format says it
    }
    let mut chunks: Vec<([u8; 4], Vec<u8>)> = vec![(*b"fmt ", fmt)];
    if float {
        // Non-PCM files carry their length in frames.
        chunks.push((*b"fact", (frames.min(u32::MAX as u64) as u32).to_le_bytes().to_vec()));
    }
    chunks.push((*b"bext", bext(stamp)));
    let mut xml = ixml(stamp, rate, bytes * 8).into_bytes();
    if xml.len() % 2 == 1 {
        // Even, so no pad byte follows: some readers (hound 3.5) skip a chunk without its pad.
        xml.push(b' ');
    }
    chunks.push((*b"iXML", xml));
    let padded = |len: usize| len as u64 + (len as u64 & 1);
    let before_data: u64 = chunks.iter().map(|(_, d)| 8 + padded(d.len())).sum();
    let ds64_len = 28u64;
    let riff_size = 4 + before_data + 8 + data_len + (data_len & 1);
    let rf64 = riff_size > riff_limit;
    let file = std::fs::File::create(path).map_err(err)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    if rf64 {
        // EBU Tech 3306: the sizes that do not fit go in ds64; the 32-bit ones say -1.
        out.write_all(b"RF64").map_err(err)?;
        out.write_all(&u32::MAX.to_le_bytes()).map_err(err)?;
        out.write_all(b"WAVE").map_err(err)?;
        out.write_all(b"ds64").map_err(err)?;
        out.write_all(&(ds64_len as u32).to_le_bytes()).map_err(err)?;
        out.write_all(&(riff_size + 8 + ds64_len).to_le_bytes()).map_err(err)?;
        out.write_all(&data_len.to_le_bytes()).map_err(err)?;
        out.write_all(&frames.to_le_bytes()).map_err(err)?;
        out.write_all(&0u32.to_le_bytes()).map_err(err)?; // no table
    } else {
        out.write_all(b"RIFF").map_err(err)?;
        out.write_all(&(riff_size as u32).to_le_bytes()).map_err(err)?;
        out.write_all(b"WAVE").map_err(err)?;
    }
    for (id, data) in &chunks {
        out.write_all(id).map_err(err)?;
        out.write_all(&(data.len() as u32).to_le_bytes()).map_err(err)?;
        out.write_all(data).map_err(err)?;
        if data.len() % 2 == 1 {
            out.write_all(&[0]).map_err(err)?;
        }
    }
    out.write_all(b"data").map_err(err)?;
    let data_field = if rf64 { u32::MAX } else { data_len as u32 };
    out.write_all(&data_field.to_le_bytes()).map_err(err)?;
    let mut clipped = 0u64;
    let (left, right) = (&channels[0][..frames as usize], &channels[1][..frames as usize]);
    match bits {
        Bits::Float32 => {
            for (l, r) in left.iter().zip(right) {
                clipped += u64::from(l.abs() > 1.0) + u64::from(r.abs() > 1.0);
                out.write_all(&l.to_le_bytes()).map_err(err)?;
                out.write_all(&r.to_le_bytes()).map_err(err)?;
            }
        }
        Bits::Int16 | Bits::Int24 => {
            let full = if bits == Bits::Int16 { 32_767.0 } else { 8_388_607.0 };
            let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
            for (l, r) in left.iter().zip(right) {
                for x in [*l, *r] {
                    let dithered = x as f64 * full + noise.next() + noise.next();
                    let q = dithered.round();
                    let q = if q > full || q < -full - 1.0 {
                        clipped += 1;
                        q.clamp(-full - 1.0, full)
                    } else {
                        q
                    };
                    let le = (q as i32).to_le_bytes();
                    out.write_all(&le[..bytes as usize]).map_err(err)?;
                }
            }
        }
    }
    if data_len % 2 == 1 {
        out.write_all(&[0]).map_err(err)?;
    }
    out.flush().map_err(err)?;
    Ok(clipped)
}

/// The `bext` chunk (EBU Tech 3285 version 1): 602 bytes, no coding history.
fn bext(stamp: &Stamp) -> Vec<u8> {
    let mut b = Vec::with_capacity(602);
    let text = |b: &mut Vec<u8>, s: &str, len: usize| {
        let bytes: Vec<u8> = s.bytes().filter(u8::is_ascii).take(len).collect();
        b.extend_from_slice(&bytes);
        b.resize(b.len() + len - bytes.len(), 0);
    };
    text(&mut b, &stamp.description, 256);
    text(&mut b, "Segue", 32);
    text(&mut b, "", 32);
    let (date, time) = utc_now();
    text(&mut b, &date, 10);
    text(&mut b, &time, 8);
    b.extend_from_slice(&(stamp.time_reference as u32).to_le_bytes());
    b.extend_from_slice(&((stamp.time_reference >> 32) as u32).to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // version
    b.resize(b.len() + 64, 0); // UMID: none
    b.resize(b.len() + 10, 0); // loudness: version 2's, not given
    b.resize(b.len() + 180, 0); // reserved
    debug_assert_eq!(b.len(), 602);
    b
}

/// The iXML chunk: the timecode rate and flag and the same timestamp, for the tools that read
/// iXML rather than `bext`.
fn ixml(stamp: &Stamp, rate: u32, bits: u16) -> String {
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut speed = String::new();
    if let Some(fr) = stamp.frame_rate {
        let (num, den) = fr.ratio();
        let rate_text = if den == 1 { format!("{num}/1") } else { format!("{num}/{den}") };
        let flag = if fr.drop_frame() { "DF" } else { "NDF" };
        speed.push_str(&format!(
            "<MASTER_SPEED>{rate_text}</MASTER_SPEED><CURRENT_SPEED>{rate_text}</CURRENT_SPEED>\
             <TIMECODE_RATE>{rate_text}</TIMECODE_RATE><TIMECODE_FLAG>{flag}</TIMECODE_FLAG>"
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<BWFXML><IXML_VERSION>2.10</IXML_VERSION>\
         <PROJECT>{}</PROJECT><SPEED>{speed}<FILE_SAMPLE_RATE>{rate}</FILE_SAMPLE_RATE>\
         <AUDIO_BIT_DEPTH>{bits}</AUDIO_BIT_DEPTH><TIMESTAMP_SAMPLE_RATE>{rate}</TIMESTAMP_SAMPLE_RATE>\
         <TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI>{}</TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI>\
         <TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO>{}</TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO></SPEED></BWFXML>\n",
        escape(&stamp.description),
        stamp.time_reference >> 32,
        stamp.time_reference & 0xFFFF_FFFF
    )
}

/// Today's date and the time, UTC, as `bext` writes them: `2026-12-08` and `04-39-19`.
fn utc_now() -> (String, String) {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Days since 1970-01-01 to the civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (format!("{year:04}-{month:02}-{day:02}"), format!("{:02}-{:02}-{:02}", rest / 3600, rest / 60 % 60, rest % 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_is_the_civil_date() {
        let (date, time) = utc_now();
        assert_eq!(date.len(), 10, "{date}");
        assert_eq!(time.len(), 8, "{time}");
        assert!(date.starts_with("20"), "{date}");
    }
}
