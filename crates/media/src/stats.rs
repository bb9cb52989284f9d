//! What a media session reports about itself: traffic, loss, jitter, the jitter buffer, the
//! far end's view, and an estimated MOS (E-model, `mos.rs`) derived from them.

use crate::codec::Codec;
use crate::mos::{mos_from_r, r_factor, EModelInput};

/// A snapshot of a session's counters. Byte counts are RTP payload octets (as in RTCP SR).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MediaStats {
    pub packets_sent: u64,
    pub bytes_sent: u64,
    pub packets_received: u64,
    pub bytes_received: u64,
    /// Packets we never got (RFC 3550 cumulative loss: expected minus received).
    pub packets_lost: i64,
    /// Interarrival jitter of what we receive (RFC 3550), milliseconds.
    pub jitter_ms: f64,
    /// Fraction of our packets the far end lost in its last report (0.0-1.0).
    pub remote_fraction_lost: Option<f64>,
    /// Cumulative loss the far end reports for our stream.
    pub remote_packets_lost: Option<i64>,
    /// Jitter the far end measures on our stream, milliseconds.
    pub remote_jitter_ms: Option<f64>,
    /// Round-trip time from RTCP LSR/DLSR, milliseconds.
    pub rtt_ms: Option<f64>,
    /// Datagrams that were not valid RTP/RTCP (or too large), ignored.
    pub malformed_packets: u64,
    /// Valid RTP with a payload type we did not negotiate, ignored.
    pub unexpected_payload_type: u64,
    /// Valid RTP from an address other than the far end's (ignored unless it persists).
    pub ignored_other_source: u64,
    /// RTP from the far end's address with another SSRC, dropped (a stray or injected stream).
    pub ignored_other_ssrc: u64,
    /// Times a new SSRC took over the stream (the far end restarted it).
    pub ssrc_changes: u64,
    /// Packets with a wild sequence number that nothing confirmed, dropped (RFC 3550 A.1).
    pub ignored_out_of_sequence: u64,
    /// Absurd RTP timestamps kept out of the delay statistics (since the last codec change).
    pub timestamp_outliers: u64,
    pub duplicate_packets: u64,
    /// Arrived after their playout time.
    pub late_packets: u64,
    /// 20 ms frames filled in by concealment (loss or underrun).
    pub concealed_frames: u64,
    /// Lost frames rebuilt from the FEC copy in the next Opus packet.
    pub fec_recovered: u64,
    /// RFC 3389 comfort-noise packets received (the far end's silence is played as noise).
    pub comfort_noise_packets: u64,
    pub rtcp_sent: u64,
    pub rtcp_received: u64,
    pub dtmf_sent: u64,
    pub dtmf_received: u64,
    /// The Opus expected-loss setting currently in use (percent).
    pub encoder_expected_loss: u8,
    /// The bitrate the encoder aims for (bits/s) where it adapts (Opus); `None` for G.711.
    pub encoder_bitrate_bps: Option<u32>,
    /// Playout delay the adaptive jitter buffer aims for, ms.
    pub jitter_buffer_target_ms: f64,
    /// Current (smoothed) playout delay: audio queued plus decoded-but-unplayed, ms.
    pub jitter_buffer_delay_ms: f64,
    /// Mean playout delay over the call so far, ms.
    pub jitter_buffer_mean_delay_ms: f64,
    /// Frames shortened by a pitch period (or a piece of silence) to lower the delay.
    pub playout_accelerated: u64,
    /// Frames lengthened by a pitch period to raise the delay.
    pub playout_stretched: u64,
    /// Runs of consecutive packets lost at playout (bursty loss hurts more: G.107 BurstR).
    pub loss_bursts: u64,
    /// ITU-T G.107 transmission rating of what we hear (None before any audio arrived).
    pub r_factor: Option<f64>,
    /// Estimated mean opinion score (1-4.5) from `r_factor`.
    pub mos: Option<f64>,
    /// The media is SRTP-encrypted.
    pub encrypted: bool,
    /// SRTP packets dropped because their authentication tag did not match (forged, corrupted,
    /// or sent in the clear).
    pub srtp_auth_failures: u64,
    /// SRTP packets dropped as replays of ones already received.
    pub srtp_replays: u64,
    /// With ICE, the candidate pair carrying the media: our candidate's type and the far end's
    /// (`host`, `srflx`, `prflx`, `relay`), e.g. `("relay", "host")`; `None` without ICE or
    /// before a pair is selected.
    pub ice_pair: Option<(&'static str, &'static str)>,
}

