//! Pass-through authentication: the connector's `authenticate` operation checks one user's
//! password (`plan.identity`, `plan.password`), and its answer says accepted or rejected.

use std::sync::Arc;

use serde_json::json;
use wsc_auth::Secret;
use wsc_spec::StatusPattern;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::mapping::Record;

/// What the target answered about a user's password.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// The password is right. With the operation's `identity` mapping, the user as the
    /// response describes them, with the attribute names.
    Accepted(Option<(Record, Arc<[Arc<str>]>)>),
    /// The password (or the user) was refused with this status, one of the operation's
    /// `rejected`.
    Rejected {
        /// The HTTP status.
        status: u16,
    },
}

impl Engine {
    /// Runs the `authenticate` operation for `identity` with `password` (as `plan.identity`
    /// and `plan.password`). A status among the operation's `rejected` (default 401 and
    /// 403) is a [`Verdict::Rejected`]; any other failure is an error. The password must be
    /// among the run's secrets ([`crate::RunContext::secrets`]) so that no message shows it.
    pub async fn authenticate(
        &self,
        identity: &str,
        password: &Secret,
    ) -> Result<Verdict, EngineError> {
        let key = "authenticate";
        let op = self.op(key)?;
        let rejected: Vec<StatusPattern> = op.spec.rejected_statuses();
        let plan = json!({ "identity": identity, "password": password.expose() });
        let emit = op.spec.identity.is_some();
        match self
            .run_once(key, self.base_ctx(Some(plan), None), emit)?
            .collect()
            .await
        {
            Ok((records, _)) => {
                let user = match records.into_iter().next() {
                    Some(r) => Some((r, self.attribute_names(key)?)),
                    None => None,
                };
                Ok(Verdict::Accepted(user))
            }
            Err(e) => match e.http_status() {
                Some(status) if rejected.iter().any(|p| p.matches(status)) => {
                    Ok(Verdict::Rejected { status })
                }
                _ => Err(e),
            },
        }
    }
}
