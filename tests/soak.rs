//! Soak (#8): a show of up to 32 voices at once driven by a random stream of GO, stop, scene,
//! panic, level and locate commands, offline (the engine waits for its loader before each
//! block, as a render does) in blocks of random sizes. It must end with no panic, no underrun
//! or late start, no allocator call inside `Engine::process`, and memory flat.
//!
//! `cargo test --test soak` runs 20 s of show time (what CI runs). `cargo xtask soak [SECONDS]`
//! runs the same for as long as asked (600: the 10-minute soak) and prints the
//! resident memory every 10 s of show time. The second test is the same in real time, on a JACK
//! dummy server, through the live player's audio path (`cargo xtask soak --real-time [SECONDS]`).

mod common;
mod jack_host;

use std::time::Instant;

use nice_assert_no_alloc::{assert_no_alloc, violation_count};
use segue::control::Severity;
use segue::engine::command::{Event, Level};
use segue::engine::{Engine, EngineConfig, Outputs};
use segue::stream::loader::{Loader, LoaderConfig};
use serde_json::json;

const RATE: u32 = 48_000;

/// One soak at a time: each judges memory by the whole process's RSS, which the other's show
/// (its armed beds, its recording) would move. Held for a whole test.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Resident memory of this process now, in MB.
fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// A small xorshift: the same stream of commands for the same seed.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Four scenes, each a looping bed and eight cues (timed, follows and manual ones) of 1 to 4 s,
/// from files at 48 and 44.1 kHz: up to 32 voices sound at once under a run of GOs.
fn soak_show(dir: &std::path::Path) -> segue::show::ShowFile {
    let mut scenes = Vec::new();
    for s in 0..4 {
        let bed = common::sine_file(dir, &format!("bed{s}.wav"), RATE, 110.0 * (s + 1) as f64, 0.2, 6.0, 0.0);
        let mut cues = Vec::new();
        for c in 0..8 {
            let rate = if c % 2 == 0 { 48_000 } else { 44_100 };
            let secs = 1.0 + (c % 4) as f64;
            let file =
                common::sine_file(dir, &format!("cue{s}-{c}.wav"), rate, 300.0 + 50.0 * c as f64, 0.1, secs, 0.0);
            let mut cue = json!({ "id": format!("s{s}c{c}"), "file": file, "fade_out_ms": 50, "duck_db": -6 });
            match c {
                0 | 1 => cue["at"] = json!(0.5 * c as f64),
                2 => cue["follow"] = json!({ "after": format!("s{s}c0"), "wait_ms": 100 }),
                _ => {}
            }
            if c == 7 {
                cue["loop"] = json!(true);
            }
            cues.push(cue);
        }
        scenes.push(json!({
            "id": format!("s{s}"), "at": 20.0 * s as f64,
            "bed": { "file": bed, "loop": true },
            "transition": { "fade_ms": 500 },
            "cues": cues
        }));
    }
    common::show_file(dir, json!({ "format": "segue-show/1", "panic_ms": 300, "scenes": scenes }))
}

