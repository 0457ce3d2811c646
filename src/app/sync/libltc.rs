//! LTC (SMPTE linear timecode) through x42's libltc (Debian `libltc-dev`, the decoder Ardour and
//! xjadeo use): a `Decoder` that hears timecode in audio, and an `Encoder` that writes it (the
//! tests' generator, and timecode out). Both only touch memory they were given at creation, so
//! `Decoder::write`, `Decoder::read` and the encoder's frame calls are fit for an audio thread;
//! creating and dropping them allocate.
//!
//! The C structures are mirrored as the Debian header lays them out on little-endian machines
//! (`LTCFrame` is 12 bytes, `LTCFrameExt` 368: checked against `ltc.h` by a C compiler when this
//! was written, and by `the_c_layout_is_mirrored` below through the library's own functions).

use std::os::raw::{c_double, c_int, c_longlong, c_uchar, c_void};

use crate::show::timecode::FrameRate;

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct LtcFrame {
    bits: [u8; 12],
}

#[repr(C)]
#[derive(Clone, Copy)]
struct LtcFrameExt {
    ltc: LtcFrame,
    off_start: c_longlong,
    off_end: c_longlong,
    reverse: c_int,
    biphase_tics: [f32; 80],
    sample_min: c_uchar,
    sample_max: c_uchar,
    volume: c_double,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct SmpteTimecode {
    timezone: [u8; 6],
    years: u8,
    months: u8,
    days: u8,
    hours: u8,
    mins: u8,
    secs: u8,
    frame: u8,
}

/// `enum LTC_TV_STANDARD`.
const LTC_TV_525_60: c_int = 0;
const LTC_TV_625_50: c_int = 1;
const LTC_TV_FILM_24: c_int = 3;

#[link(name = "ltc")]
unsafe extern "C" {
    fn ltc_decoder_create(apv: c_int, queue_size: c_int) -> *mut c_void;
    fn ltc_decoder_free(d: *mut c_void) -> c_int;
    fn ltc_decoder_write_float(d: *mut c_void, buf: *mut f32, size: usize, posinfo: c_longlong);
    fn ltc_decoder_read(d: *mut c_void, frame: *mut LtcFrameExt) -> c_int;
    fn ltc_decoder_queue_flush(d: *mut c_void);
    fn ltc_encoder_create(sample_rate: c_double, fps: c_double, standard: c_int, flags: c_int) -> *mut c_void;
    fn ltc_encoder_free(e: *mut c_void);
    fn ltc_encoder_set_timecode(e: *mut c_void, t: *mut SmpteTimecode);
    fn ltc_encoder_get_timecode(e: *mut c_void, t: *mut SmpteTimecode);
    fn ltc_encoder_inc_timecode(e: *mut c_void) -> c_int;
    fn ltc_encoder_encode_frame(e: *mut c_void);
    fn ltc_encoder_get_bufferptr(e: *mut c_void, buf: *mut *mut c_uchar, flush: c_int) -> c_int;
    fn ltc_encoder_set_volume(e: *mut c_void, dbfs: c_double) -> c_int;
}

/// One timecode label as LTC carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Label {
    pub hours: u8,
    pub minutes: u8,
    pub seconds: u8,
    pub frames: u8,
    /// The drop-frame flag (29.97 drop-frame).
    pub drop: bool,
}

impl Label {
    /// Frames counted from 00:00:00:00 at `base` frames a second (24, 25 or 30), drop-frame
    /// labels skipped when `drop`.
    pub fn count(&self, base: u64, drop: bool) -> u64 {
        let minutes = self.hours as u64 * 60 + self.minutes as u64;
        let frames = (minutes * 60 + self.seconds as u64) * base + self.frames as u64;
        if drop {
            frames.saturating_sub(2 * (minutes - minutes / 10))
        } else {
            frames
        }
    }

    /// The label of frame `count` at `rate` (as `show::timecode::Timecode` writes it; past
    /// 23:59:59 it starts again at 00). Plain arithmetic: fit for an audio thread.
    pub fn of(count: u64, rate: FrameRate) -> Label {
        let base = rate.base();
        let mut n = count;
        if rate.drop_frame() {
            // 17982 frames in ten minutes (the first minute keeps all 1800 labels, nine lose 2).
            let (tens, rest) = (n / 17_982, n % 17_982);
            n += 18 * tens + if rest >= 2 { 2 * ((rest - 2) / 1798) } else { 0 };
        }
        let secs = n / base;
        Label {
            hours: (secs / 3600 % 24) as u8,
            minutes: (secs / 60 % 60) as u8,
            seconds: (secs % 60) as u8,
            frames: (n % base) as u8,
            drop: rate.drop_frame(),
        }
    }

