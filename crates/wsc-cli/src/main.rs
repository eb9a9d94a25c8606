//! `wsc`: the command-line front end of the wsc connector engine. Thin by design: argument
//! parsing and output only; the work is done by the library crates.

use std::process::ExitCode;

use clap::Parser;

/// Counts the memory each thread holds, for the hook memory limit (`hook_limits.max_memory`).
#[global_allocator]
static ALLOC: wsc_hooks::HookAllocator = wsc_hooks::HookAllocator;

/// `println!` that never panics: see [`stdio::out`].
macro_rules! outln {
    () => {
        $crate::stdio::out(format_args!("\n"))
    };
    ($($t:tt)*) => {
        $crate::stdio::out(format_args!("{}\n", format_args!($($t)*)))
    };
}

/// `print!` that never panics: see [`stdio::out`].
macro_rules! out {
    ($($t:tt)*) => {
        $crate::stdio::out(format_args!($($t)*))
    };
}

/// `eprintln!` that never panics: see [`stdio::err`].
macro_rules! errln {
    () => {
        $crate::stdio::err(format_args!("\n"))
    };
    ($($t:tt)*) => {
        $crate::stdio::err(format_args!("{}\n", format_args!($($t)*)))
    };
}

/// `eprint!` that never panics: see [`stdio::err`].
macro_rules! err {
    ($($t:tt)*) => {
        $crate::stdio::err(format_args!($($t)*))
    };
}

mod auth;
mod authenticate;
mod cli;
mod common;
mod delta;
mod demo;
mod files;
mod fixtures;
mod fleet;
mod job;
mod logging;
mod login;
mod progress;
mod provision;
mod read;
mod signals;
mod stdio;
mod validate;
mod worker;

/// Exit codes (documented in README.md and `wsc --help`).
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// The operation ran and failed (HTTP, auth, I/O, a test mismatch).
    pub const FAILURE: u8 = 1;
    /// Invalid input: a connector, plan or fixture that does not validate, or bad arguments.
    pub const INVALID: u8 = 2;
    /// Interrupted by Ctrl-C (SIGINT): 128 + 2, as a shell reports it.
    pub const INTERRUPTED: u8 = 130;
    /// stdout was closed by its reader (`| head`): 128 + SIGPIPE, as a shell reports a
    /// process ended by a broken pipe; nothing is printed.
    pub const PIPE_CLOSED: u8 = 141;
    /// Terminated by SIGTERM (`timeout`, systemd, Kubernetes): 128 + 15.
    pub const TERMINATED: u8 = 143;
}

fn main() -> ExitCode {
    // Before any thread starts: one malloc arena (about 1 MiB less at the peak of an
    // aggregation with pages in flight; `wsc_hooks::use_one_malloc_arena`).
    wsc_hooks::use_one_malloc_arena();
    let args = cli::Cli::parse();
    logging::init(args.verbose);
    let result = match args.command {
        cli::Command::Validate(a) => Ok(validate::run(&a)),
        cli::Command::Schema(a) => Ok(validate::schema(&a)),
        cli::Command::Aggregate(a) if a.delta => delta::aggregate(&a).map(|()| exit::OK),
        cli::Command::Aggregate(a) => read::aggregate(&a).map(|()| exit::OK),
        cli::Command::Get(a) => read::get(&a).map(|()| exit::OK),
        cli::Command::TestConnection(a) => read::test_connection(&a).map(|()| exit::OK),
        cli::Command::Partitions(a) => read::partitions(&a.connector, &a.object).map(|()| exit::OK),
        cli::Command::Demo(a) => demo::demo(&a).map(|()| exit::OK),
        cli::Command::Provision(a) => provision::provision(&a).map(|()| exit::OK),
        cli::Command::Record(a) => fixtures::record(&a).map(|()| exit::OK),
        cli::Command::Test(a) => fixtures::test(&a).map(|()| exit::OK),
        cli::Command::Authenticate(a) => authenticate::run(&a).map(|()| exit::OK),
        cli::Command::Auth(cli::AuthCommand::Login(a)) => login::run(&a).map(|()| exit::OK),
        cli::Command::Auth(c) => auth::run(&c).map(|()| exit::OK),
        cli::Command::Job(cli::JobCommand::Submit(a)) => job::submit(&a).map(|()| exit::OK),
        cli::Command::Job(cli::JobCommand::Status(a)) => job::status(&a).map(|()| exit::OK),
        cli::Command::Job(cli::JobCommand::Wait(a)) => job::wait(&a).map(|()| exit::OK),
        cli::Command::Job(cli::JobCommand::Export(a)) => job::export(&a).map(|()| exit::OK),
        cli::Command::Worker(a) => worker::run(&a).map(|()| exit::OK),
    };
    ExitCode::from(result.unwrap_or_else(|common::Failed(code)| code))
}
