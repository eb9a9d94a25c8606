//! Date-times: epoch numbers and RFC 3339 text, normalised to UTC.
//!
//! The syntax accepted is checked here (it is more lenient than `jiff`'s RFC 3339 parser: a
//! space or `t` separator, `±hhmm` and `±hh` offsets, a leap second `:60`); the calendar
//! (month lengths, leap years, day counts) is `jiff`'s.

use jiff::SignedDuration;
use jiff::civil::{Date, DateTime};

/// Epoch values at or above this magnitude are milliseconds (1e11 s is the year 5138).
const EPOCH_MILLIS_THRESHOLD: f64 = 1e11;
/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z in Unix seconds.
const MIN_EPOCH: i64 = -62_167_219_200;
const MAX_EPOCH: i64 = 253_402_300_799;

/// 1970-01-01T00:00:00, the civil date-time of Unix second 0.
const UNIX_EPOCH: DateTime = DateTime::constant(1970, 1, 1, 0, 0, 0, 0);

/// Formats Unix seconds plus a fraction (its digits, without trailing zeros) as
/// `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
fn format_utc(secs: i64, frac: &str) -> Result<String, &'static str> {
    if !(MIN_EPOCH..=MAX_EPOCH).contains(&secs) {
        return Err("outside the years 0000-9999");
    }
    let dt = UNIX_EPOCH
        .checked_add(SignedDuration::from_secs(secs))
        .map_err(|_| "outside the years 0000-9999")?;
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    if !frac.is_empty() {
        s.push('.');
        s.push_str(frac);
    }
    s.push('Z');
    Ok(s)
}

/// Epoch seconds, or milliseconds when at least [`EPOCH_MILLIS_THRESHOLD`].
pub(super) fn epoch_to_rfc3339(v: f64) -> Result<String, &'static str> {
    if !v.is_finite() {
        return Err("not a finite number");
    }
    let millis = if v.abs() >= EPOCH_MILLIS_THRESHOLD {
        v.round()
    } else {
        (v * 1000.0).round()
    };
    if millis.abs() > 1e16 {
        return Err("outside the years 0000-9999");
    }
    let millis = millis as i64;
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let frac = if ms == 0 {
        String::new()
    } else {
        format!("{ms:03}").trim_end_matches('0').to_string()
    };
    format_utc(secs, &frac)
}

