//! The HTTP/1.1 server: accept loop, routing, paging and fault injection.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::body::Incoming;
use hyper::header::{self};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::data::{
    mix64, parse_group_id, parse_user_id, push_group_id, push_user_id, user_group_indices,
    write_group, write_group_summary, write_user,
};
use super::json::{http_date, push_u64};
use super::state::{InjectedReset, Reply, State, param};
use super::stats::{InFlight, add, fault_slot, inc};
use super::{FaultKind, RetryAfter, auth, session};

/// Accepts connections until `shutdown` changes or its sender is dropped.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    inc(&state.stats.connections);
                    conns.spawn(serve_connection(stream, state.clone()));
                }
                Err(err) => {
                    tracing::warn!(%err, "synthetic api: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}

async fn serve_connection(stream: TcpStream, state: Arc<State>) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |req| {
        let state = state.clone();
        async move { handle(&state, req).await.map(Reply::into_response) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    if let Err(err) = conn.await {
        tracing::trace!(%err, "synthetic api: connection ended");
    }
}

async fn handle(state: &State, req: Request<Incoming>) -> Result<Reply, InjectedReset> {
    inc(&state.stats.requests);
    let _in_flight = InFlight::enter(&state.stats);
    let reply = if req.uri().path() == "/oauth/token" {
        let reply = auth::token_endpoint(state, req).await;
        state.hold.pass().await;
        reply
    } else if req.uri().path() == "/login" && state.config.login.is_some() {
        session::login(state, req).await
    } else if req.uri().path().starts_with("/api/") {
        api(state, &req).await?
    } else {
        Reply::error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
    };
    match reply.status {
        StatusCode::BAD_REQUEST => inc(&state.stats.bad_requests),
        StatusCode::NOT_FOUND => inc(&state.stats.not_found),
        _ => {}
    }
    add(&state.stats.bytes, reply.body.len() as u64);
    Ok(reply)
}

async fn api(state: &State, req: &Request<Incoming>) -> Result<Reply, InjectedReset> {
    if req.method() == Method::POST
        && let Some(id) = req
            .uri()
            .path()
            .strip_prefix("/api/groups/")
            .and_then(|r| r.strip_suffix("/join"))
    {
        if let Err(reply) = auth::check(state, req) {
            inc(&state.stats.auth_failures);
            return Ok(reply);
        }
        return Ok(join(state, id));
    }
    if req.method() != Method::GET {
        return Ok(Reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "only GET is supported",
        )
        .header(header::ALLOW, "GET"));
    }
    if let Err(reply) = auth::check(state, req) {
        inc(&state.stats.auth_failures);
        return Ok(reply);
    }
    let path = req.uri().path();
    if path == "/api/me" {
        return Ok(Reply::json(StatusCode::OK, b"{\"ok\":true}".to_vec()));
    }
    inc(&state.stats.data_requests);
    let seq = state.data_seq.fetch_add(1, Relaxed);
    if !state.config.latency.is_zero() {
        tokio::time::sleep(state.config.latency).await;
    }
    let fault = if state.config.faults.any() {
        state.pick_fault(seq)
    } else {
        None
    };
    if let Some(kind) = fault {
        inc(&state.stats.faults[fault_slot(kind)]);
        match kind {
            FaultKind::TooManyRequests => {
                let reply = Reply::error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "synthetic fault: too many requests",
                );
                return Ok(match state.config.faults.retry_after {
                    RetryAfter::Seconds(s) => reply.header(header::RETRY_AFTER, s.to_string()),
                    RetryAfter::HttpDate(s) => {
                        let now = SystemTime::now()
                            .duration_since(UNIX_EPOCH)
                            .map(|d| d.as_secs())
                            .unwrap_or(0);
                        reply.header(header::RETRY_AFTER, http_date((now + s) as i64))
                    }
                    RetryAfter::Omitted => reply,
                });
            }
            FaultKind::ServerError => {
                return Ok(Reply::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "synthetic fault: internal server error",
                ));
            }
            FaultKind::Reset => return Err(InjectedReset),
            FaultKind::Slow => tokio::time::sleep(state.config.faults.slow_delay).await,
            FaultKind::ErrorInBody => {
                return Ok(Reply::json(
                    StatusCode::OK,
                    b"{\"error\":{\"code\":\"internal\",\"message\":\"synthetic fault: error object in a 200 response\"}}".to_vec(),
                ));
            }
            FaultKind::Malformed => {}
        }
    }
    let mut reply = route(state, path, req.uri().query().unwrap_or(""));
    if fault == Some(FaultKind::Malformed) {
        reply.status = StatusCode::OK;
        let keep = (reply.body.len() / 2).max(1);
        reply.body.truncate(keep);
    }
    Ok(reply)
}

