//! The phone's audio switch: ONE microphone source and ONE speaker sink shared by all calls,
//! so the microphone reaches exactly one call at every instant.
//!
//! Each call's [`MediaSession`](crate::MediaSession) gets a port ([`AudioSwitch::port`]
//! gives the `AudioIn::Port` / `AudioOut::Port` pair to start it with). The active port reads
//! the microphone and writes the speaker; every other port reads hold music (its own
//! [`HoldMusicSource`], from the start of the loop) and its received audio is discarded.
//! Which port is active is one field behind one lock, so a switch moves the microphone in
//! one step.
//!
//! The microphone and speaker open when the first port opens them (at that port's rate;
//! ports at other rates are resampled) and close when the last port is gone, so a phone with
//! no calls holds no sound card and a WAV recording is finalised when its calls end.
//!
//! A local conference replaces the one active port with a set: the ports in the
//! [`ConferenceBridge`] and the user hear each other through its mix-minus, on the switch's
//! media clock (the first of them to wake at a tick mixes for all; see
//! [`conference_bridge`](crate::conference_bridge)); [`AudioSwitch::set_conference`].
//!
//! Voice processing (echo cancellation, noise suppression, gain control; see
//! [`audio_processing`](crate::audio_processing)) sits here, where the microphone and the
//! speaker meet: what the active port writes to the speaker is the echo reference, and what
//! it reads from the microphone comes out processed. It runs only on a sound-card microphone
//! (a WAV file or silence has no room to echo in and passes untouched), is on by default and is
//! switched with [`AudioSwitch::set_processing`].

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::audio_io::{
    open_sink_with, open_source_with, AudioIn, AudioOut, AudioSink, AudioSource, ResampledSink,
    ResampledSource,
};
use crate::audio_processing::{AudioProcessor, ProcessingSettings};
use crate::call_waiting_tone::CallWaitingTone;
use crate::conference_bridge::{ConferenceBridge, Room, ME};
use crate::device_watch::DeviceNotices;
use crate::error::MediaError;
use crate::hold_music::{HoldMusic, HoldMusicSource};
use crate::stream::media_clock::MediaClock;

struct Devices {
    input: AudioIn,
    output: AudioOut,
    mic: Option<Box<dyn AudioSource>>,
    speaker: Option<Box<dyn AudioSink>>,
    active: Option<u64>,
    /// Mixed into what the active call plays while another call rings.
    call_waiting: Option<CallWaitingTone>,
    /// Which voice-processing parts are wanted.
    processing: ProcessingSettings,
    /// Whether the microphone is one that hears the speaker (a sound card).
    processing_applies: bool,
    /// Made when both the microphone and the speaker are open (it needs both rates).
    processor: Option<AudioProcessor>,
    /// The local conference the user is in, if any (then no port is active).
    bridge: Option<ConferenceBridge>,
}

/// The microphone and speaker as the conference bridge's user party.
struct DevicesRoom<'a>(&'a mut Devices);

impl Room for DevicesRoom<'_> {
    fn rates(&self) -> Option<(u32, u32)> {
        Some((self.0.mic.as_ref()?.rate(), self.0.speaker.as_ref()?.rate()))
    }
    fn capture(&mut self, out: &mut [i16]) -> Result<(), MediaError> {
        let d = &mut *self.0;
        match d.mic.as_mut() {
            Some(mic) => mic.read(out)?,
            None => out.fill(0),
        }
        if let Some(p) = d.processor() {
            p.capture(out);
        }
        Ok(())
    }
    fn play(&mut self, pcm: &[i16]) -> Result<(), MediaError> {
        let d = &mut *self.0;
        let rate = d.speaker.as_ref().map_or(0, |s| s.rate());
        let mut played = pcm.to_vec();
        if let Some(tone) = d.call_waiting.as_mut() {
            tone.mix(&mut played, rate);
        }
        if let Some(p) = d.processor() {
            p.render(&played);
        }
        match d.speaker.as_mut() {
            Some(s) => s.write(&played),
            None => Ok(()),
        }
    }
}

impl Devices {
    /// Mixes the conference up to this instant, if there is one. Returns whether port `id` is
    /// in it.
    fn conference_catch_up(&mut self, id: u64, clock: &MediaClock) -> Result<bool, MediaError> {
        let Some(mut bridge) = self.bridge.take() else {
            return Ok(false);
        };
        let member = bridge.has(id);
        let res = if member {
            bridge.catch_up(
                clock.ticks_by(std::time::Instant::now()),
                &mut DevicesRoom(self),
            )
        } else {
            Ok(())
        };
        self.bridge = Some(bridge);
        res.map(|_| member)
    }
}

