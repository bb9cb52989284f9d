//! SRTP and SRTCP (RFC 3711) for one stream: protects what the core sends and checks and opens
//! what arrives, with webrtc-rs's `rtc-srtp` (AES-CM with HMAC-SHA1, ring underneath: no
//! cryptography of our own). Keys come from the call's SDES exchange (`hookflash-sip`'s
//! `sdes.rs`); this file only applies them.
//!
//! A packet that fails its authentication tag, or repeats one already received (replay window of
//! 64 packets per SSRC), is dropped here and counted, so it never reaches the stream core:
//! a forged or replayed packet cannot be latched on, heard, or counted as received.

use rtc_srtp::context::Context;
use rtc_srtp::crypto::providers::RingCrypto;
use rtc_srtp::option::{srtcp_replay_protection, srtp_replay_protection};
use rtc_srtp::protection_profile::ProtectionProfile;
use std::fmt;

/// The master key and salt length of the AES-128 suites (16 + 14 bytes).
pub const KEY_LEN: usize = 30;

/// Replay window, in packets (RFC 3711 3.3.2 asks for at least 64).
const REPLAY_WINDOW: usize = 64;

/// The SRTP suites we run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SrtpSuite {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
}

/// The keys of one encrypted stream: ours (what we send with) and the far end's.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKeys {
    pub suite: SrtpSuite,
    pub local: [u8; KEY_LEN],
    pub remote: [u8; KEY_LEN],
}

impl fmt::Debug for SrtpKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpKeys")
            .field("suite", &self.suite)
            .field("local", &"***")
            .field("remote", &"***")
            .finish()
    }
}

/// Why a received packet was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dropped {
    /// Its authentication tag did not match (forged, corrupted, or not SRTP at all).
    Authentication,
    /// A packet with this index was already received.
    Replay,
}

/// What SRTP dropped so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SrtpCounters {
    pub auth_failures: u64,
    pub replays: u64,
}

/// The two SRTP contexts of a stream: one protects, one unprotects.
pub struct Srtp {
    keys: SrtpKeys,
    outbound: Context,
    inbound: Context,
    counters: SrtpCounters,
}

impl fmt::Debug for Srtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Srtp")
            .field("keys", &self.keys)
            .field("counters", &self.counters)
            .finish()
    }
}

fn profile(suite: SrtpSuite) -> ProtectionProfile {
    match suite {
        SrtpSuite::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
        SrtpSuite::AesCm128HmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
    }
}

fn context(key: &[u8; KEY_LEN], suite: SrtpSuite, replay: bool) -> Result<Context, String> {
    let (master_key, master_salt) = key.split_at(16);
    let (rtp, rtcp) = if replay {
        (
            Some(srtp_replay_protection(REPLAY_WINDOW)),
            Some(srtcp_replay_protection(REPLAY_WINDOW)),
        )
    } else {
        (None, None)
    };
    Context::new(
        master_key,
        master_salt,
        profile(suite),
        rtp,
        rtcp,
        &RingCrypto,
    )
    .map_err(|e| format!("SRTP: {e}"))
}

/// RTCP or RTP on a muxed socket (RFC 5761 4): RTCP packet types 192–223 in the second byte.
pub fn is_rtcp(packet: &[u8]) -> bool {
    packet.len() >= 2 && (192..=223).contains(&packet[1])
}

impl Srtp {
    pub fn new(keys: SrtpKeys) -> Result<Srtp, String> {
        let outbound = context(&keys.local, keys.suite, false)?;
        let inbound = context(&keys.remote, keys.suite, true)?;
        Ok(Srtp {
            keys,
            outbound,
            inbound,
            counters: SrtpCounters::default(),
        })
    }

    pub fn keys(&self) -> &SrtpKeys {
        &self.keys
    }

    pub fn counters(&self) -> SrtpCounters {
        self.counters
    }

    /// Protects an RTP or RTCP packet for sending. `None` only for a packet too short to be one.
    pub fn protect(&mut self, packet: &[u8], rtcp: bool) -> Option<Vec<u8>> {
        let out = if rtcp {
            self.outbound.encrypt_rtcp(packet)
        } else {
            self.outbound.encrypt_rtp(packet)
        };
        out.ok().map(|b| b.to_vec())
    }

