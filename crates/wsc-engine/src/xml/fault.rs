//! SOAP faults: a SOAP 1.1 (`faultcode` / `faultstring`) or SOAP 1.2 (`Code/Value` /
//! `Reason/Text`) fault in a response body, whatever its HTTP status, read into one line.

/// The SOAP 1.1 envelope namespace.
pub(crate) const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The SOAP 1.2 envelope namespace.
pub(crate) const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";

/// The fault of a parsed SOAP envelope, as `SOAP fault <code>: <message>`; `None` when the
/// document is not a SOAP envelope with a fault in its body.
pub(crate) fn fault_of(doc: &roxmltree::Document<'_>) -> Option<String> {
    let env = doc.root_element();
    let ns = env.tag_name().namespace()?;
    if env.tag_name().name() != "Envelope" || (ns != SOAP11 && ns != SOAP12) {
        return None;
    }
    fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
        n.children()
            .find(|c| c.is_element() && c.tag_name().name() == name)
    }
    let text = |n: roxmltree::Node<'_, '_>| {
        let t: String = n
            .descendants()
            .filter(|d| d.is_text())
            .filter_map(|d| d.text())
            .collect();
        t.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let fault = child(child(env, "Body")?, "Fault")?;
    let (code, reason) = if ns == SOAP11 {
        (
            child(fault, "faultcode").map(text),
            child(fault, "faultstring").map(text),
        )
    } else {
        (
            child(fault, "Code")
                .and_then(|c| child(c, "Value"))
                .map(text),
            child(fault, "Reason")
                .and_then(|r| child(r, "Text"))
                .map(text),
        )
    };
    let code = code.filter(|c| !c.is_empty()).unwrap_or_else(|| "?".into());
    let reason = reason
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "(no fault string)".into());
    Some(format!("SOAP fault {code}: {reason}"))
}

/// Whether a response body is a SOAP fault the client caused (`Client` in SOAP 1.1,
/// `Sender` in SOAP 1.2): sending the same request again gets the same fault, so such a
/// response is not retried whatever its status (SOAP 1.1 sends every fault with HTTP 500).
pub(crate) fn is_sender_fault(body: &[u8]) -> bool {
    soap_fault(body).is_some_and(|f| {
        let code = f.trim_start_matches("SOAP fault ");
        let code = code.split(": ").next().unwrap_or("");
        let local = code.rsplit(':').next().unwrap_or(code);
        local.starts_with("Client") || local.starts_with("Sender")
    })
}

/// The SOAP fault in a response body, for the error of a failed request: only bodies that
/// look like XML and mention `Fault` are parsed, with the same limits as XML pages (no DTD).
pub(crate) fn soap_fault(body: &[u8]) -> Option<String> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace())?;
    if body[start] != b'<' || memchr::memmem::find(body, b"Fault").is_none() {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    let doc = roxmltree::Document::parse_with_options(text, super::parse_options()).ok()?;
    fault_of(&doc)
}

#[cfg(test)]
mod tests {
    use super::soap_fault;

    #[test]
    fn soap_11_and_12_faults() {
        let f11 = br#"<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>Invalid user id</faultstring></soap:Fault></soap:Body></soap:Envelope>"#;
        assert_eq!(
            soap_fault(f11).as_deref(),
            Some("SOAP fault soap:Client: Invalid user id")
        );
        let f12 = br#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault><env:Code><env:Value>env:Sender</env:Value></env:Code><env:Reason><env:Text xml:lang="en">Bad
          request</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>"#;
        assert_eq!(
            soap_fault(f12).as_deref(),
            Some("SOAP fault env:Sender: Bad request")
        );
        assert!(super::is_sender_fault(f11) && super::is_sender_fault(f12));
        assert_eq!(soap_fault(br#"{"Fault": 1}"#), None);
        assert_eq!(soap_fault(b"<a><Fault/></a>"), None);
    }
}
