//! `setup`: side-effect requests of an aggregation, run per partition or per record, and
//! their answer rules; `windows`: an aggregation read as successive time windows.

use crate::locate::join_key;
use crate::model::{Operation, OperationKind, SetupRule, SetupRun};

use super::validator::{Ctx, Secrecy, Validator, is_identifier};

impl Validator<'_> {
    pub(super) fn setup(&mut self, path: &str, kind: OperationKind, op: &Operation, base: Ctx) {
        if op.setup.is_empty() {
            return;
        }
        let sp = join_key(path, "setup");
        if !kind.is_aggregation() {
            self.error(
                &sp,
                "`setup` applies to aggregations only",
                Some("a write operation's preparatory requests are steps of its own".into()),
            );
            return;
        }
        let mut seen: Vec<&str> = Vec::new();
        for (i, s) in op.setup.iter().enumerate() {
            let p = format!("{sp}[{i}]");
            if !is_identifier(&s.name) || seen.contains(&s.name.as_str()) {
                self.error(
                    &join_key(&p, "name"),
                    if seen.contains(&s.name.as_str()) {
                        format!("duplicate setup name `{}`", s.name)
                    } else {
                        format!("invalid setup name `{}`", s.name)
                    },
                    Some("give each setup entry its own name, e.g. `join_channel` (letters, digits, `_`)".into()),
                );
            }
            seen.push(&s.name);
            if s.run == SetupRun::PerPartition && op.partitions.is_none() {
                self.error(
                    &join_key(&p, "run"),
                    "`run: per_partition` needs `partitions` on the aggregation",
                    Some("use `run: per_record`, or declare `partitions`".into()),
                );
            }
            let ctx = Ctx {
                record: s.run == SetupRun::PerRecord,
                ..base
            };
            self.request(&join_key(&p, "request"), &s.request, ctx);
            for (key, rules) in [("accept", &s.accept), ("skip", &s.skip)] {
                for (j, r) in rules.iter().enumerate() {
                    self.setup_rule(&format!("{p}.{key}[{j}]"), r);
                }
            }
        }
    }

    fn setup_rule(&mut self, path: &str, r: &SetupRule) {
        if let Some(jp) = &r.path {
            self.jsonpath(&join_key(path, "path"), jp);
        }
        if r.equals.is_some() && r.path.is_none() {
            self.error(
                &join_key(path, "equals"),
                "`equals` compares the value `path` selects, and there is no `path`",
                Some("e.g. `{ path: \"$.error\", equals: already_in_channel }`".into()),
            );
        }
        if r.status.as_ref().is_some_and(Vec::is_empty) {
            self.error(
                &join_key(path, "status"),
                "`status` lists no status: no answer would match",
                Some(
                    "list statuses such as `[200, 409]` or `[2xx]`, or leave the key out for 2xx"
                        .into(),
                ),
            );
        }
    }
}

impl Validator<'_> {
    /// `windows`: aggregations only, not with `partitions`, a window longer than zero, `start`
    /// and `end` templates of what is known before the run.
    pub(super) fn windows(&mut self, path: &str, kind: OperationKind, op: &Operation) {
        let Some(w) = &op.windows else { return };
        let wp = join_key(path, "windows");
        if !kind.is_aggregation() {
            self.error(&wp, "`windows` applies to aggregations only", None);
        }
        if op.partitions.is_some() {
            self.error(
                &wp,
                "an aggregation has either `windows` or `partitions`, not both",
                Some("read time windows one after another with `windows`, or split the listing with `partitions`".into()),
            );
        }
        if w.size.get().is_zero() {
            self.error(
                &join_key(&wp, "size"),
                "a window of no length would never move forward",
                Some("e.g. `size: 7d`".into()),
            );
        }
        let ctx = Ctx {
            last_run: true,
            ..Ctx::default()
        };
        self.template(&join_key(&wp, "start"), &w.start, ctx, Secrecy::Plain);
        if let Some(e) = &w.end {
            self.template(&join_key(&wp, "end"), e, ctx, Secrecy::Plain);
        }
    }
}
