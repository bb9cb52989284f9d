//! Which RTP source (SSRC) the session listens to.
//!
//! The first SSRC heard is the stream. Another SSRC from the same address takes over only when
//! it is clearly the stream now: it sends three packets in a row with no packet of the current
//! SSRC in between, or the current one has been silent for 200 ms (a peer that restarted its
//! stream, a media server switching sources). A stray or injected packet with another SSRC is
//! dropped and counted; it never resets the jitter buffer in the middle of a call.

/// Packets in a row a new SSRC must send while the current one still talks.
const TAKEOVER_PACKETS: u32 = 3;
/// Silence of the current SSRC after which a new one takes over at once.
const TAKEOVER_SILENCE_MS: f64 = 200.0;

/// What to do with a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SsrcVerdict {
    /// From the current source.
    Accept,
    /// A new source takes over from this packet on (start the stream statistics afresh).
    Switch,
    /// Another source, not (yet) believed: drop the packet.
    Ignore,
}

#[derive(Clone, Debug, Default)]
pub struct SsrcGate {
    current: Option<u32>,
    last_current_ms: f64,
    candidate: Option<(u32, u32)>,
}

impl SsrcGate {
    pub fn new() -> Self {
        Self::default()
    }

    /// The SSRC being listened to.
    pub fn current(&self) -> Option<u32> {
        self.current
    }

    /// Forgets the source (codec change, new remote).
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Judges a packet from `ssrc` that arrived at `now_ms`.
    pub fn on_packet(&mut self, ssrc: u32, now_ms: f64) -> SsrcVerdict {
        match self.current {
            None => {
                self.current = Some(ssrc);
                self.last_current_ms = now_ms;
                SsrcVerdict::Switch
            }
            Some(c) if c == ssrc => {
                self.candidate = None;
                self.last_current_ms = now_ms;
                SsrcVerdict::Accept
            }
            Some(_) => {
                let count = match self.candidate {
                    Some((s, n)) if s == ssrc => n + 1,
                    _ => 1,
                };
                if count >= TAKEOVER_PACKETS || now_ms - self.last_current_ms >= TAKEOVER_SILENCE_MS
                {
                    self.current = Some(ssrc);
                    self.candidate = None;
                    self.last_current_ms = now_ms;
                    SsrcVerdict::Switch
                } else {
                    self.candidate = Some((ssrc, count));
                    SsrcVerdict::Ignore
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SsrcVerdict::*;

    #[test]
    fn a_stray_ssrc_is_ignored_while_the_stream_goes_on() {
        let mut g = SsrcGate::new();
        assert_eq!(
            g.on_packet(1, 0.0),
            Switch,
            "the first source is the stream"
        );
        assert_eq!(g.on_packet(1, 20.0), Accept);
        assert_eq!(g.on_packet(666, 25.0), Ignore);
        assert_eq!(g.on_packet(1, 40.0), Accept);
        assert_eq!(g.on_packet(666, 45.0), Ignore);
        assert_eq!(g.on_packet(666, 46.0), Ignore, "two in a row is not enough");
        assert_eq!(
            g.on_packet(1, 60.0),
            Accept,
            "the stream interrupts the run"
        );
        assert_eq!(g.current(), Some(1));
    }

    #[test]
    fn a_restarted_stream_takes_over() {
        let mut g = SsrcGate::new();
        g.on_packet(1, 0.0);
        // The far end restarts its stream with a new SSRC right away: three in a row.
        assert_eq!(g.on_packet(2, 20.0), Ignore);
        assert_eq!(g.on_packet(2, 40.0), Ignore);
        assert_eq!(g.on_packet(2, 60.0), Switch);
        assert_eq!(g.on_packet(2, 80.0), Accept);
        assert_eq!(
            g.on_packet(1, 85.0),
            Ignore,
            "the old one is now the stranger"
        );
        // After a pause of the current source a new one switches at once.
        assert_eq!(g.on_packet(3, 400.0), Switch);
    }
}
