//! `segue play` on a real, real-time-paced audio server: a JACK dummy server of this test run's
//! own (`jackd -d dummy`, 48 kHz, 256-frame periods), the player as a child process
//! (`--headless`, JSON lines on stdout, OSC on a free port), and the output recorded by this
//! test's own JACK client with JACK's frame clock, so onsets are measured in frames from the
//! moment a command was sent.

mod common;
mod jack_host;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use jack_host::*;
use serde_json::Value;

/// The dummy server's period: the player's audio buffer.
const PERIOD: usize = 256;

/// The JACK dummy server for this test binary.
fn server() -> &'static str {
    shared_server("segue-test", PERIOD)
}

#[test]
fn an_osc_go_sounds_its_cue_within_one_buffer_and_panic_fades_everything() {
    let _jack = one_at_a_time();
    let show = go_show("live-go");
    let mut player = Player::start(server(), &show, &["--autoplay"]);
    let rec = Recorder::start(&player.ports()[0]);
    std::thread::sleep(Duration::from_millis(500));
    let sent = rec.now();
    assert_eq!(player.osc("/segue/go", vec![]), "ok");
    player.wait_for(|v| v["event"] == "cue_started" && v["cue"] == "hit", "the cue to start");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(player.osc("/segue/panic", vec![]), "ok");
    std::thread::sleep(Duration::from_millis(500));
    let (first, heard) = rec.take();
    let sent_at = sent.wrapping_sub(first) as usize;
    // The bed sounds before the GO, at its level (0.1 = -20 dB; 0.2 dB: the window's edges).
    let before = &heard[sent_at.saturating_sub(RATE as usize / 4)..sent_at];
    let bed = level_db(before, RATE, 200.0, 0.0, 0.2);
    let gaps = before.iter().filter(|s| **s == 0.0).count();
    assert!((bed - db(0.1)).abs() < 0.2, "the bed before GO: {bed:.2} dB ({gaps} zero frames of {})", before.len());
    // The cue's first frame: the command is scheduled one buffer after it arrives, and the
    // de-click (5 ms, linear) takes 72 frames to pass the bed's 0.1 on the way to 0.5; JACK's
    // frame-time estimate at the send adds up to one period of uncertainty.
    let onset = onset_after(&heard, sent_at, 0.15).expect("the cue sounds") - sent_at;
    eprintln!("OSC GO to sound: {onset} frames ({:.2} ms)", onset as f64 * 1000.0 / RATE as f64);
    assert!(onset <= 2 * PERIOD + 72, "the cue started {onset} frames after the GO was sent");
    let cue_at = (sent_at + onset) as f64 / RATE as f64;
    assert!((level_db(&heard, RATE, 1000.0, cue_at + 0.1, cue_at + 0.4) - db(0.5)).abs() < 0.2, "the cue's level");
    // Panic: everything fades over 200 ms; a period later there is nothing left.
    let end = heard.len() as f64 / RATE as f64;
    assert!(level_db(&heard, RATE, 200.0, end - 0.15, end) < -80.0, "the bed after the panic");
    assert!(level_db(&heard, RATE, 1000.0, end - 0.15, end) < -80.0, "the cue after the panic");
    // A packet that is not OSC is passed over and counted; /segue/state says how many.
    player.osc.send_to(b"not an OSC packet", player.to).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let state: Value = serde_json::from_str(&player.osc("/segue/state", vec![])).unwrap();
    assert_eq!(state["remote"]["osc"]["malformed"], 1, "{state}");
    assert_eq!(state["remote"]["osc"]["refused"], 0, "{state}");
}

#[test]
fn a_second_go_within_the_guard_is_ignored_and_said_so() {
    let _jack = one_at_a_time();
    let show = go_show("live-guard");
    let mut player = Player::start(server(), &show, &["--autoplay", "--go-guard", "300"]);
    player.wait_for(|v| v["event"] == "scene_entered", "the show to start");
    assert_eq!(player.osc("/segue/go", vec![]), "ok");
    let second = player.osc("/segue/go", vec![]);
    assert!(second.starts_with("error: GO ignored"), "the second GO: {second}");
    player
        .wait_for(|v| v["event"] == "problem" && v["text"].as_str().unwrap_or("").contains("GO ignored"), "the report");
    // The state answers with the transport, the scene and what plays, with its time left.
    player.wait_for(|v| v["event"] == "cue_started", "the cue to start");
    let state: Value = serde_json::from_str(&player.osc("/segue/state", vec![])).unwrap();
    assert_eq!(state["playing"], true);
    assert_eq!(state["scene"], "s");
    assert_eq!(state["cues"][0]["cue"], "hit", "{state}");
    let left = state["cues"][0]["remaining"].as_f64().unwrap();
    // The cue is 1 s long and has just started (the replies take a few milliseconds).
    assert!(left > 0.5 && left <= 1.0, "{state}");
    assert_eq!(state["standby"], Value::Null, "no GO cue is left: {state}");
    // An unknown cue is refused in words.
    let reply = player.osc("/segue/cue/nope/start", vec![]);
    assert!(reply.contains("no cue \"nope\""), "{reply}");
}

#[test]
fn without_an_audio_server_the_player_says_what_to_try_and_exits_2() {
    let show = go_show("live-nodevice");
    let out = Command::new(env!("CARGO_BIN_EXE_segue"))
        .arg("play")
        .arg(&show)
        .args(["--headless", "--backend", "jack", "--osc", "off"])
        .env("JACK_DEFAULT_SERVER", "segue-no-such-server")
        .env("JACK_NO_START_SERVER", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "exit status");
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("segue:")).collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(lines[0].contains("jack") && lines[0].contains("jackd -d dummy"), "{}", lines[0]);
}

/// The console in a pseudo-terminal (tmux, 80×24), on the JACK server; the screen as text.
struct Screen {
    session: String,
}

impl Screen {
    fn start(show: &Path) -> Screen {
        Screen::start_sized(show, 80, 24)
    }

    fn start_sized(show: &Path, columns: u16, rows: u16) -> Screen {
        let server = server();
        let session = format!("segue-console-{}", std::process::id());
        let command = format!(
            "JACK_DEFAULT_SERVER={server} JACK_NO_START_SERVER=1 {} play {} --backend jack --osc off --jack-name {session}",
            env!("CARGO_BIN_EXE_segue"),
            show.display()
        );
        let ok = Command::new("tmux")
            .args(["new-session", "-d", "-s", &session, "-x", &columns.to_string(), "-y", &rows.to_string(), &command])
            .status()
            .expect("tmux runs (.ci/setup installs it)");
        assert!(ok.success());
        let screen = Screen { session };
        screen.wait_for("Scenes and cues");
        screen
    }

