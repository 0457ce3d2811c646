//! The loader thread: opens, decodes and resamples clips, arms the engine with ready feeds and
//! keeps every playing feed's ring buffer ahead of the play position.
//!
//! Runs on its own thread (file I/O and allocation are fine here). Talks to the engine only
//! through wait-free queues (`LoaderMsg` out, `Retired` in) and to the control side through
//! crossbeam channels. Memory is bounded: per armed clip one head (`head_secs`) and one ring
//! (`ring_secs`), per playing voice one ring, whatever the length of the files.

use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::engine::command::{LoaderMsg, Retired};
use crate::engine::feed::{Feed, Head};
use crate::engine::LoaderEnds;
use crate::stream::source::{ClipSpec, Source, SourceError};

/// How much the loader keeps in memory, in seconds at the engine rate.
#[derive(Debug, Clone, Copy)]
pub struct LoaderConfig {
    pub rate: u32,
    /// Preloaded head of every armed clip: a start never waits for the disk.
    pub head_secs: f64,
    /// Each feed's ring buffer behind the head.
    pub ring_secs: f64,
}

impl LoaderConfig {
    /// Live playback: 1 s head, 1 s ring.
    pub fn live(rate: u32) -> Self {
        LoaderConfig { rate, head_secs: 1.0, ring_secs: 1.0 }
    }

    /// Offline render: the renderer waits for the loader, so larger rings mean fewer waits.
    pub fn offline(rate: u32) -> Self {
        LoaderConfig { rate, head_secs: 1.0, ring_secs: 2.0 }
    }
}

/// What the control side asks of the loader.
pub enum Request {
    /// A new show: its clips by clip index (`None`: a clip that cannot be played).
    Program {
        generation: u32,
        clips: Vec<Option<ClipSpec>>,
    },
    /// Which clips to keep armed.
    Want(Vec<bool>),
    /// Do nothing for this long (`Loader::stall`).
    Stall(Duration),
    /// Prepare a feed starting `offset` frames into `clip` (a seek), sent under `token`.
    Prepare {
        generation: u32,
        clip: u32,
        offset: u64,
        token: u32,
    },
    /// Check the queues now (the offline renderer is waiting).
    Wake,
    Stop,
}

/// What the loader tells the control side.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    /// A clip could not be prepared or its stream broke; it plays silence, nothing else stops.
    Failed { generation: u32, clip: u32, message: String },
}

/// The handle the control side holds; dropping it stops the thread.
pub struct Loader {
    requests: Sender<Request>,
    reports: Receiver<Report>,
    thread: Option<JoinHandle<()>>,
}

impl Loader {
    pub fn spawn(config: LoaderConfig, ends: LoaderEnds) -> Loader {
        let (requests, requests_rx) = crossbeam_channel::unbounded();
        let (reports_tx, reports) = crossbeam_channel::unbounded();
        let thread = std::thread::Builder::new()
            .name("segue-loader".into())
            .spawn(move || Worker::new(config, ends, reports_tx).run(requests_rx))
            .expect("the loader thread could not be started");
        Loader { requests, reports, thread: Some(thread) }
    }

    pub fn send(&self, request: Request) {
        // The thread only ends when told to, so the channel is open while the handle lives.
        let _ = self.requests.send(request);
    }

    pub fn wake(&self) {
        self.send(Request::Wake);
    }

    /// Makes the loader thread do nothing for `time`, as when a disk hangs: for tests of what
    /// the engine does meanwhile (the voices run dry into silence, and come back in time).
    pub fn stall(&self, time: Duration) {
        self.send(Request::Stall(time));
    }