impl Devices {
    /// The voice processor for the open microphone and speaker, made on first use.
    fn processor(&mut self) -> Option<&mut AudioProcessor> {
        if !self.processing_applies || self.processing.is_off() {
            return None;
        }
        if self.processor.is_none() {
            let (mic, speaker) = (self.mic.as_ref()?.rate(), self.speaker.as_ref()?.rate());
            self.processor = Some(AudioProcessor::new(mic, speaker, self.processing));
        }
        self.processor.as_mut()
    }
}

struct Shared {
    devices: Mutex<Devices>,
    /// The grid every port's stream sends and plays on.
    clock: MediaClock,
    music: HoldMusic,
    /// Where the microphone's and speaker's notices go.
    notices: DeviceNotices,
}

fn lock(shared: &Shared) -> MutexGuard<'_, Devices> {
    shared.devices.lock().unwrap_or_else(|p| p.into_inner())
}

/// One microphone and one speaker, switched between calls. Cheap to clone.
#[derive(Clone)]
pub struct AudioSwitch {
    shared: Arc<Shared>,
}

/// A switch that closes when its last port is gone; see [`AudioSwitch::downgrade`].
#[derive(Clone)]
pub struct WeakAudioSwitch {
    shared: Weak<Shared>,
}

impl WeakAudioSwitch {
    pub fn upgrade(&self) -> Option<AudioSwitch> {
        self.shared.upgrade().map(|shared| AudioSwitch { shared })
    }
}

impl AudioSwitch {
    /// A switch over this microphone and speaker (opened when the first port needs them).
    /// `input`/`output` must not be ports themselves.
    pub fn new(input: AudioIn, output: AudioOut, music: HoldMusic) -> Result<Self, MediaError> {
        Self::with_notices(input, output, music, DeviceNotices::none())
    }

    /// As [`AudioSwitch::new`]; the microphone and speaker tell `notices` when they go or come
    /// back (the phone that owns the switch shows them).
    pub fn with_notices(
        input: AudioIn,
        output: AudioOut,
        music: HoldMusic,
        notices: DeviceNotices,
    ) -> Result<Self, MediaError> {
        if matches!(input, AudioIn::Port(_)) || matches!(output, AudioOut::Port(_)) {
            return Err(MediaError::Device {
                device: "audio switch".into(),
                reason: "it needs a real microphone and speaker, not another switch's port".into(),
            });
        }
        Ok(AudioSwitch {
            shared: Arc::new(Shared {
                devices: Mutex::new(Devices {
                    processing_applies: matches!(input, AudioIn::Device(_)),
                    input,
                    output,
                    mic: None,
                    speaker: None,
                    active: None,
                    call_waiting: None,
                    processing: ProcessingSettings::default(),
                    processor: None,
                    bridge: None,
                }),
                music,
                notices,
                clock: MediaClock::new(std::time::Instant::now()),
            }),
        })
    }

    /// The port of call `id`: start its media session with these two.
    pub fn port(&self, id: u64) -> (AudioIn, AudioOut) {
        let p = SwitchPort {
            id,
            shared: self.shared.clone(),
        };
        (AudioIn::Port(p.clone()), AudioOut::Port(p))
    }

    /// Gives the microphone and speaker to port `id` (None: to nobody; an id without a port
    /// here means nobody on this switch). Every other port gets hold music.
    pub fn set_active(&self, id: Option<u64>) {
        lock(&self.shared).active = id;
    }

    pub fn active(&self) -> Option<u64> {
        lock(&self.shared).active
    }

    /// Puts the user in a local conference with these ports (each hears all the others and
    /// the user; the microphone goes to all), or ends it (empty). Ports outside it hear hold
    /// music as usual; the active port should be none while a conference is on.
    pub fn set_conference(&self, members: &[u64]) {
        let mut d = lock(&self.shared);
        match (members.is_empty(), d.bridge.as_mut()) {
            (true, _) => d.bridge = None,
            (false, Some(b)) => b.set_members(members),
            (false, None) => d.bridge = Some(ConferenceBridge::new(members)),
        }
    }

    /// The ports in the conference (empty: none).
    pub fn conference(&self) -> Vec<u64> {
        lock(&self.shared)
            .bridge
            .as_ref()
            .map_or_else(Vec::new, ConferenceBridge::members)
    }

