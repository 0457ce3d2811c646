//! Segue's benchmarks (`cargo bench`): numbers for the README, never assertions.
//!
//! 1. A generated 100-cue show of 4-minute files: load time and peak RSS (first, so the peak is
//!    this section's own).
//! 2. Engine mixing cost per block, 16 / 64 / 256 voices at 64 and 512 frames, from memory.
//! 3. 64 streaming voices from 44.1 kHz files through the real loader, paced in real time.
//! 4. Render speed of the demo show.
//! 6. Segue beside kira 0.12 (`kira`): in-memory voices with ramping gains, and where a start
//!    scheduled inside a block lands.
//! 5. Decode throughput per format (one core, the loader's path at the file's own rate), so the
//!    floor decoding sets is known.
//! 7. `kernel`: the stereo mixing loop alone (steady and fading, 128-frame blocks, L1-resident), and
//!    `fade`: 256 fading voices through the whole engine, one workload to profile with perf.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use segue::control::Controller;
use segue::engine::command::{Action, Command};
use segue::engine::feed::{Feed, Head};
use segue::engine::program::{Bus, Clip, CueInfo, Program};
use segue::engine::{Engine, EngineConfig, Outputs};
use segue::render::{render_file, RenderOptions};
use segue::stream::loader::{Loader, LoaderConfig};

const RATE: u32 = 48_000;

fn main() {
    // `cargo bench` passes `--bench`; a section name picks one.
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let want = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let dir = std::env::temp_dir().join("segue-bench");
    std::fs::create_dir_all(&dir).unwrap();
    if want("show100") {
        show100(&dir);
    }
    if want("mix") {
        mix();
    }
    if want("stream") {
        println!(
            "\n## Streaming voices from 44.1 kHz stereo WAV and MP3 files (resampled to 48 kHz), paced in real time"
        );
        println!("| files | voices | block | median µs | p99 µs | max µs | ns per voice-frame (median) | CPU s per s of audio (all threads / loader) | underrun reports |");
        println!("|---|---|---|---|---|---|---|---|---|");
        for ext in ["wav", "mp3"] {
            for voices in [16, 64, 256] {
                for block in [64, 512] {
                    stream(&dir, voices, block, ext, false);
                }
            }
        }
    }
    if want("kernel") {
        use segue::engine::fade::Envelope;
        use segue::engine::kernel;
        kernel::detect();
        let src: Vec<f32> = (0..256).map(|i| (i as f32 * 0.01).sin()).collect();
        let (mut l, mut r) = (vec![0.0f32; 128], vec![0.0f32; 128]);
        for fading in [false, true] {
            // Best of 5 (the machine is noisy).
            let mut best = f64::MAX;
            for _ in 0..5 {
                let t = Instant::now();
                let mut env = Envelope::steady(0.0);
                env.fade_to(1.0, u32::MAX / 2, segue::show::Curve::EqualPower);
                for _ in 0..200_000 {
                    let mut at = 0;
                    while at < 128 {
                        let seg = env.segment(128 - at);
                        let n = seg.frames;
                        if fading {
                            kernel::faded(
                                &src[2 * at..2 * (at + n)],
                                2,
                                &mut l[at..at + n],
                                &mut r[at..at + n],
                                seg,
                                0.5,
                                [0.8, 1.0],
                            );
                        } else {
                            kernel::steady(
                                &src[2 * at..2 * (at + n)],
                                2,
                                &mut l[at..at + n],
                                &mut r[at..at + n],
                                0.5,
                                0.4,
                            );
                        }
                        at += n;
                    }
                    std::hint::black_box(&mut l);
                }
                best = best.min(t.elapsed().as_secs_f64() / (128.0 * 200_000.0) * 1e9);
            }
            println!("kernel fading={fading}: {best:.3} ns per frame ({})", kernel::name());
        }
    }
    if want("stream64") {
        // One streaming workload alone, to profile: 64 WAV voices, 64-frame blocks.
        stream(&dir, 64, 64, "wav", false);
    }
    if want("stream256") {
        // The heaviest streaming workload alone: 256 MP3 voices, 64-frame blocks.
        stream(&dir, 256, 64, "mp3", false);
    }
    for voices in [16, 64, 256] {
        // One workload alone, to profile (`fade16`, `fade64`, `fade256`, or `fade` for all):
        // every voice fading, 128-frame blocks.
        if want("fade") || want(&format!("fade{voices}")) {
            // Repeated (`SEGUE_BENCH_REPEAT`, default 1) so a profiler has enough samples.
            let repeat = std::env::var("SEGUE_BENCH_REPEAT").ok().and_then(|r| r.parse().ok()).unwrap_or(1);
            let head = memory_head();
            for _ in 0..repeat {
                let s = stats(memory_voice_times(&head, voices, 128, true, false));
                println!(
                    "{voices} voices fading, 128 frames: {:.2} ns per voice-frame",
                    s.median / (voices as f64 * 128.0)
                );
            }
        }
    }
    if want("render") {
        render_demo();
    }
    if want("decode") {
        decode(&dir);
    }
    if want("kira") {
        versus_kira();
    }
}

