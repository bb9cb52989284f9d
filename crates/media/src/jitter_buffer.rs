//! A small fixed-delay jitter buffer ordered by RTP sequence number.
//!
//! Playback starts once `prime` packets are queued (about 60 ms). Each `pop` hands out the next
//! packet in sequence; a gap with later packets already here is declared lost (so the decoder
//! can use the next packet's FEC copy); an empty buffer is an underrun and the buffer re-primes.
//! Duplicates and packets whose turn has passed are dropped. Sequence numbers are unwrapped to
//! 64 bits, so wrap-around at 65535 is seamless. The buffer has no clock of its own.

use std::collections::BTreeMap;

/// Outcome of offering a packet to the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Insert {
    Accepted,
    Duplicate,
    /// Its playout time has passed.
    Late,
}

/// What playout gets this frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Pop<'a, T> {
    /// The next packet in order.
    Packet(T),
    /// The next packet is missing but later ones are here; `next` is the packet right after
    /// the missing one, if present (its FEC copy can rebuild the lost frame).
    Lost { next: Option<&'a T> },
    /// Nothing to play: not started yet, or ran dry (then it re-primes).
    Empty,
}

/// Counters the session reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JitterCounters {
    pub duplicates: u64,
    pub late: u64,
    pub lost: u64,
    pub underruns: u64,
    /// Packets dropped because the buffer grew beyond its maximum delay.
    pub overflow_dropped: u64,
}

pub struct JitterBuffer<T> {
    packets: BTreeMap<u64, T>,
    next: Option<u64>,
    highest: Option<u64>,
    playing: bool,
    prime: usize,
    max: usize,
    pub counters: JitterCounters,
}

/// A sequence jump larger than this is a new stream (remote restarted), not loss or reordering.
const RESET_JUMP: i64 = 3000;

impl<T> JitterBuffer<T> {
    /// `prime`: packets to collect before playback starts; `max`: packets kept at most.
    pub fn new(prime: usize, max: usize) -> Self {
        let prime = prime.max(1);
        JitterBuffer {
            packets: BTreeMap::new(),
            next: None,
            highest: None,
            playing: false,
            prime,
            max: max.max(prime + 1),
            counters: JitterCounters::default(),
        }
    }

    /// Sizes the buffer for a target delay in milliseconds at a given packet time.
    pub fn for_delay(target_ms: u32, ptime_ms: u32) -> Self {
        let ptime_ms = ptime_ms.max(5);
        let prime = target_ms.div_ceil(ptime_ms).max(2) as usize;
        Self::new(prime, prime + 300 / ptime_ms as usize)
    }

    fn unwrap_seq(&self, seq: u16) -> u64 {
        match self.highest {
            None => (1u64 << 32) | seq as u64,
            Some(h) => {
                let delta = seq.wrapping_sub(h as u16) as i16 as i64;
                (h as i64 + delta) as u64
            }
        }
    }

    /// Forgets everything (new remote stream).
    pub fn reset(&mut self) {
        self.packets.clear();
        self.next = None;
        self.highest = None;
        self.playing = false;
    }

