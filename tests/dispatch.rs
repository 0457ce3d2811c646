//! The one dispatcher (`control::dispatch`): a command sounds the same whichever front end it
//! came from, on the frame its front end's stage schedules it; the GO guard, levels, standby and
//! the transport are carried out and refused in one place; the state every display shows
//! (`control::snapshot`) counts time played and left from the same clock. Driven with a real
//! engine and loader, block by block, measuring what sounds.

mod common;

use std::f64::consts::FRAC_PI_2;
use std::time::{Duration, Instant};

use common::*;
use segue::control::command::{Command, ReplyTo, Request, Source};
use segue::control::desk::Desk;
use segue::control::dispatch::{Dispatcher, Reply, Stage};
use segue::control::snapshot::CueState;
use segue::control::transport::{own, OwnTransport, TransportControl, TransportSource};
use segue::engine::command::Level;
use segue::engine::Engine;
use serde_json::json;

const RATE: u32 = 48_000;
const BLOCK: usize = 256;
/// Anything above float noise: a de-click ramp's first frame is already 1/240 of 0.5.
const ONSET: f32 = 1e-6;
/// A steady sine's level, measured by the Hann-windowed projection over 100 ms, is within
/// 0.1 dB of its true level.
const ACCURACY_DB: f64 = 0.1;

/// A front end's stage for tests: commands land on a fixed frame; a transport of its own or
/// (like the plugin) none.
struct TestStage {
    land_at: Option<u64>,
    transport: Option<TransportControl>,
    now: u64,
}

impl Stage for TestStage {
    fn schedule(&self, _arrived: Instant) -> Option<u64> {
        self.land_at
    }
    fn now(&self, _desk: &Desk) -> u64 {
        self.now
    }
    fn own_transport(&mut self) -> Option<&mut TransportControl> {
        self.transport.as_mut()
    }
    fn transport(&self) -> (bool, u64) {
        self.transport.as_ref().map_or((false, 0), |t| t.published())
    }
    fn reload(&mut self, _desk: &mut Desk) -> Result<(), String> {
        Err("this stage cannot reload".into())
    }
}

/// Two manual cues (GO order: 500 Hz, then 700 Hz), a timed one at 0 (a bed-like 300 Hz loop
/// that is not fired by GO), 1 s each but the loop.
fn show(name: &str) -> segue::show::ShowFile {
    let dir = scratch(name);
    let tone = |file: &str, freq: f64, secs: f64| sine_file(&dir, file, RATE, freq, 0.5, secs, FRAC_PI_2);
    show_file(
        &dir,
        json!({
            "format": "segue-show/1",
            "scenes": [{ "id": "s", "cues": [
                { "id": "first", "file": tone("first.wav", 500.0, 1.0), "duck_db": 0 },
                { "id": "second", "file": tone("second.wav", 700.0, 1.0), "duck_db": 0 },
                { "id": "timed", "file": tone("timed.wav", 300.0, 1.0), "at": 5.0, "duck_db": 0 }
            ] }]
        }),
    )
}

struct Rig {
    engine: Engine,
    desk: Desk,
    dispatcher: Dispatcher,
}

impl Rig {
    fn new(name: &str, guard: Duration) -> Rig {
        let Live { engine, controller, .. } = Live::new(show(name));
        let (_to_desk, from_audio) = rtrb::RingBuffer::new(16);
        Rig { engine, desk: Desk::new(controller, from_audio), dispatcher: Dispatcher::new(guard) }
    }

    /// Renders `frames` (waiting for the loader as the offline renderer does); the main output's
    /// left channel.
    fn run(&mut self, frames: usize) -> Vec<f32> {
        let [left, _] = run_engine(&mut self.engine, &mut self.desk, frames, BLOCK);
        left
    }

    fn apply(&mut self, stage: &mut TestStage, command: Command, source: Source) -> Reply {
        let request = Request::new(command, "/segue/test", source);
        self.dispatcher.apply(&mut self.desk, stage, &request)
    }
}

fn stage_at(frame: u64) -> TestStage {
    TestStage { land_at: Some(frame), transport: None, now: 0 }
}

