//! DTMF as RFC 4733 telephone-events: the payload format, the sender's packet schedule
//! (marker on the first packet, same timestamp throughout, end packet sent three times), and
//! the receiver's de-duplication so each key press is reported exactly once.

use crate::error::MediaError;

/// Event code (RFC 4733 section 3.2) for a DTMF key.
pub fn event_code(digit: char) -> Result<u8, MediaError> {
    Ok(match digit.to_ascii_uppercase() {
        d @ '0'..='9' => d as u8 - b'0',
        '*' => 10,
        '#' => 11,
        d @ 'A'..='D' => 12 + (d as u8 - b'A'),
        _ => return Err(MediaError::InvalidDtmf(digit)),
    })
}

/// DTMF key for an event code, or `None` for non-DTMF events (flash, fax tones...).
pub fn event_digit(code: u8) -> Option<char> {
    match code {
        0..=9 => Some((b'0' + code) as char),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some((b'A' + code - 12) as char),
        _ => None,
    }
}

/// The 4-byte telephone-event payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventPayload {
    pub event: u8,
    pub end: bool,
    /// Power level in -dBm0 (0-63).
    pub volume: u8,
    /// Duration so far, in RTP clock units.
    pub duration: u16,
}

impl EventPayload {
    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            ((self.end as u8) << 7) | (self.volume & 0x3F),
            d[0],
            d[1],
        ]
    }

    pub fn parse(payload: &[u8]) -> Option<EventPayload> {
        if payload.len() < 4 {
            return None;
        }
        Some(EventPayload {
            event: payload[0],
            end: payload[1] & 0x80 != 0,
            volume: payload[1] & 0x3F,
            duration: u16::from_be_bytes([payload[2], payload[3]]),
        })
    }
}

/// One telephone-event packet the sender should put on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventPacket {
    pub timestamp: u32,
    pub marker: bool,
    pub payload: EventPayload,
}

/// How long each tone lasts and how much audio separates two queued tones.
pub const TONE_MS: u32 = 100;
pub const GAP_MS: u32 = 100;
const VOLUME: u8 = 10;

struct ActiveTone {
    event: u8,
    start_ts: u32,
    ticks_done: u32,
}

/// Queues key presses and, frame by frame, tells the sender whether to send audio or events.
#[derive(Default)]
pub struct DtmfSender {
    queue: std::collections::VecDeque<u8>,
    active: Option<ActiveTone>,
    gap_ticks_left: u32,
}

impl DtmfSender {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, digit: char) -> Result<(), MediaError> {
        self.queue.push_back(event_code(digit)?);
        Ok(())
    }

    /// True while a tone is being sent or waiting.
    pub fn busy(&self) -> bool {
        self.active.is_some() || !self.queue.is_empty()
    }

    /// Called once per frame. `audio_ts` is the RTP timestamp this frame's audio would carry.
    /// Returns the event packets to send instead of audio, or an empty list to send audio.
    pub fn tick(&mut self, audio_ts: u32, ptime_ms: u32, clock_rate: u32) -> Vec<EventPacket> {
        let ptime_ms = ptime_ms.max(1);
        let frame_ticks = clock_rate * ptime_ms / 1000;
        if self.active.is_none() {
            if self.gap_ticks_left > 0 {
                self.gap_ticks_left -= 1;
                return Vec::new();
            }
            let Some(event) = self.queue.pop_front() else {
                return Vec::new();
            };
            self.active = Some(ActiveTone {
                event,
                start_ts: audio_ts,
                ticks_done: 0,
            });
        }
        let tone = self.active.as_mut().expect("set above");
        tone.ticks_done += 1;
        let total_ticks = TONE_MS.div_ceil(ptime_ms);
        let duration = (tone.ticks_done * frame_ticks).min(u16::MAX as u32) as u16;
        let end = tone.ticks_done >= total_ticks;
        let packet = EventPacket {
            timestamp: tone.start_ts,
            marker: tone.ticks_done == 1,
            payload: EventPayload {
                event: tone.event,
                end,
                volume: VOLUME,
                duration,
            },
        };
        if end {
            self.active = None;
            self.gap_ticks_left = GAP_MS.div_ceil(ptime_ms);
            // The end packet goes out three times (RFC 4733 section 2.5.1.4).
            vec![packet; 3]
        } else {
            vec![packet]
        }
    }
}

