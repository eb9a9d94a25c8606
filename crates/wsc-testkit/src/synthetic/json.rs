//! Small, allocation-free JSON and date writers used on the hot path.

use jiff::SignedDuration;
use jiff::civil::DateTime;

/// Appends an unsigned integer.
#[inline]
pub(crate) fn push_u64(buf: &mut Vec<u8>, n: u64) {
    let mut b = itoa::Buffer::new();
    buf.extend_from_slice(b.format(n).as_bytes());
}

/// Appends `n` in decimal, left-padded with zeros to at least `width` digits.
#[inline]
pub(crate) fn push_padded(buf: &mut Vec<u8>, n: u64, width: usize) {
    let mut b = itoa::Buffer::new();
    let digits = b.format(n).as_bytes();
    for _ in digits.len()..width {
        buf.push(b'0');
    }
    buf.extend_from_slice(digits);
}

/// Appends a JSON string whose content is known not to need escaping (static word lists).
#[inline]
pub(crate) fn push_plain_str(buf: &mut Vec<u8>, s: &str) {
    debug_assert!(!needs_escape(s));
    buf.push(b'"');
    buf.extend_from_slice(s.as_bytes());
    buf.push(b'"');
}

/// Appends `s` lowercased (ASCII) without quotes.
#[inline]
pub(crate) fn push_lower(buf: &mut Vec<u8>, s: &str) {
    buf.extend(s.bytes().map(|b| b.to_ascii_lowercase()));
}

/// Whether `s` holds a character that must be escaped in a JSON string.
pub(crate) fn needs_escape(s: &str) -> bool {
    s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Appends `s` as a JSON string, escaping what must be escaped.
pub(crate) fn push_str(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    let mut start = 0;
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        buf.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            buf.extend_from_slice(b"\\u00");
            buf.push(HEX[(b >> 4) as usize]);
            buf.push(HEX[(b & 0xf) as usize]);
        } else {
            buf.extend_from_slice(esc);
        }
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
    buf.push(b'"');
}

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z in Unix seconds.
const MIN_SECS: i64 = -62_167_219_200;
const MAX_SECS: i64 = 253_402_300_799;

/// The UTC civil date-time of Unix seconds `secs`, clamped to the years 0000-9999.
fn utc(secs: i64) -> DateTime {
    DateTime::constant(1970, 1, 1, 0, 0, 0, 0)
        .checked_add(SignedDuration::from_secs(secs.clamp(MIN_SECS, MAX_SECS)))
        .expect("the years 0000-9999 are civil date-times")
}

fn push_2(buf: &mut Vec<u8>, n: u32) {
    buf.push(b'0' + (n / 10) as u8);
    buf.push(b'0' + (n % 10) as u8);
}

/// Appends a quoted RFC 3339 UTC timestamp (`"2019-03-04T05:06:07Z"`) for Unix seconds `secs`
/// (years 0..=9999; seconds outside are clamped to them).
pub(crate) fn push_rfc3339(buf: &mut Vec<u8>, secs: i64) {
    let dt = utc(secs);
    buf.push(b'"');
    push_padded(buf, dt.year() as u64, 4);
    buf.push(b'-');
    push_2(buf, dt.month() as u32);
    buf.push(b'-');
    push_2(buf, dt.day() as u32);
    buf.push(b'T');
    push_2(buf, dt.hour() as u32);
    buf.push(b':');
    push_2(buf, dt.minute() as u32);
    buf.push(b':');
    push_2(buf, dt.second() as u32);
    buf.extend_from_slice(b"Z\"");
}

/// An RFC 3339 UTC timestamp as a `String` (no quotes).
pub(crate) fn rfc3339(secs: i64) -> String {
    let mut buf = Vec::with_capacity(22);
    push_rfc3339(&mut buf, secs);
    String::from_utf8_lossy(&buf[1..buf.len() - 1]).into_owned()
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 §5.6.7) for Unix seconds `secs`
/// (years 0..=9999; seconds outside are clamped to them).
pub(crate) fn http_date(secs: i64) -> String {
    const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let dt = utc(secs);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[dt.weekday().to_monday_zero_offset() as usize],
        dt.day(),
        MONTHS[(dt.month() - 1) as usize],
        dt.year(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(MIN_SECS), "0000-01-01T00:00:00Z");
        assert_eq!(rfc3339(MAX_SECS), "9999-12-31T23:59:59Z");
        let mut buf = Vec::new();
        push_rfc3339(&mut buf, 1_451_606_400);
        assert_eq!(buf, b"\"2016-01-01T00:00:00Z\"");
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(http_date(1_795_000_000), "Wed, 18 Nov 2026 11:06:40 GMT");
        assert_eq!(http_date(-86_400), "Wed, 31 Dec 1969 00:00:00 GMT");
    }

    #[test]
    fn escaping() {
        let mut buf = Vec::new();
        push_str(&mut buf, "a\"b\\c\nd\u{1}é");
        assert_eq!(String::from_utf8(buf).unwrap(), r#""a\"b\\c\nd\u0001é""#);
        let mut buf = Vec::new();
        push_padded(&mut buf, 42, 5);
        push_padded(&mut buf, 123_456, 3);
        assert_eq!(buf, b"00042123456");
    }
}
