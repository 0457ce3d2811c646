//! The `segue` command line: play a show live, check it, print its schema, render it to WAV,
//! list audio devices.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use segue::app;
use segue::control::Severity;
use segue::render::{self, RenderOptions};
use segue::show;

#[derive(Parser)]
#[command(name = "segue", version, about = "Real-time audio cue player: score beds, song cues, ducking, crossfades")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
// Parsed once at start: the size of its largest variant does not matter.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Play a show live: the operator's GO, the show timeline, OSC remote control.
    Play {
        /// The show file (JSON).
        show: PathBuf,
        /// No console: one JSON object per line on stdout for every event; commands on stdin
        /// (`go`, `panic`, `transport/play`, `cue/ID/start`, `level/bed -6`, `quit`, ...).
        #[arg(long)]
        headless: bool,
        /// Start the show's timeline at once.
        #[arg(long)]
        autoplay: bool,
        /// Where on the timeline to open: seconds, MM:SS.mmm, HH:MM:SS.mmm, or picture timecode
        /// HH:MM:SS:FF (HH:MM:SS;FF drop-frame) at the production's rate from its start_timecode
        /// (default: 0).
        #[arg(long, value_parser = parse_moment)]
        start: Option<segue::control::times::Moment>,
        /// `alsa` or `jack` (default: JACK when a server runs, else ALSA).
        #[arg(long)]
        backend: Option<String>,
        /// Output device, as `segue devices` lists it.
        #[arg(long)]
        device: Option<String>,
        /// Frames per audio buffer (default: the device's).
        #[arg(long, value_parser = clap::value_parser!(u32).range(16..=16_384))]
        buffer: Option<u32>,
        /// The sample rate to play at (default: the device's).
        #[arg(long, value_parser = clap::value_parser!(u32).range(8_000..=384_000))]
        sample_rate: Option<u32>,
        /// Which device channels main, bed and cues go to, e.g. `main=1-2,bed=3-4,cues=5-6`, and
        /// `ltc=N`: the timeline as LTC on channel N (from the production's start_timecode, or
        /// --chase-offset), for a video player or a desk to follow.
        #[arg(long, default_value = "main=1-2", value_parser = parse_patch)]
        patch: segue::app::audio::Patch,
        /// JACK: the player's client name: its ports are `NAME_out:out_0`, ... and also
        /// `NAME:main_l`, `NAME:main_r`, `NAME:bed_l`, ... (as the patch has them), the same at
        /// every start, so routing survives a restart.
        #[arg(long, default_value = "segue")]
        jack_name: String,
        /// JACK: connect the player's ports to these at start instead of to the system's
        /// playback ports, e.g. `main_l=system:playback_1,main_r=system:playback_2`.
        #[arg(long, value_parser = parse_connect)]
        connect: Option<app::device::Connections>,
        /// OSC over UDP, and over TCP (SLIP-framed, OSC 1.1) on the same port (`off`: none).
        #[arg(long, default_value = "127.0.0.1:53000")]
        osc: String,
        /// Networks OSC may come from besides loopback (needed to listen beyond loopback).
        #[arg(long, value_parser = parse_cidr)]
        osc_allow: Vec<(std::net::IpAddr, u8)>,
        /// A second GO within this many milliseconds of the first is ignored.
        #[arg(long, default_value_t = 200)]
        go_guard: u64,
        /// A MIDI input to listen to (repeatable): `jack:NAME`, `alsa:NAME`, or a part of the
        /// name as `segue devices` lists it.
        #[arg(long)]
        midi: Vec<String>,
        /// The MIDI note that fires GO.
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u8).range(0..=127))]
        go_note: u8,
        /// The MIDI note that panics.
        #[arg(long, default_value_t = 13, value_parser = clap::value_parser!(u8).range(0..=127))]
        panic_note: u8,
        /// This player's MIDI Show Control device id (0-126; the all-call 127 is always answered).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=126))]
        msc_device: u8,
        /// Reload the show when its file is saved (a valid show, while the transport is stopped
        /// or at once with `r`; an invalid one is listed and the current show stays).
        #[arg(long)]
        watch: bool,
        /// Where to keep the journal (default: the user's state folder, named after the show);
        /// the performance log (`NAME.play.log`) goes beside it.
        #[arg(long)]
        journal: Option<PathBuf>,
        /// Open where the journal says the show was (after a crash or a power cut), stopped.
        #[arg(long)]
        resume: bool,
        /// Follow another transport instead of the player's own: `jack` (JACK transport, e.g.
        /// Ardour with its video track), or `ltc:PORT` (LTC from a JACK output port, e.g.
        /// `ltc:system:capture_3`), or `mtc:PORT` (MIDI timecode from a JACK MIDI port): the show
        /// follows its position and speed. Needs --backend jack.
        #[arg(long, value_parser = parse_follow)]
        chase: Option<app::sync::Follow>,
        /// The chased source's timecode at the show's 0, `HH:MM:SS:FF` at the production's rate
        /// (default: the production's start_timecode).
        #[arg(long)]
        chase_offset: Option<String>,
        /// How long chased timecode may drop out before the show stops: timecode frames (up to
        /// 2 s worth), or `jam` (play on until the timecode returns or the operator stops).
        #[arg(long, default_value = "8", value_parser = parse_freewheel)]
        freewheel: app::sync::lock::Freewheel,
        /// Lead the picture with the show's own transport: `jack` (JACK transport follows the
        /// show: xjadeo, Ardour), `mtc:PORT` (MIDI timecode out to a JACK MIDI port, and JACK
        /// transport), or both, comma-separated. Needs --backend jack.
        #[arg(long, value_parser = parse_lead)]
        lead: Option<app::sync::Lead>,
        /// Rehearse with the cut: open this video in xjadeo (Debian package xjadeo), following
        /// the show through JACK transport (leads it: needs --backend jack); the cut's first
        /// frame is the production's start_timecode (or --chase-offset).
        #[arg(long)]
        picture: Option<PathBuf>,
        /// Refuse to open a show with an audio file that cannot be read (by default it opens:
        /// what uses the file is marked broken, said, and refused when fired; the rest plays).
        #[arg(long)]
        strict: bool,
    },
    /// List audio backends and their output devices (channels, rates), and MIDI inputs.
    Devices,
    /// Validate a show file and its audio; print a summary, or every problem found.
    Check {
        /// The show file (JSON).
        show: PathBuf,
        /// Also measure each audio file's integrated loudness and true peak (EBU R128), so songs
        /// from different masters can be matched by gain_db.
        #[arg(long)]
        loudness: bool,
    },
    /// Write the music cue sheet (one line per use, with writers, publishers, usage and
    /// timecodes), from a render of the show's timeline: CSV, JSON or HTML by the extension.
    Cuesheet {
        /// The show file (JSON).
        show: PathBuf,
        /// FILE.csv, FILE.json or FILE.html (default: CSV on standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// The sample rate to work at, in Hz.
        #[arg(long, default_value_t = 48_000, value_parser = clap::value_parser!(u32).range(8_000..=384_000))]
        sample_rate: u32,
        /// The sheet of what a `segue play` run played, from its performance log (the
        /// `NAME.play.log` beside the journal; its last run of this show) instead of a render.
        #[arg(long)]
        from_log: Option<PathBuf>,
    },
    /// Draw the mix as rendered: scenes on a timecode axis, a lane per bed and cue with its
    /// fades, the bed's duck, the main waveform and loudness; SVG or PNG by the extension.
    Picture {
        /// The show file (JSON).
        show: PathBuf,
        /// FILE.svg or FILE.png.
        #[arg(short, long)]
        output: PathBuf,
        /// Where the picture starts on the timeline: seconds, MM:SS.mmm, HH:MM:SS.mmm or
        /// picture timecode HH:MM:SS:FF (default: the start).
        #[arg(long, value_parser = parse_moment)]
        from: Option<segue::control::times::Moment>,
        /// Where the picture ends on the timeline, written as --from is (default: the end).
        #[arg(long, value_parser = parse_moment)]
        to: Option<segue::control::times::Moment>,
        /// The picture's width in pixels.
        #[arg(long, default_value_t = 1600, value_parser = clap::value_parser!(u32).range(200..=20_000))]
        width: u32,
        /// The sample rate to work at, in Hz.
        #[arg(long, default_value_t = 48_000, value_parser = clap::value_parser!(u32).range(8_000..=384_000))]
        sample_rate: u32,
    },
    /// Print the JSON Schema of the show format (for editors).
    Schema,
    /// Bounce a show's timeline to a 32-bit float stereo WAV.
    Render {
        /// The show file (JSON).
        show: PathBuf,
        /// The WAV file to write.
        #[arg(short, long)]
        output: PathBuf,
        /// The sample rate to work at, in Hz.
        #[arg(long, default_value_t = 48_000, value_parser = clap::value_parser!(u32).range(8_000..=384_000))]
        sample_rate: u32,
        /// Frames per engine block (the output is identical for any block size).
        #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=65_536))]
        block: u32,
        /// Where on the show timeline to start: seconds, MM:SS.mmm, HH:MM:SS.mmm or picture
        /// timecode HH:MM:SS:FF (default: 0).
        #[arg(long, value_parser = parse_moment)]
        start: Option<segue::control::times::Moment>,
        /// Seconds to render (default: to the show's end and its fade).
        #[arg(long)]
        duration: Option<f64>,
        /// Also write the bed and cue buses as `bed.wav` and `cues.wav` into this folder.
        #[arg(long)]
        stems: Option<PathBuf>,
        /// Sample format: 32f (float, the default), 24 or 16 (integer, TPDF-dithered).
        #[arg(long, default_value = "32f", value_parser = parse_bits)]
        bits: segue::deliver::wav::Bits,
        /// Integrated loudness the mix should have (LUFS, e.g. -23 for EBU R128, -24 for ATSC
        /// A/85): says how far off it is.
        #[arg(long, allow_negative_numbers = true)]
        loudness_target: Option<f64>,
        /// Gain in dB on the whole mix, on top of the show's `master_db` (e.g. -9 to follow
        /// loudness advice without editing the show).
        #[arg(long, allow_negative_numbers = true, default_value_t = 0.0, value_parser = parse_gain)]
        gain_db: f64,
    },
}

