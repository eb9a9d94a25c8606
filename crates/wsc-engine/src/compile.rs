//! A connector compiled for execution: every template and JSONPath compiled once, at load.

use std::sync::Arc;

use serde_json::{Map, Value};
use wsc_spec::StatusPattern;
use wsc_spec::model::{Floor, Method, Operation, RequestSpec, Step};

pub(crate) use crate::compile_paging::compile_path;
pub use crate::compile_paging::{CompiledPaging, CompiledValue};
use crate::compile_paging::{count, opt_path};
use crate::error::EngineError;
use crate::exec::rules::ErrorRule;
use crate::exec::rules::RuleTest;
pub(crate) use crate::exec::rules::compile_rules;
use crate::http::{Body, PreparedRequest};
use crate::mapping::{RecordMapper, RecordTemplate, TemplateCompiler};
pub(crate) use crate::path::CompiledPath;
use crate::projection::Projection;
pub use crate::template::tree::TemplateTree;
use crate::template::{Escape, Template, TemplateError, Templates};

/// A compiled request body.
#[derive(Debug, Clone)]
pub enum CompiledBody {
    /// No body.
    Empty,
    /// JSON.
    Json(TemplateTree),
    /// Form fields.
    Form(Vec<(String, Template)>),
    /// Multipart fields.
    Multipart(Vec<(String, Template)>),
    /// Raw text.
    Raw(String, Template),
    /// An XML body, or a SOAP envelope around one.
    Xml(crate::soap::CompiledXml),
}

/// A compiled request.
#[derive(Debug, Clone)]
pub struct CompiledRequest {
    /// Method.
    pub method: Method,
    /// Path relative to the base URL (values percent-encoded).
    pub path: Option<Template>,
    /// Absolute URL.
    pub url: Option<Template>,
    /// Query parameters.
    pub query: Vec<(String, Template)>,
    /// Headers (the connector's `http.headers` first).
    pub headers: Vec<(String, Template)>,
    /// Body.
    pub body: CompiledBody,
}

fn pairs(
    t: &mut Templates,
    location: &str,
    m: &indexmap::IndexMap<String, wsc_spec::Template>,
) -> Result<Vec<(String, Template)>, EngineError> {
    m.iter()
        .map(|(k, v)| {
            Ok((
                k.clone(),
                t.compile(&format!("{location}.{k}"), v.as_str(), Escape::None)?,
            ))
        })
        .collect()
}

impl CompiledRequest {
    /// Compiles a request spec; `default_headers` are the connector's `http.headers`.
    pub fn compile(
        t: &mut Templates,
        location: &str,
        r: &RequestSpec,
        default_headers: &[(String, Template)],
    ) -> Result<CompiledRequest, EngineError> {
        let path = r
            .path
            .as_ref()
            .map(|p| t.compile(&format!("{location}.path"), p.as_str(), Escape::PathSegment))
            .transpose()?;
        let url = r
            .url
            .as_ref()
            .map(|u| t.compile(&format!("{location}.url"), u.as_str(), Escape::None))
            .transpose()?;
        let mut headers: Vec<(String, Template)> = default_headers
            .iter()
            .filter(|(k, _)| !r.headers.keys().any(|h| h.eq_ignore_ascii_case(k)))
            .cloned()
            .collect();
        headers.extend(pairs(t, &format!("{location}.headers"), &r.headers)?);
        let body = if let Some(g) = &r.graphql {
            CompiledBody::Json(crate::graphql::compile(t, location, g, &mut headers)?)
        } else if let Some(b) = &r.body {
            CompiledBody::Json(TemplateTree::compile(t, &format!("{location}.body"), b)?)
        } else if !r.form.is_empty() {
            CompiledBody::Form(pairs(t, &format!("{location}.form"), &r.form)?)
        } else if !r.multipart.is_empty() {
            CompiledBody::Multipart(pairs(t, &format!("{location}.multipart"), &r.multipart)?)
        } else if let Some(raw) = &r.raw {
            CompiledBody::Raw(
                raw.content_type.clone(),
                t.compile(
                    &format!("{location}.raw.text"),
                    raw.text.as_str(),
                    Escape::None,
                )?,
            )
        } else if let Some(x) = crate::soap::CompiledXml::compile(t, location, r)? {
            CompiledBody::Xml(x)
        } else {
            CompiledBody::Empty
        };
        Ok(CompiledRequest {
            // A GraphQL request is POSTed (validation refuses other methods).
            method: r.graphql.as_ref().map_or(r.method, |_| Method::Post),
            path,
            url,
            query: pairs(t, &format!("{location}.query"), &r.query)?,
            headers,
            body,
        })
    }