    pub fn reports(&self) -> impl Iterator<Item = Report> + '_ {
        self.reports.try_iter()
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        self.send(Request::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A feed being kept ahead.
struct Tail {
    producer: rtrb::Producer<f32>,
    source: Source,
    clip: u32,
    generation: u32,
}

struct Worker {
    config: LoaderConfig,
    ends: LoaderEnds,
    reports: Sender<Report>,
    generation: u32,
    clips: Vec<Option<ClipSpec>>,
    heads: Vec<Option<Arc<Head>>>,
    wanted: Vec<bool>,
    /// An armed feed is at (or on its way to) the engine.
    outstanding: Vec<bool>,
    failed: Vec<bool>,
    tails: Vec<Tail>,
    /// Messages the engine's queue had no room for yet.
    pending: VecDeque<LoaderMsg>,
    scratch: Vec<f32>,
}

impl Worker {
    fn new(config: LoaderConfig, ends: LoaderEnds, reports: Sender<Report>) -> Self {
        Worker {
            config,
            ends,
            reports,
            generation: 0,
            clips: Vec::new(),
            heads: Vec::new(),
            wanted: Vec::new(),
            outstanding: Vec::new(),
            failed: Vec::new(),
            tails: Vec::new(),
            pending: VecDeque::new(),
            scratch: vec![0.0; 8192],
        }
    }

    fn run(mut self, requests: Receiver<Request>) {
        let mut busy = false;
        loop {
            let wait = if busy { Duration::ZERO } else { Duration::from_millis(5) };
            let first = match requests.recv_timeout(wait) {
                Ok(r) => Some(r),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            for request in first.into_iter().chain(requests.try_iter()) {
                match request {
                    Request::Program { generation, clips } => self.set_program(generation, clips),
                    Request::Want(wanted) => self.set_wanted(wanted),
                    Request::Prepare { generation, clip, offset, token } => {
                        if generation == self.generation {
                            self.prepare(clip, offset, token);
                        }
                    }
                    Request::Wake => {}
                    Request::Stall(time) => std::thread::sleep(time),
                    Request::Stop => return,
                }
            }
            // The rings of the voices playing now first; arming (for starts still to come)
            // takes what is left, a slice at a time.
            busy = self.drain_retired();
            busy |= self.refill();
            busy |= self.arm();
            busy &= self.flush_pending();
        }
    }

    fn set_program(&mut self, generation: u32, clips: Vec<Option<ClipSpec>>) {
        let n = clips.len();
        self.generation = generation;
        self.clips = clips;
        self.heads = vec![None; n];
        self.wanted = vec![false; n];
        self.outstanding = vec![false; n];
        self.failed = vec![false; n];
        self.pending.clear();
    }

    fn set_wanted(&mut self, wanted: Vec<bool>) {
        for clip in 0..self.clips.len() {
            let want = wanted.get(clip).copied().unwrap_or(false);
            if !want && self.wanted[clip] {
                self.heads[clip] = None;
                if self.outstanding[clip] {
                    self.outstanding[clip] = false;
                    self.pending.push_back(LoaderMsg::Disarm { generation: self.generation, clip: clip as u32 });
                }
            }
            self.wanted[clip] = want;
        }
    }

    /// Drops what the engine is done with; notes which armed feeds were used.
    fn drain_retired(&mut self) -> bool {
        let mut any = false;
        while let Ok(item) = self.ends.retired.pop() {
            any = true;
            match item {
                Retired::Used { generation, clip } => {
                    if generation == self.generation {
                        if let Some(o) = self.outstanding.get_mut(clip as usize) {
                            *o = false;
                        }
                    }
                }
                Retired::Feed(feed) => drop(feed),
                Retired::Program(program) => drop(program),
                Retired::Locate(locate) => drop(locate),
            }
        }
        any
    }

    /// Prepares a feed for every wanted clip that has none at the engine, for about
    /// `ARM_SLICE` at a time: true while some are still to be armed.
    fn arm(&mut self) -> bool {
        let started = Instant::now();
        let mut any = false;
        for clip in 0..self.clips.len() {
            if !self.wanted[clip] || self.outstanding[clip] || self.failed[clip] {
                continue;
            }
            if started.elapsed() >= ARM_SLICE {
                // The rest after the playing rings are topped up again.
                return true;
            }
            any = true;
            match self.build_feed(clip) {
                Ok((feed, broke)) => {
                    self.outstanding[clip] = true;
                    self.pending.push_back(LoaderMsg::Arm { generation: self.generation, clip: clip as u32, feed });
                    // A file that breaks past its head (cut short after the show loaded) still
                    // plays what it has; the failure follows, so the engine knows no more comes.
                    if let Some(e) = broke {
                        self.fail(self.generation, clip as u32, e.to_string());
                    }
                    self.flush_pending();
                }
                Err(e) => self.fail(self.generation, clip as u32, e.to_string()),
            }
        }
        any
    }

    /// The feed of a clip armed from its start: its head, and its ring filled as far as the
    /// file allows (with the error that stopped the filling, if one did).
    fn build_feed(&mut self, clip: usize) -> Result<(Feed, Option<SourceError>), SourceError> {
        let Some(spec) = self.clips[clip].clone() else {
            return Err(SourceError::Open { path: Default::default(), reason: "the clip has no playable file".into() });
        };
        let rate = self.config.rate;
        let ch = spec.channels as usize;
        let length = spec.length(rate);
        let head_frames = ((self.config.head_secs * rate as f64) as u64).min(length.unwrap_or(u64::MAX)) as usize;
        // The tail continues the same resampled stream as the head, so the join is seamless:
        // behind a cached head (a cue armed again after it started) the stream opens where the
        // head ends when that gives the same samples, else it is decoded again and skipped.
        let head = self.heads[clip].clone();
        let mut source = match head {
            Some(_) => {
                let source = Source::open(&spec, rate, head_frames as u64)?;
                if source.opens_exactly_anywhere() {
                    source
                } else {
                    let mut source = Source::open(&spec, rate, 0)?;
                    skip_frames(&mut source, head_frames, &mut self.scratch, ch)?;
                    source
                }
            }
            None => Source::open(&spec, rate, 0)?,
        };
        let head = match head {
            Some(head) => head,
            None => {
                let mut samples = vec![0.0; head_frames * ch];
                source.read(&mut samples)?;
                let head = Arc::new(Head { samples: samples.into_boxed_slice(), channels: spec.channels });
                self.heads[clip] = Some(head.clone());
                head
            }
        };
        let ring_frames = ((self.config.ring_secs * rate as f64) as usize).max(8192);
        let (producer, consumer) = rtrb::RingBuffer::new(ring_frames * ch);
        let mut tail = Tail { producer, source, clip: clip as u32, generation: self.generation };
        let broke = fill(&mut tail, &mut self.scratch).err();
        if broke.is_none() && tail.source.remaining() != Some(0) {
            self.tails.push(tail);
        }
        Ok((Feed::new(head, consumer, length), broke))
    }

    /// Builds a feed that starts mid-clip: no head, the ring filled from the offset on.
    fn prepare(&mut self, clip: u32, offset: u64, token: u32) {
        let built = self.clips.get(clip as usize).cloned().flatten().map(|spec| -> Result<Feed, SourceError> {
            let source = Source::open(&spec, self.config.rate, offset)?;
            let ch = spec.channels as usize;
            let length = source.remaining();
            let ring_frames = ((self.config.ring_secs * self.config.rate as f64) as usize).max(8192);
            let (producer, consumer) = rtrb::RingBuffer::new(ring_frames * ch);
            let mut tail = Tail { producer, source, clip, generation: self.generation };
            // A first stretch only, so a late seek lands as early as it can; `refill` tops the
            // ring up right after, well before the voice has played this much.
            fill_up_to(&mut tail, &mut self.scratch, FIRST_OFFSET_FRAMES)?;
            self.tails.push(tail);
            let head = Arc::new(Head { samples: Box::new([]), channels: spec.channels });
            Ok(Feed::new(head, consumer, length))
        });
        match built {
            Some(Ok(feed)) => self.pending.push_back(LoaderMsg::Offset { generation: self.generation, token, feed }),
            Some(Err(e)) => self.fail(self.generation, clip, e.to_string()),
            None => self.fail(self.generation, clip, "the clip has no playable file".into()),
        }
        self.flush_pending();
    }

    /// A clip's file failed: it plays silence from here. The control side gets the words; the
    /// engine gets the fact, so an offline render or bounce does not wait for it.
    fn fail(&mut self, generation: u32, clip: u32, message: String) {
        if generation == self.generation {
            if let Some(failed) = self.failed.get_mut(clip as usize) {
                *failed = true;
            }
        }
        self.pending.push_back(LoaderMsg::Lost { generation, clip });
        let _ = self.reports.send(Report::Failed { generation, clip, message });
    }

    /// Tops up every playing feed's ring; drops the ones the engine let go of.
    fn refill(&mut self) -> bool {
        let mut any = false;
        let mut i = 0;
        while i < self.tails.len() {
            let tail = &mut self.tails[i];
            if tail.producer.is_abandoned() || tail.source.remaining() == Some(0) {
                self.tails.swap_remove(i);
                continue;
            }
            match fill(tail, &mut self.scratch) {
                Ok(n) => any |= n > 0,
                Err(e) => {
                    let (generation, clip) = (tail.generation, tail.clip);
                    self.tails.swap_remove(i);
                    self.fail(generation, clip, e.to_string());
                    continue;
                }
            }
            i += 1;
        }
        any
    }

    /// Sends what waits for room in the engine's queue; false if something still waits.
    fn flush_pending(&mut self) -> bool {
        while let Some(msg) = self.pending.pop_front() {
            if let Err(rtrb::PushError::Full(msg)) = self.ends.feeds.push(msg) {
                self.pending.push_front(msg);
                return false;
            }
        }
        true
    }
}

/// How long the loader arms clips before it tops up the playing rings again. Every cue that
/// starts is armed again for its next start (its head decoded, its ring filled: a few
/// milliseconds of decoding each); 256 cues started at once used to be armed again in one go,
/// a second and more in which no playing ring was refilled, and voices ran dry.
const ARM_SLICE: Duration = Duration::from_millis(5);

/// Frames an offset feed (a seek) carries when it is first sent: 4096 frames are 85 ms at
/// 48 kHz, decoded in well under a millisecond, while the loader fills the rest of the ring.
const FIRST_OFFSET_FRAMES: usize = 4096;

/// Writes as many frames as the ring has room for; returns the frames written.
fn fill(tail: &mut Tail, scratch: &mut [f32]) -> Result<usize, SourceError> {
    fill_up_to(tail, scratch, usize::MAX)
}

/// Writes as many frames as the ring has room for, up to about `limit`; returns the frames
/// written.
fn fill_up_to(tail: &mut Tail, scratch: &mut [f32], limit: usize) -> Result<usize, SourceError> {
    let ch = tail.source.channels() as usize;
    let mut total = 0;
    loop {
        if total >= limit {
            return Ok(total);
        }
        let room = tail.producer.slots() / ch;
        // Small top-ups are not worth a resampler call; wait until a block's worth is free.
        if room < 1024 && !(room > 0 && tail.source.remaining().is_some_and(|r| r <= room as u64)) {
            return Ok(total);
        }
        let frames = room.min(scratch.len() / ch);
        let n = tail.source.read(&mut scratch[..frames * ch])?;
        if n == 0 {
            return Ok(total);
        }
        let (written, _) = tail.producer.push_partial_slice(&scratch[..n * ch]);
        debug_assert_eq!(written.len(), n * ch);
        total += n;
    }
}

fn skip_frames(source: &mut Source, mut frames: usize, scratch: &mut [f32], ch: usize) -> Result<(), SourceError> {
    while frames > 0 {
        let n = frames.min(scratch.len() / ch);
        let got = source.read(&mut scratch[..n * ch])?;
        if got == 0 {
            break;
        }
        frames -= got;
    }
    Ok(())
}
