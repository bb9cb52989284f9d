//! The conference bridge: the calls of a local conference and the user, mixed on the media clock.
//!
//! The audio switch keeps one bridge while the user is in a conference. Its members are call
//! ports; the user (microphone and speaker) is one more party, [`ME`]. It mixes one 10 ms frame
//! per tick of the switch's [`MediaClock`](crate::stream::media_clock::MediaClock) grid with the
//! mix-minus [`ConferenceMixer`], so each party hears everyone but itself and the microphone
//! goes to all. Nothing drives it but the ports themselves: the first port to read or write at
//! a tick ([`ConferenceBridge::catch_up`]) mixes every frame due by then — reading the
//! microphone and playing the speaker for the user on the way — and the others find their
//! frames ready. The ports tick on the same grid, so at most one or two frames of delay are
//! added, whatever each call's packet time.
//!
//! Plain value: the number of ticks due is passed in, the microphone and speaker come as a
//! [`Room`], so it is tested without a clock or a sound card.

use std::collections::BTreeSet;

use crate::conference_mixer::ConferenceMixer;
use crate::error::MediaError;

/// The user's own party: the microphone speaks, the speaker hears.
pub const ME: u64 = u64::MAX;

/// The most frames mixed in one catch-up: after a stall longer than this the bridge skips
/// ahead instead of draining the microphone in a burst.
const MAX_BURST: u64 = 10;

/// The user's side of the bridge: the microphone and the speaker (with whatever the switch does
/// on the way: voice processing, the call-waiting tone).
pub trait Room {
    /// The microphone's rate and the speaker's rate, once both are open.
    fn rates(&self) -> Option<(u32, u32)>;
    /// Fills `out` from the microphone (at its rate).
    fn capture(&mut self, out: &mut [i16]) -> Result<(), MediaError>;
    /// Plays `pcm` (at the speaker's rate).
    fn play(&mut self, pcm: &[i16]) -> Result<(), MediaError>;
}

/// One local conference; see the module documentation.
pub struct ConferenceBridge {
    members: BTreeSet<u64>,
    /// Parties whose voice is kept out of the mix (`ME` for the user's microphone).
    muted: BTreeSet<u64>,
    /// Made at the first catch-up (it needs the microphone's and speaker's rates).
    mixer: Option<ConferenceMixer>,
    /// Ticks mixed so far, counted as the clock counts them.
    done: u64,
    mic_frame: Vec<i16>,
    heard: Vec<i16>,
}

impl ConferenceBridge {
    pub fn new(members: &[u64]) -> Self {
        let mut b = ConferenceBridge {
            members: BTreeSet::new(),
            muted: BTreeSet::new(),
            mixer: None,
            done: 0,
            mic_frame: Vec::new(),
            heard: Vec::new(),
        };
        b.set_members(members);
        b
    }

    /// The calls in the conference from now on (the user stays).
    pub fn set_members(&mut self, members: &[u64]) {
        let new: BTreeSet<u64> = members.iter().copied().filter(|&m| m != ME).collect();
        if let Some(mixer) = self.mixer.as_mut() {
            for gone in self.members.difference(&new) {
                mixer.remove_party(*gone);
            }
            let (mic, speaker) = (mixer_rates(mixer).0, mixer.rate());
            for added in new.difference(&self.members) {
                // A call's port writes what it received at the speaker's rate and reads what it
                // sends at the microphone's (the switch's ports run at those rates).
                if let Err(e) = mixer.add_party_rates(*added, speaker, mic) {
                    tracing::warn!("conference: call {added} cannot join the mix: {e}");
                }
            }
        }
        self.muted.retain(|m| *m == ME || new.contains(m));
        self.members = new;
    }

    pub fn members(&self) -> Vec<u64> {
        self.members.iter().copied().collect()
    }

    pub fn has(&self, id: u64) -> bool {
        self.members.contains(&id)
    }

    /// Keeps party `id`'s voice out of the mix (or lets it back); [`ME`] is the user.
    pub fn set_muted(&mut self, id: u64, muted: bool) {
        if muted {
            self.muted.insert(id);
        } else {
            self.muted.remove(&id);
        }
    }

    pub fn is_muted(&self, id: u64) -> bool {
        self.muted.contains(&id)
    }

    /// How loud each party (the user as [`ME`]) has been lately, in dBFS.
    pub fn levels(&self) -> Vec<(u64, f32)> {
        self.mixer
            .as_ref()
            .map_or_else(Vec::new, ConferenceMixer::levels)
    }