/// Decodes a 60 s stereo 44.1 kHz file of each format through `Source` (as the loader does, no
/// resampling), best of 3: times real time on one core.
fn decode(dir: &Path) {
    use segue::stream::source::{whole_file, Source};
    println!("\n## Decode throughput, 60 s stereo 44.1 kHz (one core, best of 3)");
    println!("| format | × real time | CPU ms per s of audio |");
    println!("|---|---|---|");
    let wav = dir.join("decode-src.wav");
    write_music(&wav, 44_100, 60.0, 3.0);
    for (name, args) in [
        ("WAV 16-bit", vec![]),
        ("FLAC", vec!["-c:a", "flac"]),
        ("ALAC (M4A)", vec!["-c:a", "alac"]),
        ("MP3 192k", vec!["-c:a", "libmp3lame", "-b:a", "192k"]),
        ("AAC 192k (M4A)", vec!["-c:a", "aac", "-b:a", "192k"]),
        ("Vorbis q6", vec!["-c:a", "libvorbis", "-q:a", "6"]),
    ] {
        let ext = match name {
            "FLAC" => "flac",
            "ALAC (M4A)" | "AAC 192k (M4A)" => "m4a",
            "MP3 192k" => "mp3",
            "Vorbis q6" => "ogg",
            _ => "wav",
        };
        let path = if args.is_empty() { wav.clone() } else { dir.join(format!("decode-{}.{ext}", ext_tag(name))) };
        if !args.is_empty() && !path.exists() {
            let ok = std::process::Command::new("ffmpeg")
                .args(["-y", "-loglevel", "error", "-i"])
                .arg(&wav)
                .args(&args)
                .arg(&path)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                println!("| {name} | (ffmpeg could not make it) | |");
                continue;
            }
        }
        let spec = whole_file(&path).unwrap();
        let mut best = f64::MAX;
        for _ in 0..3 {
            let started = Instant::now();
            let mut source = Source::open(&spec, 44_100, 0).unwrap();
            let mut buf = vec![0.0f32; 4096 * 2];
            while source.read(&mut buf).unwrap() > 0 {}
            best = best.min(started.elapsed().as_secs_f64());
        }
        let secs = spec.end as f64 / 44_100.0;
        println!("| {name} | {:.0}× | {:.1} |", secs / best, best * 1000.0 / secs);
    }
    // The same WAV through the FFT resampler to 48 kHz, as every 44.1 kHz file plays: the floor
    // resampling sets on the loader's CPU.
    let spec = whole_file(&wav).unwrap();
    let mut best = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let mut source = Source::open(&spec, RATE, 0).unwrap();
        let mut buf = vec![0.0f32; 4096 * 2];
        while source.read(&mut buf).unwrap() > 0 {}
        best = best.min(started.elapsed().as_secs_f64());
    }
    let secs = spec.end as f64 / 44_100.0;
    println!("| WAV 16-bit resampled to 48 kHz | {:.0}× | {:.1} |", secs / best, best * 1000.0 / secs);
}

