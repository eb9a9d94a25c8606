//! Clock helpers: the `now` template value and times in the store, all through `jiff`.

use jiff::Timestamp;

/// The current time as RFC 3339 in UTC, whole seconds (`2026-11-18T11:06:40Z`).
pub fn now_rfc3339() -> String {
    rfc3339(Timestamp::now().as_second())
}

/// Seconds since the Unix epoch as RFC 3339 in UTC (`1970-01-01T00:00:00Z`).
pub fn rfc3339(secs: i64) -> String {
    match Timestamp::from_second(secs) {
        Ok(t) => t.to_string(),
        // Out of jiff's range (beyond year ±9999): clamp rather than fail a template.
        Err(_) if secs < 0 => Timestamp::MIN.to_string(),
        Err(_) => Timestamp::MAX.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
    }

    #[test]
    fn now_has_whole_seconds() {
        let n = now_rfc3339();
        assert_eq!(n.len(), 20, "{n}");
        assert!(n.ends_with('Z'));
    }
}
