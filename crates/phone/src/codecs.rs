//! The three names of a codec: the API's `CodecName`, the media crate's `Codec`, and the
//! SDP `RtpFormat` we offer; plus the default offer.

use crate::api::CodecName;
use hookflash_media::Codec;
use hookflash_sip::sdp::RtpFormat;

/// Dynamic payload types we use in offers.
pub const OPUS_PT: u8 = 111;
pub const TELEPHONE_EVENT_8K_PT: u8 = 101;
pub const TELEPHONE_EVENT_48K_PT: u8 = 102;

/// The default offer: Opus, then G.722 (wideband for peers without Opus), then G.711.
pub const DEFAULT_CODECS: [CodecName; 4] = [
    CodecName::Opus,
    CodecName::G722,
    CodecName::Pcmu,
    CodecName::Pcma,
];

pub fn media_codec(c: CodecName) -> Codec {
    match c {
        CodecName::Pcmu => Codec::Pcmu,
        CodecName::Pcma => Codec::Pcma,
        CodecName::Opus => Codec::Opus,
        CodecName::G722 => Codec::G722,
    }
}

pub fn codec_name(c: Codec) -> CodecName {
    match c {
        Codec::Pcmu => CodecName::Pcmu,
        Codec::Pcma => CodecName::Pcma,
        Codec::Opus => CodecName::Opus,
        Codec::G722 => CodecName::G722,
    }
}

pub fn rtp_format(c: CodecName) -> RtpFormat {
    let m = media_codec(c);
    RtpFormat {
        payload_type: m.default_payload_type().unwrap_or(OPUS_PT),
        name: m.sdp_name().to_string(),
        clock_rate: m.rtp_clock_rate(),
        channels: m.sdp_channels(),
        fmtp: m.sdp_fmtp().map(str::to_string),
    }
}

fn telephone_event(pt: u8, clock_rate: u32) -> RtpFormat {
    RtpFormat {
        payload_type: pt,
        name: "telephone-event".into(),
        clock_rate,
        channels: 1,
        fmtp: Some("0-16".into()),
    }
}

/// The formats we offer or accept for a call: the chosen codecs in preference order, then
/// telephone-event at 48 kHz (when Opus is in) and 8 kHz.
pub fn formats(codecs: &[CodecName]) -> Vec<RtpFormat> {
    let codecs: &[CodecName] = if codecs.is_empty() {
        &DEFAULT_CODECS
    } else {
        codecs
    };
    let mut out: Vec<RtpFormat> = Vec::new();
    for c in codecs {
        let f = rtp_format(*c);
        if !out.iter().any(|o| o.name == f.name) {
            out.push(f);
        }
    }
    if codecs.contains(&CodecName::Opus) {
        out.push(telephone_event(TELEPHONE_EVENT_48K_PT, 48000));
    }
    out.push(telephone_event(TELEPHONE_EVENT_8K_PT, 8000));
    out
}

/// Reads a negotiated format back into a media codec.
pub fn from_format(f: &RtpFormat) -> Option<Codec> {
    Codec::from_sdp_name(&f.name, f.clock_rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_offer_prefers_opus_and_carries_dtmf_at_both_rates() {
        let f = formats(&[]);
        let names: Vec<_> = f
            .iter()
            .map(|f| (f.name.as_str(), f.payload_type, f.clock_rate))
            .collect();
        assert_eq!(
            names,
            vec![
                ("opus", 111, 48000),
                ("G722", 9, 8000),
                ("PCMU", 0, 8000),
                ("PCMA", 8, 8000),
                ("telephone-event", 102, 48000),
                ("telephone-event", 101, 8000)
            ]
        );
    }

    #[test]
    fn a_restricted_offer_has_only_that_codec() {
        let f = formats(&[CodecName::Pcmu]);
        assert_eq!(f.len(), 2);
        assert_eq!(from_format(&f[0]), Some(Codec::Pcmu));
    }

    #[test]
    fn g722_is_static_payload_9_at_the_8000_clock() {
        let f = formats(&[CodecName::G722]);
        assert_eq!(
            (f[0].payload_type, f[0].name.as_str(), f[0].clock_rate),
            (9, "G722", 8000)
        );
        assert_eq!(f[0].channels, 1);
        assert_eq!(f[0].fmtp, None);
        assert_eq!(from_format(&f[0]), Some(Codec::G722));
        assert_eq!(codec_name(Codec::G722), CodecName::G722);
    }
}
