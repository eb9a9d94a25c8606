//! The paging drivers: which page comes next, and when the listing ends.
//!
//! Sequential paging decides page n+1 from page n's head (offset, page number, cursor, next
//! URL, RFC 8288 Link header) and requests it while page n is mapped. With a known total,
//! offset and page-number listings fetch the remaining pages `concurrency` at a time, in
//! order. Short pages, repeated cursors and repeated next URLs are checked here.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::Ordering;

use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use wsc_spec::model::{PagingKind, TotalMismatch};

use super::head::{Head, PageState};
use super::page::fetch_page;
use super::{Items, Mode, StepRun};
use crate::compile::CompiledPaging;
use crate::error::EngineError;
use crate::stream::join;

/// Where the pages of a step go.
pub(crate) type PageSender = mpsc::Sender<Result<Items, EngineError>>;

/// Drives the pages of one step, sending their items in page order on `tx`; the step's
/// saved values (from its first page) go to `saved_tx`. An error is sent on `tx` as well as
/// returned.
pub(crate) async fn drive(
    run: StepRun,
    mode: Mode,
    tx: PageSender,
    saved_tx: Option<oneshot::Sender<Map<String, Value>>>,
) -> Result<(), EngineError> {
    let result = drive_pages(&run, mode, &tx, saved_tx).await;
    if let Err(e) = &result {
        let _ = tx.send(Err(e.clone())).await;
    }
    result
}

/// A page being fetched: its task, and the head it reports once parsed.
type PageJob = (
    JoinHandle<Result<Items, EngineError>>,
    oneshot::Receiver<Head>,
);

fn spawn_page(run: &StepRun, st: PageState, mode: Mode) -> PageJob {
    let (htx, hrx) = oneshot::channel();
    let h = tokio::spawn(fetch_page(run.clone(), st, mode, htx));
    (h, hrx)
}

async fn drive_pages(
    run: &StepRun,
    mode: Mode,
    tx: &PageSender,
    mut saved_tx: Option<oneshot::Sender<Map<String, Value>>>,
) -> Result<(), EngineError> {
    let paging = run.step().paging.as_ref();
    let mut state = PageState::default();
    if let Some(p) = paging {
        state.offset = p.start;
        state.number = p.start;
    }
    let (mut handle, mut head_rx) = spawn_page(run, state.clone(), mode);
    let mut seen = Seen::default();
    let mut short: Option<ShortPage> = None;
    let mut tally = Tally::default();
    // Empty pages in a row, for the loop guard (`max_empty_pages`).
    let mut empty_run: u64 = 0;
    loop {
        let head = match head_rx.await {
            Ok(h) => h,
            Err(_) => {
                // The job failed before it could report: its handle has the error.
                return Err(join(handle).await.err().unwrap_or_else(|| {
                    EngineError::Internal("a page job ended without a result".into())
                }));
            }
        };
        if let Some(stx) = saved_tx.take() {
            let _ = stx.send(head.saved.clone());
        }
        if run.si == run.op.primary {
            run.inner.stats.pages.fetch_add(1, Ordering::Relaxed);
            if state.index == 0
                && let Some(total) = head.total
            {
                run.inner.stats.expected.fetch_add(total, Ordering::Relaxed);
            }
            tracing::info!(target: "wsc::page", records = head.count, "page {}", state.index + 1);
        } else {
            run.inner.stats.lookups.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(target: "wsc::page", step = run.si, items = head.count, "lookup");
        }
        let Some(p) = paging else {
            send(tx, join(handle).await?).await?;
            return Ok(());
        };
        check_short_page(run, p, &mut short, state.index + 1, head.count)?;
        tally.page(&head);
        empty_run = if head.count == 0 { empty_run + 1 } else { 0 };
        if state.index == 0 && matches!(p.kind, PagingKind::Offset | PagingKind::Page) {
            check_capped_first_page(run, p, &head)?;
            if let Some(total) = head.total
                && head.count > 0
                && p.concurrency > 1
            {
                send(tx, join(handle).await?).await?;
                drive_window(run, p, mode, tx, &state, total, &mut short, &mut tally).await?;
                if p.max_pages
                    .is_some_and(|m| m.saturating_mul(p.limit) < total)
                {
                    // The connector capped the listing on purpose.
                    return Ok(());
                }
                return tally.check(run, p);
            }
        }
        // Sequential: decide the next page from this one's head, start it, then hand over
        // this page's records.
        let ends = Ends {
            short_seen: short.is_some(),
            empty_run,
        };
        let next = next_state(run, p, &state, &head, &mut seen, ends)?;
        let upcoming = next.clone().map(|st| spawn_page(run, st, mode));
        send(tx, join(handle).await?).await?;
        match upcoming {
            None => {
                if p.max_pages.is_some_and(|m| state.index + 1 >= m) {
                    // The connector capped the listing on purpose.
                    return Ok(());
                }
                return tally.check(run, p);
            }
            Some((h, hrx)) => {
                handle = h;
                head_rx = hrx;
                state = next.unwrap_or_default();
            }
        }
    }
}