    /// Mixes every frame due by tick `due` (the clock's count at this instant), capturing the
    /// user's microphone and playing the speaker for each.
    pub fn catch_up(&mut self, due: u64, room: &mut dyn Room) -> Result<(), MediaError> {
        if self.mixer.is_none() {
            let Some((mic, speaker)) = room.rates() else {
                return Ok(());
            };
            let mut mixer = ConferenceMixer::new(speaker, 10);
            mixer.add_party_rates(ME, mic, speaker)?;
            for &m in &self.members {
                mixer.add_party_rates(m, speaker, mic)?;
            }
            self.mixer = Some(mixer);
            self.done = due.saturating_sub(1);
        }
        let mixer = self.mixer.as_mut().expect("made above");
        if due > self.done + MAX_BURST {
            self.done = due - 1;
        }
        let (mic, speaker) = mixer_rates(mixer);
        while self.done < due {
            self.mic_frame.resize(mic as usize / 100, 0);
            room.capture(&mut self.mic_frame)?;
            if !self.muted.contains(&ME) {
                mixer.push(ME, &self.mic_frame)?;
            }
            mixer.mix()?;
            self.heard.resize(speaker as usize / 100, 0);
            mixer.pull(ME, &mut self.heard);
            room.play(&self.heard)?;
            self.done += 1;
        }
        Ok(())
    }

    /// Call `id`'s port received `pcm` (at the speaker's rate): into the mix, unless muted.
    pub fn push(&mut self, id: u64, pcm: &[i16]) -> Result<(), MediaError> {
        if self.muted.contains(&id) || !self.members.contains(&id) {
            return Ok(());
        }
        match self.mixer.as_mut() {
            Some(m) => m.push(id, pcm),
            None => Ok(()),
        }
    }

    /// What call `id`'s port sends (at the microphone's rate): everyone else in the conference.
    pub fn pull(&mut self, id: u64, out: &mut [i16]) {
        match self.mixer.as_mut() {
            Some(m) if self.members.contains(&id) => m.pull(id, out),
            _ => out.fill(0),
        }
    }
}

