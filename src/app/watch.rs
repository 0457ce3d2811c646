//! `segue play --watch` (a thread of its own): reads the show file twice a second (a show file
//! is a few kilobytes; its contents, not its time stamp, say whether it changed, whatever the
//! file system's clock); once a change has settled (the same on two looks, so a save in
//! progress is not taken half-written), checks the show the way `segue check` does and hands the result to the
//! control loop, which reloads a valid show when the transport is stopped (or at once on `r`)
//! and lists an invalid one's problems while the current show plays on.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::show::{self, ShowErrors, ShowFile};

/// How often the file is looked at.
const LOOK: Duration = Duration::from_millis(500);

/// What a save turned out to be.
pub enum Saved {
    Valid(Box<ShowFile>),
    Invalid(ShowErrors),
    /// The file cannot be read (deleted, renamed away): said, and looked at again.
    Unreadable(String),
}

/// The file's contents: what a version of it is.
fn stamp(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Starts watching `path`, which had `opened` in it when the player read it (read before the
/// show was loaded, so a save made meanwhile is news); what each settled save is comes on the
/// channel.
pub fn spawn(path: PathBuf, opened: Option<Vec<u8>>, broken: show::Broken, tx: crossbeam_channel::Sender<Saved>) {
    let _ = std::thread::Builder::new().name("segue-watch".into()).spawn(move || {
        // The version the player opened with is not news.
        let mut seen = opened;
        let mut last_look = seen.clone();
        let mut said_unreadable = false;
        loop {
            std::thread::sleep(LOOK);
            let now = match stamp(&path) {
                Ok(s) => s,
                Err(e) => {
                    if !said_unreadable && tx.send(Saved::Unreadable(e)).is_err() {
                        return;
                    }
                    said_unreadable = true;
                    last_look = None;
                    continue;
                }
            };
            said_unreadable = false;
            let settled = last_look.as_ref() == Some(&now);
            if !settled || seen.as_ref() == Some(&now) {
                last_look = Some(now);
                continue;
            }
            seen = Some(now.clone());
            last_look = Some(now);
            let saved = match show::load_with(&path, broken) {
                Ok(file) => Saved::Valid(Box::new(file)),
                Err(errors) => Saved::Invalid(errors),
            };
            if tx.send(saved).is_err() {
                return;
            }
        }
    });
}

/// Checks the show file once, off the control loop (`r` without a save seen): the result comes
/// on `tx` like a save's.
pub fn check_once(path: PathBuf, broken: show::Broken, tx: crossbeam_channel::Sender<Saved>) {
    let _ = std::thread::Builder::new().name("segue-reload".into()).spawn(move || {
        let saved = match show::load_with(&path, broken) {
            Ok(file) => Saved::Valid(Box::new(file)),
            Err(errors) => Saved::Invalid(errors),
        };
        let _ = tx.send(saved);
    });
}
