//! XML endpoints of the synthetic API (`/api/xml/*`): a namespaced user listing with offset
//! paging, a user's groups (`/api/xml/groups?user=<id>`), SOAP 1.1 and 1.2 faults, and hostile XML bodies (billion laughs, deep nesting, an
//! external entity).

use hyper::StatusCode;
use hyper::header;

use super::data::{user, user_index};
use super::state::{Reply, State, param};

/// The namespace of the user listing.
pub(crate) const USERS_NS: &str = "urn:wsc:synthetic:users";

fn xml(status: StatusCode, content_type: &str, body: String) -> Reply {
    Reply::json(status, body.into_bytes()).header(header::CONTENT_TYPE, content_type)
}

/// Escapes text for XML content and attribute values.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `/api/xml/<what>`.
pub(crate) fn route(state: &State, what: &str, query: &str) -> Reply {
    match what {
        "users" => users(state, query),
        "groups" => user_groups(state, query),
        "fault" => fault(query),
        "hostile" => hostile(query),
        "error" => xml(
            StatusCode::OK,
            "application/xml",
            "<result><status>failed</status><message>Quota exceeded for this tenant</message></result>".into(),
        ),
        _ => Reply::error(StatusCode::NOT_FOUND, "not_found", "no such endpoint"),
    }
}

fn users(state: &State, query: &str) -> Reply {
    let num = |k: &str, d: u64| {
        param(query, k)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(d)
    };
    let total = state.shape.users;
    // `after=N` (cursor and next-URL paging) starts after position N - 1, like `offset=N`.
    let offset = num("after", num("offset", 0)).min(total);
    let limit = num("limit", 100).clamp(1, state.config.max_page_size as u64);
    let end = (offset + limit).min(total);
    let more = if end < total {
        format!(" cursor=\"{end}\"")
    } else {
        String::new()
    };
    let mut body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<u:users xmlns:u=\"{USERS_NS}\" total=\"{total}\" offset=\"{offset}\"{more}>"
    );
    if end < total {
        body.push_str(&format!(
            "<u:next>{}/api/xml/users?after={end}&amp;limit={limit}</u:next>",
            state.base_url
        ));
    }
    for i in offset..end {
        let u = user(&state.config, i as usize);
        body.push_str(&format!(
            "<u:user id=\"{}\" active=\"{}\"><u:userName>{}</u:userName><u:displayName>{}</u:displayName><u:email>{}</u:email><u:employeeNumber>{}</u:employeeNumber><u:groups>",
            esc(&u.id),
            u.active,
            esc(&u.user_name),
            esc(&u.display_name),
            esc(&u.emails[0].value),
            u.employee_number
        ));
        for g in &u.groups {
            body.push_str(&format!("<u:group>{}</u:group>", esc(g)));
        }
        body.push_str("</u:groups></u:user>");
    }
    body.push_str("</u:users>");
    xml(StatusCode::OK, "application/xml; charset=utf-8", body)
}

/// `/api/xml/groups?user=<id>`: the user's groups, `<u:groups user="..."><u:group>...`; 404
/// for an unknown user.
fn user_groups(state: &State, query: &str) -> Reply {
    let id = param(query, "user").unwrap_or_default();
    let Some(i) = user_index(&id).filter(|&i| (i as u64) < state.shape.users) else {
        return Reply::error(StatusCode::NOT_FOUND, "not_found", "no such user");
    };
    let u = user(&state.config, i);
    let mut body = format!(
        "<?xml version=\"1.0\"?>\n<u:groups xmlns:u=\"{USERS_NS}\" user=\"{}\">",
        esc(&u.id)
    );
    for g in &u.groups {
        body.push_str(&format!("<u:group>{}</u:group>", esc(g)));
    }
    body.push_str("</u:groups>");
    xml(StatusCode::OK, "application/xml; charset=utf-8", body)
}

fn fault(query: &str) -> Reply {
    let code = param(query, "code").map_or("Client".to_string(), |c| c.into_owned());
    let status = match param(query, "status").as_deref() {
        Some("200") => StatusCode::OK,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if param(query, "version").as_deref() == Some("12") {
        let code = if code == "Client" { "Sender" } else { &code };
        let body = format!(
            "<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\"><env:Body><env:Fault><env:Code><env:Value>env:{code}</env:Value></env:Code><env:Reason><env:Text xml:lang=\"en\">Unknown user id u9999999</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>"
        );
        return xml(status, "application/soap+xml; charset=utf-8", body);
    }
    let body = format!(
        "<?xml version=\"1.0\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><soap:Fault><faultcode>soap:{code}</faultcode><faultstring>Unknown user id u9999999</faultstring></soap:Fault></soap:Body></soap:Envelope>"
    );
    xml(status, "text/xml; charset=utf-8", body)
}

fn hostile(query: &str) -> Reply {
    let body = match param(query, "kind").as_deref() {
        Some("laughs") => {
            let mut b = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n");
            b.push_str(" <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n");
            for i in 2..=9 {
                let prev = format!("&lol{};", i - 1);
                b.push_str(&format!(" <!ENTITY lol{i} \"{}\">\n", prev.repeat(10)));
            }
            b.push_str("]>\n<users><user id=\"1\"><name>&lol9;</name></user></users>");
            b
        }
        Some("deep") => {
            let mut b = String::from("<users><user id=\"1\">");
            b.push_str(&"<a>".repeat(10_000));
            b.push_str(&"</a>".repeat(10_000));
            b.push_str("</user></users>");
            b
        }
        Some("xxe") => "<?xml version=\"1.0\"?>\n<!DOCTYPE users [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n<users><user id=\"1\"><name>&xxe;</name></user></users>".to_string(),
        Some("json") => {
            return Reply::json(StatusCode::OK, br#"{"users":[{"id":"1"}]}"#.to_vec());
        }
        _ => return Reply::error(StatusCode::BAD_REQUEST, "invalid_parameter", "kind must be laughs, deep, xxe or json"),
    };
    xml(StatusCode::OK, "application/xml", body)
}
