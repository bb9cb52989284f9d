//! Receive-side statistics for one RTP source, as RFC 3550 appendix A.1, A.3 and A.8 define
//! them: extended highest sequence, cumulative and interval loss, interarrival jitter.
//!
//! As in A.1, a sequence number far from the expected one (a jump of 3000 or more, or more
//! than 100 behind) is not believed until the packet after it confirms it: a single damaged
//! or stray packet neither inflates the loss count nor disturbs playout (the session drops it).
//! Two in a row mean the source restarted its sequence, and counting starts over. Likewise
//! a transit-time jump of more than a second (an absurd timestamp) is not counted as jitter.

use crate::rtcp::ReportBlock;

/// Statistics about the stream we receive. Feed every valid packet to [`ReceptionStats::on_packet`].
#[derive(Clone, Debug, Default)]
pub struct ReceptionStats {
    started: bool,
    base_seq: u32,
    max_seq: u16,
    cycles: u32,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Interarrival jitter, RTP timestamp units, times 16 (A.8 keeps it scaled).
    jitter_q4: u64,
    last_transit: Option<i64>,
    /// After an unbelievable sequence number: the one that would confirm it.
    bad_seq: Option<u16>,
    /// RTP clock rate (for the one-second jitter guard); 0 means no guard.
    clock_rate: u32,
    /// Middle 32 bits of the NTP time of the last SR received, and when it arrived.
    last_sr: Option<(u32, std::time::Instant)>,
}

impl ReceptionStats {
    /// Statistics for a stream on an RTP clock of `clock_rate` Hz (enables the guard that
    /// keeps absurd timestamps out of the jitter figure).
    pub fn new(clock_rate: u32) -> Self {
        ReceptionStats {
            clock_rate,
            ..Default::default()
        }
    }

    /// Records a packet with sequence `seq` and RTP timestamp `ts` that arrived at `arrival`
    /// (expressed in RTP clock units on any local monotonic base). Returns false (and counts
    /// nothing) for a sequence number that is not believed yet: drop that packet.
    pub fn on_packet(&mut self, seq: u16, ts: u32, arrival: u64) -> bool {
        if !self.on_sequence(seq) {
            return false;
        }
        self.on_timing(ts, arrival);
        true
    }

    /// Counts a packet for loss statistics only. Telephone-event packets go here: they repeat
    /// one timestamp for the whole event, which would read as huge jitter. Returns false for a
    /// sequence number that is not believed yet.
    pub fn on_sequence(&mut self, seq: u16) -> bool {
        const MAX_DROPOUT: u16 = 3000;
        const MAX_MISORDER: u16 = 100;
        if !self.started {
            self.restart(seq);
        } else {
            let delta = seq.wrapping_sub(self.max_seq);
            if delta < MAX_DROPOUT {
                // In order, possibly with a gap.
                if delta != 0 && seq < self.max_seq {
                    self.cycles += 1;
                }
                self.max_seq = seq;
                self.bad_seq = None;
            } else if delta <= u16::MAX - MAX_MISORDER {
                // A big jump: believe it only when the next packet follows it.
                if self.bad_seq == Some(seq) {
                    self.restart(seq);
                } else {
                    self.bad_seq = Some(seq.wrapping_add(1));
                    return false;
                }
            }
            // Otherwise a duplicate or a slightly reordered packet.
        }
        self.received += 1;
        true
    }

    /// Starts counting afresh at `seq` (first packet, or the source restarted).
    fn restart(&mut self, seq: u16) {
        self.started = true;
        self.base_seq = seq as u32;
        self.max_seq = seq;
        self.cycles = 0;
        self.received = 0;
        self.expected_prior = 0;
        self.received_prior = 0;
        self.bad_seq = None;
    }

    fn on_timing(&mut self, ts: u32, arrival: u64) {
        let transit = arrival as i64 - ts as i64;
        if let Some(last) = self.last_transit {
            // Timestamps are 32-bit; fold the difference into the i32 range before use.
            let d = ((transit - last) as i32).unsigned_abs() as u64;
            // More than a second is a timestamp jump (or an absurd timestamp), not jitter.
            if self.clock_rate == 0 || d <= self.clock_rate as u64 {
                // J += (|D| - J) / 16, kept scaled by 16.
                self.jitter_q4 = self.jitter_q4 + d - ((self.jitter_q4 + 8) >> 4);
            }
        }
        self.last_transit = Some(transit);
    }

    /// Records an SR from the source so our next report can carry LSR/DLSR.
    pub fn on_sender_report(&mut self, ntp: u64, now: std::time::Instant) {
        self.last_sr = Some((crate::rtcp::ntp_middle(ntp), now));
    }

