//! Segue as a DAW plugin (CLAP and VST3, through nice-plug).
//!
//! `process` runs on the host's audio thread: it turns MIDI notes (at their exact frame),
//! parameter changes and the host transport into engine commands, then runs the `Engine` into
//! the plugin's own buffers and copies each output to the host once. Host output buffers are
//! never read back: a host may hand several outputs the same buffer (Ardour's strict I/O gives
//! every unconnected output one scratch buffer) or process in place. Everything `process` needs
//! is built in `activate` (host main thread). Shows load on the plugin's own desk thread
//! (`desk`), which owns the `Controller`.
//!
//! Real time, `process` never allocates, locks or waits. Offline (a DAW's export or bounce,
//! faster than real time) it waits for the desk and the loader before each piece it renders,
//! exactly as `segue render` does, so a bounce equals the render; a clip whose data does not
//! come within `OFFLINE_STALL` is given up (reported) and plays silence.
//!
//! Chase: with chase on, the show timeline follows the host's transport (`control::chase`).

pub mod desk;
pub mod editor;
pub mod params;

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nice_plug::prelude::*;

use crate::control::chase::{self, Chase, Pacing, Transport};
use crate::control::midi as show_midi;
use crate::control::OFFLINE_STALL;
use crate::engine::command::{Action, Command, Level};
use crate::engine::{Engine, EngineConfig, Mix, PIECE};
use crate::stream::loader::{Loader, LoaderConfig};
use desk::{Desk, DeskParts, DeskRequest, DeskStatus};
use params::{SavedShow, SegueParams, DUCK_ATTACK_DEFAULT, DUCK_DEPTH_DEFAULT, DUCK_RELEASE_DEFAULT};

/// How long `activate` waits for a restored show to be ready to play from its start.
const ACTIVATE_WAIT: Duration = Duration::from_secs(3);

pub struct Segue {
    params: Arc<SegueParams>,
    engine: Option<Engine>,
    desk: Option<Desk>,
    /// Editor → desk requests; the receiver is handed to each desk thread.
    requests: crossbeam_channel::Sender<DeskRequest>,
    requests_rx: crossbeam_channel::Receiver<DeskRequest>,
    /// The host transport followed with the show timeline (absent while inactive).
    chase: Option<Chase>,
    status: Arc<Mutex<DeskStatus>>,
    /// The show the desk has loaded, as saved state.
    loaded: Arc<Mutex<Option<SavedShow>>>,
    /// GO and panic notes, packed (see `desk::pack_notes`).
    notes: Arc<AtomicU32>,
    sample_rate: u32,
    /// What the audio thread last sent, to send changes only.
    sent: Sent,
    /// Set by the desk while it is loading a show (offline, the bounce waits for it).
    loading: Arc<AtomicBool>,
    mix: Option<Mix>,
    /// The host said it renders offline (export, bounce).
    offline_mode: bool,
    /// Offline, said or seen (`Pace`): wait for data instead of playing silence.
    offline: bool,
    pace: Pace,
}

/// Tells a host that runs the plugin much faster than real time without saying so (Ardour 7's
/// export runs VST3 plugins in freewheel with the real-time process mode): audio time against
/// wall time over windows of `PACE_WINDOW_SECS` of audio.
#[derive(Default)]
struct Pace {
    since: Option<Instant>,
    frames: u64,
    fast: bool,
}

/// Half a second of audio per look: long enough that a host's bursts (a prefetching host runs up
/// to a few hundred milliseconds ahead, then waits) average out.
const PACE_WINDOW_SECS: f64 = 0.5;

/// Faster than this many times real time over a window is a freewheeling host: real-time hosts
/// average 1x, prefetching ones stay well under 3x over half a second.
const FREEWHEEL_RATIO: f64 = 4.0;

/// Seen to freewheel (not said), a wait for missing data is kept short: if the guess were wrong
/// the block would have underrun anyway, and this bounds the stall.
const FREEWHEEL_STALL: Duration = Duration::from_millis(100);

