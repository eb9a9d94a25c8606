//! [`Spare`]: the Rhai values of one page of records, kept for the next page.
//!
//! Handing a page of records to a script builds, for each record, two object maps and a
//! string per value; reading them back drops them all. Over a page of 250 records that is
//! about 4,000 allocations and as many frees, most of an `after` hook's cost when the script
//! itself does little (`records.retain(|r| r.attributes.active)`). The maps and strings of the
//! records a script gives back are kept instead: a record map whose keys are exactly those of
//! the page's records (its `attributes` map included, every value taken out), and every string
//! value. The next page's records are written into them.
//!
//! Reusing a string writes into it in place ([`ImmutableString::make_mut`]), which copies it
//! first when something else still holds it: a kept string is never changed under anyone.

use std::sync::Arc;

use rhai::{Array, Dynamic, ImmutableString, Map};
use serde_json::Value;

use crate::convert::to_dynamic;

/// Record maps kept at most (a few pages of records).
const MAX_RECORDS: usize = 1024;
/// Strings kept at most.
const MAX_STRINGS: usize = 16 * 1024;

/// Maps and strings of earlier pages (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct Spare {
    /// Record maps with the keys `attributes` (a map with the keys `names`), `identity`,
    /// `name` and `type`, every value `()`.
    records: Vec<Dynamic>,
    /// The attribute names of the kept record maps.
    names: Vec<Arc<str>>,
    strings: Vec<ImmutableString>,
}

impl Spare {
    /// Makes the kept record maps those of a page with attributes `names` (the maps of another
    /// operation's records are dropped).
    pub(crate) fn for_names(&mut self, names: &[Arc<str>]) {
        if self.names.len() != names.len()
            || self
                .names
                .iter()
                .zip(names)
                .any(|(a, b)| a.as_ref() != b.as_ref())
        {
            self.records.clear();
            self.names = names.to_vec();
        }
    }

    /// A record map to fill (keys as in [`Spare::records`]), if one is kept.
    pub(crate) fn record(&mut self) -> Option<Dynamic> {
        self.records.pop()
    }

    /// Keeps `record` (a map whose values were all taken out) if its keys are the page's:
    /// `attributes` is the map `attributes`, with `attributes_len` keys that are all attribute
    /// names, and the record has only the four other keys (the caller checked them).
    pub(crate) fn keep_record(&mut self, mut record: Dynamic, attributes: Dynamic) {
        if self.records.len() >= MAX_RECORDS
            || attributes
                .read_lock::<Map>()
                .is_none_or(|a| a.len() != self.names.len())
        {
            return;
        }
        if let Some(mut m) = record.write_lock::<Map>()
            && let Some(slot) = m.get_mut("attributes")
        {
            *slot = attributes;
        } else {
            return;
        }
        self.records.push(record);
    }

    /// `s` as a string value, written into a kept string when there is one.
    pub(crate) fn string(&mut self, s: &str) -> ImmutableString {
        match self.strings.pop() {
            Some(mut kept) => {
                let m = kept.make_mut();
                m.clear();
                m.push_str(s);
                kept
            }
            None => ImmutableString::from(s),
        }
    }

    /// Keeps the strings of a value the script is done with (an array's too).
    pub(crate) fn keep_strings(&mut self, d: Dynamic) {
        if self.strings.len() >= MAX_STRINGS {
            return;
        }
        if d.is_string() {
            if let Ok(s) = d.into_immutable_string() {
                self.strings.push(s);
            }
        } else if d.is_array()
            && let Ok(a) = d.into_array()
        {
            for item in a {
                if item.is_string() {
                    self.keep_strings(item);
                }
            }
        }
    }

    /// `v` as the script sees it, its strings written into kept ones.
    pub(crate) fn value(&mut self, v: &Value) -> Dynamic {
        match v {
            Value::String(s) => Dynamic::from(self.string(s)),
            Value::Array(a) => {
                Dynamic::from_array(a.iter().map(|v| self.value(v)).collect::<Array>())
            }
            other => to_dynamic(other),
        }
    }
}
