//! Sound cards that come and go: a call's speaker or microphone survives being unplugged.
//!
//! [`DeviceSink`]/[`DeviceSource`] wrap one open card stream ([`CardSink`]/[`CardSource`]).
//! When the card goes away mid-call (it leaves the device list, cpal reports an error, or its
//! callbacks stop), they open the system default instead and carry on: the call continues,
//! the far end's audio just has a gap of a few hundred milliseconds. (PulseAudio moves a stream
//! whose sink is removed to the default sink by itself, without telling the client, so there
//! the device list, watched by a [`PresenceProbe`] thread, is what shows the unplugging.)
//! While on the default they look every few seconds whether the chosen card is back, and
//! switch back to it when it is. Each switch is published
//! as a [`DeviceNotice`] so the phone can tell the user ("speaker 'USB Headset' disconnected;
//! now using the default output").
//!
//! The decisions (when to fall back, when to retry, when to return) are [`Failover`], a plain
//! state machine tested without sound cards.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::audio_io::{AudioSink, AudioSource};
use crate::device::{CardSink, CardSource, PresenceProbe};
use crate::error::MediaError;

/// Speaker or microphone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceRole {
    Speaker,
    Microphone,
}

impl DeviceRole {
    fn noun(self) -> &'static str {
        match self {
            DeviceRole::Speaker => "speaker",
            DeviceRole::Microphone => "microphone",
        }
    }

    fn default_noun(self) -> &'static str {
        match self {
            DeviceRole::Speaker => "output",
            DeviceRole::Microphone => "input",
        }
    }
}

/// A device change the user should hear about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceNotice {
    /// `device` disappeared; `fallback` tells whether the default device took over.
    Lost {
        role: DeviceRole,
        device: String,
        fallback: bool,
    },
    /// The chosen `device` is back and in use again.
    Back { role: DeviceRole, device: String },
    /// The chosen `device` could not be opened when the call started; the default took over.
    Missing {
        role: DeviceRole,
        device: String,
        reason: String,
    },
}

impl DeviceNotice {
    /// The sentence shown to the user.
    pub fn message(&self) -> String {
        match self {
            DeviceNotice::Lost { role, device, fallback: true } => format!(
                "{} '{device}' disconnected; now using the default {}",
                role.noun(),
                role.default_noun()
            ),
            DeviceNotice::Lost { role, device, fallback: false } => format!(
                "{} '{device}' disconnected and no other {} is available; the call continues without it",
                role.noun(),
                role.default_noun()
            ),
            DeviceNotice::Back { role, device } => format!("{} '{device}' is back; using it again", role.noun()),
            DeviceNotice::Missing { role, device, reason } => format!(
                "{} '{device}' is not available ({reason}); using the default {} until it is",
                role.noun(),
                role.default_noun()
            ),
        }
    }
}

/// Where the notices of a device go: to whoever opened it (a phone turns them into warnings on
/// its own event stream), never to every phone of the process. Cheap to clone; `none()` only logs.
#[derive(Clone, Default)]
pub struct DeviceNotices(Option<Arc<dyn Fn(DeviceNotice) + Send + Sync>>);

impl DeviceNotices {
    /// Notices go to `deliver` (called on the audio thread: keep it short, e.g. a channel send).
    pub fn to(deliver: impl Fn(DeviceNotice) + Send + Sync + 'static) -> DeviceNotices {
        DeviceNotices(Some(Arc::new(deliver)))
    }

    /// Notices are only logged.
    pub fn none() -> DeviceNotices {
        DeviceNotices(None)
    }

    fn publish(&self, notice: DeviceNotice) {
        tracing::warn!("{}", notice.message());
        if let Some(deliver) = &self.0 {
            deliver(notice);
        }
    }
}

impl std::fmt::Debug for DeviceNotices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "DeviceNotices(delivered)"
        } else {
            "DeviceNotices(logged)"
        })
    }
}

/// How often to look for the chosen device again while on the fallback, and to retry opening
/// any device when none could be opened.
pub const RETRY_EVERY: Duration = Duration::from_secs(2);

/// Which stream to have open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Want {
    /// Keep the current stream.
    Keep,
    /// Open the system default (the chosen card is gone).
    OpenDefault,
    /// Open the chosen card again (it is back), or the default again after it failed.
    OpenChosen,
}

/// The failover decisions for one speaker or microphone.
#[derive(Clone, Debug)]
pub struct Failover {
    /// The device the user chose; `None` follows the system default.
    chosen: Option<String>,
    /// True while playing on the default because the chosen device is gone.
    on_fallback: bool,
    /// True while no stream is open at all.
    closed: bool,
    next_retry: Instant,
}

