//! SOAP requests over real loopback HTTP, against wsc-testkit's replay server: the envelope
//! around an `xml` body with every inserted value XML-escaped, the SOAP 1.1 and 1.2 content
//! types and actions, and the WS-Security UsernameToken (PasswordDigest recomputed from what
//! arrived; a fresh nonce per request; PasswordText escaped).

mod common;

use std::path::PathBuf;

use common::try_engine;
use indexmap::IndexMap;
use wsc_testkit::replay::{Cassette, Interaction, RecordedResponse, ReplayServer, RequestMatcher};

const PASSWORD: &str = "pa&ss<w>ord";

fn connector(version: &str, password_type: &str) -> String {
    format!(
        r#"connector: soap_it
settings:
  base_url: {{}}
  username: {{}}
  password: {{ secret: true }}
base_url: "{{{{settings.base_url}}}}"
namespaces: {{ s: "http://schemas.xmlsoap.org/soap/envelope/", d: "urn:d" }}
http: {{ retry: {{ max_attempts: 1 }} }}
auth:
  type: ws_security
  username: "{{{{settings.username}}}}"
  password: "{{{{settings.password}}}}"
  password_type: {password_type}
operations:
  get_object:
    account:
      format: xml
      request:
        method: POST
        path: /soap
        soap: {{ version: "{version}", action: "urn:d/GetUser", namespaces: {{ d: "urn:d" }} }}
        xml: <d:GetUser><d:id>{{{{plan.identity}}}}</d:id><d:note a="{{{{plan.identity}}}}"/></d:GetUser>
      records: //d:User
      identity: d:id
      name: d:name
"#
    )
}

const RESPONSE: &str = r#"<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><d:GetUserResponse xmlns:d="urn:d"><d:User><d:id>a&amp;b&lt;c&gt;"d'</d:id><d:name>Ann</d:name></d:User></d:GetUserResponse></soap:Body></soap:Envelope>"#;

async fn replay(body_text: &str) -> ReplayServer {
    let cassette = Cassette {
        ordered: false,
        interactions: vec![Interaction {
            request: RequestMatcher {
                method: "POST".into(),
                path: "/soap".into(),
                query: IndexMap::new(),
                query_match: Default::default(),
                headers: IndexMap::new(),
                body: None,
                body_match: Default::default(),
                body_text: Some(body_text.into()),
            },
            response: RecordedResponse {
                status: 200,
                headers: [("content-type".to_string(), "text/xml".to_string())]
                    .into_iter()
                    .collect(),
                body: None,
                text: Some(RESPONSE.into()),
                file: None,
            },
            times: 0,
        }],
    };
    ReplayServer::start(cassette, PathBuf::from("."))
        .await
        .unwrap()
}

/// The text of the first `<tag ...>text</tag>` in `s`.
fn element<'s>(s: &'s str, tag: &str) -> &'s str {
    let start = s
        .find(&format!("<{tag}>"))
        .or_else(|| s.find(&format!("<{tag} ")))
        .unwrap_or_else(|| panic!("no {tag} in {s}"));
    let open_end = start + s[start..].find('>').unwrap() + 1;
    let close = open_end + s[open_end..].find(&format!("</{tag}>")).unwrap();
    &s[open_end..close]
}

const ID: &str = "a&b<c>\"d'";
const ESCAPED: &str = "a&amp;b&lt;c&gt;&quot;d&apos;";

