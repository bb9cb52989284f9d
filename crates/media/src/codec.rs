//! Which audio codecs Hookflash speaks, how they appear in SDP, and the encoder/decoder traits
//! the session uses. The codecs themselves live in `g711.rs`, `g722.rs` and `opus_codec.rs`.

use crate::error::MediaError;

/// An audio codec Hookflash can negotiate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law (payload type 0).
    Pcmu,
    /// G.711 A-law (payload type 8).
    Pcma,
    /// Opus (dynamic payload type; Hookflash offers 111). Encoded mono at 48 kHz.
    Opus,
    /// G.722 at 64 kbit/s (payload type 9): 16 kHz audio, but an 8000 Hz RTP clock (RFC 3551).
    G722,
}

impl Codec {
    /// Static RTP payload type, or `None` for codecs that need a dynamic one.
    pub fn default_payload_type(self) -> Option<u8> {
        match self {
            Codec::Pcmu => Some(0),
            Codec::Pcma => Some(8),
            Codec::G722 => Some(9),
            Codec::Opus => None,
        }
    }

    /// RTP timestamp clock rate (what SDP `a=rtpmap` carries). G.722 says 8000 although its
    /// audio is 16 kHz, for historical reasons (RFC 3551 section 4.5.2).
    pub fn rtp_clock_rate(self) -> u32 {
        match self {
            Codec::Pcmu | Codec::Pcma | Codec::G722 => 8000,
            Codec::Opus => 48000,
        }
    }

    /// Rate of the PCM the codec consumes and produces.
    pub fn sample_rate(self) -> u32 {
        match self {
            Codec::Pcmu | Codec::Pcma => 8000,
            Codec::G722 => 16000,
            Codec::Opus => 48000,
        }
    }

    /// Encoding name in SDP `a=rtpmap`.
    pub fn sdp_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
            Codec::G722 => "G722",
            Codec::Opus => "opus",
        }
    }

    /// Channel count written in `a=rtpmap` (RFC 7587 requires `opus/48000/2` even for mono).
    pub fn sdp_channels(self) -> u8 {
        match self {
            Codec::Pcmu | Codec::Pcma | Codec::G722 => 1,
            Codec::Opus => 2,
        }
    }

    /// The `a=fmtp` parameters Hookflash offers for this codec.
    pub fn sdp_fmtp(self) -> Option<&'static str> {
        match self {
            Codec::Opus => Some("useinbandfec=1; minptime=10"),
            _ => None,
        }
    }

    /// Recognises an `a=rtpmap` encoding name (case-insensitive) at the given clock rate.
    pub fn from_sdp_name(name: &str, clock: u32) -> Option<Codec> {
        [Codec::Pcmu, Codec::Pcma, Codec::Opus, Codec::G722]
            .into_iter()
            .find(|c| c.sdp_name().eq_ignore_ascii_case(name) && c.rtp_clock_rate() == clock)
    }

    /// Number of PCM samples in one frame of `ptime_ms` milliseconds.
    pub fn samples_per_frame(self, ptime_ms: u32) -> usize {
        (self.sample_rate() * ptime_ms / 1000) as usize
    }

    /// Number of RTP clock ticks in one frame of `ptime_ms` milliseconds.
    pub fn rtp_ticks_per_frame(self, ptime_ms: u32) -> u32 {
        self.rtp_clock_rate() * ptime_ms / 1000
    }
}

/// Turns one frame of mono PCM (at `Codec::sample_rate`) into one RTP payload.
pub trait AudioEncoder: Send {
    /// Encodes `pcm` and appends the payload to `out`.
    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), MediaError>;
    /// Tells the encoder how much loss to plan for (0-100 %), so it can add redundancy;
    /// `reported` says whether the far end has reported any loss yet (before that the plan
    /// is the start-of-call protection).
    fn set_expected_loss(&mut self, _percent: u8, _reported: bool) {}
    /// The bitrate the encoder aims for (bits/s), for codecs where it varies.
    fn bitrate(&self) -> Option<u32> {
        None
    }
}