impl Failover {
    pub fn new(chosen: Option<String>, now: Instant) -> Self {
        Failover {
            chosen,
            on_fallback: false,
            closed: false,
            next_retry: now,
        }
    }

    /// Decides what to do on each frame: `gone` is the open stream's health, `listed` whether
    /// the chosen device is in the device list (`None`: not known, or the list cannot tell).
    pub fn decide(&mut self, gone: bool, now: Instant, listed: Option<bool>) -> Want {
        let unplugged = self.chosen.is_some() && !self.on_fallback && listed == Some(false);
        let gone = gone || unplugged;
        if self.closed || (gone && self.chosen.is_none()) {
            if now < self.next_retry {
                return Want::Keep;
            }
            self.next_retry = now + RETRY_EVERY;
            return if self.on_fallback {
                Want::OpenDefault
            } else {
                Want::OpenChosen
            };
        }
        if gone {
            if self.on_fallback {
                // The default itself went away: try it again later.
                self.next_retry = now + RETRY_EVERY;
                return Want::OpenDefault;
            }
            self.on_fallback = true;
            self.next_retry = now + RETRY_EVERY;
            return Want::OpenDefault;
        }
        if self.on_fallback && now >= self.next_retry {
            self.next_retry = now + RETRY_EVERY;
            if self.chosen.is_some() && listed == Some(true) {
                return Want::OpenChosen;
            }
        }
        Want::Keep
    }

    /// The chosen device could not be opened at the start and the default was: wait for the
    /// chosen one as after losing it.
    pub fn started_on_default(&mut self, now: Instant) {
        self.on_fallback = true;
        self.next_retry = now + RETRY_EVERY;
    }

    /// The outcome of acting on `want`: `opened` false leaves no stream open.
    pub fn opened(&mut self, want: &Want, opened: bool) {
        self.closed = !opened;
        if *want == Want::OpenChosen && opened {
            self.on_fallback = false;
        }
    }

    pub fn on_fallback(&self) -> bool {
        self.on_fallback
    }

    pub fn chosen(&self) -> Option<&str> {
        self.chosen.as_deref()
    }
}

/// A stream the wrappers can reopen.
trait Card: Sized {
    fn open_card(name: Option<&str>, rate: u32) -> Result<Self, MediaError>;
    fn gone(&self) -> bool;
    fn display(&self) -> String;
}

impl Card for CardSink {
    fn open_card(name: Option<&str>, rate: u32) -> Result<Self, MediaError> {
        CardSink::open(name, rate)
    }
    fn gone(&self) -> bool {
        self.is_gone()
    }
    fn display(&self) -> String {
        self.display_name.clone()
    }
}

impl Card for CardSource {
    fn open_card(name: Option<&str>, rate: u32) -> Result<Self, MediaError> {
        CardSource::open(name, rate)
    }
    fn gone(&self) -> bool {
        self.is_gone()
    }
    fn display(&self) -> String {
        self.display_name.clone()
    }
}

/// The shared part of both wrappers.
struct Watched<C: Card> {
    role: DeviceRole,
    rate: u32,
    card: Option<C>,
    /// Display name of the chosen device, for messages after it is gone.
    chosen_name: String,
    failover: Failover,
    /// Watches the device list for the chosen device (none when following the default).
    probe: Option<PresenceProbe>,
    notices: DeviceNotices,
}

impl<C: Card> Watched<C> {
    /// Opens the chosen device; when it cannot be opened (unplugged since it was chosen, or
    /// a name that is not there) the call starts on the default and the user is told. Only
    /// when the default fails too is the error returned.
    fn open(
        role: DeviceRole,
        name: Option<&str>,
        rate: u32,
        notices: &DeviceNotices,
    ) -> Result<Self, MediaError> {
        let now = Instant::now();
        let mut failover = Failover::new(name.map(str::to_string), now);
        let (card, chosen_name) = match (C::open_card(name, rate), name) {
            (Ok(card), _) => {
                let display = card.display();
                (card, display)
            }
            (Err(e), Some(chosen)) => {
                let Ok(card) = C::open_card(None, rate) else {
                    return Err(e);
                };
                failover.started_on_default(now);
                notices.publish(DeviceNotice::Missing {
                    role,
                    device: chosen.to_string(),
                    reason: e.to_string(),
                });
                (card, chosen.to_string())
            }
            (Err(e), None) => return Err(e),
        };
        Ok(Watched {
            role,
            rate,
            chosen_name,
            card: Some(card),
            failover,
            probe: name.map(|n| PresenceProbe::start(n, role == DeviceRole::Microphone)),
            notices: notices.clone(),
        })
    }