#[test]
fn a_go_from_any_front_end_fires_the_standby_cue_on_the_frame_its_stage_schedules() {
    // Inside a block, so the engine must split it at the command.
    let at = 10 * BLOCK as u64 + 37;
    for source in [Source::Key, Source::Osc, Source::OscTcp, Source::Midi, Source::Stdin, Source::Editor] {
        let mut rig = Rig::new("dispatch-go", Duration::ZERO);
        rig.run(BLOCK);
        let reply = rig.apply(&mut stage_at(at), Command::Go, source);
        assert!(matches!(reply, Reply::Ok), "{source:?}: {reply:?}");
        let out = rig.run(RATE as usize / 2);
        let start = onset(&out, 0, ONSET).map(|i| i as u64 + BLOCK as u64);
        assert_eq!(start, Some(at), "{source:?}: the first cue starts on the frame the stage gave");
        let heard = level_db(&out, RATE, 500.0, 0.2, 0.3);
        assert!((heard - db(0.5)).abs() < ACCURACY_DB, "{source:?}: the first GO cue sounds at its level: {heard:.2}");
        assert!(level_db(&out, RATE, 700.0, 0.2, 0.3) < -60.0, "{source:?}: and not the second");
    }
}

#[test]
fn a_second_go_inside_the_guard_is_refused_counted_and_said_and_the_next_cue_stays_silent() {
    let mut rig = Rig::new("dispatch-guard", Duration::from_millis(200));
    rig.run(BLOCK);
    let mut stage = stage_at(BLOCK as u64);
    let first = Request::new(Command::Go, "/segue/go", Source::Osc);
    let mut second = Request::new(Command::Go, "/segue/go", Source::Osc);
    second.arrived = first.arrived + Duration::from_millis(50);
    // The reply goes where the request asked, as a value.
    let (tx, rx) = crossbeam_channel::unbounded();
    second.reply = Some(ReplyTo::new(move |address, reply| tx.send((address.to_string(), reply.text())).unwrap()));
    assert!(matches!(rig.dispatcher.apply(&mut rig.desk, &mut stage, &first), Reply::Ok));
    let reply = rig.dispatcher.apply(&mut rig.desk, &mut stage, &second);
    let Reply::Error(text) = reply else { panic!("the second GO is refused: {reply:?}") };
    assert!(text.contains("GO ignored: within 200 ms"), "{text}");
    let (address, sent) = rx.try_recv().expect("the reply was sent back");
    assert_eq!(address, "/segue/go");
    assert!(sent.starts_with("error: GO ignored"), "{sent}");
    assert_eq!(rig.dispatcher.take_problems(), vec![text], "said once, as a problem");
    assert_eq!(rig.dispatcher.taken().ignored_gos, 1);
    let out = rig.run(RATE as usize / 2);
    assert!(level_db(&out, RATE, 500.0, 0.2, 0.3) > db(0.5) - ACCURACY_DB, "the first GO sounds");
    assert!(level_db(&out, RATE, 700.0, 0.2, 0.3) < -60.0, "the refused GO does not");
}

#[test]
fn standby_moves_go_to_a_go_cue_and_refuses_one_go_does_not_fire() {
    let mut rig = Rig::new("dispatch-standby", Duration::ZERO);
    rig.run(BLOCK);
    let mut stage = stage_at(BLOCK as u64 * 2);
    let Reply::Error(text) = rig.apply(&mut stage, Command::Standby("timed".into()), Source::Key) else {
        panic!("a timed cue cannot stand by")
    };
    assert!(text.contains("\"timed\" is not fired by GO"), "{text}");
    assert!(matches!(rig.apply(&mut stage, Command::Standby("second".into()), Source::Key), Reply::Ok));
    let state = rig.dispatcher.snapshot(&rig.desk, &stage);
    assert_eq!(state.standby_id(), Some("second"));
    assert!(matches!(rig.apply(&mut stage, Command::Go, Source::Key), Reply::Ok));
    let out = rig.run(RATE as usize / 2);
    assert!(level_db(&out, RATE, 700.0, 0.2, 0.3) > db(0.5) - ACCURACY_DB, "GO fires the cue put on standby");
    assert!(level_db(&out, RATE, 500.0, 0.2, 0.3) < -60.0, "not the one that was next before");
}

