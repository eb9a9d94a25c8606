//! Date-times: epoch numbers and RFC 3339 text, normalised to UTC.

/// Epoch values at or above this magnitude are milliseconds (1e11 s is the year 5138).
const EPOCH_MILLIS_THRESHOLD: f64 = 1e11;
/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z in Unix seconds.
const MIN_EPOCH: i64 = -62_167_219_200;
const MAX_EPOCH: i64 = 253_402_300_799;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Formats Unix seconds plus a fraction (its digits, without trailing zeros) as
/// `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
fn format_utc(secs: i64, frac: &str) -> Result<String, &'static str> {
    if !(MIN_EPOCH..=MAX_EPOCH).contains(&secs) {
        return Err("outside the years 0000-9999");
    }
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
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
    if day < 1 || day > days_in_month(year, month) {
        return Err("day out of range");
    }
    let date_days = days_from_civil(year, month, day);
    if b.len() == 10 {
        return format_utc(date_days * 86_400, "");
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
    let secs = date_days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_secs;
    format_utc(secs, frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_helpers_round_trip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(format_utc(MAX_EPOCH, "").unwrap(), "9999-12-31T23:59:59Z");
        assert_eq!(format_utc(MIN_EPOCH, "").unwrap(), "0000-01-01T00:00:00Z");
        assert!(format_utc(MAX_EPOCH + 1, "").is_err());
    }
}