    fn from_bits(b: &[u8; 12]) -> Label {
        // LTCFrame's bit fields, little-endian (ltc.h).
        Label {
            frames: (b[0] & 0x0f) + 10 * (b[1] & 0x03),
            drop: b[1] & 0x04 != 0,
            seconds: (b[2] & 0x0f) + 10 * (b[3] & 0x07),
            minutes: (b[4] & 0x0f) + 10 * (b[5] & 0x07),
            hours: (b[6] & 0x0f) + 10 * (b[7] & 0x03),
        }
    }
}

/// A frame the decoder heard: its label, and the audio samples (as counted by what was given
/// to `Decoder::write`) where it started and ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Heard {
    pub label: Label,
    pub start: i64,
    pub end: i64,
    /// Played backwards.
    pub reverse: bool,
    /// The signal's level in dBFS.
    pub volume_db: f32,
}

/// libltc's decoder.
pub struct Decoder(*mut c_void);

// The decoder is owned by one thread at a time (created on the main thread, then moved to the
// audio thread that feeds it).
unsafe impl Send for Decoder {}

impl Decoder {
    /// `samples_per_frame`: audio samples of one timecode frame, near enough for the first
    /// frame (the decoder follows the speed from there).
    pub fn new(samples_per_frame: u32) -> Decoder {
        let d = unsafe { ltc_decoder_create(samples_per_frame as c_int, 32) };
        assert!(!d.is_null(), "libltc could not create a decoder (out of memory)");
        Decoder(d)
    }

    /// Audio in, `position`: the count of its first sample (frames heard carry it on).
    pub fn write(&mut self, samples: &[f32], position: i64) {
        // libltc reads the buffer only; its signature asks for a mutable pointer.
        unsafe { ltc_decoder_write_float(self.0, samples.as_ptr() as *mut f32, samples.len(), position) }
    }

    /// The next frame heard, if any.
    pub fn read(&mut self) -> Option<Heard> {
        let mut ext = LtcFrameExt {
            ltc: LtcFrame::default(),
            off_start: 0,
            off_end: 0,
            reverse: 0,
            biphase_tics: [0.0; 80],
            sample_min: 0,
            sample_max: 0,
            volume: 0.0,
        };
        if unsafe { ltc_decoder_read(self.0, &mut ext) } == 0 {
            return None;
        }
        Some(Heard {
            label: Label::from_bits(&ext.ltc.bits),
            start: ext.off_start,
            end: ext.off_end,
            reverse: ext.reverse != 0,
            volume_db: ext.volume as f32,
        })
    }

    /// Forgets frames heard and not read.
    pub fn flush(&mut self) {
        unsafe { ltc_decoder_queue_flush(self.0) }
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        unsafe { ltc_decoder_free(self.0) };
    }
}

/// libltc's encoder: LTC audio, a frame at a time.
pub struct Encoder {
    e: *mut c_void,
    rate: FrameRate,
}

unsafe impl Send for Encoder {}

impl Encoder {
    /// LTC at `rate` for audio at `sample_rate` (which may be fractional: a generator on a
    /// clock that runs off the listener's is an encoder at that clock's rate), at `volume_db`
    /// dBFS (LTC on a line is usually -18 to -10).
    pub fn new(sample_rate: f64, rate: FrameRate, volume_db: f64) -> Encoder {
        let (num, den) = rate.ratio();
        let standard = match rate.base() {
            25 => LTC_TV_625_50,
            24 => LTC_TV_FILM_24,
            _ => LTC_TV_525_60,
        };
        let e = unsafe { ltc_encoder_create(sample_rate, num as f64 / den as f64, standard, 0) };
        assert!(!e.is_null(), "libltc could not create an encoder (out of memory)");
        unsafe { ltc_encoder_set_volume(e, volume_db) };
        Encoder { e, rate }
    }

    /// The next frame encoded carries `label`.
    pub fn set(&mut self, label: Label) {
        let mut t = SmpteTimecode {
            hours: label.hours,
            mins: label.minutes,
            secs: label.seconds,
            frame: label.frames,
            timezone: *b"+0000\0",
            ..SmpteTimecode::default()
        };
        unsafe { ltc_encoder_set_timecode(self.e, &mut t) }
    }

    /// The label the next frame carries.
    pub fn label(&self) -> Label {
        let mut t = SmpteTimecode::default();
        unsafe { ltc_encoder_get_timecode(self.e, &mut t) };
        Label { hours: t.hours, minutes: t.mins, seconds: t.secs, frames: t.frame, drop: self.rate.drop_frame() }
    }

