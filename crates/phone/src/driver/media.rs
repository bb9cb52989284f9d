//! The driver's media side: performs the core's `MediaOutput`s with `hookflash-media` — RTP
//! sockets, media sessions, the audio switches they plug into (one per microphone/speaker
//! pair), ringback tones — and feeds back what they report.

use super::{now_ms, Completion as DriverCompletion, MediaEventOf, Pending};
use crate::api::*;
use crate::core::io::{IceServerNames, Input, MediaInput, MediaOutput, RtpSocket};
use crate::core::PhoneCore;
use hookflash_media::rtp_endpoint::Gathered;
use hookflash_media::stream::{IceServers, TurnServer, TurnTransport};

use crate::turn_uri::TurnVia;
use hookflash_media::{
    AudioIn, AudioOut, AudioSwitch, DeviceNotices, HoldMusic, MediaError, MediaEvent, MediaSession,
    ProcessingSettings, Ringback, RtpEndpoint, StreamParams, WeakAudioSwitch,
};
use hookflash_sip::dtls_srtp::Fingerprint;
use hookflash_sip::ice::{self, IceDescription};
use hookflash_sip::sdes::Key;
use hookflash_sip::sdp::LocalKeys;
use std::collections::{HashMap, HashSet};
use std::task::Poll;
use tokio::sync::mpsc;

pub(super) enum Completion {
    Bound {
        id: CallId,
        result: Result<(RtpEndpoint, Gathered), MediaError>,
    },
    Ringback {
        id: CallId,
        result: Result<Ringback, String>,
    },
}

/// A call's running media and the switch it is plugged into (kept open while the call lives).
struct Running {
    session: MediaSession,
    switch: AudioSwitch,
}

pub(super) struct MediaIo {
    sockets: HashMap<CallId, RtpEndpoint>,
    running: HashMap<CallId, Running>,
    ringbacks: HashMap<CallId, Ringback>,
    /// Calls whose ringback tone is opening and still wanted.
    ringback_wanted: HashSet<CallId>,
    /// Sockets being bound for these calls (a Close meanwhile drops the socket when it comes).
    binding: HashSet<CallId>,
    events: Vec<(CallId, mpsc::UnboundedReceiver<MediaEvent>)>,
    switches: Vec<WeakAudioSwitch>,
    hold_music: HoldMusic,
    processing: VoiceProcessing,
    active: Option<CallId>,
    /// The local conference's calls (empty: none) and the parties kept out of its mix (None:
    /// the user's microphone), for switches opened meanwhile.
    conference: Vec<CallId>,
    conference_muted: HashSet<Option<CallId>>,
    call_waiting: bool,
    notices: DeviceNotices,
}

fn processing_settings(v: VoiceProcessing) -> ProcessingSettings {
    ProcessingSettings {
        echo_cancellation: v.echo_cancellation,
        noise_suppression: v.noise_suppression,
        gain_control: v.gain_control,
    }
}

pub(crate) fn endpoint_in(e: &AudioEndpoint) -> AudioIn {
    match e {
        AudioEndpoint::Null => AudioIn::Null,
        AudioEndpoint::Wav(p) => AudioIn::Wav(p.clone()),
        AudioEndpoint::Device(n) => AudioIn::Device(n.clone()),
        AudioEndpoint::Default => AudioIn::Device(None),
    }
}

/// The media crate's output for a front end's endpoint setting (`Default`: the system's).
pub(crate) fn endpoint_out(e: &AudioEndpoint) -> AudioOut {
    match e {
        AudioEndpoint::Null => AudioOut::Null,
        AudioEndpoint::Wav(p) => AudioOut::Wav(p.clone()),
        AudioEndpoint::Device(n) => AudioOut::Device(n.clone()),
        AudioEndpoint::Default => AudioOut::Device(None),
    }
}