/// Records a listing delivered against the total its pages reported.
#[derive(Debug, Default)]
struct Tally {
    /// Records on the pages so far (before hooks).
    delivered: u64,
    /// The last total a page reported.
    total: Option<u64>,
}

impl Tally {
    fn page(&mut self, head: &Head) {
        self.delivered += head.count as u64;
        if head.total.is_some() {
            self.total = head.total;
        }
    }

    /// At the end of a listing: the records delivered must be the total reported.
    fn check(&self, run: &StepRun, p: &CompiledPaging) -> Result<(), EngineError> {
        let Some(total) = self.total else {
            return Ok(());
        };
        if self.delivered == total {
            return Ok(());
        }
        let message = format!(
            "the API reported a total of {total} records, but the listing delivered {}: records were {} while the listing ran, or the API's paging {} records; set `paging.on_total_mismatch: warn` if this source changes while it is read",
            self.delivered,
            if self.delivered < total {
                "removed"
            } else {
                "added"
            },
            if self.delivered < total {
                "skips"
            } else {
                "repeats"
            },
        );
        match p.on_total_mismatch {
            TotalMismatch::Error => Err(EngineError::Paging {
                origin: run.origin(None),
                message,
            }),
            TotalMismatch::Warn => {
                run.inner.stats.warn(&run.origin(None), &message);
                Ok(())
            }
        }
    }
}

/// The cursors or next-page URLs a listing was given, to stop one that loops: kept as 64-bit
/// hashes under keys drawn for the run (SipHash, `RandomState`), so a listing of any length
/// holds 8 bytes per page, not every cursor (URLs of a few hundred bytes, a million pages
/// for a large directory). Two different cursors share a hash with a probability of about
/// pages² / 2⁶⁵, and the keys are secret, so a server cannot make them collide on purpose.
#[derive(Default)]
struct Seen {
    keys: RandomState,
    hashes: HashSet<u64>,
}

impl Seen {
    /// Whether `s` is new (it is remembered).
    fn first_time(&mut self, s: &str) -> bool {
        self.hashes.insert(self.keys.hash_one(s))
    }
}

/// Known total: fetches the pages after the first `concurrency` at a time and sends them in
/// order.
#[allow(clippy::too_many_arguments)]
async fn drive_window(
    run: &StepRun,
    p: &CompiledPaging,
    mode: Mode,
    tx: &PageSender,
    first: &PageState,
    total: u64,
    short: &mut Option<ShortPage>,
    tally: &mut Tally,
) -> Result<(), EngineError> {
    // The states of the pages after the first, made as the window takes them: a list made
    // up front held one state per page (2 MB for 4,000,000 records in pages of 250).
    let mut pending = std::iter::successors(Some(first.clone()), |prev| {
        let mut st = prev.clone();
        st.index += 1;
        st.offset += p.limit;
        st.number += 1;
        Some(st)
    })
    .skip(1)
    .take_while(|st| {
        st.index.saturating_mul(p.limit) < total && p.max_pages.is_none_or(|m| st.index < m)
    });
    let mut window: FuturesOrdered<_> = FuturesOrdered::new();
    let mut page = first.index + 1;
    loop {
        while window.len() < p.concurrency {
            match pending.next() {
                Some(st) => {
                    let (h, head) = spawn_page(run, st, mode);
                    window.push_back(async move {
                        let head = head.await;
                        (head, join(h).await)
                    });
                }
                None => break,
            }
        }
        match window.next().await {
            Some((head, items)) => {
                if run.si == run.op.primary {
                    run.inner.stats.pages.fetch_add(1, Ordering::Relaxed);
                } else {
                    run.inner.stats.lookups.fetch_add(1, Ordering::Relaxed);
                }
                let items = items?;
                tracing::info!(target: "wsc::page", records = items.len(), "page {}", page + 1);
                // The page's own count, before an `after` hook dropped any of its records.
                let count = head.as_ref().map_or(items.len(), |h| h.count);
                if let Ok(head) = head {
                    tally.page(&head);
                }
                page += 1;
                check_short_page(run, p, short, page, count)?;
                send(tx, items).await?;
            }
            None => return Ok(()),
        }
    }
}

