//! What a media session reports about itself: traffic, loss, jitter and the far end's view.

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
    pub duplicate_packets: u64,
    /// Arrived after their playout time.
    pub late_packets: u64,
    /// 20 ms frames filled in by concealment (loss or underrun).
    pub concealed_frames: u64,
    /// Lost frames rebuilt from the FEC copy in the next Opus packet.
    pub fec_recovered: u64,
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
}
