//! Rings for incoming calls on the ringer device, which may differ from the call's speaker.
//!
//! A front end starts one [`Ringer`] per phone with the device the user chose (the app: the
//! profile's `[audio] ringer`, else the system default output). It follows the event stream:
//! it rings while an incoming call is ringing and no call is connected (with a call connected
//! the engine plays the quieter call-waiting tone in the call instead), and stops as soon as
//! the call is answered, declined or gone. [`RingState`] is that decision, tested on its own.

use crate::api::{AudioEndpoint, CallId, CallState, Direction, PhoneEvent};
use hookflash_media::{AudioOut, Ringtone};
use std::collections::HashSet;
use tokio::sync::broadcast;

/// Which calls ring and which are connected, from the events.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RingState {
    ringing: HashSet<CallId>,
    connected: HashSet<CallId>,
}

impl RingState {
    /// Updates the state with one event.
    pub fn on_event(&mut self, ev: &PhoneEvent) {
        let call = match ev {
            PhoneEvent::IncomingCall { call } | PhoneEvent::CallUpdated { call } => call,
            PhoneEvent::CallEnded { call, .. } => {
                self.ringing.remove(&call.id);
                self.connected.remove(&call.id);
                return;
            }
            _ => return,
        };
        self.ringing.remove(&call.id);
        self.connected.remove(&call.id);
        match call.state {
            CallState::Ringing if call.direction == Direction::Incoming => {
                self.ringing.insert(call.id);
            }
            CallState::Answered => {
                self.connected.insert(call.id);
            }
            _ => {}
        }
    }

    /// True while the ringtone should sound.
    pub fn should_ring(&self) -> bool {
        !self.ringing.is_empty() && self.connected.is_empty()
    }
}

/// Rings on a device while incoming calls ring; stops when dropped.
pub struct Ringer {
    thread: Option<std::thread::JoinHandle<()>>,
    /// Wakes the thread to end (it sleeps on the event stream otherwise, costing nothing idle).
    stop: std::sync::Arc<tokio::sync::Notify>,
}

/// The ringer device for an endpoint setting (`Default`: the system's default output).
fn ringer_output(device: &AudioEndpoint) -> AudioOut {
    crate::driver::endpoint_out(device)
}

impl Ringer {
    /// Starts following `phone`'s events, ringing on `device`; a ringer device that goes away
    /// is told on that phone's event stream.
    pub fn start(phone: &crate::Phone, device: AudioEndpoint) -> Ringer {
        let mut events = phone.subscribe();
        let notices = phone.device_notices();
        let stop = std::sync::Arc::new(tokio::sync::Notify::new());
        let stop2 = stop.clone();
        let output = ringer_output(&device);
        let thread = std::thread::Builder::new()
            .name("ringer".into())
            .spawn(move || {
                let mut state = RingState::default();
                let mut tone: Option<Ringtone> = None;
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build();
                let Ok(rt) = rt else { return };
                loop {
                    let next = rt.block_on(async {
                        tokio::select! {
                            event = events.recv() => Some(event),
                            () = stop2.notified() => None,
                        }
                    });
                    match next {
                        None => break,
                        Some(Ok(ev)) => state.on_event(&ev),
                        Some(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                        Some(Err(broadcast::error::RecvError::Closed)) => break,
                    }
                    match (state.should_ring(), tone.is_some()) {
                        (true, false) => match Ringtone::start(output.clone(), &notices) {
                            Ok(t) => tone = Some(t),
                            Err(e) => tracing::warn!("cannot ring: {e}"),
                        },
                        (false, true) => {
                            if let Some(t) = tone.take() {
                                t.stop();
                            }
                        }
                        _ => {}
                    }
                }
                if let Some(t) = tone.take() {
                    t.stop();
                }
            })
            .ok();
        Ringer { thread, stop }
    }
}

impl Drop for Ringer {
    fn drop(&mut self) {
        // A permit is kept if the thread is not waiting yet: it ends at its next wait.
        self.stop.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::CallInfo;

    fn call(id: CallId, direction: Direction, state: CallState) -> CallInfo {
        let mut c: CallInfo = serde_json::from_value(serde_json::json!({
            "id": id, "direction": "incoming", "state": "ringing", "remote_uri": "sip:bob@example.com",
            "remote_display_name": null, "codec": null, "muted": false, "started_at_ms": 0, "answered_at_ms": null
        }))
        .expect("a minimal CallInfo");
        c.direction = direction;
        c.state = state;
        c
    }

    #[test]
    fn rings_while_an_incoming_call_rings_and_stops_when_answered() {
        let mut s = RingState::default();
        assert!(!s.should_ring());
        s.on_event(&PhoneEvent::IncomingCall {
            call: call(1, Direction::Incoming, CallState::Ringing),
        });
        assert!(s.should_ring());
        s.on_event(&PhoneEvent::CallUpdated {
            call: call(1, Direction::Incoming, CallState::Answered),
        });
        assert!(!s.should_ring());
    }

    #[test]
    fn an_outgoing_call_ringing_there_does_not_ring_here() {
        let mut s = RingState::default();
        s.on_event(&PhoneEvent::CallUpdated {
            call: call(2, Direction::Outgoing, CallState::Ringing),
        });
        assert!(!s.should_ring());
    }

    #[test]
    fn call_waiting_does_not_ring_over_a_connected_call_and_ends_stop_ringing() {
        let mut s = RingState::default();
        s.on_event(&PhoneEvent::CallUpdated {
            call: call(1, Direction::Outgoing, CallState::Answered),
        });
        s.on_event(&PhoneEvent::IncomingCall {
            call: call(2, Direction::Incoming, CallState::Ringing),
        });
        assert!(
            !s.should_ring(),
            "the engine plays the call-waiting tone instead"
        );
        s.on_event(&PhoneEvent::CallEnded {
            call: call(1, Direction::Outgoing, CallState::Ended),
            reason: crate::api::EndReason::LocalHangup,
            message: String::new(),
        });
        assert!(s.should_ring(), "the waiting call now rings");
        s.on_event(&PhoneEvent::CallEnded {
            call: call(2, Direction::Incoming, CallState::Ended),
            reason: crate::api::EndReason::RemoteHangup,
            message: String::new(),
        });
        assert!(!s.should_ring());
    }
}