impl MediaIo {
    pub(super) fn new(notices: DeviceNotices) -> MediaIo {
        MediaIo {
            sockets: HashMap::new(),
            running: HashMap::new(),
            ringbacks: HashMap::new(),
            ringback_wanted: HashSet::new(),
            binding: HashSet::new(),
            events: Vec::new(),
            switches: Vec::new(),
            hold_music: HoldMusic::Generated,
            processing: VoiceProcessing::default(),
            active: None,
            conference: Vec::new(),
            conference_muted: HashSet::new(),
            call_waiting: false,
            notices,
        }
    }

    /// The next event of any call's media (pending while there is none).
    pub(super) async fn next_event(&mut self) -> MediaEventOf {
        std::future::poll_fn(|cx| {
            let mut i = 0;
            while i < self.events.len() {
                match self.events[i].1.poll_recv(cx) {
                    Poll::Ready(Some(ev)) => return Poll::Ready((self.events[i].0, ev)),
                    Poll::Ready(None) => {
                        self.events.swap_remove(i);
                    }
                    Poll::Pending => i += 1,
                }
            }
            Poll::Pending
        })
        .await
    }

    fn switches(&mut self) -> Vec<AudioSwitch> {
        self.switches.retain(|w| w.upgrade().is_some());
        self.switches.iter().filter_map(|w| w.upgrade()).collect()
    }

    /// The audio switch for this microphone/speaker: the open one, or a new one (opening a
    /// sound card can take a moment).
    fn switch_for(
        &mut self,
        audio_in: &AudioEndpoint,
        audio_out: &AudioEndpoint,
    ) -> Result<AudioSwitch, String> {
        let (input, output) = (endpoint_in(audio_in), endpoint_out(audio_out));
        if let Some(sw) = self
            .switches()
            .into_iter()
            .find(|sw| sw.endpoints() == (input.clone(), output.clone()))
        {
            return Ok(sw);
        }
        let sw =
            AudioSwitch::with_notices(input, output, self.hold_music.clone(), self.notices.clone())
                .map_err(|e| e.to_string())?;
        sw.set_processing(processing_settings(self.processing));
        sw.set_active(self.active);
        sw.set_conference(&self.conference);
        for m in &self.conference_muted {
            sw.set_conference_muted(*m, true);
        }
        sw.set_call_waiting(self.call_waiting);
        self.switches.push(sw.downgrade());
        Ok(sw)
    }

    fn stop_ringback(&mut self, id: CallId) {
        self.ringback_wanted.remove(&id);
        if let Some(r) = self.ringbacks.remove(&id) {
            r.stop();
        }
    }