    fn text(&self) -> String {
        let out = Command::new("tmux").args(["capture-pane", "-p", "-t", &self.session]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &str) {
        assert!(Command::new("tmux").args(["send-keys", "-t", &self.session, keys]).status().unwrap().success());
    }

    /// Waits (up to 10 s) until the screen shows `what`; returns the screen.
    fn wait_for(&self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = self.text();
            if text.contains(what) {
                return text;
            }
            assert!(Instant::now() < deadline, "the console never showed {what:?}; it shows:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The player's JACK output ports (its --jack-name is the session's name).
    fn ports(&self) -> [String; 2] {
        let client = format!("{}_out", self.session);
        [format!("{client}:out_0"), format!("{client}:out_1")]
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.session]).status();
    }
}

#[test]
fn the_console_runs_the_show_with_go_standby_and_panic() {
    let _jack = one_at_a_time();
    let show = go_show("live-console");
    let screen = Screen::start(&show);
    let text = screen.wait_for("GO>");
    assert!(text.contains("stopped") && text.contains("00:00:00.000"), "opens stopped at the top:\n{text}");
    let rec = Recorder::start(&screen.ports()[0]);
    // Stopped at the top of a show with a timeline, GO plays it: the bed sounds.
    screen.keys("Space");
    screen.wait_for("PLAYING  scene s");
    std::thread::sleep(Duration::from_millis(400));
    // The next GO fires the standby cue: it shows as playing with its time left.
    screen.keys("Space");
    let text = screen.wait_for("PLAYING hit");
    assert!(text.contains("-0:0"), "the playing cue shows its time left:\n{text}");
    // Its level bar: a tone at 0.5 peaks at -6 dBFS, five of six cells (8 dB each from -48).
    let text = screen.wait_for("\u{2588}\u{2588}\u{2588}\u{2588}\u{2588}\u{2591}");
    let row = text.lines().find(|l| l.contains("PLAYING hit")).unwrap_or_default();
    assert!(row.contains("\u{2588}\u{2591}"), "the bar is on the cue's row:\n{text}");
    // The cue bus's RMS: a sine at 0.5 is -9 dBFS, its peak -6.
    let text = screen.wait_for("Cues  -9 pk -6.0");
    eprintln!("{text}");
    std::thread::sleep(Duration::from_millis(400));
    screen.keys("Escape");
    screen.wait_for("done    hit");
    std::thread::sleep(Duration::from_millis(400));
    let (_, heard) = rec.take();
    let secs = heard.len() as f64 / RATE as f64;
    // What the screen said is what sounded: the bed, then the cue over it, then silence.
    assert!((level_db(&heard, RATE, 200.0, 0.1, 0.35) - db(0.1)).abs() < 0.5, "the bed played");
    let cue = level_db(&heard, RATE, 1000.0, 0.0, secs);
    assert!(cue > db(0.5) - 12.0, "the cue played ({cue:.1} dB over the whole recording)");
    assert!(level_db(&heard, RATE, 200.0, secs - 0.15, secs) < -80.0, "silent after the panic");
    // The timeline still runs: quitting asks first.
    screen.keys("q");
    screen.wait_for("Quit anyway? y / n");
    screen.keys("y");
    let deadline = Instant::now() + Duration::from_secs(5);
    while screen.text().contains("Scenes and cues") {
        assert!(Instant::now() < deadline, "q did not quit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn resume_reopens_where_the_journal_says_and_the_log_lists_what_sounded() {
    let _jack = one_at_a_time();
    let show = go_show("live-journal");
    let journal = show.with_file_name("ep.journal.json");
    let arg = journal.display().to_string();
    let mut player = Player::start(server(), &show, &["--autoplay", "--journal", &arg]);
    assert_eq!(player.osc("/segue/go", vec![]), "ok");
    player.wait_for(|v| v["event"] == "cue_ended" && v["cue"] == "hit", "the cue to end");
    // The journal is at most half a second old; let it catch up, then the show "crashes".
    std::thread::sleep(Duration::from_millis(700));
    let state: Value = serde_json::from_str(&player.osc("/segue/state", vec![])).unwrap();
    let _ = player.child.kill();
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&journal).unwrap()).unwrap();
    let at = state["position"].as_f64().unwrap();
    // Rewritten twice a second: within 0.5 s of where it was (and a little more for the kill).
    assert!((kept["position"].as_f64().unwrap() - at).abs() < 0.6, "journal {kept} vs state {state}");
    assert_eq!(kept["scene"], "s");
    drop(player);
    // The performance log: the scene, its bed, the cue's start and its completed end, in order.
    let log = std::fs::read_to_string(show.with_file_name("ep.play.log")).unwrap();
    let lines: Vec<Value> = log.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).collect();
    assert_eq!(lines[0]["what"], "session", "a run starts with its session line: {log}");
    assert_eq!(lines[0]["rate"], RATE);
    let whats: Vec<String> = lines
        .iter()
        .filter(|v| !["session", "rolled", "halted", "heard"].contains(&v["what"].as_str().unwrap()))
        .map(|v| format!("{} {}", v["what"].as_str().unwrap(), v["cue"].as_str().or(v["scene"].as_str()).unwrap_or("")))
        .collect();
    assert_eq!(whats, ["scene_entered s", "bed_started s", "cue_started hit", "cue_ended hit"], "{log}");
    assert!(lines.iter().any(|v| v["what"] == "rolled" && v["position"] == 0), "the transport's start: {log}");
    assert!(lines.iter().any(|v| v["what"] == "heard" && v["use"] == "hit"), "where the cue was heard: {log}");
    // Reopened with --resume: stopped, where the journal was, and plays on from there.
    let mut again = Player::start(server(), &show, &["--resume", "--journal", &arg]);
    let state: Value = serde_json::from_str(&again.osc("/segue/state", vec![])).unwrap();
    assert_eq!(state["playing"], false);
    let resumed = state["position"].as_f64().unwrap();
    // The position the journal had, to the frame rounding of seconds.
    assert!((resumed - kept["position"].as_f64().unwrap()).abs() < 1e-3, "resumed at {resumed}, journal {kept}");
    assert_eq!(again.osc("/segue/transport/play", vec![]), "ok");
    let located = again.wait_for(|v| v["event"] == "located", "play to start where the journal was");
    assert_eq!(located["scene"], "s");
}

#[test]
fn the_player_survives_its_audio_server_going_away_and_goes_on_where_the_show_is() {
    let _jack = one_at_a_time();
    let show = go_show("live-lost");
    let name = format!("segue-lost-{}", std::process::id());
    let mut jackd = private_server(&name, PERIOD);
    let mut player = Player::start(&name, &show, &["--autoplay"]);
    std::thread::sleep(Duration::from_millis(500));
    // The server goes away (its stdin closes: the shell kills it).
    jackd.stop();
    let gone = Instant::now();
    player.wait_for(|v| v["event"] == "output_lost", "the loss to be reported");
    std::thread::sleep(Duration::from_millis(1500));
    let _jackd = private_server(&name, PERIOD);
    let back = player.wait_for(|v| v["event"] == "output_back", "the output to come back");
    let away = gone.elapsed().as_secs_f64();
    eprintln!("{}", back["text"]);
    // The show's time went on meanwhile: about 0.5 s before the loss plus the time away (the
    // retries come every second, so up to a second more).
    std::thread::sleep(Duration::from_millis(300));
    let state: Value = serde_json::from_str(&player.osc("/segue/state", vec![])).unwrap();
    let at = state["position"].as_f64().unwrap();
    assert!(at > 0.5 + away && at < 0.5 + away + 2.5, "at {at} s after {away:.1} s away");
    assert_eq!(state["playing"], true);
}

#[test]
fn a_server_back_at_another_rate_is_named_and_the_show_goes_on_when_it_is_back_at_its_own() {
    let _jack = one_at_a_time();
    let show = go_show("live-rate");
    let name = format!("segue-rate-{}", std::process::id());
    let mut jackd = private_server(&name, PERIOD);
    let mut player = Player::start(&name, &show, &["--autoplay"]);
    std::thread::sleep(Duration::from_millis(300));
    jackd.stop();
    player.wait_for(|v| v["event"] == "output_lost", "the loss to be reported");
    // The server comes back at 44.1 kHz: the player says why it cannot go on there, once.
    let mut other = private_server_at(&name, 44_100, PERIOD);
    let said = player.wait_for(
        |v| v["event"] == "problem" && v["text"].as_str().is_some_and(|t| t.contains("cannot be opened again")),
        "the reason",
    );
    let text = said["text"].as_str().unwrap();
    eprintln!("{text}");
    assert!(text.contains("44100") && text.contains("48000 Hz"), "{text}");
    std::thread::sleep(Duration::from_millis(2500));
    let again: Vec<Value> =
        player.lines.try_iter().filter(|v| v.to_string().contains("cannot be opened again")).collect();
    assert!(again.is_empty(), "said once: {again:?}");
    // Back at the show's rate: the show goes on.
    other.stop();
    let _jackd = private_server(&name, PERIOD);
    player.wait_for(|v| v["event"] == "output_back", "the output to come back");
    let state: Value = serde_json::from_str(&player.osc("/segue/state", vec![])).unwrap();
    assert_eq!(state["playing"], true, "{state}");
}

/// A show for MIDI: a very quiet 200 Hz bed (0.01, so it barely moves where a cue's rise
/// crosses the onset threshold); "hit" (note 60, cue number 5) and two GO cues, each a 1 kHz tone
/// at 0.5 for 0.1 s that starts at its peak.
fn midi_show(name: &str) -> std::path::PathBuf {
    let dir = scratch(name);
    let bed = sine_file(&dir, "bed.wav", RATE, 200.0, 0.01, 2.0, 0.0);
    let hit = sine_file(&dir, "hit.wav", RATE, 1000.0, 0.5, 0.1, std::f64::consts::FRAC_PI_2);
    show_file(
        &dir,
        serde_json::json!({
            "format": "segue-show/1",
            "panic_ms": 200,
            "scenes": [{ "id": "s", "at": 0, "bed": { "file": bed }, "transition": { "fade_ms": 0 },
                         "cues": [
                             { "id": "hit", "number": "5", "note": 60, "file": hit, "duck_db": 0 },
                             { "id": "go1", "file": hit, "duck_db": 0 },
                             { "id": "go2", "file": hit, "duck_db": 0 }
                         ] }]
        }),
    );
    dir.join("show.json")
}

