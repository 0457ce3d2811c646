//! A JACK dummy server, `segue play` as a child process on it, and a JACK client of the test's
//! own that records its output on JACK's frame clock: what `tests/live_player.rs` and
//! `benches/live.rs` share.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rosc::{OscMessage, OscPacket, OscType};
use serde_json::{json, Value};

use crate::common::*;

pub const RATE: u32 = 48_000;

/// One test at a time on a test binary's JACK server: a player killed at the end of one test
/// stalls the shared graph until the server notices (xruns for every client), and a client of
/// the test process was seen never to be run again after one. Held for a whole test.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The JACK dummy server of this test binary (`period`-frame buffers), started once and named
/// `{prefix}-{pid}` so runs and binaries never share one; it stops when the test process exits
/// (however it exits: leaked on purpose, with its stdin). Every JACK client of this process
/// talks to it.
pub fn shared_server(prefix: &str, period: usize) -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let name = format!("{prefix}-{}", std::process::id());
        std::mem::forget(private_server(&name, period));
        // SAFETY: set once, before any JACK client of this process exists (libjack reads it).
        unsafe { std::env::set_var("JACK_DEFAULT_SERVER", &name) };
        unsafe { std::env::set_var("JACK_NO_START_SERVER", "1") };
        let start = Instant::now();
        while jack::Client::new("segue-probe", jack::ClientOptions::NO_START_SERVER).is_err() {
            assert!(start.elapsed() < Duration::from_secs(10), "the JACK dummy server did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        name
    })
}

/// A JACK dummy server of one test's own (one it kills); stopped when dropped.
pub struct PrivateServer(Child);

impl PrivateServer {
    /// Stops it: its shell kills jackd when its stdin closes.
    pub fn stop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a JACK dummy server named `name` at 48 kHz with `period`-frame buffers; waits until
/// it answers.
pub fn private_server(name: &str, period: usize) -> PrivateServer {
    private_server_at(name, RATE, period)
}

/// `private_server` at `rate` Hz.
pub fn private_server_at(name: &str, rate: u32, period: usize) -> PrivateServer {
    let jackd =
        format!("jackd --no-realtime -n {name} -d dummy -r {rate} -p {period} & p=$!; read _; kill $p; wait $p");
    let log = std::env::temp_dir().join(format!("{name}.log"));
    let child = Command::new("sh")
        .args(["-c", &jackd])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !Command::new("jack_lsp")
        .env("JACK_DEFAULT_SERVER", name)
        .env("JACK_NO_START_SERVER", "1")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let said = || std::fs::read_to_string(&log).unwrap_or_default();
        assert!(start.elapsed() < Duration::from_secs(10), "jackd {name} did not come up:\n{}", said());
        std::thread::sleep(Duration::from_millis(50));
    }
    PrivateServer(child)
}

/// The player, headless on JACK, with OSC on a free port.
pub struct Player {
    pub child: Child,
    /// Its JACK client name (`--jack-name`): its output ports are `NAME_out:out_N`.
    pub jack_name: String,
    pub lines: std::sync::mpsc::Receiver<Value>,
    pub osc: UdpSocket,
    pub to: std::net::SocketAddr,
}

impl Player {
    /// Starts `segue play SHOW --headless` on the JACK server `server`, with `extra` options.
    pub fn start(server: &str, show: &Path, extra: &[&str]) -> Player {
        Player::start_with(server, show, extra, read_lines)
    }

    /// `start`, with a reader of the player's stdout that reads until the player is ready and
    /// then never again (the pipe stays open): a script that stopped reading.
    pub fn start_unread(server: &str, show: &Path, extra: &[&str]) -> Player {
        Player::start_with(server, show, extra, read_until_ready)
    }