    pub(super) fn perform(
        &mut self,
        core: &mut PhoneCore,
        pending: &mut Pending,
        output: MediaOutput,
        events: &mut Vec<PhoneEvent>,
    ) {
        let feed =
            |core: &mut PhoneCore, input: MediaInput| core.handle(Input::Media(input), now_ms());
        match output {
            MediaOutput::Bind { id, ip, servers } => {
                self.binding.insert(id);
                pending.push(Box::pin(async move {
                    let result = match RtpEndpoint::bind(ip).await {
                        Ok(mut rtp) => {
                            let gathered = match servers {
                                Some(names) => gather(&mut rtp, &names).await,
                                None => Gathered::default(),
                            };
                            Ok((rtp, gathered))
                        }
                        Err(e) => Err(e),
                    };
                    DriverCompletion::Media(Completion::Bound { id, result })
                }));
            }
            MediaOutput::Start {
                id,
                params,
                audio_in,
                audio_out,
                muted,
            } => {
                self.stop_ringback(id);
                let result = self.start(id, params, &audio_in, &audio_out, muted);
                feed(core, MediaInput::Started { id, result });
            }
            MediaOutput::Update { id, params } => {
                if let Some(r) = self.running.get(&id) {
                    r.session.update(params);
                }
            }
            MediaOutput::Mute { id, muted } => {
                if let Some(r) = self.running.get(&id) {
                    r.session.set_mute(muted);
                }
            }
            MediaOutput::SendDtmf { id, digits } => {
                if let Some(r) = self.running.get(&id) {
                    for d in digits.chars() {
                        if let Err(e) = r.session.send_dtmf(d) {
                            events.push(PhoneEvent::Warning {
                                message: format!("DTMF on call {id}: {e}"),
                            });
                            break;
                        }
                    }
                }
            }
            MediaOutput::Ringback { id, out } => {
                // A WAV "speaker" that an open switch is recording into would be truncated by a
                // second writer: the ringback is left out of the recording instead.
                if let AudioEndpoint::Wav(path) = &out {
                    if self
                        .switches()
                        .iter()
                        .any(|sw| matches!(sw.endpoints().1, AudioOut::Wav(ref p) if p == path))
                    {
                        tracing::debug!(
                            "call {id}: no ringback into {}, which a call is recording into",
                            path.display()
                        );
                        return;
                    }
                }
                self.ringback_wanted.insert(id);
                let notices = self.notices.clone();
                // Opening a sound card can take a second or two: off the driver's task.
                pending.push(Box::pin(async move {
                    let result = tokio::task::spawn_blocking(move || {
                        Ringback::start(endpoint_out(&out), &notices)
                    })
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r.map_err(|e| e.to_string()));
                    DriverCompletion::Media(Completion::Ringback { id, result })
                }));
            }
            MediaOutput::Close { id } => {
                self.stop_ringback(id);
                self.binding.remove(&id);
                self.sockets.remove(&id);
                let stats = self.running.remove(&id).map(|r| {
                    let stats = r.session.stats();
                    pending.push(Box::pin(async move {
                        r.session.stop().await;
                        drop(r.switch);
                        DriverCompletion::Nothing
                    }));
                    stats
                });
                feed(core, MediaInput::Closed { id, stats });
            }
            MediaOutput::Measure { id } => {
                if let Some(r) = self.running.get(&id) {
                    let stats = r.session.stats();
                    feed(core, MediaInput::Measured { id, stats });
                }
            }
            MediaOutput::Route { active } => {
                self.active = active;
                for sw in self.switches() {
                    sw.set_active(active);
                }
            }
            MediaOutput::Conference { members } => {
                self.conference = members;
                for sw in self.switches() {
                    sw.set_conference(&self.conference);
                    for m in &self.conference_muted {
                        sw.set_conference_muted(*m, true);
                    }
                }
            }
            MediaOutput::ConferenceMute { id, muted } => {
                if muted {
                    self.conference_muted.insert(id);
                } else {
                    self.conference_muted.remove(&id);
                }
                for sw in self.switches() {
                    sw.set_conference_muted(id, muted);
                }
            }
            MediaOutput::MeasureConference => {
                let levels = self
                    .switches()
                    .iter()
                    .map(|sw| sw.conference_levels())
                    .find(|l| !l.is_empty())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(call_id, dbfs)| PartyLevel { call_id, dbfs })
                    .collect();
                feed(core, MediaInput::ConferenceLevels { levels });
            }
            MediaOutput::CallWaiting(on) => {
                self.call_waiting = on;
                for sw in self.switches() {
                    sw.set_call_waiting(on);
                }
            }
            MediaOutput::HoldMusic(music) => self.hold_music = music,
            MediaOutput::VoiceProcessing(v) => {
                self.processing = v;
                for sw in self.switches() {
                    sw.set_processing(processing_settings(v));
                }
            }
        }
    }

    fn start(
        &mut self,
        id: CallId,
        params: StreamParams,
        audio_in: &AudioEndpoint,
        audio_out: &AudioEndpoint,
        muted: bool,
    ) -> Result<(), String> {
        if let Some(r) = self.running.get(&id) {
            r.session.update(params);
            return Ok(());
        }
        let Some(rtp) = self.sockets.remove(&id) else {
            return Err("no RTP socket for this call".into());
        };
        let switch = self.switch_for(audio_in, audio_out)?;
        let (port_in, port_out) = switch.port(id);
        let (session, events) =
            MediaSession::start(rtp, params, port_in, port_out).map_err(|e| e.to_string())?;
        session.set_mute(muted);
        self.events.push((id, events));
        self.running.insert(id, Running { session, switch });
        Ok(())
    }

    pub(super) fn complete(&mut self, core: &mut PhoneCore, done: Completion) {
        match done {
            Completion::Bound { id, result } => {
                if !self.binding.remove(&id) {
                    return; // closed meanwhile
                }
                let mut problems = Vec::new();
                let result = match result {
                    Ok((rtp, gathered)) => {
                        let (local, rtcp) = (rtp.local_addr(), rtp.rtcp_local_addr());
                        self.sockets.insert(id, rtp);
                        let keys = LocalKeys {
                            sdes: fresh_srtp_key(),
                            fingerprint: dtls_fingerprint(),
                            ice: local_ice(local, rtcp, &gathered),
                        };
                        problems = gathered.problems;
                        Ok(RtpSocket {
                            port: local.port(),
                            keys,
                        })
                    }
                    Err(e) => Err(e.to_string()),
                };
                core.handle(Input::Media(MediaInput::Bound { id, result }), now_ms());
                // The call goes on with the candidates it has; the user learns why one is missing.
                for why in problems {
                    let event = MediaEvent::Warning(format!(
                        "the call goes on without a public or relayed ICE candidate: {why}"
                    ));
                    core.handle(Input::Media(MediaInput::Event { id, event }), now_ms());
                }
            }
            Completion::Ringback { id, result } => match result {
                // Kept only if the call still rings without media by now (the 200 OK may have
                // arrived meanwhile).
                Ok(r) if self.ringback_wanted.remove(&id) && !self.running.contains_key(&id) => {
                    self.ringbacks.insert(id, r);
                }
                Ok(r) => r.stop(),
                Err(e) => {
                    if self.ringback_wanted.remove(&id) {
                        core.handle(
                            Input::Media(MediaInput::Event {
                                id,
                                event: MediaEvent::Warning(format!("no ringback tone: {e}")),
                            }),
                            now_ms(),
                        );
                    }
                }
            },
        }
    }
}