    /// Checks the card's health and switches streams when needed.
    fn check(&mut self) {
        let gone = self.card.as_ref().is_some_and(|c| c.gone());
        let before = self.failover.on_fallback();
        // An absence counts while the device is in use only where the list follows unplugging.
        let listed = self
            .probe
            .as_ref()
            .and_then(|p| p.listed().filter(|_| p.live() || before));
        let want = self.failover.decide(gone, Instant::now(), listed);
        if want == Want::Keep {
            return;
        }
        let lost = gone || (!before && self.failover.on_fallback());
        let was_open = self.card.is_some();
        let was_fallback = self.failover.on_fallback();
        // Close the dead stream before opening another (some backends hold the device).
        self.card = None;
        let name = match want {
            Want::OpenChosen => self.failover.chosen().map(str::to_string),
            _ => None,
        };
        let opened = C::open_card(name.as_deref(), self.rate);
        let ok = opened.is_ok();
        if let Err(e) = &opened {
            tracing::warn!("cannot open the {} again: {e}", self.role.noun());
        }
        self.card = opened.ok();
        self.failover.opened(&want, ok);
        let back = want == Want::OpenChosen && ok && self.failover.chosen().is_some();
        if lost && was_open {
            self.notices.publish(DeviceNotice::Lost {
                role: self.role,
                device: self.chosen_name.clone(),
                fallback: ok,
            });
        } else if back && was_fallback {
            self.notices.publish(DeviceNotice::Back {
                role: self.role,
                device: self.chosen_name.clone(),
            });
        }
    }
}

/// A speaker that falls back to the default output when it disappears.
pub struct DeviceSink(Watched<CardSink>);

impl DeviceSink {
    pub fn open(
        name: Option<&str>,
        rate: u32,
        notices: &DeviceNotices,
    ) -> Result<Self, MediaError> {
        Ok(DeviceSink(Watched::open(
            DeviceRole::Speaker,
            name,
            rate,
            notices,
        )?))
    }

    /// True while playing on the default because the chosen device is gone.
    pub fn on_fallback(&self) -> bool {
        self.0.failover.on_fallback()
    }
}

impl AudioSink for DeviceSink {
    fn rate(&self) -> u32 {
        self.0.rate
    }

    fn write(&mut self, pcm: &[i16]) -> Result<(), MediaError> {
        self.0.check();
        match &mut self.0.card {
            Some(c) => c.write(pcm),
            None => Ok(()),
        }
    }
}

/// A microphone that falls back to the default input when it disappears.
pub struct DeviceSource(Watched<CardSource>);

impl DeviceSource {
    pub fn open(
        name: Option<&str>,
        rate: u32,
        notices: &DeviceNotices,
    ) -> Result<Self, MediaError> {
        Ok(DeviceSource(Watched::open(
            DeviceRole::Microphone,
            name,
            rate,
            notices,
        )?))
    }

    /// True while capturing from the default because the chosen device is gone.
    pub fn on_fallback(&self) -> bool {
        self.0.failover.on_fallback()
    }
}

impl AudioSource for DeviceSource {
    fn rate(&self) -> u32 {
        self.0.rate
    }

