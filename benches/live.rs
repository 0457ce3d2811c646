//! `cargo bench --bench live`: how long from a command arriving to the cue's first frame at the
//! output, for the live player on JACK dummy servers (real-time paced) at 64, 256 and 1024-frame
//! buffers, for an OSC packet and for a line on stdin (the path a console key takes: stamped on
//! arrival, scheduled one buffer ahead). Measured on JACK's frame clock by a JACK client of this
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
    println!("command to first frame above the bed, {STARTS} starts each:");
    for period in [64usize, 256, 1024] {
        let name = format!("segue-bench-{}-{period}", std::process::id());
        let _server = private_server(&name, period);
        // SAFETY: single-threaded here; every JACK client after this is of this server.
        unsafe { std::env::set_var("JACK_DEFAULT_SERVER", &name) };
        unsafe { std::env::set_var("JACK_NO_START_SERVER", "1") };
        let mut player = Player::start(&name, &show, &["--autoplay"]);
        let rec = Recorder::start(&player.ports()[0]);
        std::thread::sleep(Duration::from_millis(500));
        let mut sent = Vec::new();
        for input in ["osc", "stdin"] {
            for _ in 0..STARTS {
                let at = rec.now();
                if input == "osc" {
                    player.send("/segue/cue/hit/start", vec![]);
                } else {
                    let stdin = player.child.stdin.as_mut().expect("piped");
                    let _ = writeln!(stdin, "cue/hit/start");
                    let _ = stdin.flush();
                }
                sent.push((input, at));
                std::thread::sleep(SPACING);
            }
        }
        let (first, heard) = rec.take();
        for input in ["osc", "stdin"] {
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
