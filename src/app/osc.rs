//! OSC remote control over UDP and TCP on the same port (threads of its own: one for UDP, one
//! accepting TCP connections, one per connection). TCP streams are SLIP-framed (OSC 1.1, as QLab
//! sends them). Packets are decoded into the operator's `Command`s (`control::command`) for the
//! control loop, stamped on arrival; malformed packets and senders outside the allowed network
//! are counted and dropped. Each request carries its way back (`ReplyTo`): the dispatcher's reply
//! goes to the UDP sender, or down the TCP connection it came on.

use std::io::Read;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rosc::{OscMessage, OscPacket, OscType};

use crate::control::command::{Arg, Command, ReplyTo, Request, Requests, Source};
use crate::control::dispatch::Reply;
#[cfg(test)]
use crate::engine::command::Level;

/// Bundles one packet may hold, nested or not.
const MAX_BUNDLES: usize = 16;
/// TCP connections served at once; more are closed at once (a flood must not eat threads).
const MAX_CONNECTIONS: usize = 16;
/// The longest SLIP frame read; a longer one is malformed (and dropped whole).
const MAX_FRAME: usize = 65_536;
/// How long the reply writer waits for a TCP peer that does not read before it gives the
/// connection up.
const TCP_WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// Replies queued for one TCP connection.
const REPLY_QUEUE: usize = 64;

/// Reads an OSC message as a command (`control::command::Command::parse`).
pub fn parse(msg: &OscMessage) -> Result<Command, String> {
    let args: Vec<Arg> = msg
        .args
        .iter()
        .map(|a| match a {
            OscType::Float(v) => Arg::Number(*v as f64),
            OscType::Double(v) => Arg::Number(*v),
            OscType::Int(v) => Arg::Number(*v as f64),
            OscType::Long(v) => Arg::Number(*v as f64),
            OscType::String(s) => Arg::Text(s.clone()),
            other => Arg::Text(format!("{other:?}")),
        })
        .collect();
    Command::parse(&msg.addr, &args)
}

/// `/segue/reply{address}` with the reply in one string: `ok`, `error: ...`, or the state as
/// JSON.
pub fn reply_packet(address: &str, reply: &Reply) -> Option<Vec<u8>> {
    let msg = OscMessage { addr: format!("/segue/reply{address}"), args: vec![OscType::String(reply.text())] };
    rosc::encoder::encode(&OscPacket::Message(msg)).ok()
}

/// Replies to a UDP sender, from the server's socket.
fn udp_reply(socket: Arc<UdpSocket>, peer: SocketAddr) -> ReplyTo {
    ReplyTo::new(move |address, reply| {
        if let Some(bytes) = reply_packet(address, reply) {
            let _ = socket.send_to(&bytes, peer);
        }
    })
}

/// Replies down a TCP connection: to its writer thread, SLIP-framed; a peer that does not read
/// loses replies once its queue is full, and never holds up the control loop.
fn tcp_reply(writer: crossbeam_channel::Sender<Vec<u8>>) -> ReplyTo {
    ReplyTo::new(move |address, reply| {
        if let Some(bytes) = reply_packet(address, reply) {
            let _ = writer.try_send(slip_encode(&bytes));
        }
    })
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
    threads: Vec<JoinHandle<()>>,
}

/// Who may send: loopback always, else addresses inside `allow` (network, prefix length).
fn allowed(ip: IpAddr, allow: &[(IpAddr, u8)]) -> bool {
    // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d.
    let ip = ip.to_canonical();
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
    let most = if ip.is_ipv4() { 32 } else { 128 };
    if bits > most {
        return Err(format!("\"{text}\": a prefix length is at most {most}"));
    }
    Ok((ip, bits))
}