/// Users or groups.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Coll {
    Users,
    Groups,
}

impl Coll {
    fn name(self) -> &'static str {
        match self {
            Coll::Users => "users",
            Coll::Groups => "groups",
        }
    }
}

#[derive(Clone, Copy)]
enum Style {
    Offset,
    Page,
    Cursor,
    Next,
    Link,
}

fn route(state: &State, path: &str, query: &str) -> Reply {
    let rest = &path["/api/".len()..];
    if let Some(what) = rest.strip_prefix("xml/") {
        return super::xml::route(state, what, query);
    }
    let mut segs = rest.split('/');
    let coll = match segs.next() {
        Some("users") => Coll::Users,
        Some("groups") => Coll::Groups,
        _ => return not_found("no such endpoint"),
    };
    let (Some(second), third, None) = (segs.next(), segs.next(), segs.next()) else {
        return not_found("no such endpoint");
    };
    let style = match (second, third) {
        ("offset", None) => Style::Offset,
        ("page", None) => Style::Page,
        ("cursor", None) => Style::Cursor,
        ("next", None) => Style::Next,
        ("link", None) => Style::Link,
        (id, None) => return single(state, coll, id),
        (id, Some("groups")) if coll == Coll::Users => return user_groups(state, id),
        _ => return not_found("no such endpoint"),
    };
    match list(state, coll, style, query) {
        Ok(reply) => reply,
        Err(reply) => reply,
    }
}

/// `POST /api/groups/{id}/join`, answered as Slack's `conversations.join`: 200 with
/// `{"ok": true}` the first time, `{"ok": false, "error": "already_in_channel"}` after, and
/// `{"ok": false, "error": "is_archived"}` for an archived group (never joined).
fn join(state: &State, id: &str) -> Reply {
    let Some(index) = parse_group_id(id).filter(|&i| i < state.shape.groups) else {
        return not_found(&format!("no group with id {id:?}"));
    };
    if state.config.archived_groups.contains(&(index as usize)) {
        return Reply::json(
            StatusCode::OK,
            b"{\"ok\":false,\"error\":\"is_archived\"}".to_vec(),
        );
    }
    let mut joins = state.joins.lock().unwrap_or_else(|e| e.into_inner());
    let n = joins.entry(id.to_string()).or_insert(0);
    *n += 1;
    let body: &[u8] = if *n == 1 {
        b"{\"ok\":true}"
    } else {
        b"{\"ok\":false,\"error\":\"already_in_channel\"}"
    };
    Reply::json(StatusCode::OK, body.to_vec())
}

fn not_found(message: &str) -> Reply {
    Reply::error(StatusCode::NOT_FOUND, "not_found", message)
}

fn bad_request(message: &str) -> Reply {
    Reply::error(StatusCode::BAD_REQUEST, "invalid_parameter", message)
}

fn uint_param(query: &str, key: &str) -> Result<Option<u64>, Reply> {
    match param(query, key) {
        None => Ok(None),
        Some(v) => v.parse::<u64>().map(Some).map_err(|_| {
            bad_request(&format!(
                "{key} must be a non-negative integer, got {:?}",
                v.as_ref()
            ))
        }),
    }
}

/// A page size parameter: default when absent, at least 1, capped at `max_page_size`.
fn size_param(state: &State, query: &str, key: &str) -> Result<u64, Reply> {
    let max = state.config.max_page_size as u64;
    match uint_param(query, key)? {
        None => Ok((state.config.default_page_size as u64).min(max)),
        Some(0) => Err(bad_request(&format!("{key} must be at least 1"))),
        Some(n) => Ok(n.min(max)),
    }
}

fn page_param(query: &str) -> Result<u64, Reply> {
    match uint_param(query, "page")? {
        None => Ok(1),
        Some(0) => Err(bad_request(
            "page must be at least 1 (pages are numbered from 1)",
        )),
        Some(n) => Ok(n),
    }
}

/// The opaque cursor for position `index`: 16 hex digits hiding the index and a check value.
fn encode_cursor(seed: u64, coll: Coll, index: u64) -> String {
    let key = mix64(seed ^ coll as u64 ^ 0xc0de);
    let check = mix64(index ^ key) & 0xffff_ffff;
    format!("{:016x}", ((index << 32) | check) ^ key)
}

fn decode_cursor(seed: u64, coll: Coll, cursor: &str) -> Option<u64> {
    if cursor.len() != 16 {
        return None;
    }
    let key = mix64(seed ^ coll as u64 ^ 0xc0de);
    let v = u64::from_str_radix(cursor, 16).ok()? ^ key;
    let index = v >> 32;
    (mix64(index ^ key) & 0xffff_ffff == v & 0xffff_ffff).then_some(index)
}

