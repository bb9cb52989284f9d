//! Tells the user when a sound card disappears mid-call or comes back: the media crate's
//! [`DeviceNotice`](hookflash_media::DeviceNotice)s become `PhoneEvent::Warning`s.

use crate::api::PhoneEvent;
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;
use tokio::sync::broadcast;

/// Forwards device notices to `events` until nobody listens any more.
pub(crate) fn forward(events: broadcast::Sender<PhoneEvent>) {
    let notices = hookflash_media::subscribe_device_notices();
    let spawned = std::thread::Builder::new().name("device notices".into()).spawn(move || loop {
        match notices.recv_timeout(Duration::from_secs(1)) {
            Ok(n) => {
                let _ = events.send(PhoneEvent::Warning { message: n.message() });
            }
            Err(RecvTimeoutError::Timeout) if events.receiver_count() > 0 => {}
            Err(_) => break,
        }
    });
    if let Err(e) = spawned {
        tracing::warn!("device change warnings are off: {e}");
    }
}
