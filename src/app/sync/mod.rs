//! What the live player's show can follow instead of its own transport (`segue play --chase`):
//! each is a `control::transport::TransportSource`, read by the audio callback once per buffer.
//! Set up on the main thread; the sources themselves run on the audio thread.
//!
//! - `jack`: JACK transport (Ardour, or any JACK transport master, with its video track): it
//!   shares the audio clock, so the show follows it to the sample.
//! - `ltc`: LTC on a JACK input port, decoded by `libltc`; `mtc`: MIDI timecode on a JACK MIDI
//!   input port. Either is followed by `timecode` through `lock` (position and speed), the speed
//!   played through `varispeed`.
//!
//! And what Segue leads with: `ltc_out`, the timeline as LTC on an output channel; `lead`, JACK
//! transport driven by the show's own transport, and MTC out from it.

pub mod jack;
pub mod lead;
pub mod libltc;
pub mod lock;
pub mod ltc;
pub mod ltc_out;
pub mod mtc;
pub mod timecode;
pub mod varispeed;

use crate::show::timecode::{FrameRate, Timecode};

/// What the show follows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Follow {
    /// Its own transport: the operator's play, stop and locate.
    #[default]
    Own,
    /// JACK transport.
    Jack,
    /// LTC on a JACK input, connected from this port (empty: connected by hand).
    Ltc(String),
    /// MTC on a JACK MIDI input, connected from this port (empty: connected by hand).
    Mtc(String),
}

impl Follow {
    /// Reads `--chase` (`jack`, `ltc:PORT`, `ltc`).
    pub fn parse(text: &str) -> Result<Follow, String> {
        let text = text.trim();
        let (kind, port) = text.split_once(':').unwrap_or((text, ""));
        match kind.to_ascii_lowercase().as_str() {
            "jack" | "jack-transport" if port.is_empty() => Ok(Follow::Jack),
            "ltc" => Ok(Follow::Ltc(port.to_string())),
            "mtc" => Ok(Follow::Mtc(port.to_string())),
            "own" | "off" | "none" if port.is_empty() => Ok(Follow::Own),
            _ => Err(format!(
                "\"{text}\" is not a transport to follow: jack (JACK transport), ltc:PORT (LTC from a JACK port, e.g. ltc:system:capture_3), mtc:PORT (MTC from a JACK MIDI port), or off"
            )),
        }
    }

    /// How the operator's words name it.
    pub fn name(&self) -> &'static str {
        match self {
            Follow::Own => "its own transport",
            Follow::Jack => "JACK transport",
            Follow::Ltc(_) => "LTC",
            Follow::Mtc(_) => "MTC",
        }
    }
}

/// What Segue leads (`--lead`): JACK transport, MTC out to a JACK MIDI port.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lead {
    pub jack: bool,
    /// MTC out, connected to this port (empty: connected by hand).
    pub mtc: Option<String>,
}

impl Lead {
    /// Reads `--lead jack`, `--lead mtc:PORT` or both, comma-separated (MTC goes out from JACK
    /// transport, so it leads JACK transport too).
    pub fn parse(text: &str) -> Result<Lead, String> {
        let mut lead = Lead::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once(':').unwrap_or((part, "")) {
                ("jack", "") => lead.jack = true,
                ("mtc", port) => {
                    lead.jack = true;
                    lead.mtc = Some(port.to_string());
                }
                _ => return Err(format!("\"{part}\" is not something to lead: jack (JACK transport), or mtc:PORT")),
            }
        }
        Ok(lead)
    }
}

/// The audio frame of a source's time where the show's 0 falls: `zero` (`--chase-offset`, else
/// the production's `start_timecode`) counted in real time at `rate` (a 23.976 timecode's hour
/// is 1.001 hours of audio).
pub fn zero_frame(zero: Timecode, rate: u32) -> u64 {
    let (num, den) = zero.rate.ratio();
    (zero.frames as u128 * rate as u128 * den as u128 / num as u128) as u64
}

/// Reads `--chase-offset` at the production's rate.
pub fn parse_offset(text: &str, rate: FrameRate) -> Result<Timecode, String> {
    Timecode::parse(text, rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shows_zero_falls_at_its_timecode_counted_in_real_time() {
        let at = |text: &str, rate: FrameRate| zero_frame(Timecode::parse(text, rate).unwrap(), 48_000);
        assert_eq!(at("01:00:00:00", FrameRate::Fps25), 3600 * 48_000);
        // 86,400 frames at 24000/1001 fps: 3603.6 s.
        assert_eq!(at("01:00:00:00", FrameRate::Fps23_976), 172_972_800);
        assert_eq!(at("00:00:00:00", FrameRate::Fps29_97Df), 0);
        assert_eq!(Follow::parse("JACK"), Ok(Follow::Jack));
        assert_eq!(Follow::parse("ltc:system:capture_3"), Ok(Follow::Ltc("system:capture_3".into())));
        assert!(Follow::parse("mtc9").unwrap_err().contains("not a transport to follow"));
    }
}
