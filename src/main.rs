//! The `segue` command line: check a show, print its schema, render it to WAV.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

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
enum Command {
    /// Validate a show file and its audio; print a summary, or every problem found.
    Check { show: PathBuf },
    /// Print the JSON Schema of the show format (for editors).
    Schema,
    /// Bounce a show's timeline to a 32-bit float stereo WAV.
    Render {
        show: PathBuf,
        /// The WAV file to write.
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long, default_value_t = 48_000, value_parser = clap::value_parser!(u32).range(8_000..=384_000))]
        sample_rate: u32,
        /// Frames per engine block (the output is identical for any block size).
        #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=65_536))]
        block: u32,
        /// Where on the show timeline to start, in seconds or MM:SS.mmm (default: 0).
        #[arg(long, value_parser = parse_time)]
        start: Option<f64>,
        /// Seconds to render (default: to the show's end and its fade).
        #[arg(long)]
        duration: Option<f64>,
        /// Also write the bed and cue buses as `bed.wav` and `cues.wav` into this folder.
        #[arg(long)]
        stems: Option<PathBuf>,
    },
}

fn parse_time(text: &str) -> Result<f64, String> {
    show::time::parse_time(text).map_err(|e| e.to_string())
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
        Command::Check { show } => match show::load(&show) {
            Ok(file) => {
                println!("{}", show::summary::summary(&file));
                Ok(ExitCode::SUCCESS)
            }
            Err(errors) => {
                eprintln!("{errors}");
                eprintln!("{} problem(s) found.", errors.problems.len());
                Ok(ExitCode::FAILURE)
            }
        },
        Command::Schema => {
            println!("{}", show::schema::schema_json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Render { show, output, sample_rate, block, start, duration, stems } => {
            let file = match show::load(&show) {
                Ok(file) => file,
                Err(errors) => {
                    eprintln!("{errors}");
                    return Ok(ExitCode::FAILURE);
                }
            };
            let options = RenderOptions {
                sample_rate,
                block: block as usize,
                start,
                duration,
                progress: render::progress_wanted(),
            };
            let rendered = render::render_show(file, &options)?;
            for notice in rendered.notices.iter().filter(|n| n.severity != Severity::Info) {
                eprintln!("{notice}");
            }
            render::write_wav(&output, sample_rate, &rendered.main)?;
            if let Some(dir) = stems {
                std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
                render::write_wav(&dir.join("bed.wav"), sample_rate, &rendered.bed)?;
                render::write_wav(&dir.join("cues.wav"), sample_rate, &rendered.cues)?;
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