fn ext_tag(name: &str) -> &'static str {
    if name.starts_with("ALAC") {
        "alac"
    } else if name.starts_with("AAC") {
        "aac"
    } else {
        "x"
    }
}

/// `SEGUE_BENCH_TOP=1`: the slowest blocks of a streaming run are listed (which block, how
/// long), and the time of the first block of an in-memory run, where every voice starts.
fn top_blocks() -> bool {
    std::env::var_os("SEGUE_BENCH_TOP").is_some()
}

struct Stats {
    median: f64,
    p99: f64,
    max: f64,
}

fn stats(mut ns: Vec<f64>) -> Stats {
    ns.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let at = |q: f64| ns[((ns.len() - 1) as f64 * q).round() as usize];
    Stats { median: at(0.5), p99: at(0.99), max: *ns.last().unwrap() }
}

/// Process a block into scratch buffers.
fn run_block(engine: &mut Engine, bufs: &mut [Vec<f32>; 6], frames: usize) {
    let [ml, mr, bl, br, cl, cr] = bufs;
    engine.process(Outputs {
        main: [&mut ml[..frames], &mut mr[..frames]],
        bed: [&mut bl[..frames], &mut br[..frames]],
        cues: [&mut cl[..frames], &mut cr[..frames]],
    });
}

fn buffers(frames: usize) -> [Vec<f32>; 6] {
    std::array::from_fn(|_| vec![0.0; frames])
}

/// Engine cost with every voice playing from memory (head only), steady gain or mid-fade.
fn mix() {
    println!("\n## Engine mixing cost (voices from memory, stereo, -6 dB, panned)");
    println!("| voices | block | gains | median µs | p99 µs | max µs | ns per voice-frame (median) |");
    println!("|---|---|---|---|---|---|---|");
    let head = memory_head();
    for &voices in &[16usize, 64, 256] {
        for &block in &[64usize, 512] {
            for ramping in [false, true] {
                let s = stats(memory_voice_times(&head, voices, block, ramping, false));
                println!(
                    "| {voices} | {block} | {} | {:.1} | {:.1} | {:.1} | {:.2} |",
                    if ramping { "fading" } else { "steady" },
                    s.median / 1000.0,
                    s.p99 / 1000.0,
                    s.max / 1000.0,
                    s.median / (voices * block) as f64
                );
            }
        }
    }
    // The live player's engine runs with the trace (where each voice is heard, for the log).
    for &block in &[64usize, 512] {
        for ramping in [false, true] {
            let s = stats(memory_voice_times(&head, 64, block, ramping, true));
            println!(
                "| 64 | {block} | {}, traced | {:.1} | {:.1} | {:.1} | {:.2} |",
                if ramping { "fading" } else { "steady" },
                s.median / 1000.0,
                s.p99 / 1000.0,
                s.max / 1000.0,
                s.median / (64 * block) as f64
            );
        }
    }
}

/// Seconds of audio each in-memory voice has.
const MEMORY_SECS: usize = 12;

/// The audio of the in-memory voices: a stereo sine at 0.1.
fn memory_head() -> Arc<Head> {
    let samples: Box<[f32]> = (0..RATE as usize * MEMORY_SECS * 2).map(|i| ((i as f32) * 0.001).sin() * 0.1).collect();
    Arc::new(Head { samples, channels: 2 })
}

