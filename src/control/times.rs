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

#[cfg(test)]
mod tests {
    use super::*;

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