fn list(state: &State, coll: Coll, style: Style, query: &str) -> Result<Reply, Reply> {
    let all = match coll {
        Coll::Users => state.shape.users,
        Coll::Groups => state.shape.groups,
    };
    // A window of the collection (`from`, `to`: positions, end excluded), for partitioned
    // aggregations: the listing then holds only those items, numbered from 0.
    let lo = uint_param(query, "from")?.unwrap_or(0).min(all);
    let hi = uint_param(query, "to")?.unwrap_or(all).clamp(lo, all);
    if (lo, hi) != (0, all) && matches!(style, Style::Next | Style::Link) {
        return Err(bad_request(
            "from/to windows work with offset, page and cursor listings",
        ));
    }
    let total = hi - lo;
    let base = &state.base_url;
    let name = coll.name();
    let mut body;
    let mut headers = Vec::new();
    match style {
        Style::Offset => {
            let offset = uint_param(query, "offset")?.unwrap_or(0);
            let limit = size_param(state, query, "limit")?;
            let (start, end) = (offset.min(total), offset.saturating_add(limit).min(total));
            body = buffer(state, coll, end - start, 64);
            body.extend_from_slice(b"{\"total\":");
            push_u64(&mut body, total);
            body.extend_from_slice(b",\"offset\":");
            push_u64(&mut body, offset);
            body.extend_from_slice(b",\"limit\":");
            push_u64(&mut body, limit);
            body.extend_from_slice(b",\"items\":[");
            write_items(state, coll, &mut body, lo + start, lo + end);
            body.extend_from_slice(b"]}");
        }
        Style::Page => {
            let page = page_param(query)?;
            let per_page = size_param(state, query, "per_page")?;
            let start = (page - 1).saturating_mul(per_page).min(total);
            let end = start.saturating_add(per_page).min(total);
            body = buffer(state, coll, end - start, 96);
            body.extend_from_slice(b"{\"page\":");
            push_u64(&mut body, page);
            body.extend_from_slice(b",\"per_page\":");
            push_u64(&mut body, per_page);
            body.extend_from_slice(b",\"total\":");
            push_u64(&mut body, total);
            body.extend_from_slice(b",\"total_pages\":");
            push_u64(&mut body, total.div_ceil(per_page));
            body.extend_from_slice(b",\"items\":[");
            write_items(state, coll, &mut body, lo + start, lo + end);
            body.extend_from_slice(b"]}");
        }
        Style::Cursor => {
            let start = match param(query, "cursor") {
                None => 0,
                Some(c) if c.is_empty() => 0,
                Some(c) => match decode_cursor(state.shape.seed, coll, &c) {
                    Some(i) if i <= total => i,
                    _ => return Err(bad_request(&format!("invalid cursor {:?}", c.as_ref()))),
                },
            };
            let limit = size_param(state, query, "limit")?;
            let end = start.saturating_add(limit).min(total);
            body = buffer(state, coll, end - start, 64);
            body.extend_from_slice(b"{\"items\":[");
            write_items(state, coll, &mut body, lo + start, lo + end);
            body.push(b']');
            if end < total {
                body.extend_from_slice(b",\"next_cursor\":\"");
                body.extend_from_slice(encode_cursor(state.shape.seed, coll, end).as_bytes());
                body.push(b'"');
            }
            body.push(b'}');
        }
        Style::Next => {
            let start = match param(query, "after") {
                None => 0,
                Some(id) => {
                    let parsed = match coll {
                        Coll::Users => parse_user_id(&id),
                        Coll::Groups => parse_group_id(&id),
                    };
                    match parsed {
                        Some(i) if i < total => i + 1,
                        _ => return Err(bad_request(&format!("invalid after {:?}", id.as_ref()))),
                    }
                }
            };
            let limit = size_param(state, query, "limit")?;
            let end = start.saturating_add(limit).min(total);
            body = buffer(state, coll, end - start, 128);
            body.extend_from_slice(b"{\"items\":[");
            write_items(state, coll, &mut body, lo + start, lo + end);
            body.push(b']');
            if end < total {
                body.extend_from_slice(b",\"next\":\"");
                body.extend_from_slice(base.as_bytes());
                body.extend_from_slice(b"/api/");
                body.extend_from_slice(name.as_bytes());
                body.extend_from_slice(b"/next?after=");
                match coll {
                    Coll::Users => push_user_id(&mut body, end - 1),
                    Coll::Groups => push_group_id(&mut body, end - 1),
                }
                body.extend_from_slice(b"&limit=");
                push_u64(&mut body, limit);
                body.push(b'"');
            }
            body.push(b'}');
        }
        Style::Link => {
            let page = page_param(query)?;
            let per_page = size_param(state, query, "per_page")?;
            let start = (page - 1).saturating_mul(per_page).min(total);
            let end = start.saturating_add(per_page).min(total);
            body = buffer(state, coll, end - start, 2);
            body.push(b'[');
            write_items(state, coll, &mut body, lo + start, lo + end);
            body.push(b']');
            let total_pages = total.div_ceil(per_page);
            if page < total_pages {
                let url = |p: u64| format!("{base}/api/{name}/link?page={p}&per_page={per_page}");
                headers.push((
                    header::LINK,
                    format!(
                        "<{}>; rel=\"next\", <{}>; rel=\"last\"",
                        url(page + 1),
                        url(total_pages)
                    ),
                ));
            }
        }
    }
    inc(&state.stats.pages[style as usize]);
    Ok(Reply {
        status: StatusCode::OK,
        body,
        headers,
    })
}