/// Block times (ns) of 10 s of `voices` voices playing `head` from memory in `block`-frame
/// blocks; `ramping`: every gain mid-fade all the way.
/// `trace`: with the trace the live player runs (each voice mixed through a scratch buffer and
/// scanned for where it is heard).
fn memory_voice_times(head: &Arc<Head>, voices: usize, block: usize, ramping: bool, trace: bool) -> Vec<f64> {
    let (mut engine, mut control, mut loader_ends) =
        Engine::new(EngineConfig { voices: 300, trace, ..EngineConfig::new(RATE) });
    let mut program = Program::empty();
    program.generation = 1;
    for v in 0..voices {
        let (_, tail) = rtrb::RingBuffer::new(16);
        program.clips.push(Clip {
            bus: Bus::Cues,
            owner: v as u32,
            gain: 0.5,
            pan: [0.8, 1.0],
            // A fade longer than the measurement keeps every gain moving per frame.
            fade_in_frames: if ramping { RATE * MEMORY_SECS as u32 } else { 0 },
            fade_out_frames: 0,
            length: Some(head.frames()),
            duck: None,
            tempo: None,
            armed: Some(Feed::new(head.clone(), tail, Some(head.frames()))),
            lost: false,
        });
        program.cues.push(CueInfo { clip: v as u32, scene: 0, followers: Vec::new(), restart: true });
    }
    let _ = control.commands.push(Command::now(Action::LoadProgram(Box::new(program))));
    for v in 0..voices {
        let _ = control.commands.push(Command::at(0, Action::StartCue { cue: v as u32 }));
    }
    let mut bufs = buffers(block);
    // Past the de-click so the steady case is steady.
    for b in 0..(2048 / block).max(1) {
        let t = Instant::now();
        run_block(&mut engine, &mut bufs, block);
        if b == 0 && top_blocks() {
            println!("first block (every voice starts): {:.1} µs", t.elapsed().as_secs_f64() * 1e6);
        }
    }
    let blocks = (RATE as usize * 10) / block;
    let mut times = Vec::with_capacity(blocks);
    for _ in 0..blocks {
        let t = Instant::now();
        run_block(&mut engine, &mut bufs, block);
        times.push(t.elapsed().as_nanos() as f64);
        while loader_ends.retired.pop().is_ok() {}
    }
    times
}

/// kira 0.12 driven block by block through a backend of this bench's own (kira's mock backend
/// keeps its output to itself): the `Renderer` kira hands its backend.
struct KiraBlocks {
    renderer: Option<kira::backend::Renderer>,
}

impl kira::backend::Backend for KiraBlocks {
    type Settings = u32;
    type Error = ();

    fn setup(rate: u32, _internal_buffer_size: usize) -> Result<(Self, u32), ()> {
        Ok((KiraBlocks { renderer: None }, rate))
    }

    fn start(&mut self, renderer: kira::backend::Renderer) -> Result<(), ()> {
        self.renderer = Some(renderer);
        Ok(())
    }
}

fn kira_manager(sounds: usize) -> kira::AudioManager<KiraBlocks> {
    let settings = kira::AudioManagerSettings {
        internal_buffer_size: 128,
        backend_settings: RATE,
        main_track_builder: kira::track::MainTrackBuilder::new().sound_capacity(sounds + 16),
        ..Default::default()
    };
    kira::AudioManager::new(settings).unwrap()
}

fn kira_block(manager: &mut kira::AudioManager<KiraBlocks>, out: &mut [f32]) {
    let renderer = manager.backend_mut().renderer.as_mut().unwrap();
    renderer.on_start_processing();
    renderer.process(out, 2);
}