fn parse_gain(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(db) if (-144.0..=24.0).contains(&db) => Ok(db),
        Ok(db) => Err(format!("{db} dB is outside -144 to +24 dB")),
        Err(_) => Err(format!("\"{text}\" is not a gain in dB")),
    }
}

fn parse_connect(text: &str) -> Result<segue::app::device::Connections, String> {
    segue::app::device::parse_connect(text)
}

fn parse_patch(text: &str) -> Result<segue::app::audio::Patch, String> {
    segue::app::audio::Patch::parse(text)
}

fn parse_cidr(text: &str) -> Result<(std::net::IpAddr, u8), String> {
    segue::app::osc::parse_cidr(text)
}

fn parse_bits(text: &str) -> Result<segue::deliver::wav::Bits, String> {
    segue::deliver::wav::Bits::parse(text)
}

fn parse_moment(text: &str) -> Result<segue::control::times::Moment, String> {
    segue::control::times::Moment::parse(text)
}

/// Loads a show, or prints every problem it has (then `None`).
fn load_or_say(path: &std::path::Path) -> Option<show::ShowFile> {
    show::load(path).map_err(|errors| eprintln!("{errors}")).ok()
}

fn parse_lead(text: &str) -> Result<app::sync::Lead, String> {
    app::sync::Lead::parse(text)
}

