//! Opus at 48 kHz mono through libopus (the `opus` crate), with in-band FEC steered by the far
//! end's RTCP loss reports.
//!
//! * [`LossPlan`] turns the reports into the loss the encoder plans for. A call starts planning
//!   for [`START_LOSS`] (so FEC copies protect the first packets, before any report can
//!   arrive), follows reported loss up at once and down slowly (one clean 1-s interval on a
//!   lossy line is luck, not a repaired line), and drops to 0 after [`CLEAN_REPORTS_TO_STOP`]
//!   clean reports in a row ([`CLEAN_REPORTS_TO_STOP_UNSEEN`] on a line that never lost a
//!   packet): a clean line pays nothing for protection.
//! * The encoder is told at least [`MIN_FEC_LOSS`] % whenever it plans for any loss: libopus
//!   makes LBRR (FEC) copies only when the bitrate covers them at the current audio bandwidth,
//!   and at 5 % or less it would rather drop the copies than narrow the bandwidth (measured:
//!   at 24-28 kbit/s and 1-5 % not one packet carried a copy). On a clean line the voice gets
//!   [`BITRATE`] (48 kbit/s, chosen by measurement). The start-of-call protection, before any
//!   report has shown loss, spends [`START_BITRATE`]: the voice keeps its clean-line rate and
//!   the copy comes on top. Once a report shows loss (often congestion) the encoder backs off
//!   to [`PROTECTED_BITRATE`], of which the FEC copy takes a share ([`bitrate_for_loss`]).
//! * For a lost packet the decoder first decodes the FEC copy carried in the next packet when
//!   that one is already here, otherwise it runs libopus packet-loss concealment.

use crate::codec::{AudioDecoder, AudioEncoder};
use crate::error::MediaError;

const RATE: u32 = 48000;
/// Largest Opus frame: 120 ms at 48 kHz.
const MAX_FRAME: usize = 5760;
/// Voice bitrate on a clean line, chosen by measurement: libopus 1.6 on the bench's speech
/// (VoIP mode, 20 ms, PESQ-WB of the codec alone) scores 4.34 at 24 kbit/s, 4.44 at 32, 4.50
/// at 40, 4.52 at 48 and 4.53 at 64: 48 kbit/s is where more bits stop buying quality, and
/// with RTP/UDP/IP it is still under G.711's 64 kbit/s payload. On loss the encoder moves to
/// [`PROTECTED_BITRATE`] with FEC (less for the voice, a copy for the next packet).
pub const BITRATE: i32 = 48000;
/// Bitrate while protecting against loss the far end has reported: the voice and its FEC copy
/// together, a little under the clean line's (loss is often congestion: no more bits then).
pub const PROTECTED_BITRATE: i32 = 40000;
/// Bitrate of the start-of-call protection, before any report has shown loss: nothing says the
/// line is congested, so the voice keeps about the clean line's rate and its FEC copy rides on
/// top (about 80 kbit/s on the wire, G.711's). Measured in `cargo xtask bench`, clean line,
/// PESQ-WB: 4.48 when the first seconds went at [`PROTECTED_BITRATE`], 4.51-4.52 at 64 kbit/s
/// (the codec alone at 48 kbit/s: 4.52).
pub const START_BITRATE: i32 = 64000;
/// The loss a call plans for before the far end has reported anything.
pub const START_LOSS: u8 = 10;
/// Whenever any loss is planned for, libopus is told at least this much (see the module doc).
pub const MIN_FEC_LOSS: u8 = 10;
/// Clean reports in a row after which protection stops on a line that has shown loss (about
/// 3 s early in a call, when reports come every second: on the bench's 5 % line two clean
/// seconds in a row happen, and turned protection off just before the next losses) ...
pub const CLEAN_REPORTS_TO_STOP: u32 = 3;
/// ... and on a line that never has (only the start-of-call protection to undo).
pub const CLEAN_REPORTS_TO_STOP_UNSEEN: u32 = 2;

