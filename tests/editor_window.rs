//! The plugin's editor, opened for real: the debug `libsegue.so` that `cargo test` builds is
//! loaded through a CLAP host (clack-host), given the demo show through its state, activated,
//! and asked for its GUI (the CLAP gui extension, X11 API) inside a parent window this test
//! creates on its own Xvfb server. The transport plays from 0 (chase on) at about real time on
//! an audio thread while the main thread serves the plugin's main-thread callbacks, and the
//! screen is grabbed with ImageMagick's `import` and looked at: the window is drawn (not one flat
//! colour, text on it), its meters move, a refused show shows up as a problem, and the editor
//! resizes.
//!
//! Needs `Xvfb` (Debian: xvfb), `import` and `convert` (imagemagick), Mesa's software OpenGL,
//! which the editor reaches through EGL (libgl1-mesa-dri, libegl1, libegl-mesa0; libglx-mesa0 for
//! GLX), and the X libraries baseview loads at run time (libx11-xcb1, libxkbcommon-x11-0). The
//! pictures go to `target/editor-window/`.

mod test_host;

use std::collections::HashSet;
use std::ffi::CStr;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clack_host::extensions::prelude::*;
use clack_host::prelude::*;
use clack_host::stream::{InputStream, OutputStream};
use clap_sys::audio_buffer::clap_audio_buffer;
use clap_sys::ext::gui::{
    clap_host_gui, clap_plugin_gui, clap_window, clap_window_handle, CLAP_EXT_GUI, CLAP_WINDOW_API_X11,
};
use clap_sys::ext::state::{clap_plugin_state, CLAP_EXT_STATE};
use segue::plugin::editor::{METER_HOT, METER_OK, METER_WARN, PROBLEM_FILL};
use test_host::*;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConfigureWindowAux, ConnectionExt as _, CreateWindowAux, WindowClass};
use x11rb::rust_connection::RustConnection;

const RATE: u32 = 48_000;
const BLOCK: usize = 512;
/// The editor's default size (`SegueParams::editor_state`) and the larger size it is resized to.
const DEFAULT_SIZE: (u16, u16) = (720, 520);
const LARGE_SIZE: (u16, u16) = (1100, 760);
/// The smallest size the editor allows (`editor::MIN_SIZE`).
const SMALL_SIZE: (u16, u16) = (640, 480);
const SCREEN: (u16, u16) = (1280, 800);

// ---------------------------------------------------------------------------------------------
// The X server
// ---------------------------------------------------------------------------------------------