#[test]
fn midi_notes_and_msc_start_their_cues_a_fixed_latency_after_they_arrive() {
    let _jack = one_at_a_time();
    use segue::control::midi::{msc_message, MSC_ALL_CALL, MSC_FORMAT_ALL, MSC_FORMAT_SOUND};
    server();
    let sender = MidiSender::start();
    let show = midi_show("live-midi");
    let mut player = Player::start(
        server(),
        &show,
        &["--autoplay", "--midi", &format!("jack:{}", sender.port), "--msc-device", "3"],
    );
    player.wait_for(|v| v["event"] == "midi" && v["text"].as_str().unwrap_or("").contains("listening"), "MIDI in");
    let rec = Recorder::start(&player.ports()[0]);
    std::thread::sleep(Duration::from_millis(300));
    // Messages half a second apart, each at another place in its buffer: what each should start.
    let note = |n: u8| vec![0x90, n, 100];
    let plan: Vec<(u32, Vec<u8>, Option<&str>)> = vec![
        (0, note(60), Some("hit")),
        (67, note(60), Some("hit")),
        (131, note(60), Some("hit")),
        (250, note(60), Some("hit")),
        (40, note(12), Some("go1")),
        (190, msc_message(3, MSC_FORMAT_SOUND, 0x01, Some("5")), Some("hit")),
        // Another device's GO: nothing.
        (10, msc_message(9, MSC_FORMAT_SOUND, 0x01, None), None),
        (100, msc_message(MSC_ALL_CALL, MSC_FORMAT_ALL, 0x01, None), Some("go2")),
    ];
    let base = sender.now() + RATE / 4;
    for (i, (offset, bytes, _)) in plan.iter().enumerate() {
        sender.send_at(base + i as u32 * RATE / 2 + offset, bytes);
    }
    let last = base + plan.len() as u32 * RATE / 2;
    // Then MSC ALL_OFF: the panic fades the bed (200 ms).
    sender.send_at(last, &msc_message(3, MSC_FORMAT_SOUND, 0x08, None));
    while sender.now().wrapping_sub(last) > u32::MAX / 2 || sender.now() - last < RATE / 2 {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (first, heard) = rec.take();
    let sent = sender.sent();
    assert_eq!(sent.len(), plan.len() + 1, "every message went out");
    let mut latencies = Vec::new();
    for ((at, _), (_, _, cue)) in sent.iter().zip(&plan) {
        let from = at.wrapping_sub(first) as usize;
        // Within half a second (before the next message).
        let window = &heard[from..from + RATE as usize / 2];
        // 0.05: a tenth of the cue's level, five times the bed's.
        let onset = onset_after(window, 0, 0.05);
        match cue {
            Some(cue) => {
                let onset = onset.unwrap_or_else(|| panic!("{cue} did not sound after its message"));
                latencies.push(onset);
            }
            None => assert_eq!(onset, None, "another MSC device's GO started something"),
        }
    }
    eprintln!("MIDI to sound, frames: {latencies:?}");
    // Scheduled one buffer after arrival, plus the de-click's rise to the threshold (about 30
    // frames) and one more buffer of slack for the JACK graph's order and a loaded machine; less
    // the wander of JACK's estimate of an event's time against the callbacks' wake-ups, which
    // on a loaded machine reaches a quarter buffer (the spread below allows as much): a start
    // seen 253 frames after its message in one full run of the suite here.
    // One start may come early by up to half a buffer more: a full CI run here on a loaded
    // machine saw one 195 frames after its message, the rest 291 to 353.
    for &l in &latencies {
        assert!((PERIOD / 2..=2 * PERIOD + 30).contains(&l), "a MIDI start {l} frames after its message");
    }
    let early = latencies.iter().filter(|&&l| l < PERIOD - PERIOD / 4).count();
    assert!(early <= 1, "{early} MIDI starts early: {latencies:?}");
    // Stamped on arrival, so where a message falls in a buffer does not move its start (were
    // it not, the spread would be a whole buffer, 256 frames). Left: JACK's estimate of an
    // event's time against the callbacks' wake-ups (a few frames), and the tone's first peaks
    // above the threshold coming 24 frames apart when the bed's phase tips one over; on a
    // loaded machine JACK's estimate wanders more (one run in five here went past 32), so a
    // quarter of the buffer: still a quarter of what unstamped events would spread over.
    // (Judged without the one start a loaded machine may misplace, as above.)
    let mut sorted = latencies.clone();
    sorted.sort();
    let spread = (sorted[sorted.len() - 1] - sorted[1]).min(sorted[sorted.len() - 2] - sorted[0]);
    assert!(spread <= PERIOD / 4, "MIDI starts spread over {spread} frames: {latencies:?}");
    let cues: Vec<String> = std::iter::from_fn(|| player.lines.try_recv().ok())
        .filter(|v| v["event"] == "cue_started")
        .map(|v| v["cue"].as_str().unwrap().to_string())
        .collect();
    let wanted: Vec<&str> = plan.iter().filter_map(|p| p.2).collect();
    assert_eq!(cues, wanted, "the cues the messages named, in order");
    let end = heard.len() as f64 / RATE as f64;
    assert!(level_db(&heard, RATE, 200.0, end - 0.2, end) < -80.0, "the bed after MSC ALL_OFF");
}

#[test]
fn osc_over_tcp_is_slip_framed_and_answered_on_its_connection() {
    let _jack = one_at_a_time();
    use std::io::{Read, Write};
    let show = go_show("live-tcp");
    let mut player = Player::start(server(), &show, &["--autoplay"]);
    player.wait_for(|v| v["event"] == "scene_entered", "the show to start");
    let mut tcp = std::net::TcpStream::connect(player.to).expect("OSC listens on TCP on the UDP port");
    tcp.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let packet = |addr: &str| {
        let msg = rosc::OscMessage { addr: addr.into(), args: vec![] };
        rosc::encoder::encode(&rosc::OscPacket::Message(msg)).unwrap()
    };
    // Garbage first (a frame that is no OSC), then GO and an unknown address in one write.
    let mut bytes = segue::app::osc::slip_encode(b"not osc at all");
    bytes.extend(segue::app::osc::slip_encode(&packet("/segue/go")));
    bytes.extend(segue::app::osc::slip_encode(&packet("/segue/nothing")));
    tcp.write_all(&bytes).unwrap();
    let mut frames = segue::app::osc::SlipDecoder::default();
    let mut replies = Vec::new();
    let mut buf = [0u8; 1024];
    while replies.len() < 2 {
        let n = tcp.read(&mut buf).expect("replies come back on the connection");
        assert!(n > 0, "the player closed the connection");
        for b in &buf[..n] {
            if let Some(Ok(frame)) = frames.push(*b) {
                let (_, p) = rosc::decoder::decode_udp(&frame).unwrap();
                let rosc::OscPacket::Message(m) = p else { panic!("a bundle") };
                let text = match m.args.first() {
                    Some(rosc::OscType::String(s)) => s.clone(),
                    other => panic!("reply {other:?}"),
                };
                replies.push((m.addr, text));
            }
        }
    }
    // The refusal comes from the OSC thread, the "ok" from the control loop: in either order.
    replies.sort();
    assert_eq!(replies[0], ("/segue/reply/segue/go".to_string(), "ok".to_string()));
    assert_eq!(replies[1].0, "/segue/reply/segue/nothing");
    assert!(replies[1].1.contains("not a Segue address"), "{replies:?}");
    let cmd = player.wait_for(|v| v["event"] == "command", "the GO to be logged");
    assert_eq!(cmd["source"], "osc-tcp");
    player.wait_for(|v| v["event"] == "cue_started" && v["cue"] == "hit", "the GO's cue");
}

#[test]
fn watch_reloads_a_saved_show_when_stopped_and_lists_an_invalid_ones_problems() {
    let _jack = one_at_a_time();
    let show = go_show("live-watch");
    let mut player = Player::start(server(), &show, &["--watch"]);
    let mut json: Value = serde_json::from_str(&std::fs::read_to_string(&show).unwrap()).unwrap();
    // A broken save: the problems come with their JSON path; the current show stays.
    let mut broken = json.clone();
    broken["scenes"][0]["cues"][0]["fade_in_ms"] = serde_json::json!(-5);
    std::fs::write(&show, broken.to_string()).unwrap();
    let invalid = player.wait_for(|v| v["event"] == "show_invalid", "the broken save to be listed");
    let problems = invalid["problems"].to_string();
    assert!(problems.contains("scenes[0].cues[0].fade_in_ms"), "{problems}");
    assert_eq!(player.osc("/segue/cue/hit/start", vec![]), "ok", "the current show still plays");
    player.wait_for(|v| v["event"] == "cue_ended" && v["cue"] == "hit", "the cue to end");
    // A good save, with the cue renamed: stopped and quiet, it loads at once.
    json["scenes"][0]["cues"][0]["id"] = serde_json::json!("hit2");
    std::fs::write(&show, json.to_string()).unwrap();
    player.wait_for(|v| v["event"] == "show_reloaded", "the good save to load");
    assert!(player.osc("/segue/cue/hit/start", vec![]).contains("no cue \"hit\""));
    assert_eq!(player.osc("/segue/cue/hit2/start", vec![]), "ok");
    player.wait_for(|v| v["event"] == "cue_started" && v["cue"] == "hit2", "the new show's cue");
    // While the transport plays a save waits; `reload` loads it at once.
    assert_eq!(player.osc("/segue/transport/play", vec![]), "ok");
    json["scenes"][0]["cues"][0]["id"] = serde_json::json!("hit3");
    std::fs::write(&show, json.to_string()).unwrap();
    player.wait_for(|v| v["event"] == "show_changed", "the save to be seen");
    std::thread::sleep(Duration::from_millis(600));
    assert!(player.osc("/segue/cue/hit3/start", vec![]).contains("no cue \"hit3\""), "not loaded while playing");
    assert_eq!(player.osc("/segue/reload", vec![]), "ok");
    player.wait_for(|v| v["event"] == "show_reloaded", "the reload");
    assert_eq!(player.osc("/segue/cue/hit3/start", vec![]), "ok");
}

#[test]
fn a_file_deleted_during_the_show_is_reported_by_name_and_the_bed_plays_on() {
    let _jack = one_at_a_time();
    let dir = scratch("live-deleted");
    let bed_a = sine_file(&dir, "a.wav", RATE, 200.0, 0.1, 2.0, 0.0);
    let bed_c = sine_file(&dir, "c.wav", RATE, 300.0, 0.1, 2.0, 0.0);
    let song = sine_file(&dir, "song.wav", RATE, 1000.0, 0.5, 3.0, 0.0);
    show_file(
        &dir,
        serde_json::json!({
            "format": "segue-show/1",
            "scenes": [
                { "id": "a", "at": 0, "bed": { "file": bed_a }, "transition": { "fade_ms": 0 } },
                { "id": "b" },
                { "id": "c", "bed": { "file": bed_c }, "transition": { "fade_ms": 0 },
                  "cues": [{ "id": "song", "file": song, "at": 1.5 }] }
            ]
        }),
    );
    let mut player = Player::start(server(), &dir.join("show.json"), &["--autoplay"]);
    let rec = Recorder::start(&player.ports()[0]);
    player.wait_for(|v| v["event"] == "scene_entered", "the show to start");
    // Scene c is two scenes ahead and its song is timed past its first second (what a jump
    // there keeps in memory ahead), not a GO cue: nothing of it is open or in memory yet when
    // the file goes away.
    std::fs::remove_file(dir.join("song.wav")).unwrap();
    assert_eq!(player.osc("/segue/scene/c", vec![]), "ok");
    // (A loaded machine's JACK server may report an xrun first: a problem of its own.)
    let problem = player.wait_for(
        |v| (v["event"] == "problem" || v["severity"] == "error") && !v["text"].to_string().contains("audio output"),
        "the missing file",
    );
    let text = problem["text"].as_str().unwrap_or_default().to_string();
    assert!(text.contains("song.wav") && text.contains("song"), "names the file and the cue: {text}");
    // Past the song's time in the scene.
    let mut said = Vec::new();
    let until = Instant::now() + Duration::from_millis(2000);
    while let Ok(line) = player.lines.recv_timeout(until.saturating_duration_since(Instant::now())) {
        said.push(line.to_string());
    }
    let (_, heard) = rec.take();
    let end = heard.len() as f64 / RATE as f64;
    // The new scene's bed sounds at its level through all of it (0.3 dB: the window's edges).
    // The median of six 100 ms windows: a loaded machine's JACK dummy server may drop a cycle of
    // its own (an xrun of the server, reported by the player, not a gap the player made).
    let mut levels: Vec<f64> =
        (0..6).map(|k| level_db(&heard, RATE, 300.0, end - 0.6 + k as f64 * 0.1, end - 0.5 + k as f64 * 0.1)).collect();
    levels.sort_by(f64::total_cmp);
    let bed = (levels[2] + levels[3]) / 2.0;
    assert!((bed - db(0.1)).abs() < 0.3, "scene c's bed at {bed:.2} dB; the player said:\n{}", said.join("\n"));
    assert!(level_db(&heard, RATE, 1000.0, end - 0.6, end) < -80.0, "nothing of the missing song");
}

#[test]
fn the_consoles_arrow_keys_move_standby_and_go_fires_it() {
    let _jack = one_at_a_time();
    let show = midi_show("live-console-standby");
    let screen = Screen::start(&show);
    let row = |text: &str, cue: &str| text.lines().find(|l| l.contains(cue)).unwrap_or_default().to_string();
    let text = screen.wait_for("GO>");
    assert!(row(&text, "go1").contains("GO>"), "standby starts on the first GO cue:\n{text}");
    // Playing the show enters its scene, which puts standby on the scene's first GO cue.
    screen.keys("Enter");
    screen.wait_for("PLAYING  scene s");
    // The cursor goes down over "hit" (not a GO cue: standby stays) to go1, then go2.
    screen.keys("Down");
    screen.keys("Down");
    screen.keys("Down");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !row(&screen.text(), "go2").contains("GO>") {
        assert!(Instant::now() < deadline, "standby did not move to go2:\n{}", screen.text());
        std::thread::sleep(Duration::from_millis(50));
    }
    screen.keys("Space");
    // (Cue numbers have a column of their own: "PLAYING   go2" beside "PLAYING 5 hit".)
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = screen.text();
        if row(&text, "go2").contains("PLAYING") {
            break text;
        }
        assert!(Instant::now() < deadline, "GO never played go2:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!row(&text, "go1").contains("PLAYING"), "GO fired the standby cue, not the first:\n{text}");
}

#[test]
fn devices_lists_the_outputs_and_the_midi_inputs_a_player_can_name() {
    let _jack = one_at_a_time();
    let server = server();
    let sender = MidiSender::start();
    let out = Command::new(env!("CARGO_BIN_EXE_segue"))
        .arg("devices")
        .env("JACK_DEFAULT_SERVER", server)
        .env("JACK_NO_START_SERVER", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("JACK") && text.contains("channels"), "the JACK output with its channels:\n{text}");
    assert!(text.contains("MIDI inputs"), "{text}");
    assert!(text.contains(&format!("jack:{}", sender.port)), "this test's MIDI port, as --midi takes it:\n{text}");
    // No ALSA sequencer on a machine without sound hardware: said, not a failure.
    assert!(text.contains("ALSA:"), "{text}");
}

#[test]
fn a_midi_input_that_goes_away_and_comes_back_is_listened_to_again() {
    let _jack = one_at_a_time();
    server();
    let sender = MidiSender::start();
    let port = sender.port.clone();
    let show = midi_show("live-midi-back");
    let mut player = Player::start(server(), &show, &["--autoplay", "--midi", &format!("jack:{port}")]);
    player.wait_for(|v| v["event"] == "midi" && v["text"].as_str().unwrap_or("").contains("listening"), "MIDI in");
    // Unplugged: said.
    drop(sender);
    player.wait_for(
        |v| v["event"] == "problem" && v["text"].as_str().unwrap_or("").contains("went away"),
        "the input going away to be reported",
    );
    // Back under the same name: listened to again, and its notes play.
    let sender = MidiSender::start();
    assert_eq!(sender.port, port);
    player
        .wait_for(|v| v["event"] == "midi" && v["text"].as_str().unwrap_or("").contains("listening"), "MIDI in again");
    sender.send_at(sender.now() + RATE / 10, &[0x90, 60, 100]);
    player.wait_for(|v| v["event"] == "cue_started" && v["cue"] == "hit", "the note after the return");
}

#[test]
fn reload_without_watch_checks_the_file_off_the_loop_and_loads_it() {
    let _jack = one_at_a_time();
    let show = go_show("live-reload");
    let mut player = Player::start(server(), &show, &["--autoplay"]);
    let mut json: Value = serde_json::from_str(&std::fs::read_to_string(&show).unwrap()).unwrap();
    let mut broken = json.clone();
    broken["scenes"][0]["cues"][0]["pan"] = serde_json::json!(3);
    std::fs::write(&show, broken.to_string()).unwrap();
    assert_eq!(player.osc("/segue/reload", vec![]), "ok");
    let invalid = player.wait_for(|v| v["event"] == "show_invalid", "the broken file to be listed");
    assert!(invalid["problems"].to_string().contains("scenes[0].cues[0].pan"), "{invalid}");
    json["scenes"][0]["cues"][0]["id"] = serde_json::json!("hit9");
    std::fs::write(&show, json.to_string()).unwrap();
    assert_eq!(player.osc("/segue/reload", vec![]), "ok");
    player.wait_for(|v| v["event"] == "show_reloaded", "the good file to load, playing or not");
    assert_eq!(player.osc("/segue/cue/hit9/start", vec![]), "ok");
}

#[test]
fn the_cue_sheet_of_a_played_run_from_its_log_equals_the_sheet_of_the_render() {
    let _jack = one_at_a_time();
    let dir = scratch("live-cuesheet");
    let bed = sine_file(&dir, "bed.wav", RATE, 220.0, 0.1, 1.5, 0.0);
    let song = sine_file(&dir, "song.wav", RATE, 880.0, 0.4, 0.8, 0.0);
    let sting = sine_file(&dir, "sting.wav", RATE, 660.0, 0.4, 0.5, 0.0);
    show_file(
        &dir,
        serde_json::json!({
            "format": "segue-show/1",
            "end": 2.5,
            "panic_ms": 300,
            "production": { "title": "Logged", "frame_rate": "25", "start_timecode": "01:00:00:00" },
            "scenes": [{ "id": "s", "at": 0, "bed": { "file": bed, "title": "Bed" }, "cues": [
                { "id": "song", "file": song, "at": 0.4, "fade_out_ms": 200, "title": "Song",
                  "writers": [{ "name": "W", "role": "C", "share": 100 }] },
                { "id": "sting", "file": sting, "follow": { "after": "song", "wait_ms": 100 }, "title": "Sting" }
            ]}]
        }),
    );
    let show = dir.join("show.json");
    let journal = dir.join("run.journal.json");
    let arg = journal.display().to_string();
    let mut player = Player::start(server(), &show, &["--autoplay", "--journal", &arg]);
    // The end's fade takes the bed out; its stretch is logged when it ends.
    player.wait_for(|v| v["event"] == "heard" && v["use"] == "s/bed", "the bed's stretch");
    drop(player);
    let sheet = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_segue")).arg("cuesheet").arg(&show).args(extra).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let log = dir.join("run.play.log").display().to_string();
    let rendered = sheet(&[]);
    let played = sheet(&["--from-log", &log]);
    assert!(rendered.contains("01:00:00:00") && rendered.lines().filter(|l| l.contains(",Song,")).count() == 1);
    assert_eq!(played, rendered, "the sheet of what the run played is the render's");
}

/// A bundle of `/segue/level/master 0` messages filling one UDP datagram (about 1,800).
fn level_bundle() -> (Vec<u8>, usize) {
    let msg = rosc::OscPacket::Message(rosc::OscMessage {
        addr: "/segue/level/master".into(),
        args: vec![rosc::OscType::Float(0.0)],
    });
    let one = rosc::encoder::encode(&msg).unwrap().len() + 4;
    let n = (65_000 - 16) / one;
    let bundle = rosc::OscPacket::Bundle(rosc::OscBundle {
        timetag: rosc::OscTime { seconds: 0, fractional: 1 },
        content: vec![msg; n],
    });
    (rosc::encoder::encode(&bundle).unwrap(), n)
}

#[test]
fn a_flood_of_100000_osc_commands_is_counted_once_a_second_and_a_panic_after_it_still_lands() {
    let _jack = one_at_a_time();
    let dir = scratch("live-flood");
    let bed = sine_file(&dir, "bed.wav", RATE, 200.0, 0.1, 2.0, 0.0);
    show_file(
        &dir,
        serde_json::json!({ "format": "segue-show/1", "panic_ms": 200,
                "scenes": [{ "id": "s", "at": 0, "bed": { "file": bed, "loop": true },
                             "transition": { "fade_ms": 0 } }] }),
    );
    let mut player = Player::start(server(), &dir.join("show.json"), &["--autoplay"]);
    let rec = Recorder::start(&player.ports()[0]);
    player.wait_for(|v| v["event"] == "scene_entered", "the show to start");
    std::thread::sleep(Duration::from_millis(500));
    // 100,000 commands in bundles of one datagram each, from a socket of their own (whose
    // replies nobody reads), within half a second: 8 ms apart, so the kernel's receive buffer
    // (a few datagrams this size) does not drop them before the player reads them.
    let (bundle, per_bundle) = level_bundle();
    let flood = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let bundles = 100_000usize.div_ceil(per_bundle);
    let started = rec.now();
    let sending = Instant::now();
    for _ in 0..bundles {
        flood.send_to(&bundle, player.to).unwrap();
        std::thread::sleep(Duration::from_millis(8));
    }
    let sent_in = sending.elapsed();
    eprintln!("{} commands in {bundles} datagrams sent in {sent_in:?}", bundles * per_bundle);
    assert!(sent_in < Duration::from_secs(1), "the flood went out within a second ({sent_in:?})");
    // The panic right behind it is carried out: the player answers it and everything fades.
    let panic_sent = rec.now();
    assert_eq!(player.osc("/segue/panic", vec![]), "ok");
    std::thread::sleep(Duration::from_millis(600));
    let state: Value = serde_json::from_str(&player.osc("/segue/state", vec![])).unwrap();
    let refused = &state["remote"]["refused"];
    let (queue_full, engine_full) = (refused["queue_full"].as_u64().unwrap(), refused["engine_full"].as_u64().unwrap());
    eprintln!("refused: {queue_full} by the player's queue, {engine_full} by the engine's; {}", state["remote"]);
    // Every command reached the player; one datagram holds more than may wait, so the queue
    // turned some away.
    let received = state["remote"]["osc"]["received"].as_u64().unwrap();
    assert!(received >= (bundles * per_bundle) as u64, "{received} received: {state}");
    assert!(queue_full > 0, "{state}");
    // Said once a second, not once per command: the refusals so far are in one or two lines.
    let mut said = 0;
    let mut lines = 0;
    while let Ok(v) = player.lines.recv_timeout(Duration::from_millis(1500)) {
        let text = v["text"].as_str().unwrap_or_default();
        if v["event"] == "problem" && text.contains("commands refused") {
            lines += 1;
            said += text.split_whitespace().next().unwrap().parse::<u64>().unwrap();
        }
    }
    assert!((1..=3).contains(&lines), "{lines} lines about refused commands");
    assert_eq!(said, queue_full, "the lines add up to the count in the state");
    let (first, heard) = rec.take();
    let at = |frame: u32| frame.wrapping_sub(first) as f64 / RATE as f64;
    // The bed plays on through the flood at its level (0.1 = -20 dB). 0.5 dB: the windows'
    // edges, and up to three 256-frame cycles a non-real-time JACK dummy may lose on two cores
    // this busy (-0.3 dB in 0.4 s); a bed stopped or set to another level is far outside it.
    for (from, to) in [(at(started) - 0.25, at(started)), (at(started), at(panic_sent))] {
        let level = level_db(&heard, RATE, 200.0, from, to.max(from + 0.05));
        assert!((level - db(0.1)).abs() < 0.5, "the bed from {from:.2} to {to:.2} s: {level:.2} dB");
    }
    // The panic's 200 ms fade, a buffer and the reply's way later there is nothing left.
    let quiet = at(panic_sent) + 0.3;
    let after = level_db(&heard, RATE, 200.0, quiet, quiet + 0.2);
    assert!(after < -80.0, "the bed 300 ms after the panic: {after:.1} dB");
}

#[test]
fn a_full_disk_under_the_journal_is_reported_once_the_show_plays_on_and_writing_resumes() {
    let _jack = one_at_a_time();
    let dir = scratch("live-full-disk");
    let bed = sine_file(&dir, "bed.wav", RATE, 200.0, 0.1, 2.0, 0.0);
    show_file(
        &dir,
        serde_json::json!({ "format": "segue-show/1",
                            "scenes": [{ "id": "s", "at": 0, "bed": { "file": bed, "loop": true },
                             "transition": { "fade_ms": 0 } }] }),
    );
    // The journal and the performance log on a 64 KB disk of the player's own: a tmpfs in a
    // mount namespace of its own (the player is root there, as this test is).
    let disk = dir.join("disk");
    std::fs::create_dir_all(&disk).unwrap();
    let journal = disk.join("ep.journal.json");
    let port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let script = format!("mount -t tmpfs -o size=64k segue-test {} && exec \"$0\" \"$@\"", disk.display());
    let mut child = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script, env!("CARGO_BIN_EXE_segue"), "play"])
        .arg(dir.join("show.json"))
        .args(["--headless", "--autoplay", "--backend", "jack", "--osc", &format!("127.0.0.1:{port}")])
        .args(["--jack-name", &format!("segue-t{port}")])
        .arg("--journal")
        .arg(&journal)
        .env("JACK_DEFAULT_SERVER", server())
        .env("JACK_NO_START_SERVER", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("unshare (util-linux) runs the player in a mount namespace of its own");
    let lines = read_lines(child.stdout.take().unwrap());
    let osc = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    osc.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let jack_name = format!("segue-t{port}");
    let mut player = Player { child, jack_name, lines, osc, to: format!("127.0.0.1:{port}").parse().unwrap() };
    player.wait_for(|v| v["event"] == "ready", "the player to be ready");
    let rec = Recorder::start(&player.ports()[0]);
    std::thread::sleep(Duration::from_millis(300));
    // The player's disk, as the player sees it (its mount namespace, through /proc).
    let inside =
        Path::new("/proc").join(player.child.id().to_string()).join("root").join(disk.strip_prefix("/").unwrap());
    let journal_inside = inside.join("ep.journal.json");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !journal_inside.exists() {
        assert!(Instant::now() < deadline, "the journal was written on the small disk");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The disk fills up (another program's file takes every byte left).
    let filler = inside.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 4096];
        while f.write_all(&block).and_then(|_| f.flush()).is_ok() {}
    }
    let full = rec.now();
    let problem = player.wait_for(
        |v| v["event"] == "problem" && v["text"].as_str().is_some_and(|t| t.contains("ep.journal.json")),
        "the full disk to be reported",
    );
    let text = problem["text"].as_str().unwrap();
    assert!(text.contains("No space left on device") && text.contains("the show goes on"), "{text}");
    // Reported once, not twice a second: nothing more about the journal while the disk is full.
    std::thread::sleep(Duration::from_millis(1500));
    let said_again: Vec<Value> =
        player.lines.try_iter().filter(|v| v.to_string().contains("ep.journal.json")).collect();
    assert!(said_again.is_empty(), "reported again: {said_again:?}");
    // Room again: the journal is written again, and says so, with where the show is now.
    std::fs::remove_file(&filler).unwrap();
    player.wait_for(
        |v| v["text"].as_str().is_some_and(|t| t.contains("ep.journal.json is written again")),
        "writing to resume",
    );
    let freed = rec.now();
    std::thread::sleep(Duration::from_millis(700));
    let state: Value = serde_json::from_str(&player.osc("/segue/state", vec![])).unwrap();
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&journal_inside).unwrap()).unwrap();
    let at = state["position"].as_f64().unwrap();
    // Rewritten twice a second again: within half a second of where the show is.
    assert!((kept["position"].as_f64().unwrap() - at).abs() < 0.6, "journal {kept} vs state {state}");
    // The bed sounded all along, at its level (0.1 = -20 dB; 0.2 dB: the window's edges).
    let (first, heard) = rec.take();
    let secs = |frame: u32| frame.wrapping_sub(first) as f64 / RATE as f64;
    eprintln!(
        "recorded {:.2} s; full at {:.2} s, freed at {:.2} s",
        heard.len() as f64 / RATE as f64,
        secs(full),
        secs(freed)
    );
    let level = level_db(&heard, RATE, 200.0, secs(full), secs(freed));
    assert!((level - db(0.1)).abs() < 0.2, "the bed while the disk was full: {level:.2} dB");
    // No dropout: the sine is exactly 0 only at single frames where it crosses. At most one
    // cycle may be missing: the JACK dummy server runs without real-time priority, and a loaded
    // machine can make the test's own recorder miss one (which it fills with silence).
    let window = &heard[(secs(full) * RATE as f64) as usize..(secs(freed) * RATE as f64) as usize];
    let gaps: Vec<usize> = window.split(|s| *s != 0.0).map(|run| run.len()).filter(|&n| n > 1).collect();
    assert!(gaps.len() <= 1 && gaps.iter().all(|&n| n <= PERIOD), "silent stretches while the disk was full: {gaps:?}");
}

