//! Local time and weekly schedules for routing: turning "now" (Unix seconds) plus a fixed time
//! zone offset into weekday/hour/minute, and parsing business hours written as
//! `Mon-Fri 09:00-17:30` into something that answers "is it open now?".
//!
//! Offsets are fixed (`+01:00`); daylight saving changes need the offset updated (or the engine
//! passing the machine's current offset).

use std::fmt;

/// Day of the week, Monday first (ISO 8601 numbering: Monday = 1 … Sunday = 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

const DAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

impl Weekday {
    /// 1 (Monday) … 7 (Sunday).
    pub fn number(self) -> u8 {
        self as u8 + 1
    }

    /// Three-letter lower-case name (`mon`), as rules see it in `day`.
    pub fn short_name(self) -> &'static str {
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][self as usize]
    }

    fn index(self) -> usize {
        self as usize
    }

    fn parse(s: &str) -> Option<Weekday> {
        let s = s.trim().to_ascii_lowercase();
        DAYS.iter().copied().find(|d| {
            let full = [
                "monday",
                "tuesday",
                "wednesday",
                "thursday",
                "friday",
                "saturday",
                "sunday",
            ][d.index()];
            s == d.short_name() || s == full
        })
    }
}

impl fmt::Display for Weekday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.short_name();
        write!(f, "{}{}", name[..1].to_ascii_uppercase(), &name[1..])
    }
}

/// A moment in local time, to the minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub weekday: Weekday,
    pub hour: u8,
    pub minute: u8,
}

impl LocalTime {
    /// Local time at `unix_secs` (seconds since 1970-01-01 UTC) in a zone `offset_secs` east of UTC.
    pub fn from_unix(unix_secs: i64, offset_secs: i32) -> LocalTime {
        let local = unix_secs + offset_secs as i64;
        let days = local.div_euclid(86_400);
        let secs_of_day = local.rem_euclid(86_400);
        // 1970-01-01 was a Thursday (index 3 with Monday = 0).
        let weekday = DAYS[(days + 3).rem_euclid(7) as usize];
        LocalTime {
            weekday,
            hour: (secs_of_day / 3600) as u8,
            minute: ((secs_of_day % 3600) / 60) as u8,
        }
    }

    fn minute_of_week(self) -> u32 {
        self.weekday.index() as u32 * MINUTES_PER_DAY + self.hour as u32 * 60 + self.minute as u32
    }
}

const MINUTES_PER_DAY: u32 = 24 * 60;
const MINUTES_PER_WEEK: u32 = 7 * MINUTES_PER_DAY;

/// Parses a UTC offset: `+01:00`, `-05:00`, `+0530`, `+1`, `UTC`, `Z`. Returns seconds east of UTC.
pub fn parse_utc_offset(text: &str) -> Result<i32, String> {
    let t = text.trim();
    let bad = || {
        format!("time zone offset `{text}` is not understood; write it like +01:00, -05:00 or UTC")
    };
    if t.eq_ignore_ascii_case("utc") || t.eq_ignore_ascii_case("z") || t.eq_ignore_ascii_case("gmt")
    {
        return Ok(0);
    }
    let (sign, rest) = match t.chars().next() {
        Some('+') => (1, &t[1..]),
        Some('-') | Some('\u{2212}') => (-1, &t[t.chars().next().map_or(1, char::len_utf8)..]),
        _ => return Err(bad()),
    };
    let (h, m) = if let Some((h, m)) = rest.split_once(':') {
        (h, m)
    } else if rest.len() == 4 {
        rest.split_at(2)
    } else {
        (rest, "0")
    };
    let all_digits =
        |s: &str| !s.is_empty() && s.len() <= 2 && s.chars().all(|c| c.is_ascii_digit());
    if !all_digits(h) || !all_digits(m) {
        return Err(bad());
    }
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 14 || m > 59 {
        return Err(format!(
            "time zone offset `{text}` is out of range (-14:00 to +14:00)"
        ));
    }
    Ok(sign * (h * 3600 + m * 60))
}

/// One opening window: a set of days and a start/end time. An end before the start runs past
/// midnight into the next day.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Window {
    days: [bool; 7],
    start: u32,
    end: u32,
}

/// Weekly opening hours, e.g. `["Mon-Fri 09:00-17:30", "Sat 10:00-13:00"]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WeeklySchedule {
    windows: Vec<Window>,
}