    fn start_with(
        server: &str,
        show: &Path,
        extra: &[&str],
        read: fn(ChildStdout) -> std::sync::mpsc::Receiver<Value>,
    ) -> Player {
        let port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // A name of its own on the shared server (two players at once would share "segue").
        let named = extra.iter().position(|a| *a == "--jack-name").and_then(|i| extra.get(i + 1));
        let jack_name = named.map_or_else(|| format!("segue-t{port}"), |n| n.to_string());
        let mut child = Command::new(env!("CARGO_BIN_EXE_segue"))
            .arg("play")
            .arg(show)
            .args(["--headless", "--backend", "jack", "--osc", &format!("127.0.0.1:{port}")])
            .args(if named.is_some() { vec![] } else { vec!["--jack-name".to_string(), jack_name.clone()] })
            .args(extra)
            .env("JACK_DEFAULT_SERVER", server)
            .env("JACK_NO_START_SERVER", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let lines = read(child.stdout.take().unwrap());
        let osc = UdpSocket::bind("127.0.0.1:0").unwrap();
        osc.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut player = Player { child, jack_name, lines, osc, to: format!("127.0.0.1:{port}").parse().unwrap() };
        player.wait_for(|v| v["event"] == "ready", "the player to be ready");
        player
    }

    /// The JACK ports of the player's output.
    pub fn ports(&self) -> [String; 2] {
        let client = format!("{}_out", self.jack_name);
        [format!("{client}:out_0"), format!("{client}:out_1")]
    }

    /// The next JSON line that `pred` accepts (panics after 10 s).
    pub fn wait_for(&mut self, pred: impl Fn(&Value) -> bool, what: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(v) if pred(&v) => return v,
                Ok(v) => seen.push(v.to_string()),
                Err(_) => panic!("no line from the player for {what}; it said:\n{}", seen.join("\n")),
            }
        }
    }

    /// Sends an OSC message and returns the reply's text.
    pub fn osc(&self, address: &str, args: Vec<OscType>) -> String {
        self.send(address, args);
        self.reply(address)
    }

    pub fn send(&self, address: &str, args: Vec<OscType>) {
        let bytes = rosc::encoder::encode(&OscPacket::Message(OscMessage { addr: address.into(), args })).unwrap();
        self.osc.send_to(&bytes, self.to).unwrap();
    }

    pub fn reply(&self, address: &str) -> String {
        let mut buf = [0u8; 65_536];
        let (n, _) = self.osc.recv_from(&mut buf).expect("the player replies to OSC");
        let (_, packet) = rosc::decoder::decode_udp(&buf[..n]).unwrap();
        let OscPacket::Message(m) = packet else { panic!("a bundle for a reply") };
        assert_eq!(m.addr, format!("/segue/reply{address}"));
        match m.args.first() {
            Some(OscType::String(s)) => s.clone(),
            other => panic!("reply {other:?}"),
        }
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn read_lines(stdout: ChildStdout) -> std::sync::mpsc::Receiver<Value> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            let value: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
            if tx.send(value).is_err() {
                return;
            }
        }
    });
    rx
}

/// Reads lines until the `ready` one, then holds the pipe without reading it (until this test
/// process ends).
pub fn read_until_ready(stdout: ChildStdout) -> std::sync::mpsc::Receiver<Value> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            let value: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            line.clear();
            let ready = value["event"] == "ready";
            if tx.send(value).is_err() || ready {
                break;
            }
        }
        loop {
            std::thread::park();
        }
    });
    rx
}

/// The recorder's process callback.
pub type Process = Box<dyn FnMut(&jack::Client, &jack::ProcessScope) -> jack::Control + Send>;

/// What this test's JACK client heard on its input (the player's left channel), with the JACK
/// frame time of the first sample.
pub struct Recorder {
    client: jack::AsyncClient<(), jack::contrib::ClosureProcessHandler<(), Process>>,
    heard: Arc<Mutex<(Option<u32>, Vec<f32>)>>,
    /// Its input port's full name (what a player's `--connect` names).
    pub port: String,
}

impl Recorder {
    /// Records `from` (a port name) through a client of the server `JACK_DEFAULT_SERVER` names.
    pub fn start(from: &str) -> Recorder {
        let rec = Recorder::start_unconnected();
        rec.client.as_client().connect_ports_by_name(from, &rec.port).unwrap();
        rec
    }

    /// A recorder whose input nothing is connected to yet (others connect to `port`).
    pub fn start_unconnected() -> Recorder {
        let (client, _) =
            jack::Client::new(&format!("rec-{}", std::process::id()), jack::ClientOptions::NO_START_SERVER).unwrap();
        let input = client.register_port("in", jack::AudioIn::default()).unwrap();
        let to = input.name().unwrap();
        let heard = Arc::new(Mutex::new((None, Vec::with_capacity(RATE as usize * 20))));
        let sink = heard.clone();
        let process: Process = Box::new(move |_, ps| {
            // A test client: a short lock here is fine (nothing else runs at this priority).
            let mut h = sink.lock().unwrap();
            let now = ps.last_frame_time();
            let first = *h.0.get_or_insert(now);
            // Each cycle lands at its own frame on JACK's clock: a cycle this client missed
            // (an xrun) leaves silence, not a shift of everything after it.
            let at = now.wrapping_sub(first) as usize;
            if h.1.len() < at {
                h.1.resize(at, 0.0);
            }
            h.1.truncate(at);
            h.1.extend_from_slice(input.as_slice(ps));
            jack::Control::Continue
        });
        let client = client.activate_async((), jack::contrib::ClosureProcessHandler::new(process)).unwrap();
        Recorder { client, heard, port: to }
    }

