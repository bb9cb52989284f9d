//! Sound devices in settings: the device list for the pickers (microphone, speaker, ringer),
//! the choice saved in the profile's `[audio]`, and the ringer that plays incoming calls'
//! ringtone on the chosen ringer device.

use crate::config::{audio_endpoint, ENV_AUDIO_OUT};
use crate::session::Session;
use hookflash_phone::{AudioDevices, AudioEndpoint, Phone, Ringer};
use serde::Serialize;
use tauri::State;

/// One device as the pickers show it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct DeviceView {
    pub id: String,
    pub name: String,
    pub is_default: bool,
}

/// Capture and playback devices.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct DevicesView {
    pub inputs: Vec<DeviceView>,
    pub outputs: Vec<DeviceView>,
}

fn view(d: hookflash_phone::DeviceInfo) -> DeviceView {
    DeviceView {
        id: d.id,
        name: d.name,
        is_default: d.is_default,
    }
}

/// Where the ringer rings: the chosen ringer device, unless `HOOKFLASH_AUDIO_OUT` overrides
/// the audio (tests): `null` keeps it silent, and a WAV file belongs to the calls.
fn ringer_endpoint(devices: &AudioDevices, env_out: Option<String>) -> AudioEndpoint {
    match env_out {
        Some(v) => match audio_endpoint(Some(v)) {
            AudioEndpoint::Wav(_) => AudioEndpoint::Null,
            other => other,
        },
        None => devices.ringer_endpoint(),
    }
}

/// Starts ringing for `phone`'s incoming calls on the chosen ringer device.
pub fn start_ringer(phone: &Phone, devices: &AudioDevices) -> Ringer {
    Ringer::start(
        phone,
        ringer_endpoint(devices, std::env::var(ENV_AUDIO_OUT).ok()),
    )
}

/// The sound devices of this computer, defaults marked.
#[tauri::command]
pub async fn audio_devices() -> Result<DevicesView, String> {
    let list = tauri::async_runtime::spawn_blocking(hookflash_phone::list_devices)
        .await
        .map_err(|e| format!("cannot list audio devices: {e}"))?
        .map_err(|e| e.to_string())?;
    Ok(DevicesView {
        inputs: list.inputs.into_iter().map(view).collect(),
        outputs: list.outputs.into_iter().map(view).collect(),
    })
}

/// The microphone, speaker and ringer chosen in the profile (unset: system default).
#[tauri::command]
pub async fn audio_settings(session: State<'_, Session>) -> Result<AudioDevices, String> {
    Ok(session.audio_devices().await)
}

/// Saves the chosen devices; calls from now on use them, the ringer moves at once.
#[tauri::command]
pub async fn save_audio_settings(
    session: State<'_, Session>,
    devices: AudioDevices,
) -> Result<AudioDevices, String> {
    session.save_audio_devices(devices).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ringer_follows_the_choice_unless_the_env_overrides_audio() {
        let chosen = AudioDevices {
            ringer: Some("hw:CARD=PCH,DEV=0".into()),
            ..Default::default()
        };
        assert_eq!(
            ringer_endpoint(&chosen, None),
            AudioEndpoint::Device(Some("hw:CARD=PCH,DEV=0".into()))
        );
        assert_eq!(
            ringer_endpoint(&AudioDevices::default(), None),
            AudioEndpoint::Default
        );
        assert_eq!(
            ringer_endpoint(&chosen, Some("null".into())),
            AudioEndpoint::Null
        );
        assert_eq!(
            ringer_endpoint(&chosen, Some("/tmp/rx.wav".into())),
            AudioEndpoint::Null
        );
    }
}