impl OscServer {
    /// Binds `addr` for UDP and TCP and starts the threads; requests go to `requests`.
    pub fn start(addr: SocketAddr, allow: Vec<(IpAddr, u8)>, requests: Requests) -> Result<OscServer, String> {
        if !addr.ip().is_loopback() && allow.is_empty() {
            return Err(format!(
                "OSC on {addr} would take commands from the network: add --osc-allow NETWORK (e.g. 10.0.0.0/24)"
            ));
        }
        let in_use = |e: &std::io::Error| {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                " (another program, or another Segue, listens there: give another with --osc ADDRESS:PORT, or --osc off)"
            } else {
                ""
            }
        };
        let socket =
            UdpSocket::bind(addr).map_err(|e| format!("cannot listen for OSC on {addr}: {e}{}", in_use(&e)))?;
        let local = socket.local_addr().map_err(|e| e.to_string())?;
        // TCP on the port UDP got (port 0 asks for any free one).
        let listener = TcpListener::bind(local)
            .map_err(|e| format!("cannot listen for OSC over TCP on {local}: {e}{}", in_use(&e)))?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        socket.set_read_timeout(Some(Duration::from_millis(50))).map_err(|e| e.to_string())?;
        let reader = Arc::new(socket.try_clone().map_err(|e| e.to_string())?);
        let counts = Arc::new(OscCounts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let allow = Arc::new(allow);
        let udp = {
            let (c, s, allow, requests) = (counts.clone(), stop.clone(), allow.clone(), requests.clone());
            std::thread::Builder::new()
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
                        let to = udp_reply(reader.clone(), from);
                        if !take_packet(&buf[..n], arrived, &to, Source::Osc, &c, &requests) {
                            return;
                        }
                    }
                })
                .map_err(|e| e.to_string())?
        };
        let tcp = {
            let (c, s) = (counts.clone(), stop.clone());
            std::thread::Builder::new()
                .name("segue-osc-tcp".into())
                .spawn(move || accept(listener, &allow, &c, &s, &requests))
                .map_err(|e| e.to_string())?
        };
        Ok(OscServer { socket, local, counts, stop, threads: vec![udp, tcp] })
    }
}

/// One message of a packet: its address, and its command or why it is not one.
pub type Addressed = (String, Result<Command, String>);

/// The commands of one OSC packet (bundles opened), each with its address: a message that is
/// not a Segue command gives its error. Err: the packet is not OSC, or is nested deeper than a
/// show controller nests (rosc decodes nested bundles by recursion, so a packet of thousands
/// would overflow the stack before it could be refused: they are counted first).
pub fn decode_packet(bytes: &[u8]) -> Result<Vec<Addressed>, String> {
    let bundles = bytes.windows(8).filter(|w| w == b"#bundle\0").count();
    if bundles > MAX_BUNDLES {
        return Err(format!("{bundles} bundles in one packet: at most {MAX_BUNDLES}"));
    }
    let (_, packet) = rosc::decoder::decode_udp(bytes).map_err(|e| format!("not an OSC packet: {e}"))?;
    let mut list = Vec::new();
    // Deeper than this is not a show controller talking.
    messages(packet, 16, &mut list);
    Ok(list.into_iter().map(|msg| (msg.addr.clone(), parse(&msg))).collect())
}

/// Decodes one OSC packet and sends its commands on; a message that is not a Segue command is
/// answered with the error at once. Returns false once the control loop is gone.
fn take_packet(
    bytes: &[u8],
    arrived: Instant,
    to: &ReplyTo,
    source: Source,
    counts: &OscCounts,
    requests: &Requests,
) -> bool {
    let Ok(list) = decode_packet(bytes) else {
        counts.malformed.fetch_add(1, Ordering::Relaxed);
        return true;
    };
    for (address, command) in list {
        counts.received.fetch_add(1, Ordering::Relaxed);
        let command = match command {
            Ok(c) => c,
            Err(e) => {
                to.send(&address, &Reply::Error(e));
                continue;
            }
        };
        if requests.send(Request { command, address, arrived, source, reply: Some(to.clone()) }).is_err() {
            return false;
        }
    }
    true
}