    /// JACK's frame clock now.
    pub fn now(&self) -> u32 {
        self.client.as_client().frame_time()
    }

    /// Frames recorded so far.
    pub fn len(&self) -> usize {
        self.heard.lock().unwrap().1.len()
    }

    /// The recording so far: (JACK frame of its first sample, samples).
    pub fn take(&self) -> (u32, Vec<f32>) {
        let h = self.heard.lock().unwrap();
        (h.0.unwrap_or(0), h.1.clone())
    }
}

/// A show with a quiet 200 Hz bed from the start and a manual cue "hit": a 1 kHz tone at 0.5,
/// 1 s long, that starts at its peak, so its first frame stands out of the bed.
pub fn go_show(name: &str) -> std::path::PathBuf {
    go_show_with(name, 1.0)
}

/// `go_show` with a cue `hit_secs` long.
pub fn go_show_with(name: &str, hit_secs: f64) -> std::path::PathBuf {
    let dir = scratch(name);
    let bed = sine_file(&dir, "bed.wav", RATE, 200.0, 0.1, 2.0, 0.0);
    let hit = sine_file(&dir, "hit.wav", RATE, 1000.0, 0.5, hit_secs, std::f64::consts::FRAC_PI_2);
    show_file(
        &dir,
        json!({
            "format": "segue-show/1",
            "panic_ms": 200,
            "scenes": [{ "id": "s", "at": 0, "bed": { "file": bed }, "transition": { "fade_ms": 0 },
                         "cues": [{ "id": "hit", "file": hit, "duck_db": 0 }] }]
        }),
    );
    dir.join("show.json")
}

/// The first frame at or after `from` louder than `threshold`.
pub fn onset_after(x: &[f32], from: usize, threshold: f32) -> Option<usize> {
    x.iter().skip(from).position(|s| s.abs() > threshold).map(|k| k + from)
}

/// MIDI messages with the JACK frame of each.
type Messages = Arc<Mutex<Vec<(u32, Vec<u8>)>>>;

/// A JACK client of the test's own with a MIDI output port: each message goes out on the JACK
/// frame it is given, so a test knows to the frame when a MIDI command was sent.
pub struct MidiSender {
    client: jack::AsyncClient<(), jack::contrib::ClosureProcessHandler<(), Process>>,
    pub port: String,
    /// Messages still to send: (JACK frame, bytes).
    queue: Messages,
    /// What went out: (JACK frame, bytes).
    sent: Messages,
}

impl MidiSender {
    pub fn start() -> MidiSender {
        let (client, _) =
            jack::Client::new(&format!("midisrc-{}", std::process::id()), jack::ClientOptions::NO_START_SERVER)
                .unwrap();
        let mut out = client.register_port("out", jack::MidiOut::default()).unwrap();
        let port = out.name().unwrap();
        let queue: Messages = Arc::default();
        let sent: Messages = Arc::default();
        let (q, s) = (queue.clone(), sent.clone());
        let process: Process = Box::new(move |_, ps| {
            let start = ps.last_frame_time();
            let frames = ps.n_frames();
            let mut writer = out.writer(ps);
            // A test client: a short lock here is fine.
            let mut q = q.lock().unwrap();
            // Where in this cycle each goes: its offset, or 0 for one already late (sent at
            // once). JACK takes a cycle's events in time order only, so they are sorted by it
            // (a long schedule once, not every cycle).
            let place = |at: u32| {
                let offset = at.wrapping_sub(start);
                if offset > u32::MAX / 2 {
                    0
                } else {
                    offset
                }
            };
            if !q.is_sorted_by_key(|(at, _)| place(*at)) {
                q.sort_by_key(|(at, _)| place(*at));
            }
            let n = q.iter().take_while(|(at, _)| place(*at) < frames).count();
            let mut s = s.lock().unwrap();
            for (at, bytes) in q.drain(..n) {
                let time = place(at);
                writer.write(&jack::RawMidi { time, bytes: &bytes }).unwrap();
                s.push((if at.wrapping_sub(start) < frames { at } else { start }, bytes));
            }
            jack::Control::Continue
        });
        let client = client.activate_async((), jack::contrib::ClosureProcessHandler::new(process)).unwrap();
        MidiSender { client, port, queue, sent }
    }