    /// Renders the request for one context.
    pub fn render(
        &self,
        t: &Templates,
        base: &url::Url,
        ctx: &Value,
    ) -> Result<PreparedRequest, EngineError> {
        let mut url = if let Some(u) = &self.url {
            let s = t.render(u, ctx)?;
            url::Url::parse(&s).map_err(|e| {
                EngineError::Config(format!(
                    "`{}` rendered to `{s}`, which is not a URL: {e}",
                    u.location()
                ))
            })?
        } else {
            let p = match &self.path {
                Some(p) => t.render(p, ctx)?,
                None => String::new(),
            };
            join_path(base, &p)?
        };
        if !self.query.is_empty() {
            let mut pairs = Vec::with_capacity(self.query.len());
            for (k, v) in &self.query {
                let s = t.render(v, ctx)?;
                if !s.is_empty() {
                    pairs.push((k, s));
                }
            }
            if !pairs.is_empty() {
                let mut q = url.query_pairs_mut();
                for (k, v) in pairs {
                    q.append_pair(k, &v);
                }
            }
        }
        let mut headers = Vec::with_capacity(self.headers.len());
        for (k, v) in &self.headers {
            let s = t.render(v, ctx)?;
            if !s.is_empty() {
                headers.push((k.clone(), s));
            }
        }
        let body = match &self.body {
            CompiledBody::Empty => Body::Empty,
            CompiledBody::Json(tree) => {
                Body::Json(serde_json::to_vec(&tree.render(t, ctx)?).unwrap_or_default())
            }
            CompiledBody::Form(f) => Body::Form(render_pairs(t, f, ctx)?),
            CompiledBody::Multipart(f) => Body::Multipart(render_pairs(t, f, ctx)?),
            CompiledBody::Raw(ct, text) => Body::Raw {
                content_type: ct.clone(),
                text: t.render(text, ctx)?,
            },
            CompiledBody::Xml(x) => {
                let (body, added) = x.render(t, ctx)?;
                for (k, v) in added {
                    if !headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(&k)) {
                        headers.push((k, v));
                    }
                }
                body
            }
        };
        Ok(PreparedRequest {
            method: self.method,
            url,
            headers,
            body,
        })
    }
}

fn render_pairs(
    t: &Templates,
    f: &[(String, Template)],
    ctx: &Value,
) -> Result<Vec<(String, String)>, TemplateError> {
    f.iter()
        .map(|(k, v)| Ok((k.clone(), t.render(v, ctx)?)))
        .collect()
}

/// `base` + `path`: the path is appended to the base URL's path (never replacing it).
pub fn join_path(base: &url::Url, path: &str) -> Result<url::Url, EngineError> {
    let (p, q) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let mut u = base.clone();
    let joined = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        p.trim_start_matches('/')
    );
    let joined = if p.is_empty() {
        base.path().to_string()
    } else {
        joined
    };
    u.set_path(&joined);
    if let Some(q) = q {
        u.set_query(Some(q));
    }
    Ok(u)
}

