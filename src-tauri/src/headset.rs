//! The USB headset's buttons and lights in the app (`hookflash-headset` finds the headset and
//! reads it). The talk button answers the call ringing longest and hangs up the call in
//! progress, the mute button mutes, flash declines a ringing call; the headset's ring LED shows
//! a ringing call, its off-hook LED a call in progress, its mute LED a muted one. The decisions
//! are plain functions; the buttons go through the same actions as the global hotkeys.

use crate::hotkeys::Hotkey;
use hookflash_headset::{Lights, Press};
use hookflash_phone::{CallInfo, CallState, Direction};

/// What a press of the headset's `press` does, given the calls (as a hotkey would).
pub fn action(press: Press, calls: &[CallInfo]) -> Option<Hotkey> {
    let ringing = calls
        .iter()
        .any(|c| c.direction == Direction::Incoming && c.state == CallState::Ringing);
    let in_progress = crate::tray::call_to_hang_up(calls.iter()).is_some();
    match press {
        Press::OffHook if ringing => Some(Hotkey::Answer),
        Press::OnHook if in_progress => Some(Hotkey::HangUp),
        // A headset out of step with the phone (its call ended elsewhere) reports on-hook at
        // the next press: while a call rings, that press means answer.
        Press::OnHook if ringing => Some(Hotkey::Answer),
        Press::Mute if in_progress => Some(Hotkey::Mute),
        Press::Flash if ringing && !in_progress => Some(Hotkey::HangUp),
        _ => None,
    }
}

/// The lights for the calls: ring while a call rings, off-hook while one is answered, mute
/// while the call in progress is muted (or the user is muted in a conference).
pub fn lights(calls: &[CallInfo], conference_muted: bool) -> Lights {
    let answered = calls.iter().filter(|c| c.state == CallState::Answered);
    Lights {
        ring: calls
            .iter()
            .any(|c| c.direction == Direction::Incoming && c.state == CallState::Ringing),
        off_hook: answered.clone().next().is_some(),
        mute: answered
            .filter(|c| c.active)
            .any(|c| c.muted || (c.conference && conference_muted)),
    }
}

/// The headset watch in the running app.
pub mod adapter {
    use super::*;
    use crate::session::Session;
    use hookflash_headset::{HeadsetWatch, Notice};
    use hookflash_phone::PhoneEvent;
    use std::sync::atomic::Ordering;
    use tauri::{AppHandle, Manager};

    /// The app's watch (kept for as long as the app runs).
    pub struct HeadsetState(pub HeadsetWatch);

    /// Starts watching for a headset.
    pub fn install(app: &AppHandle) {
        let handle = app.clone();
        let watch = hookflash_headset::watch(move |notice| match notice {
            Notice::Connected(name) => {
                tracing::info!("headset {name}: its buttons answer, hang up and mute")
            }
            Notice::Pressed(press) => pressed(&handle, press),
            Notice::Disconnected(name) => crate::events::warn(
                &handle,
                format!("the headset {name} was disconnected: its buttons no longer answer calls"),
            ),
            Notice::Unusable(why) => crate::events::warn(&handle, why),
        });
        app.manage(HeadsetState(watch));
    }

    fn pressed(app: &AppHandle, press: Press) {
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let calls = match app.state::<Session>().phone().await {
                Ok(phone) => phone.calls(),
                Err(_) => return,
            };
            let which = action(press, &calls);
            tracing::info!("headset {press:?}: {which:?}");
            if let Some(which) = which {
                crate::hotkeys::adapter::press(&app, which);
            }
        });
    }

    /// Keeps the lights with the calls.
    pub fn on_event(app: &AppHandle, event: &PhoneEvent) {
        if !matches!(
            event,
            PhoneEvent::IncomingCall { .. }
                | PhoneEvent::CallUpdated { .. }
                | PhoneEvent::CallEnded { .. }
                | PhoneEvent::Conference { .. }
        ) {
            return;
        }
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let Ok(phone) = app.state::<Session>().phone().await else {
                return;
            };
            let muted = app
                .state::<crate::hotkeys::adapter::HotkeyState>()
                .conference_muted
                .load(Ordering::Relaxed);
            if let Some(state) = app.try_state::<HeadsetState>() {
                state.0.show(lights(&phone.calls(), muted));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookflash_phone::CallId;

    fn call(id: CallId, direction: Direction, state: CallState) -> CallInfo {
        CallInfo::new(
            id,
            direction,
            state,
            format!("sip:{id}@example.com"),
            "sip:me@example.com",
            id as i64,
        )
    }

    fn talking(id: CallId) -> CallInfo {
        CallInfo {
            active: true,
            ..call(id, Direction::Incoming, CallState::Answered)
        }
    }

    #[test]
    fn the_talk_button_answers_and_hangs_up() {
        let ringing = [call(1, Direction::Incoming, CallState::Ringing)];
        assert_eq!(action(Press::OffHook, &ringing), Some(Hotkey::Answer));
        assert_eq!(
            action(Press::OnHook, &ringing),
            Some(Hotkey::Answer),
            "a headset out of step"
        );
        assert_eq!(action(Press::OnHook, &[talking(2)]), Some(Hotkey::HangUp));
        assert_eq!(
            action(Press::OffHook, &[]),
            None,
            "nothing rings: nothing happens"
        );
        assert_eq!(action(Press::OnHook, &[]), None);
    }

    #[test]
    fn mute_and_flash() {
        assert_eq!(action(Press::Mute, &[talking(2)]), Some(Hotkey::Mute));
        assert_eq!(action(Press::Mute, &[]), None);
        let ringing = [call(1, Direction::Incoming, CallState::Ringing)];
        assert_eq!(
            action(Press::Flash, &ringing),
            Some(Hotkey::HangUp),
            "declines"
        );
        let waiting = [talking(2), call(3, Direction::Incoming, CallState::Ringing)];
        assert_eq!(
            action(Press::Flash, &waiting),
            None,
            "never hangs up the call in progress"
        );
    }

    #[test]
    fn the_lights_follow_the_calls() {
        assert_eq!(lights(&[], false), Lights::default());
        let ringing = call(1, Direction::Incoming, CallState::Ringing);
        assert_eq!(
            lights(std::slice::from_ref(&ringing), false),
            Lights {
                ring: true,
                ..Default::default()
            }
        );
        let muted = CallInfo {
            muted: true,
            ..talking(2)
        };
        assert_eq!(
            lights(&[muted, ringing], false),
            Lights {
                ring: true,
                off_hook: true,
                mute: true
            }
        );
        let conference = CallInfo {
            conference: true,
            ..talking(4)
        };
        assert!(lights(std::slice::from_ref(&conference), true).mute);
        assert!(!lights(&[conference], false).mute);
        let dialling = call(5, Direction::Outgoing, CallState::Ringing);
        assert_eq!(
            lights(&[dialling], false),
            Lights::default(),
            "our own call ringing out lights nothing"
        );
    }
}
