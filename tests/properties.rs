//! Properties of the pure parts (#8), checked by proptest over inputs it makes and shrinks: the
//! parsers that take what a network, a controller or a show file sends (SLIP, OSC, MIDI/MSC,
//! times and timecodes) and the gain paths every sample goes through (ramps, fades, dB). A
//! failing case is shrunk to its smallest form and its seed kept in `tests/properties.proptest-regressions`
//! (commit it: proptest tries those first).

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

use segue::app::osc::{decode_packet, slip_encode, SlipDecoder};
use segue::control::midi::{decode, msc_message, MidiCommand, MidiMap, Msc, MSC_ALL_CALL, MSC_FORMAT_SOUND};
use segue::engine::fade::{db_to_gain, Envelope, Ramp};
use segue::show::time::parse_time;
use segue::show::timecode::{FrameRate, Timecode};
use segue::show::Curve;

const RATES: [FrameRate; 6] = FrameRate::ALL;
const CURVES: [Curve; 3] = [Curve::Linear, Curve::EqualPower, Curve::SCurve];

/// `n` gains made by `fill` in blocks of the sizes `sizes` gives, cycling.
fn in_blocks(n: usize, sizes: &[usize], mut fill: impl FnMut(&mut [f32])) -> Vec<f32> {
    let mut out = vec![0.0; n];
    let (mut done, mut i) = (0, 0);
    while done < n {
        let b = sizes[i % sizes.len()].min(n - done);
        fill(&mut out[done..done + b]);
        done += b;
        i += 1;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    /// Any packet comes back whole from its SLIP frame, whatever bytes it holds, after any
    /// garbage that ended with a frame end.
    #[test]
    fn slip_frames_round_trip(packet in prop::collection::vec(any::<u8>(), 1..2048),
                              noise in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut d = SlipDecoder::default();
        for &b in &noise {
            let _ = d.push(b);
        }
        let frames: Vec<_> = slip_encode(&packet).iter().filter_map(|&b| d.push(b)).collect();
        prop_assert_eq!(frames.last(), Some(&Ok(packet)));
    }

    /// Any bytes at all: a decoded list or a reason, never a panic; every message keeps the
    /// address it came with.
    #[test]
    fn osc_messages_decode_with_their_address(address in "/[a-z/]{0,40}", value in any::<f32>(),
                                              junk in prop::collection::vec(any::<u8>(), 0..256)) {
        let msg = rosc::OscPacket::Message(rosc::OscMessage {
            addr: address.clone(),
            args: vec![rosc::OscType::Float(value)],
        });
        let list = decode_packet(&rosc::encoder::encode(&msg).unwrap()).unwrap();
        prop_assert_eq!(list.len(), 1);
        prop_assert_eq!(&list[0].0, &address);
        let _ = decode_packet(&junk);
    }

    /// A note-on with velocity is GO, panic or the note, on any channel; velocity 0 is a note-off.
    #[test]
    fn note_ons_map_on_every_channel(channel in 0u8..16, key in 0u8..128, velocity in 0u8..128) {
        let map = MidiMap::default();
        let got = decode(&[0x90 | channel, key, velocity], &map);
        let want = match (velocity, key) {
            (0, _) => None,
            (_, k) if k == map.go_note => Some(MidiCommand::Go),
            (_, k) if k == map.panic_note => Some(MidiCommand::Panic),
            (_, k) => Some(MidiCommand::Note(k)),
        };
        prop_assert_eq!(got, want);
    }

    /// An MSC GO's cue number (digits with at most one point, up to 32 characters) comes back
    /// as it was sent; one that is not a number is refused, never taken as a bare GO.
    #[test]
    fn msc_cue_numbers_round_trip(number in "[0-9]{1,8}(\\.[0-9]{1,8})?", bad in "[0-9]{0,4}[A-Za-z ][0-9A-Za-z]{0,4}") {
        let map = MidiMap::default();
        let sent = msc_message(MSC_ALL_CALL, MSC_FORMAT_SOUND, 0x01, Some(&number));
        prop_assert_eq!(decode(&sent, &map), Some(MidiCommand::Msc(Msc::Go(Some(number.clone())))));
        let refused = msc_message(MSC_ALL_CALL, MSC_FORMAT_SOUND, 0x01, Some(&bad));
        prop_assert_eq!(decode(&refused, &map), None);
    }

    /// Any bytes as one MIDI message: an answer, never a panic.
    #[test]
    fn any_midi_bytes_are_answered(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode(&bytes, &MidiMap::default());
    }

    /// `HH:MM:SS.mmm`, `MM:SS.mmm` and plain seconds read back the seconds they were made from.
    #[test]
    fn show_times_read_back(h in 0u64..100, m in 0u64..60, s in 0u64..60, ms in 0u64..1000) {
        let secs = ((h * 60 + m) * 60 + s) as f64 + ms as f64 / 1000.0;
        let long = parse_time(&format!("{h:02}:{m:02}:{s:02}.{ms:03}")).unwrap();
        prop_assert!((long - secs).abs() < 1e-9, "{} vs {}", long, secs);
        let short = parse_time(&format!("{}:{s:02}.{ms:03}", h * 60 + m)).unwrap();
        prop_assert!((short - secs).abs() < 1e-9);
        let plain = parse_time(&secs.to_string()).unwrap();
        prop_assert!((plain - secs).abs() < 1e-9);
    }

    /// Every picture frame of a day, at every rate (drop-frame included), is written as a label
    /// that reads back as the same frame.
    #[test]
    fn timecodes_read_back(frames in 0u64..2_000_000, rate in 0usize..6) {
        let rate = RATES[rate];
        let day = 24 * 3600 * rate.base() - if rate.drop_frame() { 2 * (24 * 60 - 24 * 6) } else { 0 };
        let tc = Timecode { frames: frames % day, rate };
        let text = tc.to_string();
        prop_assert_eq!(Timecode::parse(&text, rate), Ok(tc), "{}", text);
    }

    /// A level change reaches its target exactly, passing only through values between where it
    /// was and where it goes, and gives the same gains in blocks of any sizes.
    #[test]
    fn ramps_stay_between_their_ends_in_any_blocks(from in 0.0f32..16.0, to in 0.0f32..16.0, frames in 1u32..5000,
                                                   sizes in prop::collection::vec(1usize..700, 1..8)) {
        let mut a = Ramp::new(from);
        a.set(to, frames);
        let one: Vec<f32> = (0..frames as usize + 10).map(|_| a.tick()).collect();
        let mut b = Ramp::new(from);
        b.set(to, frames);
        let split = in_blocks(one.len(), &sizes, |buf| b.fill(buf));
        prop_assert_eq!(&one, &split);
        let (lo, hi) = (from.min(to), from.max(to));
        prop_assert!(one.iter().all(|g| *g >= lo && *g <= hi), "left [{}, {}]", lo, hi);
        prop_assert_eq!(*one.last().unwrap(), to);
    }

    /// A fade of any curve and length stays between its ends, lands on its target, and splits
    /// into blocks of any sizes with the same bits.
    #[test]
    fn fades_stay_between_their_ends_in_any_blocks(from in 0.0f32..4.0, to in 0.0f32..4.0, frames in 0u32..20_000,
                                                   curve in 0usize..3, sizes in prop::collection::vec(1usize..3000, 1..8)) {
        let mut a = Envelope::steady(from);
        a.fade_to(to, frames, CURVES[curve]);
        let one: Vec<f32> = (0..frames as usize + 10).map(|_| a.tick()).collect();
        let mut b = Envelope::steady(from);
        b.fade_to(to, frames, CURVES[curve]);
        let split = in_blocks(one.len(), &sizes, |buf| b.fill(buf));
        prop_assert_eq!(&one, &split);
        // 1e-6: the anchors' interpolation may round a hair past an end, never audibly.
        let (lo, hi) = (from.min(to) - 1e-6, from.max(to) + 1e-6);
        prop_assert!(one.iter().all(|g| g.is_finite() && *g >= lo && *g <= hi), "left [{}, {}]", lo, hi);
        prop_assert_eq!(*one.last().unwrap(), to);
    }

    /// Any level a show or a remote may give (-144..+24 dB, and below: silence) is a finite,
    /// non-negative gain, growing with the dB.
    #[test]
    fn gains_are_finite_and_grow_with_the_level(db in -1000.0f32..24.0, step in 0.001f32..10.0) {
        let g = db_to_gain(db);
        prop_assert!(g.is_finite() && g >= 0.0);
        prop_assert!(db_to_gain((db + step).min(24.0)) >= g);
    }
}
