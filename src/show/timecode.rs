//! SMPTE timecode at a production's picture rate (control side): what a cue sheet's in and out
//! times are written in.
//!
//! An audio frame becomes the picture frame it sounds in (`floor(frame × fps / sample rate)`,
//! with 23.976 and 29.97 as the exact 24000/1001 and 30000/1001), counted from the production's
//! `start_timecode` (the show's 0 on picture), and is written `HH:MM:SS:FF`. Drop-frame 29.97
//! (`HH:MM:SS;FF`) skips the labels `;00` and `;01` at the start of every minute except each
//! tenth minute, so the label stays within a frame of the wall clock; no picture frame is dropped.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A production's picture rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum FrameRate {
    #[serde(rename = "23.976")]
    Fps23_976,
    #[default]
    #[serde(rename = "24")]
    Fps24,
    #[serde(rename = "25")]
    Fps25,
    #[serde(rename = "29.97df")]
    Fps29_97Df,
    #[serde(rename = "29.97")]
    Fps29_97,
    #[serde(rename = "30")]
    Fps30,
}

/// The names a show file may give a frame rate, as written.
pub const FRAME_RATES: &[&str] = &["23.976", "24", "25", "29.97df", "29.97", "30"];

impl FrameRate {
    /// Every rate, in the order `FRAME_RATES` names them.
    pub const ALL: [FrameRate; 6] = [
        FrameRate::Fps23_976,
        FrameRate::Fps24,
        FrameRate::Fps25,
        FrameRate::Fps29_97Df,
        FrameRate::Fps29_97,
        FrameRate::Fps30,
    ];

    /// Picture frames per second as a ratio (numerator, denominator).
    pub fn ratio(self) -> (u64, u64) {
        match self {
            FrameRate::Fps23_976 => (24_000, 1001),
            FrameRate::Fps24 => (24, 1),
            FrameRate::Fps25 => (25, 1),
            FrameRate::Fps29_97Df | FrameRate::Fps29_97 => (30_000, 1001),
            FrameRate::Fps30 => (30, 1),
        }
    }

    /// The frames a timecode second counts (24 for 23.976, 30 for 29.97).
    pub fn base(self) -> u64 {
        match self {
            FrameRate::Fps23_976 | FrameRate::Fps24 => 24,
            FrameRate::Fps25 => 25,
            _ => 30,
        }
    }

    pub fn drop_frame(self) -> bool {
        self == FrameRate::Fps29_97Df
    }

    pub fn name(self) -> &'static str {
        match self {
            FrameRate::Fps23_976 => "23.976",
            FrameRate::Fps24 => "24",
            FrameRate::Fps25 => "25",
            FrameRate::Fps29_97Df => "29.97df",
            FrameRate::Fps29_97 => "29.97",
            FrameRate::Fps30 => "30",
        }
    }

    pub fn from_name(name: &str) -> Option<FrameRate> {
        FrameRate::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The picture frame (from 0) that audio frame `frame` at `sample_rate` sounds in.
    pub fn picture_frame(self, frame: u64, sample_rate: u32) -> u64 {
        let (num, den) = self.ratio();
        ((frame as u128 * num as u128) / (sample_rate as u128 * den as u128)) as u64
    }
}

/// A timecode: a count of picture frames at a rate, shown as its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timecode {
    pub frames: u64,
    pub rate: FrameRate,
}

impl Timecode {
    /// Reads `HH:MM:SS:FF` (or `HH:MM:SS;FF`, any of `:;.` before the frames), checking that
    /// it is a label the rate has (frames below the base; in drop-frame, not a skipped label).
    pub fn parse(text: &str, rate: FrameRate) -> Result<Timecode, String> {
        let bad = |why: &str| format!("\"{text}\" is not a timecode at {} fps: {why}", rate.name());
        let parts: Vec<&str> = text.trim().split([':', ';', '.']).collect();
        let [h, m, s, f] = parts[..] else {
            return Err(bad("expected HH:MM:SS:FF"));
        };
        let num = |p: &str| -> Result<u64, String> {
            if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("expected two digits per field, HH:MM:SS:FF"));
            }
            Ok(p.parse().unwrap_or(0))
        };
        let (h, m, s, f) = (num(h)?, num(m)?, num(s)?, num(f)?);
        if m >= 60 || s >= 60 {
            return Err(bad("minutes and seconds go up to 59"));
        }
        let base = rate.base();
        if f >= base {
            return Err(bad(&format!("frames go up to {}", base - 1)));
        }
        let minutes = h * 60 + m;
        let mut frames = (minutes * 60 + s) * base + f;
        if rate.drop_frame() {
            if s == 0 && f < 2 && m % 10 != 0 {
                return Err(bad("drop-frame skips frames 00 and 01 at the start of each minute but every tenth"));
            }
            frames -= 2 * (minutes - minutes / 10);
        }
        Ok(Timecode { frames, rate })
    }

    /// The timecode `frames` picture frames later.
    pub fn plus(self, frames: u64) -> Timecode {
        Timecode { frames: self.frames + frames, rate: self.rate }
    }
}