/// The phone's DTLS certificate fingerprint (made at first use); `None`, said once in the log,
/// when no certificate can be made (DTLS-SRTP offers are then refused with that reason).
fn dtls_fingerprint() -> Option<Fingerprint> {
    match hookflash_media::stream::dtls_identity() {
        Ok(id) => Some(Fingerprint {
            hash: id.fingerprint().hash.clone(),
            value: id.fingerprint().value.clone(),
        }),
        Err(e) => {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| tracing::warn!("{e}"));
            None
        }
    }
}

/// How long a call waits for the STUN/TURN servers' answers before it goes on without them.
const GATHERING_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

/// Asks the account's STUN/TURN servers (names resolved here) for the sockets' public and
/// relayed addresses.
async fn gather(rtp: &mut RtpEndpoint, names: &IceServerNames) -> Gathered {
    let mut problems = Vec::new();
    let mut servers = IceServers::default();
    if let Some(name) = &names.stun {
        match resolve(name, "STUN").await {
            Ok(addr) => servers.stun = Some(addr),
            Err(e) => problems.push(e),
        }
    }
    if let Some(t) = &names.turn {
        match turn_server(t, names.tls_ca_file.as_deref()).await {
            Ok(server) => servers.turn = Some(server),
            Err(e) => problems.push(e),
        }
    }
    let mut gathered = if servers.is_empty() {
        Gathered::default()
    } else {
        rtp.gather(&servers, GATHERING_BUDGET).await
    };
    gathered.problems.splice(0..0, problems);
    gathered
}

