//! A USB headset's telephony controls as a plain state machine: its input reports in, the
//! buttons pressed out (hook switch lifted or put down, mute pressed); the phone's state in
//! (ringing, on a call, muted), the output reports that light its LEDs out. Usages from the HID
//! Usage Tables (Telephony page 0x0B: Hook Switch 0x20, Flash 0x21, Phone Mute 0x2F; LED page
//! 0x08: Mute 0x09, Off-Hook 0x17, Ring 0x18). No device, no thread: `device.rs` feeds it.

use crate::descriptor::{self, Direction, Field, Layout, LED_PAGE, TELEPHONY_PAGE};

const HOOK_SWITCH: u16 = 0x20;
const FLASH: u16 = 0x21;
const PHONE_MUTE: u16 = 0x2F;
const LED_MUTE: u16 = 0x09;
const LED_OFF_HOOK: u16 = 0x17;
const LED_RING: u16 = 0x18;

/// A button on the headset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Press {
    /// The hook switch went off-hook (the answer/talk button, or lifting the boom).
    OffHook,
    /// The hook switch went on-hook (the same button during a call).
    OnHook,
    /// The mute button.
    Mute,
    /// The flash button (reject or switch, on headsets that have one).
    Flash,
}

/// What the LEDs should show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lights {
    pub ring: bool,
    pub off_hook: bool,
    pub mute: bool,
}

/// One headset's controls.
#[derive(Debug)]
pub struct Headset {
    layout: Layout,
    hook: Option<Field>,
    mute: Option<Field>,
    flash: Option<Field>,
    /// Last values seen, to turn levels into presses.
    hook_down: Option<bool>,
    mute_held: bool,
    flash_held: bool,
    lights: Option<Lights>,
}

impl Headset {
    /// The headset described by `descriptor`; an error when it has no hook switch (not a
    /// telephony device, or one this cannot drive).
    pub fn new(descriptor: &[u8]) -> Result<Headset, String> {
        let layout = descriptor::parse(descriptor)?;
        let input = |usage| layout.find(Direction::Input, TELEPHONY_PAGE, usage);
        let hook = input(HOOK_SWITCH);
        if hook.is_none() {
            return Err("it has no telephony hook switch".into());
        }
        Ok(Headset {
            hook,
            mute: input(PHONE_MUTE),
            flash: input(FLASH),
            layout,
            hook_down: None,
            mute_held: false,
            flash_held: false,
            lights: None,
        })
    }

    /// An input report (with its id byte when the device uses ids): the buttons it presses.
    /// Reports of other ids, and of unknown shape, press nothing.
    pub fn on_report(&mut self, report: &[u8]) -> Vec<Press> {
        let (id, data) = match (self.layout.report_ids, report.split_first()) {
            (true, Some((id, data))) => (*id, data),
            (true, None) => return Vec::new(),
            (false, _) => (0, report),
        };
        let value = |f: &Option<Field>| {
            f.filter(|f| f.report_id == id)
                .and_then(|f| descriptor::read(&f, data))
                .map(|v| v != 0)
        };
        let mut out = Vec::new();
        if let Some(off_hook) = value(&self.hook) {
            // The first report only tells where the switch is; a change is a press.
            if let Some(was_off) = self.hook_down.map(|down| !down) {
                if off_hook != was_off {
                    out.push(if off_hook {
                        Press::OffHook
                    } else {
                        Press::OnHook
                    });
                }
            }
            self.hook_down = Some(!off_hook);
        }
        // Mute and flash are buttons: pressed when they go from 0 to 1.
        if let Some(held) = value(&self.mute) {
            if held && !self.mute_held {
                out.push(Press::Mute);
            }
            self.mute_held = held;
        }
        if let Some(held) = value(&self.flash) {
            if held && !self.flash_held {
                out.push(Press::Flash);
            }
            self.flash_held = held;
        }
        out
    }