/// A first page shorter than both the page size and the total: the API caps its page size,
/// and stepping by `limit` would skip records without a sign.
fn check_capped_first_page(
    run: &StepRun,
    p: &CompiledPaging,
    head: &Head,
) -> Result<(), EngineError> {
    if let Some(total) = head.total
        && head.count > 0
        && (head.count as u64) < p.limit.min(total)
    {
        return Err(EngineError::Paging {
            origin: run.origin(Some(1)),
            message: format!(
                "page 1 held {} records, fewer than the page size {} although the total is {total}: the API returns fewer records per page than `paging.limit` asks for (it probably caps the page size at {}), so records would be skipped; set `paging.limit` to at most {}",
                head.count, p.limit, head.count, head.count
            ),
        });
    }
    Ok(())
}

/// The first page of an offset or page-number run that held fewer records than the page size.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ShortPage {
    page: u64,
    count: usize,
}

/// Offset and page-number paging step by `limit`. A short page followed by a page with
/// records means the API returned fewer records than asked for (it caps the page size), so
/// the records between were never fetched: that is an error, never a silently short run.
/// `stop_on_short_page: false` says short pages are normal (e.g. rows filtered after paging).
fn check_short_page(
    run: &StepRun,
    p: &CompiledPaging,
    short: &mut Option<ShortPage>,
    page: u64,
    count: usize,
) -> Result<(), EngineError> {
    if !matches!(p.kind, PagingKind::Offset | PagingKind::Page) || !p.stop_on_short_page {
        return Ok(());
    }
    if count == 0 && p.past_empty_pages {
        // Empty pages are part of such listings; only short pages with records count.
        return Ok(());
    }
    if count > 0
        && let Some(s) = *short
    {
        return Err(EngineError::Paging {
            origin: run.origin(Some(page)),
            message: format!(
                "page {} held {} records, fewer than the page size {}, yet page {page} holds more: the API returns fewer records per page than `paging.limit` asks for (it probably caps the page size at {}), so records were skipped; set `paging.limit` to at most {}, or `paging.stop_on_short_page: false` if short pages are normal for this API",
                s.page, s.count, p.limit, s.count, s.count
            ),
        });
    }
    if short.is_none() && (count as u64) < p.limit {
        *short = Some(ShortPage { page, count });
    }
    Ok(())
}

async fn send(tx: &PageSender, items: Items) -> Result<(), EngineError> {
    tx.send(Ok(items))
        .await
        .map_err(|_| EngineError::Output("the consumer stopped".into()))
}

/// What the pages before tell about the end of a listing.
#[derive(Debug, Clone, Copy)]
struct Ends {
    /// A page with records but fewer than `limit` was seen (offset and page listings).
    short_seen: bool,
    /// Empty pages in a row, this one included.
    empty_run: u64,
}

/// `has_more` says another page follows, but the page gives no way to it: the listing cannot
/// go on, and stopping would end it short without a sign.
fn no_next(p: &CompiledPaging, origin: crate::http::Origin, what: &str) -> EngineError {
    let at = p
        .cursor
        .as_ref()
        .or(p.next_url.as_ref())
        .map(|v| v.describe())
        .unwrap_or_default();
    EngineError::Paging {
        origin,
        message: format!(
            "`paging.has_more` {} says another page follows, but the page has no {what} ({at} is absent, null or empty): the rest of the listing cannot be read, so the run stops instead of ending it short",
            p.has_more
                .as_ref()
                .map(|v| v.describe())
                .unwrap_or_default()
        ),
    }
}