impl WeeklySchedule {
    /// Parses one window per entry: `<days> <HH:MM>-<HH:MM>`, where days is a day (`Mon`), a
    /// range (`Mon-Fri`, `Fri-Mon`), a comma list (`Mon,Wed,Fri`) or `daily`. Errors name the entry.
    pub fn parse(entries: &[String]) -> Result<WeeklySchedule, String> {
        let windows = entries
            .iter()
            .map(|e| parse_window(e))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WeeklySchedule { windows })
    }

    /// Is `t` inside any window?
    pub fn is_open(&self, t: LocalTime) -> bool {
        let now = t.minute_of_week();
        self.windows.iter().any(|w| {
            (0..7).filter(|&d| w.days[d]).any(|d| {
                let start = d as u32 * MINUTES_PER_DAY + w.start;
                let len = if w.end > w.start {
                    w.end - w.start
                } else {
                    w.end + MINUTES_PER_DAY - w.start
                };
                (now + MINUTES_PER_WEEK - start) % MINUTES_PER_WEEK < len
            })
        })
    }
}

fn parse_window(entry: &str) -> Result<Window, String> {
    let e = entry.trim();
    let bad =
        |why: &str| format!("business hours `{entry}`: {why}; write it like `Mon-Fri 09:00-17:30`");
    let (days_text, times_text) = e
        .rsplit_once(char::is_whitespace)
        .ok_or_else(|| bad("days and times are missing"))?;
    let mut days = [false; 7];
    let days_text = days_text.trim();
    if ["daily", "every day", "mon-sun"].contains(&days_text.to_ascii_lowercase().as_str()) {
        days = [true; 7];
    } else {
        for part in days_text.split(',').map(str::trim) {
            let (a, b) = match part.split_once('-') {
                Some((a, b)) => (a, b),
                None => (part, part),
            };
            let a =
                Weekday::parse(a).ok_or_else(|| bad(&format!("`{}` is not a day", a.trim())))?;
            let b =
                Weekday::parse(b).ok_or_else(|| bad(&format!("`{}` is not a day", b.trim())))?;
            let mut d = a.index();
            loop {
                days[d] = true;
                if d == b.index() {
                    break;
                }
                d = (d + 1) % 7;
            }
        }
    }
    let (start, end) = times_text
        .split_once('-')
        .ok_or_else(|| bad("the times need a start and an end"))?;
    let start = parse_hhmm(start).ok_or_else(|| bad(&format!("`{start}` is not a time")))?;
    let end = parse_hhmm(end).ok_or_else(|| bad(&format!("`{end}` is not a time")))?;
    if start == end {
        return Err(bad("start and end are the same"));
    }
    if start >= MINUTES_PER_DAY {
        return Err(bad("a window cannot start at 24:00"));
    }
    Ok(Window { days, start, end })
}