/// Bitrate for a planned loss (percent): the plain voice rate on a clean line, else room for
/// the FEC copy — on top of the voice's rate while no report has shown loss (`reported`
/// false: the start-of-call protection), within a little less once one has.
pub fn bitrate_for_loss(percent: u8, reported: bool) -> i32 {
    if percent == 0 {
        BITRATE
    } else if reported {
        PROTECTED_BITRATE
    } else {
        START_BITRATE
    }
}

/// The loss percentage libopus is told for a planned loss (see [`MIN_FEC_LOSS`]).
pub fn packet_loss_perc_for(percent: u8) -> u8 {
    if percent == 0 {
        0
    } else {
        percent.clamp(MIN_FEC_LOSS, 100)
    }
}

/// The loss the encoder plans for, from the far end's RTCP reports (see the module doc).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LossPlan {
    percent: u8,
    clean_reports: u32,
    /// Some report has shown loss.
    seen_loss: bool,
}

impl Default for LossPlan {
    fn default() -> Self {
        LossPlan::new()
    }
}

impl LossPlan {
    /// A call's plan before any report: [`START_LOSS`].
    pub fn new() -> Self {
        LossPlan {
            percent: START_LOSS,
            clean_reports: 0,
            seen_loss: false,
        }
    }

    /// The loss (percent) currently planned for.
    pub fn percent(&self) -> u8 {
        self.percent
    }

    /// Whether some report has shown loss (until then the plan is the start-of-call one).
    pub fn loss_reported(&self) -> bool {
        self.seen_loss
    }

    /// Takes one report's fraction lost (RFC 3550, in 1/256) and returns the new plan.
    pub fn on_report(&mut self, fraction_lost: u8) -> u8 {
        // Percent, rounded up so any reported loss counts.
        let reported = (fraction_lost as u32 * 100).div_ceil(256) as u8;
        if reported == 0 {
            self.clean_reports += 1;
            let enough = if self.seen_loss {
                CLEAN_REPORTS_TO_STOP
            } else {
                CLEAN_REPORTS_TO_STOP_UNSEEN
            };
            if self.clean_reports >= enough {
                self.percent = 0;
            }
        } else {
            self.clean_reports = 0;
            self.seen_loss = true;
            // Up at once, down a quarter of the way per report.
            self.percent = if reported >= self.percent {
                reported
            } else {
                self.percent - (self.percent - reported).div_ceil(4)
            };
        }
        self.percent
    }
}

fn err(reason: impl std::fmt::Display) -> MediaError {
    MediaError::Codec {
        codec: "Opus",
        reason: reason.to_string(),
    }
}

/// True if an Opus packet carries an in-band FEC (LBRR) copy of the previous frame.
pub fn packet_has_fec(payload: &[u8]) -> bool {
    if payload.is_empty() || payload.len() > i32::MAX as usize {
        return false;
    }
    // SAFETY: libopus reads at most `len` bytes from the pointer; the slice outlives the call.
    let r = unsafe { opusic_sys::opus_packet_has_lbrr(payload.as_ptr(), payload.len() as i32) };
    r == 1
}

/// Opus encoder tuned for voice.
pub struct OpusEncoder {
    inner: opus::Encoder,
    buf: Vec<u8>,
    loss: u8,
    /// Some report has shown loss (see [`bitrate_for_loss`]).
    reported: bool,
    bitrate: i32,
    /// Less protection asked for (planned loss, reported), applied at the next quiet frame
    /// (see [`QUIET_RMS`]).
    pending: Option<(u8, bool)>,
    /// Frames encoded since `pending` was set.
    waited: u32,
}