impl Pace {
    /// Counts a block of `frames`; whether the host is freewheeling, as of the last window.
    fn freewheeling(&mut self, frames: usize, rate: u32) -> bool {
        let now = Instant::now();
        let since = *self.since.get_or_insert(now);
        self.frames += frames as u64;
        let audio = self.frames as f64 / rate.max(1) as f64;
        if audio >= PACE_WINDOW_SECS {
            let wall = now.duration_since(since).as_secs_f64();
            self.fast = audio > FREEWHEEL_RATIO * wall;
            self.since = Some(now);
            self.frames = 0;
        }
        self.fast
    }
}

#[derive(Default, Clone, Copy, PartialEq)]
struct Sent {
    levels: [f32; 3],
    duck: (Option<f32>, Option<f32>, Option<f32>),
    scene: i32,
}

impl Default for Segue {
    fn default() -> Self {
        let (requests, requests_rx) = crossbeam_channel::unbounded();
        let params = Arc::new(SegueParams::default());
        let notes = Arc::new(AtomicU32::new(desk::pack_notes(Default::default())));
        Segue {
            params,
            engine: None,
            desk: None,
            requests,
            requests_rx,
            chase: None,
            status: Arc::new(Mutex::new(DeskStatus::default())),
            loaded: Arc::new(Mutex::new(None)),
            notes,
            sample_rate: 0,
            sent: Sent { levels: [f32::NAN; 3], duck: (None, None, None), scene: 0 },
            loading: Arc::new(AtomicBool::new(false)),
            mix: None,
            offline_mode: false,
            offline: false,
            pace: Pace::default(),
        }
    }
}

impl Segue {
    /// Builds the engine, loader and desk for `rate` (host main thread, before processing).
    fn start(&mut self, rate: u32) {
        self.desk = None;
        let (engine, ends, loader_ends) = Engine::new(EngineConfig::new(rate));
        let loader = Loader::spawn(LoaderConfig::live(rate), loader_ends);
        let (transport, transport_rx) = rtrb::RingBuffer::new(256);
        let initial = self.params.show.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let midi = *self.params.midi.lock().unwrap_or_else(|e| e.into_inner());
        self.notes.store(desk::pack_notes(midi), Ordering::Relaxed);
        // Busy from the start: the desk clears it once the show it starts with is in the engine.
        self.loading.store(true, Ordering::SeqCst);
        self.desk = Some(Desk::spawn(DeskParts {
            rate,
            ends,
            loader,
            requests: self.requests_rx.clone(),
            transport: transport_rx,
            status: self.status.clone(),
            params: self.params.clone(),
            notes: self.notes.clone(),
            initial,
            loaded: self.loaded.clone(),
            loading: self.loading.clone(),
        }));
        self.engine = Some(engine);
        self.chase = Some(Chase::new(transport));
        self.sample_rate = rate;
        self.sent = Sent { levels: [f32::NAN; 3], duck: (None, None, None), scene: 0 };
        self.mix = Some(Mix::default());
    }

    /// After a (re)start, on the host's main thread: waits until the show the project restored
    /// is in the engine and its start is armed, so the first block can already play it (a
    /// project opened straight into an export, or with the transport playing, starts on frame 0
    /// exactly as `segue render` does). Bounded: a show's start arms in about 0.1 s; a slow disk
    /// makes the first play land late instead of hanging the host.
    fn wait_for_the_show(&mut self) {
        let Some(engine) = self.engine.as_mut() else { return };
        let loading = &self.loading;
        chase::wait_until(engine, ACTIVATE_WAIT, |e| !loading.load(Ordering::SeqCst) && chase::start_is_armed(e));
    }