impl MediaStats {
    /// Share of the far end's packets the listener did not hear: lost or late, minus those
    /// rebuilt from FEC, over the packets expected (percent).
    pub fn effective_loss_percent(&self) -> f64 {
        let expected = self.packets_received as f64 + self.packets_lost.max(0) as f64;
        if expected <= 0.0 {
            return 0.0;
        }
        let missing =
            self.packets_lost.max(0) as f64 + self.late_packets as f64 - self.fec_recovered as f64;
        (missing.max(0.0) / expected * 100.0).min(100.0)
    }

    /// G.107 burst ratio: observed mean loss-burst length over what random loss at the same
    /// rate would give (1 / (1 − p)); 1 when nothing was lost.
    pub fn burst_ratio(&self) -> f64 {
        let lost = self.packets_lost.max(0) as f64;
        if self.loss_bursts == 0 || lost <= 0.0 {
            return 1.0;
        }
        let p = (self.effective_loss_percent() / 100.0).min(0.99);
        let observed = lost / self.loss_bursts as f64;
        (observed * (1.0 - p)).max(1.0)
    }

    /// Mouth-to-ear delay estimate (ms): half the RTCP round trip (0 until known), the
    /// jitter-buffer delay and one packet time.
    pub fn one_way_delay_ms(&self, ptime_ms: u32) -> f64 {
        self.rtt_ms.unwrap_or(0.0) / 2.0 + self.jitter_buffer_delay_ms + ptime_ms as f64
    }

    /// Fills `r_factor` and `mos` from the counters (left `None` while nothing was received).
    pub fn estimate_quality(&mut self, codec: Codec, ptime_ms: u32) {
        if self.packets_received == 0 {
            self.r_factor = None;
            self.mos = None;
            return;
        }
        let r = r_factor(&EModelInput {
            codec,
            loss_percent: self.effective_loss_percent(),
            burst_ratio: self.burst_ratio(),
            one_way_delay_ms: self.one_way_delay_ms(ptime_ms),
        });
        self.r_factor = Some(r);
        self.mos = Some(mos_from_r(r));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_from_counters() {
        let mut s = MediaStats::default();
        s.estimate_quality(Codec::Pcmu, 20);
        assert_eq!(s.mos, None, "nothing heard yet");
        s.packets_received = 1000;
        s.jitter_buffer_delay_ms = 40.0;
        s.rtt_ms = Some(20.0);
        s.estimate_quality(Codec::Pcmu, 20);
        assert_eq!(s.one_way_delay_ms(20), 70.0);
        assert!((s.r_factor.unwrap() - 93.2).abs() < 1e-9);
        assert!((s.mos.unwrap() - 4.41).abs() < 0.005);
        // 30 lost, 20 late, 10 rebuilt by FEC: 40 of 1030 unheard.
        s.packets_lost = 30;
        s.late_packets = 20;
        s.fec_recovered = 10;
        assert!((s.effective_loss_percent() - 40.0 / 1030.0 * 100.0).abs() < 1e-9);
        s.estimate_quality(Codec::Opus, 20);
        assert!(s.mos.unwrap() < 4.0 && s.mos.unwrap() > 3.0, "{:?}", s.mos);
        // The same loss in bursts of three rates worse than spread out.
        s.loss_bursts = 30;
        assert_eq!(s.burst_ratio(), 1.0, "30 losses in 30 runs: random");
        let spread = s.mos.unwrap();
        s.loss_bursts = 10;
        assert!(s.burst_ratio() > 2.5);
        s.estimate_quality(Codec::Opus, 20);
        assert!(s.mos.unwrap() < spread, "{:?} vs {spread}", s.mos);
    }
}
