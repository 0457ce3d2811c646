//! `segue play --chase`: the show following another transport on a real, real-time-paced
//! audio server (a JACK dummy server of this test binary's own, so what these tests do to the
//! server's transport and clients never reaches another binary's tests), recorded with the
//! transport's frame for every cycle and set against `segue render` at those frames.

mod common;
mod jack_host;

use std::process::Command;
use std::time::Duration;

use common::*;
use jack_host::*;
use serde_json::Value;

/// The JACK dummy server for this test binary: its own, so what these tests do to the
/// server's transport never reaches another binary's tests.
fn server() -> &'static str {
    shared_server("segue-chase", 256)
}

/// A bed from the top and a cue at 6 s on a timeline; a production at 25 fps from 01:00:00:00.
fn chase_show(name: &str) -> std::path::PathBuf {
    let dir = scratch(name);
    let bed = sine_file(&dir, "bed.wav", RATE, 200.0, 0.1, 20.0, 0.0);
    let hit = sine_file(&dir, "hit.wav", RATE, 1000.0, 0.5, 1.0, 0.0);
    show_file(
        &dir,
        serde_json::json!({
            "format": "segue-show/1",
            "production": { "frame_rate": "25", "start_timecode": "01:00:00:00" },
            "scenes": [{ "id": "s", "at": 0, "bed": { "file": bed },
                         "cues": [{ "id": "hit", "file": hit, "at": 6.0 }] }]
        }),
    );
    dir.join("show.json")
}

#[test]
fn jack_transport_drives_the_show_to_the_sample_from_where_it_was_located() {
    let _jack = one_at_a_time();
    let show = chase_show("live-jack-chase");
    let mut player = Player::start(server(), &show, &["--chase", "jack"]);
    // The transport master: a JACK client of this test's own. The show's 0 is at 01:00:00:00.
    let (master, _) = jack::Client::new("segue-test-master", jack::ClientOptions::NO_START_SERVER).unwrap();
    let transport = master.transport();
    let zero = 3600 * RATE as u64;
    let from = zero + 5 * RATE as u64;
    transport.stop().unwrap();
    transport.locate(from as u32).unwrap();
    let rec = TransportRecorder::start(&player.ports()[0]);
    // Stopped there, the player prepares the seek (as a stopped DAW's playhead is).
    std::thread::sleep(Duration::from_millis(800));
    transport.start().unwrap();
    std::thread::sleep(Duration::from_millis(3000));
    let before_jump = rec.take();
    // The picture editor moves the playhead while it plays: a jump to 10 s.
    let jump = zero + 10 * RATE as u64;
    transport.locate(jump as u32).unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    transport.stop().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let after_jump = rec.take();
    // The shared server's transport back at its start, as the other tests found it.
    transport.locate(0).unwrap();
    let state: Value = serde_json::from_str(&player.osc("/segue/state", vec![])).unwrap();
    assert_eq!(state["follows"], "JACK transport", "{state}");
    assert_eq!(
        player.osc("/segue/transport/play", vec![]),
        "error: JACK transport drives the show here: play, stop and locate it there"
    );
    player.wait_for(|v| v["event"] == "cue_started" && v["cue"] == "hit", "the timed cue at 6 s");

    let render = |start: u64| -> Vec<f32> {
        let wav = scratch("live-jack-chase-render").join(format!("from-{start}.wav"));
        let out = Command::new(env!("CARGO_BIN_EXE_segue"))
            .args(["render"])
            .arg(&show)
            .args(["--start", &start.to_string(), "--duration", "4", "-o"])
            .arg(&wav)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mut reader = hound::WavReader::open(&wav).unwrap();
        reader.samples::<f32>().step_by(2).map(|s| s.unwrap()).collect()
    };
    // Every rolling cycle from `from` on, at its transport frame, against the render from
    // there: (frames compared, the worst difference, cycles heard a period late). JACK2 runs
    // asynchronously: a client that finishes a cycle late on a loaded machine has its output
    // read in the next cycle, so a cycle may hold the previous cycle's frames; each cycle must
    // equal the render at its own frames or, heard late, at the period before them.
    // A cycle the machine could not run for anyone (this recorder misses it too: the cycles it
    // heard jump) is a jump for the chase, which seeks again as after any xrun (a few ms late,
    // reported): the comparison resumes half a second after it.
    let compare = |cycles: &[(bool, u64, Vec<f32>)], from: u64, render: &[f32]| {
        let (mut compared, mut worst, mut late) = (0usize, 0.0f32, 0usize);
        let (mut next, mut resume) = (None::<u64>, 0u64);
        let differ = |samples: &[f32], at: usize| {
            samples.iter().zip(render.iter().skip(at)).map(|(s, r)| (s - r).abs()).fold(0.0f32, f32::max)
        };
        for (_, frame, samples) in cycles.iter().filter(|c| c.0 && c.1 >= from) {
            if next.is_some_and(|n| n != *frame) {
                eprintln!("the machine missed a cycle at {}: compared again from half a second on", frame - from);
                resume = frame + RATE as u64 / 2;
            }
            next = Some(frame + samples.len() as u64);
            if *frame < resume {
                continue;
            }
            let at = (frame - from) as usize;
            let mut d = differ(samples, at);
            if d > 1e-6 && at >= samples.len() && differ(samples, at - samples.len()) <= 1e-6 {
                d = 0.0;
                late += 1;
            }
            if d > 1e-6 && std::env::var_os("SEGUE_CHASE_TRACE").is_some() {
                eprintln!("cycle at {at}: differs by {d}");
            }
            worst = worst.max(d);
            compared += samples.len().min(render.len().saturating_sub(at));
        }
        (compared, worst, late)
    };
    let from_5 = render(5);
    let (compared, worst, late) = compare(&before_jump, from, &from_5);
    eprintln!("JACK transport chase, located while stopped: {compared} frames against the render, worst {worst:e}, {late} cycles heard late");
    // Three seconds played; a missed cycle costs half a second of the comparison.
    assert!(compared > 3 * RATE as usize / 2, "a second and a half compared: {compared}");
    // The same engine on the same frames: the same samples (nothing but float rounding could
    // differ, and nothing does).
    assert!(worst <= 1e-6, "the chased show equals the render at JACK's frames: worst {worst}");
    // After a jump while rolling the seek lands as soon as the loader has the data (a few
    // ms, reported); half a second on, the show equals the render from the jump's place.
    let from_10 = render(10);
    let settled: Vec<_> = after_jump.into_iter().filter(|c| c.1 >= jump + RATE as u64 / 2).collect();
    let (compared, worst, late) = compare(&settled, jump, &from_10);
    eprintln!("JACK transport chase, after a jump while rolling: {compared} frames, worst {worst:e}, {late} late");
    assert!(compared > RATE as usize, "a second compared: {compared}");
    assert!(worst <= 1e-6, "after the jump the chased show equals the render: worst {worst}");
    let render = from_5;
    // Proof the comparison can fail: the cue at 6 s is in what was compared.
    let hit_at = RATE as usize;
    assert!(render[hit_at + 4800..hit_at + 9600].iter().any(|s| s.abs() > 0.3), "the cue sounds in the span");
}
