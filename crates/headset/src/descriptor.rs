//! A HID report descriptor (USB HID 1.11, section 6.2.2) read into where each control sits in
//! the device's reports: for every variable input and output field, its usage (page and id),
//! report id, bit offset and size. Only what a headset's telephony controls need: short items,
//! the global and local state they use, `Push`/`Pop`; arrays (keypads) and long items are
//! skipped, constants take their room. Pure: bytes in, a layout out.

/// HID usage pages the headset code looks at.
pub const TELEPHONY_PAGE: u16 = 0x0B;
pub const LED_PAGE: u16 = 0x08;

/// Whether the device sends a field (input) or is sent it (output).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Input,
    Output,
}

/// One variable field of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub direction: Direction,
    pub report_id: u8,
    pub page: u16,
    pub usage: u16,
    /// Bits from the start of the report's data (after the report id byte, if any).
    pub bit_offset: u32,
    pub bit_size: u32,
}

/// Where a device's controls are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    pub fields: Vec<Field>,
    /// The reports start with a report id byte.
    pub report_ids: bool,
}

impl Layout {
    /// The field of `direction` for `page`:`usage`, if the device has one.
    pub fn find(&self, direction: Direction, page: u16, usage: u16) -> Option<Field> {
        self.fields
            .iter()
            .copied()
            .find(|f| f.direction == direction && f.page == page && f.usage == usage)
    }

    /// The size in bytes of output report `report_id`'s data (without the id byte).
    pub fn output_len(&self, report_id: u8) -> usize {
        self.fields
            .iter()
            .filter(|f| f.direction == Direction::Output && f.report_id == report_id)
            .map(|f| (f.bit_offset + f.bit_size).div_ceil(8) as usize)
            .max()
            .unwrap_or(0)
    }
}

#[derive(Clone, Copy, Default)]
struct Globals {
    page: u16,
    report_size: u32,
    report_count: u32,
    report_id: u8,
}

/// Reads `bytes`; an item running past the end is the descriptor's error.
pub fn parse(bytes: &[u8]) -> Result<Layout, String> {
    let mut layout = Layout::default();
    let mut g = Globals::default();
    let mut stack: Vec<Globals> = Vec::new();
    // Local state, cleared after each main item.
    let mut usages: Vec<(Option<u16>, u16)> = Vec::new();
    let mut usage_min: Option<(Option<u16>, u16)> = None;
    let mut usage_max: Option<u16> = None;
    // Next free bit per (direction, report id); features and constants take room as well.
    let mut next_bit: std::collections::HashMap<(u8, u8), u32> = Default::default();
    let mut i = 0;
    while i < bytes.len() {
        let prefix = bytes[i];
        if prefix == 0xFE {
            // A long item: its data size is in the next byte.
            let len = *bytes.get(i + 1).ok_or("a long item is cut short")? as usize;
            i += 3 + len;
            continue;
        }
        let size = match prefix & 3 {
            3 => 4,
            n => n as usize,
        };
        let data = bytes
            .get(i + 1..i + 1 + size)
            .ok_or_else(|| format!("the item at byte {i} is cut short"))?;
        let value = data
            .iter()
            .rev()
            .fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
        i += 1 + size;
        let (kind, tag) = ((prefix >> 2) & 3, prefix >> 4);
        match (kind, tag) {
            // Main items: Input (8), Output (9), Feature (11); collections need nothing here.
            (0, 8) | (0, 9) | (0, 11) => {
                let direction = match tag {
                    8 => Some(Direction::Input),
                    9 => Some(Direction::Output),
                    _ => None,
                };
                let slot = (tag, g.report_id);
                let start = *next_bit.get(&slot).unwrap_or(&0);
                let constant = value & 1 != 0;
                let variable = value & 2 != 0;
                if let (Some(direction), false, true) = (direction, constant, variable) {
                    let mut list = usages.clone();
                    if let (Some((page, min)), Some(max)) = (usage_min, usage_max) {
                        for u in min..=max.max(min) {
                            list.push((page, u));
                        }
                    }
                    for n in 0..g.report_count {
                        // The last usage stands for the rest (HID 1.11 6.2.2.8).
                        let Some(&(page, usage)) = list.get(n as usize).or(list.last()) else {
                            break;
                        };
                        layout.fields.push(Field {
                            direction,
                            report_id: g.report_id,
                            page: page.unwrap_or(g.page),
                            usage,
                            bit_offset: start + n * g.report_size,
                            bit_size: g.report_size,
                        });
                    }
                }
                next_bit.insert(slot, start + g.report_size * g.report_count);
                usages.clear();
                usage_min = None;
                usage_max = None;
            }
            (0, _) => {
                usages.clear();
                usage_min = None;
                usage_max = None;
            }
            // Global items.
            (1, 0) => g.page = value as u16,
            (1, 7) => g.report_size = value,
            (1, 8) => {
                g.report_id = value as u8;
                layout.report_ids = true;
            }
            (1, 9) => g.report_count = value,
            (1, 10) => stack.push(g),
            (1, 11) => g = stack.pop().ok_or("Pop without Push")?,
            // Local items: a 4-byte usage carries its own page in the high half.
            (2, 0) => usages.push(extended(value, size)),
            (2, 1) => usage_min = Some(extended(value, size)),
            (2, 2) => usage_max = Some(value as u16),
            _ => {}
        }
    }
    Ok(layout)
}

fn extended(value: u32, size: usize) -> (Option<u16>, u16) {
    if size == 4 {
        (Some((value >> 16) as u16), value as u16)
    } else {
        (None, value as u16)
    }
}

