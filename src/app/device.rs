//! The live player's audio output (main thread): which backend and device, at which rate and
//! buffer size, through cpal (ALSA, or JACK; PipeWire systems offer both). Opening fails with one
//! clear sentence naming what was tried and what to try; errors the stream reports later go to
//! the control loop as words.

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use crate::app::audio::AudioSide;

/// What the operator asked for.
#[derive(Debug, Clone, Default)]
pub struct DeviceOptions {
    /// `alsa` or `jack` (default: JACK when a JACK server runs, else ALSA).
    pub backend: Option<String>,
    /// A device as `segue devices` lists it: its short name (ALSA's `hw:CARD=PCH,DEV=0`), its
    /// description, or a part of that (default: the backend's default output).
    pub device: Option<String>,
    pub buffer: Option<u32>,
    pub sample_rate: Option<u32>,
    /// Channels the output patch needs at the least.
    pub channels: usize,
    /// JACK: the player's client name (`--jack-name`, default `segue`): its output client is
    /// `NAME_out` with ports `out_0`, `out_1`, ..., each also known as `NAME:main_l`,
    /// `NAME:main_r`, ... (`ports`), names that stay the same from one start to the next.
    pub jack_name: Option<String>,
    /// JACK: what each output channel carries (`Patch::port_names`).
    pub ports: Vec<(usize, String)>,
    /// JACK: connect these of the player's ports (by their names, `main_l`) to these ports
    /// at start (`--connect`), instead of to the system's playback ports.
    pub connect: Vec<(String, String)>,
}

/// The JACK client name the player takes unless told otherwise.
pub const JACK_NAME: &str = "segue";

impl DeviceOptions {
    /// The player's JACK client name: `--jack-name`, else `JACK_NAME`.
    pub fn jack_name(&self) -> &str {
        self.jack_name.as_deref().unwrap_or(JACK_NAME)
    }
}

/// An output chosen and configured, not started yet.
pub struct Output {
    pub backend: String,
    pub device: cpal::Device,
    pub name: String,
    pub config: cpal::StreamConfig,
    /// JACK: the output client's name as asked (`NAME_out`), what each channel carries, and
    /// where to connect them (`DeviceOptions`).
    jack_client: Option<String>,
    ports: Vec<(usize, String)>,
    connect: Vec<(String, String)>,
}

/// A running output stream (dropping it stops the sound).
pub struct Running {
    _stream: cpal::Stream,
    /// What could not be done of the routing asked for (JACK aliases, `--connect`), in words.
    pub notes: Vec<String>,
}

fn host_name(id: cpal::HostId) -> String {
    id.name().to_lowercase()
}

/// The backends this build knows that are usable here, in the order they are tried.
fn backends(wanted: Option<&str>) -> Result<Vec<cpal::HostId>, String> {
    let available = cpal::available_hosts();
    let mut ids: Vec<cpal::HostId> = available.clone();
    // A running JACK server is what a screening rig set up on purpose: prefer it.
    ids.sort_by_key(|id| if host_name(*id) == "jack" { 0 } else { 1 });
    match wanted {
        None => Ok(ids),
        Some(name) => {
            let name = name.to_lowercase();
            match ids.into_iter().find(|id| host_name(*id) == name) {
                Some(id) => Ok(vec![id]),
                None => Err(format!(
                    "the audio backend \"{name}\" is not available here (available: {}); try `segue devices`",
                    available.iter().map(|id| host_name(*id)).collect::<Vec<_>>().join(", ")
                )),
            }
        }
    }
}

/// Picks the backend, device and configuration.
pub fn choose(options: &DeviceOptions) -> Result<Output, String> {
    let ids = backends(options.backend.as_deref())?;
    let mut tried = Vec::new();
    for id in ids {
        let backend = host_name(id);
        let host = match cpal::host_from_id(id) {
            Ok(host) => host,
            Err(e) => {
                tried.push(format!("{backend}: {e}"));
                continue;
            }
        };
        let device = match &options.device {
            _ if backend == "jack" => match jack_output(options) {
                Ok(device) => Some(device),
                Err(why) => {
                    tried.push(format!("jack: {why}"));
                    continue;
                }
            },
            Some(name) => host.output_devices().ok().and_then(|devices| {
                // The short name `segue devices` gives (ALSA's PCM name: `hw:CARD=PCH,DEV=0`),
                // else the whole description, else a part of it.
                let devices: Vec<cpal::Device> = devices.collect();
                let short = |d: &cpal::Device| d.id().ok().map(|id| id.id().to_string());
                let pick = devices.iter().position(|d| short(d).as_deref() == Some(name.as_str()));
                let pick = pick.or_else(|| devices.iter().position(|d| d.to_string() == *name));
                let pick = pick.or_else(|| devices.iter().position(|d| d.to_string().contains(name.as_str())));
                pick.map(|i| devices[i].clone())
            }),
            None => host.default_output_device(),
        };
        let Some(device) = device else {
            tried.push(match &options.device {
                Some(name) => format!("{backend}: no output device named \"{name}\""),
                None => format!("{backend}: no default output device"),
            });
            continue;
        };
        let name = device.to_string();
        // ALSA's null device takes audio as fast as it is given, unpaced: a show would race
        // through in silence. Only if asked for by name.
        if options.device.is_none() && name.starts_with("Discard all samples") {
            tried.push(format!("{backend}: the default device is ALSA's null device (no sound card)"));
            continue;
        }
        let default = match device.default_output_config() {
            Ok(c) => c,
            Err(e) => {
                tried.push(format!("{backend} \"{name}\": {e}"));
                continue;
            }
        };
        let channels = (default.channels() as usize).max(options.channels).max(2) as u16;
        let rate = options.sample_rate.unwrap_or(default.sample_rate());
        let buffer = match options.buffer {
            Some(frames) => cpal::BufferSize::Fixed(frames),
            None => cpal::BufferSize::Default,
        };
        let config = cpal::StreamConfig { channels, sample_rate: rate, buffer_size: buffer };
        let (ports, connect) = (options.ports.clone(), options.connect.clone());
        let jack_client = (backend == "jack").then(|| format!("{}_out", options.jack_name()));
        return Ok(Output { backend, device, name, config, jack_client, ports, connect });
    }
    Err(if tried.is_empty() {
        "no audio backend is available here (this build knows ALSA and JACK); start a JACK server \
         (e.g. `jackd -d dummy` on a machine without a sound card) or check the sound card"
            .to_string()
    } else {
        format!(
            "no audio output could be opened ({}); try `segue devices`, --backend, --device, or start a JACK \
             server (e.g. `jackd -d dummy` on a machine without a sound card)",
            tried.join("; ")
        )
    })
}