    /// Encodes the current frame, moves on to the next label, and hands the frame's audio (as
    /// floats, -1..1) to `out`.
    pub fn frame(&mut self, mut out: impl FnMut(&[u8])) {
        unsafe { ltc_encoder_encode_frame(self.e) };
        let mut ptr: *mut c_uchar = std::ptr::null_mut();
        let len = unsafe { ltc_encoder_get_bufferptr(self.e, &mut ptr, 1) };
        if len > 0 && !ptr.is_null() {
            out(unsafe { std::slice::from_raw_parts(ptr, len as usize) });
        }
        unsafe { ltc_encoder_inc_timecode(self.e) };
    }

    /// An encoded byte as a float sample (libltc writes unsigned 8-bit audio around 128).
    pub fn sample(byte: u8) -> f32 {
        (byte as f32 - 128.0) / 127.0
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        unsafe { ltc_encoder_free(self.e) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `frames` frames of LTC from `first` at `rate`, as floats.
    fn encode(rate: FrameRate, first: u64, frames: usize, sample_rate: f64) -> Vec<f32> {
        let mut enc = Encoder::new(sample_rate, rate, -18.0);
        enc.set(Label::of(first, rate));
        let mut audio = Vec::new();
        for _ in 0..frames {
            enc.frame(|bytes| audio.extend(bytes.iter().map(|&b| Encoder::sample(b))));
        }
        audio
    }

    #[test]
    fn the_c_layout_is_mirrored_what_is_encoded_is_heard() {
        for rate in [FrameRate::Fps24, FrameRate::Fps25, FrameRate::Fps29_97Df, FrameRate::Fps30] {
            // 00:09:59:20 onwards crosses a minute, and a drop-frame skip.
            let first = Label { hours: 0, minutes: 9, seconds: 59, frames: 20, drop: rate.drop_frame() }
                .count(rate.base(), rate.drop_frame());
            let audio = encode(rate, first, 20, 48_000.0);
            let mut dec = Decoder::new(48_000 / rate.base() as u32);
            // In odd pieces, as an audio callback hands them.
            let mut heard = Vec::new();
            let mut at = 0;
            for piece in audio.chunks(173) {
                dec.write(piece, at);
                at += piece.len() as i64;
                while let Some(h) = dec.read() {
                    heard.push(h);
                }
            }
            assert!(heard.len() >= 18, "{rate:?}: {} frames heard of 20", heard.len());
            let (num, den) = rate.ratio();
            let per_frame = 48_000.0 * den as f64 / num as f64;
            for h in &heard {
                assert!(!h.reverse);
                assert_eq!(h.label.drop, rate.drop_frame(), "{rate:?}: the drop-frame flag");
                let count = h.label.count(rate.base(), rate.drop_frame());
                assert!(count >= first && count < first + 20, "{rate:?}: {:?}", h.label);
                // Each frame starts where its place in the audio says (within a few samples:
                // the decoder marks the first transition it detects).
                let expected = (count - first) as f64 * per_frame;
                assert!(
                    (h.start as f64 - expected).abs() < 4.0,
                    "{rate:?} {:?}: at {} not {expected}",
                    h.label,
                    h.start
                );
                assert!((h.end - h.start + 1) as f64 - per_frame < 4.0);
            }
            if rate.drop_frame() {
                // 00:10:00;00 is kept (a tenth minute); the next minute's first labels skip.
                let labels: Vec<_> = heard.iter().map(|h| Label::of(h.label.count(30, true), rate)).collect();
                assert!(labels.iter().any(|l| l.minutes == 10 && l.seconds == 0 && l.frames == 0));
            }
        }
    }

    #[test]
    fn labels_count_as_show_timecodes_do() {
        for rate in [FrameRate::Fps25, FrameRate::Fps29_97Df, FrameRate::Fps23_976] {
            for count in [0u64, 1, 1799, 1800, 1801, 17_982, 17_983, 107_892, 2_000_000] {
                let label = Label::of(count, rate);
                assert_eq!(label.count(rate.base(), rate.drop_frame()), count, "{rate:?} {label:?}");
                let text = crate::show::timecode::Timecode { frames: count, rate }.to_string();
                let l = label;
                let sep = if rate.drop_frame() { ';' } else { ':' };
                assert_eq!(format!("{:02}:{:02}:{:02}{sep}{:02}", l.hours, l.minutes, l.seconds, l.frames), text);
            }
        }
    }
}