/// Less protection (lower bitrate, FEC off) is applied on a frame quieter than this RMS
/// (about -50 dBFS): switching in the middle of a word was heard (and measured: PESQ-WB 4.32
/// -> 4.11 on a clean line when the switch fell mid-word). More protection applies at once.
const QUIET_RMS: f64 = 100.0;
/// ... or after this many frames (3 s of 20 ms) without a quiet one.
const MAX_WAIT_FRAMES: u32 = 150;

impl OpusEncoder {
    pub fn new() -> Result<Self, MediaError> {
        let mut inner =
            opus::Encoder::new(RATE, opus::Channels::Mono, opus::Application::Voip).map_err(err)?;
        // In-band FEC stays enabled (mode 1): libopus adds the LBRR copy only while the
        // expected loss is above 0.
        inner.set_inband_fec(true).map_err(err)?;
        let loss = START_LOSS;
        let bitrate = bitrate_for_loss(loss, false);
        inner
            .set_bitrate(opus::Bitrate::Bits(bitrate))
            .map_err(err)?;
        inner
            .set_packet_loss_perc(packet_loss_perc_for(loss) as i32)
            .map_err(err)?;
        Ok(OpusEncoder {
            inner,
            buf: vec![0; 1500],
            loss,
            reported: false,
            bitrate,
            pending: None,
            waited: 0,
        })
    }

    /// The loss percentage the encoder currently plans for (starts at [`START_LOSS`]).
    pub fn expected_loss(&self) -> u8 {
        self.loss
    }
}

impl AudioEncoder for OpusEncoder {
    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), MediaError> {
        if let Some((percent, reported)) = self.pending {
            self.waited += 1;
            let rms = (pcm.iter().map(|&s| (s as f64).powi(2)).sum::<f64>()
                / pcm.len().max(1) as f64)
                .sqrt();
            if rms < QUIET_RMS || self.waited >= MAX_WAIT_FRAMES {
                self.apply(percent, reported);
            }
        }
        let n = self.inner.encode(pcm, &mut self.buf).map_err(err)?;
        out.extend_from_slice(&self.buf[..n]);
        Ok(())
    }

    fn set_expected_loss(&mut self, percent: u8, reported: bool) {
        let percent = percent.min(100);
        // More protection, or the first report of loss (back off from the start-of-call
        // rate), applies at once; less waits for a pause.
        if percent > self.loss
            || (reported && !self.reported)
            || (percent, reported) == (self.loss, self.reported)
        {
            self.apply(percent, reported);
        } else if self.pending != Some((percent, reported)) {
            self.pending = Some((percent, reported));
            self.waited = 0;
        }
    }

    fn bitrate(&self) -> Option<u32> {
        Some(self.bitrate as u32)
    }
}

impl OpusEncoder {
    fn apply(&mut self, percent: u8, reported: bool) {
        self.pending = None;
        self.reported = reported;
        if percent != self.loss
            && self
                .inner
                .set_packet_loss_perc(packet_loss_perc_for(percent) as i32)
                .is_ok()
        {
            self.loss = percent;
        }
        let rate = bitrate_for_loss(self.loss, self.reported);
        if rate != self.bitrate && self.inner.set_bitrate(opus::Bitrate::Bits(rate)).is_ok() {
            self.bitrate = rate;
        }
    }
}

/// Decoder complexity: 5 and above turn on libopus's deep packet-loss concealment (a small
/// neural network built into libopus 1.5+, compiled in through `opusic-sys`'s `dred` feature),
/// for a packet lost from a sender without FEC. Measured in `cargo xtask bench` ("Opus
/// without sender FEC", libopus on baresip's packets): medians 2.25 vs 2.15 classic at 10 %
/// loss, 1.42 vs 1.33 at 20 %, 2.94 vs 3.15 at 5 % — a small gain, free on received frames
/// (decode time unchanged). 6 and 7 would add LACE/NoLACE
/// post-filters (the `osce` feature: ~16 MB more model source to compile, CPU on every frame).
pub const DECODER_COMPLEXITY: i32 = 5;

