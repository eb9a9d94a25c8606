//! [`PageWriter`]: the compiled projection outside a run, for tools and benchmarks that map
//! pages themselves.

use std::sync::Arc;

use super::{PageFailure, Projection};
use crate::doc::tape::Tape;
use crate::doc::{Doc, DocError};
use crate::lines::{IdHasher, Lines};
use crate::mapping::{MapError, RecordMapper};

/// Writes the records of response pages as JSON Lines the way
/// [`Engine::aggregate_lines`](crate::Engine::aggregate_lines) writes each page: straight from
/// the page's bytes through the mapping's compiled projection, the ordinary mapping for what
/// the projection leaves to it.
#[derive(Debug)]
pub struct PageWriter {
    projection: Projection,
    mapper: Arc<RecordMapper>,
    tape: Tape,
    hasher: IdHasher,
}

/// Why a page could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The page is not valid JSON.
    #[error("the page is not valid JSON: {0}")]
    Json(#[from] DocError),
    /// A record could not be mapped.
    #[error("{0}")]
    Map(#[from] MapError),
    /// A bug in wsc.
    #[error("internal error (a bug in wsc): {0}")]
    Internal(String),
}

impl PageWriter {
    /// The writer of `mapper`'s records; `None` when its mapping does not compile to a
    /// projection (templates, filters or other general JSONPaths, `delta.deleted`, records not
    /// in an array at a key path).
    pub fn new(mapper: Arc<RecordMapper>) -> Option<PageWriter> {
        Some(PageWriter {
            projection: Projection::compile(&mapper, &[], false)?,
            mapper,
            tape: Tape::default(),
            hasher: IdHasher::default(),
        })
    }

    /// Appends the records of one page (a whole response body) to `lines`.
    pub fn write_page(&mut self, body: &[u8], lines: &mut Lines) -> Result<(), PageError> {
        let (doc, text) = self.projection.parse(body, &mut self.tape)?;
        match text {
            Some(text) => {
                self.projection
                    .write_page(text, &self.tape, &self.mapper, &self.hasher, lines)
                    .map_err(|f| match f {
                        PageFailure::Map(e) => PageError::Map(e),
                        PageFailure::Bug(b) => PageError::Internal(b),
                    })?;
            }
            None => write_ordinary(&self.mapper, &doc, lines)?,
        }
        Ok(())
    }

    /// Parses one page the way [`PageWriter::write_page`] does (the envelope into a document,
    /// the records onto the tape) without writing it: the parse alone, for the parser
    /// comparison (`examples/parse_bench.rs`). Returns the number of records on the tape (0
    /// when the page would be mapped the ordinary way).
    #[cfg(feature = "simd-compare")]
    pub fn parse_page(&mut self, body: &[u8]) -> Result<usize, PageError> {
        let (doc, text) = self.projection.parse(body, &mut self.tape)?;
        std::hint::black_box(&doc);
        Ok(if text.is_some() {
            Projection::count(&self.tape)
        } else {
            0
        })
    }
}

/// The page's records mapped the ordinary way.
fn write_ordinary(mapper: &RecordMapper, doc: &Doc<'_>, lines: &mut Lines) -> Result<(), MapError> {
    for r in mapper.map_page(doc) {
        lines.push_record(&r?, mapper.attribute_names());
    }
    Ok(())
}