/// The account's TURN server, its name resolved, with how it is reached: UDP, TCP, or TLS
/// trusting the system's roots and the account's CA file.
async fn turn_server(
    t: &crate::api::TurnConfig,
    ca_file: Option<&std::path::Path>,
) -> Result<TurnServer, String> {
    let uri = crate::turn_uri::parse(&t.server)?;
    let addr = resolve(&uri.authority(), "TURN").await?;
    let transport = match uri.via {
        TurnVia::Udp => TurnTransport::Udp,
        TurnVia::Tcp => TurnTransport::Tcp,
        TurnVia::Tls => {
            let extra = match ca_file {
                Some(p) => Some(
                    std::fs::read(p)
                        .map_err(|e| format!("TLS CA file: cannot read {}: {e}", p.display()))?,
                ),
                None => None,
            };
            TurnTransport::Tls {
                name: uri.host.clone(),
                config: hookflash_sip::trust::client_config(extra.as_deref())?,
                explain: |server, detail| {
                    hookflash_sip::trust::explain_failure(server, detail, false)
                },
            }
        }
    };
    Ok(TurnServer {
        addr,
        username: t.username.clone(),
        password: t.password.clone(),
        transport,
    })
}

/// What the account's STUN/TURN servers say of a media socket on `ip` (for `hookflash-cli
/// check`): its public address, its relayed one, what failed. The allocation is given back.
pub(crate) async fn probe_servers(
    names: &IceServerNames,
    ip: std::net::IpAddr,
) -> Result<Gathered, String> {
    let mut rtp = RtpEndpoint::bind(ip).await.map_err(|e| e.to_string())?;
    let gathered = gather(&mut rtp, names).await;
    rtp.release();
    Ok(gathered)
}

/// `host`, `host:port` or `[v6]:port` (port 3478, RFC 8489's), with an optional `stun:`/`turn:`
/// scheme, to the IPv4 address it names first (our sockets are IPv4).
async fn resolve(name: &str, what: &str) -> Result<std::net::SocketAddr, String> {
    let bare = name
        .trim()
        .trim_start_matches("stun:")
        .trim_start_matches("turn:")
        .trim_start_matches("//");
    let with_port = if bare.parse::<std::net::SocketAddr>().is_ok()
        || bare
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.contains(':') && p.parse::<u16>().is_ok())
    {
        bare.to_string()
    } else {
        format!("{bare}:3478")
    };
    let addrs = tokio::net::lookup_host(&with_port)
        .await
        .map_err(|e| format!("{what} server \"{name}\": its name cannot be resolved ({e})"))?;
    let all: Vec<_> = addrs.collect();
    all.iter()
        .find(|a| a.is_ipv4())
        .copied()
        .ok_or_else(|| format!("{what} server \"{name}\": no IPv4 address"))
}

/// The call sockets' ICE: fresh credentials and their candidates, RTP (component 1) and RTCP
/// (2, used when the far end does not mux): host, and what the servers told us (the address a
/// NAT gives the socket, a relayed address on the TURN server); none on sockets bound to the
/// unspecified address, which names no interface.
fn local_ice(
    local: std::net::SocketAddr,
    rtcp: std::net::SocketAddr,
    gathered: &Gathered,
) -> Option<IceDescription> {
    use ice::CandidateKind::{Host, Relayed, ServerReflexive};
    use rand::distr::{Alphanumeric, SampleString};
    if local.ip().is_unspecified() {
        return None;
    }
    let mut rng = rand::rng();
    let credentials = ice::Credentials {
        ufrag: Alphanumeric.sample_string(&mut rng, 8),
        pwd: Alphanumeric.sample_string(&mut rng, 24),
    };
    let mut candidates = Vec::new();
    for (component, base, found) in [(1, local, gathered.rtp), (2, rtcp, gathered.rtcp)] {
        candidates.push(ice::Candidate::ours_for(component, Host, base, None));
        // A reflexive address equal to our own: no NAT, nothing new to offer.
        if let Some(public) = found.reflexive.filter(|a| *a != base) {
            candidates.push(ice::Candidate::ours_for(
                component,
                ServerReflexive,
                public,
                Some(base),
            ));
        }
        if let Some(relayed) = found.relayed {
            candidates.push(ice::Candidate::ours_for(
                component,
                Relayed,
                relayed,
                Some(found.reflexive.unwrap_or(base)),
            ));
        }
    }
    Some(IceDescription {
        credentials,
        candidates,
        lite: false,
    })
}

