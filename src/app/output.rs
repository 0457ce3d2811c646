//! The live player's audio output while the show runs (control loop, main thread): the stream
//! that plays, what it reports, and, when it goes away (a USB interface unplugged, the JACK
//! server killed), trying it again every second and going on where the show now is.

use std::time::{Duration, Instant};

use crate::app::audio::AudioSide;
use crate::app::device::{self, DeviceOptions, Running, StreamProblem};
use crate::control::times;
use crate::control::transport::{Published, TransportCmd, TransportControl};

/// How often a lost output is tried again.
const RETRY: Duration = Duration::from_secs(1);

/// What happened to the output, for the front end to report.
pub enum OutputNews {
    /// The stream died (the device's words), then what happens now in words.
    Lost {
        text: String,
        problem: String,
    },
    /// The device reported something and plays on.
    Problem(String),
    Back(String),
}

/// The output the show plays through.
pub struct Output {
    running: Option<Running>,
    options: DeviceOptions,
    /// The rate the engine was built for: a device must come back at it.
    rate: u32,
    /// The callback state comes back here when a stream is dropped.
    back: crossbeam_channel::Receiver<AudioSide>,
    back_tx: crossbeam_channel::Sender<AudioSide>,
    errors: crossbeam_channel::Receiver<StreamProblem>,
    errors_tx: crossbeam_channel::Sender<StreamProblem>,
    lost: Option<Lost>,
    /// What the device reported that it could not do in time (xruns), said at most once a
    /// second with a count.
    reports: Reports,
}

/// The device's own reports (buffer underruns and overruns), collapsed.
#[derive(Debug, Default)]
struct Reports {
    /// Every one since the start (for the state's count).
    total: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Since the last said, and the last one's words.
    unsaid: u64,
    last: String,
    said_at: Option<Instant>,
}

/// How often repeated device reports are said.
const REPORTS_EVERY: Duration = Duration::from_secs(1);

impl Reports {
    /// One more report; the words to say now, if any (the first at once, then at most one line
    /// a second with how many came).
    fn add(&mut self, text: String, buffer: Option<u32>) -> Option<String> {
        self.total.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.unsaid += 1;
        self.last = text;
        self.due(buffer)
    }

    /// The line for what came since the last one, once a second has passed.
    fn due(&mut self, buffer: Option<u32>) -> Option<String> {
        if self.unsaid == 0 || self.said_at.is_some_and(|t| t.elapsed() < REPORTS_EVERY) {
            return None;
        }
        let advice = match buffer {
            Some(n) => format!("a larger --buffer than {n} frames helps"),
            None => "a larger --buffer helps".to_string(),
        };
        let line = if self.unsaid == 1 {
            format!("the audio output reported: {} ({advice})", self.last)
        } else {
            format!("the audio output reported {} times in a second: {} ({advice})", self.unsaid, self.last)
        };
        self.unsaid = 0;
        self.said_at = Some(Instant::now());
        Some(line)
    }
}

/// An output that went away.
struct Lost {
    since: Instant,
    /// The timeline frame it stopped at.
    position: u64,
    tried: Instant,
    /// Why the last try failed, once said (a new reason is said again).
    said: Option<String>,
}

impl Output {
    /// Starts `output` playing `side`.
    pub fn start(output: device::Output, side: AudioSide, options: DeviceOptions, rate: u32) -> Result<Output, String> {
        let (back_tx, back) = crossbeam_channel::unbounded();
        let (errors_tx, errors) = crossbeam_channel::unbounded();
        let running = Some(output.start(side, back_tx.clone(), errors_tx.clone())?);
        let reports = Reports::default();
        Ok(Output { running, options, rate, back, back_tx, errors, errors_tx, lost: None, reports })
    }

    /// What could not be done of the routing asked for at the last start, in words.
    pub fn take_notes(&mut self) -> Vec<String> {
        self.running.as_mut().map(|r| std::mem::take(&mut r.notes)).unwrap_or_default()
    }

    /// Every report of the device's that it could not fill a buffer in time, since the start.
    pub fn xruns(&self) -> std::sync::Arc<std::sync::atomic::AtomicU64> {
        self.reports.total.clone()
    }