#[test]
fn a_long_random_run_of_commands_never_underruns_allocates_or_grows() {
    let _alone = one_at_a_time();
    let secs: u64 = std::env::var("SEGUE_SOAK_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let dir = common::scratch("soak");
    let file = soak_show(&dir);
    let scenes: Vec<String> = file.show.scenes.iter().map(|s| s.id.clone()).collect();
    let cues: Vec<String> = file.show.scenes.iter().flat_map(|s| &s.cues).map(|c| c.id.clone()).collect();
    let (mut engine, control, loader_ends) = Engine::new(EngineConfig::new(RATE));
    let loader = Loader::spawn(LoaderConfig::offline(RATE), loader_ends);
    let mut controller = segue::control::Controller::new(file, RATE, control, loader);
    let _ = controller.enter_scene(&scenes[0], Some(0));

    let mut dice = Dice(0x9E37_79B9_7F4A_7C15);
    let mut bufs: [Vec<f32>; 6] = std::array::from_fn(|_| vec![0.0; 1024]);
    let (total, mut done) = (secs * RATE as u64, 0u64);
    let (mut commands, mut refused, mut blocks) = (0u64, 0u64, 0u64);
    let (mut underruns, mut problems) = (Vec::new(), Vec::new());
    let mut rss = Vec::new();
    let violations_before = violation_count();
    let started = Instant::now();
    let mut peak = 0.0f32;
    while done < total {
        let n = (64 + dice.below(961) as usize).min((total - done) as usize);
        // A command now and then: on average one every 12 blocks (about four a second).
        if dice.below(12) == 0 {
            commands += 1;
            let now = engine.clock();
            let roll = dice.below(20);
            let kind = match roll {
                0..=7 => "go",
                8..=10 => "stop",
                11 | 12 => "scene",
                13 => "panic",
                14..=16 => "level",
                _ => "seek",
            };
            let result = match roll {
                0..=7 => controller.go(None),
                8..=10 => {
                    let cue = &cues[dice.below(cues.len() as u64) as usize];
                    controller.stop_cue(cue, Some(dice.below(500) as f32), None)
                }
                11 | 12 => controller.enter_scene(&scenes[dice.below(4) as usize], None),
                13 => controller.panic(None),
                14..=16 => {
                    let level = [Level::Master, Level::Bed, Level::Cues][dice.below(3) as usize];
                    controller.set_level(level, -(dice.below(24) as f32), None)
                }
                _ => controller.seek(dice.below(80) * RATE as u64, now),
            };
            if std::env::var_os("SEGUE_SOAK_TRACE").is_some() {
                eprintln!("{:.3} {kind} {result:?}", engine.clock() as f64 / RATE as f64);
            }
            if result.is_err() {
                refused += 1;
            }
        }
        // Offline: wait for the loader, as a render does (a file that never comes is a failure).
        engine.poll();
        let waiting = Instant::now();
        while let Some(clip) = engine.waiting_for(n, |c| controller.has_failed(c)) {
            assert!(
                waiting.elapsed().as_secs() < 10,
                "{} never got its audio ({} events or retirements dropped)",
                controller.clip_name(clip),
                controller.meters().dropped_events
            );
            controller.loader().wake();
            std::thread::sleep(std::time::Duration::from_micros(100));
            engine.poll();
            for notice in controller.poll() {
                if notice.severity == Severity::Error {
                    problems.push(notice.text);
                }
            }
        }
        let [ml, mr, bl, br, cl, cr] = &mut bufs;
        assert_no_alloc(|| {
            engine.process(Outputs {
                main: [&mut ml[..n], &mut mr[..n]],
                bed: [&mut bl[..n], &mut br[..n]],
                cues: [&mut cl[..n], &mut cr[..n]],
            })
        });
        peak = ml[..n].iter().chain(&mr[..n]).fold(peak, |p, x| p.max(x.abs()));
        assert!(ml[..n].iter().chain(&mr[..n]).all(|x| x.is_finite()), "a sample that is not a number");
        for notice in controller.poll() {
            if matches!(notice.event, Some(Event::Underrun { .. } | Event::LateStart { .. })) {
                underruns.push(notice.text);
            } else if notice.severity == Severity::Error {
                problems.push(notice.text);
            }
        }
        let before = done / (10 * RATE as u64);
        done += n as u64;
        blocks += 1;
        if done / (10 * RATE as u64) != before || done == total {
            let mb = rss_mb();
            rss.push((done as f64 / RATE as f64, mb));
            println!(
                "soak: {:6.0} s of show, {:7.1} s of wall, RSS {mb:.1} MB",
                done as f64 / RATE as f64,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let violations = violation_count() - violations_before;
    println!(
        "soak: {secs} s of show in {:.1} s: {blocks} blocks, {commands} commands ({refused} refused), peak {:.2}, {violations} allocator calls in process, {} underruns",
        started.elapsed().as_secs_f64(),
        peak,
        underruns.len()
    );
    assert_eq!(violations, 0, "the allocator was called inside process");
    assert!(underruns.is_empty(), "offline, nothing underruns: {underruns:?}");
    assert!(problems.is_empty(), "{problems:?}");
    assert!(commands > secs, "the run was driven: {commands} commands");
    assert!(peak > 0.01, "it sounded");
    // Memory flat: the end holds no more than a quarter of the way in, plus 16 MB (the
    // allocator keeps freed rings for reuse; a leak of a ring per start would be 100s of MB).
    let quarter = rss.iter().find(|(t, _)| *t >= secs as f64 / 4.0).map_or(0.0, |r| r.1);
    let end = rss.last().map_or(0.0, |r| r.1);
    assert!(end <= quarter + 16.0, "memory grew from {quarter:.1} MB to {end:.1} MB: {rss:?}");
}

/// The real-time soak: the live player's audio path (`AudioSide` in a cpal JACK stream, the
/// loader streaming from disk as it does live) on a JACK dummy server of the test's own, with
/// the same random commands (GO, stop, scene, panic, level, locate) from the control thread as
/// the wall clock goes. It must end with no panic, no allocator call in the device callback, no
/// underrun (but in the second after a locate while playing, which lands as the loader reads
/// the new place: a few ms late, reported, by design),
/// the output sounding throughout, and memory flat. JACK's xruns are printed.
///
/// `cargo test --test soak` runs 20 s; `cargo xtask soak --real-time [SECONDS]` runs 180.
#[test]
fn a_real_time_run_on_the_jack_dummy_server_never_allocates_panics_or_grows() {
    use segue::app::audio::{AudioSide, ClockMap, Patch};
    use segue::app::device::{self, DeviceOptions};
    use segue::control::chase::Chase;
    use segue::control::desk::Desk;
    use segue::control::transport::{own, TransportCmd};
    use std::sync::Arc;
    use std::time::Duration;

    let _alone = one_at_a_time();
    let secs: u64 = std::env::var("SEGUE_RT_SOAK_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let name = format!("segue-soak-{}", std::process::id());
    let _jackd = jack_host::private_server(&name, 256);
    // SAFETY: set before any JACK client of this process exists (libjack reads it); the other
    // test of this file opens none.
    unsafe { std::env::set_var("JACK_DEFAULT_SERVER", &name) };
    unsafe { std::env::set_var("JACK_NO_START_SERVER", "1") };

    let dir = common::scratch("soak-live");
    let file = soak_show(&dir);
    let scenes: Vec<String> = file.show.scenes.iter().map(|s| s.id.clone()).collect();
    let cues: Vec<String> = file.show.scenes.iter().flat_map(|s| &s.cues).map(|c| c.id.clone()).collect();
    // The player's own parts, as `segue play` puts them together.
    let (engine, ends, loader_ends) = Engine::new(segue::app::engine_config(RATE));
    let loader = Loader::spawn(LoaderConfig::live(RATE), loader_ends);
    let controller = segue::control::Controller::new(file, RATE, ends, loader);
    let (to_desk, from_audio) = rtrb::RingBuffer::new(256);
    let (commands, mut transport) = own(0);
    let clock = Arc::new(ClockMap::new(RATE));
    let side = AudioSide::new(engine, Chase::new(to_desk), Patch::default(), Box::new(commands), clock.clone());
    let output = device::choose(&DeviceOptions {
        backend: Some("jack".into()),
        sample_rate: Some(RATE),
        channels: 2,
        jack_name: Some(format!("segue-soak-{}", std::process::id())),
        ..Default::default()
    })
    .expect("the JACK dummy server takes the player's output");
    let (back_tx, back) = crossbeam_channel::unbounded();
    let (errors_tx, errors) = crossbeam_channel::unbounded();
    let violations_before = violation_count();
    let stream = output.start(side, back_tx, errors_tx).expect("the output starts");
    let rec = jack_host::Recorder::start(&format!("segue-soak-{}_out:out_0", std::process::id()));
    let mut desk = Desk::new(controller, from_audio);
    transport.send(TransportCmd::Play).unwrap();

    let mut dice = Dice(0x2545_F491_4F6C_DD1D);
    let started = Instant::now();
    let (mut commands_sent, mut refused) = (0u64, 0u64);
    let (mut underruns, mut xruns, mut problems) = (Vec::new(), 0usize, Vec::new());
    let mut rss = Vec::new();
    let mut next_command = Duration::ZERO;
    let (mut last_locate, mut landings) = (None::<Instant>, 0usize);
    let mut next_report = Duration::from_secs(10);
    while started.elapsed() < Duration::from_secs(secs) {
        let now = started.elapsed();
        // A command every 50 to 500 ms (about four a second, as offline).
        if now >= next_command {
            next_command = now + Duration::from_millis(50 + dice.below(450));
            commands_sent += 1;
            let at = clock.frame_at(Instant::now()) + clock.block();
            let c = &mut desk.controller;
            let roll = dice.below(20);
            if std::env::var_os("SEGUE_SOAK_TRACE").is_some() {
                eprintln!("{:.3} command {roll}", started.elapsed().as_secs_f64());
            }
            let result = match roll {
                0..=7 => c.go(Some(at)).map_err(|e| e.to_string()),
                8..=10 => {
                    let cue = &cues[dice.below(cues.len() as u64) as usize];
                    c.stop_cue(cue, Some(dice.below(500) as f32), Some(at)).map_err(|e| e.to_string())
                }
                11 | 12 => c.enter_scene(&scenes[dice.below(4) as usize], Some(at)).map_err(|e| e.to_string()),
                13 => c.panic(Some(at)).map_err(|e| e.to_string()),
                14..=16 => {
                    let level = [Level::Master, Level::Bed, Level::Cues][dice.below(3) as usize];
                    c.set_level(level, -(dice.below(24) as f32), Some(at)).map_err(|e| e.to_string())
                }
                _ => {
                    last_locate = Some(Instant::now());
                    transport.send(TransportCmd::Locate(dice.below(80) * RATE as u64))
                }
            };
            if std::env::var_os("SEGUE_SOAK_TRACE").is_some() {
                eprintln!("{:.3} {result:?}", started.elapsed().as_secs_f64());
            }
            if result.is_err() {
                refused += 1;
            }
        }
        let notices = desk.poll();
        // What the transport did, which the player's journal takes: nothing to keep here.
        desk.moves.clear();
        for notice in notices {
            if std::env::var_os("SEGUE_SOAK_TRACE").is_some() {
                eprintln!("{:.3} {}", started.elapsed().as_secs_f64(), notice.text);
            }
            let after_locate = last_locate.is_some_and(|t| t.elapsed() < Duration::from_secs(1));
            let starved = matches!(notice.event, Some(Event::Underrun { .. } | Event::LateStart { .. }));
            if starved && after_locate {
                // A locate while playing lands as soon as the loader has the new place's audio:
                // a few ms late, or with a gap of a few ms where it started on a first read too
                // short, by design, and said so.
                landings += 1;
            } else if starved {
                underruns.push(format!("{:.1} s: {}", started.elapsed().as_secs_f64(), notice.text));
            } else if notice.severity == Severity::Error {
                problems.push(notice.text);
            }
        }
        for e in errors.try_iter() {
            if e.gone {
                problems.push(format!("the output went away: {}", e.text));
            } else {
                xruns += 1;
            }
        }
        assert!(back.try_recv().is_err(), "the device callback's state came back: the stream died");
        if now >= next_report {
            next_report += Duration::from_secs(10);
            // Less the test's own recording (4 bytes a frame), which grows by design.
            let mb = rss_mb() - rec.len() as f64 * 4.0 / 1_048_576.0;
            rss.push((now.as_secs_f64(), mb));
            println!(
                "real-time soak: {:5.0} s, RSS {mb:.1} MB, {} underruns, {xruns} xruns",
                now.as_secs_f64(),
                underruns.len()
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    rss.push((started.elapsed().as_secs_f64(), rss_mb() - rec.len() as f64 * 4.0 / 1_048_576.0));
    drop(stream);
    let violations = violation_count() - violations_before;
    let (first, heard) = rec.take();
    let _ = first;
    println!(
        "real-time soak: {secs} s on JACK dummy: {commands_sent} commands ({refused} refused), {violations} allocator \
         calls in the callback, {} underruns, {landings} late or short landings of a locate, {xruns} xruns; RSS {rss:?}",
        underruns.len()
    );
    for u in &underruns {
        println!("  {u}");
    }
    assert_eq!(violations, 0, "the allocator was called inside the device callback");
    assert!(problems.is_empty(), "{problems:?}");
    assert!(underruns.is_empty(), "nothing starved but the landings of locates: {underruns:?}");
    // It sounded in every stretch of 2 s but those a panic silenced (a panic every 5 s or so;
    // it fades in 300 ms, and the next GO or scene brings sound back): most stretches sound.
    let stretch = 2 * RATE as usize;
    let sounding = heard.chunks(stretch).filter(|c| c.iter().any(|x| x.abs() > 0.01)).count();
    let stretches = heard.len() / stretch;
    assert!(stretches as u64 >= secs / 2 - 1, "the recording covers the run: {stretches} stretches of 2 s");
    assert!(sounding * 2 >= stretches, "{sounding} of {stretches} stretches of 2 s sounded");
    // Memory flat (as offline): the end holds no more than at minute 1 (or half way through a
    // shorter run) plus 16 MB.
    let from = (secs as f64 / 2.0).min(60.0);
    let start = rss.iter().find(|(t, _)| *t >= from).map_or(0.0, |r| r.1);
    let end = rss.last().map_or(0.0, |r| r.1);
    assert!(end <= start + 16.0, "memory grew from {start:.1} MB to {end:.1} MB: {rss:?}");
}