/// A libopus decoder handle (mono, 48 kHz). The `opus` crate's decoder cannot set the
/// decoder's complexity, so this holds the C decoder directly.
struct Libopus(std::ptr::NonNull<opusic_sys::OpusDecoder>);

// SAFETY: a libopus decoder has no thread affinity; `&mut self` serialises every use.
unsafe impl Send for Libopus {}

impl Libopus {
    fn new(complexity: i32) -> Result<Self, MediaError> {
        let mut error = 0;
        // SAFETY: plain constructor; `error` outlives the call.
        let st = unsafe { opusic_sys::opus_decoder_create(RATE as i32, 1, &mut error) };
        let st = std::ptr::NonNull::new(st)
            .filter(|_| error == opusic_sys::OPUS_OK)
            .ok_or_else(|| err(strerror(error)))?;
        let dec = Libopus(st);
        // SAFETY: a valid decoder; OPUS_SET_COMPLEXITY takes one opus_int32.
        let r = unsafe {
            opusic_sys::opus_decoder_ctl(
                dec.0.as_ptr(),
                opusic_sys::OPUS_SET_COMPLEXITY_REQUEST,
                complexity,
            )
        };
        if r != opusic_sys::OPUS_OK {
            return Err(err(strerror(r)));
        }
        Ok(dec)
    }

    fn complexity(&mut self) -> i32 {
        let mut value: i32 = -1;
        // SAFETY: a valid decoder; OPUS_GET_COMPLEXITY takes one opus_int32 pointer.
        unsafe {
            opusic_sys::opus_decoder_ctl(
                self.0.as_ptr(),
                opusic_sys::OPUS_GET_COMPLEXITY_REQUEST,
                &mut value as *mut i32,
            )
        };
        value
    }

    /// Decodes `data` (empty: conceal one lost frame of `out.len()` samples) into `out`.
    fn decode(&mut self, data: &[u8], out: &mut [i16], fec: bool) -> Result<usize, MediaError> {
        let len = i32::try_from(data.len()).map_err(|_| err("packet too large"))?;
        let frame = i32::try_from(out.len()).map_err(|_| err("frame too large"))?;
        let ptr = if data.is_empty() {
            std::ptr::null()
        } else {
            data.as_ptr()
        };
        // SAFETY: libopus reads at most `len` bytes from `ptr` (null for concealment) and writes
        // at most `frame` samples to `out`; both slices outlive the call.
        let n = unsafe {
            opusic_sys::opus_decode(
                self.0.as_ptr(),
                ptr,
                len,
                out.as_mut_ptr(),
                frame,
                i32::from(fec),
            )
        };
        if n < 0 {
            return Err(err(strerror(n)));
        }
        Ok(n as usize)
    }
}

impl Drop for Libopus {
    fn drop(&mut self) {
        // SAFETY: created by opus_decoder_create and destroyed only here.
        unsafe { opusic_sys::opus_decoder_destroy(self.0.as_ptr()) }
    }
}

fn strerror(code: i32) -> String {
    // SAFETY: opus_strerror returns a static NUL-terminated string for any code.
    let s = unsafe { std::ffi::CStr::from_ptr(opusic_sys::opus_strerror(code)) };
    s.to_string_lossy().into_owned()
}

/// Opus decoder producing mono 48 kHz (stereo streams are downmixed by libopus), with deep
/// packet-loss concealment ([`DECODER_COMPLEXITY`]).
pub struct OpusDecoder {
    inner: Libopus,
    buf: Vec<i16>,
}

impl OpusDecoder {
    pub fn new() -> Result<Self, MediaError> {
        OpusDecoder::with_complexity(DECODER_COMPLEXITY)
    }

    /// A decoder at another complexity (0 for the classic concealment: for comparisons).
    pub fn with_complexity(complexity: i32) -> Result<Self, MediaError> {
        Ok(OpusDecoder {
            inner: Libopus::new(complexity)?,
            buf: vec![0; MAX_FRAME],
        })
    }