#[test]
fn a_script_that_stops_reading_stdout_never_holds_up_go_or_panic() {
    let _jack = one_at_a_time();
    let show = go_show_with("live-unread", 2.0);
    let player = Player::start_unread(server(), &show, &["--autoplay"]);
    let rec = Recorder::start(&player.ports()[0]);
    // Each state asked for is a line of about 1 KB on stdout: 6000 of them fill the pipe (64 KB)
    // and the 4096 lines that may wait for the reader many times over. Sent in bursts the
    // player's queue takes whole, so none is refused before it is carried out.
    for _ in 0..12 {
        for _ in 0..500 {
            player.send("/segue/state", vec![]);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let the loop catch up, then drop the replies the flood left on this socket.
    std::thread::sleep(Duration::from_millis(500));
    player.osc.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 65_536];
    while player.osc.recv_from(&mut buf).is_ok() {}
    player.osc.set_nonblocking(false).unwrap();
    // GO is carried out and answered at once: the loop was never stuck writing stdout.
    let sent = rec.now();
    let asked = Instant::now();
    assert_eq!(player.osc("/segue/go", vec![]), "ok");
    eprintln!("GO answered {:.1} ms after it was sent, stdout unread", asked.elapsed().as_secs_f64() * 1000.0);
    std::thread::sleep(Duration::from_millis(500));
    let state: Value = serde_json::from_str(&player.osc("/segue/state", vec![])).unwrap();
    let dropped = state["counts"]["reports_dropped"].as_u64().unwrap();
    assert!(dropped > 1000, "the lines the reader did not take are counted: {dropped}");
    assert_eq!(state["cues"][0]["cue"], "hit", "{state}");
    assert_eq!(player.osc("/segue/panic", vec![]), "ok");
    std::thread::sleep(Duration::from_millis(400));
    let (first, heard) = rec.take();
    let sent_at = sent.wrapping_sub(first) as usize;
    // The cue sounds one buffer after its GO as always (the bound of the OSC GO test), and
    // the panic fades it (200 ms) well before the recording ends.
    let onset = onset_after(&heard, sent_at, 0.15).expect("the cue sounds") - sent_at;
    assert!(onset <= 2 * PERIOD + 72, "the cue started {onset} frames after the GO was sent");
    let end = heard.len() as f64 / RATE as f64;
    assert!(level_db(&heard, RATE, 1000.0, end - 0.15, end) < -80.0, "the cue after the panic");
}

#[test]
fn a_headless_player_with_stdin_at_its_end_and_no_remote_sleeps_between_turns() {
    let _jack = one_at_a_time();
    let show = go_show("live-stdin-closed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_segue"))
        .arg("play")
        .arg(&show)
        .args(["--headless", "--backend", "jack", "--osc", "off"])
        .env("JACK_DEFAULT_SERVER", server())
        .env("JACK_NO_START_SERVER", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // CPU time (user + system, in clock ticks of 10 ms) over the next two seconds.
    let ticks = |pid: u32| -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    };
    let before = ticks(child.id());
    std::thread::sleep(Duration::from_millis(2000));
    let used = ticks(child.id()) - before;
    let _ = child.kill();
    let _ = child.wait();
    // A loop woken at once every turn spins a whole core (200 ticks in 2 s); playing nothing
    // takes a few. 50 ticks (a quarter of a core) leaves room for a loaded machine.
    assert!(used < 50, "the player used {used} ticks of CPU in 2 s with nothing to do");
}