/// A new SRTP master key and salt from the operating system's random source (`rand`'s thread
/// generator, seeded by the OS and reseeded: fit for keys).
fn fresh_srtp_key() -> Key {
    use rand::RngExt;
    Key(rand::rng().random())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookflash_media::rtp_endpoint::Found;
    use std::net::SocketAddr;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// Behind a NAT with a TURN server: each component offers its host address, the address the
    /// NAT gave it (related to the host one) and its relayed address (related to the public one).
    #[test]
    fn candidates_of_each_kind_from_what_the_servers_said() {
        let gathered = Gathered {
            rtp: Found {
                reflexive: Some(addr("203.0.113.7:40000")),
                relayed: Some(addr("198.51.100.1:50000")),
            },
            rtcp: Found {
                reflexive: Some(addr("203.0.113.7:40001")),
                relayed: None,
            },
            problems: vec![],
        };
        let ice = local_ice(addr("10.0.0.2:4000"), addr("10.0.0.2:4001"), &gathered).unwrap();
        let lines: Vec<String> = ice.candidates.iter().map(|c| c.to_attribute()).collect();
        let has = |component: u16, what: &str| {
            lines
                .iter()
                .any(|l| l.split(' ').nth(1) == Some(&component.to_string()) && l.contains(what))
        };
        assert!(has(1, "10.0.0.2 4000 typ host"), "{lines:?}");
        assert!(
            has(1, "203.0.113.7 40000 typ srflx raddr 10.0.0.2 rport 4000"),
            "{lines:?}"
        );
        assert!(
            has(
                1,
                "198.51.100.1 50000 typ relay raddr 203.0.113.7 rport 40000"
            ),
            "{lines:?}"
        );
        assert!(has(2, "203.0.113.7 40001 typ srflx"), "{lines:?}");
        assert_eq!(lines.len(), 5, "{lines:?}");
        // Host first: the highest priority.
        assert!(
            ice.candidates[0].priority > ice.candidates[1].priority
                && ice.candidates[1].priority > ice.candidates[2].priority
        );
    }

    /// No NAT: the STUN server sees our own address, which is not offered twice.
    #[test]
    fn a_reflexive_address_equal_to_ours_is_not_offered() {
        let gathered = Gathered {
            rtp: Found {
                reflexive: Some(addr("10.0.0.2:4000")),
                relayed: None,
            },
            ..Default::default()
        };
        let ice = local_ice(addr("10.0.0.2:4000"), addr("10.0.0.2:4001"), &gathered).unwrap();
        assert!(
            ice.candidates
                .iter()
                .all(|c| c.kind == ice::CandidateKind::Host),
            "{:?}",
            ice.candidates
        );
    }

    #[tokio::test]
    async fn server_names_take_the_stun_port_by_default_and_bad_ones_are_named() {
        assert_eq!(
            resolve("127.0.0.1", "STUN").await,
            Ok(addr("127.0.0.1:3478"))
        );
        assert_eq!(
            resolve("turn:127.0.0.1:5349", "TURN").await,
            Ok(addr("127.0.0.1:5349"))
        );
        assert_eq!(
            resolve("stun:localhost", "STUN").await,
            Ok(addr("127.0.0.1:3478"))
        );
        let e = resolve("no-such-host.invalid", "TURN").await.unwrap_err();
        assert!(
            e.starts_with("TURN server \"no-such-host.invalid\": its name cannot be resolved"),
            "{e}"
        );
    }
}
