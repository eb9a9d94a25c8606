//! One page, from request to records, in stages: prepare (render the request, run the
//! `before` hook), send and parse (status retries in the HTTP client, body retries here,
//! error rules), read the head (what paging needs, reported before mapping so the next page
//! can be requested), then map and run the `after` hook.

use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::oneshot;
use wsc_spec::model::PagingKind;

use super::head::{Head, PageState, last_key, link_next, read_has_more, read_text, read_total};
use super::{Items, Mode, StepRun, rules};
use crate::doc::Doc;
use crate::doc::tape::Tape;
use crate::error::EngineError;
use crate::hooks::HookSet;
use crate::http::{HttpError, Origin, PreparedRequest, Response, Verdict};
use crate::lines::Lines;
use crate::path::{CompiledPath, Selection};
use crate::projection::{PageFailure, Projection, give_back, take_tape};
use wsc_spec::template::Context;

/// A page's request, ready to send.
struct Prepared {
    request: PreparedRequest,
    /// The template context of this page (`page.*` included).
    ctx: Value,
    hooks: Option<Arc<HookSet>>,
    origin: Origin,
    /// Pages of the listing before this one.
    index: u64,
}

/// Fetches, checks, parses and maps one page. Reports the head on `head_tx` as soon as the
/// page is parsed, before its records are mapped.
pub(crate) async fn fetch_page(
    run: StepRun,
    st: PageState,
    mode: Mode,
    head_tx: oneshot::Sender<Head>,
) -> Result<Items, EngineError> {
    let page = prepare(&run, &st)?;
    let max_attempts = run.inner.http.retry_config().max_attempts;
    // Attempts of this page so far: status retries (in `send_counted`) and body retries
    // (below) share `max_attempts`, and both draw on the run's retry budget.
    let mut attempt = 0;
    // The compiled projection writes this page's records straight from its bytes: not for the
    // first page (whose records the path check reads), nor under an `after` hook (which needs
    // records as values).
    let projection = run
        .op
        .projection
        .as_ref()
        .filter(|_| mode == Mode::Lines && page.index > 0 && !run.inner.run.wire.dry_run)
        .filter(|_| page.hooks.as_ref().is_none_or(|h| h.after.is_none()));
    // Taken when a body is there to parse (not while the request is out): with pages in
    // flight, a tape (about 150 KB for a page of 250 records) is held only by the pages
    // being parsed and written.
    let mut tape: Option<Tape> = None;
    loop {
        let Some(resp) = send(&run, &page, &mut attempt).await? else {
            // A 404 the step allows: no records.
            let _ = head_tx.send(Head::default());
            return Ok(Items::empty(mode));
        };
        // `format: xml`: the JSON page the operation's XPaths make of the XML page.
        let converted: Vec<u8>;
        let body: &[u8] = match &run.step().xml {
            Some(x) => match xml_page(&run, x, &resp) {
                Ok(b) => {
                    converted = b;
                    &converted
                }
                // A body the server says is JSON is no truncated XML: not retried.
                Err(crate::xml::XmlError::Malformed(m))
                    if attempt < max_attempts
                        && resp
                            .header("content-type")
                            .is_none_or(|t| !t.to_ascii_lowercase().contains("json")) =>
                {
                    backoff(&run, &page, attempt, resp.status, &|| {
                        format!("HTTP {} with {m}", resp.status)
                    })
                    .await?;
                    continue;
                }
                Err(e) => return Err(xml_error(&run, &page, &resp, attempt, e)),
            },
            None => &resp.body,
        };
        let parsed = match projection {
            Some(p) if !blank(body) => p.parse(body, tape.get_or_insert_with(take_tape)),
            _ => parse(body).map(|d| (d, None)),
        };
        let (doc, text) = match parsed {
            Ok(d) => d,
            Err(e) => {
                let xml_type = resp
                    .header("content-type")
                    .filter(|t| crate::xml::is_xml_type(t));
                if let Some(t) = xml_type {
                    let http = &run.inner.http;
                    return Err(HttpError::BadBody {
                        origin: page.origin,
                        method: page.request.method.as_str(),
                        url: http.redactor().url(&page.request.url),
                        status: resp.status,
                        reason: format!("the body is XML (Content-Type: {t}), but the operation reads JSON; to read XML, set `format: xml` on the operation and select with XPath"),
                        body_start: http.body_start(&resp.body),
                        attempts: attempt,
                    }
                    .into());
                }
                if attempt < max_attempts {
                    backoff(&run, &page, attempt, resp.status, &|| {
                        format!(
                            "HTTP {} with a body that is not valid JSON ({e})",
                            resp.status
                        )
                    })
                    .await?;
                    continue;
                }
                let http = &run.inner.http;
                return Err(HttpError::BadBody {
                    origin: page.origin,
                    method: page.request.method.as_str(),
                    url: http.redactor().url(&page.request.url),
                    status: resp.status,
                    reason: format!("the body is not valid JSON ({e})"),
                    body_start: http.body_start(&resp.body),
                    attempts: attempt,
                }
                .into());
            }
        };
        let step = run.step();
        if let Some(hit) = rules::check(
            &run.inner.templates,
            &run.inner.http,
            &step.errors,
            &doc,
            &resp,
        ) {
            if hit.retry && attempt < max_attempts {
                backoff(&run, &page, attempt, resp.status, &|| {
                    format!(
                        "HTTP {}, the API reported an error: {}",
                        resp.status, hit.message
                    )
                })
                .await?;
                continue;
            }
            return Err(EngineError::InBody {
                origin: page.origin,
                status: resp.status,
                message: hit.message,
            });
        }
        // GraphQL: `errors` fail the page, whatever the status and however much `data` came.
        if step.graphql
            && let Some(e) = crate::graphql::errors(&doc)
        {
            let redactor = run.inner.http.redactor();
            return Err(EngineError::GraphQl {
                origin: page.origin,
                status: resp.status,
                message: format!("{}.{}", redactor.text(&e.message), e.hint),
            });
        }
        // The records: on the tape (`text` is the page), or selected from the document.
        let tape_records = match (text, &tape) {
            (Some(_), Some(t)) => Some(Projection::count(t)),
            _ => None,
        };
        let records: Vec<&Doc<'_>> = match mode {
            _ if tape_records.is_some() => Vec::new(),
            Mode::Map | Mode::Lines => run.op.mapper.select_records(&doc),
            Mode::Raw => select_all(&step.records, &doc),
        };
        let count = tape_records.unwrap_or(records.len());
        let head = read_head(&run, &page, &resp, &doc, count)?;
        let container = match mode {
            Mode::Map | Mode::Lines => run.op.records_container.as_ref(),
            Mode::Raw => step.records_container.as_ref(),
        };
        // A dry run's responses are empty stand-ins: there is no page to check.
        if count == 0
            && !run.inner.run.wire.dry_run
            && head.total != Some(0)
            && let Some(c) = container
            && c.first(&doc).is_none()
        {
            return Err(missing_records(&page, &doc, c, mode, &run));
        }
        let _ = head_tx.send(head);
        if page.index == 0 && mode != Mode::Raw && step.xml.is_none() {
            super::paths::check_paths(&run.inner, &run.op, &records);
        }
        // Let the driver request the next page before this one is mapped, so fetching page
        // n+1 overlaps mapping page n (without this the driver waits in the same worker's slot
        // until the mapping is done).
        tokio::task::yield_now().await;
        let items = match (projection, text, &tape) {
            (Some(p), Some(text), Some(t)) => project_page(&run, &page, p, text, t),
            _ => map_page(&run, &page, &resp, records, mode),
        };
        if let Some(t) = tape.take() {
            give_back(t);
        }
        return items;
    }
}