    /// Keeps port `id`'s voice (None: the user's microphone) out of the conference, or lets
    /// it back in; the party still hears everyone.
    pub fn set_conference_muted(&self, id: Option<u64>, muted: bool) {
        if let Some(b) = lock(&self.shared).bridge.as_mut() {
            b.set_muted(id.unwrap_or(ME), muted);
        }
    }

    /// How loud each conference party (None: the user) has been lately, in dBFS.
    pub fn conference_levels(&self) -> Vec<(Option<u64>, f32)> {
        let d = lock(&self.shared);
        let levels = d
            .bridge
            .as_ref()
            .map_or_else(Vec::new, ConferenceBridge::levels);
        levels
            .into_iter()
            .map(|(id, l)| ((id != ME).then_some(id), l))
            .collect()
    }

    /// Plays the call-waiting tone over the active call (another call rings) or stops it.
    pub fn set_call_waiting(&self, on: bool) {
        let mut d = lock(&self.shared);
        match (on, d.call_waiting.is_some()) {
            (true, false) => d.call_waiting = Some(CallWaitingTone::new()),
            (false, true) => d.call_waiting = None,
            _ => {}
        }
    }

    /// Switches voice processing parts on or off (from the next 10 ms on; a changed setting
    /// starts the echo canceller afresh).
    pub fn set_processing(&self, settings: ProcessingSettings) {
        let mut d = lock(&self.shared);
        if d.processing != settings {
            d.processing = settings;
            d.processor = None;
        }
    }

    pub fn processing(&self) -> ProcessingSettings {
        lock(&self.shared).processing
    }

    /// The microphone and speaker this switch was made for.
    pub fn endpoints(&self) -> (AudioIn, AudioOut) {
        let d = lock(&self.shared);
        (d.input.clone(), d.output.clone())
    }

    /// The media clock its ports' streams tick on.
    pub fn clock(&self) -> MediaClock {
        self.shared.clock
    }

    /// A handle that does not keep the devices open.
    pub fn downgrade(&self) -> WeakAudioSwitch {
        WeakAudioSwitch {
            shared: Arc::downgrade(&self.shared),
        }
    }
}

/// One call's place on an [`AudioSwitch`]; carried inside `AudioIn::Port` / `AudioOut::Port`.
#[derive(Clone)]
pub struct SwitchPort {
    id: u64,
    shared: Arc<Shared>,
}

impl SwitchPort {
    pub fn id(&self) -> u64 {
        self.id
    }
    /// The switch's media clock (its stream sends and plays on the grid every port shares).
    pub fn clock(&self) -> MediaClock {
        self.shared.clock
    }
}

impl fmt::Debug for SwitchPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SwitchPort({})", self.id)
    }
}

impl PartialEq for SwitchPort {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && Arc::ptr_eq(&self.shared, &other.shared)
    }
}

/// Opens the port's source at `rate`: the microphone while active, hold music otherwise.
pub(crate) fn open_port_source(
    port: &SwitchPort,
    rate: u32,
) -> Result<Box<dyn AudioSource>, MediaError> {
    let mic_rate = {
        let mut d = lock(&port.shared);
        if d.mic.is_none() {
            d.mic = Some(open_source_with(&d.input, rate, &port.shared.notices)?);
        }
        d.mic.as_ref().map(|m| m.rate()).unwrap_or(rate)
    };
    let src = PortSource {
        port: port.clone(),
        music: HoldMusicSource::open(&port.shared.music, mic_rate)?,
        rate: mic_rate,
    };
    if mic_rate == rate {
        Ok(Box::new(src))
    } else {
        Ok(Box::new(ResampledSource::new(Box::new(src), rate)?))
    }
}

/// Opens the port's sink at `rate`: the speaker while active, discarded otherwise.
pub(crate) fn open_port_sink(
    port: &SwitchPort,
    rate: u32,
) -> Result<Box<dyn AudioSink>, MediaError> {
    let speaker_rate = {
        let mut d = lock(&port.shared);
        if d.speaker.is_none() {
            d.speaker = Some(open_sink_with(&d.output, rate, &port.shared.notices)?);
        }
        d.speaker.as_ref().map(|s| s.rate()).unwrap_or(rate)
    };
    let sink = PortSink {
        port: port.clone(),
        rate: speaker_rate,
    };
    if speaker_rate == rate {
        Ok(Box::new(sink))
    } else {
        Ok(Box::new(ResampledSink::new(Box::new(sink), rate)?))
    }
}

