//! The live player's audio callback (runs on the audio device's thread): owns the `Engine`,
//! follows a transport (`control::transport`: the player's own, or any other `TransportSource`)
//! through `control::chase`, renders into its `Mix` and copies it to the device's channels
//! through the output patch. Like the engine it never allocates,
//! locks, blocks or prints; everything it needs is built before the stream starts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::app::sync::ltc_out::LtcOut;
use crate::app::sync::varispeed::Varispeed;
use crate::control::chase::{Chase, Pacing};
use crate::control::transport::TransportSource;
use crate::engine::{Engine, Mix, PIECE};

/// Which device channels (0-based) main, bed and cues go to, and LTC out; `None`: not patched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patch {
    pub main: Option<[usize; 2]>,
    pub bed: Option<[usize; 2]>,
    pub cues: Option<[usize; 2]>,
    /// The timeline as LTC (`sync::ltc_out`), on a channel of its own.
    pub ltc: Option<usize>,
}

impl Default for Patch {
    fn default() -> Self {
        Patch { main: Some([0, 1]), bed: None, cues: None, ltc: None }
    }
}

impl Patch {
    /// Parses `main=1-2,bed=3-4,cues=5-6,ltc=7` (1-based channels, as on an interface's panel).
    pub fn parse(text: &str) -> Result<Patch, String> {
        let mut patch = Patch { main: None, bed: None, cues: None, ltc: None };
        let channel = |t: &str| match t.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n - 1),
            _ => Err(format!("\"{t}\" is not a channel number (1, 2, ...)")),
        };
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (bus, pair) = part.split_once('=').ok_or_else(|| format!("\"{part}\": expected BUS=FIRST-SECOND"))?;
            if bus.trim() == "ltc" {
                patch.ltc = Some(channel(pair)?);
                continue;
            }
            let (a, b) = pair.split_once('-').ok_or_else(|| format!("\"{pair}\": expected a channel pair like 1-2"))?;
            let pair = Some([channel(a)?, channel(b)?]);
            match bus.trim() {
                "main" => patch.main = pair,
                "bed" => patch.bed = pair,
                "cues" => patch.cues = pair,
                other => return Err(format!("\"{other}\" is not a bus: main, bed, cues or ltc")),
            }
        }
        if let Some(ltc) = patch.ltc {
            if [patch.main, patch.bed, patch.cues].iter().flatten().any(|p| p.contains(&ltc)) {
                return Err(format!("ltc={}: LTC needs a channel of its own, and {} carries music", ltc + 1, ltc + 1));
            }
        }
        Ok(patch)
    }

    /// The highest device channel the patch uses, plus one.
    /// What each output channel carries, by the name its JACK port is also known by
    /// (`main_l`, `main_r`, `bed_l`, ..., `ltc`): (0-based channel, name).
    pub fn port_names(&self) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for (bus, pair) in [("main", self.main), ("bed", self.bed), ("cues", self.cues)] {
            if let Some([l, r]) = pair {
                out.push((l, format!("{bus}_l")));
                out.push((r, format!("{bus}_r")));
            }
        }
        out.extend(self.ltc.map(|c| (c, "ltc".to_string())));
        out.sort();
        out
    }

    pub fn channels_needed(&self) -> usize {
        let pairs = [self.main, self.bed, self.cues].into_iter().flatten().flatten();
        pairs.chain(self.ltc).map(|c| c + 1).max().unwrap_or(0)
    }
}

/// Where the audio thread says it is, for the control side to stamp commands: the engine frame
/// at the start of the last callback and when that was (nanoseconds since `epoch`).
pub struct ClockMap {
    epoch: Instant,
    frame: AtomicU64,
    nanos: AtomicU64,
    /// Frames of the last callback (the device's buffer).
    block: AtomicU64,
    rate: u32,
}

impl ClockMap {
    pub fn new(rate: u32) -> ClockMap {
        ClockMap {
            epoch: Instant::now(),
            frame: AtomicU64::new(0),
            nanos: AtomicU64::new(0),
            block: AtomicU64::new(1024),
            rate,
        }
    }

