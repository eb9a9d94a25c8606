//! XML and SOAP request bodies: an `xml` template (every value XML-escaped) sent as is, or
//! wrapped in a SOAP envelope with the content type and action of its version; and the
//! header block of the authenticator (WS-Security) put into the envelope on each attempt.

use serde_json::Value;
use wsc_spec::model::{RequestSpec, SoapVersion};

use crate::message::{Body, PreparedRequest};
use crate::template::{Escape, Template, TemplateError, Templates};

/// The empty SOAP header every envelope wsc builds carries, replaced by the authenticator's
/// header block when it has one.
pub const EMPTY_HEADER: &str = "<soap:Header/>";

/// A compiled `xml` body, with its envelope when the request is a SOAP request.
#[derive(Debug, Clone)]
pub struct CompiledXml {
    body: Template,
    soap: Option<CompiledSoap>,
}

#[derive(Debug, Clone)]
struct CompiledSoap {
    version: SoapVersion,
    action: Option<Template>,
    /// ` xmlns:p="uri"` for each declared prefix (values escaped).
    declarations: String,
}

impl CompiledXml {
    /// Compiles `request.xml` (and `request.soap`), when the request has them.
    pub fn compile(
        t: &mut Templates,
        location: &str,
        r: &RequestSpec,
    ) -> Result<Option<CompiledXml>, TemplateError> {
        let Some(x) = &r.xml else { return Ok(None) };
        let body = t.compile(&format!("{location}.xml"), x.as_str(), Escape::Xml)?;
        let soap = match &r.soap {
            None => None,
            Some(s) => Some(CompiledSoap {
                version: s.version,
                action: s
                    .action
                    .as_ref()
                    .map(|a| {
                        t.compile(&format!("{location}.soap.action"), a.as_str(), Escape::None)
                    })
                    .transpose()?,
                declarations: s
                    .namespaces
                    .iter()
                    .map(|(p, uri)| format!(" xmlns:{p}=\"{}\"", crate::template::xml_escape(uri)))
                    .collect(),
            }),
        };
        Ok(Some(CompiledXml { body, soap }))
    }

    /// The body for one context, and the headers it adds (`SOAPAction` for SOAP 1.1).
    pub fn render(
        &self,
        t: &Templates,
        ctx: &Value,
    ) -> Result<(Body, Vec<(String, String)>), TemplateError> {
        let inner = t.render(&self.body, ctx)?;
        let Some(s) = &self.soap else {
            let body = Body::Raw {
                content_type: "application/xml; charset=utf-8".into(),
                text: inner,
            };
            return Ok((body, Vec::new()));
        };
        let action = match &s.action {
            None => String::new(),
            Some(a) => {
                let v = t.render(a, ctx)?;
                if v.chars().any(|c| c == '"' || c == '\\' || c.is_control()) {
                    return Err(TemplateError {
                        location: a.location().to_string(),
                        source_text: a.source().to_string(),
                        message: format!(
                            "the SOAP action `{}` has a quote, backslash or control character, \
                             which cannot go into a quoted header value",
                            v.escape_debug()
                        ),
                        missing: None,
                    });
                }
                v
            }
        };
        let text = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
             <soap:Envelope xmlns:soap=\"{}\"{}>{EMPTY_HEADER}<soap:Body>{inner}</soap:Body>\
             </soap:Envelope>",
            s.version.envelope_ns(),
            s.declarations
        );
        let (content_type, headers) = match s.version {
            SoapVersion::V11 => (
                "text/xml; charset=utf-8".to_string(),
                vec![("SOAPAction".to_string(), format!("\"{action}\""))],
            ),
            SoapVersion::V12 if action.is_empty() => (
                "application/soap+xml; charset=utf-8".to_string(),
                Vec::new(),
            ),
            SoapVersion::V12 => (
                format!("application/soap+xml; charset=utf-8; action=\"{action}\""),
                Vec::new(),
            ),
        };
        Ok((Body::Raw { content_type, text }, headers))
    }
}

/// The request as it goes out with the authenticator's SOAP header block (WS-Security) in
/// its envelope. An error when the body is not an envelope wsc built (a request without
/// `soap`, or one a hook replaced).
pub fn with_header_block(req: &PreparedRequest, block: &str) -> Result<PreparedRequest, String> {
    let text = match &req.body {
        Body::Raw { text, .. } if text.contains(EMPTY_HEADER) => text,
        _ => {
            return Err(
                "`auth: ws_security` puts its UsernameToken into the SOAP header, but this \
                 request has no SOAP envelope built by wsc (`request.soap` with an `xml` body)"
                    .to_string(),
            );
        }
    };
    let mut out = req.clone();
    if let Body::Raw { text: t, .. } = &mut out.body {
        *t = text.replacen(
            EMPTY_HEADER,
            &format!("<soap:Header>{block}</soap:Header>"),
            1,
        );
    }
    Ok(out)
}
