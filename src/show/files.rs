//! What a path names, before Segue reads it (control side): show files and audio files must be
//! regular files. A folder, a FIFO (which would block the read forever), a device (`/dev/zero`
//! reads without end) or a socket is refused with words that say which it is.

/// Not a regular file: said the same way by the probe (`stream`) and the show's own checks.
pub use crate::stream::probe::not_a_file;

/// Whether an audio path as written in a show leads out of the show's folder: an absolute path,
/// or one whose `..` climb above where it starts (`../../etc/passwd`). Such paths are played
/// (a show may share a music library), and `segue check` lists them.
pub fn leaves_folder(written: &str) -> bool {
    use std::path::Component;
    let mut depth = 0i64;
    for part in std::path::Path::new(written).components() {
        match part {
            Component::Prefix(_) | Component::RootDir => return true,
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_climb_out_of_the_show_folder_are_told_apart() {
        for inside in ["song.wav", "audio/song.wav", "./audio/../song.wav", "a/b/../../c.wav"] {
            assert!(!leaves_folder(inside), "{inside}");
        }
        for outside in ["../song.wav", "../../etc/passwd", "/etc/passwd", "audio/../../x.wav", "./../x.wav"] {
            assert!(leaves_folder(outside), "{outside}");
        }
    }

    #[test]
    fn folders_and_devices_are_named_for_what_they_are() {
        let dir = std::env::temp_dir();
        assert_eq!(not_a_file(&std::fs::metadata(&dir).unwrap()), Some("a folder"));
        #[cfg(unix)]
        assert_eq!(not_a_file(&std::fs::metadata("/dev/zero").unwrap()), Some("a device"));
        let file = dir.join(format!("segue-files-{}.txt", std::process::id()));
        std::fs::write(&file, "x").unwrap();
        assert_eq!(not_a_file(&std::fs::metadata(&file).unwrap()), None);
        let _ = std::fs::remove_file(&file);
    }
}