/// A compiled step.
#[derive(Debug, Clone)]
pub struct CompiledStep {
    /// Name.
    pub name: String,
    /// Request.
    pub request: CompiledRequest,
    /// Paging.
    pub paging: Option<CompiledPaging>,
    /// Index of the step whose records this one iterates.
    pub for_each: Option<usize>,
    /// Concurrency of for_each requests.
    pub concurrency: usize,
    /// Records path (default `$`).
    pub records: CompiledPath,
    /// Merge into the parent.
    pub merge: Option<(String, Option<CompiledPath>, wsc_spec::model::MergeMode)>,
    /// Saved values.
    pub save: Vec<(String, CompiledPath)>,
    /// Success statuses.
    pub success: Vec<StatusPattern>,
    /// Error rules.
    pub errors: Vec<ErrorRule>,
    /// 404 means "nothing".
    pub allow_not_found: bool,
    /// Responses kept for the run (`cache: true`).
    pub cache: bool,
    /// A GraphQL request: a response with `errors` fails (see [`crate::graphql`]).
    pub graphql: bool,
    /// Statuses that are the answer as they are, never renewing the credentials and retrying:
    /// the `rejected` statuses of `authenticate` (a refused password must not be tried twice,
    /// which would count twice against the account's lockout).
    pub final_statuses: Vec<StatusPattern>,
    /// What must be present on every page for `records` to have found nothing honestly (see
    /// [`records_container`]); `None` when the records path is `$` or may be absent.
    pub records_container: Option<CompiledPath>,
    /// `format: xml`: the XPaths that turn each XML page into the JSON page this step reads.
    pub(crate) xml: Option<Arc<crate::xml::XmlPlan>>,
}

/// A compiled operation.
#[derive(Clone)]
pub struct CompiledOperation {
    /// Key path (`account_aggregation`, `group_aggregation.role`).
    pub key: String,
    /// Steps: a single-request operation is one step named `request`.
    pub steps: Vec<CompiledStep>,
    /// Index of the primary step (whose records the operation emits).
    pub primary: usize,
    /// Record mapper.
    pub mapper: Arc<RecordMapper>,
    /// [`CompiledStep::records_container`] of the mapper's records path.
    pub records_container: Option<CompiledPath>,
    /// Partitions run at once (`partitions.concurrency`).
    pub partition_concurrency: usize,
    /// The mapping compiled for writing JSON Lines straight from pages (see
    /// [`crate::projection`]); `None` where it could not be exact.
    pub(crate) projection: Option<Arc<Projection>>,
    /// The spec.
    pub spec: Operation,
}

impl std::fmt::Debug for CompiledOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledOperation")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Attribute templates: each gets a small registry of its own (they render per record). They
/// see the record, the partition or window it was read in, the instance's settings (validation
/// keeps secret settings out of them) and `now`; not `state`, which changes during a run.
struct AttrTemplates {
    settings: Arc<Value>,
}

struct AttrTemplate {
    templates: Templates,
    template: Template,
    settings: Arc<Value>,
    /// Whether the template reads `settings` / `now` (put in its context only then).
    uses_settings: bool,
    now: bool,
}

impl RecordTemplate for AttrTemplate {
    fn render(&self, record: &Value, run: Option<&Map<String, Value>>) -> Result<Value, String> {
        let mut ctx = Map::new();
        ctx.insert("record".into(), record.clone());
        for c in [
            wsc_spec::template::Context::Partition,
            wsc_spec::template::Context::Window,
        ] {
            if let Some(v) = run.and_then(|r| r.get(c.as_str())) {
                ctx.insert(c.into(), v.clone());
            }
        }
        if self.uses_settings {
            ctx.insert("settings".into(), (*self.settings).clone());
        }
        if self.now {
            ctx.insert("now".into(), Value::String(crate::time::now_rfc3339()));
        }
        let ctx = Value::Object(ctx);
        self.templates
            .render_value(&self.template, &ctx)
            .map_err(|e| e.message)
    }
}

impl TemplateCompiler for AttrTemplates {
    fn compile(&self, source: &str) -> Result<Box<dyn RecordTemplate>, String> {
        let mut templates = Templates::new();
        let template = templates
            .compile("attribute", source, Escape::None)
            .map_err(|e| e.message)?;
        Ok(Box::new(AttrTemplate {
            templates,
            template,
            settings: self.settings.clone(),
            uses_settings: source.contains("settings"),
            now: source.contains("now"),
        }))
    }
}