    fn read(&mut self, out: &mut [i16]) -> Result<(), MediaError> {
        self.0.check();
        match &mut self.0.card {
            Some(c) => c.read(out),
            None => {
                out.fill(0);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn a_healthy_listed_device_is_kept() {
        let now = t0();
        let mut f = Failover::new(Some("usb".into()), now);
        for i in 0..100 {
            let want = f.decide(false, now + Duration::from_millis(20 * i), Some(true));
            assert_eq!(want, Want::Keep);
        }
    }

    #[test]
    fn a_lost_chosen_device_falls_back_then_returns_when_listed_again() {
        let now = t0();
        let mut f = Failover::new(Some("usb".into()), now);
        let want = f.decide(true, now, Some(true));
        assert_eq!(want, Want::OpenDefault);
        f.opened(&want, true);
        assert!(f.on_fallback());
        // Within RETRY_EVERY: no lookup.
        assert_eq!(
            f.decide(false, now + Duration::from_millis(500), Some(true)),
            Want::Keep
        );
        // Still absent: keep the default.
        assert_eq!(f.decide(false, now + RETRY_EVERY, Some(false)), Want::Keep);
        // Listed again: go back.
        let want = f.decide(false, now + RETRY_EVERY * 2, Some(true));
        assert_eq!(want, Want::OpenChosen);
        f.opened(&want, true);
        assert!(!f.on_fallback());
    }

    #[test]
    fn a_chosen_device_leaving_the_list_falls_back_while_its_stream_still_runs() {
        // PulseAudio moves the stream of a removed sink to the default without an error.
        let now = t0();
        let mut f = Failover::new(Some("usb".into()), now);
        assert_eq!(f.decide(false, now, None), Want::Keep, "not looked yet");
        assert_eq!(f.decide(false, now, Some(true)), Want::Keep);
        let want = f.decide(false, now + Duration::from_millis(20), Some(false));
        assert_eq!(want, Want::OpenDefault);
        f.opened(&want, true);
        assert!(f.on_fallback());
        assert_eq!(
            f.decide(false, now + Duration::from_millis(40), Some(false)),
            Want::Keep
        );
    }

    #[test]
    fn following_the_default_ignores_the_list() {
        let now = t0();
        let mut f = Failover::new(None, now);
        assert_eq!(f.decide(false, now, Some(false)), Want::Keep);
    }

    #[test]
    fn failing_to_reopen_the_chosen_device_stays_on_the_default() {
        let now = t0();
        let mut f = Failover::new(Some("usb".into()), now);
        let w = f.decide(true, now, Some(true));
        f.opened(&w, true);
        let w = f.decide(false, now + RETRY_EVERY, Some(true));
        assert_eq!(w, Want::OpenChosen);
        // Listed but does not open: nothing is open now, so the next retry opens the default.
        f.opened(&w, false);
        assert!(f.on_fallback());
        assert_eq!(
            f.decide(
                false,
                now + RETRY_EVERY + Duration::from_millis(10),
                Some(true)
            ),
            Want::Keep
        );
        assert_eq!(
            f.decide(
                false,
                now + RETRY_EVERY * 2 + Duration::from_millis(10),
                Some(true)
            ),
            Want::OpenDefault
        );
    }

    #[test]
    fn a_lost_default_is_retried_every_few_seconds() {
        let now = t0();
        let mut f = Failover::new(None, now);
        let w = f.decide(true, now, None);
        assert_eq!(
            w,
            Want::OpenChosen,
            "the chosen device is the default itself"
        );
        f.opened(&w, false);
        assert_eq!(
            f.decide(false, now + Duration::from_millis(100), None),
            Want::Keep
        );
        let w = f.decide(false, now + RETRY_EVERY, None);
        assert_eq!(w, Want::OpenChosen);
        f.opened(&w, true);
        assert!(!f.on_fallback());
    }

    #[test]
    fn messages_name_the_device_and_what_happens_next() {
        let lost = DeviceNotice::Lost {
            role: DeviceRole::Speaker,
            device: "USB Headset".into(),
            fallback: true,
        };
        assert_eq!(
            lost.message(),
            "speaker 'USB Headset' disconnected; now using the default output"
        );
        let mic = DeviceNotice::Lost {
            role: DeviceRole::Microphone,
            device: "USB Headset".into(),
            fallback: false,
        };
        assert!(mic
            .message()
            .starts_with("microphone 'USB Headset' disconnected and no other input"));
        let back = DeviceNotice::Back {
            role: DeviceRole::Speaker,
            device: "USB Headset".into(),
        };
        assert_eq!(
            back.message(),
            "speaker 'USB Headset' is back; using it again"
        );
    }

    #[test]
    fn a_device_missing_at_the_start_is_waited_for_like_a_lost_one() {
        let now = t0();
        let mut f = Failover::new(Some("usb".into()), now);
        f.started_on_default(now);
        assert!(f.on_fallback());
        assert_eq!(
            f.decide(false, now + Duration::from_millis(20), Some(false)),
            Want::Keep
        );
        assert_eq!(
            f.decide(false, now + RETRY_EVERY, Some(true)),
            Want::OpenChosen
        );
        let missing = DeviceNotice::Missing {
            role: DeviceRole::Microphone,
            device: "usb-mic".into(),
            reason: "no audio device named 'usb-mic'".into(),
        };
        assert_eq!(
            missing.message(),
            "microphone 'usb-mic' is not available (no audio device named 'usb-mic'); using the default input until it is"
        );
    }

    #[test]
    fn a_notice_goes_to_whoever_opened_the_device_and_to_no_one_else() {
        let (tx_a, rx_a) = std::sync::mpsc::channel();
        let (tx_b, rx_b) = std::sync::mpsc::channel::<DeviceNotice>();
        let a = DeviceNotices::to(move |n| {
            let _ = tx_a.send(n);
        });
        let _b = DeviceNotices::to(move |n| {
            let _ = tx_b.send(n);
        });
        let n = DeviceNotice::Back {
            role: DeviceRole::Microphone,
            device: "test-mic".into(),
        };
        a.clone().publish(n.clone());
        DeviceNotices::none().publish(n.clone());
        assert_eq!(rx_a.try_iter().collect::<Vec<_>>(), vec![n]);
        assert!(
            rx_b.try_iter().next().is_none(),
            "another phone's notices must not arrive here"
        );
    }
}