#[test]
fn a_show_with_one_missing_file_opens_marks_it_broken_refuses_it_in_words_and_plays_the_rest() {
    let _jack = one_at_a_time();
    let dir = scratch("live-broken");
    let bed = sine_file(&dir, "bed.wav", RATE, 200.0, 0.1, 4.0, 0.0);
    let hit = sine_file(&dir, "hit.wav", RATE, 1000.0, 0.5, 1.0, std::f64::consts::FRAC_PI_2);
    let show = serde_json::json!({
        "format": "segue-show/1",
        "scenes": [{ "id": "s", "at": 0, "bed": { "file": bed }, "transition": { "fade_ms": 0 },
                     "cues": [{ "id": "temp", "file": "temp-track.wav" },
                              { "id": "hit", "file": hit, "duck_db": 0 }] }]
    });
    std::fs::write(dir.join("show.json"), show.to_string()).unwrap();
    let path = dir.join("show.json");
    // --strict: today's refusal, naming the file and where the show uses it.
    let strict = Command::new(env!("CARGO_BIN_EXE_segue"))
        .arg("play")
        .arg(&path)
        .args(["--headless", "--backend", "jack", "--osc", "off", "--strict"])
        .env("JACK_DEFAULT_SERVER", server())
        .env("JACK_NO_START_SERVER", "1")
        .output()
        .unwrap();
    assert!(!strict.status.success());
    let said = String::from_utf8_lossy(&strict.stderr);
    assert!(said.contains("scenes[0].cues[0].file") && said.contains("temp-track.wav"), "{said}");

    let mut player = Player::start(server(), &path, &["--autoplay"]);
    let problem = player.wait_for(
        |v| v["event"] == "problem" && v["text"].as_str().is_some_and(|t| t.contains("will not sound")),
        "the broken cue said",
    );
    let text = problem["text"].as_str().unwrap();
    assert!(text.starts_with("temp will not sound: scenes[0].cues[0].file: "), "{text}");
    assert!(text.contains("temp-track.wav: audio file not found; everything else plays"), "{text}");
    let rec = Recorder::start(&player.ports()[0]);
    let state: Value = serde_json::from_str(&player.osc("/segue/state", vec![])).unwrap();
    assert_eq!(state["broken"][0]["use"], "temp", "{state}");
    assert_eq!(state["standby"], "temp");
    // GO on it: refused in words; the cue after it fires.
    let refused = player.osc("/segue/go", vec![]);
    assert!(refused.starts_with("error: cue \"temp\" cannot play: scenes[0].cues[0].file: "), "{refused}");
    assert!(refused.ends_with("temp-track.wav: audio file not found"), "{refused}");
    // The operator stands the next cue by and GOes: it plays.
    assert_eq!(player.osc("/segue/cue/hit/standby", vec![]), "ok");
    std::thread::sleep(Duration::from_millis(300));
    let start = rec.len();
    assert_eq!(player.osc("/segue/go", vec![]), "ok");
    std::thread::sleep(Duration::from_millis(600));
    let (_, heard) = rec.take();
    // The rest plays: the hit's 1 kHz at 0.5 over the bed's 0.1.
    assert!(heard[start..].iter().any(|s| s.abs() > 0.45), "the hit sounded");
    assert!(heard[..start].iter().take(RATE as usize).any(|s| s.abs() > 0.05), "the bed sounded");
    let state: Value = serde_json::from_str(&player.osc("/segue/state", vec![])).unwrap();
    assert_eq!(state["bed"], "bed.wav", "the playing bed, by its file when it has no title: {state}");
    // A level past the loudest is refused in words; the level stays.
    let refused = player.osc("/segue/level/master", vec![rosc::OscType::Float(30.0)]);
    assert!(refused.starts_with("error: 30 dB refused, the level stays"), "{refused}");
    // With nothing left to stand by, GO says so in words, as the console does.
    assert_eq!(
        player.osc("/segue/go", vec![]),
        "error: nothing stands by: GO has no cue to fire (choose one to stand by)"
    );
}