impl CompiledOperation {
    /// Compiles one operation; numeric keys that name a setting read it in `settings`.
    #[allow(clippy::too_many_arguments)]
    pub fn compile(
        t: &mut Templates,
        key: &str,
        object_type: &str,
        op: &Operation,
        default_headers: &[(String, Template)],
        default_success: &[StatusPattern],
        connector_rules: &[ErrorRule],
        settings: &Value,
    ) -> Result<CompiledOperation, EngineError> {
        let loc = format!("operations.{key}");
        let success = op
            .success
            .clone()
            .unwrap_or_else(|| default_success.to_vec());
        let mut op_rules = connector_rules.to_vec();
        op_rules.extend(compile_rules(t, &format!("{loc}.errors"), &op.errors)?);
        let mut steps = Vec::new();
        if let Some(r) = &op.request {
            steps.push(CompiledStep {
                name: "request".into(),
                request: CompiledRequest::compile(
                    t,
                    &format!("{loc}.request"),
                    r,
                    default_headers,
                )?,
                paging: op
                    .paging
                    .as_ref()
                    .map(|p| CompiledPaging::compile(t, &format!("{loc}.paging"), p, settings))
                    .transpose()?,
                for_each: None,
                concurrency: 1,
                records: CompiledPath::root(),
                merge: None,
                save: Vec::new(),
                success: success.clone(),
                errors: op_rules.clone(),
                allow_not_found: false,
                cache: op.cache,
                graphql: r.graphql.is_some(),
                final_statuses: Vec::new(),
                records_container: None,
                xml: None,
            });
        }
        for (i, s) in op.steps.iter().enumerate() {
            steps.push(compile_step(
                t,
                &format!("{loc}.steps[{i}]"),
                s,
                &op.steps,
                default_headers,
                &success,
                &op_rules,
                settings,
            )?);
        }
        if key == wsc_spec::model::OperationKind::Authenticate.name() {
            let rejected = op.rejected_statuses();
            for s in &mut steps {
                s.final_statuses = rejected.clone();
            }
        }
        let primary = steps
            .iter()
            .rposition(|s| s.for_each.is_none())
            .ok_or_else(|| EngineError::Config(format!("{loc}: no step without `for_each`")))?;
        // A multi-step operation without its own `records` takes the primary step's.
        let with_step_records;
        let mapped = match (&op.request, &op.records, op.steps.get(primary)) {
            (None, None, Some(step)) if step.records.is_some() => {
                let mut o = op.clone();
                o.records = step.records.clone();
                with_step_records = o;
                &with_step_records
            }
            _ => op,
        };
        let optional_records = op.records_optional
            || (op.request.is_none()
                && op.records.is_none()
                && op.steps.get(primary).is_some_and(|s| s.records_optional));
        let attr_templates = AttrTemplates {
            settings: Arc::new(settings.clone()),
        };
        let mapper = RecordMapper::new(object_type, mapped, &attr_templates)
            .map_err(|e| EngineError::Config(format!("{loc}: {e}")))?;
        if op.request.is_some() {
            // The operation's `records` path selects the records of its single request.
            steps[0].records = mapper.records_path().clone();
            steps[0].records_container =
                records_container(mapper.records_path(), op.records_optional);
        }
        let partition_concurrency = count(
            &format!("{loc}.partitions.concurrency"),
            &op.partitions.as_ref().and_then(|p| p.concurrency.clone()),
            settings,
            Floor::One,
            4,
        )? as usize;
        let projection = projection(&mapper, &steps[primary]).map(Arc::new);
        Ok(CompiledOperation {
            key: key.to_string(),
            steps,
            primary,
            partition_concurrency,
            projection,
            records_container: records_container(mapper.records_path(), optional_records),
            mapper: Arc::new(mapper),
            spec: op.clone(),
        })
    }
}