/// JACK's output under the player's own client name (not cpal's `cpal_client_PID`, which
/// changes at every start and loses the routing), connected to the system's playback ports
/// unless `--connect` says where.
fn jack_output(options: &DeviceOptions) -> Result<cpal::Device, String> {
    let name = options.jack_name();
    // A name already taken would be made unique by JACK (`segue_out-01`), and the ports named
    // and connected would be the other player's: refused, with what to do.
    if let Ok((jack, _)) = jack::Client::new("segue-routing", jack::ClientOptions::NO_START_SERVER) {
        let prefix = format!("{name}_out:");
        if jack.ports(None, None, jack::PortFlags::empty()).iter().any(|p| p.starts_with(&prefix)) {
            return Err(format!(
                "the JACK client name {name}_out is taken (another player on this server?): give this one \
                 another --jack-name"
            ));
        }
    }
    // cpal's `JackHost` opens clients under its own name when made, and its
    // `output_device_with_name` returns those (cpal 0.18.2): the device is made here directly.
    type JackDevice = <cpal::platform::JackHost as HostTrait>::Device;
    JackDevice::default_output_device(name, options.connect.is_empty(), false)
        .map(cpal::Device::from)
        .map_err(|e| e.to_string())
}

/// The device callback's state, given back when the stream is dropped (a device that went
/// away): the control loop starts a new stream with it, and the show goes on.
struct Returning {
    side: Option<AudioSide>,
    back: crossbeam_channel::Sender<AudioSide>,
}

impl Drop for Returning {
    fn drop(&mut self) {
        if let Some(side) = self.side.take() {
            let _ = self.back.send(side);
        }
    }
}

/// A stream error, in words, and whether the device is gone (the stream must be rebuilt).
pub struct StreamProblem {
    pub gone: bool,
    pub text: String,
}

impl Output {
    /// Starts the stream: the callback fills every buffer from `side`; stream errors go to
    /// `errors`; when the stream is dropped (or cannot start) `side` comes back on `back`.
    pub fn start(
        self,
        side: AudioSide,
        back: crossbeam_channel::Sender<AudioSide>,
        errors: crossbeam_channel::Sender<StreamProblem>,
    ) -> Result<Running, String> {
        let channels = self.config.channels as usize;
        let what = format!("{} \"{}\"", self.backend, self.name);
        let mut returning = Returning { side: Some(side), back };
        let stream = self
            .device
            .build_output_stream::<f32, _, _>(
                self.config,
                move |data: &mut [f32], _info: &cpal::OutputCallbackInfo| {
                    if let Some(side) = returning.side.as_mut() {
                        // A debug build checks the audio thread's rules on every buffer (the
                        // tests count the allocator calls; release builds pass straight through).
                        nice_assert_no_alloc::assert_no_alloc(|| side.fill(data, channels));
                    }
                },
                move |e: cpal::Error| {
                    let gone =
                        matches!(e.kind(), cpal::ErrorKind::DeviceNotAvailable | cpal::ErrorKind::HostUnavailable);
                    let _ = errors.send(StreamProblem { gone, text: e.to_string() });
                },
                None,
            )
            .map_err(|e| format!("cannot open {what} at {} Hz: {e}", self.config.sample_rate))?;
        stream.play().map_err(|e| format!("cannot start {what}: {e}"))?;
        let notes = match &self.jack_client {
            Some(client) => name_and_connect(client, &self.ports, &self.connect),
            None => Vec::new(),
        };
        Ok(Running { _stream: stream, notes })
    }
}

