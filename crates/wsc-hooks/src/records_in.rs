//! Mapped records into an `after` hook: the object maps the script sees, built from the
//! engine's records (into the maps and strings kept from the last page, `spare.rs`). Reading
//! them back is `records.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use rhai::{Array, Dynamic, ImmutableString, Map};

use crate::convert::to_dynamic;
use crate::records::{HookRecord, RecordShape, address};
use crate::spare::Spare;

/// The page handed to a script: the `records` array, and where each record came from.
pub(crate) struct PageIn {
    pub(crate) array: Array,
    /// The address of each `identity` string given to the script → the record's index.
    pub(crate) identities: HashMap<usize, usize>,
    /// [`sorted_names`].
    pub(crate) order: Vec<usize>,
}

/// The indexes of `names` in the order of their names (the order of a Rhai map's keys).
pub(crate) fn sorted_names(names: &[Arc<str>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| names[a].cmp(&names[b]));
    order
}

/// Builds the object maps the script sees, one per record (into `spare`'s maps and strings
/// when it has some).
pub(crate) fn records_in(
    records: &[HookRecord],
    shape: &RecordShape<'_>,
    spare: &mut Spare,
) -> PageIn {
    let names = shape.names;
    spare.for_names(names);
    let page_type = ImmutableString::from(shape.object_type.as_ref());
    let mut identities = HashMap::with_capacity(records.len());
    // Each map is a copy of a map with the keys and no values (copying a B-tree builds it
    // without searching), whose values are then set in key order.
    let order = sorted_names(names);
    let attrs_template: Map = names
        .iter()
        .map(|n| (n.as_ref().into(), Dynamic::UNIT))
        .collect();
    let unique = attrs_template.len() == names.len();
    let mut template = Map::new();
    for k in ["attributes", "identity", "name", "type"] {
        template.insert(k.into(), Dynamic::UNIT);
    }
    let mut with_members = template.clone();
    with_members.insert("members".into(), Dynamic::UNIT);
    let array = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let ty = if r.object_type == *shape.object_type {
                page_type.clone()
            } else {
                ImmutableString::from(r.object_type.as_ref())
            };
            let id = spare.string(&r.identity);
            identities.insert(address(&id), i);
            let name = r
                .name
                .as_deref()
                .map_or(Dynamic::UNIT, |n| Dynamic::from(spare.string(n)));
            // Every attribute in place, under distinct names: the template's key order holds.
            let full = unique && r.attributes.len() == names.len();
            if full
                && r.members.is_none()
                && let Some(mut kept) = spare.record()
            {
                fill_kept(&mut kept, r, &order, spare, (id, name, ty));
                return kept;
            }
            let attrs = if full {
                let mut attrs = attrs_template.clone();
                for (slot, &k) in attrs.values_mut().zip(&order) {
                    *slot = spare.value(&r.attributes[k]);
                }
                attrs
            } else {
                let mut attrs = Map::new();
                for (k, v) in names.iter().zip(&r.attributes) {
                    attrs.insert(k.as_ref().into(), to_dynamic(v));
                }
                attrs
            };
            let members = r.members.as_ref().map(|ms| {
                ms.iter()
                    .map(|s| Dynamic::from(ImmutableString::from(s.as_str())))
                    .collect::<Array>()
            });
            // Keys in order: attributes, identity, members, name, type.
            let mut m = if members.is_some() {
                with_members.clone()
            } else {
                template.clone()
            };
            let mut values = m.values_mut();
            let mut set = |v: Dynamic| {
                if let Some(slot) = values.next() {
                    *slot = v;
                }
            };
            set(Dynamic::from_map(attrs));
            set(Dynamic::from(id));
            if let Some(ms) = members {
                set(Dynamic::from_array(ms));
            }
            set(name);
            set(Dynamic::from(ty));
            Dynamic::from_map(m)
        })
        .collect();
    PageIn {
        array,
        identities,
        order,
    }
}

/// Writes record `r` into a kept record map (keys: attributes, identity, name, type; the
/// attributes in `order`).
fn fill_kept(
    kept: &mut Dynamic,
    r: &HookRecord,
    order: &[usize],
    spare: &mut Spare,
    (id, name, ty): (ImmutableString, Dynamic, ImmutableString),
) {
    let Some(mut m) = kept.write_lock::<Map>() else {
        return;
    };
    let mut values = m.values_mut();
    if let Some(attrs) = values.next()
        && let Some(mut a) = attrs.write_lock::<Map>()
    {
        for (slot, &k) in a.values_mut().zip(order) {
            *slot = spare.value(&r.attributes[k]);
        }
    }
    for v in [Dynamic::from(id), name, Dynamic::from(ty)] {
        if let Some(slot) = values.next() {
            *slot = v;
        }
    }
}
