//! Times as an operator reads them (pure functions, any thread but the audio thread: they make
//! strings). Every front end writes show times, cue times and positions through these, so the
//! console, the editor, the headless log and the web page say the same time the same way.

/// Seconds as `MM:SS.mmm` (or `H:MM:SS.mmm` past an hour): when something happened, in notices.
pub fn event_time(secs: f64) -> String {
    let ms = (secs.max(0.0) * 1000.0).round() as u64;
    let (h, m, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}.{milli:03}")
    } else {
        format!("{m:02}:{s:02}.{milli:03}")
    }
}

/// Timeline seconds as `HH:MM:SS.mmm`: the transport's position.
pub fn position(secs: f64) -> String {
    let ms = (secs.max(0.0) * 1000.0).round() as u64;
    format!("{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
}

/// A cue's time as a music editor reads it: `M:SS.s` (`H:MM:SS.s` past an hour). Tenths are
/// counted down, as a clock's are: a cue that played 5.46 s has played 0:05.4.
pub fn cue_time(secs: f64) -> String {
    // A hair over a tenth's boundary (4.1 is 4.0999... in binary) still counts as that tenth.
    let tenths = (secs.max(0.0) * 10.0 + 1e-6).floor() as u64;
    let (h, m, s, t) = (tenths / 36_000, tenths / 600 % 60, tenths / 10 % 60, tenths % 10);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}.{t}")
    } else {
        format!("{m}:{s:02}.{t}")
    }
}

/// Timeline frame `frame` (at `rate`) as the operator reads it, with the picture timecode when
/// the show has a production: `00:45:10.000 (01:45:10:00)`.
pub fn moment(show: &crate::show::Show, frame: u64, rate: u32) -> String {
    let secs = frame as f64 / rate as f64;
    match &show.production {
        Some(production) => format!("{} ({})", position(secs), production.timecode_at(frame, rate)),
        None => position(secs),
    }
}

/// A moment on the show's timeline as an operator types it (`--start`, OSC and headless
/// `transport/locate`): show time (seconds, `MM:SS.mmm`, `HH:MM:SS.mmm`), or picture timecode
/// `HH:MM:SS:FF` (`;FF` for drop-frame) at the production's rate, counted from its
/// `start_timecode`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Moment {
    /// Seconds of show time.
    Show(f64),
    /// A picture timecode label: hours, minutes, seconds, frames.
    Timecode([u32; 4]),
}

impl Moment {
    /// Reads what the operator typed.
    pub fn parse(text: &str) -> Result<Moment, String> {
        let text = text.trim();
        let fields: Vec<&str> = text.split([':', ';']).collect();
        if fields.len() == 4 {
            let mut label = [0u32; 4];
            for (n, f) in label.iter_mut().zip(&fields) {
                *n = f.parse().map_err(|_| {
                    format!("\"{text}\" is not a time: timecode is HH:MM:SS:FF (HH:MM:SS;FF drop-frame)")
                })?;
            }
            return Ok(Moment::Timecode(label));
        }
        crate::show::time::parse_time(text).map(Moment::Show).map_err(|_| {
            format!("\"{text}\" is not a time: seconds, MM:SS.mmm, HH:MM:SS.mmm or picture timecode HH:MM:SS:FF")
        })
    }

    /// Seconds of show time in `show`: a timecode counted from the production's
    /// `start_timecode` at its rate; refused before the show's 0 and past its `end`, with the
    /// show's length.
    pub fn secs(&self, show: &crate::show::Show) -> Result<f64, String> {
        let production = show.production.clone().unwrap_or_default();
        let secs = match *self {
            Moment::Show(secs) if secs.is_finite() && secs >= 0.0 => secs,
            Moment::Show(secs) => return Err(format!("{secs} is not a position: seconds, 0 or more")),
            Moment::Timecode([h, m, s, f]) => {
                let rate = production.frame_rate;
                let sep = if rate.drop_frame() { ';' } else { ':' };
                let text = format!("{h:02}:{m:02}:{s:02}{sep}{f:02}");
                let tc = crate::show::timecode::Timecode::parse(&text, rate)?;
                let start = production.start();
                let Some(frames) = tc.frames.checked_sub(start.frames) else {
                    return Err(format!("{text} is before the show's start at {start}"));
                };
                let (num, den) = rate.ratio();
                frames as f64 * den as f64 / num as f64
            }
        };
        match show.end {
            Some(end) if secs > end.0 => {
                Err(format!("{} is past the show's end: the show is {} long", position(secs), position(end.0)))
            }
            _ => Ok(secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_read_as_seconds_clock_times_or_picture_timecode_and_stay_inside_the_show() {
        let show: crate::show::Show = serde_json::from_value(serde_json::json!({
            "format": "segue-show/1", "end": 92.0,
            "production": { "frame_rate": "25", "start_timecode": "01:00:00:00" },
            "scenes": [{ "id": "s", "at": 0 }]
        }))
        .unwrap();
        let at = |text: &str| Moment::parse(text).and_then(|m| m.secs(&show));
        assert_eq!(at("12.5"), Ok(12.5));
        assert_eq!(at("01:04.500"), Ok(64.5));
        assert_eq!(at("00:01:04.500"), Ok(64.5));
        assert_eq!(at("01:00:10:12"), Ok(10.48));
        assert_eq!(at("01:00:00:00"), Ok(0.0));
        assert!(at("00:59:59:00").unwrap_err().contains("before the show's start at 01:00:00:00"));
        assert!(at("95").unwrap_err().contains("past the show's end: the show is 00:01:32.000 long"));
        assert!(at("01:00:10:25").unwrap_err().contains("frames go up to 24"));
        assert!(at("soon").unwrap_err().contains("picture timecode HH:MM:SS:FF"));
        let df: crate::show::Show = serde_json::from_value(serde_json::json!({
            "format": "segue-show/1",
            "production": { "frame_rate": "29.97df", "start_timecode": "01:00:00;00" },
            "scenes": [{ "id": "s", "at": 0 }]
        }))
        .unwrap();
        // 01:01:00;02 is 1800 frames after 01:00:00;00 (the labels 01:01:00;00 and ;01 do not
        // exist).
        let secs = Moment::parse("01:01:00;02").unwrap().secs(&df).unwrap();
        assert!(Moment::parse("01:01:00;01").unwrap().secs(&df).unwrap_err().contains("drop-frame skips"));
        assert!((secs - 1800.0 * 1001.0 / 30_000.0).abs() < 1e-9, "{secs}");
    }

    #[test]
    fn times_read_as_operators_write_them() {
        assert_eq!(event_time(12.0), "00:12.000");
        assert_eq!(event_time(3723.5), "1:02:03.500");
        assert_eq!(position(9.419), "00:00:09.419");
        assert_eq!(position(-1.0), "00:00:00.000");
        assert_eq!(cue_time(5.46), "0:05.4");
        assert_eq!(cue_time(4.1), "0:04.1");
        assert_eq!(cue_time(75.0), "1:15.0");
        assert_eq!(cue_time(3725.25), "1:02:05.2");
    }
}