    /// What the stream reported since the last look, and a retry when one is due. `published`:
    /// where the show is (a lost output notes it); `transport`, the player's own transport if
    /// the show follows it: one that is back goes on from there plus the time it was gone when
    /// it rolls (a screening does not wait). A transport the show chases says where it is itself.
    pub fn look(&mut self, transport: Option<&mut TransportControl>, published: &Published) -> Vec<OutputNews> {
        let mut news = Vec::new();
        let buffer = self.options.buffer;
        for e in self.errors.try_iter() {
            if !e.gone {
                news.extend(self.reports.add(e.text, buffer).map(OutputNews::Problem));
                continue;
            }
            let problem =
                format!("the audio output went away ({}); trying again every second, the show's time goes on", e.text);
            if self.lost.is_some() {
                news.push(OutputNews::Problem(problem));
                continue;
            }
            // The stream is dead: drop it (its callback state comes back) and retry.
            self.running = None;
            let (_, position) = published.load();
            self.lost = Some(Lost { since: Instant::now(), position, tried: Instant::now(), said: None });
            news.push(OutputNews::Lost { text: e.text, problem });
        }
        news.extend(self.reports.due(buffer).map(OutputNews::Problem));
        let Some(gone) = self.lost.as_mut().filter(|l| l.tried.elapsed() >= RETRY) else { return news };
        gone.tried = Instant::now();
        let Ok(side) = self.back.try_recv() else { return news };
        match reopen(side, &self.options, self.rate, &self.back_tx, &self.errors_tx, transport, gone) {
            Ok((mut stream, text)) => {
                news.extend(std::mem::take(&mut stream.notes).into_iter().map(OutputNews::Problem));
                self.running = Some(stream);
                self.lost = None;
                news.push(OutputNews::Back(text));
            }
            // A server back at another rate or buffer size, a device not there yet: said once
            // per reason, so the operator knows what to change.
            Err(why) if gone.said.as_ref() != Some(&why) => {
                let text = format!("the audio output cannot be opened again yet: {why}; trying every second");
                gone.said = Some(why);
                news.push(OutputNews::Problem(text));
            }
            Err(_) => {}
        }
        news
    }
}

/// Tries to start the output again with the callback state `side`; on success the transport
/// moves on by the time the output was gone (a screening does not wait) and the words say so;
/// on failure, why (the engine keeps the rate it was built for: a server back at another rate
/// is named with both rates).
/// On failure `side` is back on `back` (from here, or from the failed stream's callback as it
/// is dropped) for the next try.
fn reopen(
    side: AudioSide,
    options: &DeviceOptions,
    rate: u32,
    back: &crossbeam_channel::Sender<AudioSide>,
    errors: &crossbeam_channel::Sender<StreamProblem>,
    transport: Option<&mut TransportControl>,
    lost: &Lost,
) -> Result<(Running, String), String> {
    let mut options = options.clone();
    // The engine runs at the rate it was built for.
    options.sample_rate = Some(rate);
    let output = match device::choose(&options) {
        Ok(output) => output,
        Err(e) => {
            let _ = back.send(side);
            return Err(e);
        }
    };
    let gap = lost.since.elapsed();
    let mut resume = lost.position;
    let own = transport.is_some();
    if let Some(transport) = transport {
        if transport.rolling() {
            resume += (gap.as_secs_f64() * rate as f64) as u64;
        }
        let _ = transport.send(TransportCmd::Locate(resume));
    }
    let stream = output.start(side, back.clone(), errors.clone()).map_err(|e| {
        if e.contains("does not match the server rate") {
            format!("{e} (this show was opened at {rate} Hz: start the server at {rate} Hz, or open the show again)")
        } else {
            e
        }
    })?;
    let text = if own {
        format!(
            "the audio output is back after {:.1} s; the show goes on at {}",
            gap.as_secs_f64(),
            times::position(resume as f64 / rate as f64)
        )
    } else {
        format!("the audio output is back after {:.1} s; the show goes on where it is chased to", gap.as_secs_f64())
    };
    Ok((stream, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_devices_repeated_reports_are_said_once_a_second_with_a_count_and_advice() {
        let mut r = Reports::default();
        let said = r.add("A buffer underrun or overrun occurred.".into(), Some(256));
        assert_eq!(
            said.as_deref(),
            Some("the audio output reported: A buffer underrun or overrun occurred. (a larger --buffer than 256 frames helps)")
        );
        // Forty more within the second: nothing said, all counted.
        for _ in 0..40 {
            assert_eq!(r.add("A buffer underrun or overrun occurred.".into(), Some(256)), None);
        }
        assert_eq!(r.due(Some(256)), None);
        r.said_at = Some(Instant::now() - REPORTS_EVERY);
        let said = r.due(Some(256)).unwrap();
        assert!(said.starts_with("the audio output reported 40 times in a second: A buffer underrun"), "{said}");
        assert_eq!(r.total.load(std::sync::atomic::Ordering::Relaxed), 41);
        assert_eq!(r.due(Some(256)), None, "nothing new: nothing said");
    }
}