/// Events name the moment on the show, not the time since the player opened: with the show
/// located to 00:10 and playing, a GO'd cue's event says `position` 10 s and some, its picture
/// `timecode` (25 fps from 01:00:00:00), and words that begin with both; `frame` is the
/// engine's, which had run for far less than 10 s of show.
#[test]
fn events_name_the_show_position_and_timecode_not_the_players_own_time() {
    let _jack = one_at_a_time();
    let dir = scratch("live-event-times");
    let bed = sine_file(&dir, "bed.wav", RATE, 200.0, 0.1, 2.0, 0.0);
    let hit = sine_file(&dir, "hit.wav", RATE, 1000.0, 0.5, 0.5, 0.0);
    show_file(
        &dir,
        serde_json::json!({
            "format": "segue-show/1",
            "production": { "frame_rate": "25", "start_timecode": "01:00:00:00" },
            "scenes": [
                { "id": "a", "at": 0, "bed": { "file": bed, "loop": true } },
                { "id": "b", "at": 10, "bed": { "file": bed, "loop": true }, "cues": [{ "id": "hit", "file": hit }] }
            ]
        }),
    );
    let mut player = Player::start(server(), &dir.join("show.json"), &[]);
    assert_eq!(player.osc("/segue/transport/locate", vec![rosc::OscType::String("01:00:10:00".into())]), "ok");
    assert_eq!(player.osc("/segue/transport/play", vec![]), "ok");
    player.wait_for(|v| v["event"] == "located" && v["scene"] == "b", "play from the locate, in scene b");
    assert_eq!(player.osc("/segue/go", vec![]), "ok");
    let started = player.wait_for(|v| v["event"] == "cue_started", "the GO'd cue");
    let position = started["position"].as_f64().expect("a position");
    // Played from 10 s; the GO came within a second or two of play (a loaded machine).
    assert!((10.0..13.0).contains(&position), "show position {position}: {started}");
    let tc = started["timecode"].as_str().expect("a timecode");
    assert!(tc.starts_with("01:00:1"), "{tc}");
    let text = started["text"].as_str().unwrap();
    assert!(text.starts_with("00:1") && text.contains(&format!("({tc})")), "{text}");
    let frame = started["frame"].as_u64().expect("the engine frame");
    assert!(frame < position as u64 * RATE as u64, "the engine's own frame is kept apart: {frame}");
}

