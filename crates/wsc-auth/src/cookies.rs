//! The cookies a custom login sets, kept with its token and sent back on the requests it
//! authenticates, the way a browser sends a session cookie.
//!
//! Only what a session needs: each `Set-Cookie` header gives a name and a value; a cookie
//! set with `Max-Age=0` (or a negative one) or an `Expires` date in the past is removed.
//! `Domain` and `Path` are not applied: the cookies go with every request that gets the
//! connector's credentials, which only the hosts the connector names ever receive.

/// Cookies by name, in the order they were first set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CookieSet(Vec<(String, String)>);

impl CookieSet {
    /// Reads a `Cookie` header value (`a=1; b=2`), as [`CookieSet::header`] writes it.
    pub(crate) fn parse_header(s: &str) -> CookieSet {
        CookieSet(
            s.split(';')
                .filter_map(|p| {
                    let (k, v) = p.trim().split_once('=')?;
                    (!k.is_empty()).then(|| (k.to_string(), v.to_string()))
                })
                .collect(),
        )
    }

    /// Applies the `Set-Cookie` header values of one response, in order.
    pub(crate) fn apply(&mut self, set_cookies: &[&str], now_secs: i64) {
        for sc in set_cookies {
            let mut parts = sc.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim().trim_matches('"'));
            if name.is_empty() {
                continue;
            }
            let removed = parts.any(|attr| {
                let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
                let (k, v) = (k.trim(), v.trim());
                if k.eq_ignore_ascii_case("max-age") {
                    v.parse::<i64>().is_ok_and(|n| n <= 0)
                } else if k.eq_ignore_ascii_case("expires") {
                    http_date_secs(v).is_some_and(|at| at <= now_secs)
                } else {
                    false
                }
            });
            self.0.retain(|(n, _)| n != name);
            if !removed {
                self.0.push((name.to_string(), value.to_string()));
            }
        }
    }

    /// Sets every cookie of `other` over these.
    pub(crate) fn merge(&mut self, other: &CookieSet) {
        for (k, v) in &other.0 {
            self.0.retain(|(n, _)| n != k);
            self.0.push((k.clone(), v.clone()));
        }
    }

    /// Whether no cookie is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The values of the cookies held.
    pub(crate) fn values(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(_, v)| v.as_str())
    }

    /// The `Cookie` header value: `a=1; b=2`.
    pub(crate) fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, also with `-` between the date parts as
/// old cookies write it) in seconds since the epoch.
fn http_date_secs(s: &str) -> Option<i64> {
    let s = s.trim();
    let rest = s.split_once(',').map_or(s, |(_, r)| r).trim();
    let rest = rest.replace('-', " ");
    let mut it = rest.split_whitespace();
    let day: i8 = it.next()?.parse().ok()?;
    let month: i8 = match it.next()?.to_ascii_lowercase().as_str() {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "may" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return None,
    };
    let mut year: i32 = it.next()?.parse().ok()?;
    if year < 100 {
        year += if year < 70 { 2000 } else { 1900 };
    }
    let mut hms = it.next()?.split(':');
    let (h, m, sec): (i8, i8, i8) = (
        hms.next()?.parse().ok()?,
        hms.next()?.parse().ok()?,
        hms.next()?.parse().ok()?,
    );
    if !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm), then seconds.
    let (y, mo, d) = (i64::from(year), i64::from(month), i64::from(day));
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (mo + if mo > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(sec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_headers_make_a_cookie_header() {
        let mut c = CookieSet::default();
        c.apply(
            &[
                "session=abc.def; Path=/; HttpOnly; SameSite=Lax",
                "remember_token=\"u1|x\"; Expires=Sun, 06 Nov 2044 08:49:37 GMT",
                "=nameless",
                "broken",
            ],
            1_000,
        );
        assert_eq!(c.header(), "session=abc.def; remember_token=u1|x");
        // A later response replaces one and removes the other.
        c.apply(
            &[
                "session=new; Path=/",
                "remember_token=; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            ],
            1_000,
        );
        assert_eq!(c.header(), "session=new");
        c.apply(&["session=; Max-Age=0"], 1_000);
        assert!(c.is_empty());
        assert_eq!(
            CookieSet::parse_header("a=1; b=2=3"),
            CookieSet(vec![("a".into(), "1".into()), ("b".into(), "2=3".into())])
        );
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            http_date_secs("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            http_date_secs("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(http_date_secs("yesterday"), None);
    }
}
