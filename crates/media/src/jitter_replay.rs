//! Replays a packet arrival trace through the [`JitterBuffer`] in simulated time, the way the
//! media session drives it: every 20 ms one playout frame (`advise`, then pop packets until the
//! frame is full, concealing a slot on underrun), with time-stretching modelled as removing or
//! adding 5 ms of decoded audio (a typical pitch period). For benchmarks and tests.

use crate::jitter_buffer::{Adjust, JitterBuffer, PacketInfo, Pop};

/// How a playout of a trace went.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplayOutcome {
    /// Packets played.
    pub played: u64,
    /// Packets that arrived after their slot was concealed.
    pub late: u64,
    /// Slots concealed because the packet was missing while later ones were here.
    pub lost: u64,
    /// Lost slots whose following packet was here: an FEC copy in it rebuilds them.
    pub lost_with_next: u64,
    /// Slots concealed while the buffer was empty (after playout started).
    pub concealed_slots: u64,
    pub accelerated: u64,
    pub stretched: u64,
    /// Mean playout delay (audio queued plus decoded-but-unplayed), ms.
    pub mean_delay_ms: f64,
    /// The buffer's target when the trace ended, ms.
    pub final_target_ms: f64,
}

/// Plays `arrivals` — (packet index from 0, arrival time in ms) of `ptime_ms` packets on an
/// 8 kHz clock, in any order — until the last one has arrived.
pub fn replay(ptime_ms: u32, arrivals: &[(u64, f64)]) -> ReplayOutcome {
    replay_stream(ptime_ms, arrivals, false)
}

/// [`replay`] for a sender whose every packet carries an FEC copy of the one before it.
pub fn replay_with_fec(ptime_ms: u32, arrivals: &[(u64, f64)]) -> ReplayOutcome {
    replay_stream(ptime_ms, arrivals, true)
}

fn replay_stream(ptime_ms: u32, arrivals: &[(u64, f64)], fec: bool) -> ReplayOutcome {
    let mut jb = JitterBuffer::new(ptime_ms, 8000);
    let mut sorted = arrivals.to_vec();
    sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut decoded_ms = 0.0;
    let mut o = ReplayOutcome::default();
    let mut tick = 0.0;
    let mut started = false;
    let end_ms = sorted.last().map_or(0.0, |a| a.1);
    let mut it = sorted.into_iter().peekable();
    while tick < end_ms {
        tick += 20.0;
        while let Some(&(i, at)) = it.peek() {
            if at > tick {
                break;
            }
            it.next();
            let info = PacketInfo {
                seq: i as u16,
                timestamp: (i * 8 * ptime_ms as u64) as u32,
                ssrc: 1,
                arrival_ms: at,
                timed: true,
            };
            if fec {
                jb.fec_seen(at);
            }
            jb.insert(info, i);
        }
        match jb.advise(decoded_ms) {
            Adjust::Accelerate if decoded_ms >= 25.0 || jb.has_next() => {
                decoded_ms -= 5.0;
                jb.note_time_stretch(-5.0);
                o.accelerated += 1;
            }
            Adjust::Stretch if decoded_ms >= 20.0 || jb.has_next() => {
                decoded_ms += 5.0;
                jb.note_time_stretch(5.0);
                o.stretched += 1;
            }
            _ => {}
        }
        while decoded_ms < 20.0 {
            match jb.pop() {
                Pop::Packet(_) => started = true,
                Pop::Lost { next } => o.lost_with_next += u64::from(next.is_some()),
                Pop::Empty if started => o.concealed_slots += 1,
                Pop::Empty => break,
            }
            decoded_ms += ptime_ms as f64;
        }
        if started {
            decoded_ms = (decoded_ms - 20.0).max(0.0);
        }
    }
    o.played = jb.counters.played;
    o.late = jb.counters.late;
    o.lost = jb.counters.lost;
    o.mean_delay_ms = jb.mean_delay_ms();
    o.final_target_ms = jb.target_delay_ms();
    o
}