struct PortSource {
    port: SwitchPort,
    music: HoldMusicSource,
    rate: u32,
}

impl AudioSource for PortSource {
    fn rate(&self) -> u32 {
        self.rate
    }
    fn read(&mut self, out: &mut [i16]) -> Result<(), MediaError> {
        {
            let mut d = lock(&self.port.shared);
            if d.conference_catch_up(self.port.id, &self.port.shared.clock)? {
                if let Some(b) = d.bridge.as_mut() {
                    b.pull(self.port.id, out);
                }
                return Ok(());
            }
            if d.active == Some(self.port.id) {
                if let Some(mic) = d.mic.as_mut() {
                    mic.read(out)?;
                    if let Some(p) = d.processor() {
                        p.capture(out);
                    }
                    return Ok(());
                }
            }
        }
        self.music.read(out)
    }
    fn ended(&self) -> bool {
        let d = lock(&self.port.shared);
        d.active == Some(self.port.id) && d.mic.as_ref().is_some_and(|m| m.ended())
    }
}

struct PortSink {
    port: SwitchPort,
    rate: u32,
}

impl AudioSink for PortSink {
    fn rate(&self) -> u32 {
        self.rate
    }
    fn write(&mut self, pcm: &[i16]) -> Result<(), MediaError> {
        let mut d = lock(&self.port.shared);
        if d.conference_catch_up(self.port.id, &self.port.shared.clock)? {
            if let Some(b) = d.bridge.as_mut() {
                b.push(self.port.id, pcm)?;
            }
            return Ok(());
        }
        if d.active == Some(self.port.id) && d.speaker.is_some() {
            let mut mixed;
            let mut played = pcm;
            if let Some(tone) = d.call_waiting.as_mut() {
                mixed = pcm.to_vec();
                tone.mix(&mut mixed, self.rate);
                played = &mixed;
            }
            if let Some(p) = d.processor() {
                p.render(played);
            }
            if let Some(speaker) = d.speaker.as_mut() {
                return speaker.write(played);
            }
        }
        Ok(())
    }
    // finish: the speaker is shared; it is finished when the last port is gone.
}