    pub fn packets_received(&self) -> u64 {
        self.received
    }

    fn extended_max(&self) -> u64 {
        ((self.cycles as u64) << 16) | self.max_seq as u64
    }

    /// Packets expected minus packets received (negative with duplicates), as RFC 3550 counts it.
    pub fn cumulative_lost(&self) -> i64 {
        if !self.started {
            return 0;
        }
        let expected = self.extended_max() + 1 - self.base_seq as u64;
        expected as i64 - self.received as i64
    }

    /// Interarrival jitter in RTP timestamp units.
    pub fn jitter(&self) -> u32 {
        (self.jitter_q4 >> 4) as u32
    }

    /// Builds the report block for `ssrc` and starts a new interval for `fraction_lost`.
    pub fn report_block(&mut self, ssrc: u32, now: std::time::Instant) -> Option<ReportBlock> {
        if !self.started {
            return None;
        }
        let expected = self.extended_max() + 1 - self.base_seq as u64;
        let expected_interval = expected.saturating_sub(self.expected_prior);
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let (lsr, dlsr) = match self.last_sr {
            Some((lsr, at)) => {
                let d = now.saturating_duration_since(at);
                (lsr, (d.as_secs_f64() * 65536.0) as u32)
            }
            None => (0, 0),
        };
        Some(ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: self.cumulative_lost().clamp(-0x80_0000, 0x7F_FFFF) as i32,
            highest_seq: self.extended_max() as u32,
            jitter: self.jitter(),
            lsr,
            dlsr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_loss_across_sequence_wrap() {
        let mut s = ReceptionStats::default();
        let now = std::time::Instant::now();
        let mut seq: u16 = 65530;
        for i in 0..20u32 {
            if i != 8 && i != 9 {
                s.on_packet(seq, i * 160, (i * 160) as u64);
            }
            seq = seq.wrapping_add(1);
        }
        assert_eq!(s.cumulative_lost(), 2);
        let b = s.report_block(1, now).unwrap();
        assert_eq!(b.cumulative_lost, 2);
        assert_eq!(b.highest_seq, 65536 + 13);
        assert_eq!(b.fraction_lost, (2 * 256 / 20) as u8);
        assert_eq!(b.jitter, 0, "perfectly paced arrivals have no jitter");
        // Next interval: nothing lost.
        for i in 20..30u32 {
            s.on_packet(seq, i * 160, (i * 160) as u64);
            seq = seq.wrapping_add(1);
        }
        assert_eq!(s.report_block(1, now).unwrap().fraction_lost, 0);
    }

    #[test]
    fn jitter_follows_rfc3550_estimator() {
        let mut s = ReceptionStats::default();
        // Every packet arrives 16 units late relative to the previous one's schedule, alternating.
        for i in 0..2000u32 {
            let late = if i % 2 == 0 { 0 } else { 32 };
            s.on_packet(i as u16, i * 160, (i * 160 + late) as u64);
        }
        // |D| is always 32, so J converges to 32.
        assert!((s.jitter() as i64 - 32).abs() <= 1, "jitter {}", s.jitter());
    }

    #[test]
    fn a_single_wild_sequence_number_or_timestamp_is_not_believed() {
        let mut s = ReceptionStats::new(8000);
        for i in 0..10u32 {
            assert!(s.on_packet(i as u16, i * 160, (i * 160) as u64));
        }
        assert!(
            !s.on_packet(40000, 10 * 160, 1600),
            "a jump of 40000 waits for confirmation"
        );
        assert!(s.on_packet(10, 10 * 160, 1600));
        // An absurd timestamp on an otherwise fine packet: no jitter spike.
        assert!(s.on_packet(11, 0x7000_0000, 11 * 160));
        for i in 12..20u32 {
            assert!(s.on_packet(i as u16, i * 160, (i * 160) as u64));
        }
        assert_eq!(s.cumulative_lost(), 0);
        assert_eq!(s.jitter(), 0, "absurd timestamp kept out of the jitter");
        // A real restart: two sequential packets far away.
        assert!(!s.on_packet(30000, 0, 20 * 160));
        assert!(s.on_packet(30001, 160, 21 * 160));
        assert!(s.on_packet(30002, 320, 22 * 160));
        assert_eq!(
            s.cumulative_lost(),
            0,
            "counting started over at the new sequence"
        );
        assert_eq!(s.packets_received(), 2);
    }

    #[test]
    fn reordered_packet_does_not_count_as_wrap() {
        let mut s = ReceptionStats::default();
        s.on_packet(10, 0, 0);
        s.on_packet(12, 0, 0);
        s.on_packet(11, 0, 0);
        assert_eq!(s.cumulative_lost(), 0);
        assert_eq!(s.extended_max(), 12);
    }
}
