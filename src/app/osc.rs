//! OSC remote control over UDP (its own thread): decodes packets into `Remote` commands for the
//! control loop, stamped on arrival; malformed packets and packets from outside the allowed
//! network are counted and dropped. Replies go back to the sender from the control loop.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rosc::{OscMessage, OscPacket, OscType};

use crate::engine::command::Level;

/// What a remote (OSC, a script on stdin) asks of the player.
#[derive(Debug, Clone, PartialEq)]
pub enum Remote {
    Go,
    /// Every cue fades out with its own fade.
    StopAll,
    Panic,
    StartCue(String),
    StopCue(String),
    Scene(String),
    Level(Level, f32),
    Play,
    StopTransport,
    /// Timeline seconds.
    Locate(f64),
    State,
    Quit,
}

/// A remote command as it arrived: when, and where to answer.
#[derive(Debug, Clone)]
pub struct Request {
    pub remote: Remote,
    /// The address it came on (for the reply's `/segue/reply{address}`).
    pub address: String,
    pub arrived: Instant,
    pub from: Option<SocketAddr>,
}

/// Reads an OSC message as a command.
pub fn parse(msg: &OscMessage) -> Result<Remote, String> {
    let parts: Vec<&str> = msg.addr.trim_start_matches('/').split('/').collect();
    let number = |args: &[OscType]| -> Result<f64, String> {
        match args.first() {
            Some(OscType::Float(v)) => Ok(*v as f64),
            Some(OscType::Double(v)) => Ok(*v),
            Some(OscType::Int(v)) => Ok(*v as f64),
            Some(OscType::Long(v)) => Ok(*v as f64),
            Some(OscType::String(s)) => s.trim().parse().map_err(|_| format!("\"{s}\" is not a number")),
            _ => Err("expects a number argument".into()),
        }
    };
    let remote = match parts.as_slice() {
        ["segue", "go"] => Remote::Go,
        ["segue", "stop"] => Remote::StopAll,
        ["segue", "panic"] => Remote::Panic,
        ["segue", "state"] => Remote::State,
        ["segue", "cue", id, "start"] => Remote::StartCue(id.to_string()),
        ["segue", "cue", id, "stop"] => Remote::StopCue(id.to_string()),
        ["segue", "scene", id] => Remote::Scene(id.to_string()),
        ["segue", "level", bus] => {
            let level = match *bus {
                "master" => Level::Master,
                "bed" => Level::Bed,
                "cues" => Level::Cues,
                other => return Err(format!("\"{other}\" is not a level: master, bed or cues")),
            };
            let db = number(&msg.args)?;
            if !db.is_finite() {
                return Err("the level must be a finite number of dB".into());
            }
            Remote::Level(level, db as f32)
        }
        ["segue", "transport", "play"] => Remote::Play,
        ["segue", "transport", "stop"] => Remote::StopTransport,
        ["segue", "transport", "locate"] => {
            let secs = number(&msg.args)?;
            if !secs.is_finite() || secs < 0.0 {
                return Err("the position must be seconds, 0 or more".into());
            }
            Remote::Locate(secs)
        }
        _ => return Err(format!("\"{}\" is not a Segue address", msg.addr)),
    };
    Ok(remote)
}

/// Every message in a packet, bundles opened, at most `depth` bundles deep.
fn messages(packet: OscPacket, depth: usize, out: &mut Vec<OscMessage>) {
    match packet {
        OscPacket::Message(m) => out.push(m),
        OscPacket::Bundle(b) if depth > 0 => {
            for p in b.content {
                messages(p, depth - 1, out);
            }
        }
        OscPacket::Bundle(_) => {}
    }
}

/// Counts the OSC thread keeps.
#[derive(Default)]
pub struct OscCounts {
    pub received: AtomicU64,
    pub malformed: AtomicU64,
    pub refused: AtomicU64,
}

/// The running OSC server.
pub struct OscServer {
    pub socket: UdpSocket,
    pub local: SocketAddr,
    pub counts: Arc<OscCounts>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Who may send: loopback always, else addresses inside `allow` (network, prefix length).
fn allowed(ip: IpAddr, allow: &[(IpAddr, u8)]) -> bool {
    if ip.is_loopback() {
        return true;
    }
    allow.iter().any(|&(net, bits)| match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits.min(32)) };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits.min(128) as u32) };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    })
}