impl Drop for Shared {
    fn drop(&mut self) {
        let d = self.devices.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = d.speaker.as_mut() {
            let _ = s.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A microphone that counts up: sample k of the stream is k+1 (never 0).
    struct CountingMic(i16);
    impl AudioSource for CountingMic {
        fn rate(&self) -> u32 {
            8000
        }
        fn read(&mut self, out: &mut [i16]) -> Result<(), MediaError> {
            for o in out {
                self.0 = self.0.wrapping_add(1).max(1);
                *o = self.0;
            }
            Ok(())
        }
    }

    fn switch_with_counting_mic() -> AudioSwitch {
        let sw = AudioSwitch::new(AudioIn::Null, AudioOut::Null, HoldMusic::Silence).unwrap();
        lock(&sw.shared).mic = Some(Box::new(CountingMic(0)));
        sw
    }

    /// A speaker that keeps what it is given.
    struct Recorder(Arc<Mutex<Vec<i16>>>);
    impl AudioSink for Recorder {
        fn rate(&self) -> u32 {
            8000
        }
        fn write(&mut self, pcm: &[i16]) -> Result<(), MediaError> {
            self.0.lock().unwrap().extend_from_slice(pcm);
            Ok(())
        }
    }

    #[test]
    fn call_waiting_tone_is_heard_only_on_the_active_call_while_on() {
        let sw = AudioSwitch::new(AudioIn::Null, AudioOut::Null, HoldMusic::Silence).unwrap();
        let heard = Arc::new(Mutex::new(Vec::new()));
        lock(&sw.shared).speaker = Some(Box::new(Recorder(heard.clone())));
        let mut sinks: Vec<_> = (1..=2)
            .map(|id| match sw.port(id).1 {
                AudioOut::Port(p) => open_port_sink(&p, 8000).unwrap(),
                _ => unreachable!(),
            })
            .collect();
        sw.set_active(Some(1));
        let silence = vec![0i16; 160];
        let frames = |sinks: &mut Vec<Box<dyn AudioSink>>, n: usize| {
            for _ in 0..n {
                for s in sinks.iter_mut() {
                    s.write(&silence).unwrap();
                }
            }
        };
        frames(&mut sinks, 10);
        assert!(
            heard.lock().unwrap().iter().all(|&v| v == 0),
            "no tone before a call waits"
        );
        sw.set_call_waiting(true);
        frames(&mut sinks, 10); // 200 ms: the first beep
        let with_tone: Vec<i16> = heard.lock().unwrap()[1600..].to_vec();
        assert_eq!(
            with_tone.len(),
            1600,
            "only the active port reached the speaker"
        );
        assert!(
            with_tone.iter().any(|&v| v.abs() > 1000),
            "the beep is heard"
        );
        sw.set_call_waiting(false);
        frames(&mut sinks, 10);
        assert!(
            heard.lock().unwrap()[3200..].iter().all(|&v| v == 0),
            "the tone stops with the waiting call"
        );
    }

    #[test]
    fn microphone_samples_reach_only_the_active_port() {
        let sw = switch_with_counting_mic();
        let mut srcs: Vec<_> = (1..=3)
            .map(|id| match sw.port(id).0 {
                AudioIn::Port(p) => open_port_source(&p, 8000).unwrap(),
                _ => unreachable!(),
            })
            .collect();
        let mut seen: Vec<Vec<i16>> = vec![Vec::new(); 3];
        let mut frame = vec![0i16; 160];
        for step in 0..30 {
            sw.set_active(match step % 4 {
                3 => None,
                k => Some(k as u64 + 1),
            });
            // Every port reads every 20 ms, as the sessions do.
            for (i, s) in srcs.iter_mut().enumerate() {
                s.read(&mut frame).unwrap();
                let active = sw.active() == Some(i as u64 + 1);
                if active {
                    assert!(frame.iter().all(|&v| v != 0), "active port got the mic");
                } else {
                    assert!(
                        frame.iter().all(|&v| v == 0),
                        "port {} is parked but got mic samples",
                        i + 1
                    );
                }
                seen[i].extend_from_slice(&frame);
            }
        }
        // Each mic sample went to exactly one port: the non-zero samples of all ports,
        // merged, are the counting sequence without gaps or repeats.
        let mut all: Vec<i16> = seen.concat().into_iter().filter(|&v| v != 0).collect();
        all.sort_unstable();
        let n = all.len();
        assert_eq!(n, 160 * 23, "30 steps, 7 of them with no active port");
        all.dedup();
        assert_eq!(all.len(), n.min(32767), "no sample was delivered twice");
    }

    #[test]
    fn parked_ports_hear_hold_music_and_their_audio_is_discarded() {
        let dir = std::env::temp_dir().join(format!("hookflash-switch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("speaker.wav");
        let sw = AudioSwitch::new(
            AudioIn::Null,
            AudioOut::Wav(out.clone()),
            HoldMusic::Generated,
        )
        .unwrap();
        let (in1, out1) = sw.port(1);
        let (in2, out2) = sw.port(2);
        let (AudioIn::Port(p1), AudioOut::Port(q1), AudioIn::Port(p2), AudioOut::Port(q2)) =
            (in1, out1, in2, out2)
        else {
            unreachable!()
        };
        let mut s2 = open_port_source(&p2, 8000).unwrap();
        let mut k1 = open_port_sink(&q1, 8000).unwrap();
        let mut k2 = open_port_sink(&q2, 8000).unwrap();
        sw.set_active(Some(1));
        // Port 2 is parked: music, not the (silent) microphone.
        let mut f = vec![0i16; 4000];
        s2.read(&mut f).unwrap();
        assert!(
            f.iter().any(|&v| v.abs() > 1000),
            "hold music plays to the parked port"
        );
        k1.write(&[100; 160]).unwrap();
        k2.write(&[-100; 160]).unwrap(); // discarded
        sw.set_active(Some(2));
        k2.write(&[200; 160]).unwrap();
        drop((s2, k1, k2, p1, p2, q1, q2));
        drop(sw); // last handle: the speaker WAV is finalised
        let samples: Vec<i16> = hound::WavReader::open(&out)
            .unwrap()
            .samples::<i16>()
            .map(|s| s.unwrap())
            .collect();
        assert_eq!(samples.len(), 320);
        assert!(samples[..160].iter().all(|&v| v == 100));
        assert!(samples[160..].iter().all(|&v| v == 200));
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A room: the speaker's output comes back into the microphone 30 ms later at half level.
    #[derive(Clone, Default)]
    struct Room(Arc<Mutex<std::collections::VecDeque<i16>>>);
    struct RoomSpeaker(Room);
    impl AudioSink for RoomSpeaker {
        fn rate(&self) -> u32 {
            16000
        }
        fn write(&mut self, pcm: &[i16]) -> Result<(), MediaError> {
            self.0 .0.lock().unwrap().extend(pcm.iter().map(|&v| v / 2));
            Ok(())
        }
    }
    struct RoomMic(Room);
    impl AudioSource for RoomMic {
        fn rate(&self) -> u32 {
            16000
        }
        fn read(&mut self, out: &mut [i16]) -> Result<(), MediaError> {
            let mut q = self.0 .0.lock().unwrap();
            for o in out.iter_mut() {
                // 480 samples (30 ms) of acoustic delay.
                *o = if q.len() > 480 {
                    q.pop_front().unwrap_or(0)
                } else {
                    0
                };
            }
            Ok(())
        }
    }

    /// Runs `secs` of far-end noise through port 1 of a switch over the room (processing
    /// `None`: the default); returns what the call sent.
    fn room_call(processing: Option<ProcessingSettings>, secs: usize) -> Vec<i16> {
        let sw = AudioSwitch::new(AudioIn::Null, AudioOut::Null, HoldMusic::Silence).unwrap();
        let room = Room::default();
        {
            let mut d = lock(&sw.shared);
            d.mic = Some(Box::new(RoomMic(room.clone())));
            d.speaker = Some(Box::new(RoomSpeaker(room.clone())));
            d.processing_applies = true;
        }
        if let Some(p) = processing {
            sw.set_processing(p);
        }
        let (AudioIn::Port(p), AudioOut::Port(q)) = sw.port(1) else {
            unreachable!()
        };
        let mut src = open_port_source(&p, 16000).unwrap();
        let mut sink = open_port_sink(&q, 16000).unwrap();
        sw.set_active(Some(1));
        let mut seed = 12345u32;
        let mut sent = Vec::new();
        for _ in 0..secs * 50 {
            let far: Vec<i16> = (0..320)
                .map(|_| {
                    seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
                    ((seed >> 16) as i16) / 4
                })
                .collect();
            sink.write(&far).unwrap();
            let mut frame = vec![0i16; 320];
            src.read(&mut frame).unwrap();
            sent.extend_from_slice(&frame);
        }
        sent
    }

    fn power(x: &[i16]) -> f64 {
        x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64
    }

    #[test]
    fn the_active_call_sends_the_microphone_without_the_speakers_echo() {
        let raw = room_call(Some(ProcessingSettings::off()), 6);
        let sent = room_call(None, 6);
        assert!(power(&raw[raw.len() - 16000..]) > 1e5, "the room echoes");
        let last = 16000;
        let erle = 10.0
            * (power(&raw[raw.len() - last..]) / power(&sent[sent.len() - last..]).max(1e-3))
                .log10();
        assert!(erle > 20.0, "echo reduced by only {erle:.1} dB");
    }

    #[test]
    fn with_processing_off_the_microphone_passes_bit_exact() {
        let sent_off = room_call(Some(ProcessingSettings::off()), 2);
        // The same room without a processor in the path, read straight from the mic.
        let room = Room::default();
        let mut speaker = RoomSpeaker(room.clone());
        let mut mic = RoomMic(room.clone());
        let mut seed = 12345u32;
        let mut raw = Vec::new();
        for _ in 0..100 {
            let far: Vec<i16> = (0..320)
                .map(|_| {
                    seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
                    ((seed >> 16) as i16) / 4
                })
                .collect();
            speaker.write(&far).unwrap();
            let mut frame = vec![0i16; 320];
            mic.read(&mut frame).unwrap();
            raw.extend_from_slice(&frame);
        }
        assert!(power(&raw) > 1e5, "the room echoes");
        assert_eq!(sent_off, raw);
    }

    #[test]
    fn ports_at_another_rate_are_resampled_and_ports_compare_by_identity() {
        let sw = switch_with_counting_mic();
        let (a, _) = sw.port(1);
        let AudioIn::Port(p) = a.clone() else {
            unreachable!()
        };
        let s = open_port_source(&p, 48000).unwrap();
        assert_eq!(s.rate(), 48000);
        assert_eq!(a, sw.port(1).0);
        assert_ne!(a, sw.port(2).0);
        let other = switch_with_counting_mic();
        assert_ne!(a, other.port(1).0);
        assert!(AudioSwitch::new(a, AudioOut::Null, HoldMusic::Silence).is_err());
        let weak = sw.downgrade();
        drop((s, p));
        drop(sw);
        assert!(
            weak.upgrade().is_none(),
            "the switch closes with its last port"
        );
    }
}
