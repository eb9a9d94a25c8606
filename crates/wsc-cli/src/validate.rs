//! `wsc validate` and `wsc schema`.

use wsc_spec::LoadError;

use crate::cli::{SchemaArgs, ValidateArgs};
use crate::exit;
use crate::files::write_atomic;

/// Validates every file; diagnostics go to stderr, one summary line per file to stdout.
pub fn run(args: &ValidateArgs) -> u8 {
    let mut worst = exit::OK;
    for file in &args.files {
        match wsc_spec::load_file(file) {
            Ok(loaded) => {
                // Hooks compile here too, so script errors show before anything runs.
                if let Err(e) = wsc_engine::hooks::EngineHooks::compile(
                    &loaded,
                    &serde_json::Value::Null,
                    Default::default(),
                ) {
                    errln!("error: {e}");
                    outln!("{}: invalid (a hook does not compile)", file.display());
                    worst = exit::INVALID;
                    continue;
                }
                let warnings = loaded.warnings.warning_count();
                if warnings > 0 {
                    err!("{}", loaded.warnings.render());
                }
                if args.deny_warnings && warnings > 0 {
                    worst = exit::INVALID;
                    outln!(
                        "{}: invalid ({warnings} warning(s), denied)",
                        file.display()
                    );
                } else if !args.quiet {
                    let ops = loaded.connector.operations.iter().len();
                    outln!(
                        "{}: ok (connector `{}`, {ops} operation(s){})",
                        file.display(),
                        loaded.connector.connector,
                        if warnings > 0 {
                            format!(", {warnings} warning(s)")
                        } else {
                            String::new()
                        }
                    );
                }
            }
            Err(LoadError::Invalid(report)) => {
                err!("{}", report.render());
                outln!(
                    "{}: invalid ({} error(s))",
                    file.display(),
                    report.error_count()
                );
                worst = exit::INVALID;
            }
            Err(e @ LoadError::Io { .. }) => {
                errln!("error: {e}");
                worst = exit::INVALID;
            }
        }
    }
    worst
}

/// Prints (or writes) the JSON Schema.
pub fn schema(args: &SchemaArgs) -> u8 {
    let text = serde_json::to_string_pretty(&wsc_spec::schema::connector_schema())
        .expect("the schema serialises");
    match &args.out {
        None => {
            outln!("{text}");
            exit::OK
        }
        Some(path) => match write_atomic(path, format!("{text}\n").as_bytes()) {
            Ok(()) => exit::OK,
            Err(e) => {
                errln!("error: cannot write {}: {e}", path.display());
                exit::FAILURE
            }
        },
    }
}