#[test]
fn a_level_command_is_heard_and_kept_in_the_state() {
    let mut rig = Rig::new("dispatch-level", Duration::ZERO);
    rig.run(BLOCK);
    let mut stage = stage_at(BLOCK as u64);
    rig.apply(&mut stage, Command::Level(Level::Master, -6.0), Source::Osc);
    rig.apply(&mut stage, Command::Go, Source::Osc);
    let out = rig.run(RATE as usize / 2);
    let heard = level_db(&out, RATE, 500.0, 0.2, 0.3);
    assert!((heard - (db(0.5) - 6.0)).abs() < ACCURACY_DB, "6 dB down: {heard:.2}");
    let state = rig.dispatcher.snapshot(&rig.desk, &stage);
    assert_eq!(state.levels, [-6.0, 0.0, 0.0]);
    assert_eq!(state.json()["levels"]["master"], -6.0);
    assert_eq!(state.counts.taken.osc_commands, 2);
}

#[test]
fn the_state_counts_time_played_and_left_from_the_stages_clock() {
    let mut rig = Rig::new("dispatch-state", Duration::ZERO);
    rig.run(BLOCK);
    let mut stage = stage_at(BLOCK as u64);
    rig.apply(&mut stage, Command::Go, Source::Editor);
    rig.run(RATE as usize / 2);
    // The engine frame a quarter second after the cue started (at frame BLOCK).
    stage.now = BLOCK as u64 + RATE as u64 / 4;
    let state = rig.dispatcher.snapshot(&rig.desk, &stage);
    let cue = state.playing_cues().next().expect("the cue plays");
    assert_eq!((cue.id.as_str(), cue.state), ("first", CueState::Playing));
    assert_eq!(cue.played, Some(0.25));
    assert_eq!(cue.left, Some(0.75), "a 1 s cue");
    assert!(cue.level_db.is_some(), "its level is shown while it plays");
    let json = state.json();
    assert_eq!(json["cues"][0]["elapsed"], 0.25);
    assert_eq!(json["cues"][0]["remaining"], 0.75);
    assert_eq!(json["standby"], "second");
    assert_eq!(json["timecode"], "00:00:00:00", "stopped at the top, no production: 00:00:00:00");
}

#[test]
fn play_stop_and_locate_move_a_front_ends_own_transport_and_are_refused_in_words_where_a_host_drives() {
    let mut rig = Rig::new("dispatch-transport", Duration::ZERO);
    // Like the plugin: the host's transport drives the show.
    let mut host = stage_at(0);
    for command in [Command::Play, Command::StopTransport, Command::Locate(segue::control::times::Moment::Show(3.0))] {
        let Reply::Error(text) = rig.apply(&mut host, command.clone(), Source::Editor) else {
            panic!("{command:?} is the host's to do")
        };
        assert!(text.contains("host's transport drives the show"), "{text}");
    }
    // Like the live player: its own.
    let (mut audio, control): (OwnTransport, TransportControl) = own(0);
    let mut player = TestStage { land_at: Some(0), transport: Some(control), now: 0 };
    assert!(matches!(
        rig.apply(&mut player, Command::Locate(segue::control::times::Moment::Show(2.0)), Source::Osc),
        Reply::Ok
    ));
    assert!(matches!(rig.apply(&mut player, Command::Play, Source::Osc), Reply::Ok));
    let Reply::Error(text) = rig.apply(&mut player, Command::Play, Source::Osc) else { panic!("already playing") };
    assert_eq!(text, "the transport is already playing");
    let transport = audio.at_block();
    assert!(transport.playing && transport.position == Some(2 * RATE as u64), "{transport:?}");
    // MSC STOP (no number): every cue fades and the timeline stops.
    assert!(matches!(rig.apply(&mut player, Command::StopShow, Source::Midi), Reply::Ok));
    assert!(!audio.at_block().playing);
}

#[test]
fn a_reloaded_show_keeps_the_standby_cue_for_every_front_end() {
    let mut rig = Rig::new("dispatch-reload", Duration::ZERO);
    rig.run(BLOCK);
    let mut stage = stage_at(BLOCK as u64);
    rig.apply(&mut stage, Command::Standby("second".into()), Source::Editor);
    // The same show saved again (the plugin's Open, the player's reload: both go through the desk).
    rig.desk.load(show("dispatch-reload-2"));
    rig.run(BLOCK);
    assert_eq!(rig.dispatcher.snapshot(&rig.desk, &stage).standby_id(), Some("second"));
    rig.apply(&mut stage, Command::Go, Source::Editor);
    let out = rig.run(RATE as usize / 2);
    assert!(level_db(&out, RATE, 700.0, 0.2, 0.3) > db(0.5) - ACCURACY_DB, "GO fires the kept standby cue");
}