/// Block times (ns) of kira playing `voices` in-memory stereo sounds (the same sine), 128-frame
/// blocks, every volume always in a 100 ms tween (a new one every 20 blocks).
fn kira_voice_times(voices: usize) -> Vec<f64> {
    use kira::sound::static_sound::{StaticSoundData, StaticSoundSettings};
    let mut manager = kira_manager(voices);
    let frames: std::sync::Arc<[kira::Frame]> = (0..RATE as usize * MEMORY_SECS)
        .map(|i| {
            let x = ((2 * i) as f32 * 0.001).sin() * 0.1;
            kira::Frame { left: x, right: x }
        })
        .collect();
    let mut handles = Vec::new();
    for _ in 0..voices {
        let data = StaticSoundData {
            sample_rate: RATE,
            frames: frames.clone(),
            settings: StaticSoundSettings::new().volume(-6.0).panning(0.1),
            slice: None,
        };
        handles.push(manager.play(data).unwrap());
    }
    let mut out = vec![0.0f32; 128 * 2];
    for _ in 0..16 {
        kira_block(&mut manager, &mut out);
    }
    let blocks = (RATE as usize * 10) / 128;
    let mut times = Vec::with_capacity(blocks);
    for b in 0..blocks {
        if b % 20 == 0 {
            let db = if (b / 20) % 2 == 0 { -12.0 } else { -6.0 };
            for h in &mut handles {
                h.set_volume(db, kira::Tween { duration: Duration::from_millis(100), ..Default::default() });
            }
        }
        let t = Instant::now();
        kira_block(&mut manager, &mut out);
        times.push(t.elapsed().as_nanos() as f64);
    }
    times
}

/// Where kira starts a sound scheduled on a clock at a frame inside a block: frames late (or
/// early) of the frame asked for, over starts at several places in a block.
fn kira_onset_errors() -> Vec<i64> {
    use kira::sound::static_sound::{StaticSoundData, StaticSoundSettings};
    let mut errors = Vec::new();
    for wanted in [1000u64, 1037, 1100, 1151] {
        let mut manager = kira_manager(4);
        let mut clock = manager.add_clock(kira::clock::ClockSpeed::TicksPerSecond(RATE as f64)).unwrap();
        let at = kira::clock::ClockTime { clock: clock.id(), ticks: wanted, fraction: 0.0 };
        let frames: std::sync::Arc<[kira::Frame]> = vec![kira::Frame { left: 0.5, right: 0.5 }; RATE as usize].into();
        let data = StaticSoundData {
            sample_rate: RATE,
            frames,
            settings: StaticSoundSettings::new().start_time(at),
            slice: None,
        };
        manager.play(data).unwrap();
        clock.start();
        let mut heard: Vec<f32> = Vec::new();
        let mut out = vec![0.0f32; 128 * 2];
        for _ in 0..16 {
            kira_block(&mut manager, &mut out);
            heard.extend(out.iter().step_by(2));
        }
        // The clock starts with the first block: tick N is frame N.
        let onset = heard.iter().position(|x| x.abs() > 0.01).map_or(i64::MAX, |k| k as i64);
        errors.push(onset - wanted as i64);
    }
    errors
}

