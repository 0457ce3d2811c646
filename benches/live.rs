//! `cargo bench --bench live`: how long from a command arriving to the cue's first frame at the
//! output, for the live player on JACK dummy servers (real-time paced) at 64, 256 and 1024-frame
//! buffers, for an OSC packet, a line on stdin (the path a console key takes: stamped on
//! arrival, scheduled one buffer ahead) and a MIDI note on a JACK MIDI port (stamped with JACK's
//! time of the event, sent on a known frame at a different place in each buffer). Measured on JACK's frame clock by a JACK client of this
//! bench that records the player's output: from the frame the command was sent to the first
//! frame above the bed (this includes the 5 ms de-click's rise to that level, about 72 frames).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/jack_host/mod.rs"]
mod jack_host;

use std::io::Write;
use std::time::Duration;

use jack_host::*;

/// Starts per buffer size and input.
const STARTS: usize = 20;
/// What sends the command.
const INPUTS: [&str; 3] = ["osc", "stdin", "midi"];
/// Between starts: the 0.15 s cue has ended and the bed is alone again.
const SPACING: Duration = Duration::from_millis(350);

fn stats(mut frames: Vec<usize>, period: usize) -> String {
    frames.sort_unstable();
    let ms = |f: usize| f as f64 * 1000.0 / RATE as f64;
    let (median, max) = (frames[frames.len() / 2], frames[frames.len() - 1]);
    format!(
        "median {median} frames ({:.2} ms, {:.2} buffers), max {max} ({:.2} ms, {:.2} buffers)",
        ms(median),
        median as f64 / period as f64,
        ms(max),
        max as f64 / period as f64
    )
}

fn main() {
    let show = go_show_with("bench-live", 0.15);
    // The cue also answers MIDI note 60.
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&show).unwrap()).unwrap();
    json["scenes"][0]["cues"][0]["note"] = serde_json::json!(60);
    std::fs::write(&show, json.to_string()).unwrap();
    println!("command to first frame above the bed, {STARTS} starts each:");
    for period in [64usize, 256, 1024] {
        let name = format!("segue-bench-{}-{period}", std::process::id());
        let _server = private_server(&name, period);
        // SAFETY: single-threaded here; every JACK client after this is of this server.
        unsafe { std::env::set_var("JACK_DEFAULT_SERVER", &name) };
        unsafe { std::env::set_var("JACK_NO_START_SERVER", "1") };
        let midi = MidiSender::start();
        let source = format!("jack:{}", midi.port);
        let mut player = Player::start(&name, &show, &["--autoplay", "--midi", &source]);
        player.wait_for(|v| v["event"] == "midi", "MIDI in");
        let rec = Recorder::start(&player.ports()[0]);
        std::thread::sleep(Duration::from_millis(500));
        let mut sent = Vec::new();
        for input in INPUTS {
            for k in 0..STARTS {
                let mut at = rec.now();
                match input {
                    "osc" => player.send("/segue/cue/hit/start", vec![]),
                    "stdin" => {
                        let stdin = player.child.stdin.as_mut().expect("piped");
                        let _ = writeln!(stdin, "cue/hit/start");
                        let _ = stdin.flush();
                    }
                    _ => {
                        // 20 ms ahead, at the k-th of STARTS places across a buffer.
                        at += RATE / 50 + (k * period / STARTS) as u32;
                        midi.send_at(at, &[0x90, 60, 100]);
                    }
                }
                sent.push((input, at));
                std::thread::sleep(SPACING);
            }
        }
        let (first, heard) = rec.take();
        for input in INPUTS {
            let frames: Vec<usize> = sent
                .iter()
                .filter(|(i, _)| *i == input)
                .filter_map(|&(_, at)| {
                    let from = at.wrapping_sub(first) as usize;
                    onset_after(&heard, from, 0.15).map(|k| k - from)
                })
                .collect();
            println!("  {period:>4}-frame buffers, {input:>5}: {}", stats(frames, period));
        }
        drop(player);
    }
}