/// Parses an RFC 3339 date-time (`T`, `t` or space between date and time; `Z`, `z` or
/// `±hh:mm` offset, `±hhmm` tolerated; no offset means UTC; a date alone means midnight
/// UTC) and normalises it to UTC.
pub(super) fn parse_rfc3339(s: &str) -> Result<String, &'static str> {
    const BAD: &str = "not an RFC 3339 date-time such as 2024-05-06T07:08:09Z";
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Result<u32, &'static str> {
        let part = b.get(range).ok_or(BAD)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return Err(BAD);
        }
        Ok(part
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(BAD);
    }
    let year = i64::from(num(0..4)?);
    let month = num(5..7)?;
    let day = num(8..10)?;
    if !(1..=12).contains(&month) {
        return Err("month out of range");
    }
    // Four digits fit `i16`, two fit `i8`.
    let date = Date::new(year as i16, month as i8, day as i8).map_err(|_| "day out of range")?;
    let date_secs = date.duration_since(UNIX_EPOCH.date()).as_secs();
    if b.len() == 10 {
        return format_utc(date_secs, "");
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return Err(BAD);
    }
    let hour = num(11..13)?;
    let minute = num(14..16)?;
    let second = num(17..19)?;
    if hour > 23 || minute > 59 || second > 60 {
        return Err("time out of range");
    }
    let mut i = 19;
    let mut frac = "";
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        let mut end = start;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if end == start {
            return Err(BAD);
        }
        frac = s.get(start..end).ok_or(BAD)?.trim_end_matches('0');
        i = end;
    }
    let offset_secs: i64 = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let (oh, om) = match b.len() - i {
                6 if b[i + 3] == b':' => (num(i + 1..i + 3)?, num(i + 4..i + 6)?),
                5 => (num(i + 1..i + 3)?, num(i + 3..i + 5)?),
                3 => (num(i + 1..i + 3)?, 0),
                _ => return Err(BAD),
            };
            if oh > 23 || om > 59 {
                return Err("offset out of range");
            }
            let o = i64::from(oh * 3600 + om * 60);
            if sign == b'+' { o } else { -o }
        }
        _ => return Err(BAD),
    };
    let secs = date_secs + i64::from(hour * 3600 + minute * 60 + second) - offset_secs;
    format_utc(secs, frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_utc_covers_the_years_0000_to_9999() {
        assert_eq!(format_utc(0, "").unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(951_782_400, "").unwrap(), "2000-02-29T00:00:00Z");
        assert_eq!(
            format_utc(1_795_000_000, "").unwrap(),
            "2026-11-18T11:06:40Z"
        );
        assert_eq!(format_utc(-1, "5").unwrap(), "1969-12-31T23:59:59.5Z");
        assert_eq!(
            format_utc(-86_400 * 365, "").unwrap(),
            "1969-01-01T00:00:00Z"
        );
        assert_eq!(format_utc(MAX_EPOCH, "").unwrap(), "9999-12-31T23:59:59Z");
        assert_eq!(format_utc(MIN_EPOCH, "").unwrap(), "0000-01-01T00:00:00Z");
        assert!(format_utc(MAX_EPOCH + 1, "").is_err());
        assert!(format_utc(MIN_EPOCH - 1, "").is_err());
    }

    #[test]
    fn format_utc_agrees_with_day_arithmetic() {
        // Every 997th day from 0190 to 6160: midnight, and the last second of the day.
        let epoch = jiff::civil::date(1970, 1, 1);
        let mut prev: Option<jiff::civil::Date> = None;
        for days in (-650_000..1_530_000i64).step_by(997) {
            let s = format_utc(days * 86_400, "").unwrap();
            let date: jiff::civil::Date = s[..10].parse().unwrap();
            assert_eq!(date.duration_since(epoch).as_secs(), days * 86_400);
            assert!(prev.is_none_or(|p| p < date));
            prev = Some(date);
            let end = format_utc(days * 86_400 + 86_399, "").unwrap();
            assert_eq!(&end[..10], &s[..10]);
            assert_eq!(&end[10..], "T23:59:59Z");
        }
    }

    #[test]
    fn epochs_are_seconds_or_milliseconds() {
        assert_eq!(epoch_to_rfc3339(0.0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(
            epoch_to_rfc3339(951_782_400.0).unwrap(),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            epoch_to_rfc3339(1_795_000_000.0).unwrap(),
            "2026-11-18T11:06:40Z"
        );
        assert_eq!(
            epoch_to_rfc3339(1_795_000_000_250.0).unwrap(),
            "2026-11-18T11:06:40.25Z"
        );
        assert_eq!(
            epoch_to_rfc3339(-0.001).unwrap(),
            "1969-12-31T23:59:59.999Z"
        );
        assert_eq!(
            epoch_to_rfc3339(99_999_999_999.0).unwrap(),
            "5138-11-16T09:46:39Z"
        );
        assert_eq!(
            epoch_to_rfc3339(100_000_000_000.0).unwrap(),
            "1973-03-03T09:46:40Z"
        );
        assert!(epoch_to_rfc3339(f64::NAN).is_err());
        assert!(epoch_to_rfc3339(1e17).is_err());
        assert_eq!(epoch_to_rfc3339(-1e13).unwrap(), "1653-02-10T06:13:20Z");
        assert!(epoch_to_rfc3339(-1e15).is_err());
    }

    #[test]
    fn rfc3339_is_parsed_leniently_and_normalised() {
        let ok = [
            ("1970-01-01", "1970-01-01T00:00:00Z"),
            ("2000-02-29T00:00:00Z", "2000-02-29T00:00:00Z"),
            ("2026-11-18t11:06:40z", "2026-11-18T11:06:40Z"),
            ("2026-11-18 11:06:40", "2026-11-18T11:06:40Z"),
            ("2026-11-18T12:06:40+01:00", "2026-11-18T11:06:40Z"),
            ("2026-11-18T12:06:40+0100", "2026-11-18T11:06:40Z"),
            ("2026-11-18T12:06:40+01", "2026-11-18T11:06:40Z"),
            ("2026-11-18T00:06:40-23:59", "2026-11-19T00:05:40Z"),
            ("2026-11-18T11:06:40.120Z", "2026-11-18T11:06:40.12Z"),
            (
                "2026-11-18T11:06:40.000000000001Z",
                "2026-11-18T11:06:40.000000000001Z",
            ),
            ("2016-12-31T23:59:60Z", "2017-01-01T00:00:00Z"),
            ("2016-12-31T23:59:60+01:00", "2016-12-31T23:00:00Z"),
            ("0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z"),
            ("0000-01-01T00:30:00+00:30", "0000-01-01T00:00:00Z"),
            ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
            ("9999-12-31T23:59:59+01:00", "9999-12-31T22:59:59Z"),
            ("1900-02-28", "1900-02-28T00:00:00Z"),
            ("2400-02-29", "2400-02-29T00:00:00Z"),
        ];
        for (input, want) in ok {
            assert_eq!(parse_rfc3339(input), Ok(want.to_string()), "{input}");
        }
        let bad = [
            ("1900-02-29", "day out of range"),
            ("2100-02-29", "day out of range"),
            ("2019-04-31", "day out of range"),
            ("2019-04-00", "day out of range"),
            ("2019-04-99", "day out of range"),
            ("2019-13-01", "month out of range"),
            ("2019-00-01", "month out of range"),
            ("2019-01-01T24:00:00Z", "time out of range"),
            ("2019-01-01T23:00:61Z", "time out of range"),
            ("2019-01-01T23:00:00+24:00", "offset out of range"),
            ("2019-01-01T23:00:00+01:60", "offset out of range"),
            ("0000-01-01T00:00:00+00:01", "outside the years 0000-9999"),
            ("9999-12-31T23:59:59-00:01", "outside the years 0000-9999"),
            ("9999-12-31T23:59:60Z", "outside the years 0000-9999"),
        ];
        for (input, want) in bad {
            assert_eq!(parse_rfc3339(input), Err(want), "{input}");
        }
        for input in [
            "2019-01-01T23:00:00Zx",
            "2019-01-01T23:00",
            "2019-01-01T23:00:00.Z",
            "2019-01-01T23:00:00+1",
            "2019-01-01X23:00:00Z",
            "2019-1-1",
            "+2019-01-01",
            "yesterday",
            "",
        ] {
            assert_eq!(
                parse_rfc3339(input),
                Err("not an RFC 3339 date-time such as 2024-05-06T07:08:09Z"),
                "{input}"
            );
        }
    }
}
