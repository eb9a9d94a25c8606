//! Reading a response body within `http.max_body`: refused up front when `Content-Length`
//! already says it is too large, otherwise read chunk by chunk (after decompression, so a
//! small gzip body that inflates to gigabytes is stopped as well) and abandoned as soon as it
//! grows past the limit. The connection of an abandoned body is closed, never read to the end.

use bytes::{Bytes, BytesMut};

/// Why a body could not be read.
#[derive(Debug)]
pub(super) enum ReadError {
    /// The body is larger than the limit; `declared` is its `Content-Length` when that said
    /// so before any of it was read.
    TooLarge {
        /// The `Content-Length` that exceeded the limit, if any.
        declared: Option<u64>,
    },
    /// The transport failed while reading.
    Transport(reqwest::Error),
}

/// Reads the body of `resp`, at most `max` bytes of it.
pub(super) async fn read_body(mut resp: reqwest::Response, max: u64) -> Result<Bytes, ReadError> {
    let declared = resp.content_length();
    if let Some(n) = declared
        && n > max
    {
        return Err(ReadError::TooLarge { declared: Some(n) });
    }
    // Trust a declared length only as a capacity hint, and never beyond the limit.
    let mut body = BytesMut::with_capacity(declared.unwrap_or(0).min(max).min(1 << 24) as usize);
    while let Some(chunk) = resp.chunk().await.map_err(ReadError::Transport)? {
        if (body.len() + chunk.len()) as u64 > max {
            return Err(ReadError::TooLarge { declared: None });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