/// The page after `state`, or `None` when the listing ends here.
fn next_state(
    run: &StepRun,
    p: &CompiledPaging,
    state: &PageState,
    head: &Head,
    seen: &mut Seen,
    ends: Ends,
) -> Result<Option<PageState>, EngineError> {
    let next = next_page(run, p, state, head, seen, ends)?;
    if next.is_some() && head.count == 0 && ends.empty_run > p.max_empty_pages {
        return Err(EngineError::Paging {
            origin: run.origin(Some(state.index + 1)),
            message: format!(
                "{} empty pages in a row and the API still says there is more; stopping instead of paging forever. If this API really returns that many empty pages, raise `paging.max_empty_pages` (now {})",
                ends.empty_run, p.max_empty_pages
            ),
        });
    }
    Ok(next)
}

fn next_page(
    run: &StepRun,
    p: &CompiledPaging,
    state: &PageState,
    head: &Head,
    seen: &mut Seen,
    ends: Ends,
) -> Result<Option<PageState>, EngineError> {
    let mut next = PageState {
        index: state.index + 1,
        offset: state.offset + p.limit,
        number: state.number + 1,
        cursor: None,
        next: None,
    };
    if head.stop || p.max_pages.is_some_and(|m| next.index >= m) {
        return Ok(None);
    }
    // An empty page ends offset and page-number listings, unless `past_empty_pages` says
    // such pages are normal (then the total, `stop_when` or `max_pages` ends them; an empty
    // page after a short one still confirms the end). A cursor, next URL or Link header on
    // an empty page says there is more (APIs that return an empty page while they catch
    // up): only their absence ends those listings, and `stop_when` can end them earlier.
    if head.count == 0
        && matches!(p.kind, PagingKind::Offset | PagingKind::Page)
        && (!p.past_empty_pages || ends.short_seen)
    {
        return Ok(None);
    }
    let page_origin = || run.origin(Some(state.index + 1));
    let redactor = run.inner.http.redactor();
    match p.kind {
        PagingKind::Offset | PagingKind::Page => {
            // A short page ends the run, unless the total says more records follow: then the
            // next page tells whether the API caps the page size (see `check_short_page`).
            let more_by_total = head
                .total
                .is_some_and(|t| next.index.saturating_mul(p.limit) < t);
            if head.count > 0
                && p.stop_on_short_page
                && (head.count as u64) < p.limit
                && !more_by_total
            {
                // Without a total, a short page is the end only if the API never caps its
                // page size below `limit`; one more request confirms it (a confirming page
                // with records fails in `check_short_page`).
                if head.total.is_some() || !p.confirm_end {
                    return Ok(None);
                }
            }
            if let Some(total) = head.total
                && next.index.saturating_mul(p.limit) >= total
            {
                return Ok(None);
            }
        }
        PagingKind::Cursor => {
            if head.has_more == Some(false) {
                return Ok(None);
            }
            let Some(c) = head.cursor.clone().filter(|c| !c.is_empty()) else {
                if head.has_more == Some(true) {
                    return Err(no_next(p, page_origin(), "cursor"));
                }
                return Ok(None);
            };
            if !seen.first_time(&c) {
                return Err(EngineError::Paging {
                    origin: page_origin(),
                    message: format!(
                        "the API returned cursor `{}` a second time; stopping instead of looping forever",
                        redactor.text(&c)
                    ),
                });
            }
            next.cursor = Some(c);
        }
        PagingKind::NextUrl | PagingKind::LinkHeader => {
            if head.has_more == Some(false) {
                return Ok(None);
            }
            let raw = if p.kind == PagingKind::NextUrl {
                head.next_url.clone()
            } else {
                head.link_next.clone()
            };
            let Some(raw) = raw.filter(|u| !u.is_empty()) else {
                if head.has_more == Some(true) {
                    return Err(no_next(p, page_origin(), "next URL"));
                }
                return Ok(None);
            };
            let base = head
                .url
                .clone()
                .unwrap_or_else(|| run.inner.base_url.clone());
            let url = base.join(&raw).map_err(|e| EngineError::Paging {
                origin: page_origin(),
                message: format!("the next-page URL `{raw}` is not a URL: {e}"),
            })?;
            if !seen.first_time(url.as_str()) {
                return Err(EngineError::Paging {
                    origin: page_origin(),
                    message: format!(
                        "the API returned next-page URL {} a second time; stopping instead of looping forever",
                        redactor.url(&url)
                    ),
                });
            }
            next.next = Some(url);
        }
    }
    Ok(Some(next))
}