    pub fn len(&self) -> usize {
        self.packets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    pub fn insert(&mut self, seq: u16, packet: T) -> Insert {
        let mut ext = self.unwrap_seq(seq);
        if let Some(h) = self.highest {
            if (ext as i64 - h as i64).abs() > RESET_JUMP {
                self.reset();
                ext = self.unwrap_seq(seq);
            }
        }
        if self.next.is_some_and(|n| ext < n) {
            self.counters.late += 1;
            return Insert::Late;
        }
        if self.packets.contains_key(&ext) {
            self.counters.duplicates += 1;
            return Insert::Duplicate;
        }
        self.packets.insert(ext, packet);
        if self.highest.is_none_or(|h| ext > h) {
            self.highest = Some(ext);
        }
        while self.packets.len() > self.max {
            self.packets.pop_first();
            self.counters.overflow_dropped += 1;
            if let Some((&first, _)) = self.packets.first_key_value() {
                if self.next.is_some_and(|n| n < first) {
                    self.next = Some(first);
                }
            }
        }
        Insert::Accepted
    }

    pub fn pop(&mut self) -> Pop<'_, T> {
        if !self.playing {
            if self.packets.len() < self.prime {
                return Pop::Empty;
            }
            self.playing = true;
            let first = *self.packets.keys().next().expect("non-empty");
            if self.next.is_none_or(|n| n < first) {
                self.next = Some(first);
            }
        }
        let next = self.next.expect("set when playing");
        if let Some(p) = self.packets.remove(&next) {
            self.next = Some(next + 1);
            return Pop::Packet(p);
        }
        if self.packets.is_empty() {
            self.playing = false;
            self.counters.underruns += 1;
            return Pop::Empty;
        }
        self.counters.lost += 1;
        self.next = Some(next + 1);
        Pop::Lost { next: self.packets.get(&(next + 1)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(jb: &mut JitterBuffer<u16>) -> Vec<Option<u16>> {
        let mut out = Vec::new();
        loop {
            match jb.pop() {
                Pop::Packet(p) => out.push(Some(p)),
                Pop::Lost { .. } => out.push(None),
                Pop::Empty => return out,
            }
        }
    }

    #[test]
    fn waits_for_prime_then_plays_in_order() {
        let mut jb = JitterBuffer::new(3, 10);
        assert_eq!(jb.insert(11, 11), Insert::Accepted);
        assert_eq!(jb.insert(10, 10), Insert::Accepted);
        assert_eq!(jb.pop(), Pop::Empty, "not primed yet");
        jb.insert(13, 13);
        jb.insert(12, 12);
        assert_eq!(drain(&mut jb), vec![Some(10), Some(11), Some(12), Some(13)]);
    }

    #[test]
    fn drops_duplicates_and_late_packets() {
        let mut jb = JitterBuffer::new(2, 10);
        jb.insert(1, 1);
        assert_eq!(jb.insert(1, 1), Insert::Duplicate);
        jb.insert(2, 2);
        assert_eq!(jb.pop(), Pop::Packet(1));
        assert_eq!(jb.insert(1, 1), Insert::Late);
        assert_eq!(jb.insert(0, 0), Insert::Late);
        assert_eq!(jb.counters.duplicates, 1);
        assert_eq!(jb.counters.late, 2);
    }

    #[test]
    fn handles_sequence_wrap() {
        let mut jb = JitterBuffer::new(3, 20);
        for s in [65534u16, 0, 65535, 1, 2] {
            jb.insert(s, s);
        }
        assert_eq!(
            drain(&mut jb),
            vec![Some(65534), Some(65535), Some(0), Some(1), Some(2)]
        );
        assert_eq!(jb.insert(65535, 65535), Insert::Late, "old packet after the wrap");
    }

    #[test]
    fn gap_is_lost_and_offers_the_following_packet_for_fec() {
        let mut jb = JitterBuffer::new(2, 20);
        for s in [5u16, 7, 8] {
            jb.insert(s, s);
        }
        assert_eq!(jb.pop(), Pop::Packet(5));
        assert_eq!(jb.pop(), Pop::Lost { next: Some(&7) });
        assert_eq!(jb.pop(), Pop::Packet(7));
        assert_eq!(jb.counters.lost, 1);
        // Two in a row: the first has no successor to borrow from.
        jb.insert(11, 11);
        assert_eq!(jb.pop(), Pop::Packet(8));
        assert_eq!(jb.pop(), Pop::Lost { next: None });
        assert_eq!(jb.pop(), Pop::Lost { next: Some(&11) });
        assert_eq!(jb.pop(), Pop::Packet(11));
    }

    #[test]
    fn underrun_reprimes_and_keeps_late_packet() {
        let mut jb = JitterBuffer::new(2, 20);
        jb.insert(1, 1);
        jb.insert(2, 2);
        assert_eq!(drain(&mut jb), vec![Some(1), Some(2)]);
        assert_eq!(jb.counters.underruns, 1);
        // Packet 3 arrives late but its turn has not been taken: it still plays, after re-priming.
        jb.insert(3, 3);
        assert_eq!(jb.pop(), Pop::Empty);
        jb.insert(4, 4);
        assert_eq!(drain(&mut jb), vec![Some(3), Some(4)]);
    }

    #[test]
    fn overflow_drops_oldest() {
        let mut jb = JitterBuffer::new(2, 4);
        for s in 0..10u16 {
            jb.insert(s, s);
        }
        assert_eq!(jb.len(), 4);
        assert_eq!(jb.counters.overflow_dropped, 6);
        assert_eq!(drain(&mut jb), vec![Some(6), Some(7), Some(8), Some(9)]);
    }

    #[test]
    fn big_jump_is_a_new_stream() {
        let mut jb = JitterBuffer::new(2, 20);
        jb.insert(100, 100);
        jb.insert(101, 101);
        assert_eq!(jb.pop(), Pop::Packet(100));
        jb.insert(40000, 40000);
        jb.insert(40001, 40001);
        assert_eq!(drain(&mut jb), vec![Some(40000), Some(40001)]);
    }

    #[test]
    fn sizing_from_delay() {
        let jb: JitterBuffer<()> = JitterBuffer::for_delay(60, 20);
        assert_eq!(jb.prime, 3);
        assert_eq!(jb.max, 18);
    }
}