/// The value of `field` in a report's data (after its id byte), if the report is long enough.
pub fn read(field: &Field, data: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for k in 0..field.bit_size.min(32) {
        let bit = field.bit_offset + k;
        let byte = *data.get((bit / 8) as usize)?;
        if byte >> (bit % 8) & 1 == 1 {
            v |= 1 << k;
        }
    }
    Some(v)
}

/// Sets `field` to `value` in a report's data.
pub fn write(field: &Field, data: &mut [u8], value: u32) {
    for k in 0..field.bit_size.min(32) {
        let bit = field.bit_offset + k;
        if let Some(byte) = data.get_mut((bit / 8) as usize) {
            let mask = 1u8 << (bit % 8);
            if value >> k & 1 == 1 {
                *byte |= mask;
            } else {
                *byte &= !mask;
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A telephony headset's descriptor in the usual shape (as USB headsets from the large
    /// vendors describe themselves): report 1 in, hook switch and phone mute as 1-bit absolute
    /// controls and a 6-bit pad; report 2 out, the off-hook, mute and ring LEDs and a pad;
    /// a consumer-control collection (volume) on report 3 before it.
    pub const HEADSET: &[u8] = &[
        0x05, 0x0C, // Usage Page (Consumer)
        0x09, 0x01, // Usage (Consumer Control)
        0xA1, 0x01, // Collection (Application)
        0x85, 0x03, //   Report ID (3)
        0x15, 0x00, 0x25, 0x01, // Logical 0..1
        0x09, 0xE9, 0x09, 0xEA, // Usage (Volume Up), (Volume Down)
        0x75, 0x01, 0x95, 0x02, // Report Size 1, Count 2
        0x81, 0x02, //   Input (Data, Var, Abs)
        0x95, 0x06, 0x81, 0x03, // 6 bits constant
        0xC0, // End Collection
        0x05, 0x0B, // Usage Page (Telephony)
        0x09, 0x05, // Usage (Headset)
        0xA1, 0x01, // Collection (Application)
        0x85, 0x01, //   Report ID (1)
        0x15, 0x00, 0x25, 0x01, // Logical 0..1
        0x09, 0x20, // Usage (Hook Switch)
        0x09, 0x2F, // Usage (Phone Mute)
        0x75, 0x01, 0x95, 0x02, // Size 1, Count 2
        0x81, 0x22, //   Input (Data, Var, Abs, No Preferred)
        0x95, 0x06, 0x81, 0x03, // 6 bits constant
        0x85, 0x02, //   Report ID (2)
        0x05, 0x08, //   Usage Page (LEDs)
        0x09, 0x17, // Usage (Off-Hook)
        0x09, 0x09, // Usage (Mute)
        0x09, 0x18, // Usage (Ring)
        0x95, 0x03, 0x91, 0x22, // 3 bits Output (Data, Var, Abs)
        0x95, 0x05, 0x91, 0x03, // 5 bits constant
        0xC0, // End Collection
    ];

    #[test]
    fn a_headsets_controls_and_lights_are_found() {
        let l = parse(HEADSET).unwrap();
        assert!(l.report_ids);
        let hook = l.find(Direction::Input, TELEPHONY_PAGE, 0x20).unwrap();
        assert_eq!((hook.report_id, hook.bit_offset, hook.bit_size), (1, 0, 1));
        let mute = l.find(Direction::Input, TELEPHONY_PAGE, 0x2F).unwrap();
        assert_eq!((mute.report_id, mute.bit_offset), (1, 1));
        let ring = l.find(Direction::Output, LED_PAGE, 0x18).unwrap();
        assert_eq!((ring.report_id, ring.bit_offset), (2, 2));
        assert_eq!(l.output_len(2), 1);
        let volume = l.find(Direction::Input, 0x0C, 0xEA).unwrap();
        assert_eq!((volume.report_id, volume.bit_offset), (3, 1));
    }

    #[test]
    fn fields_are_read_and_written_by_bit() {
        let f = Field {
            direction: Direction::Output,
            report_id: 0,
            page: LED_PAGE,
            usage: 0x18,
            bit_offset: 6,
            bit_size: 3,
        };
        let mut data = [0u8; 2];
        write(&f, &mut data, 0b101);
        assert_eq!(data, [0b0100_0000, 0b0000_0001]);
        assert_eq!(read(&f, &data), Some(0b101));
        assert_eq!(
            read(&f, &data[..1]),
            None,
            "a short report has no such field"
        );
    }

    /// Usage ranges, a usage with its own page, Push/Pop, and a cut descriptor.
    #[test]
    fn ranges_extended_usages_and_cut_descriptors() {
        let d = [
            0x05, 0x0B, 0x75, 0x01, 0x95, 0x02, //
            0xA4, // Push
            0x05, 0x01, // page Generic Desktop (pushed state changed)
            0xB4, // Pop: back to Telephony
            0x19, 0x20, 0x29, 0x21, // Usage Min 0x20 .. Max 0x21
            0x81, 0x02, //
            0x0B, 0x18, 0x00, 0x08, 0x00, // Usage (LEDs:Ring), 4 bytes
            0x95, 0x01, 0x91, 0x02,
        ];
        let l = parse(&d).unwrap();
        assert!(!l.report_ids);
        assert_eq!(
            l.find(Direction::Input, TELEPHONY_PAGE, 0x21)
                .unwrap()
                .bit_offset,
            1
        );
        assert!(l.find(Direction::Output, LED_PAGE, 0x18).is_some());
        assert!(parse(&[0x05]).unwrap_err().contains("cut short"));
        assert!(parse(&[0xB4]).unwrap_err().contains("Pop"));
    }
}