/// Reloading the show while the timeline plays and a long cue sounds over the bed, first
/// unchanged, then with a change elsewhere (a cue added, the bed's gain): the cue and the bed
/// play on through both reloads without a gap, a click or a late start (before, each reload
/// stopped everything and started it again from the disk: two underruns a reload on a loaded
/// machine), and the new bed gain comes in smoothed. Measured on the recording in 10 ms
/// windows.
#[test]
fn a_reload_while_cues_play_keeps_them_sounding_without_a_gap() {
    let _jack = one_at_a_time();
    let dir = scratch("live-reload-playing");
    let bed = sine_file(&dir, "bed.wav", RATE, 200.0, 0.1, 1.0, 0.0);
    let song = sine_file(&dir, "song.wav", RATE, 1000.0, 0.4, 8.0, 0.0);
    let sting = sine_file(&dir, "sting.wav", RATE, 3000.0, 0.3, 0.5, 0.0);
    let json = serde_json::json!({
        "format": "segue-show/1",
        "scenes": [{ "id": "s", "at": 0, "bed": { "file": bed, "loop": true }, "transition": { "fade_ms": 0 },
            "cues": [{ "id": "song", "file": song, "at": 0.2, "duck_db": 0 }] }]
    });
    show_file(&dir, json.clone());
    let show = dir.join("show.json");
    let mut player = Player::start(server(), &show, &["--autoplay"]);
    let rec = Recorder::start(&player.ports()[0]);
    player.wait_for(|v| v["event"] == "cue_started" && v["cue"] == "song", "the song");
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(player.osc("/segue/reload", vec![]), "ok");
    player.wait_for(|v| v["event"] == "show_reloaded", "the unchanged show to load");
    std::thread::sleep(Duration::from_millis(1000));
    let mut changed = json.clone();
    changed["scenes"][0]["cues"].as_array_mut().unwrap().push(serde_json::json!({ "id": "sting", "file": sting }));
    changed["scenes"][0]["bed"]["gain_db"] = serde_json::json!(-6);
    std::fs::write(&show, changed.to_string()).unwrap();
    assert_eq!(player.osc("/segue/reload", vec![]), "ok");
    player.wait_for(|v| v["event"] == "show_reloaded", "the changed show to load");
    std::thread::sleep(Duration::from_millis(1000));
    let mut said = Vec::new();
    while let Ok(line) = player.lines.try_recv() {
        said.push(line);
    }
    let (first, heard) = rec.take();
    let _ = first;
    let starved: Vec<&Value> = said.iter().filter(|v| v["event"] == "underrun" || v["event"] == "late_start").collect();
    assert!(starved.is_empty(), "nothing starved: {starved:?}");
    // From the song's start (the first loud frame) to the end of the recording: every 10 ms
    // window has the song at its level (0.5 dB: a window's edges), so no stop, gap or restart.
    let start = onset_after(&heard, 0, 0.2).expect("the song sounds") + RATE as usize / 50;
    let end = heard.len() - RATE as usize / 50;
    let window = RATE as usize / 100;
    let mut k = start;
    while k + window < end {
        let at = k as f64 / RATE as f64;
        let song = level_db(&heard, RATE, 1000.0, at, at + 0.01);
        assert!((song - db(0.4)).abs() < 0.5, "the song at {song:.1} dB at {at:.2} s");
        k += window;
    }
    // The bed went on, now 6 dB down: at its new level at the end, and no click on the way
    // (the largest second difference stays that of the two sines).
    let secs = heard.len() as f64 / RATE as f64;
    let bed_now = level_db(&heard, RATE, 200.0, secs - 0.5, secs - 0.05);
    assert!((bed_now - (db(0.1) - 6.0)).abs() < 0.3, "the bed at {bed_now:.1} dB after the change");
    let smooth = max_second_difference(&heard[start..end]);
    // A 1 kHz sine at 0.4 and a 200 Hz one at 0.1: at most 0.4·(2π·1000/48000)² + 0.1·(...)² ≈ 0.0069.
    assert!(smooth < 0.01, "a click: second difference {smooth}");
}