/// Parses `10.0.0.0/24` (a bare address is one host).
pub fn parse_cidr(text: &str) -> Result<(IpAddr, u8), String> {
    let (ip, bits) = match text.split_once('/') {
        Some((ip, bits)) => (ip, bits.parse::<u8>().map_err(|_| format!("\"{text}\": bad prefix length"))?),
        None => (text, if text.contains(':') { 128 } else { 32 }),
    };
    let ip: IpAddr = ip.parse().map_err(|_| format!("\"{text}\" is not an IP network like 10.0.0.0/24"))?;
    Ok((ip, bits))
}

impl OscServer {
    /// Binds `addr` and starts the thread; requests go to `requests`.
    pub fn start(
        addr: SocketAddr,
        allow: Vec<(IpAddr, u8)>,
        requests: crossbeam_channel::Sender<Request>,
    ) -> Result<OscServer, String> {
        if !addr.ip().is_loopback() && allow.is_empty() {
            return Err(format!(
                "OSC on {addr} would take commands from the network: add --osc-allow NETWORK (e.g. 10.0.0.0/24)"
            ));
        }
        let socket = UdpSocket::bind(addr).map_err(|e| format!("cannot listen for OSC on {addr}: {e}"))?;
        let local = socket.local_addr().map_err(|e| e.to_string())?;
        socket.set_read_timeout(Some(Duration::from_millis(50))).map_err(|e| e.to_string())?;
        let reader = socket.try_clone().map_err(|e| e.to_string())?;
        let counts = Arc::new(OscCounts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (counts.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("segue-osc".into())
            .spawn(move || {
                let mut buf = vec![0u8; 65_536];
                while !s.load(Ordering::Relaxed) {
                    let Ok((n, from)) = reader.recv_from(&mut buf) else { continue };
                    let arrived = Instant::now();
                    if !allowed(from.ip(), &allow) {
                        c.refused.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let Ok((_, packet)) = rosc::decoder::decode_udp(&buf[..n]) else {
                        c.malformed.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    let mut list = Vec::new();
                    // Deeper than this is not a show controller talking.
                    messages(packet, 16, &mut list);
                    for msg in list {
                        c.received.fetch_add(1, Ordering::Relaxed);
                        let address = msg.addr.clone();
                        let remote = match parse(&msg) {
                            Ok(r) => r,
                            Err(e) => {
                                let _ = reply(&reader, from, &address, &format!("error: {e}"));
                                continue;
                            }
                        };
                        let _ = requests.send(Request { remote, address, arrived, from: Some(from) });
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(OscServer { socket, local, counts, stop, thread: Some(thread) })
    }
}

/// Sends `/segue/reply{address}` with `text` to `to`.
pub fn reply(socket: &UdpSocket, to: SocketAddr, address: &str, text: &str) -> std::io::Result<()> {
    let msg = OscMessage { addr: format!("/segue/reply{address}"), args: vec![OscType::String(text.into())] };
    let bytes = rosc::encoder::encode(&OscPacket::Message(msg)).map_err(|e| std::io::Error::other(e.to_string()))?;
    socket.send_to(&bytes, to).map(|_| ())
}

impl Drop for OscServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(addr: &str, args: Vec<OscType>) -> OscMessage {
        OscMessage { addr: addr.into(), args }
    }

    #[test]
    fn osc_addresses_read_as_commands_and_bad_ones_say_why() {
        assert_eq!(parse(&msg("/segue/go", vec![])), Ok(Remote::Go));
        assert_eq!(parse(&msg("/segue/cue/theme/start", vec![])), Ok(Remote::StartCue("theme".into())));
        assert_eq!(parse(&msg("/segue/level/bed", vec![OscType::Float(-6.0)])), Ok(Remote::Level(Level::Bed, -6.0)));
        assert_eq!(parse(&msg("/segue/transport/locate", vec![OscType::Int(12)])), Ok(Remote::Locate(12.0)));
        assert!(parse(&msg("/segue/level/drums", vec![OscType::Float(0.0)])).unwrap_err().contains("not a level"));
        assert!(parse(&msg("/segue/level/bed", vec![])).unwrap_err().contains("number"));
        assert!(parse(&msg("/other/go", vec![])).unwrap_err().contains("not a Segue address"));
        assert!(parse(&msg("/segue/transport/locate", vec![OscType::Float(-1.0)])).is_err());
    }

    #[test]
    fn only_loopback_and_allowed_networks_may_send() {
        let allow = vec![parse_cidr("10.1.2.0/24").unwrap()];
        assert!(allowed("127.0.0.1".parse().unwrap(), &[]));
        assert!(allowed("10.1.2.77".parse().unwrap(), &allow));
        assert!(!allowed("10.1.3.1".parse().unwrap(), &allow));
        assert!(parse_cidr("nonsense").is_err());
    }
}