    /// Checks and opens a received packet; a dropped one is counted.
    pub fn unprotect(&mut self, packet: &[u8], rtcp: bool) -> Result<Vec<u8>, Dropped> {
        let out = if rtcp {
            self.inbound.decrypt_rtcp(packet)
        } else {
            self.inbound.decrypt_rtp(packet)
        };
        match out {
            Ok(b) => Ok(b.to_vec()),
            Err(e) => {
                let text = e.to_string();
                if text.contains("duplicated") {
                    self.counters.replays += 1;
                    Err(Dropped::Replay)
                } else {
                    self.counters.auth_failures += 1;
                    Err(Dropped::Authentication)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rtp(seq: u16, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![
            0x80,
            0,
            (seq >> 8) as u8,
            seq as u8,
            0,
            0,
            0,
            160,
            0x12,
            0x34,
            0x56,
            0x78,
        ];
        p.extend_from_slice(payload);
        p
    }

    fn pair(suite: SrtpSuite) -> (Srtp, Srtp) {
        let (a, b) = ([1u8; KEY_LEN], [2u8; KEY_LEN]);
        (
            Srtp::new(SrtpKeys {
                suite,
                local: a,
                remote: b,
            })
            .unwrap(),
            Srtp::new(SrtpKeys {
                suite,
                local: b,
                remote: a,
            })
            .unwrap(),
        )
    }

    #[test]
    fn what_one_side_protects_the_other_opens_and_the_wire_does_not_show_it() {
        for (suite, tag) in [
            (SrtpSuite::AesCm128HmacSha1_80, 10),
            (SrtpSuite::AesCm128HmacSha1_32, 4),
        ] {
            let (mut alice, mut bob) = pair(suite);
            let clear = rtp(1, b"hello, this is audio");
            let wire = alice.protect(&clear, false).unwrap();
            assert_eq!(wire.len(), clear.len() + tag, "{suite:?} tag length");
            assert_eq!(wire[..12], clear[..12], "the RTP header stays readable");
            assert!(
                !wire.windows(5).any(|w| w == b"hello"),
                "the payload is encrypted"
            );
            assert_eq!(bob.unprotect(&wire, false).unwrap(), clear);
        }
    }

    #[test]
    fn rtcp_is_protected_too() {
        let (mut alice, mut bob) = pair(SrtpSuite::AesCm128HmacSha1_80);
        // An empty receiver report: V=2, RC=0, PT=201, length 1, SSRC.
        let rr = vec![0x80, 201, 0, 1, 0x12, 0x34, 0x56, 0x78];
        assert!(is_rtcp(&rr) && !is_rtcp(&rtp(1, b"x")));
        let wire = alice.protect(&rr, true).unwrap();
        assert!(wire.len() > rr.len() + 4, "SRTCP index and tag");
        assert_eq!(bob.unprotect(&wire, true).unwrap(), rr);
    }

    #[test]
    fn forged_replayed_and_clear_packets_are_dropped_and_counted() {
        let (mut alice, mut bob) = pair(SrtpSuite::AesCm128HmacSha1_80);
        let wire = alice.protect(&rtp(7, b"payload"), false).unwrap();
        let mut forged = wire.clone();
        let n = forged.len();
        forged[n - 15] ^= 1;
        assert_eq!(bob.unprotect(&forged, false), Err(Dropped::Authentication));
        assert_eq!(
            bob.unprotect(&rtp(8, b"clear text, no tag"), false),
            Err(Dropped::Authentication)
        );
        assert!(bob.unprotect(&wire, false).is_ok());
        assert_eq!(bob.unprotect(&wire, false), Err(Dropped::Replay));
        assert_eq!(
            bob.counters(),
            SrtpCounters {
                auth_failures: 2,
                replays: 1
            }
        );
        // A third party with another key gets nowhere either.
        let mut eve = Srtp::new(SrtpKeys {
            suite: SrtpSuite::AesCm128HmacSha1_80,
            local: [9; KEY_LEN],
            remote: [9; KEY_LEN],
        })
        .unwrap();
        let theirs = eve.protect(&rtp(9, b"injected"), false).unwrap();
        assert_eq!(bob.unprotect(&theirs, false), Err(Dropped::Authentication));
    }

    #[test]
    fn keys_never_show_in_debug() {
        let (alice, _) = pair(SrtpSuite::AesCm128HmacSha1_80);
        let text = format!("{alice:?}");
        assert!(text.contains("***") && !text.contains("[1, 1"), "{text}");
    }
}