/// The console on a wide terminal (200×50) with a show for picture: the header shows picture
/// timecode (`t`: show time) and counts down to the next scene; cue numbers stand beside
/// whole long names; after the show played and Home, the scene and every cue are as at the top
/// again (ready, not done).
#[test]
fn the_console_shows_timecode_countdowns_whole_names_and_the_top_again_after_home() {
    let _jack = one_at_a_time();
    let dir = scratch("live-console-wide");
    let bed = sine_file(&dir, "bed.wav", RATE, 200.0, 0.1, 2.0, 0.0);
    let hit = sine_file(&dir, "hit.wav", RATE, 1000.0, 0.3, 0.3, 0.0);
    let long = "The main title theme, extended version for the opening credits";
    show_file(
        &dir,
        serde_json::json!({
            "format": "segue-show/1",
            "production": { "frame_rate": "25", "start_timecode": "01:00:00:00" },
            "scenes": [{ "id": "open", "at": 1.0, "bed": { "file": bed, "loop": true },
                "cues": [
                    { "id": "title", "name": long, "number": "1M1", "file": hit, "at": 0.5 },
                    { "id": "go", "number": "1M2", "file": hit }
                ] }]
        }),
    );
    let screen = Screen::start_sized(&dir.join("show.json"), 200, 50);
    let text = screen.wait_for("TC 01:00:00:00");
    assert!(text.contains("next scene open in 0:01.0"), "the countdown to the first scene:\n{text}");
    let row = |text: &str, what: &str| text.lines().find(|l| l.contains(what)).unwrap_or_default().to_string();
    let title = row(&text, "1M1");
    assert!(title.contains(long), "the whole name beside its number:\n{title}");
    screen.keys("t");
    screen.wait_for("00:00:00.000");
    screen.keys("t");
    screen.wait_for("TC 01:00:00:00");
    // Play: the scene comes, the timed cue plays and is done.
    screen.keys("Enter");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !row(&screen.text(), "1M1").contains("done") {
        assert!(Instant::now() < deadline, "the timed cue never played:\n{}", screen.text());
        std::thread::sleep(Duration::from_millis(50));
    }
    // Stop, then Home: the top of the show as it was.
    screen.keys("Enter");
    screen.wait_for("stopped");
    screen.keys("Home");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = screen.text();
        let top = text.contains("TC 01:00:00:00") && text.contains("scene -") && row(&text, "1M1").contains("ready");
        if top && text.contains("next scene open in 0:01.0") && row(&text, "1M2").contains("GO>") {
            break;
        }
        assert!(Instant::now() < deadline, "after Home the console is not at the top:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The player's JACK ports have names that stay the same from one start to the next
/// (`--jack-name`): `NAME_out:out_N`, also known by what they carry (`NAME:main_l`, `NAME:bed_r`,
/// `NAME:ltc`, as the patch has them); `--connect` connects them where it says at start (here to
/// this test's recorder, instead of the system's playback ports), and the tone arrives there.
/// A name the player does not have is said, in words, and the rest is connected.
#[test]
fn jack_ports_keep_their_names_across_starts_and_connect_where_asked() {
    let _jack = one_at_a_time();
    let show = go_show("live-jack-names");
    let server = server();
    let rec = Recorder::start_unconnected();
    let target = rec.port.clone();
    for start in 0..2 {
        let connect = format!("main_l={target},nothing=system:playback_1");
        let mut player = Player::start(
            server,
            &show,
            &["--autoplay", "--jack-name", "stage-left", "--patch", "main=1-2,bed=3-4,ltc=5", "--connect", &connect],
        );
        let problem = player.wait_for(
            |v| v["event"] == "problem" && v["text"].as_str().is_some_and(|t| t.contains("--connect")),
            "the unknown port name to be said",
        );
        let text = problem["text"].as_str().unwrap_or_default();
        assert!(text.contains("--connect nothing") && text.contains("main_l, main_r, bed_l, bed_r, ltc"), "{text}");
        let lsp = Command::new("jack_lsp").args(["-A", "-c"]).env("JACK_DEFAULT_SERVER", server).output().unwrap();
        let lsp = String::from_utf8_lossy(&lsp.stdout).into_owned();
        for (port, alias) in
            [("out_0", "main_l"), ("out_1", "main_r"), ("out_2", "bed_l"), ("out_3", "bed_r"), ("out_4", "ltc")]
        {
            // The port's own line (not a connection to it, which is indented under another).
            let at = lsp
                .find(&format!("\nstage-left_out:{port}\n"))
                .unwrap_or_else(|| panic!("start {start}: no {port}:\n{lsp}"))
                + 1;
            let block: String =
                lsp[at..].lines().skip(1).take_while(|l| l.starts_with(' ')).collect::<Vec<_>>().join("\n");
            assert!(
                block.contains(&format!("stage-left:{alias}")),
                "start {start}: {port} is also stage-left:{alias}:\n{lsp}"
            );
        }
        // Connected where asked, and not to the system's playback ports.
        let main_l = &lsp[lsp.find("\nstage-left_out:out_0\n").unwrap() + 1..];
        let block: Vec<&str> = main_l.lines().skip(1).take_while(|l| l.starts_with(' ')).collect();
        assert!(block.iter().any(|l| l.trim() == target), "start {start}: main_l goes to the recorder: {block:?}");
        assert!(!block.iter().any(|l| l.contains("system:playback")), "start {start}: {block:?}");
        // A second player under the same name is refused, with what to do (JACK would have
        // named it stage-left_out-01, and the routing would have been the first one's).
        let second = Command::new(env!("CARGO_BIN_EXE_segue"))
            .arg("play")
            .arg(&show)
            .args(["--headless", "--backend", "jack", "--osc", "off", "--jack-name", "stage-left"])
            .env("JACK_DEFAULT_SERVER", server)
            .env("JACK_NO_START_SERVER", "1")
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&second.stderr);
        assert!(second.status.code() == Some(2) && said.contains("stage-left_out is taken"), "{said}");
        // What the recorder hears: the bed (200 Hz at 0.1), through the connection --connect
        // made (its loudest 100 ms of the last half second: the bed sounds throughout).
        std::thread::sleep(Duration::from_millis(500));
        let (_, heard) = rec.take();
        let secs = heard.len() as f64 / RATE as f64;
        let loudest = (1..5).map(|k| level_db(&heard, RATE, 200.0, secs - 0.1 * (k + 1) as f64, secs - 0.1 * k as f64));
        let loudest = loudest.fold(f64::MIN, f64::max);
        assert!((loudest - db(0.1)).abs() < 0.5, "start {start}: the bed at {loudest:.1} dB through --connect");
        drop(player);
    }
}