    /// The decoder's complexity as libopus reports it.
    pub fn complexity(&mut self) -> i32 {
        self.inner.complexity()
    }
}

impl AudioDecoder for OpusDecoder {
    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), MediaError> {
        if payload.is_empty() {
            return Err(err("empty packet"));
        }
        let n = self
            .inner
            .decode(payload, &mut self.buf, false)
            .map_err(err)?;
        out.extend_from_slice(&self.buf[..n]);
        Ok(())
    }

    fn conceal(
        &mut self,
        samples: usize,
        next_payload: Option<&[u8]>,
        out: &mut Vec<i16>,
    ) -> Result<(), MediaError> {
        // Opus works in 2.5 ms steps; round to a legal frame size.
        let step = (RATE / 400) as usize;
        let frame = (samples.div_ceil(step) * step).clamp(step, MAX_FRAME);
        let n = match next_payload.filter(|p| !p.is_empty()) {
            Some(next) => self.inner.decode(next, &mut self.buf[..frame], true),
            None => self.inner.decode(&[], &mut self.buf[..frame], false),
        }
        .map_err(err)?;
        let n = n.min(samples);
        out.extend_from_slice(&self.buf[..n]);
        out.extend(std::iter::repeat_n(0, samples - n));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize, offset: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                let t = (i + offset) as f32 / RATE as f32;
                ((t * 440.0 * std::f32::consts::TAU).sin() * 8000.0) as i16
            })
            .collect()
    }

    fn energy(x: &[i16]) -> f64 {
        x.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / x.len().max(1) as f64
    }

    #[test]
    fn encode_decode_keeps_a_tone() {
        let mut enc = OpusEncoder::new().unwrap();
        let mut dec = OpusDecoder::new().unwrap();
        let mut decoded = Vec::new();
        let mut bytes = 0;
        for f in 0..50 {
            let mut pkt = Vec::new();
            enc.encode(&tone(960, f * 960), &mut pkt).unwrap();
            assert!(
                !pkt.is_empty() && pkt.len() < 400,
                "packet of {} bytes",
                pkt.len()
            );
            bytes += pkt.len();
            dec.decode(&pkt, &mut decoded).unwrap();
        }
        assert_eq!(decoded.len(), 50 * 960);
        // ~48 kbit/s -> ~120 bytes per 20 ms.
        assert!(bytes / 50 < 200, "average {} bytes", bytes / 50);
        // After the codec settles, the output level matches the input's.
        let src = energy(&tone(960 * 10, 0));
        let got = energy(&decoded[960 * 40..]);
        assert!((got / src - 1.0).abs() < 0.3, "energy ratio {}", got / src);
    }

    #[test]
    fn concealment_produces_requested_length_with_and_without_fec() {
        let mut enc = OpusEncoder::new().unwrap();
        enc.set_expected_loss(20, true);
        assert_eq!(enc.expected_loss(), 20);
        let mut dec = OpusDecoder::new().unwrap();
        let mut pkts = Vec::new();
        for f in 0..20 {
            let mut p = Vec::new();
            enc.encode(&tone(960, f * 960), &mut p).unwrap();
            pkts.push(p);
        }
        let mut out = Vec::new();
        for p in &pkts[..10] {
            dec.decode(p, &mut out).unwrap();
        }
        // Packet 10 lost; packet 11 carries its FEC copy.
        assert!(
            packet_has_fec(&pkts[11]),
            "expected loss > 0 makes the encoder add FEC"
        );
        let before = out.len();
        dec.conceal(960, Some(&pkts[11]), &mut out).unwrap();
        assert_eq!(out.len() - before, 960);
        let recovered = energy(&out[before..]);
        assert!(
            recovered > energy(&tone(960, 0)) * 0.3,
            "FEC frame carries the tone"
        );
        dec.decode(&pkts[11], &mut out).unwrap();
        // Plain PLC when nothing follows.
        let before = out.len();
        dec.conceal(960, None, &mut out).unwrap();
        assert_eq!(out.len() - before, 960);
    }

    fn average_size(enc: &mut OpusEncoder, frames: usize) -> (usize, bool) {
        let mut total = 0;
        let mut any_fec = false;
        for f in 0..frames {
            let mut p = Vec::new();
            enc.encode(&tone(960, f * 960), &mut p).unwrap();
            total += p.len();
            any_fec |= f > 1 && packet_has_fec(&p);
        }
        (total / frames, any_fec)
    }

    /// Less protection waits for a quiet frame: encode one.
    fn quiet_frame(enc: &mut OpusEncoder) {
        enc.encode(&[0; 960], &mut Vec::new()).unwrap();
    }

    #[test]
    fn reported_loss_drives_fec_and_bitrate_and_a_clean_line_carries_no_copies() {
        let mut enc = OpusEncoder::new().unwrap();
        enc.set_expected_loss(0, false);
        quiet_frame(&mut enc);
        assert_eq!(
            (enc.expected_loss(), enc.bitrate()),
            (0, Some(BITRATE as u32))
        );
        let (clean_size, clean_fec) = average_size(&mut enc, 50);
        assert!(!clean_fec, "no FEC copies on a clean line");
        enc.set_expected_loss(10, true);
        assert_eq!(
            (enc.expected_loss(), enc.bitrate()),
            (10, Some(PROTECTED_BITRATE as u32))
        );
        let (lossy_size, lossy_fec) = average_size(&mut enc, 50);
        assert!(lossy_fec, "FEC copies once loss is reported");
        enc.set_expected_loss(0, false);
        quiet_frame(&mut enc);
        assert_eq!(enc.bitrate(), Some(BITRATE as u32));
        let (back_size, back_fec) = average_size(&mut enc, 50);
        assert!(!back_fec, "FEC off again when the line is clean");
        assert!(
            back_size.abs_diff(clean_size) * 5 < clean_size,
            "the clean setting again: {back_size} vs {clean_size} bytes"
        );
        println!(
            "bytes per packet: clean {clean_size}, 10 % loss {lossy_size}, clean again {back_size}"
        );
    }

    #[test]
    fn encoder_emits_fec_from_its_first_packets() {
        let mut enc = OpusEncoder::new().unwrap();
        assert_eq!(enc.expected_loss(), START_LOSS);
        let mut fec = Vec::new();
        for f in 0..5 {
            let mut p = Vec::new();
            enc.encode(&tone(960, f * 960), &mut p).unwrap();
            fec.push(packet_has_fec(&p));
        }
        // The first packet has no previous frame to copy; the second already carries it.
        assert!(
            fec[1..].iter().all(|&f| f),
            "FEC copies from the second packet on: {fec:?}"
        );
    }

    #[test]
    fn the_start_of_call_protection_adds_the_copy_on_top_and_a_report_of_loss_backs_off() {
        let mut enc = OpusEncoder::new().unwrap();
        assert_eq!(
            (enc.expected_loss(), enc.bitrate()),
            (START_LOSS, Some(START_BITRATE as u32)),
            "before any report: protected, at the start-of-call rate"
        );
        // A first clean report leaves the start-of-call plan as it is.
        enc.set_expected_loss(START_LOSS, false);
        assert_eq!(enc.bitrate(), Some(START_BITRATE as u32));
        // The first report of loss backs off at once, even mid-word and at the same plan.
        let mut p = Vec::new();
        enc.encode(&tone(960, 0), &mut p).unwrap();
        enc.set_expected_loss(START_LOSS, true);
        assert_eq!(
            (enc.expected_loss(), enc.bitrate()),
            (START_LOSS, Some(PROTECTED_BITRATE as u32))
        );
        // On a line that never lost a packet the plan drops to 0 and the voice gets the
        // clean line's rate at the next pause.
        let mut clean = OpusEncoder::new().unwrap();
        clean.set_expected_loss(0, false);
        assert_eq!(clean.bitrate(), Some(START_BITRATE as u32), "not mid-word");
        quiet_frame(&mut clean);
        assert_eq!(
            (clean.expected_loss(), clean.bitrate()),
            (0, Some(BITRATE as u32))
        );
    }

    #[test]
    fn low_reported_loss_still_gets_fec_copies() {
        // libopus at 24-28 kbit/s and 1-5 % loss made no copies at all; the plan's floor and
        // the protected bitrate make sure it does.
        for loss in [1, 3, 5] {
            let mut enc = OpusEncoder::new().unwrap();
            enc.set_expected_loss(0, false);
            quiet_frame(&mut enc);
            assert_eq!(enc.expected_loss(), 0);
            average_size(&mut enc, 10);
            enc.set_expected_loss(loss, true);
            let (_, fec) = average_size(&mut enc, 20);
            assert!(fec, "{loss} % planned loss makes FEC copies");
        }
        assert_eq!(packet_loss_perc_for(0), 0);
        assert_eq!(packet_loss_perc_for(3), MIN_FEC_LOSS);
        assert_eq!(packet_loss_perc_for(30), 30);
        assert_eq!(bitrate_for_loss(0, true), BITRATE);
        assert_eq!(bitrate_for_loss(1, true), PROTECTED_BITRATE);
        assert_eq!(bitrate_for_loss(START_LOSS, false), START_BITRATE);
    }

    #[test]
    fn less_protection_waits_for_a_pause_more_applies_at_once() {
        let mut enc = OpusEncoder::new().unwrap();
        enc.set_expected_loss(0, false);
        // Mid-word: still protected.
        for f in 0..10 {
            enc.encode(&tone(960, f * 960), &mut Vec::new()).unwrap();
            assert_eq!(
                (enc.expected_loss(), enc.bitrate()),
                (START_LOSS, Some(START_BITRATE as u32))
            );
        }
        // The first pause: clean-line settings.
        quiet_frame(&mut enc);
        assert_eq!(
            (enc.expected_loss(), enc.bitrate()),
            (0, Some(BITRATE as u32))
        );
        // Loss reported mid-word: protection at once.
        enc.set_expected_loss(7, true);
        assert_eq!(
            (enc.expected_loss(), enc.bitrate()),
            (7, Some(PROTECTED_BITRATE as u32))
        );
        // Without any pause, the lower setting still comes after MAX_WAIT_FRAMES.
        enc.set_expected_loss(0, true);
        for f in 0..MAX_WAIT_FRAMES as usize {
            assert_eq!(enc.expected_loss(), 7, "frame {f}");
            enc.encode(&tone(960, f * 960), &mut Vec::new()).unwrap();
        }
        assert_eq!(enc.expected_loss(), 0);
    }

    /// Fraction lost (1/256 units) for a percentage, as a report carries it.
    fn fraction(percent: u32) -> u8 {
        (percent * 256 / 100) as u8
    }

    #[test]
    fn loss_plan_starts_protected_and_follows_reports() {
        let mut plan = LossPlan::new();
        assert_eq!(plan.percent(), START_LOSS, "protected before any report");
        assert_eq!(plan.on_report(fraction(20)), 20, "up at once");
        // Down a quarter of the way per lossy report.
        assert_eq!(plan.on_report(fraction(4)), 16);
        // Clean intervals on a lossy line (seconds without loss happen at 5 %) keep it...
        assert_eq!(plan.on_report(0), 16);
        assert_eq!(plan.on_report(0), 16);
        assert_eq!(
            plan.on_report(fraction(6)),
            13,
            "a lossy report restarts the clean count"
        );
        assert_eq!(plan.on_report(0), 13);
        assert_eq!(plan.on_report(0), 13);
        // ...CLEAN_REPORTS_TO_STOP in a row turn it off.
        assert_eq!(plan.on_report(0), 0, "a clean line pays nothing");
        assert_eq!(plan.on_report(0), 0);
        assert_eq!(plan.on_report(1), 1, "any reported loss turns it back on");
    }

    #[test]
    fn loss_plan_on_a_clean_line_stops_after_the_clean_reports() {
        let mut plan = LossPlan::new();
        for _ in 1..CLEAN_REPORTS_TO_STOP_UNSEEN {
            assert_eq!(plan.on_report(0), START_LOSS);
        }
        assert_eq!(plan.on_report(0), 0);
    }

    #[test]
    fn clean_line_packets_carry_no_fec() {
        let mut enc = OpusEncoder::new().unwrap();
        enc.set_expected_loss(0, false);
        quiet_frame(&mut enc);
        let mut p = Vec::new();
        for f in 0..5 {
            p.clear();
            enc.encode(&tone(960, f * 960), &mut p).unwrap();
        }
        assert!(!packet_has_fec(&p));
        assert!(!packet_has_fec(&[]));
    }

    /// A vowel-like test signal: 140 Hz with harmonics, slowly varying.
    fn voiced(n: usize, offset: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                let t = (i + offset) as f32 / RATE as f32;
                let f0 = 140.0 + 10.0 * (t * 1.3).sin();
                let x: f32 = (1..8)
                    .map(|h| (t * f0 * h as f32 * std::f32::consts::TAU).sin() / h as f32)
                    .sum();
                (x * 4000.0) as i16
            })
            .collect()
    }

    #[test]
    fn deep_concealment_is_built_in_and_on() {
        let mut enc = OpusEncoder::new().unwrap();
        enc.set_expected_loss(0, false);
        quiet_frame(&mut enc);
        let pkts: Vec<Vec<u8>> = (0..40)
            .map(|f| {
                let mut p = Vec::new();
                enc.encode(&voiced(960, f * 960), &mut p).unwrap();
                p
            })
            .collect();
        let play = |complexity: i32| {
            let mut dec = OpusDecoder::with_complexity(complexity).unwrap();
            assert_eq!(dec.complexity(), complexity);
            let mut out = Vec::new();
            for (i, p) in pkts.iter().enumerate() {
                if (25..28).contains(&i) {
                    dec.conceal(960, None, &mut out).unwrap();
                } else {
                    dec.decode(p, &mut out).unwrap();
                }
            }
            out
        };
        assert_eq!(OpusDecoder::new().unwrap().complexity(), DECODER_COMPLEXITY);
        let classic = play(0);
        let deep = play(DECODER_COMPLEXITY);
        assert_eq!(classic.len(), deep.len());
        // Before the loss both decoders agree; in the gap only a libopus built with deep PLC
        // (ENABLE_DEEP_PLC) conceals differently at complexity 5.
        assert_eq!(
            classic[..960 * 25],
            deep[..960 * 25],
            "same decoding before the loss"
        );
        let gap = 960 * 25..960 * 28;
        let differ = classic[gap.clone()]
            .iter()
            .zip(&deep[gap.clone()])
            .filter(|(a, b)| a != b)
            .count();
        assert!(
            differ > 960,
            "the neural concealment ran ({differ} of {} samples differ)",
            gap.len()
        );
        assert!(
            energy(&deep[gap]) > energy(&voiced(960, 0)) * 0.05,
            "the gap is filled, not silent"
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut dec = OpusDecoder::new().unwrap();
        let mut out = Vec::new();
        assert!(dec.decode(&[], &mut out).is_err());
        // A TOC byte claiming code-3 with a bogus frame count.
        let _ = dec.decode(&[0xFF, 0xFF, 0xFF], &mut out);
    }
}