#[tokio::test]
async fn soap11_envelope_escapes_values_and_carries_a_fresh_digest() {
    let expected = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:d=\"urn:d\"><soap:Header><redacted:ws_security></soap:Header><soap:Body><d:GetUser><d:id>{ESCAPED}</d:id><d:note a=\"{ESCAPED}\"/></d:GetUser></soap:Body></soap:Envelope>"
    );
    let server = replay(&expected).await;
    let engine = try_engine(
        &connector("1.1", "digest"),
        &[
            ("base_url", &server.base_url()),
            ("username", "svc"),
            ("password", PASSWORD),
        ],
    )
    .unwrap();
    for _ in 0..2 {
        let r = engine.get_object("account", ID).await.expect("the user");
        assert_eq!(r.identity, ID);
    }
    let report = server.report();
    assert!(report.unmatched.is_empty(), "{:?}", report.unmatched);
    let mut nonces = Vec::new();
    for req in &report.requests {
        let header = |n: &str| {
            req.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(header("content-type"), Some("text/xml; charset=utf-8"));
        assert_eq!(header("soapaction"), Some("\"urn:d/GetUser\""));
        let body = &req.body;
        assert!(body.contains("soap:mustUnderstand=\"1\""), "{body}");
        assert_eq!(element(body, "wsse:Username"), "svc");
        let nonce = element(body, "wsse:Nonce");
        let created = element(body, "wsu:Created");
        let digest = element(body, "wsse:Password");
        assert!(body.contains("#PasswordDigest\""), "{body}");
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(nonce)
            .unwrap();
        assert_eq!(raw.len(), 16);
        assert_eq!(
            digest,
            wsc_auth::password_digest(&raw, created, PASSWORD),
            "{body}"
        );
        assert!(created.ends_with('Z') && created.len() == 24, "{created}");
        assert!(
            !body.contains("pa&amp;ss") && !body.contains(PASSWORD),
            "{body}"
        );
        nonces.push(nonce.to_string());
    }
    assert_eq!(nonces.len(), 2);
    assert_ne!(nonces[0], nonces[1], "a fresh nonce per request");
    server.shutdown().await;
}

#[tokio::test]
async fn soap12_action_in_the_content_type_and_password_text_escaped() {
    let expected = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:d=\"urn:d\"><soap:Header><redacted:ws_security></soap:Header><soap:Body><d:GetUser><d:id>{ESCAPED}</d:id><d:note a=\"{ESCAPED}\"/></d:GetUser></soap:Body></soap:Envelope>"
    );
    let server = replay(&expected).await;
    let engine = try_engine(
        &connector("1.2", "text"),
        &[
            ("base_url", &server.base_url()),
            ("username", "s<v>c"),
            ("password", PASSWORD),
        ],
    )
    .unwrap();
    engine.get_object("account", ID).await.expect("the user");
    let report = server.report();
    let req = &report.requests[0];
    let ct = req
        .headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.as_str());
    assert_eq!(
        ct,
        Some("application/soap+xml; charset=utf-8; action=\"urn:d/GetUser\"")
    );
    assert!(!req.headers.iter().any(|(k, _)| k == "soapaction"));
    assert_eq!(element(&req.body, "wsse:Username"), "s&lt;v&gt;c");
    assert_eq!(element(&req.body, "wsse:Password"), "pa&amp;ss&lt;w&gt;ord");
    assert!(req.body.contains("#PasswordText\""), "{}", req.body);
    server.shutdown().await;
}

#[tokio::test]
async fn a_hostile_value_cannot_add_elements() {
    // The identity tries to close the element and add a sibling; it arrives as text.
    let hostile = "x</d:id><d:admin>true</d:admin><d:id>";
    let expected = "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:d=\"urn:d\"><soap:Header><redacted:ws_security></soap:Header><soap:Body><d:GetUser><d:id>x&lt;/d:id&gt;&lt;d:admin&gt;true&lt;/d:admin&gt;&lt;d:id&gt;</d:id><d:note a=\"x&lt;/d:id&gt;&lt;d:admin&gt;true&lt;/d:admin&gt;&lt;d:id&gt;\"/></d:GetUser></soap:Body></soap:Envelope>";
    let server = replay(expected).await;
    let engine = try_engine(
        &connector("1.1", "digest"),
        &[
            ("base_url", &server.base_url()),
            ("username", "svc"),
            ("password", PASSWORD),
        ],
    )
    .unwrap();
    engine
        .get_object("account", hostile)
        .await
        .expect("matched");
    assert!(server.report().unmatched.is_empty());
    server.shutdown().await;
}