impl fmt::Display for Timecode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let base = self.rate.base();
        let mut n = self.frames;
        if self.rate.drop_frame() {
            // 17982 frames in ten minutes (the first minute keeps all 1800 labels, nine lose 2).
            let (tens, rest) = (n / 17_982, n % 17_982);
            n += 18 * tens + if rest >= 2 { 2 * ((rest - 2) / 1798) } else { 0 };
        }
        let (ff, secs) = (n % base, n / base);
        let sep = if self.rate.drop_frame() { ';' } else { ':' };
        // Past 23:59:59 a timecode starts again at 00 (as a deck's does).
        write!(f, "{:02}:{:02}:{:02}{sep}{:02}", secs / 3600 % 24, secs / 60 % 60, secs % 60, ff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tc(frames: u64, rate: FrameRate) -> String {
        Timecode { frames, rate }.to_string()
    }

    #[test]
    fn drop_frame_labels_skip_two_at_each_minute_but_every_tenth() {
        let df = FrameRate::Fps29_97Df;
        assert_eq!(tc(0, df), "00:00:00;00");
        assert_eq!(tc(1799, df), "00:00:59;29");
        assert_eq!(tc(1800, df), "00:01:00;02");
        assert_eq!(tc(3597, df), "00:01:59;29");
        assert_eq!(tc(3598, df), "00:02:00;02");
        assert_eq!(tc(17_981, df), "00:09:59;29");
        assert_eq!(tc(17_982, df), "00:10:00;00");
        assert_eq!(tc(17_984, df), "00:10:00;02");
        assert_eq!(tc(19_782, df), "00:11:00;02");
        // One hour of 29.97 is 107,892 frames: the label is 01:00:00;00 exactly.
        assert_eq!(tc(107_892, df), "01:00:00;00");
        for n in [0u64, 1, 1799, 1800, 3598, 17_982, 19_782, 107_892, 123_456, 1_000_001] {
            let label = tc(n, df);
            assert_eq!(Timecode::parse(&label, df).unwrap().frames, n, "{label}");
        }
        assert!(Timecode::parse("00:01:00;00", df).is_err(), "a skipped label");
        assert!(Timecode::parse("00:10:00;00", df).is_ok());
    }

    #[test]
    fn non_drop_labels_count_whole_frames_at_the_base_rate() {
        assert_eq!(tc(24 * 3600, FrameRate::Fps23_976), "01:00:00:00");
        assert_eq!(tc(25 * 61 + 3, FrameRate::Fps25), "00:01:01:03");
        assert_eq!(Timecode::parse("01:00:00:00", FrameRate::Fps25).unwrap().frames, 90_000);
        assert!(Timecode::parse("00:00:00:25", FrameRate::Fps25).is_err());
        assert!(Timecode::parse("1:00:00", FrameRate::Fps25).is_err());
    }

    #[test]
    fn audio_frames_fall_in_the_picture_frame_they_sound_in() {
        // 48 kHz at 23.976: a picture frame lasts 2002 samples exactly.
        let r = FrameRate::Fps23_976;
        assert_eq!(r.picture_frame(2001, 48_000), 0);
        assert_eq!(r.picture_frame(2002, 48_000), 1);
        assert_eq!(FrameRate::Fps25.picture_frame(1919, 48_000), 0);
        assert_eq!(FrameRate::Fps25.picture_frame(1920, 48_000), 1);
        // An hour of 29.97 at 48 kHz: 107,892 frames and 0.108 of one.
        assert_eq!(FrameRate::Fps29_97Df.picture_frame(48_000 * 3600, 48_000), 107_892);
    }
}