/// The projection of an operation's mapping for the pages of its primary `step`: what else
/// reads those pages (paging values, saved values, error rules) must read outside the records.
fn projection(mapper: &RecordMapper, step: &CompiledStep) -> Option<Projection> {
    let mut envelope: Vec<&CompiledPath> = Vec::new();
    let mut whole_page = false;
    if let Some(p) = &step.paging {
        for v in [&p.total, &p.cursor, &p.next_url, &p.has_more]
            .into_iter()
            .flatten()
        {
            if let CompiledValue::Body(path) = v {
                envelope.push(path);
            }
        }
        whole_page |= p.stop_when.is_some();
    }
    envelope.extend(step.save.iter().map(|(_, p)| p));
    let errors = crate::graphql::errors_path();
    if step.graphql {
        envelope.push(&errors);
    }
    for rule in &step.errors {
        match &rule.test {
            RuleTest::PathEquals(p, _) | RuleTest::PathTruthy(p) => envelope.push(p),
            RuleTest::BodyContains(_) => {}
            RuleTest::Expression(_) => whole_page = true,
        }
        envelope.extend(rule.message.as_ref());
    }
    Projection::compile(mapper, &envelope, whole_page)
}

#[allow(clippy::too_many_arguments)]
fn compile_step(
    t: &mut Templates,
    loc: &str,
    s: &Step,
    all: &[Step],
    default_headers: &[(String, Template)],
    success: &[StatusPattern],
    rules: &[ErrorRule],
    settings: &Value,
) -> Result<CompiledStep, EngineError> {
    let mut errors = rules.to_vec();
    errors.extend(compile_rules(t, &format!("{loc}.errors"), &s.errors)?);
    Ok(CompiledStep {
        name: s.name.clone(),
        request: CompiledRequest::compile(
            t,
            &format!("{loc}.request"),
            &s.request,
            default_headers,
        )?,
        paging: s
            .paging
            .as_ref()
            .map(|p| CompiledPaging::compile(t, &format!("{loc}.paging"), p, settings))
            .transpose()?,
        for_each: s
            .for_each
            .as_ref()
            .map(|name| {
                all.iter().position(|x| &x.name == name).ok_or_else(|| {
                    EngineError::Config(format!("{loc}.for_each: no step named `{name}`"))
                })
            })
            .transpose()?,
        concurrency: count(
            &format!("{loc}.concurrency"),
            &s.concurrency,
            settings,
            Floor::One,
            4,
        )? as usize,
        records: match &s.records {
            Some(p) => compile_path(&format!("{loc}.records"), p)?,
            None => CompiledPath::root(),
        },
        merge: s
            .merge
            .as_ref()
            .map(|m| {
                Ok::<_, EngineError>((
                    m.into.clone(),
                    opt_path(&format!("{loc}.merge.value"), &m.value)?,
                    m.mode,
                ))
            })
            .transpose()?,
        save: s
            .save
            .iter()
            .map(|(k, p)| Ok((k.clone(), compile_path(&format!("{loc}.save.{k}"), p)?)))
            .collect::<Result<_, EngineError>>()?,
        success: s.success.clone().unwrap_or_else(|| success.to_vec()),
        errors,
        allow_not_found: s.allow_not_found,
        cache: s.cache,
        graphql: s.request.graphql.is_some(),
        final_statuses: Vec::new(),
        records_container: match &s.records {
            Some(p) => records_container(
                &compile_path(&format!("{loc}.records"), p)?,
                s.records_optional,
            ),
            None => None,
        },
        xml: None,
    })
}

/// The part of a records path that must exist on a page when the path selects nothing: the
/// array a trailing `[*]`, `.*` or filter iterates (`$.Resources[*]` → `$.Resources`), or the
/// path itself. A page where it is missing did not say "no records": the key is absent (a
/// typo in the connector, or an API that leaves out empty lists, which `records_optional`
/// declares). `None` for `$` and for optional records.
pub(crate) fn records_container(records: &CompiledPath, optional: bool) -> Option<CompiledPath> {
    if optional || records.is_root() {
        return None;
    }
    let src = records.as_str().trim();
    let container = if let Some(s) = src.strip_suffix("[*]") {
        s
    } else if let Some(s) = src.strip_suffix(".*") {
        s
    } else if src.ends_with(')') || src.ends_with("]") && src.contains("[?") {
        src.rfind("[?").map(|i| &src[..i]).unwrap_or(src)
    } else {
        src
    };
    let container = container.trim_end_matches('.');
    if container.is_empty() || container == "$" {
        return None;
    }
    CompiledPath::compile(container).ok()
}