fn buffer(state: &State, coll: Coll, items: u64, extra: usize) -> Vec<u8> {
    let per_item = match coll {
        Coll::Users => 420,
        Coll::Groups => {
            let avg_members = (state.shape.users * state.shape.memberships / 2)
                .checked_div(state.shape.groups)
                .unwrap_or(0) as usize;
            200 + 11 * avg_members
        }
    };
    Vec::with_capacity(extra + 64 + per_item * items as usize)
}

fn write_items(state: &State, coll: Coll, buf: &mut Vec<u8>, start: u64, end: u64) {
    match coll {
        Coll::Users => {
            let mut scratch = Vec::with_capacity(state.shape.memberships as usize);
            for i in start..end {
                if i > start {
                    buf.push(b',');
                }
                write_user(buf, &state.shape, i, &mut scratch);
            }
            add(&state.stats.user_items, end - start);
        }
        Coll::Groups => {
            let members = if start < end { state.members() } else { &[] };
            for i in start..end {
                if i > start {
                    buf.push(b',');
                }
                write_group(buf, &state.shape, i, &members[i as usize]);
            }
            add(&state.stats.group_items, end - start);
        }
    }
}

fn single(state: &State, coll: Coll, id: &str) -> Reply {
    let mut body = Vec::with_capacity(512);
    match coll {
        Coll::Users => match parse_user_id(id) {
            Some(i) if i < state.shape.users => {
                write_user(&mut body, &state.shape, i, &mut Vec::new())
            }
            _ => return not_found(&format!("no user with id {id:?}")),
        },
        Coll::Groups => match parse_group_id(id) {
            Some(i) if i < state.shape.groups => {
                write_group(&mut body, &state.shape, i, &state.members()[i as usize])
            }
            _ => return not_found(&format!("no group with id {id:?}")),
        },
    }
    inc(&state.stats.single_reads);
    Reply::json(StatusCode::OK, body)
}

fn user_groups(state: &State, id: &str) -> Reply {
    let Some(index) = parse_user_id(id).filter(|&i| i < state.shape.users) else {
        return not_found(&format!("no user with id {id:?}"));
    };
    let mut groups = Vec::new();
    user_group_indices(&state.shape, index, &mut groups);
    let mut body = Vec::with_capacity(16 + 160 * groups.len());
    body.extend_from_slice(b"{\"items\":[");
    for (k, &g) in groups.iter().enumerate() {
        if k > 0 {
            body.push(b',');
        }
        write_group_summary(&mut body, &state.shape, g as u64);
    }
    body.extend_from_slice(b"]}");
    inc(&state.stats.single_reads);
    Reply::json(StatusCode::OK, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::state::{param, percent_decode};

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        for i in [0, 1, 99, 1_000_000, u32::MAX as u64] {
            let c = encode_cursor(5, Coll::Users, i);
            assert_eq!(c.len(), 16);
            assert_eq!(decode_cursor(5, Coll::Users, &c), Some(i));
            assert_eq!(decode_cursor(6, Coll::Users, &c), None);
            assert_eq!(decode_cursor(5, Coll::Groups, &c), None);
        }
        assert_eq!(decode_cursor(5, Coll::Users, "0000000000000000"), None);
        assert_eq!(decode_cursor(5, Coll::Users, "zz"), None);
    }

    #[test]
    fn query_params() {
        assert_eq!(param("a=1&b=x%20y+z", "b").as_deref(), Some("x y z"));
        assert_eq!(param("a=1&b=2", "c"), None);
        assert_eq!(param("flag&a=1", "flag").as_deref(), Some(""));
        assert_eq!(percent_decode("100%", false), "100%");
        assert_eq!(percent_decode("%4", false), "%4");
        assert_eq!(percent_decode("%41%zz", false), "A%zz");
    }
}