/// The microphone's rate (what the user's party speaks at) and the mixer's (the speaker's).
fn mixer_rates(mixer: &ConferenceMixer) -> (u32, u32) {
    (
        mixer.party_in_rate(ME).unwrap_or(mixer.rate()),
        mixer.rate(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conference_mixer::tests::level;

    /// A microphone that plays a tone and a speaker that records, at given rates.
    struct FakeRoom {
        mic_rate: u32,
        speaker_rate: u32,
        freq: f64,
        t: u64,
        heard: Vec<i16>,
        captured: usize,
    }

    impl Room for FakeRoom {
        fn rates(&self) -> Option<(u32, u32)> {
            Some((self.mic_rate, self.speaker_rate))
        }
        fn capture(&mut self, out: &mut [i16]) -> Result<(), MediaError> {
            for o in out.iter_mut() {
                *o = (4000.0
                    * (2.0 * std::f64::consts::PI * self.freq * self.t as f64
                        / f64::from(self.mic_rate))
                    .sin()) as i16;
                self.t += 1;
            }
            self.captured += out.len();
            Ok(())
        }
        fn play(&mut self, pcm: &[i16]) -> Result<(), MediaError> {
            self.heard.extend_from_slice(pcm);
            Ok(())
        }
    }

    fn tone(freq: f64, rate: u32, from: usize, n: usize) -> Vec<i16> {
        (from..from + n)
            .map(|i| {
                (4000.0 * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin())
                    as i16
            })
            .collect()
    }

    /// Two calls with 20 ms packets and the user, all on one 10 ms grid; the first port to wake
    /// at each tick mixes. Returns (what the user heard, what call 1 and call 2 were sent).
    fn two_calls_and_me(mute: Option<u64>) -> (Vec<i16>, Vec<i16>, Vec<i16>) {
        let rate = 16_000;
        let mut room = FakeRoom {
            mic_rate: rate,
            speaker_rate: rate,
            freq: 1000.0,
            t: 0,
            heard: Vec::new(),
            captured: 0,
        };
        let mut b = ConferenceBridge::new(&[1, 2]);
        if let Some(m) = mute {
            b.set_muted(m, true);
        }
        let (mut sent1, mut sent2) = (Vec::new(), Vec::new());
        for tick in 1..=100u64 {
            // Every 20 ms (even ticks) each port plays what it received and sends a frame.
            if tick % 2 == 0 {
                let at = (tick as usize - 2) * 160;
                for (id, f, sent) in [(1u64, 300.0, &mut sent1), (2, 700.0, &mut sent2)] {
                    b.catch_up(tick, &mut room).unwrap();
                    b.push(id, &tone(f, rate, at, 320)).unwrap();
                    let mut out = vec![0i16; 320];
                    b.pull(id, &mut out);
                    sent.extend_from_slice(&out);
                }
            }
        }
        assert_eq!(
            room.captured,
            99 * 160,
            "the microphone was read once per tick from the first, no more"
        );
        (room.heard, sent1, sent2)
    }

    #[test]
    fn each_call_hears_the_other_and_the_user_and_the_user_hears_both() {
        let (heard, sent1, sent2) = two_calls_and_me(None);
        let rate = 16_000;
        let skip = 3200; // 200 ms to settle
        let (me, one, two) = (&heard[skip..], &sent1[skip..], &sent2[skip..]);
        assert!(
            level(me, 300.0, rate) > 3000.0 && level(me, 700.0, rate) > 3000.0,
            "the user hears both calls"
        );
        assert!(
            level(me, 1000.0, rate) < 100.0,
            "the user does not hear themselves"
        );
        assert!(
            level(one, 700.0, rate) > 3000.0 && level(one, 1000.0, rate) > 3000.0,
            "call 1 hears call 2 and the user"
        );
        assert!(
            level(one, 300.0, rate) < 100.0,
            "call 1 does not hear itself"
        );
        assert!(
            level(two, 300.0, rate) > 3000.0 && level(two, 1000.0, rate) > 3000.0,
            "call 2 hears call 1 and the user"
        );
        assert!(
            level(two, 700.0, rate) < 100.0,
            "call 2 does not hear itself"
        );
    }

    #[test]
    fn a_muted_party_is_heard_by_nobody_but_still_hears() {
        let rate = 16_000;
        let (heard, sent1, sent2) = two_calls_and_me(Some(2));
        assert!(
            level(&heard[3200..], 700.0, rate) < 100.0,
            "the user does not hear muted call 2"
        );
        assert!(
            level(&sent1[3200..], 700.0, rate) < 100.0,
            "call 1 does not hear muted call 2"
        );
        assert!(
            level(&sent2[3200..], 300.0, rate) > 3000.0,
            "call 2 still hears call 1"
        );
        let (_, sent1, _) = two_calls_and_me(Some(ME));
        assert!(
            level(&sent1[3200..], 1000.0, rate) < 100.0,
            "the user muted: call 1 does not hear the microphone"
        );
        assert!(
            level(&sent1[3200..], 700.0, rate) > 3000.0,
            "but still hears call 2"
        );
    }

    #[test]
    fn a_stall_skips_ahead_instead_of_draining_the_microphone_in_a_burst() {
        let mut room = FakeRoom {
            mic_rate: 8000,
            speaker_rate: 48_000,
            freq: 500.0,
            t: 0,
            heard: Vec::new(),
            captured: 0,
        };
        let mut b = ConferenceBridge::new(&[7]);
        b.catch_up(5, &mut room).unwrap();
        assert_eq!(
            room.captured, 80,
            "the first catch-up mixes the current frame only"
        );
        assert_eq!(
            room.heard.len(),
            480,
            "and plays 10 ms at the speaker's rate"
        );
        b.catch_up(7, &mut room).unwrap();
        assert_eq!(room.captured, 240);
        b.catch_up(1000, &mut room).unwrap();
        assert_eq!(room.captured, 320, "after a stall only the frame due now");
        b.catch_up(1000, &mut room).unwrap();
        assert_eq!(
            room.captured, 320,
            "a second port at the same tick mixes nothing more"
        );
    }

    #[test]
    fn members_come_and_go_and_a_leaver_hears_nothing() {
        let mut room = FakeRoom {
            mic_rate: 16_000,
            speaker_rate: 16_000,
            freq: 500.0,
            t: 0,
            heard: Vec::new(),
            captured: 0,
        };
        let mut b = ConferenceBridge::new(&[1, 2]);
        b.catch_up(1, &mut room).unwrap();
        b.set_members(&[2, 3]);
        assert_eq!(b.members(), vec![2, 3]);
        assert!(!b.has(1) && b.has(3));
        b.catch_up(3, &mut room).unwrap();
        let mut out = vec![1i16; 160];
        b.pull(1, &mut out);
        assert!(out.iter().all(|&v| v == 0), "call 1 left: silence");
        b.pull(3, &mut out);
        assert!(
            out.iter().any(|&v| v != 0),
            "call 3 joined: it hears the microphone"
        );
    }
}