    /// Level and duck parameters into engine commands, when they change.
    fn apply_params(&mut self, engine: &mut Engine) {
        let p = &self.params;
        let levels = [p.master.value(), p.bed.value(), p.cues.value()];
        for (i, level) in [Level::Master, Level::Bed, Level::Cues].into_iter().enumerate() {
            if levels[i] != self.sent.levels[i] {
                engine.schedule_command(Command::now(Action::SetLevel { level, db: levels[i] }));
            }
        }
        self.sent.levels = levels;
        let over = |v: f32, default: f32| (v != default).then_some(v);
        let duck = (
            over(p.duck_depth.value(), DUCK_DEPTH_DEFAULT),
            over(p.duck_attack.value(), DUCK_ATTACK_DEFAULT),
            over(p.duck_release.value(), DUCK_RELEASE_DEFAULT),
        );
        if duck != self.sent.duck {
            engine.schedule_command(Command::now(Action::SetDuckOverride {
                depth_db: duck.0,
                attack_ms: duck.1,
                release_ms: duck.2,
            }));
            self.sent.duck = duck;
        }
        let scene = p.scene.value();
        if scene != self.sent.scene {
            if scene > 0 {
                engine.schedule_command(Command::now(Action::EnterScene { scene: scene as u32 - 1 }));
            }
            self.sent.scene = scene;
        }
    }

    /// How this block is paced: offline when the host says so (the full stall, clips may be
    /// given up) or when it is seen to freewheel (short waits, nothing given up for good).
    fn pacing(&self) -> Pacing {
        match (self.offline_mode, self.offline) {
            (true, _) => Pacing::Offline { stall: OFFLINE_STALL, give_up: true },
            (false, true) => Pacing::Offline { stall: FREEWHEEL_STALL, give_up: false },
            (false, false) => Pacing::RealTime,
        }
    }
}

impl Plugin for Segue {
    const NAME: &'static str = "Segue";
    const VENDOR: &'static str = "Segue";
    const URL: &'static str = "https://example.invalid/segue";
    const EMAIL: &'static str = "segue@example.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: None,
            main_output_channels: NonZeroU32::new(2),
            aux_input_ports: &[],
            aux_output_ports: &[new_nonzero_u32(2), new_nonzero_u32(2)],
            names: PortNames {
                layout: Some("Stereo with stems"),
                main_input: None,
                main_output: Some("Main"),
                aux_inputs: &[],
                aux_outputs: &["Bed", "Cues"],
            },
        },
        AudioIOLayout {
            // For hosts (or tracks) that take one stereo output: the whole mix.
            main_input_channels: None,
            main_output_channels: NonZeroU32::new(2),
            aux_input_ports: &[],
            aux_output_ports: &[],
            names: PortNames {
                layout: Some("Stereo"),
                main_input: None,
                main_output: Some("Main"),
                aux_inputs: &[],
                aux_outputs: &[],
            },
        },
    ];

    const MIDI_INPUT: MidiConfig = MidiConfig::MidiCCs;
    const SAMPLE_ACCURATE_AUTOMATION: bool = false;

    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    type Editor = nice_plug_egui::EguiEditor<editor::SegueEditor>;

    fn editor(&mut self, _executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::create(self.params.clone(), self.status.clone(), self.requests.clone())
    }

    fn activate(
        &mut self,
        _layout: &AudioIOLayout,
        config: &BufferConfig,
        _context: &mut impl ActivateContext<Self>,
    ) -> bool {
        let rate = config.sample_rate.round() as u32;
        if rate == 0 {
            return false;
        }
        // VST3 `kOffline`, the CLAP render extension: the host re-activates when this changes.
        self.offline_mode = config.process_mode == ProcessMode::Offline;
        self.offline = self.offline_mode;
        self.pace = Pace::default();
        // A state the host loads later is picked up by the desk (it watches the persisted show).
        if self.engine.is_none() || rate != self.sample_rate {
            self.start(rate);
            self.wait_for_the_show();
        }
        // Resampling happens on the loader thread with its delay trimmed: no latency to report.
        true
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let Some(mut engine) = self.engine.take() else {
            for channel in buffer.as_slice() {
                channel.fill(0.0);
            }
            for port in aux.outputs.iter_mut() {
                for channel in port.as_slice() {
                    channel.fill(0.0);
                }
            }
            return ProcessStatus::Normal;
        };
        let frames = buffer.samples();
        self.offline = self.offline_mode || self.pace.freewheeling(frames, self.sample_rate);
        if self.offline {
            // A show the desk is still loading (a project opened straight into an export) comes
            // first, so the bounce starts with it.
            let loading = self.loading.clone();
            if let Pacing::Offline { stall, .. } = self.pacing() {
                chase::wait_until(&mut engine, stall, |_| !loading.load(Ordering::SeqCst));
            }
        }
        let clock = engine.clock();
        engine.poll();
        self.apply_params(&mut engine);
        let (go_note, panic_note) = desk::unpack_notes(self.notes.load(Ordering::Relaxed));
        let map = show_midi::MidiMap { go_note, panic_note, ..Default::default() };
        while let Some(event) = context.next_event() {
            let at = clock + event.timing() as u64;
            let command = match event {
                NoteEvent::NoteOn { key: nice_plug::midi::Key::Number(note), velocity, .. } if velocity > 0.0 => {
                    show_midi::note(note, &map)
                }
                NoteEvent::MidiProgramChange { program, .. } => show_midi::MidiCommand::Program(program),
                _ => continue,
            };
            if let Some(action) = command.action() {
                engine.schedule_command(Command::at(at, action));
            }
        }
        let pacing = self.pacing();
        if let Some(chase) = &mut self.chase {
            if self.params.chase.value() {
                let t = context.transport();
                let transport = Transport {
                    playing: t.playing,
                    position: t.pos_samples().map(|p| p.max(0) as u64),
                    loop_start: t.loop_range_samples().map(|(start, _)| start.max(0) as u64),
                };
                chase.follow(&mut engine, transport, frames as u64, pacing);
            } else {
                chase.stop(&mut engine);
            }
        }
        let mut mix = self.mix.take().unwrap_or_default();
        let mut done = 0;
        while done < frames {
            let n = PIECE.min(frames - done);
            chase::wait_for_data(&mut engine, n, pacing);
            engine.process(mix.outputs(n));
            write_outputs(&mix, n, done, buffer, aux);
            done += n;
        }
        self.mix = Some(mix);
        self.engine = Some(engine);
        // The show sounds without input, so the host must not put the plugin to sleep.
        ProcessStatus::KeepAlive
    }

    fn deactivate(&mut self) {
        self.desk = None;
        self.engine = None;
        self.chase = None;
    }
}

