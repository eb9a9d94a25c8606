//! A seeded generator over the token-response parser: well-formed token responses mutated
//! (bytes inserted, deleted, truncated, numbers pushed to their limits, nesting 100,000 deep),
//! read with default and custom field mappings, never panic and never overflow the stack. The
//! run is bounded by its iteration count and the seed is fixed, so a failure reproduces.

use std::panic::{AssertUnwindSafe, catch_unwind};

use base64::Engine as _;
use wsc_auth::token::{RawResponse, RequestPurpose, jwt_exp, read_response};
use wsc_spec::JsonPath;
use wsc_spec::model::{ResponseFormat, TokenResponseMapping};

use wsc_testkit::rng::Rng;

fn jwt(payload: &str) -> String {
    let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!("{}.{}.sig", b(r#"{"alg":"none"}"#), b(payload))
}

fn bases() -> Vec<String> {
    let mut v: Vec<String> = [
        r#"{"access_token":"abc","token_type":"Bearer","expires_in":3600,"refresh_token":"r1","scope":"a b"}"#,
        r#"{"access_token":"abc","token_type":"bearer","expires_in":"3600","refresh_token_expires_in":86400}"#,
        r#"{"access_token":"abc","expires_at":"2030-01-01T00:00:00Z"}"#,
        r#"{"access_token":"abc","expires_at":1893456000}"#,
        r#"{"data":{"token":"abc","ttl":60},"session":["x",{"id":1}]}"#,
        r#"{"error":"invalid_grant","error_description":"expired"}"#,
        "access_token=abc&token_type=bearer&expires_in=3600",
        "",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for exp in [
        "1700000000",
        "1e308",
        "-5",
        "18446744073709551615",
        "\"soon\"",
    ] {
        let token = jwt(&format!(r#"{{"exp":{exp}}}"#));
        v.push(format!(r#"{{"access_token":"{token}"}}"#));
    }
    v
}

/// Fragments that make numbers, strings and structure extreme.
const FRAGMENTS: &[&str] = &[
    "1e308",
    "-1e308",
    "1e400",
    "18446744073709551615",
    "99999999999999999999999",
    "-0",
    "0.0000001",
    "\"9e999\"",
    "\"-3\"",
    "null",
    "[",
    "]",
    "{",
    "}",
    "\"",
    ",",
    ":",
    "\\u0000",
    "\\ud800",
    "&",
    "=",
    "%",
    "%ff",
    "\u{feff}",
    "é",
];

fn mutate(rng: &mut Rng, base: &str) -> Vec<u8> {
    let mut b = base.as_bytes().to_vec();
    for _ in 0..=rng.below(3) {
        let at = rng.below(b.len() + 1);
        match rng.below(7) {
            0 => b.truncate(at),
            1 => {
                let end = (at + rng.below(8)).min(b.len());
                b.drain(at..end);
            }
            2 | 3 => {
                let f = rng.pick(FRAGMENTS).as_bytes().to_vec();
                b.splice(at..at, f);
            }
            4 => {
                if at < b.len() {
                    b[at] = rng.next() as u8;
                }
            }
            5 => {
                // Deep nesting (100,000 levels are tried once each below).
                let open = *rng.pick(&[&b"["[..], b"{\"a\":", b"[{\"x\":"]);
                let n = *rng.pick(&[10, 129, 200, 2_000]);
                let deep: Vec<u8> = open.repeat(n);
                b.splice(at..at, deep);
            }
            _ => {
                // A number value replaced by an extreme one.
                let text = String::from_utf8_lossy(&b).into_owned();
                let f = rng.pick(&FRAGMENTS[..9]);
                let replaced = text
                    .replacen("3600", f, 1)
                    .replacen("1893456000", f, 1)
                    .replacen("86400", f, 1);
                b = replaced.into_bytes();
            }
        }
    }
    b
}

fn path(rng: &mut Rng) -> Option<JsonPath> {
    let known = [
        "$.access_token",
        "$.data.token",
        "$.data.ttl",
        "$.session[1].id",
        "$['access_token']",
        "$.expires_at",
        "$.expires_in",
        "$",
    ];
    match rng.below(4) {
        0 => None,
        1 | 2 => Some(JsonPath::from(*rng.pick(&known))),
        _ => {
            let base = *rng.pick(&known);
            let m = mutate(rng, base);
            Some(JsonPath(String::from_utf8_lossy(&m).into_owned()))
        }
    }
}

/// A body nested 100,000 levels deep is refused cleanly, whatever its content type.
#[test]
fn deep_token_responses_are_refused() {
    for open in ["[", "{\"a\":", "[{\"access_token\":"] {
        for content_type in ["application/json", ""] {
            let resp = RawResponse {
                status: 200,
                content_type: content_type.into(),
                headers: Vec::new(),
                body: open.repeat(100_000).into_bytes(),
            };
            let mapping = TokenResponseMapping::default();
            let err = read_response(&resp, &mapping, RequestPurpose::Primary, "password", 0)
                .expect_err("a deep body holds no token");
            assert!(err.to_string().contains("token"), "{err}");
        }
    }
}

/// Lifetimes beyond any clock saturate instead of overflowing (found by the generator below).
#[test]
fn huge_lifetimes_saturate() {
    for body in [
        r#"{"access_token":"abc","expires_in":1e308,"refresh_token":"r","refresh_token_expires_in":1e308}"#,
        r#"{"access_token":"abc","expires_in":"18446744073709551615"}"#,
    ] {
        let resp = RawResponse {
            status: 200,
            content_type: "application/json".into(),
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        };
        let t = read_response(
            &resp,
            &TokenResponseMapping::default(),
            RequestPurpose::Primary,
            "password",
            1_700_000_000_000,
        )
        .unwrap();
        assert_eq!(t.expires_at_ms, u64::MAX, "{body}");
    }
    let token = jwt(r#"{"exp":1e300}"#);
    let resp = RawResponse {
        status: 200,
        content_type: "application/json".into(),
        headers: Vec::new(),
        body: format!(r#"{{"access_token":"{token}"}}"#).into_bytes(),
    };
    let mapping = TokenResponseMapping::default();
    let t = read_response(&resp, &mapping, RequestPurpose::Primary, "password", 0).unwrap();
    assert_eq!(t.expires_at_ms, u64::MAX);
}

#[test]
fn token_responses_never_panic() {
    let mut rng = Rng(0x5eed_0001_d00d_f00d);
    let bases = bases();
    let types = [
        "application/json",
        "application/x-www-form-urlencoded",
        "text/html",
        "",
    ];
    for i in 0..3_000 {
        let base = rng.pick(&bases).clone();
        let body = mutate(&mut rng, &base);
        let resp = RawResponse {
            status: *rng.pick(&[200, 200, 200, 201, 400, 401, 404, 500, 0, 999]),
            content_type: rng.pick(&types).to_string(),
            headers: rng
                .pick(&[
                    &[][..],
                    &[("set-cookie", "sid=s1; Path=/; HttpOnly")][..],
                    &[("set-cookie", "=;;=; Max-Age=x"), ("set-cookie", "a")][..],
                    &[
                        ("x-auth-token", " t0k "),
                        ("set-cookie", "b=1; Expires=Mon, 99-Foo-99 99:99:99 GMT"),
                    ][..],
                ])
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body,
        };
        let mapping = TokenResponseMapping {
            access_token_header: rng
                .pick(&[None, Some("X-Auth-Token"), Some("x-missing")])
                .map(str::to_string),
            access_token: path(&mut rng),
            expires_in: path(&mut rng),
            expires_at: path(&mut rng),
            refresh_token: path(&mut rng),
            refresh_token_expires_in: path(&mut rng),
            token_type: path(&mut rng),
            default_expires_in: None,
            format: *rng.pick(&[
                ResponseFormat::Auto,
                ResponseFormat::Json,
                ResponseFormat::Form,
            ]),
        };
        let now = *rng.pick(&[0, 1_700_000_000_000, u64::MAX / 2, u64::MAX]);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let _ = read_response(&resp, &mapping, RequestPurpose::Primary, "password", now)
                .map(|t| t.is_stale(now, std::time::Duration::from_secs(60)));
            let cookies_only = *rng.pick(&[false, true]);
            let _ = wsc_auth::token::read(
                &resp,
                &wsc_auth::token::Reading {
                    mapping: &mapping,
                    purpose: RequestPurpose::Refresh,
                    grant: "custom",
                    success: None,
                    cookies: true,
                    cookies_only,
                },
                now,
            );
            let text = String::from_utf8_lossy(&resp.body);
            for word in text.split(['"', ' ', '=']).take(20) {
                let _ = jwt_exp(word);
            }
        }));
        if outcome.is_err() {
            let shown: String = String::from_utf8_lossy(&resp.body)
                .chars()
                .take(300)
                .collect();
            panic!(
                "iteration {i}: reading a token response panicked\nstatus {} content type {:?} now {now}\nmapping {mapping:?}\nbody: {shown}",
                resp.status, resp.content_type
            );
        }
    }
}