    /// The output reports (id byte first, 0 without ids) that show `lights`; none
    /// when they already show it. The host saying off-hook also moves a headset's idea of its
    /// hook switch (it follows the call answered on screen), so the next change is a press.
    pub fn show(&mut self, lights: Lights) -> Vec<Vec<u8>> {
        if self.lights == Some(lights) {
            return Vec::new();
        }
        self.lights = Some(lights);
        self.hook_down = Some(!lights.off_hook);
        let mut reports: Vec<(u8, Vec<u8>)> = Vec::new();
        for (usage, on) in [
            (LED_OFF_HOOK, lights.off_hook),
            (LED_MUTE, lights.mute),
            (LED_RING, lights.ring),
        ] {
            let Some(f) = self.layout.find(Direction::Output, LED_PAGE, usage) else {
                continue;
            };
            let i = match reports.iter().position(|(id, _)| *id == f.report_id) {
                Some(i) => i,
                None => {
                    let len = self.layout.output_len(f.report_id);
                    reports.push((f.report_id, vec![0; len]));
                    reports.len() - 1
                }
            };
            descriptor::write(&f, &mut reports[i].1, u32::from(on));
        }
        // The report id first, 0 for a device without ids (as hidapi's write takes it).
        reports
            .into_iter()
            .map(|(id, data)| std::iter::once(id).chain(data).collect())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::tests::HEADSET;

    /// Report 1: bit 0 hook switch (1 = off-hook), bit 1 phone mute.
    fn report(off_hook: bool, mute: bool) -> Vec<u8> {
        vec![1, u8::from(off_hook) | u8::from(mute) << 1]
    }

    #[test]
    fn the_talk_button_lifts_and_puts_down_the_hook() {
        let mut h = Headset::new(HEADSET).unwrap();
        assert_eq!(
            h.on_report(&report(false, false)),
            vec![],
            "where the switch is"
        );
        assert_eq!(h.on_report(&report(true, false)), vec![Press::OffHook]);
        assert_eq!(
            h.on_report(&report(true, false)),
            vec![],
            "no change, no press"
        );
        assert_eq!(h.on_report(&report(false, false)), vec![Press::OnHook]);
    }

    #[test]
    fn mute_is_a_press_when_it_goes_down() {
        let mut h = Headset::new(HEADSET).unwrap();
        h.on_report(&report(true, false));
        assert_eq!(h.on_report(&report(true, true)), vec![Press::Mute]);
        assert_eq!(h.on_report(&report(true, true)), vec![], "held");
        assert_eq!(h.on_report(&report(true, false)), vec![], "let go");
        assert_eq!(h.on_report(&report(true, true)), vec![Press::Mute]);
    }

    /// Reports of other ids (the volume buttons), empty and short reports press nothing.
    #[test]
    fn other_and_broken_reports_press_nothing() {
        let mut h = Headset::new(HEADSET).unwrap();
        h.on_report(&report(false, false));
        assert_eq!(h.on_report(&[3, 0b11]), vec![]);
        assert_eq!(h.on_report(&[]), vec![]);
        assert_eq!(h.on_report(&[1]), vec![]);
        assert_eq!(h.on_report(&[9, 1, 2, 3]), vec![]);
        assert_eq!(
            h.on_report(&report(true, false)),
            vec![Press::OffHook],
            "still working"
        );
    }

    #[test]
    fn the_lights_follow_the_phone_and_are_sent_once() {
        let mut h = Headset::new(HEADSET).unwrap();
        let ringing = Lights {
            ring: true,
            ..Default::default()
        };
        assert_eq!(h.show(ringing), vec![vec![2, 0b100]]);
        assert_eq!(h.show(ringing), Vec::<Vec<u8>>::new(), "already showing");
        let muted_call = Lights {
            off_hook: true,
            mute: true,
            ring: false,
        };
        assert_eq!(h.show(muted_call), vec![vec![2, 0b011]]);
        // Answered on screen: the headset is off-hook now, so its button hangs up.
        assert_eq!(h.on_report(&report(false, false)), vec![Press::OnHook]);
    }

    #[test]
    fn a_device_without_a_hook_switch_is_not_a_headset() {
        let mouse = [
            0x05, 0x01, 0x09, 0x02, 0xA1, 0x01, 0x09, 0x30, 0x75, 0x08, 0x95, 0x01, 0x81, 0x06,
            0xC0,
        ];
        assert_eq!(
            Headset::new(&mouse).unwrap_err(),
            "it has no telephony hook switch"
        );
    }
}