/// Copies frames `..n` of the engine's mix to the host's outputs at `at`: the stems first, main
/// last, each once, never read back. Where a host gives outputs the same buffer (or main and a
/// stem alias), main is what stays in it; without stem ports, main is still the whole mix.
fn write_outputs(mix: &Mix, n: usize, at: usize, main: &mut Buffer, aux: &mut AuxiliaryBuffers) {
    let [ml, mr, bl, br, cl, cr] = mix.channels();
    for (port, stem) in aux.outputs.iter_mut().zip([[bl, br], [cl, cr]]) {
        for (i, channel) in port.as_slice().iter_mut().enumerate() {
            // A port with more channels than two gets the pair, then silence.
            match stem.get(i) {
                Some(src) => channel[at..at + n].copy_from_slice(&src[..n]),
                None => channel[at..at + n].fill(0.0),
            }
        }
    }
    // Keeps the compiler from moving the stems' stores after main's: with aliasing host buffers
    // (which it cannot know of) main must be written last.
    std::sync::atomic::compiler_fence(Ordering::SeqCst);
    for (i, channel) in main.as_slice().iter_mut().enumerate() {
        match [ml, mr].get(i) {
            Some(src) => channel[at..at + n].copy_from_slice(&src[..n]),
            None => channel[at..at + n].fill(0.0),
        }
    }
}

impl ClapPlugin for Segue {
    const CLAP_ID: &'static str = "org.segue.player";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Cue player for score beds and song cues: crossfades, ducking, MIDI-triggered cues, transport chase");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] =
        &[ClapFeature::Instrument, ClapFeature::Sampler, ClapFeature::Stereo, ClapFeature::Utility];
}

impl Vst3Plugin for Segue {
    const VST3_CLASS_ID: [u8; 16] = *b"SegueCuePlayer01";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Instrument, Vst3SubCategory::Sampler, Vst3SubCategory::Stereo];
}

nice_export_clap!(Segue);
nice_export_vst3!(Segue);