/// Accepts TCP connections (polling, so it sees `stop`), each served by a thread of its own.
fn accept(
    listener: TcpListener,
    allow: &Arc<Vec<(IpAddr, u8)>>,
    counts: &Arc<OscCounts>,
    stop: &Arc<AtomicBool>,
    requests: &Requests,
) {
    let open = Arc::new(AtomicUsize::new(0));
    while !stop.load(Ordering::Relaxed) {
        let (stream, peer) = match listener.accept() {
            Ok(s) => s,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        if !allowed(peer.ip(), allow) || open.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
            counts.refused.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let setup = stream
            .set_nonblocking(false)
            .and_then(|_| stream.set_read_timeout(Some(Duration::from_millis(100))))
            .and_then(|_| stream.set_write_timeout(Some(TCP_WRITE_TIMEOUT)))
            .and_then(|_| stream.set_nodelay(true));
        if setup.is_err() {
            continue;
        }
        let (c, stop, requests, serving) = (counts.clone(), stop.clone(), requests.clone(), open.clone());
        open.fetch_add(1, Ordering::Relaxed);
        let served = std::thread::Builder::new().name("segue-osc-conn".into()).spawn(move || {
            serve(stream, &c, &stop, &requests);
            serving.fetch_sub(1, Ordering::Relaxed);
        });
        if served.is_err() {
            open.fetch_sub(1, Ordering::Relaxed);
            counts.refused.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Reads SLIP frames from one TCP peer until it hangs up (or the server stops).
fn serve(stream: TcpStream, counts: &OscCounts, stop: &AtomicBool, requests: &Requests) {
    // Replies are written by a thread of the connection's own, so a peer that does not read
    // blocks nobody; the queue holds a few, then replies are dropped.
    let (replies, outgoing) = crossbeam_channel::bounded::<Vec<u8>>(REPLY_QUEUE);
    if let Ok(mut writer) = stream.try_clone() {
        let _ = std::thread::Builder::new().name("segue-osc-reply".into()).spawn(move || {
            for frame in outgoing {
                if std::io::Write::write_all(&mut writer, &frame).is_err() {
                    // A peer that has not read for the write timeout: its connection is closed
                    // (its slot freed), and it can connect again.
                    let _ = writer.shutdown(std::net::Shutdown::Both);
                    return;
                }
            }
        });
    }
    let mut stream = stream;
    let to = tcp_reply(replies);
    let mut frames = SlipDecoder::default();
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        let n = match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => continue,
            Err(_) => return,
        };
        let arrived = Instant::now();
        for byte in &buf[..n] {
            match frames.push(*byte) {
                Some(Ok(frame)) if !take_packet(&frame, arrived, &to, Source::OscTcp, counts, requests) => return,
                Some(Ok(_)) | None => {}
                Some(Err(())) => {
                    counts.malformed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

const SLIP_END: u8 = 0xC0;
const SLIP_ESC: u8 = 0xDB;
const SLIP_ESC_END: u8 = 0xDC;
const SLIP_ESC_ESC: u8 = 0xDD;

/// SLIP framing (RFC 1055) as OSC 1.1 uses it: END before and after each packet, END and ESC
/// inside escaped.
pub fn slip_encode(packet: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(packet.len() + 8);
    out.push(SLIP_END);
    for &b in packet {
        match b {
            SLIP_END => out.extend_from_slice(&[SLIP_ESC, SLIP_ESC_END]),
            SLIP_ESC => out.extend_from_slice(&[SLIP_ESC, SLIP_ESC_ESC]),
            b => out.push(b),
        }
    }
    out.push(SLIP_END);
    out
}

/// Collects SLIP frames from a byte stream. An empty frame (two ENDs) is no packet; a bad
/// escape or an over-long frame is malformed and dropped whole.
#[derive(Default)]
pub struct SlipDecoder {
    frame: Vec<u8>,
    escaped: bool,
    broken: bool,
}

impl SlipDecoder {
    /// Takes one byte; at the end of a frame, the frame (or `Err` for a malformed one).
    pub fn push(&mut self, byte: u8) -> Option<Result<Vec<u8>, ()>> {
        if byte == SLIP_END {
            let broken = std::mem::take(&mut self.broken) || self.escaped;
            self.escaped = false;
            let frame = std::mem::take(&mut self.frame);
            return match (broken, frame.is_empty()) {
                (true, _) => Some(Err(())),
                (false, true) => None,
                (false, false) => Some(Ok(frame)),
            };
        }
        if self.broken {
            return None;
        }
        let byte = if self.escaped {
            self.escaped = false;
            match byte {
                SLIP_ESC_END => SLIP_END,
                SLIP_ESC_ESC => SLIP_ESC,
                _ => {
                    self.broken = true;
                    self.frame.clear();
                    return None;
                }
            }
        } else if byte == SLIP_ESC {
            self.escaped = true;
            return None;
        } else {
            byte
        };
        if self.frame.len() >= MAX_FRAME {
            self.broken = true;
            self.frame.clear();
            return None;
        }
        self.frame.push(byte);
        None
    }
}

impl Drop for OscServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
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
        assert_eq!(parse(&msg("/segue/go", vec![])), Ok(Command::Go));
        assert_eq!(parse(&msg("/segue/cue/theme/start", vec![])), Ok(Command::StartCue("theme".into())));
        assert_eq!(parse(&msg("/segue/level/bed", vec![OscType::Float(-6.0)])), Ok(Command::Level(Level::Bed, -6.0)));
        assert_eq!(
            parse(&msg("/segue/transport/locate", vec![OscType::Int(12)])),
            Ok(Command::Locate(crate::control::times::Moment::Show(12.0)))
        );
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

    #[test]
    fn mapped_ipv4_peers_and_prefix_lengths_are_read_right() {
        assert!(allowed("::ffff:127.0.0.1".parse().unwrap(), &[]));
        assert!(allowed("::ffff:10.1.2.3".parse().unwrap(), &[parse_cidr("10.1.2.0/24").unwrap()]));
        assert!(parse_cidr("10.0.0.0/33").unwrap_err().contains("at most 32"));
    }

    #[test]
    fn a_packet_of_deeply_nested_bundles_is_refused_before_it_is_decoded() {
        // 5000 nested bundles: each `#bundle\0`, a time tag and the size of what it holds.
        let mut packet = Vec::new();
        for _ in 0..5000 {
            packet.extend_from_slice(b"#bundle\0");
            packet.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
            packet.extend_from_slice(&[0, 0, 0, 0]);
        }
        let (tx, rx) = crate::control::command::requests();
        let udp = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        let counts = OscCounts::default();
        let to = udp_reply(udp.clone(), udp.local_addr().unwrap());
        assert!(take_packet(&packet, Instant::now(), &to, Source::Osc, &counts, &tx));
        assert_eq!(counts.malformed.load(Ordering::Relaxed), 1);
        assert!(rx.normal.try_recv().is_err() && rx.urgent.try_recv().is_err());
    }

    #[test]
    fn slip_frames_round_trip_through_escapes_and_bad_frames_are_dropped_whole() {
        let packet = vec![1, SLIP_END, 2, SLIP_ESC, 3];
        let mut stream = slip_encode(&packet);
        stream.extend(slip_encode(b"second"));
        // A bad escape, then a good frame right after it.
        stream.extend([SLIP_END, b'x', SLIP_ESC, b'y', SLIP_END]);
        stream.extend(slip_encode(b"third"));
        let mut d = SlipDecoder::default();
        let frames: Vec<_> = stream.iter().filter_map(|&b| d.push(b)).collect();
        assert_eq!(frames, vec![Ok(packet), Ok(b"second".to_vec()), Err(()), Ok(b"third".to_vec())]);
    }
}
