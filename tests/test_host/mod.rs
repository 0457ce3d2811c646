//! What the tests that load the built plugin through a CLAP host (clack-host) share: the
//! plugin library, the main-thread callback flag, raw plugin extensions, the host transport and
//! nice-plug's state format. Each test binary uses part of it.
#![allow(dead_code)]

use std::ffi::CStr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use clack_host::events::event_types::{TransportEvent, TransportFlags};
use clack_host::events::{EventFlags, EventHeader};
use clack_host::prelude::*;
use clack_host::utils::FixedPoint;
use segue::plugin::params::SavedShow;

pub const PLUGIN_ID: &CStr = c"org.segue.player";

/// The plugin library `cargo test` built for this test binary, loaded once for the whole
/// process. It is `target/debug/deps/libsegue.so`, beside the test binary: `cargo test` builds
/// the cdylib there but, the library not being one of its root targets, does not copy it up to
/// `target/debug/libsegue.so`, which is whatever the last `cargo build` left.
pub fn entry() -> &'static PluginEntry {
    static ENTRY: OnceLock<PluginEntry> = OnceLock::new();
    ENTRY.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let dir = exe.parent().expect("the test binary is in target/<profile>/deps");
        let path = dir.join(format!("{}segue{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX));
        assert!(path.exists(), "{} is missing: `cargo test` builds it with the library", path.display());
        // SAFETY: the plugin library of this very crate, built by this `cargo test`.
        unsafe { PluginEntry::load(&path) }.unwrap_or_else(|e| panic!("cannot load {}: {e}", path.display()))
    })
}

/// The host's shared handler: notes when the plugin asks for a main-thread callback.
pub struct Shared {
    pub callback: AtomicBool,
}

impl Shared {
    pub fn new() -> Shared {
        Shared { callback: AtomicBool::new(false) }
    }

    /// Whether a main-thread callback was asked for since the last call.
    pub fn take_callback(&self) -> bool {
        self.callback.swap(false, Ordering::SeqCst)
    }
}

impl SharedHandler<'_> for Shared {
    fn request_restart(&self) {}
    fn request_process(&self) {}
    fn request_callback(&self) {
        self.callback.store(true, Ordering::SeqCst);
    }
}

/// The plugin side of a CLAP extension, by its raw struct.
macro_rules! plugin_extension {
    ($name:ident, $raw:ty, $id:expr) => {
        #[derive(Copy, Clone)]
        struct $name(RawExtension<PluginExtensionSide, $raw>);

        // SAFETY: the identifier is the one the CLAP headers give this struct.
        unsafe impl Extension for $name {
            const IDENTIFIERS: &'static [&'static CStr] = &[$id];
            type ExtensionSide = PluginExtensionSide;

            unsafe fn from_raw(raw: RawExtension<Self::ExtensionSide>) -> Self {
                // SAFETY: the caller gives the pointer of this extension's identifier.
                Self(unsafe { raw.cast() })
            }
        }
    };
}
pub(crate) use plugin_extension;

/// The host transport at timeline frame `position`, on a seconds timeline.
pub fn transport(playing: bool, position: u64, rate: u32) -> TransportEvent {
    let mut flags = TransportFlags::HAS_SECONDS_TIMELINE;
    if playing {
        flags |= TransportFlags::IS_PLAYING;
    }
    // Seconds in CLAP's 31-bit fixed point: 2^-31 s is far below a frame, so nice-plug's
    // `pos_samples` (seconds × rate, rounded) gives `position` back exactly.
    let seconds = FixedPoint::from_bits(((position as i128 * FixedPoint::FACTOR as i128) / rate as i128) as i64);
    TransportEvent {
        header: EventHeader::new_core(0, EventFlags::empty()),
        flags,
        song_pos_beats: FixedPoint::from_int(0),
        song_pos_seconds: seconds,
        tempo: 120.0,
        tempo_inc: 0.0,
        loop_start_beats: FixedPoint::from_int(0),
        loop_end_beats: FixedPoint::from_int(0),
        loop_start_seconds: FixedPoint::from_int(0),
        loop_end_seconds: FixedPoint::from_int(0),
        bar_start: FixedPoint::from_int(0),
        bar_number: 0,
        time_signature_numerator: 4,
        time_signature_denominator: 4,
    }
}

/// nice-plug's CLAP state: an 8-byte little-endian length, then the JSON of its `PluginState`.
pub fn state_json(bytes: &[u8]) -> serde_json::Value {
    assert!(bytes.len() > 8, "a state of {} bytes", bytes.len());
    let (len, json) = bytes.split_at(8);
    assert_eq!(u64::from_le_bytes(len.try_into().unwrap()) as usize, json.len(), "the length prefix");
    serde_json::from_slice(json).expect("the state is JSON")
}

pub fn state_bytes(value: &serde_json::Value) -> Vec<u8> {
    let json = serde_json::to_vec(value).unwrap();
    let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
    bytes.extend(json);
    bytes
}

/// `base` (a state the plugin saved) with its persisted "show" field replaced.
pub fn with_show(base: &[u8], show: &SavedShow) -> Vec<u8> {
    let mut state = state_json(base);
    let field = serde_json::to_string(&Some(show)).unwrap();
    state["fields"]["show"] = serde_json::Value::String(field);
    state_bytes(&state)
}

/// A show as the plugin saves it: its JSON, and the folder its relative paths resolve against.
pub fn saved_show(dir: &Path) -> SavedShow {
    let path = dir.join("show.json");
    SavedShow {
        format: "segue-plugin-state/1".into(),
        path: path.display().to_string(),
        dir: dir.display().to_string(),
        json: std::fs::read_to_string(&path).unwrap(),
    }
}