/// Writes the records on the tape as JSON Lines through the compiled projection.
fn project_page(
    run: &StepRun,
    page: &Prepared,
    p: &Projection,
    text: &str,
    tape: &Tape,
) -> Result<Items, EngineError> {
    // The output is smaller than the page: the fields the mapping leaves out are dropped.
    let mut lines = Lines::with_capacity(text.len() * 3 / 4);
    p.write_page(text, tape, &run.op.mapper, &run.inner.id_hasher, &mut lines)
        .map_err(|f| match f {
            PageFailure::Map(e) => EngineError::Map {
                origin: page.origin.clone(),
                message: run.inner.http.redactor().text(&e.to_string()),
            },
            PageFailure::Bug(m) => EngineError::Internal(m),
        })?;
    Ok(Items::Lines(lines))
}

/// The JSON page of an XML page (see [`crate::xml`]).
fn xml_page(
    run: &StepRun,
    plan: &crate::xml::XmlPlan,
    resp: &Response,
) -> Result<Vec<u8>, crate::xml::XmlError> {
    // A dry run's responses are empty stand-ins.
    if run.inner.run.wire.dry_run && blank(&resp.body) {
        return Ok(br#"{"records":[]}"#.to_vec());
    }
    plan.convert(&resp.body)
}

/// The error of an XML page: hostile or malformed XML is refused, a SOAP fault is an error
/// with its fault string, and a missing records element is an error.
fn xml_error(
    run: &StepRun,
    page: &Prepared,
    resp: &Response,
    attempt: u32,
    e: crate::xml::XmlError,
) -> EngineError {
    use crate::xml::XmlError;
    let http = &run.inner.http;
    match e {
        XmlError::Fault(m) => EngineError::InBody {
            origin: page.origin.clone(),
            status: resp.status,
            message: http.redactor().text(&m),
        },
        XmlError::Missing(m) => EngineError::Map {
            origin: page.origin.clone(),
            message: http.redactor().text(&m),
        },
        XmlError::Body(reason) | XmlError::Malformed(reason) => {
            let json = resp
                .header("content-type")
                .filter(|t| t.to_ascii_lowercase().contains("json"))
                .map(|t| format!("; the response's Content-Type is {t}: is `format: xml` right for this operation?"))
                .unwrap_or_default();
            HttpError::BadBody {
                origin: page.origin.clone(),
                method: page.request.method.as_str(),
                url: http.redactor().url(&page.request.url),
                status: resp.status,
                reason: format!("{reason}{json}"),
                body_start: http.body_start(&resp.body),
                attempts: attempt.max(1),
            }
            .into()
        }
    }
}

/// A page without the key its records are read from: never read as "no records".
fn missing_records(
    page: &Prepared,
    doc: &Doc<'_>,
    container: &CompiledPath,
    mode: Mode,
    run: &StepRun,
) -> EngineError {
    let records = match mode {
        Mode::Map | Mode::Lines => run.op.mapper.records_path().as_str().to_string(),
        Mode::Raw => run.step().records.as_str().to_string(),
    };
    let wanted = last_key(container.as_str());
    let keys: Vec<&str> = match doc {
        Doc::Object(fields) => fields.iter().map(|(k, _)| k.as_ref()).collect(),
        _ => Vec::new(),
    };
    let present = match doc {
        Doc::Object(_) if keys.is_empty() => " (the response is an empty object)".to_string(),
        Doc::Object(_) => format!(" (the response has: {})", keys.join(", ")),
        Doc::Array(_) => " (the response is an array)".to_string(),
        Doc::Null => " (the response body is empty)".to_string(),
        _ => " (the response is a single value)".to_string(),
    };
    let guess = wsc_spec::diagnostic::did_you_mean(wanted, keys.iter().copied())
        .map(|k| format!("; did you mean `{k}`"))
        .unwrap_or_default();
    EngineError::Map {
        origin: page.origin.clone(),
        message: format!(
            "`records: {records}` found nothing: `{}` is not in the response{present}{guess}. A missing key is not an empty list, so the run stops instead of reporting no records; if this API leaves the key out when there are none, set `records_optional: true`",
            container.as_str()
        ),
    }
}

/// Renders the request of a page and runs the step's `before` hook on it.
fn prepare(run: &StepRun, st: &PageState) -> Result<Prepared, EngineError> {
    let inner = &run.inner;
    let paging = run.step().paging.as_ref();
    let origin = run.origin(paging.map(|_| st.index + 1));
    let mut c = (*run.ctx).clone();
    c.insert(Context::Page.into(), st.to_value(paging));
    let ctx = Value::Object(c);
    let mut request = run
        .step()
        .request
        .render(&inner.templates, &inner.base_url, &ctx)?;
    if let Some(u) = &st.next {
        request.url = u.clone();
    }
    let hooks = inner.hooks.for_step(&run.op.key, run.si, run.op.primary);
    if let Some(b) = hooks.as_ref().and_then(|h| h.before.as_ref()) {
        let empty = Map::new();
        let ctx_map = ctx.as_object().unwrap_or(&empty);
        inner
            .hooks
            .before(b, &run.op.key, &inner.settings, ctx_map, &mut request)?;
    }
    Ok(Prepared {
        request,
        ctx,
        hooks,
        origin,
        index: st.index,
    })
}

/// Sends the request (the HTTP client retries statuses and transport errors). `None`: a 404
/// that the step allows.
async fn send(
    run: &StepRun,
    page: &Prepared,
    attempt: &mut u32,
) -> Result<Option<Response>, EngineError> {
    let step = run.step();
    if step.cache
        && let Some(r) = run.inner.cache.get(&page.request)
    {
        tracing::debug!(target: "wsc::engine", origin = %page.origin, "answered from the run's response cache");
        return Ok(Some(r));
    }
    let accept = |_: &Response| Verdict::Accept;
    match run
        .inner
        .http
        .send_counted(
            &page.request,
            &page.origin,
            &step.success,
            &accept,
            *attempt,
            &step.final_statuses,
        )
        .await
    {
        Ok((r, used)) => {
            *attempt = used;
            if step.cache {
                run.inner.cache.put(&page.request, &r);
            }
            Ok(Some(r))
        }
        Err(HttpError::Status { status: 404, .. }) if step.allow_not_found => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Whether a body is empty or all whitespace (read as `null`).
fn blank(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// Parses a body; an empty (or all-whitespace) body is `null`.
fn parse(body: &[u8]) -> Result<Doc<'_>, crate::doc::DocError> {
    if blank(body) {
        Ok(Doc::Null)
    } else {
        Doc::parse(body)
    }
}

/// Takes a body-level retry from the run's retry budget and waits the backoff of `attempt`;
/// `failure` says why, for the error when the budget is spent.
async fn backoff(
    run: &StepRun,
    page: &Prepared,
    attempt: u32,
    status: u16,
    failure: &(dyn Fn() -> String + Sync),
) -> Result<(), EngineError> {
    let http = &run.inner.http;
    http.take_retry(&page.request, &page.origin, attempt, Some(status), failure)
        .map_err(EngineError::Http)?;
    tracing::warn!(target: "wsc::engine", origin = %page.origin, attempt, failure = %failure(), "unusable response body, retrying");
    tokio::time::sleep(http.retry_config().backoff(attempt)).await;
    Ok(())
}

/// What paging needs from a parsed page: its size, total, cursor, next URL, stop condition,
/// and the values the step saves.
fn read_head(
    run: &StepRun,
    page: &Prepared,
    resp: &Response,
    doc: &Doc<'_>,
    count: usize,
) -> Result<Head, EngineError> {
    let step = run.step();
    let mut head = Head {
        count,
        url: Some(resp.url.clone()),
        ..Head::default()
    };
    if let Some(p) = &step.paging {
        // A declared total must be on the first page that has records: a typo in its path
        // is an error, not a listing that quietly runs one page at a time.
        let must = page.index == 0 && count > 0 && !run.inner.run.wire.dry_run;
        head.total = p
            .total
            .as_ref()
            .map(|v| read_total(v, doc, resp, must, &page.origin))
            .transpose()?
            .flatten();
        head.cursor = p.cursor.as_ref().and_then(|v| read_text(v, doc, resp));
        head.next_url = p.next_url.as_ref().and_then(|v| read_text(v, doc, resp));
        // A dry run's responses are empty stand-ins: they say nothing of a next page.
        if let Some(v) = p.has_more.as_ref().filter(|_| !run.inner.run.wire.dry_run) {
            head.has_more = Some(read_has_more(v, doc, resp, &page.origin)?);
        }
        if p.kind == PagingKind::LinkHeader {
            head.link_next = resp
                .headers
                .get_all("link")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(link_next);
        }
        if let Some(sw) = &p.stop_when {
            let mut c = match &page.ctx {
                Value::Object(m) => m.clone(),
                _ => Map::new(),
            };
            c.insert(Context::Response.into(), doc.to_value());
            c.insert(Context::Headers.into(), resp.headers_value());
            let r = run.inner.templates.render(sw, &Value::Object(c))?;
            head.stop = r.trim() == "true";
        }
    }
    for (k, p) in &step.save {
        if let Some(v) = p.first(doc) {
            head.saved.insert(k.clone(), v.to_value());
        }
    }
    Ok(head)
}

/// Maps the selected records (or keeps them raw) and runs the step's `after` hook on them.
fn map_page(
    run: &StepRun,
    page: &Prepared,
    resp: &Response,
    records: Vec<&Doc<'_>>,
    mode: Mode,
) -> Result<Items, EngineError> {
    let inner = &run.inner;
    let op = &run.op;
    let empty = Map::new();
    let ctx_map = page.ctx.as_object().unwrap_or(&empty);
    let after = page
        .hooks
        .as_ref()
        .and_then(|h| h.after.as_ref().map(|a| (h.clone(), a.clone())));
    match mode {
        Mode::Map | Mode::Lines => {
            let mut out = Vec::with_capacity(records.len());
            for r in records {
                out.push(
                    op.mapper
                        .map_in(r, Some(ctx_map))
                        .map_err(|e| EngineError::Map {
                            origin: page.origin.clone(),
                            message: inner.http.redactor().text(&e.to_string()),
                        })?,
                );
            }
            if let Some((set, hook)) = after {
                let names = op.mapper.attribute_names();
                let ty = op.mapper.object_type();
                let mut hooked: Vec<wsc_hooks::HookRecord> =
                    out.into_iter().map(Into::into).collect();
                inner.hooks.after_records(
                    &set,
                    &hook,
                    &op.key,
                    &inner.settings,
                    ctx_map,
                    resp,
                    &mut hooked,
                    wsc_hooks::RecordShape {
                        object_type: ty,
                        names,
                    },
                )?;
                out = hooked.into_iter().map(Into::into).collect();
            }
            if mode == Mode::Lines {
                return Ok(Items::Lines(Lines::from_records(
                    &out,
                    op.mapper.attribute_names(),
                )));
            }
            Ok(Items::Records(out))
        }
        Mode::Raw => {
            let mut raw: Vec<Value> = records.into_iter().map(|r| r.to_value()).collect();
            if let Some((set, hook)) = after {
                inner.hooks.after(
                    &set,
                    &hook,
                    &op.key,
                    &inner.settings,
                    ctx_map,
                    resp,
                    &mut raw,
                )?;
            }
            Ok(Items::Raw(raw))
        }
    }
}

/// Every record `p` selects; an array selected by a path other than `$` is its items.
fn select_all<'d, 'a>(p: &CompiledPath, doc: &'d Doc<'a>) -> Vec<&'d Doc<'a>> {
    match p.select(doc) {
        Selection::None => Vec::new(),
        Selection::One(Doc::Array(items)) if !p.is_root() => items.iter().collect(),
        s => s.into_vec(),
    }
}