/// An Xvfb of this test's own. It runs with `-terminate`: it ends by itself once its last client
/// is gone, which is at the latest when this process ends, however it ends. On drop it waits for
/// that (the plugin's window thread may still be closing its connection after the editor is
/// destroyed; killing the server under it would make Xlib end the whole process), then kills it.
struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    /// Starts Xvfb on a free display number derived from the process id, so parallel runs do not
    /// collide (the next numbers if one is taken). Returns the server and a connection to it,
    /// which keeps it running (with `-terminate` it would end when its first client left).
    fn start() -> (Xvfb, RustConnection, usize) {
        let base = std::process::id() % 800;
        for n in (base..base + 40).map(|n| 100 + n % 800) {
            let (lock, socket) = (format!("/tmp/.X{n}-lock"), format!("/tmp/.X11-unix/X{n}"));
            if Path::new(&lock).exists() || Path::new(&socket).exists() {
                continue;
            }
            let display = format!(":{n}");
            let screen = format!("{}x{}x24", SCREEN.0, SCREEN.1);
            let child = Command::new("Xvfb")
                .args([&display, "-screen", "0", &screen, "-nolisten", "tcp", "-terminate"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("Xvfb runs (Debian package xvfb)");
            let mut xvfb = Xvfb { child, display };
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) {
                if xvfb.child.try_wait().unwrap().is_some() {
                    break; // it lost a race for the display number: try the next one
                }
                if Path::new(&socket).exists() {
                    if let Ok((conn, screen)) = x11rb::connect(Some(&xvfb.display)) {
                        return (xvfb, conn, screen);
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            drop(xvfb); // gone already, or stopped by its drop
        }
        panic!("no free X display number from :{} on", 100 + base);
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SIGTERM first: Xvfb then removes its lock file and socket, which SIGKILL leaves behind.
        eprintln!("Xvfb {} did not end by itself: stopping it", self.display);
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(2) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Pictures
// ---------------------------------------------------------------------------------------------

/// An RGB picture.
struct Picture {
    width: usize,
    height: usize,
    rgb: Vec<[u8; 3]>,
}

impl Picture {
    /// Grabs the region (0, 0, width, height) of the screen, where the parent window is.
    fn grab(display: &str, (width, height): (u16, u16), name: &str) -> Picture {
        let dir = out_dir();
        let ppm = dir.join(format!("{name}.ppm"));
        let status = Command::new("import")
            .args(["-display", display, "-window", "root", "-depth", "8"])
            .arg(format!("ppm:{}", ppm.display()))
            .status()
            .expect("ImageMagick's import runs (Debian package imagemagick)");
        assert!(status.success(), "import failed: {status}");
        let full = Picture::read_ppm(&ppm);
        let picture = full.crop(width as usize, height as usize);
        picture.write_png(&dir.join(format!("{name}.png")));
        let _ = std::fs::remove_file(&ppm);
        picture
    }

    /// Reads a binary PPM (P6, 8 bits).
    fn read_ppm(path: &Path) -> Picture {
        let bytes = std::fs::read(path).unwrap();
        let mut fields = Vec::new();
        let mut i = 0;
        while fields.len() < 4 {
            while bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if bytes[i] == b'#' {
                while bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            let start = i;
            while !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            fields.push(String::from_utf8(bytes[start..i].to_vec()).unwrap());
        }
        assert_eq!(fields[0], "P6", "a binary PPM");
        assert_eq!(fields[3], "255", "8 bits per channel");
        let (width, height): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
        let data = &bytes[i + 1..];
        assert_eq!(data.len(), width * height * 3, "the PPM's size");
        let rgb = data.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
        Picture { width, height, rgb }
    }

    fn crop(&self, width: usize, height: usize) -> Picture {
        let rgb = (0..height).flat_map(|y| self.rgb[y * self.width..y * self.width + width].iter().copied()).collect();
        Picture { width, height, rgb }
    }

    fn write_png(&self, path: &Path) {
        let ppm = path.with_extension("crop.ppm");
        let mut bytes = format!("P6\n{} {}\n255\n", self.width, self.height).into_bytes();
        bytes.extend(self.rgb.iter().flatten());
        std::fs::write(&ppm, bytes).unwrap();
        let status = Command::new("convert").arg(&ppm).arg(path).status().expect("ImageMagick's convert runs");
        assert!(status.success(), "convert failed: {status}");
        let _ = std::fs::remove_file(&ppm);
    }

    fn distinct_colours(&self) -> usize {
        self.rgb.iter().collect::<HashSet<_>>().len()
    }

    /// The share of the most common colour.
    fn flattest_share(&self) -> f64 {
        let mut counts = std::collections::HashMap::new();
        for p in &self.rgb {
            *counts.entry(p).or_insert(0usize) += 1;
        }
        *counts.values().max().unwrap() as f64 / self.rgb.len() as f64
    }

    /// Pixels much brighter than the (dark) background: text, mostly.
    fn bright(&self) -> usize {
        self.rgb.iter().filter(|p| luma(p) > 150.0).count()
    }

    /// Which pixels are (within rounding) one of `colours`.
    fn mask(&self, colours: &[egui::Color32]) -> Vec<bool> {
        self.rgb.iter().map(|p| colours.iter().any(|c| near(p, c))).collect()
    }
}

fn luma(p: &[u8; 3]) -> f64 {
    0.2126 * p[0] as f64 + 0.7152 * p[1] as f64 + 0.0722 * p[2] as f64
}

fn near(p: &[u8; 3], c: &egui::Color32) -> bool {
    [c.r(), c.g(), c.b()].iter().zip(p).all(|(a, b)| a.abs_diff(*b) <= 3)
}

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/editor-window");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A picture of a drawn editor: many colours (anti-aliased letters: an editor without a font,
/// which draws each letter as a box, has about 60), no flat expanse (panels are filled), text.
fn assert_drawn(p: &Picture, what: &str) {
    let colours = p.distinct_colours();
    let flat = p.flattest_share();
    let bright = p.bright() as f64 / p.rgb.len() as f64;
    eprintln!("{what}: {colours} colours, the most common one {:.0} %, {:.1} % bright", flat * 100.0, bright * 100.0);
    assert!(colours >= 300, "{what}: only {colours} distinct colours: the editor drew no letters (no font?)");
    assert!(flat < 0.8, "{what}: {:.0} % of the window is one colour: the editor did not draw", flat * 100.0);
    assert!((0.005..0.4).contains(&bright), "{what}: {:.1} % bright pixels: no readable text", bright * 100.0);
}

// ---------------------------------------------------------------------------------------------
// The host
// ---------------------------------------------------------------------------------------------

/// A host with the gui extension's host side.
struct EditorHost;

impl HostHandlers for EditorHost {
    type Shared<'a> = Shared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        // nice-plug's editor needs the host side of the gui extension to open at all.
        builder.register::<HostGui>();
    }
}

/// The host side of the CLAP gui extension: this host resizes its window itself and never
/// closes it under the plugin, so there is nothing to do on these calls.
#[derive(Copy, Clone)]
struct HostGui(#[allow(dead_code)] RawExtension<HostExtensionSide, clap_host_gui>);

// SAFETY: CLAP_EXT_GUI is the identifier of clap_host_gui.
unsafe impl Extension for HostGui {
    const IDENTIFIERS: &'static [&'static CStr] = &[CLAP_EXT_GUI];
    type ExtensionSide = HostExtensionSide;

    unsafe fn from_raw(raw: RawExtension<Self::ExtensionSide>) -> Self {
        // SAFETY: the caller gives the pointer of this extension's identifier.
        Self(unsafe { raw.cast() })
    }
}

unsafe extern "C" fn resize_hints_changed(_host: *const clap_host) {}
unsafe extern "C" fn request_resize(_host: *const clap_host, _width: u32, _height: u32) -> bool {
    false
}
unsafe extern "C" fn request_show(_host: *const clap_host) -> bool {
    false
}
unsafe extern "C" fn request_hide(_host: *const clap_host) -> bool {
    false
}
unsafe extern "C" fn closed(_host: *const clap_host, _was_destroyed: bool) {}

// SAFETY: the struct is clap_host_gui, the host side of CLAP_EXT_GUI.
unsafe impl ExtensionImplementation<EditorHost> for HostGui {
    const IMPLEMENTATION: RawExtensionImplementation = RawExtensionImplementation::new(&clap_host_gui {
        resize_hints_changed: Some(resize_hints_changed),
        request_resize: Some(request_resize),
        request_show: Some(request_show),
        request_hide: Some(request_hide),
        closed: Some(closed),
    });
}

plugin_extension!(StateExt, clap_plugin_state, CLAP_EXT_STATE);
plugin_extension!(GuiExt, clap_plugin_gui, CLAP_EXT_GUI);

/// The audio side of the active plugin: its processor and the buffers of its three stereo
/// output ports (main, "Bed", "Cues").
struct Audio {
    processor: PluginAudioProcessor<EditorHost>,
    buffers: Vec<Vec<f32>>,
    /// Frames processed since activation: also the host timeline position (playing from 0).
    frame: u64,
}

impl Audio {
    /// One block with the transport playing at `frame`.
    fn block(&mut self, frames: usize) {
        let processor = self.processor.ensure_processing_started().expect("the plugin starts processing");
        let mut channels: Vec<[*mut f32; 2]> =
            self.buffers.chunks_exact_mut(2).map(|pair| [pair[0].as_mut_ptr(), pair[1].as_mut_ptr()]).collect();
        let mut raw: Vec<clap_audio_buffer> = channels
            .iter_mut()
            .map(|pair| clap_audio_buffer {
                data32: pair.as_mut_ptr(),
                data64: std::ptr::null_mut(),
                channel_count: 2,
                latency: 0,
                constant_mask: 0,
            })
            .collect();
        // SAFETY: every pointer is into `self.buffers`, which outlive the call and hold `frames`.
        let mut outputs = unsafe { OutputAudioBuffers::from_raw_buffers(&mut raw, frames as u32) };
        let mut out_events = EventBuffer::with_capacity(16);
        let transport = transport(true, self.frame, RATE);
        processor
            .process(
                &InputAudioBuffers::empty(),
                &mut outputs,
                &InputEvents::from_buffer(&EventBuffer::new()),
                &mut OutputEvents::from_buffer(&mut out_events),
                Some(self.frame),
                Some(&transport),
            )
            .expect("process succeeds");
        self.frame += frames as u64;
    }

    /// Plays in real time until `stop` is set.
    fn play(&mut self, stop: &AtomicBool) {
        let start = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            self.block(BLOCK);
            let due = start + Duration::from_secs_f64(self.frame as f64 / RATE as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    }
}

/// A plugin instance on the host's main thread.
struct Plugin {
    instance: PluginInstance<EditorHost>,
}

impl Plugin {
    fn new() -> Plugin {
        let info = HostInfo::new("segue editor_window test", "Segue", "https://example.invalid", "1.0").unwrap();
        let instance = PluginInstance::<EditorHost>::new(|_| Shared::new(), |_| (), entry(), PLUGIN_ID, &info)
            .expect("the factory creates org.segue.player");
        Plugin { instance }
    }

    fn state(&self) -> StateExt {
        self.instance.plugin_shared_handle().get_extension::<StateExt>().expect("state extension")
    }

    fn save(&mut self) -> Vec<u8> {
        let ext = self.state();
        let handle = self.instance.plugin_handle();
        let raw = handle.use_extension(&ext.0);
        let mut bytes = Vec::new();
        let mut stream = OutputStream::from_writer(&mut bytes);
        // SAFETY: main thread; a stream that lives through the call.
        assert!(unsafe { raw.save.unwrap()(handle.as_raw(), stream.as_raw_mut()) }, "state save succeeds");
        bytes
    }

    fn load(&mut self, bytes: &[u8]) -> bool {
        let ext = self.state();
        let handle = self.instance.plugin_handle();
        let raw = handle.use_extension(&ext.0);
        let mut reader = Cursor::new(bytes);
        let mut stream = InputStream::from_reader(&mut reader);
        // SAFETY: main thread; a stream that lives through the call.
        let ok = unsafe { raw.load.unwrap()(handle.as_raw(), stream.as_raw_mut()) };
        self.main_thread_callbacks();
        ok
    }

    fn main_thread_callbacks(&mut self) {
        if self.instance.access_shared_handler(|h| h.take_callback()) {
            self.instance.call_on_main_thread_callback();
        }
    }

    /// Serves the main-thread callbacks for `wall` of wall time.
    fn pump(&mut self, wall: Duration) {
        let start = Instant::now();
        while start.elapsed() < wall {
            self.main_thread_callbacks();
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Calls one function of the plugin's gui extension.
    fn gui<R>(&mut self, call: impl FnOnce(&clap_plugin_gui, *const clap_sys::plugin::clap_plugin) -> R) -> R {
        let ext = self.instance.plugin_shared_handle().get_extension::<GuiExt>().expect("the plugin has a gui");
        let handle = self.instance.plugin_handle();
        let raw = handle.use_extension(&ext.0);
        let result = call(raw, handle.as_raw());
        self.main_thread_callbacks();
        result
    }
}

/// The demo show with one of its audio files gone.
fn demo_missing_a_file() -> PathBuf {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("presets/demo");
    let dir = std::env::temp_dir().join(format!("segue-test-{}-editor-missing", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("audio")).unwrap();
    std::fs::copy(demo.join("show.json"), dir.join("show.json")).unwrap();
    for file in std::fs::read_dir(demo.join("audio")).unwrap() {
        let file = file.unwrap();
        if file.file_name() != "sting.wav" {
            std::fs::copy(file.path(), dir.join("audio").join(file.file_name())).unwrap();
        }
    }
    dir
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

#[test]
fn the_editor_opens_in_a_window_and_shows_the_playing_show() {
    let started = Instant::now();
    let (xvfb, conn, screen) = Xvfb::start();
    // The plugin's window (baseview) opens its own connection to $DISPLAY. This test binary has
    // no other test, so no other thread reads the environment meanwhile.
    std::env::set_var("DISPLAY", &xvfb.display);

    // The host's window, at the top left of the screen (Xvfb has no window manager).
    let root = conn.setup().roots[screen].clone();
    let parent = conn.generate_id().unwrap();
    conn.create_window(
        x11rb::COPY_DEPTH_FROM_PARENT,
        parent,
        root.root,
        0,
        0,
        DEFAULT_SIZE.0,
        DEFAULT_SIZE.1,
        0,
        WindowClass::INPUT_OUTPUT,
        x11rb::COPY_FROM_PARENT,
        &CreateWindowAux::new().background_pixel(root.white_pixel),
    )
    .unwrap();
    conn.map_window(parent).unwrap();
    // The pointer in a corner, away from the editor (where it would hover and show tooltips).
    conn.warp_pointer(x11rb::NONE, root.root, 0, 0, 0, 0, SCREEN.0 as i16 - 1, SCREEN.1 as i16 - 1).unwrap();
    conn.flush().unwrap();

    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("presets/demo");
    let mut plugin = Plugin::new();
    let base = plugin.save();
    assert!(plugin.load(&with_show(&base, &saved_show(&demo))), "the plugin takes the demo show");
    let config = PluginAudioConfiguration { sample_rate: RATE as f64, min_frames_count: 1, max_frames_count: 4096 };
    let processor = plugin.instance.activate(|_, _| (), config).expect("the plugin activates");
    let mut audio = Audio { processor: processor.into(), buffers: vec![vec![0.0; 4096]; 6], frame: 0 };

    // The editor, as a DAW opens it: create, ask its size, embed it into the host's window, show.
    let x11 = CLAP_WINDOW_API_X11.as_ptr();
    // SAFETY (these calls): main thread, the plugin's own gui extension, valid out-pointers.
    assert!(plugin.gui(|g, p| unsafe { g.is_api_supported.unwrap()(p, x11, false) }), "X11 editor");
    assert!(plugin.gui(|g, p| unsafe { g.create.unwrap()(p, x11, false) }), "the editor is created");
    let (mut width, mut height) = (0u32, 0u32);
    assert!(plugin.gui(|g, p| unsafe { g.get_size.unwrap()(p, &mut width, &mut height) }));
    assert_eq!((width, height), (DEFAULT_SIZE.0 as u32, DEFAULT_SIZE.1 as u32), "the editor's default size");
    assert!(plugin.gui(|g, p| unsafe { g.can_resize.unwrap()(p) }), "the editor can be resized");
    let window = clap_window { api: x11, specific: clap_window_handle { x11: parent as _ } };
    assert!(plugin.gui(|g, p| unsafe { g.set_parent.unwrap()(p, &window) }), "the editor takes the parent");
    assert!(plugin.gui(|g, p| unsafe { g.show.unwrap()(p) }), "the editor shows");

    let stop = AtomicBool::new(false);
    let display = xvfb.display.clone();
    let (first, second, problem, large, small) = std::thread::scope(|s| {
        let audio_thread = s.spawn(|| audio.play(&stop));
        // Stops the audio thread also when something below panics.
        struct StopOnDrop<'a>(&'a AtomicBool);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let _stop = StopOnDrop(&stop);
        let play_started = Instant::now();
        let at = |plugin: &mut Plugin, secs: f64| {
            plugin.pump(Duration::from_secs_f64(secs).saturating_sub(play_started.elapsed()));
        };
        // The bed fades in from 0 s; the theme starts at 4 s.
        at(&mut plugin, 5.0);
        let first = Picture::grab(&display, DEFAULT_SIZE, "editor");
        at(&mut plugin, 6.0);
        let second = Picture::grab(&display, DEFAULT_SIZE, "editor-later");
        // The host resizes its window, then the editor.
        let resize = |plugin: &mut Plugin, (w, h): (u16, u16)| {
            conn.configure_window(parent, &ConfigureWindowAux::new().width(w as u32).height(h as u32)).unwrap();
            conn.flush().unwrap();
            // SAFETY: main thread, the plugin's own gui extension.
            let resized = plugin.gui(|g, p| unsafe { g.set_size.unwrap()(p, w as u32, h as u32) });
            assert!(resized, "the editor takes the size {w}x{h}");
        };
        resize(&mut plugin, LARGE_SIZE);
        at(&mut plugin, 7.0);
        let large = Picture::grab(&display, LARGE_SIZE, "editor-large");
        resize(&mut plugin, DEFAULT_SIZE);
        // A show with a missing audio file: refused, the demo plays on, the problem is shown.
        let missing = demo_missing_a_file();
        let _ = plugin.load(&with_show(&base, &saved_show(&missing)));
        at(&mut plugin, 8.0);
        let problem = Picture::grab(&display, DEFAULT_SIZE, "editor-problem");
        // The smallest size, with the problem.
        resize(&mut plugin, SMALL_SIZE);
        at(&mut plugin, 8.7);
        let small = Picture::grab(&display, SMALL_SIZE, "editor-small");
        stop.store(true, Ordering::Relaxed);
        audio_thread.join().expect("the audio thread");
        let _ = std::fs::remove_dir_all(&missing);
        (first, second, problem, large, small)
    });

    plugin.gui(|g, p| unsafe { g.destroy.unwrap()(p) });
    audio.processor.ensure_processing_stopped();
    plugin.instance.deactivate(audio.processor.into_stopped());
    plugin.main_thread_callbacks();
    drop(plugin);
    drop(conn);
    drop(xvfb);

    assert_drawn(&first, "the editor");
    assert_drawn(&problem, "the editor with a problem");
    assert_drawn(&large, "the larger editor");
    assert_drawn(&small, "the editor at its smallest");

    // The meters: drawn in their colours, and moving from one second to the next.
    let meter = [METER_OK, METER_WARN, METER_HOT];
    let (a, b) = (first.mask(&meter), second.mask(&meter));
    let lit = (a.iter().filter(|&&m| m).count(), b.iter().filter(|&&m| m).count());
    let moved = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    eprintln!("meters: {} and {} lit pixels, {moved} changed", lit.0, lit.1);
    assert!(lit.0 > 200 && lit.1 > 200, "the meters show no level while the show plays: {lit:?} lit pixels");
    assert!(moved > 20, "the meters did not move in a second: {moved} pixels changed");
    for (p, what) in [(&large, "the larger editor"), (&small, "the editor at its smallest")] {
        let lit = p.mask(&meter).iter().filter(|&&m| m).count();
        assert!(lit > 200, "{what} shows no meter level: {lit} lit pixels");
    }

    // The problem, in its box, only once there is one.
    let boxed = |p: &Picture| p.mask(&[PROBLEM_FILL]).iter().filter(|&&m| m).count();
    eprintln!("problem box: {} pixels before, {} after", boxed(&first), boxed(&problem));
    assert!(boxed(&first) < 100 && boxed(&large) < 100, "a problem is shown before there is one");
    assert!(boxed(&problem) > 2000, "the refused show's problem is not shown");

    let took = started.elapsed();
    eprintln!("pictures in {}; the test took {took:.1?}", out_dir().display());
    assert!(took < Duration::from_secs(20), "the test took {took:.1?}");
}
