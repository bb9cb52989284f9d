//! The headset adapter: one thread that looks for a USB telephony headset with hidapi (every
//! 2 s while there is none), reads its reports into [`Headset`], says what was pressed, writes
//! the lights the phone asks for, and notices the headset leave (then looks again). A device it
//! cannot open (no permission: on Linux the udev rule installed with the package grants it) or
//! whose reports it cannot read is said once and left alone.

use std::collections::HashSet;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::descriptor::TELEPHONY_PAGE;
use crate::telephony::{Headset, Lights, Press};

/// What the watch tells the phone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// A headset is in use (its name).
    Connected(String),
    Pressed(Press),
    /// The headset in use went away (its name).
    Disconnected(String),
    /// A headset that cannot be used, and why (said once per device).
    Unusable(String),
}

/// The running watch; dropping it stops the thread.
pub struct HeadsetWatch {
    lights: Arc<Mutex<Lights>>,
    stop: Arc<AtomicBool>,
}

impl HeadsetWatch {
    /// The lights the headset should show (sent within 100 ms; again to a headset plugged in
    /// later).
    pub fn show(&self, lights: Lights) {
        *self.lights.lock().unwrap_or_else(|p| p.into_inner()) = lights;
    }
}

impl Drop for HeadsetWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

const SCAN_EVERY: Duration = Duration::from_secs(2);
const READ_MS: i32 = 100;

/// Starts watching for a headset; `notify` is called on the watch's thread.
pub fn watch(notify: impl Fn(Notice) + Send + 'static) -> HeadsetWatch {
    let lights = Arc::new(Mutex::new(Lights::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let (l, s) = (lights.clone(), stop.clone());
    let spawned = std::thread::Builder::new()
        .name("headset".into())
        .spawn(move || run(&l, &s, &notify));
    if let Err(e) = spawned {
        tracing::warn!("headset buttons are not watched: {e}");
    }
    HeadsetWatch { lights, stop }
}

fn run(lights: &Mutex<Lights>, stop: &AtomicBool, notify: &dyn Fn(Notice)) {
    let mut api = match hidapi::HidApi::new_without_enumerate() {
        Ok(api) => api,
        Err(e) => {
            tracing::warn!("headset buttons are not watched: USB HID cannot be used ({e})");
            return;
        }
    };
    let mut refused: HashSet<CString> = HashSet::new();
    while !stop.load(Ordering::Relaxed) {
        if let Some((device, headset, name)) = find(&mut api, &mut refused, notify) {
            notify(Notice::Connected(name.clone()));
            serve(&device, headset, lights, stop, notify);
            if !stop.load(Ordering::Relaxed) {
                notify(Notice::Disconnected(name));
            }
            continue;
        }
        std::thread::sleep(SCAN_EVERY);
    }
}

/// The first telephony headset that opens and describes itself usably.
fn find(
    api: &mut hidapi::HidApi,
    refused: &mut HashSet<CString>,
    notify: &dyn Fn(Notice),
) -> Option<(hidapi::HidDevice, Headset, String)> {
    if let Err(e) = api.refresh_devices() {
        tracing::debug!("listing USB HID devices: {e}");
        return None;
    }
    let candidates: Vec<hidapi::DeviceInfo> = api
        .device_list()
        .filter(|d| d.usage_page() == TELEPHONY_PAGE && !refused.contains(d.path()))
        .cloned()
        .collect();
    for info in candidates {
        let name = info
            .product_string()
            .map(str::to_string)
            .unwrap_or_else(|| {
                format!(
                    "USB device {:04x}:{:04x}",
                    info.vendor_id(),
                    info.product_id()
                )
            });
        let opened = info
            .open_device(api)
            .map_err(|e| e.to_string())
            .and_then(|d| {
                let mut buf = vec![0u8; 4096];
                let n = d
                    .get_report_descriptor(&mut buf)
                    .map_err(|e| e.to_string())?;
                Headset::new(&buf[..n]).map(|h| (d, h))
            });
        match opened {
            Ok((device, headset)) => return Some((device, headset, name)),
            Err(e) => {
                refused.insert(info.path().to_owned());
                notify(Notice::Unusable(format!(
                    "the headset {name} cannot be used: {e}"
                )));
            }
        }
    }
    None
}

/// Reads the headset until it goes away or the watch stops.
fn serve(
    device: &hidapi::HidDevice,
    mut headset: Headset,
    lights: &Mutex<Lights>,
    stop: &AtomicBool,
    notify: &dyn Fn(Notice),
) {
    let mut buf = [0u8; 64];
    while !stop.load(Ordering::Relaxed) {
        let wanted = *lights.lock().unwrap_or_else(|p| p.into_inner());
        for report in headset.show(wanted) {
            if let Err(e) = device.write(&report) {
                tracing::debug!("headset lights: {e}");
            }
        }
        match device.read_timeout(&mut buf, READ_MS) {
            Ok(0) => {}
            Ok(n) => {
                for press in headset.on_report(&buf[..n]) {
                    notify(Notice::Pressed(press));
                }
            }
            // Unplugged (or the device failed): look for it again.
            Err(_) => return,
        }
    }
}