    /// Sends `bytes` on JACK frame `at`.
    pub fn send_at(&self, at: u32, bytes: &[u8]) {
        self.queue.lock().unwrap().push((at, bytes.to_vec()));
    }

    /// JACK's frame clock now.
    pub fn now(&self) -> u32 {
        self.client.as_client().frame_time()
    }

    /// What went out so far, with the JACK frame of each.
    pub fn sent(&self) -> Vec<(u32, Vec<u8>)> {
        self.sent.lock().unwrap().clone()
    }
}

/// Each cycle this test's JACK client heard on its input, with the JACK transport as that cycle
/// had it: (rolling, transport frame of the cycle's first sample, the samples).
pub type Cycles = Arc<Mutex<Vec<(bool, u64, Vec<f32>)>>>;

/// A recorder that notes the JACK transport of every cycle it records, so what a player chasing
/// JACK transport played can be set against the render at the transport's frames.
pub struct TransportRecorder {
    _client: jack::AsyncClient<(), jack::contrib::ClosureProcessHandler<(), Process>>,
    cycles: Cycles,
}

impl TransportRecorder {
    pub fn start(from: &str) -> TransportRecorder {
        let (client, _) =
            jack::Client::new(&format!("trec-{}", std::process::id()), jack::ClientOptions::NO_START_SERVER).unwrap();
        let input = client.register_port("in", jack::AudioIn::default()).unwrap();
        let to = input.name().unwrap();
        let cycles: Cycles = Arc::new(Mutex::new(Vec::new()));
        let sink = cycles.clone();
        let process: Process = Box::new(move |client, ps| {
            let Ok(now) = client.transport().query() else { return jack::Control::Continue };
            let rolling = now.state == jack::TransportState::Rolling;
            // A test client: a short lock and an allocation here are fine.
            sink.lock().unwrap().push((rolling, now.pos.frame() as u64, input.as_slice(ps).to_vec()));
            jack::Control::Continue
        });
        let client = client.activate_async((), jack::contrib::ClosureProcessHandler::new(process)).unwrap();
        client.as_client().connect_ports_by_name(from, &to).unwrap();
        TransportRecorder { _client: client, cycles }
    }

    pub fn take(&self) -> Vec<(bool, u64, Vec<f32>)> {
        std::mem::take(&mut *self.cycles.lock().unwrap())
    }
}

/// A stretch of LTC for `LtcSource`: running from a label at a speed, or silence (a dropout).
#[derive(Debug, Clone, Copy)]
pub enum Ltc {
    /// `secs` seconds of timecode from `from` (`HH:MM:SS:FF`; empty: where the timecode before
    /// would be now, had it run on through a dropout), running `ppm` parts per million fast (a
    /// generator whose clock runs off the server's).
    Run { from: &'static str, secs: f64, ppm: f64 },
    /// `secs` seconds of nothing (the next run says where the timecode is after it).
    Dropout { secs: f64 },
}

/// LTC made with libltc's encoder, and where its timecode is at each of its samples.
pub struct LtcSignal {
    pub samples: Vec<f32>,
    /// (first sample, timecode frames at it counted at the rate, timecode frames per sample).
    runs: Vec<(usize, f64, f64)>,
    pub rate: segue::show::timecode::FrameRate,
}

impl LtcSignal {
    /// LTC at `rate` (encoded at -18 dBFS) for a 48 kHz server, stretch by stretch.
    pub fn new(rate: segue::show::timecode::FrameRate, parts: &[Ltc]) -> LtcSignal {
        use segue::app::sync::libltc::{Encoder, Label};
        let (num, den) = rate.ratio();
        let fps = num as f64 / den as f64;
        let mut samples = Vec::new();
        let mut runs: Vec<(usize, f64, f64)> = Vec::new();
        for part in parts {
            match *part {
                Ltc::Run { from, secs, ppm } => {
                    let speed = 1.0 + ppm * 1e-6;
                    let per_sample = fps * speed / RATE as f64;
                    // Where it starts, with a fraction of a frame when it goes on after a dropout.
                    let at = match from {
                        "" => {
                            let (start, first, per) = *runs.last().expect("a run to go on from");
                            first + (samples.len() - start) as f64 * per
                        }
                        from => segue::show::timecode::Timecode::parse(from, rate).unwrap().frames as f64,
                    };
                    let first = at.floor() as u64;
                    // The samples of the first frame before `at`: left out.
                    let mut skip = ((at - first as f64) / per_sample).round() as usize;
                    // An encoder whose sample rate is the server's over the speed: its frames
                    // come `speed` times as often on the server's clock.
                    let mut enc = Encoder::new(RATE as f64 / speed, rate, -18.0);
                    enc.set(Label::of(first, rate));
                    runs.push((samples.len(), at, per_sample));
                    let end = samples.len() + (secs * RATE as f64) as usize;
                    while samples.len() < end {
                        enc.frame(|bytes| {
                            let left_out = skip.min(bytes.len());
                            samples.extend(bytes[left_out..].iter().map(|&b| Encoder::sample(b)));
                            skip -= left_out;
                        });
                    }
                }
                Ltc::Dropout { secs } => samples.extend(std::iter::repeat_n(0.0, (secs * RATE as f64) as usize)),
            }
        }
        LtcSignal { samples, runs, rate }
    }

