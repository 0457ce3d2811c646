//! `cargo xtask <task>`: developer tasks for Segue that are not part of the shipped crate.
//!
//! Tasks:
//! - `bundle segue [--release]`: build the plugin and bundle it as `target/bundled/Segue.clap`
//!   and `target/bundled/Segue.vst3` (nice-plug-xtask; names from `bundler.toml`).
//! - `demo-assets`: synthesise the original demo music into `presets/demo/audio/`.
//! - `soak [SECONDS]`: the soak of `tests/soak.rs` (random commands over a 32-voice show,
//!   offline) for SECONDS of show time (default 600), printing memory as it goes. A debug build,
//!   as `cargo test` makes: the allocation checker counts only there (and it runs 20x real time).
//! - `soak --real-time [SECONDS]`: the same show and commands through the live player's audio
//!   path on a JACK dummy server, for SECONDS of wall time (default 180).

mod demo_assets;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  bundle segue [--release]   build target/bundled/Segue.clap and Segue.vst3
  demo-assets                synthesise the demo show's music into presets/demo/audio/
  soak [SECONDS]             run the offline soak (tests/soak.rs) for SECONDS of show time (600)
  soak --real-time [SECONDS] run the real-time soak on a JACK dummy server for SECONDS (180)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bundle" | "bundle-universal" | "known-packages") => nice_plug_xtask::main_with_args("cargo xtask", args),
        Some("demo-assets") => demo_assets::run(&workspace_root().join("presets/demo/audio")),
        Some("soak") => match args.get(1).map(String::as_str) {
            Some("--real-time") => soak(args.get(2).map(String::as_str).unwrap_or("180"), true),
            secs => soak(secs.unwrap_or("600"), false),
        },
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => {
            eprintln!("unknown task `{other}`\n\n{USAGE}");
            return ExitCode::from(1);
        }
        None => {
            eprintln!("{USAGE}");
            return ExitCode::from(1);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// The workspace root: the parent of this crate's folder (fixed at compile time, so the task
/// works from any current directory).
fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Runs one of the soak tests for `secs` seconds (of show time offline, of wall time in real
/// time).
fn soak(secs: &str, real_time: bool) -> anyhow::Result<()> {
    let secs: u64 = secs.parse().map_err(|_| anyhow::anyhow!("soak: SECONDS must be a whole number, not `{secs}`"))?;
    let (var, test) =
        if real_time { ("SEGUE_RT_SOAK_SECS", "a_real_time_run") } else { ("SEGUE_SOAK_SECS", "a_long_random_run") };
    let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(workspace_root())
        .env(var, secs.to_string())
        .args(["test", "--test", "soak", test, "--", "--nocapture"])
        .status()?;
    anyhow::ensure!(status.success(), "the soak failed ({status})");
    Ok(())
}