fn parse_freewheel(text: &str) -> Result<app::sync::lock::Freewheel, String> {
    // Two seconds at the highest rate; the player holds it to two seconds at the show's.
    app::sync::lock::Freewheel::parse(text, 30)
}

fn parse_follow(text: &str) -> Result<app::sync::Follow, String> {
    app::sync::Follow::parse(text)
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("segue: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    match Cli::parse().command {
        Command::Play {
            show,
            headless,
            autoplay,
            start,
            backend,
            device,
            buffer,
            sample_rate,
            patch,
            osc,
            osc_allow,
            go_guard,
            midi,
            go_note,
            panic_note,
            msc_device,
            watch,
            journal,
            resume,
            chase,
            chase_offset,
            freewheel,
            lead,
            picture,
            strict,
            jack_name,
            connect,
        } => {
            let osc = match osc.as_str() {
                "off" | "none" => None,
                addr => Some(addr.parse().with_context(|| format!("--osc {addr}: expected ADDRESS:PORT or off"))?),
            };
            let options = app::PlayOptions {
                show,
                device: app::device::DeviceOptions {
                    backend,
                    device,
                    buffer,
                    sample_rate,
                    channels: 2,
                    jack_name: Some(jack_name),
                    ports: Vec::new(),
                    connect: connect.unwrap_or_default().0,
                },
                patch,
                start,
                autoplay,
                headless,
                osc,
                osc_allow,
                go_guard: std::time::Duration::from_millis(go_guard),
                journal,
                resume,
                midi: midi.iter().map(|m| app::midi::Wanted::parse(m)).collect(),
                midi_map: segue::control::midi::MidiMap { go_note, panic_note, msc_device },
                watch,
                follow: chase.unwrap_or_default(),
                chase_offset,
                freewheel,
                lead: lead.unwrap_or_default(),
                picture,
                strict,
            };
            match app::play(options) {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(e @ app::PlayError::NoOutput(_)) => {
                    eprintln!("segue: {e}");
                    Ok(ExitCode::from(2))
                }
                Err(e) => {
                    eprintln!("segue: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Devices => {
            print!("{}", app::device::list());
            print!("{}", app::midi::list());
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { show, loudness } => match show::load(&show) {
            Ok(file) => {
                println!("{}", show::summary::summary(&file));
                let gaps = show::credits::show_gaps(&file.show);
                if !gaps.is_empty() {
                    eprintln!("{} warning(s): a cue sheet would be incomplete:", gaps.len());
                    for gap in &gaps {
                        eprintln!("warning: {}: {gap}", file.path.display());
                    }
                }
                if loudness {
                    println!("Loudness (EBU R128, each file as it is, before gain_db):");
                    for (name, line) in segue::deliver::loudness::of_files(&file) {
                        println!("  {name}  {line}");
                    }
                }
                // What the show's own timeline never lets sound: the show opens and plays, but
                // a render or a screening would drop it, so `check` fails.
                let findings = segue::control::check::findings(&file);
                for f in &findings {
                    let kind = if f.error { "error" } else { "hint" };
                    eprintln!("{kind}: {}: {}: {}", file.path.display(), f.path, f.text);
                }
                let errors = findings.iter().filter(|f| f.error).count();
                if errors > 0 {
                    eprintln!("{errors} problem(s) found: parts of the show that never sound.");
                    return Ok(ExitCode::FAILURE);
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(errors) => {
                eprintln!("{errors}");
                eprintln!("{} problem(s) found.", errors.problems.len());
                Ok(ExitCode::FAILURE)
            }
        },
        Command::Cuesheet { show, output, sample_rate, from_log } => {
            let Some(file) = load_or_say(&show) else { return Ok(ExitCode::FAILURE) };
            // A log has no audio to draw: its sheet goes without the picture.
            let mut picture = None;
            let (rate, heard) = match &from_log {
                Some(log) => {
                    let text =
                        std::fs::read_to_string(log).with_context(|| format!("cannot read {}", log.display()))?;
                    let run = segue::deliver::cuesheet::heard_from_log(&file, &text, &log.display().to_string())
                        .map_err(anyhow::Error::msg)?;
                    if let Some(first) = run.skipped.first() {
                        eprintln!(
                            "warning: {}: {} line(s) are not JSON (cut short?) and were passed over, the first is line {first}",
                            log.display(),
                            run.skipped.len()
                        );
                    }
                    (run.rate, run.heard)
                }
                None => {
                    // The levels too: the HTML sheet has the picture of the mix below.
                    let options =
                        RenderOptions { sample_rate, trace: true, trace_levels: true, ..RenderOptions::default() };
                    let rendered = render::render_show(file.clone(), &options)?;
                    for notice in rendered.notices.iter().filter(|n| n.severity != Severity::Info) {
                        eprintln!("{notice}");
                    }
                    let view = segue::deliver::picture::View { from: 0, to: rendered.frames() as u64, width: 1600 };
                    picture = Some(segue::deliver::picture::draw(&file, &rendered, view).to_svg());
                    (sample_rate, rendered.heard)
                }
            };
            let sheet = segue::deliver::cuesheet::build(&file, rate, &heard);
            let kind = output.as_ref().and_then(|p| p.extension()).map(|e| e.to_string_lossy().to_lowercase());
            let text = match kind.as_deref() {
                None | Some("csv") => sheet.to_csv(),
                Some("json") => sheet.to_json(),
                Some("html" | "htm") => sheet.to_html(picture.as_deref()),
                Some(other) => anyhow::bail!("-o: cannot write a cue sheet as .{other}: use .csv, .json or .html"),
            };
            for n in &sheet.unheard {
                eprintln!("warning: {} ({}) is not on the sheet: {}", n.cue, n.title, n.why);
            }
            match &output {
                Some(path) => {
                    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!(
                        "wrote {} ({} uses of music; {} of the show's {} beds and cues heard)",
                        path.display(),
                        sheet.uses.len(),
                        sheet.parts - sheet.unheard.len(),
                        sheet.parts
                    );
                }
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Picture { show, output, from, to, width, sample_rate } => {
            let Some(file) = load_or_say(&show) else { return Ok(ExitCode::FAILURE) };
            let from = from.map(|m| m.secs(&file.show)).transpose().map_err(|e| anyhow::anyhow!("--from: {e}"))?;
            let to = to.map(|m| m.secs(&file.show)).transpose().map_err(|e| anyhow::anyhow!("--to: {e}"))?;
            let kind = output.extension().map(|e| e.to_string_lossy().to_lowercase());
            if !matches!(kind.as_deref(), Some("svg" | "png")) {
                anyhow::bail!("-o {}: a picture is written as .svg or .png", output.display());
            }
            let options = RenderOptions { sample_rate, trace: true, trace_levels: true, ..RenderOptions::default() };
            let rendered = render::render_show(file.clone(), &options)?;
            let frames = rendered.frames() as u64;
            let at = |secs: f64| ((secs * sample_rate as f64).round().max(0.0) as u64).min(frames);
            let view = segue::deliver::picture::View { from: from.map_or(0, at), to: to.map_or(frames, at), width };
            if view.to <= view.from {
                anyhow::bail!(
                    "--from must be before --to (and inside the render's {:.1} s)",
                    frames as f64 / sample_rate as f64
                );
            }
            let drawing = segue::deliver::picture::draw(&file, &rendered, view);
            let bytes = if kind.as_deref() == Some("png") { drawing.to_png() } else { drawing.to_svg().into_bytes() };
            std::fs::write(&output, bytes).with_context(|| format!("cannot write {}", output.display()))?;
            eprintln!("wrote {} ({} x {} px)", output.display(), drawing.width, drawing.height);
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema => {
            println!("{}", show::schema::schema_json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Render {
            show,
            output,
            sample_rate,
            block,
            start,
            duration,
            stems,
            bits,
            loudness_target,
            gain_db,
        } => {
            let Some(mut file) = load_or_say(&show) else { return Ok(ExitCode::FAILURE) };
            let start = start.map(|m| m.secs(&file.show)).transpose().map_err(|e| anyhow::anyhow!("--start: {e}"))?;
            let levels = segue::deliver::loudness::Levels { master_db: file.show.master_db, gain_db };
            // The render's gain is the show's master level moved: the same smoothing-free start,
            // the same clip reports, one gain stage.
            file.show.master_db += gain_db;
            let options = RenderOptions {
                sample_rate,
                block: block as usize,
                start,
                duration,
                progress: render::progress_wanted(),
                trace: false,
                trace_levels: false,
            };
            // Where the files sit on the picture's clock (Broadcast WAV): the production's start
            // timecode plus where the render starts.
            let first = (start.unwrap_or(0.0) * sample_rate as f64).round() as u64;
            let show_for_stamp = file.show.clone();
            let rendered = render::render_show(file, &options)?;
            for notice in rendered.notices.iter().filter(|n| n.severity != Severity::Info) {
                eprintln!("{notice}");
            }
            let write = |path: &std::path::Path, audio: &[Vec<f32>; 2], what: &str| -> anyhow::Result<()> {
                let stamp = segue::deliver::wav::Stamp::of(&show_for_stamp, sample_rate, first, what);
                let over =
                    segue::deliver::wav::write(path, sample_rate, audio, bits, &stamp).map_err(anyhow::Error::msg)?;
                if over > 0 {
                    let what = if bits == segue::deliver::wav::Bits::Float32 { "are above" } else { "were clipped at" };
                    eprintln!("warning: {}: {over} samples {what} full scale", path.display());
                }
                Ok(())
            };
            write(&output, &rendered.main, "the main mix")?;
            if let Some(dir) = stems {
                std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
                write(&dir.join("bed.wav"), &rendered.bed, "the bed stem")?;
                write(&dir.join("cues.wav"), &rendered.cues, "the cue stem")?;
            }
            match segue::deliver::loudness::measure(&[&rendered.main[0], &rendered.main[1]], sample_rate) {
                Ok(loudness) => {
                    eprintln!("loudness: {loudness}");
                    for warning in loudness.warnings(loudness_target, levels) {
                        eprintln!("warning: {warning}");
                    }
                }
                Err(e) => eprintln!("warning: {e}"),
            }
            let secs = rendered.frames() as f64 / sample_rate as f64;
            eprintln!(
                "wrote {} ({:.1} s at {} Hz) in {:.2} s, {:.0}x real time",
                output.display(),
                secs,
                sample_rate,
                rendered.elapsed.as_secs_f64(),
                secs / rendered.elapsed.as_secs_f64().max(1e-9)
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_argument_of_every_command_says_what_it_is() {
        let cli = Cli::command();
        let mut silent = Vec::new();
        for command in cli.get_subcommands() {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help" && id != "version" && arg.get_help().is_none() && arg.get_long_help().is_none() {
                    silent.push(format!("{} {id}", command.get_name()));
                }
            }
        }
        assert!(silent.is_empty(), "arguments without help: {silent:?}");
    }
}