/// Segue and kira 0.12 in the same process on the same machine.
fn versus_kira() {
    println!("\n## Segue beside kira 0.12 (same process, same machine)");
    println!(
        "In-memory stereo voices, every gain ramping, 128-frame blocks (median ns per voice-frame, the \
         lowest of 3 runs taken in turn: the machine's speed drifts), and Segue's voices at a steady \
         gain in the same run (one multiply-add per sample: the floor a fade is measured against):"
    );
    println!("| voices | Segue | kira | kira / Segue | Segue steady | fading / steady |");
    println!("|---|---|---|---|---|---|");
    let head = memory_head();
    for voices in [16usize, 64, 256] {
        let per = |times: Vec<f64>| stats(times).median / (voices * 128) as f64;
        let (mut segue, mut kira, mut steady) = (f64::MAX, f64::MAX, f64::MAX);
        for _ in 0..3 {
            segue = segue.min(per(memory_voice_times(&head, voices, 128, true, false)));
            kira = kira.min(per(kira_voice_times(voices)));
            steady = steady.min(per(memory_voice_times(&head, voices, 128, false, false)));
        }
        println!("| {voices} | {segue:.2} | {kira:.2} | {:.1}× | {steady:.2} | {:.2}× |", kira / segue, segue / steady);
    }
    println!(
        "Streaming stereo voices from 44.1 kHz files at 48 kHz, 64-frame blocks paced in real time \
         (block time as a share of the 1.33 ms deadline; CPU seconds per second of audio, all threads):"
    );
    println!("| files | voices | Segue median / p99 / max | kira median / p99 / max | Segue CPU | kira CPU |");
    println!("|---|---|---|---|---|---|");
    let deadline = 64.0 / RATE as f64 * 1e9;
    let dir = std::env::temp_dir().join("segue-bench");
    let share = |s: &Stats| {
        format!(
            "{:.2} / {:.2} / {:.1} %",
            100.0 * s.median / deadline,
            100.0 * s.p99 / deadline,
            100.0 * s.max / deadline
        )
    };
    for ext in ["wav", "mp3"] {
        for voices in [16usize, 64] {
            let (segue, segue_cpu) = stream(&dir, voices, 64, ext, true);
            let (kira, kira_cpu) = kira_stream(&dir, voices, 64, ext);
            println!("| {ext} | {voices} | {} | {} | {segue_cpu:.3} | {kira_cpu:.3} |", share(&segue), share(&kira));
        }
    }
    let errors = kira_onset_errors();
    println!(
        "Onset error of a start scheduled inside a block (frames after the one asked for): Segue 0 \
         (tests/timing.rs asserts it); kira {errors:?}"
    );
}