/// JACK: gives each of the output client `client`'s ports (`out_N`) the name of what it carries
/// as an alias (`segue:main_l` for `segue_out:out_0`), so routing can name them the same at every
/// start, and makes the connections `connect` asks for; returns what could not be done.
fn name_and_connect(client: &str, ports: &[(usize, String)], connect: &[(String, String)]) -> Vec<String> {
    let mut notes = Vec::new();
    let Ok((jack, _)) = jack::Client::new("segue-routing", jack::ClientOptions::NO_START_SERVER) else {
        return vec!["cannot name or connect the JACK ports: no JACK client could be opened".into()];
    };
    let base = client.strip_suffix("_out").unwrap_or(client);
    for (channel, label) in ports {
        let port = format!("{client}:out_{channel}");
        match jack.port_by_name(&port) {
            Some(mut p) => {
                if p.set_alias(&format!("{base}:{label}")).is_err() {
                    notes.push(format!("the JACK port {port} could not be given the name {base}:{label}"));
                }
            }
            None => notes.push(format!("the JACK port {port} is not there")),
        }
    }
    for (label, target) in connect {
        let Some((channel, _)) = ports.iter().find(|(_, l)| l == label) else {
            let names: Vec<&str> = ports.iter().map(|(_, l)| l.as_str()).collect();
            notes.push(format!("--connect {label}: the player has no port {label} (it has {})", names.join(", ")));
            continue;
        };
        let port = format!("{client}:out_{channel}");
        if let Err(e) = jack.connect_ports_by_name(&port, target) {
            notes.push(format!("--connect {label}={target}: {port} cannot be connected to {target} ({e})"));
        }
    }
    notes
}

/// `--connect`: (the player's port name, the port to connect it to), in the order given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Connections(pub Vec<(String, String)>);

/// Reads `--connect main_l=system:playback_1,main_r=system:playback_2`.
pub fn parse_connect(text: &str) -> Result<Connections, String> {
    let pairs: Result<Vec<(String, String)>, String> = text
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((label, target)) if !label.trim().is_empty() && !target.trim().is_empty() => {
                Ok((label.trim().to_string(), target.trim().to_string()))
            }
            _ => Err(format!("\"{pair}\": expected NAME=PORT, e.g. main_l=system:playback_1")),
        })
        .collect();
    pairs.map(Connections)
}

/// `segue devices`: every backend with its output devices, channels and rates.
pub fn list() -> String {
    let mut out = String::new();
    for id in cpal::available_hosts() {
        out.push_str(&format!("{}\n", host_name(id)));
        let host = match cpal::host_from_id(id) {
            Ok(h) => h,
            Err(e) => {
                out.push_str(&format!("  (not usable: {e})\n"));
                continue;
            }
        };
        let default = host.default_output_device().map(|d| d.to_string());
        match host.output_devices() {
            Ok(devices) => {
                for d in devices {
                    let name = d.to_string();
                    let mark = if Some(&name) == default.as_ref() { " (default)" } else { "" };
                    // Devices list every channel count and format as its own range: one line each.
                    let configs = match d.supported_output_configs() {
                        Ok(cs) => {
                            let cs: Vec<_> = cs.collect();
                            let channels = cs.iter().map(|c| c.channels()).max().unwrap_or(0);
                            let low = cs.iter().map(|c| c.min_sample_rate()).min().unwrap_or(0);
                            let high = cs.iter().map(|c| c.max_sample_rate()).max().unwrap_or(0);
                            if high >= 1_000_000 {
                                format!("up to {channels} channels, any rate")
                            } else {
                                format!("up to {channels} channels, {low}-{high} Hz")
                            }
                        }
                        Err(e) => format!("({e})"),
                    };
                    // The short name --device takes first, then what the device says it is.
                    match d.id().ok().map(|id| id.id().to_string()).filter(|short| *short != name) {
                        Some(short) => out.push_str(&format!("  {short}  {name}{mark}: {configs}\n")),
                        None => out.push_str(&format!("  {name}{mark}: {configs}\n")),
                    }
                }
            }
            Err(e) => out.push_str(&format!("  (cannot list devices: {e})\n")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `segue devices` lists ALSA's null device by its short name first, and `--device` takes
    /// that name (every Debian alsa-lib has the null device, sound card or not).
    #[test]
    fn alsa_devices_are_listed_and_chosen_by_their_short_names() {
        let listed = list();
        assert!(listed.contains("\n  null  Discard all samples"), "{listed}");
        let options = DeviceOptions { backend: Some("alsa".into()), device: Some("null".into()), ..Default::default() };
        let output = choose(&options).unwrap_or_else(|e| panic!("{e}"));
        assert!(output.name.starts_with("Discard all samples"), "{}", output.name);
    }

    #[test]
    fn connections_read_as_name_and_port_pairs() {
        let c = parse_connect("main_l=system:playback_1, main_r=system:playback_2").unwrap();
        assert_eq!(c.0, [("main_l".into(), "system:playback_1".into()), ("main_r".into(), "system:playback_2".into())]);
        assert!(parse_connect("main_l").unwrap_err().contains("expected NAME=PORT"));
    }
}
