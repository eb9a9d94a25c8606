//! Keys of write operations (`already_done`, `multi_valued`, `changes`) and of `authenticate`
//! (`rejected`).

use crate::locate::join_key;
use crate::model::{MultiMode, Operation, OperationKind};

use super::validator::{Ctx, Validator};

impl Validator<'_> {
    /// Checks the keys that apply to write operations only, and what they name.
    pub(super) fn write_keys(
        &mut self,
        path: &str,
        kind: OperationKind,
        op: &Operation,
        base: Ctx,
    ) {
        if op.rejected.is_some() && kind != OperationKind::Authenticate {
            self.error(
                &join_key(path, "rejected"),
                "`rejected` applies to the `authenticate` operation only",
                Some("it lists the statuses meaning a user's password was refused".into()),
            );
        }
        if !kind.is_write() {
            for (present, key) in [
                (!op.already_done.is_empty(), "already_done"),
                (!op.multi_valued.is_empty(), "multi_valued"),
                (op.changes.is_some(), "changes"),
            ] {
                if present {
                    self.error(
                        &join_key(path, key),
                        format!("`{key}` applies to write operations only"),
                        None,
                    );
                }
            }
            return;
        }
        let takes_attributes = matches!(
            kind,
            OperationKind::UpdateAccount | OperationKind::CreateAccount | OperationKind::Custom
        );
        for key in ["multi_valued", "changes"] {
            let present = match key {
                "multi_valued" => !op.multi_valued.is_empty(),
                _ => op.changes.is_some(),
            };
            if present && !takes_attributes {
                self.error(
                    &join_key(path, key),
                    format!(
                        "`{key}` applies to operations that take plan attributes (update_account, create_account, custom operations)"
                    ),
                    None,
                );
            }
        }
        let defined = |name: &str| -> bool {
            let ops = &self.c.operations;
            ops.custom.contains_key(name)
                || ops
                    .entries()
                    .iter()
                    .any(|(k, _)| k.kind().is_write() && k.as_str() == name)
        };
        let mut missing = Vec::new();
        for (attr, mv) in &op.multi_valued {
            let p = format!("{path}.multi_valued.{attr}");
            match mv.mode {
                MultiMode::Requests => {
                    for (key, name, default) in [
                        ("add", &mv.add, "add_entitlement"),
                        ("remove", &mv.remove, "remove_entitlement"),
                    ] {
                        let name = name.as_deref().unwrap_or(default);
                        if !defined(name) {
                            missing.push((
                                join_key(&p, key),
                                format!(
                                    "`{attr}` changes run `{name}` per value, which this connector does not define"
                                ),
                            ));
                        }
                    }
                }
                MultiMode::Replace => {
                    if !self.c.operations.get_object.contains_key("account") {
                        missing.push((
                            join_key(&p, "mode"),
                            "`mode: replace` reads the current values with `operations.get_object.account`, which this connector does not define".to_string(),
                        ));
                    }
                }
                MultiMode::Operations => {
                    if op.changes.is_none() {
                        missing.push((
                            join_key(&p, "mode"),
                            "`mode: operations` puts items into `plan.changes`, but the operation has no `changes` templates".to_string(),
                        ));
                    }
                }
            }
            if mv.mode != MultiMode::Requests && (mv.add.is_some() || mv.remove.is_some()) {
                missing.push((
                    p.clone(),
                    "`add` and `remove` apply to `mode: requests` only".to_string(),
                ));
            }
            if mv.mode != MultiMode::Replace && mv.current.is_some() {
                missing.push((
                    join_key(&p, "current"),
                    "`current` applies to `mode: replace` only".to_string(),
                ));
            }
        }
        for (p, m) in missing {
            self.error(&p, m, None);
        }
        if let Some(items) = &op.changes {
            let ctx = Ctx {
                change: true,
                ..base
            };
            for (key, v) in [
                ("replace", &items.replace),
                ("add", &items.add),
                ("remove", &items.remove),
                ("set", &items.set),
            ] {
                if let Some(v) = v {
                    self.tree(&format!("{path}.changes.{key}"), v, ctx);
                }
            }
        }
    }
}