/// Writes a 16-bit stereo WAV of a slowly wandering chord, `secs` long.
fn write_music(path: &Path, rate: u32, secs: f64, seed: f64) {
    if path.exists() {
        return;
    }
    let spec =
        hound::WavSpec { channels: 2, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let frames = (secs * rate as f64) as usize;
    for i in 0..frames {
        let t = i as f64 / rate as f64;
        let x = 0.2 * (2.0 * std::f64::consts::PI * (110.0 + seed * 7.0) * t).sin()
            + 0.1 * (2.0 * std::f64::consts::PI * (330.0 + seed) * t + (t * 0.3).sin()).sin();
        let s = (x * 32767.0) as i16;
        w.write_sample(s).unwrap();
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

fn write_show(path: &Path, json: &serde_json::Value) {
    std::fs::write(path, serde_json::to_string_pretty(json).unwrap()).unwrap();
}

/// CPU time of every thread of this process, in seconds.
fn process_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap().split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// CPU time of the threads named `name`, in seconds (from schedstat, nanoseconds).
fn thread_cpu(name: &str) -> f64 {
    let mut total = 0.0;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() == name {
            let s = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            total += s.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 1e9;
        }
    }
    total
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap() / 1024.0
}

fn engine_with(show: &Path, loader: LoaderConfig) -> (Engine, Controller) {
    let file = segue::show::load(show).unwrap();
    let (engine, control, loader_ends) = Engine::new(EngineConfig { voices: 300, ..EngineConfig::new(RATE) });
    let loader = Loader::spawn(loader, loader_ends);
    (engine, Controller::new(file, RATE, control, loader))
}

/// Waits until every clip the controller wants armed is armed.
fn wait_armed(engine: &mut Engine, controller: &mut Controller) -> Duration {
    let t = Instant::now();
    loop {
        engine.poll();
        controller.poll();
        let armed = engine.program().clips.iter().filter(|c| c.armed.is_some()).count();
        if armed >= controller.wanted_count() {
            return t.elapsed();
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// 100 cues of 4-minute files: load time and memory.
fn show100(dir: &Path) {
    println!("\n## 100-cue show of 4-minute files (10 scenes of 10 cues; 10 files of 240 s, 44.1 kHz stereo)");
    let files: Vec<PathBuf> = (0..10).map(|i| dir.join(format!("song{i}.wav"))).collect();
    for (i, f) in files.iter().enumerate() {
        write_music(f, 44_100, 240.0, i as f64);
    }
    let scenes: Vec<serde_json::Value> = (0..10)
        .map(|s| {
            let cues: Vec<serde_json::Value> = (0..10)
                .map(|c| {
                    serde_json::json!({ "id": format!("s{s}c{c}"), "file": format!("song{}.wav", (s + c) % 10), "at": c as f64 * 20.0 })
                })
                .collect();
            serde_json::json!({ "id": format!("scene{s}"), "at": s as f64 * 240.0, "bed": { "file": format!("song{s}.wav") }, "cues": cues })
        })
        .collect();
    let show = dir.join("show100.json");
    write_show(&show, &serde_json::json!({ "format": "segue-show/1", "scenes": scenes }));
    let rss_before = peak_rss_mb();
    let t = Instant::now();
    let (mut engine, mut controller) = engine_with(&show, LoaderConfig::live(RATE));
    let loaded = t.elapsed();
    let armed = wait_armed(&mut engine, &mut controller);
    println!(
        "- validated and compiled in {:.0} ms; {} clips armed (current and next scene) {:.0} ms later: ready in {:.0} ms",
        loaded.as_secs_f64() * 1000.0,
        controller.wanted_count(),
        armed.as_secs_f64() * 1000.0,
        (loaded + armed).as_secs_f64() * 1000.0
    );
    // Play 12 s of the first scene (bed and cues) paced in real time, then measure the peak.
    let _ = controller.enter_scene("scene0", Some(0));
    let mut bufs = buffers(512);
    let start = Instant::now();
    for b in 0..(RATE as usize * 12 / 512) {
        engine.poll();
        controller.poll();
        run_block(&mut engine, &mut bufs, 512);
        let due = Duration::from_secs_f64((b + 1) as f64 * 512.0 / RATE as f64);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    println!("- peak RSS {:.1} MB (the process before loading: {:.1} MB)", peak_rss_mb(), rss_before);
}

/// The 44.1 kHz stereo files the streaming workloads play (8 of them, 30 s), as WAV or MP3.
fn stream_files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let files: Vec<PathBuf> = (0..8).map(|i| dir.join(format!("stream{i}.wav"))).collect();
    for (i, f) in files.iter().enumerate() {
        write_music(f, 44_100, 30.0, i as f64 + 0.5);
        let mp3 = f.with_extension("mp3");
        if ext == "mp3" && !mp3.exists() {
            let ok = std::process::Command::new("ffmpeg")
                .args(["-y", "-loglevel", "error", "-i"])
                .arg(f)
                .args(["-c:a", "libmp3lame", "-b:a", "192k"])
                .arg(&mp3)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "ffmpeg makes the MP3s");
        }
    }
    files.iter().map(|f| f.with_extension(ext)).collect()
}

/// Streaming voices from 44.1 kHz files, paced in real time; returns the block times' stats
/// and the CPU seconds (all threads) per second of audio.
fn stream(dir: &Path, voices: usize, block: usize, ext: &str, quiet: bool) -> (Stats, f64) {
    stream_files(dir, ext);
    let cues: Vec<serde_json::Value> = (0..voices)
        .map(|c| serde_json::json!({ "id": format!("c{c}"), "file": format!("stream{}.{ext}", c % 8), "at": 0, "gain_db": -18, "duck_db": 0 }))
        .collect();
    let show = dir.join(format!("stream{voices}-{ext}.json"));
    write_show(
        &show,
        &serde_json::json!({ "format": "segue-show/1", "scenes": [{ "id": "s", "at": 0, "cues": cues }] }),
    );
    let (mut engine, mut controller) = engine_with(&show, LoaderConfig::live(RATE));
    wait_armed(&mut engine, &mut controller);
    let _ = controller.enter_scene("s", Some(0));
    engine.poll();
    let secs = 6.0;
    let blocks = (RATE as f64 * secs / block as f64) as usize;
    let mut bufs = buffers(block);
    let mut times = Vec::with_capacity(blocks);
    let mut underruns = 0;
    let (cpu0, loader0) = (process_cpu(), thread_cpu("segue-loader"));
    let start = Instant::now();
    for b in 0..blocks {
        let t = Instant::now();
        run_block(&mut engine, &mut bufs, block);
        times.push(t.elapsed().as_nanos() as f64);
        for n in controller.poll() {
            if matches!(n.event, Some(segue::engine::command::Event::Underrun { .. })) {
                underruns += 1;
            }
        }
        let due = Duration::from_secs_f64((b + 1) as f64 * block as f64 / RATE as f64);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    let wall = start.elapsed().as_secs_f64();
    if top_blocks() {
        let mut idx: Vec<usize> = (0..times.len()).collect();
        idx.sort_by(|a, b| times[*b].partial_cmp(&times[*a]).unwrap());
        let top: Vec<String> = idx.iter().take(12).map(|&i| format!("{}:{:.0}", i, times[i] / 1000.0)).collect();
        println!("slowest blocks (index:µs): {}", top.join(" "));
    }
    let (cpu, loader) = (process_cpu() - cpu0, thread_cpu("segue-loader") - loader0);
    let _ = wall;
    let s = stats(times);
    let deadline = block as f64 / RATE as f64 * 1e9;
    if quiet {
        return (s, cpu / secs);
    }
    println!(
        "| {ext} | {voices} | {block} | {:.1} ({:.2}%) | {:.1} ({:.2}%) | {:.1} | {:.2} | {:.3} / {:.3} | {underruns} |",
        s.median / 1000.0,
        100.0 * s.median / deadline,
        s.p99 / 1000.0,
        100.0 * s.p99 / deadline,
        s.max / 1000.0,
        s.median / (voices * block) as f64,
        cpu / secs,
        loader / secs,
    );
    (s, cpu / secs)
}

/// kira 0.12 streaming the same files (its `StreamingSoundData`: a decoding thread per sound,
/// resampled to 48 kHz on its audio thread), block by block, paced in real time.
fn kira_stream(dir: &Path, voices: usize, block: usize, ext: &str) -> (Stats, f64) {
    use kira::sound::streaming::{StreamingSoundData, StreamingSoundSettings};
    let files = stream_files(dir, ext);
    let mut manager = kira_manager(voices);
    for v in 0..voices {
        let data = StreamingSoundData::from_file(&files[v % files.len()]).unwrap();
        manager.play(data.with_settings(StreamingSoundSettings::new().volume(-18.0))).unwrap();
    }
    let mut out = vec![0.0f32; block * 2];
    // Its decoders get a head start, as Segue's loader does (it arms before the start).
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..16 {
        kira_block(&mut manager, &mut out);
    }
    let secs = 6.0;
    let blocks = (RATE as f64 * secs / block as f64) as usize;
    let mut times = Vec::with_capacity(blocks);
    let cpu0 = process_cpu();
    let start = Instant::now();
    for b in 0..blocks {
        let t = Instant::now();
        kira_block(&mut manager, &mut out);
        times.push(t.elapsed().as_nanos() as f64);
        let due = Duration::from_secs_f64((b + 1) as f64 * block as f64 / RATE as f64);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    (stats(times), (process_cpu() - cpu0) / secs)
}

fn render_demo() {
    println!("\n## Offline render of the demo show (48 kHz, block 512)");
    let show = Path::new(env!("CARGO_MANIFEST_DIR")).join("presets/demo/show.json");
    let mut best = f64::MAX;
    let mut secs = 0.0;
    for _ in 0..3 {
        let out = render_file(&show, &RenderOptions::default()).unwrap();
        secs = out.frames() as f64 / RATE as f64;
        best = best.min(out.elapsed.as_secs_f64());
    }
    println!("- {secs:.1} s of audio in {:.3} s (best of 3): {:.0}x real time", best, secs / best);
}