/// `HH:MM` (or `H:MM`, `HHMM`) → minutes after midnight; `24:00` is allowed as an end.
fn parse_hhmm(text: &str) -> Option<u32> {
    let t = text.trim();
    let (h, m) = match t.split_once(':') {
        Some(hm) => hm,
        None if t.len() == 4 => t.split_at(2),
        None => return None,
    };
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-23 00:00:00 UTC is a Monday.
    const MONDAY_MIDNIGHT_UTC: i64 = 1_795_392_000;

    fn at(day: i64, hour: i64, minute: i64) -> LocalTime {
        LocalTime::from_unix(
            MONDAY_MIDNIGHT_UTC + day * 86_400 + hour * 3600 + minute * 60,
            0,
        )
    }

    fn schedule(entries: &[&str]) -> WeeklySchedule {
        WeeklySchedule::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn unix_time_to_local_weekday_and_hour() {
        let t = LocalTime::from_unix(MONDAY_MIDNIGHT_UTC, 0);
        assert_eq!((t.weekday, t.hour, t.minute), (Weekday::Mon, 0, 0));
        // One minute before, in UTC, is Sunday 23:59.
        let t = LocalTime::from_unix(MONDAY_MIDNIGHT_UTC - 60, 0);
        assert_eq!((t.weekday, t.hour, t.minute), (Weekday::Sun, 23, 59));
        // The same instant in New York (-05:00) is Sunday 19:00.
        let t = LocalTime::from_unix(MONDAY_MIDNIGHT_UTC, -5 * 3600);
        assert_eq!((t.weekday, t.hour), (Weekday::Sun, 19));
        // ...and in India (+05:30) Monday 05:30.
        let t = LocalTime::from_unix(MONDAY_MIDNIGHT_UTC, 5 * 3600 + 1800);
        assert_eq!((t.weekday, t.hour, t.minute), (Weekday::Mon, 5, 30));
        // The Unix epoch was a Thursday; before it works too.
        assert_eq!(LocalTime::from_unix(0, 0).weekday, Weekday::Thu);
        assert_eq!(LocalTime::from_unix(-1, 0).weekday, Weekday::Wed);
        assert_eq!(Weekday::Sun.number(), 7);
        assert_eq!(Weekday::Wed.to_string(), "Wed");
    }

    #[test]
    fn utc_offsets() {
        assert_eq!(parse_utc_offset("+01:00"), Ok(3600));
        assert_eq!(parse_utc_offset("-05:00"), Ok(-18_000));
        assert_eq!(parse_utc_offset("+0530"), Ok(19_800));
        assert_eq!(parse_utc_offset("+1"), Ok(3600));
        assert_eq!(parse_utc_offset("UTC"), Ok(0));
        assert!(parse_utc_offset("CET").unwrap_err().contains("+01:00"));
        assert!(parse_utc_offset("+15:00")
            .unwrap_err()
            .contains("out of range"));
        assert!(parse_utc_offset("+1:5x").is_err());
    }

    #[test]
    fn office_hours_mon_to_fri() {
        let s = schedule(&["Mon-Fri 09:00-17:30"]);
        assert!(!s.is_open(at(0, 8, 59)));
        assert!(s.is_open(at(0, 9, 0)));
        assert!(s.is_open(at(2, 17, 29)));
        assert!(!s.is_open(at(2, 17, 30)));
        assert!(s.is_open(at(4, 12, 0)));
        assert!(!s.is_open(at(5, 12, 0)), "Saturday is closed");
        assert!(!s.is_open(at(6, 12, 0)), "Sunday is closed");
    }

    #[test]
    fn several_windows_lists_wraps_and_overnight() {
        let s = schedule(&["mon,wed 08:00-12:00", "Saturday 10:00-13:00"]);
        assert!(s.is_open(at(0, 8, 0)));
        assert!(!s.is_open(at(1, 9, 0)));
        assert!(s.is_open(at(2, 11, 59)));
        assert!(s.is_open(at(5, 10, 30)));
        // A range that wraps over the weekend.
        let s = schedule(&["Fri-Mon 10:00-11:00"]);
        for (day, open) in [
            (4, true),
            (5, true),
            (6, true),
            (0, true),
            (1, false),
            (3, false),
        ] {
            assert_eq!(s.is_open(at(day, 10, 30)), open, "day {day}");
        }
        // An overnight window on Sunday runs into Monday morning.
        let s = schedule(&["Sun 22:00-02:00"]);
        assert!(s.is_open(at(6, 23, 0)));
        assert!(s.is_open(at(0, 1, 59)));
        assert!(!s.is_open(at(0, 2, 0)));
        assert!(!s.is_open(at(5, 23, 0)));
        let s = schedule(&["daily 00:00-24:00"]);
        assert!(s.is_open(at(3, 23, 59)));
    }

    #[test]
    fn bad_windows_say_what_is_wrong() {
        let e = WeeklySchedule::parse(&["Mon-Fry 09:00-17:00".into()]).unwrap_err();
        assert_eq!(
            e,
            "business hours `Mon-Fry 09:00-17:00`: `Fry` is not a day; write it like `Mon-Fri 09:00-17:30`"
        );
        let e = WeeklySchedule::parse(&["Mon 09:00".into()]).unwrap_err();
        assert!(e.contains("need a start and an end"), "{e}");
        let e = WeeklySchedule::parse(&["Mon 09:00-25:00".into()]).unwrap_err();
        assert!(e.contains("`25:00` is not a time"), "{e}");
        let e = WeeklySchedule::parse(&["09:00-17:00".into()]).unwrap_err();
        assert!(
            e.contains("days and times are missing") || e.contains("not a day"),
            "{e}"
        );
    }
}
