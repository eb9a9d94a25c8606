//! Rhai's array functions that call a function pointer per element (`retain`, `filter`, `map`,
//! `some`, `all`), with the same results but without a failed call per element.
//!
//! Rhai calls the function pointer of `records.retain(|r| r.attributes.active)` for each
//! element in up to three ways: first with the element bound to `this` and no argument, then
//! with a copy of the element as the argument, then with the element and its index. A closure
//! that takes the element as its parameter (how these functions are nearly always written)
//! thus fails the first way for every element: the engine looks the function up, builds a
//! "function not found" error with the call's signature, and only then calls it the second
//! way. Over a page of records that failed call costs more than the closure itself.
//!
//! These replacements find the way that works once, on the first element, and call every
//! other element that way. They try the same ways in the same order as Rhai for a named
//! function (`Fn("pred")`, which may have several overloads); for an anonymous closure, which
//! has exactly one definition, they try the element as the argument first, which gives the
//! same result because a closure defined with one parameter can only be called one way.
//! Errors are wrapped as Rhai wraps them (`ErrorInFunctionCall` naming the array function).

use rhai::{Array, Dynamic, EvalAltResult, FnPtr, FuncRegistration, INT, NativeCallContext};

type Result<T> = std::result::Result<T, Box<EvalAltResult>>;
type RhaiResult = Result<Dynamic>;

/// How a function pointer takes an array element (the three ways Rhai tries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    /// The element bound to `this`, no argument.
    This,
    /// A copy of the element as the only argument.
    Item,
    /// A copy of the element and its index.
    ItemIndex,
}

/// Calls `f` once per element, in the way found on the first element.
struct Caller<'a> {
    ctx: &'a NativeCallContext<'a>,
    f: &'a FnPtr,
    /// The array function, for errors.
    caller: &'static str,
    way: Option<Way>,
}

impl<'a> Caller<'a> {
    fn new(ctx: &'a NativeCallContext<'a>, f: &'a FnPtr, caller: &'static str) -> Caller<'a> {
        Caller {
            ctx,
            f,
            caller,
            way: None,
        }
    }

    /// Calls `f` on `item` (at `index`); the element itself changes only when it is bound to
    /// `this`, as with Rhai's own functions.
    fn call(&mut self, item: &mut Dynamic, index: usize) -> RhaiResult {
        match self.way {
            Some(way) => self.call_way(way, item, index),
            None => self.find(item, index),
        }
        .map_err(|err| self.wrap(err))
    }

    fn call_way(&self, way: Way, item: &mut Dynamic, index: usize) -> RhaiResult {
        match way {
            Way::This => self.f.call_raw(self.ctx, Some(item), []),
            Way::Item => self.f.call_raw(self.ctx, None, [item.clone()]),
            Way::ItemIndex => self.f.call_raw(self.ctx, None, [item.clone(), int(index)]),
        }
    }

    /// Tries the ways in order on the first element and keeps the first that exists.
    fn find(&mut self, item: &mut Dynamic, index: usize) -> RhaiResult {
        let order: &[Way] = if self.f.is_anonymous() {
            &[Way::Item, Way::This, Way::ItemIndex]
        } else {
            &[Way::This, Way::Item, Way::ItemIndex]
        };
        let mut last = None;
        for &way in order {
            match self.call_way(way, item, index) {
                Err(err) if self.not_found(&err) => last = Some(err),
                result => {
                    self.way = Some(way);
                    return result;
                }
            }
        }
        Err(last.expect("three ways were tried"))
    }

    /// Whether `err` says the function pointer itself has no such overload (not a function
    /// missing inside its body, which comes wrapped in the call's error).
    fn not_found(&self, err: &EvalAltResult) -> bool {
        matches!(err, EvalAltResult::ErrorFunctionNotFound(sig, ..)
            if sig.starts_with(self.f.fn_name()))
    }

    fn wrap(&self, err: Box<EvalAltResult>) -> Box<EvalAltResult> {
        Box::new(EvalAltResult::ErrorInFunctionCall(
            self.caller.to_string(),
            self.ctx.call_source().unwrap_or("").to_string(),
            err,
            rhai::Position::NONE,
        ))
    }
}

fn int(i: usize) -> Dynamic {
    INT::try_from(i).unwrap_or(INT::MAX).into()
}

fn truthy(d: &Dynamic) -> bool {
    d.as_bool().unwrap_or(false)
}

/// Removes the elements for which `f` is not `true`, returning them.
fn retain(ctx: NativeCallContext<'_>, array: &mut Array, f: FnPtr) -> Result<Array> {
    let mut caller = Caller::new(&ctx, &f, "retain");
    let items = std::mem::take(array);
    let mut kept = Array::with_capacity(items.len());
    let mut drained = Array::new();
    let mut items = items.into_iter().enumerate();
    while let Some((i, mut item)) = items.next() {
        match caller.call(&mut item, i) {
            Ok(keep) if truthy(&keep) => kept.push(item),
            Ok(_) => drained.push(item),
            Err(err) => {
                // As Rhai leaves it: what was decided is applied, the rest stays.
                kept.push(item);
                kept.extend(items.map(|(_, item)| item));
                *array = kept;
                return Err(err);
            }
        }
    }
    *array = kept;
    Ok(drained)
}

/// A copy of the elements for which `f` is `true`.
fn filter(ctx: NativeCallContext<'_>, array: &mut Array, f: FnPtr) -> Result<Array> {
    let mut caller = Caller::new(&ctx, &f, "filter");
    let mut out = Array::new();
    for (i, item) in array.iter_mut().enumerate() {
        if truthy(&caller.call(item, i)?) {
            out.push(item.clone());
        }
    }
    Ok(out)
}

/// `f` of each element.
fn map(ctx: NativeCallContext<'_>, array: &mut Array, f: FnPtr) -> Result<Array> {
    let mut caller = Caller::new(&ctx, &f, "map");
    let mut out = Array::with_capacity(array.len());
    for (i, item) in array.iter_mut().enumerate() {
        out.push(caller.call(item, i)?);
    }
    Ok(out)
}

/// Whether `f` is `true` for an element.
fn some(ctx: NativeCallContext<'_>, array: &mut Array, f: FnPtr) -> Result<bool> {
    let mut caller = Caller::new(&ctx, &f, "some");
    for (i, item) in array.iter_mut().enumerate() {
        if truthy(&caller.call(item, i)?) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether `f` is `true` for every element.
fn all(ctx: NativeCallContext<'_>, array: &mut Array, f: FnPtr) -> Result<bool> {
    let mut caller = Caller::new(&ctx, &f, "all");
    for (i, item) in array.iter_mut().enumerate() {
        if !truthy(&caller.call(item, i)?) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Registers the replacements on `engine`; functions registered on the engine are found
/// before the standard package's of the same signature.
pub(crate) fn register(engine: &mut rhai::Engine) {
    // `retain` changes its array, so (as Rhai's) it cannot be called on a constant.
    FuncRegistration::new("retain")
        .with_purity(false)
        .register_into_engine(engine, retain);
    FuncRegistration::new("filter").register_into_engine(engine, filter);
    FuncRegistration::new("map").register_into_engine(engine, map);
    FuncRegistration::new("some").register_into_engine(engine, some);
    FuncRegistration::new("all").register_into_engine(engine, all);
}