    fn record(&self, frame: u64, at: Instant, block: usize) {
        self.block.store(block as u64, Ordering::Relaxed);
        // Nanos first, then the frame, so a reader that sees the new frame sees its time too.
        self.nanos.store(at.duration_since(self.epoch).as_nanos() as u64, Ordering::Release);
        self.frame.store(frame, Ordering::Release);
    }

    /// The sample rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Frames per device buffer, as the last callback had them: how far ahead a command is
    /// scheduled, so it lands on its frame whatever its arrival's place in a buffer.
    pub fn block(&self) -> u64 {
        self.block.load(Ordering::Relaxed)
    }

    /// The engine frame playing at `at` as the last callback saw it (its start plus the time
    /// since, in frames).
    pub fn frame_at(&self, at: Instant) -> u64 {
        let frame = self.frame.load(Ordering::Acquire);
        let nanos = self.nanos.load(Ordering::Acquire);
        let since = at.duration_since(self.epoch).as_nanos() as u64;
        frame + since.saturating_sub(nanos) * self.rate as u64 / 1_000_000_000
    }
}

/// JACK's cycle as the device callback sees it (the player's output on JACK): how long ago the
/// cycle began. Commands are stamped on arrival against JACK's clock (JACK MIDI's event times
/// count from the cycle's start); placing the callback's clock reading at the cycle's start too,
/// rather than at whatever point of the cycle this client ran, keeps a command's frame from
/// moving with the graph's order and the machine's load. Reads JACK's shared frame timer through
/// a client of its own (never activated): no allocation, no waiting.
pub struct JackCycle(jack::Client);

impl JackCycle {
    /// A client on the server the output plays through (`None`: no JACK server).
    pub fn open() -> Option<JackCycle> {
        jack::Client::new("segue-cycle", jack::ClientOptions::NO_START_SERVER).ok().map(|(c, _)| JackCycle(c))
    }

    /// Frames since the current cycle began.
    fn since_start(&self) -> u64 {
        self.0.frames_since_cycle_start() as u64
    }
}

/// The state the device callback owns.
pub struct AudioSide {
    engine: Engine,
    chase: Chase,
    mix: Mix,
    patch: Patch,
    /// What the show follows: the player's own transport, or another (`app::sync`).
    transport: Box<dyn TransportSource>,
    clock: Arc<ClockMap>,
    /// Between the engine and the device when the transport steers the speed (timecode).
    varispeed: Varispeed,
    /// The timeline as LTC, when the patch has a channel for it.
    ltc_out: Option<LtcOut>,
    /// JACK's cycle, when the output is on JACK.
    cycle: Option<JackCycle>,
}

impl AudioSide {
    pub fn new(
        engine: Engine,
        chase: Chase,
        patch: Patch,
        transport: Box<dyn TransportSource>,
        clock: Arc<ClockMap>,
    ) -> AudioSide {
        let varispeed = Varispeed::new();
        AudioSide { engine, chase, mix: Mix::default(), patch, transport, clock, varispeed, ltc_out: None, cycle: None }
    }

    /// Stamps each callback at the start of its JACK cycle (the output is on JACK).
    pub fn with_jack_cycle(mut self, cycle: Option<JackCycle>) -> AudioSide {
        self.cycle = cycle;
        self
    }

    /// Writes the timeline as LTC on the patch's `ltc` channel.
    pub fn with_ltc_out(mut self, ltc_out: LtcOut) -> AudioSide {
        self.ltc_out = Some(ltc_out);
        self
    }