    /// The timecode (frames at the rate, with fractions) at sample `k` of the signal.
    pub fn timecode_at(&self, k: usize) -> f64 {
        let (start, first, per_sample) = self.runs.iter().rev().find(|r| r.0 <= k).copied().unwrap_or(self.runs[0]);
        first + (k - start.min(k)) as f64 * per_sample
    }
}

/// (playing, each cycle's JACK frame and the signal's sample there, the next sample).
type Playing = Arc<Mutex<(bool, Vec<(u32, usize)>, usize)>>;

/// A JACK client of the test's playing an `LtcSignal` on its output port from `go` on (silence
/// before), noting the JACK frame each of its cycles went out on and the signal's sample there
/// (a cycle the machine missed leaves the signal where it was: the timecode jumps).
pub struct LtcSource {
    client: jack::AsyncClient<(), jack::contrib::ClosureProcessHandler<(), Process>>,
    state: Playing,
    pub port: String,
}

impl LtcSource {
    pub fn start(signal: Vec<f32>) -> LtcSource {
        let (client, _) =
            jack::Client::new(&format!("ltcgen-{}", std::process::id()), jack::ClientOptions::NO_START_SERVER).unwrap();
        let mut out = client.register_port("ltc_out", jack::AudioOut::default()).unwrap();
        let port = out.name().unwrap();
        let state = Arc::new(Mutex::new((false, Vec::with_capacity(100_000), 0usize)));
        let shared = state.clone();
        let process: Process = Box::new(move |_, ps| {
            let buf = out.as_mut_slice(ps);
            buf.fill(0.0);
            // A test client: a short lock here is fine.
            let mut s = shared.lock().unwrap();
            if s.0 {
                let at = s.2;
                s.1.push((ps.last_frame_time(), at));
                let n = buf.len().min(signal.len().saturating_sub(at));
                if n > 0 {
                    buf[..n].copy_from_slice(&signal[at..at + n]);
                }
                s.2 += buf.len();
            }
            jack::Control::Continue
        });
        let client = client.activate_async((), jack::contrib::ClosureProcessHandler::new(process)).unwrap();
        LtcSource { client, state, port }
    }

    /// Starts playing the signal.
    pub fn go(&self) {
        self.state.lock().unwrap().0 = true;
    }

    /// The JACK frame the signal's first sample went out on.
    pub fn started(&self) -> Option<u32> {
        self.state.lock().unwrap().1.first().map(|c| c.0)
    }

    /// The signal's sample that went out on JACK frame `frame` (`None`: before it started).
    pub fn sample_at(&self, frame: u32) -> Option<usize> {
        let s = self.state.lock().unwrap();
        let first = s.1.first()?.0;
        let since = |f: u32| f.wrapping_sub(first);
        let i = s.1.partition_point(|c| since(c.0) <= since(frame)).checked_sub(1)?;
        let (at, sample) = s.1[i];
        Some(sample + frame.wrapping_sub(at) as usize)
    }

    /// JACK frames where cycles of the signal were missed (the machine could not run them):
    /// the timecode jumped back there by what was missed.
    pub fn missed(&self) -> Vec<u32> {
        let s = self.state.lock().unwrap();
        s.1.windows(2).filter(|w| w[1].0.wrapping_sub(w[0].0) as usize != w[1].1 - w[0].1).map(|w| w[1].0).collect()
    }
}
