//! Dates, shared by the hook standard library (`parse_date`, `format_date`, `now_iso`) and
//! the template helpers of the same names, so both read and write dates the same way.

/// Reads a date into Unix seconds: RFC 3339 / ISO 8601 with an offset, RFC 2822 (e-mail and
/// HTTP dates), or a date-time or date without offset (taken as UTC).
pub fn parse(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Ok(ts.as_second());
    }
    if let Ok(ts) = jiff::fmt::rfc2822::DateTimeParser::new()
        .relaxed_weekday(true)
        .parse_timestamp(s)
    {
        return Ok(ts.as_second());
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>()
        && let Ok(z) = dt.to_zoned_datetime(jiff::tz::TimeZone::UTC)
    {
        return Ok(z.timestamp().as_second());
    }
    Err(format!(
        "cannot read {s:?} as a date; expected RFC 3339 (2024-05-01T12:00:00Z), RFC 2822 \
         (Wed, 01 May 2024 12:00:00 GMT) or a date (2024-05-01); \
         or use parse_date(text, format)"
    ))
}

/// Reads a date with a strftime-style format; without an offset in the text, UTC.
pub fn parse_with(s: &str, format: &str) -> Result<i64, String> {
    let tm = jiff::fmt::strtime::parse(format, s)
        .map_err(|e| format!("{s:?} does not match {format:?}: {e}"))?;
    if let Ok(ts) = tm.to_timestamp() {
        return Ok(ts.as_second());
    }
    let dt = tm
        .to_datetime()
        .map_err(|e| format!("{s:?} is not a full date: {e}"))?;
    dt.to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_second())
        .map_err(|e| e.to_string())
}

/// Unix seconds as UTC text with a strftime format (`%Y-%m-%dT%H:%M:%SZ`).
pub fn format(unix: i64, format: &str) -> Result<String, String> {
    let ts =
        jiff::Timestamp::from_second(unix).map_err(|e| format!("{unix} is out of range: {e}"))?;
    jiff::fmt::strtime::format(format, ts).map_err(|e| format!("bad format {format:?}: {e}"))
}

/// Unix seconds as RFC 3339 UTC text, whole seconds (`2024-05-01T12:00:00Z`).
pub fn rfc3339(unix: i64) -> Result<String, String> {
    jiff::Timestamp::from_second(unix)
        .map(|t| t.to_string())
        .map_err(|e| format!("{unix} is out of range: {e}"))
}

/// The current time as RFC 3339 UTC text, whole seconds.
pub fn now_iso() -> String {
    let now = jiff::Timestamp::now();
    jiff::Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string()
}
