//! Operations: completeness and consistency of each operation, its steps, attributes, entitlements, partitions and hooks.

use std::collections::HashSet;

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::locate::join_key;
use crate::model::{Attribute, Floor, Hooks, Operation, OperationKey, OperationKind, Partitions};

use super::validator::{Ctx, Secrecy, Validator, is_identifier};

impl Validator<'_> {
    pub(super) fn operations(&mut self) {
        self.namespaces("namespaces", self.c.namespaces.map());
        let ops = &self.c.operations;
        let group_types: Vec<&str> = ops.group_aggregation.keys().map(String::as_str).collect();
        for t in ops.get_object.keys() {
            if t != "account" && !group_types.contains(&t.as_str()) {
                let mut cands = vec!["account"];
                cands.extend(group_types.iter().copied());
                let hint = match did_you_mean(t, cands.iter().copied()) {
                    Some(b) => format!("did you mean `{b}`?"),
                    None => {
                        "use `account` or a group type defined under `group_aggregation`".into()
                    }
                };
                self.error(
                    &format!("operations.{}", OperationKey::get_object(t)),
                    format!("`get_object.{t}`: `{t}` is not an object type of this connector"),
                    Some(hint),
                );
            }
        }
        for t in &group_types {
            if *t == "account" || !is_identifier(t) {
                self.error(
                    &format!("operations.{}", OperationKey::group_aggregation(t)),
                    format!("invalid group type name `{t}`"),
                    Some("use a name such as `group` or `role` (letters, digits, `_`; not `account`)".into()),
                );
            }
        }
        for name in ops.custom.keys() {
            let builtin = OperationKind::ALL.iter().any(|k| k.name() == name.as_str());
            if builtin || !is_identifier(name) {
                self.error(
                    &format!("operations.{}", OperationKey::custom(name)),
                    if builtin {
                        format!("`custom.{name}`: `{name}` is a built-in operation")
                    } else {
                        format!("invalid custom operation name `{name}`")
                    },
                    Some(if builtin {
                        format!("define it as `operations.{name}`")
                    } else {
                        "use a name such as `suspend_account` (letters, digits, `_`)".into()
                    }),
                );
            }
        }
        for (key, op) in ops.entries() {
            self.operation(&format!("operations.{key}"), key.kind(), op);
        }
    }

    pub(super) fn operation(&mut self, path: &str, kind: OperationKind, op: &Operation) {
        self.xml_operation(path, op);
        self.operation_inner(path, kind, op);
        self.xml_prefixes = None;
    }

    fn operation_inner(&mut self, path: &str, kind: OperationKind, op: &Operation) {
        let base = Ctx {
            plan: kind.takes_plan(),
            // Credentials are placed by `auth` (header, query, ...), never by templates.
            auth: false,
            last_run: kind.is_aggregation(),
            partition: op.partitions.is_some(),
            window: op.windows.is_some(),
            ..Ctx::default()
        };
        match (&op.request, op.steps.is_empty()) {
            (None, true) => self.error(
                path,
                "the operation has neither `request` nor `steps`",
                Some("add `request: { method: GET, path: /... }`".into()),
            ),
            (Some(_), false) => self.error(
                path,
                "the operation has both `request` and `steps`",
                Some("use `request` for one request, or put every request in `steps`".into()),
            ),
            _ => {}
        }
        if let Some(r) = &op.request {
            let ctx = Ctx {
                page: op.paging.is_some(),
                paging_kind: op.paging.as_ref().map(|p| p.kind),
                ..base
            };
            self.request(&join_key(path, "request"), r, ctx);
            if let Some(p) = &op.paging {
                self.paging(&join_key(path, "paging"), p, r);
            }
        } else if op.paging.is_some() {
            self.error(
                &join_key(path, "paging"),
                "`paging` applies to `request`; in a multi-step operation put it on the step",
                None,
            );
        }
        self.steps(path, op, base);
        self.setup(path, kind, op, base);
        self.windows(path, kind, op);
        if !matches!(
            kind,
            OperationKind::AccountAggregation
                | OperationKind::GroupAggregation
                | OperationKind::GetObject
                | OperationKind::GetPartitions
                | OperationKind::TestConnection
        ) {
            let cached = std::iter::once((path.to_string(), op.cache)).chain(
                op.steps
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (format!("{path}.steps[{i}]"), s.cache)),
            );
            for (p, _) in cached.filter(|(_, c)| *c).collect::<Vec<_>>() {
                self.error(
                    &join_key(&p, "cache"),
                    "`cache` applies to read operations only (aggregations, get_object, get_partitions, test_connection): a write must reach the API every time",
                    None,
                );
            }
        }

        if kind.is_aggregation() {
            if op.records.is_none() && op.steps.is_empty() {
                self.error(
                    path,
                    "an aggregation needs `records`: the JSONPath of the records in each response",
                    Some(
                        "e.g. `records: \"$.items[*]\"` (or `\"$[*]\"` when the body is a list)"
                            .into(),
                    ),
                );
            }
            if op.identity.is_none() {
                self.error(
                    path,
                    "an aggregation needs `identity`: the JSONPath of each record's unique id",
                    Some("e.g. `identity: \"$.id\"`".into()),
                );
            }
        }
        if kind == OperationKind::GetObject && op.identity.is_none() {
            self.error(
                path,
                "`get_object` needs `identity`: the JSONPath of the object's unique id",
                Some("e.g. `identity: \"$.id\"`".into()),
            );
        }
        for (k, jp) in [
            ("records", &op.records),
            ("identity", &op.identity),
            ("name", &op.name),
            ("members", &op.members),
        ] {
            if let Some(jp) = jp {
                self.jsonpath(&join_key(path, k), jp);
            }
        }
        if op.members.is_some()
            && !matches!(
                kind,
                OperationKind::GroupAggregation | OperationKind::GetObject
            )
        {
            self.error(
                &join_key(path, "members"),
                "`members` applies to group aggregation and get_object of a group type",
                None,
            );
        }
        self.attributes(path, op);
        for (i, e) in op.entitlements.iter().enumerate() {
            let p = format!("{path}.entitlements[{i}]");
            if !op.attributes.contains_key(&e.attribute) {
                let hint = did_you_mean(&e.attribute, op.attributes.keys().map(String::as_str))
                    .map(|b| format!("did you mean `{b}`?"))
                    .unwrap_or_else(|| "name an attribute defined under `attributes`".into());
                self.error(
                    &join_key(&p, "attribute"),
                    format!(
                        "entitlement attribute `{}` is not among this operation's attributes",
                        e.attribute
                    ),
                    Some(hint),
                );
            }
            if let Some(a) = op.attributes.get(&e.attribute)
                && !matches!(a, crate::model::Attribute::Full(d) if d.multi)
            {
                self.error(
                    &join_key(&p, "attribute"),
                    format!(
                        "entitlement attribute `{}` is not multi-valued: an account's entitlements are a list, and a single value would keep only the first",
                        e.attribute
                    ),
                    Some(format!(
                        "declare it with `multi: true`, e.g. `{}: {{ path: \"$.groups[*].id\", multi: true }}`",
                        e.attribute
                    )),
                );
            }
            if e.group_type != "group"
                && !self
                    .c
                    .operations
                    .group_aggregation
                    .contains_key(&e.group_type)
            {
                self.push(
                    &join_key(&p, "group_type"),
                    Diagnostic::warning(format!(
                        "group type `{}` has no `group_aggregation`",
                        e.group_type
                    )),
                );
            }
        }
        if let Some(parts) = &op.partitions {
            self.partitions(&join_key(path, "partitions"), kind, parts);
        }
        if !kind.is_aggregation() {
            for (present, key) in [
                (op.on_duplicate.is_some(), "on_duplicate"),
                (op.max_shrink.is_some(), "max_shrink"),
            ] {
                if present {
                    self.error(
                        &join_key(path, key),
                        format!("`{key}` applies to aggregations only"),
                        None,
                    );
                }
            }
        }
        if let Some(m) = op.max_shrink
            && m > 100
        {
            self.error(
                &join_key(path, "max_shrink"),
                format!("`max_shrink` is a percentage from 0 to 100, not {m}"),
                Some("100 turns the guard off".into()),
            );
        }
        if let Some(delta) = &op.delta {
            let dp = join_key(path, "delta");
            if !kind.is_aggregation() {
                self.error(&dp, "`delta` applies to aggregations only", None);
            }
            for (k, t) in &delta.query {
                self.template(&format!("{dp}.query.{k}"), t, base, Secrecy::Plain);
            }
            if let Some(jp) = &delta.deleted {
                self.jsonpath(&join_key(&dp, "deleted"), jp);
            }
        }
        self.error_rules(&join_key(path, "errors"), &op.errors);
        if let Some(h) = &op.hooks {
            self.hooks(&join_key(path, "hooks"), h);
        }
        if op.values.is_some()
            && !matches!(
                kind,
                OperationKind::AddEntitlement | OperationKind::RemoveEntitlement
            )
        {
            self.error(
                &join_key(path, "values"),
                "`values` applies to add_entitlement and remove_entitlement only",
                None,
            );
        }
        self.write_keys(path, kind, op, base);
        if op.read_back {
            if !kind.is_write() {
                self.error(
                    &join_key(path, "read_back"),
                    "`read_back` applies to write operations only",
                    None,
                );
            } else if !self.c.operations.get_object.contains_key("account") {
                self.error(
                    &join_key(path, "read_back"),
                    "`read_back: true` needs `operations.get_object.account` to read the account back",
                    None,
                );
            }
        }
    }

    pub(super) fn attributes(&mut self, path: &str, op: &Operation) {
        // Attribute templates render with the record and the partition or window it was
        // read in.
        let rctx = Ctx {
            record: true,
            partition: op.partitions.is_some(),
            window: op.windows.is_some(),
            no_state: true,
            ..Ctx::default()
        };
        for (name, a) in &op.attributes {
            let p = format!("{path}.attributes.{name}");
            match a {
                Attribute::Path(jp) => self.jsonpath(&p, jp),
                Attribute::Full(def) => {
                    let n = [
                        def.path.is_some(),
                        def.template.is_some(),
                        def.value.is_some(),
                    ]
                    .iter()
                    .filter(|b| **b)
                    .count();
                    if n != 1 {
                        self.error(
                            &p,
                            format!("attribute `{name}` needs exactly one of `path`, `template` and `value`"),
                            Some("e.g. `{ path: \"$.email\", type: string }`".into()),
                        );
                    }
                    if let Some(jp) = &def.path {
                        self.jsonpath(&join_key(&p, "path"), jp);
                    }
                    if let Some(t) = &def.template {
                        self.template(&join_key(&p, "template"), t, rctx, Secrecy::Plain);
                        // A record's values are output: a secret setting must not land there.
                        for s in crate::auth_settings::settings_read(t) {
                            if self.c.settings.get(&s).is_some_and(|d| d.secret) {
                                self.error(
                                    &join_key(&p, "template"),
                                    format!("attribute `{name}` reads secret setting `{s}`: its value would be written into every record"),
                                    Some("attribute templates may read plain settings only".into()),
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    pub(super) fn steps(&mut self, path: &str, op: &Operation, base: Ctx) {
        /// Levels of nested `for_each` steps run (teams → members → roles is 2).
        const MAX_NESTING: usize = 4;
        let mut seen: Vec<&str> = Vec::new();
        let mut saved = false;
        for (i, s) in op.steps.iter().enumerate() {
            let p = format!("{path}.steps[{i}]");
            if seen.contains(&s.name.as_str()) {
                self.error(
                    &join_key(&p, "name"),
                    format!("duplicate step name `{}`", s.name),
                    Some("step names must be unique within an operation".into()),
                );
            }
            if let Some(fe) = &s.for_each
                && !seen.contains(&fe.as_str())
            {
                let hint = match did_you_mean(fe, seen.iter().copied()) {
                    Some(b) => format!("did you mean `{b}`?"),
                    None if seen.is_empty() => "the first step cannot be a `for_each` step".into(),
                    None => format!(
                        "name an earlier step: {}",
                        seen.iter()
                            .map(|s| format!("`{s}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                self.error(
                    &join_key(&p, "for_each"),
                    format!("`for_each: {fe}` does not name an earlier step"),
                    Some(hint),
                );
            }
            if s.for_each.is_some() && seen.contains(&s.for_each.as_deref().unwrap_or("")) {
                // Levels of `for_each` above this step (1: over the primary step).
                let mut depth = 0;
                let mut at = s;
                while let Some(fe) = &at.for_each
                    && let Some(up) = op.steps.iter().find(|x| &x.name == fe)
                    && depth <= MAX_NESTING
                {
                    depth += 1;
                    at = up;
                }
                if depth > MAX_NESTING {
                    self.error(
                        &join_key(&p, "for_each"),
                        format!(
                            "`for_each` steps nest {depth} levels deep here; at most {MAX_NESTING} are run (each level multiplies the requests by the records of the level above)"
                        ),
                        Some("read the deeper levels in a separate operation, or with a hook".into()),
                    );
                }
            }
            if let Some(fe) = &s.for_each
                && let Some(parent) = op.steps.iter().find(|x| &x.name == fe)
                && parent.for_each.is_none()
                && op
                    .steps
                    .iter()
                    .rev()
                    .find(|x| x.for_each.is_none())
                    .map(|x| &x.name)
                    != Some(fe)
            {
                self.error(
                    &join_key(&p, "for_each"),
                    format!(
                        "`for_each: {fe}` names a setup step: `for_each` steps run per record of the operation's primary step (the last step without `for_each`), so this step would never run"
                    ),
                    Some("name the primary step, or move this step after it".into()),
                );
            }
            if s.merge.is_some() && s.for_each.is_none() {
                self.error(
                    &join_key(&p, "merge"),
                    "`merge` needs `for_each`: it joins each record's step results into that record",
                    None,
                );
            }
            if let Some(c) = &s.concurrency {
                self.settable(&join_key(&p, "concurrency"), c, Floor::One);
            }
            let ctx = Ctx {
                page: s.paging.is_some(),
                paging_kind: s.paging.as_ref().map(|p| p.kind),
                record: s.for_each.is_some(),
                parent: s.for_each.is_some() && i > 1,
                response: i > 0,
                saved,
                ..base
            };
            let outer = self.xml_step(&p, op, s);
            self.request(&join_key(&p, "request"), &s.request, ctx);
            if let Some(pg) = &s.paging {
                self.paging(&join_key(&p, "paging"), pg, &s.request);
            }
            if let Some(jp) = &s.records {
                self.jsonpath(&join_key(&p, "records"), jp);
            }
            if let Some(m) = &s.merge
                && let Some(jp) = &m.value
            {
                self.jsonpath(&format!("{p}.merge.value"), jp);
            }
            for (k, jp) in &s.save {
                self.jsonpath(&format!("{p}.save.{k}"), jp);
            }
            self.error_rules(&join_key(&p, "errors"), &s.errors);
            self.xml_prefixes = outer;
            if let Some(h) = &s.hooks {
                self.hooks(&join_key(&p, "hooks"), h);
            }
            if !s.save.is_empty() {
                saved = true;
            }
            seen.push(&s.name);
        }
    }

    pub(super) fn partitions(&mut self, path: &str, kind: OperationKind, p: &Partitions) {
        if !matches!(
            kind,
            OperationKind::AccountAggregation | OperationKind::GroupAggregation
        ) {
            self.error(
                path,
                "`partitions` apply to account and group aggregation only",
                None,
            );
        }
        if p.list.is_none() && p.from_setting.is_none() && !p.from_get_partitions {
            self.error(
                path,
                "partitions need a source: `list`, `from_setting` or `from_get_partitions: true` (several are joined)",
                Some("e.g. `partitions: { list: [ { name: a-m, filter: \"a*\" }, { name: n-z, filter: \"n*\" } ] }`, or `partitions: { from_setting: org_ids }`".into()),
            );
        }
        if let Some(name) = &p.from_setting {
            let at = join_key(path, "from_setting");
            match self.c.settings.get(name) {
                None => self.error(
                    &at,
                    format!("`from_setting` names `{name}`, which is not a declared setting"),
                    Some(format!(
                        "declare it: `settings: {{ {name}: {{ type: list }} }}`"
                    )),
                ),
                Some(s) if s.value_type() != crate::model::SettingType::List => self.error(
                    &at,
                    format!(
                        "`from_setting` needs a setting of type `list`; `{name}` is a {}",
                        s.value_type().as_str()
                    ),
                    Some(format!("declare `{name}: {{ type: list }}`")),
                ),
                Some(_) => {}
            }
        }
        if p.from_get_partitions && self.c.operations.get_partitions.is_none() {
            self.error(
                &join_key(path, "from_get_partitions"),
                "`from_get_partitions: true` needs `operations.get_partitions`",
                None,
            );
        }
        if let Some(list) = &p.list {
            let mut names = HashSet::new();
            for (i, item) in list.iter().enumerate() {
                let ip = format!("{path}.list[{i}]");
                match item.get("name").and_then(|n| n.as_str()) {
                    None => self.error(&ip, "each partition needs a `name` (a string)", None),
                    Some(n) => {
                        if !names.insert(n.to_string()) {
                            self.error(
                                &join_key(&ip, "name"),
                                format!("duplicate partition name `{n}`"),
                                None,
                            );
                        }
                    }
                }
            }
            if list.is_empty() {
                self.error(&join_key(path, "list"), "the partition list is empty", None);
            }
        }
        if let Some(c) = &p.concurrency {
            self.settable(&join_key(path, "concurrency"), c, Floor::One);
        }
    }

    pub(super) fn hooks(&mut self, path: &str, h: &Hooks) {
        for (k, hook) in [
            ("before", &h.before),
            ("after", &h.after),
            ("before_operation", &h.before_operation),
            ("after_operation", &h.after_operation),
        ] {
            let Some(hook) = hook else { continue };
            let p = join_key(path, k);
            if hook.file.is_some() == hook.script.is_some() {
                self.error(
                    &p,
                    "a hook needs exactly one of `file` and `script`",
                    Some("e.g. `after: { file: hooks/after.rhai }` or `after: { script: \"records\" }`".into()),
                );
            }
            if let Some(f) = &hook.file {
                let full = self.dir.join(f);
                if !full.is_file() {
                    self.error(
                        &join_key(&p, "file"),
                        format!("hook file `{f}` does not exist"),
                        Some(format!(
                            "hook files are relative to the connector's directory; looked for {}",
                            full.display()
                        )),
                    );
                }
            }
            if let Some(s) = &hook.script
                && s.trim().is_empty()
            {
                self.error(&join_key(&p, "script"), "the hook script is empty", None);
            }
        }
    }
}