/// Turns received telephone-event packets into one key press per event.
#[derive(Default)]
pub struct DtmfReceiver {
    last: Option<(u32, u8)>,
}

impl DtmfReceiver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the key the first time an event (identified by its timestamp and code) is seen.
    pub fn on_packet(&mut self, timestamp: u32, payload: &[u8]) -> Option<char> {
        let ev = EventPayload::parse(payload)?;
        let key = (timestamp, ev.event);
        if self.last == Some(key) {
            return None;
        }
        self.last = Some(key);
        event_digit(ev.event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_digits() {
        assert_eq!(event_code('5').unwrap(), 5);
        assert_eq!(event_code('*').unwrap(), 10);
        assert_eq!(event_code('#').unwrap(), 11);
        assert_eq!(event_code('d').unwrap(), 15);
        assert!(event_code('x').is_err());
        for c in "0123456789*#ABCD".chars() {
            assert_eq!(event_digit(event_code(c).unwrap()), Some(c));
        }
        assert_eq!(event_digit(16), None);
    }

    #[test]
    fn payload_round_trip() {
        let p = EventPayload {
            event: 11,
            end: true,
            volume: 10,
            duration: 800,
        };
        assert_eq!(p.to_bytes(), [11, 0x8A, 0x03, 0x20]);
        assert_eq!(EventPayload::parse(&p.to_bytes()), Some(p));
        assert_eq!(EventPayload::parse(&[1, 2, 3]), None);
    }

    #[test]
    fn sender_schedule_follows_rfc4733() {
        let mut s = DtmfSender::new();
        s.push('1').unwrap();
        s.push('#').unwrap();
        let mut ts = 1000u32;
        let mut sent: Vec<(u32, Vec<EventPacket>)> = Vec::new();
        for tick in 0..30 {
            let p = s.tick(ts, 20, 8000);
            sent.push((tick, p));
            ts += 160;
        }
        let first: Vec<&EventPacket> = sent[0..5].iter().flat_map(|(_, p)| p).collect();
        // Five frames of 20 ms for a 100 ms tone, the last one triplicated: 7 packets.
        assert_eq!(first.len(), 7);
        assert!(first[0].marker);
        assert!(first[1..].iter().all(|p| !p.marker));
        assert!(first
            .iter()
            .all(|p| p.timestamp == 1000 && p.payload.event == 1));
        let durations: Vec<u16> = first.iter().map(|p| p.payload.duration).collect();
        assert_eq!(durations, vec![160, 320, 480, 640, 800, 800, 800]);
        let ends: Vec<bool> = first.iter().map(|p| p.payload.end).collect();
        assert_eq!(ends, vec![false, false, false, false, true, true, true]);
        // 100 ms of audio between the tones.
        assert!(sent[5..10].iter().all(|(_, p)| p.is_empty()));
        let second = &sent[10].1;
        assert_eq!(second.len(), 1);
        assert!(second[0].marker);
        assert_eq!(second[0].payload.event, 11);
        assert_eq!(second[0].timestamp, 1000 + 10 * 160);
        assert!(sent[15..].iter().all(|(_, p)| p.is_empty()));
        assert!(!s.busy());
    }

    #[test]
    fn receiver_reports_each_event_once() {
        let mut s = DtmfSender::new();
        let mut r = DtmfReceiver::new();
        for d in "1#1".chars() {
            s.push(d).unwrap();
        }
        let mut got = String::new();
        let mut ts = 0u32;
        for _ in 0..40 {
            for p in s.tick(ts, 20, 48000) {
                if let Some(d) = r.on_packet(p.timestamp, &p.payload.to_bytes()) {
                    got.push(d);
                }
            }
            ts = ts.wrapping_add(960);
        }
        assert_eq!(got, "1#1", "repeated key presses are separate events");
        assert_eq!(
            r.on_packet(0, &[1, 0x80, 0, 0]),
            Some('1'),
            "new timestamp, new event"
        );
        assert_eq!(r.on_packet(0, &[1, 0x80, 0, 0]), None);
        assert_eq!(r.on_packet(5, &[99]), None, "short payload ignored");
    }
}