/// Turns RTP payloads back into mono PCM and fills in for packets that never arrived.
pub trait AudioDecoder: Send {
    /// Decodes one payload and appends the PCM to `out`.
    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), MediaError>;
    /// Appends `samples` of replacement audio for a lost packet. `next_payload` is the packet
    /// after the lost one when it is already here (Opus recovers the lost frame from its FEC copy).
    fn conceal(
        &mut self,
        samples: usize,
        next_payload: Option<&[u8]>,
        out: &mut Vec<i16>,
    ) -> Result<(), MediaError>;
}

/// Creates an encoder for `codec`.
pub fn encoder(codec: Codec) -> Result<Box<dyn AudioEncoder>, MediaError> {
    Ok(match codec {
        Codec::Pcmu => Box::new(crate::g711::G711Encoder::new(crate::g711::Law::Mu)),
        Codec::Pcma => Box::new(crate::g711::G711Encoder::new(crate::g711::Law::A)),
        Codec::G722 => Box::new(crate::g722::G722AudioEncoder::new()),
        Codec::Opus => Box::new(crate::opus_codec::OpusEncoder::new()?),
    })
}

/// Creates a decoder for `codec`.
pub fn decoder(codec: Codec) -> Result<Box<dyn AudioDecoder>, MediaError> {
    Ok(match codec {
        Codec::Pcmu => Box::new(crate::g711::G711Decoder::new(crate::g711::Law::Mu)),
        Codec::Pcma => Box::new(crate::g711::G711Decoder::new(crate::g711::Law::A)),
        Codec::G722 => Box::new(crate::g722::G722AudioDecoder::new()),
        Codec::Opus => Box::new(crate::opus_codec::OpusDecoder::new()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdp_names_round_trip_case_insensitively() {
        assert_eq!(Codec::from_sdp_name("pcmu", 8000), Some(Codec::Pcmu));
        assert_eq!(Codec::from_sdp_name("PCMA", 8000), Some(Codec::Pcma));
        assert_eq!(Codec::from_sdp_name("OPUS", 48000), Some(Codec::Opus));
        assert_eq!(Codec::from_sdp_name("opus", 8000), None);
        assert_eq!(Codec::from_sdp_name("G722", 8000), Some(Codec::G722));
        assert_eq!(Codec::from_sdp_name("g722", 16000), None);
        assert_eq!(Codec::from_sdp_name("G729", 8000), None);
    }

    #[test]
    fn g722_timestamps_advance_at_8000_per_second_for_16khz_audio() {
        // 20 ms: 320 samples of 16 kHz PCM, 160 bytes of payload, but 160 RTP ticks.
        assert_eq!(Codec::G722.samples_per_frame(20), 320);
        assert_eq!(Codec::G722.rtp_ticks_per_frame(20), 160);
        assert_eq!(Codec::G722.default_payload_type(), Some(9));
        let mut enc = encoder(Codec::G722).unwrap();
        let mut payload = Vec::new();
        enc.encode(&[0; 320], &mut payload).unwrap();
        assert_eq!(payload.len(), 160);
        let mut dec = decoder(Codec::G722).unwrap();
        let mut pcm = Vec::new();
        dec.decode(&payload, &mut pcm).unwrap();
        assert_eq!(pcm.len(), 320);
    }

    #[test]
    fn frame_sizes() {
        assert_eq!(Codec::Pcmu.samples_per_frame(20), 160);
        assert_eq!(Codec::Opus.samples_per_frame(20), 960);
        assert_eq!(Codec::Opus.rtp_ticks_per_frame(20), 960);
        assert_eq!(Codec::Opus.sdp_channels(), 2);
        assert_eq!(Codec::Pcma.default_payload_type(), Some(8));
    }
}