    /// Fills one device buffer: `data` interleaved with `channels` channels.
    pub fn fill(&mut self, data: &mut [f32], channels: usize) {
        let channels = channels.max(1);
        let frames = data.len() / channels;
        let mut now = Instant::now();
        if let Some(cycle) = &self.cycle {
            // Only what can be true: within the buffer (a server gone leaves the timer stale).
            let since = cycle.since_start();
            if since < frames as u64 {
                now -= std::time::Duration::from_nanos(since * 1_000_000_000 / self.clock.rate as u64);
            }
        }
        self.clock.record(self.engine.clock(), now, frames);
        data.fill(0.0);
        if let Some(speed) = self.transport.steer(self.varispeed.ahead(), frames as u64) {
            self.fill_varispeed(data, channels, frames, speed);
            return;
        }
        let transport = self.transport.at_block();
        self.engine.poll();
        self.chase.follow(&mut self.engine, transport, frames as u64, Pacing::RealTime);
        if let (Some(ltc), Some(channel)) = (self.ltc_out.as_mut(), self.patch.ltc) {
            ltc.write(data, channels, channel, transport.playing, transport.position.unwrap_or(0));
        }
        let mut done = 0;
        while done < frames {
            let n = PIECE.min(frames - done);
            self.engine.process(self.mix.outputs(n));
            let mix = self.mix.channels();
            let run: [&[f32]; 6] = std::array::from_fn(|c| &mix[c][..n]);
            patch(self.patch, &mut data[done * channels..(done + n) * channels], channels, run);
            done += n;
        }
        self.transport.advance(frames as u64);
    }

    /// Fills one device buffer from the engine played at `speed` (engine frames per device
    /// frame): the engine renders what the resampler asks, in pieces, each followed on the
    /// transport as it stands for that piece.
    fn fill_varispeed(&mut self, data: &mut [f32], channels: usize, frames: usize, speed: f64) {
        self.varispeed.set_speed(speed);
        self.engine.poll();
        // A buffer larger than the queue (never asked for: `--buffer` stops at 16,384) gets
        // what the queue holds, the rest silent, rather than a callback that never returns.
        let wanted = frames.min(crate::app::sync::varispeed::QUEUE - 64);
        while self.varispeed.ready() < wanted {
            let mut wants = self.varispeed.wants();
            while wants > 0 {
                let n = PIECE.min(wants);
                let transport = self.transport.at_block();
                self.chase.follow(&mut self.engine, transport, n as u64, Pacing::RealTime);
                self.engine.process(self.mix.outputs(n));
                self.varispeed.push(self.mix.channels(), n);
                self.transport.advance(n as u64);
                wants -= n;
            }
        }
        let patch_to = self.patch;
        self.varispeed.pop(frames, |at, run| {
            let n = run[0].len();
            patch(patch_to, &mut data[at * channels..(at + n) * channels], channels, run);
        });
    }
}

/// Adds a run of the six mix channels (main, bed and cues, left and right) to the interleaved
/// device frames `out` through the patch.
fn patch(patch: Patch, out: &mut [f32], channels: usize, run: [&[f32]; 6]) {
    let [ml, mr, bl, br, cl, cr] = run;
    for (pair, (l, r)) in [(patch.main, (ml, mr)), (patch.bed, (bl, br)), (patch.cues, (cl, cr))] {
        let Some([a, b]) = pair else { continue };
        for (i, frame) in out.chunks_exact_mut(channels).enumerate() {
            if a < channels {
                frame[a] += l[i];
            }
            if b < channels {
                frame[b] += r[i];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_reads_as_on_an_interfaces_panel() {
        let p = Patch::parse("main=1-2,bed=3-4,cues=5-6").unwrap();
        assert_eq!(p, Patch { main: Some([0, 1]), bed: Some([2, 3]), cues: Some([4, 5]), ltc: None });
        assert_eq!(p.channels_needed(), 6);
        let p = Patch::parse("main=1-2,ltc=8").unwrap();
        assert_eq!((p.ltc, p.channels_needed()), (Some(7), 8));
        assert!(Patch::parse("main=1-2,ltc=2").unwrap_err().contains("a channel of its own"));
        assert!(Patch::parse("drums=1-2").unwrap_err().contains("not a bus"));
        assert!(Patch::parse("main=0-1").unwrap_err().contains("not a channel"));
        assert!(Patch::parse("main").unwrap_err().contains("BUS=FIRST-SECOND"));
    }
}
