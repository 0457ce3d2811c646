//! The cut in rehearsal (`segue play SHOW --picture CUT.mp4`): xjadeo (Ardour's video monitor,
//! Debian `xjadeo`) opened on the cut, following JACK transport, which the show's own
//! transport leads (`sync::lead`), so picture and music run together from one laptop. The
//! cut's first frame is the show's `start_timecode` (or `--chase-offset`).
//!
//! Control side: xjadeo is a child process driven through its remote control on stdin and
//! stdout (`xjadeo -R`); a reader thread takes its answers. `Picture::ask` (the control loop,
//! a few times a second) asks which frame it shows; the answer is kept with the frame the show
//! was on when it came, so the state can say whether picture and music agree.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use crate::control::sync::PictureView;
use crate::control::transport::Published;

/// What xjadeo last said, and where the show was then.
#[derive(Debug, Default)]
struct Shown {
    /// The cut's frame on screen (-1: not said yet).
    frame: AtomicI64,
    /// The show's timeline frame when it said so.
    at: AtomicU64,
    /// The cut's frame rate × 1000 (0: not said yet).
    fps_milli: AtomicU64,
}

/// The cut, shown by xjadeo.
pub struct Picture {
    child: Child,
    stdin: ChildStdin,
    shown: Arc<Shown>,
    pub file: String,
}

impl Picture {
    /// Opens `file` in xjadeo, following JACK transport, with the show's 0 on JACK frame `zero`
    /// (`sample_rate`); `published`: where the show is.
    pub fn open(file: &Path, zero: u64, sample_rate: u32, published: Published) -> Result<Picture, String> {
        if !file.is_file() {
            return Err(format!("--picture {}: no such file", file.display()));
        }
        if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
            return Err("--picture opens the cut in a window, and there is no display (DISPLAY is not set)".into());
        }
        let mut child = Command::new("xjadeo")
            .args(["-R", "-S"])
            .arg(file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("--picture needs xjadeo (Debian package xjadeo): {e}"))?;
        let mut stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let shown = Arc::new(Shown { frame: AtomicI64::new(-1), ..Shown::default() });
        let seen = shown.clone();
        let (offset_tx, offset_rx) = crossbeam_channel::bounded::<String>(1);
        std::thread::Builder::new()
            .name("segue-xjadeo".into())
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { return };
                    if let Some(frame) = line.strip_prefix("@201 position=").and_then(|n| n.trim().parse().ok()) {
                        seen.at.store(published.load().1, Ordering::Relaxed);
                        seen.frame.store(frame, Ordering::Relaxed);
                    } else if let Some(fps) =
                        line.strip_prefix("@202 framerate=").and_then(|n| n.trim().parse::<f64>().ok())
                    {
                        seen.fps_milli.store((fps * 1000.0).round() as u64, Ordering::Relaxed);
                        // xjadeo counts the cut's frames from JACK frame 0: the show's 0 is the
                        // cut's first frame.
                        let offset = (zero as f64 * fps / sample_rate as f64).round() as i64;
                        let _ = offset_tx.try_send(format!("set offset {}\n", -offset));
                    }
                }
            })
            .map_err(|e| format!("cannot read xjadeo: {e}"))?;
        stdin.write_all(b"get framerate\n").map_err(|e| format!("xjadeo: {e}"))?;
        stdin.flush().map_err(|e| format!("xjadeo: {e}"))?;
        // The offset as soon as the cut's rate is known (xjadeo has loaded it).
        let offset = offset_rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .map_err(|_| format!("xjadeo did not open {} (is it a video file?)", file.display()))?;
        stdin.write_all(offset.as_bytes()).map_err(|e| format!("xjadeo: {e}"))?;
        let name = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into());
        Ok(Picture { child, stdin, shown, file: name })
    }

    /// Asks xjadeo which frame it shows (the answer comes to the state).
    pub fn ask(&mut self) {
        let _ = self.stdin.write_all(b"get position\n").and_then(|_| self.stdin.flush());
    }

    /// What xjadeo last said, and the show's place then in the cut's frames.
    pub fn view(&self, sample_rate: u32) -> PictureView {
        let fps = self.shown.fps_milli.load(Ordering::Relaxed) as f64 / 1000.0;
        let frame = Some(self.shown.frame.load(Ordering::Relaxed)).filter(|&f| f >= 0);
        let at = self.shown.at.load(Ordering::Relaxed);
        let show_frame = frame.map(|_| (at as f64 * fps / sample_rate as f64).floor() as i64);
        PictureView { file: self.file.clone(), frame, show_frame, fps }
    }
}

impl Drop for Picture {
    fn drop(&mut self) {
        let _ = self.stdin.write_all(b"quit\n").and_then(|_| self.stdin.flush());
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
        while std::time::Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
