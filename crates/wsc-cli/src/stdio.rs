//! Printing to stdout and stderr without panicking. A closed stdout (`wsc schema | head -1`)
//! ends the command quietly with exit 141, what a shell reports for a process ended by
//! SIGPIPE, so a pipeline with `pipefail` still sees that not everything was read; a closed
//! stderr is ignored (the exit code still tells the outcome).

use std::io::Write;

use crate::exit;

/// Writes to stdout; a closed reader ends the process with [`exit::PIPE_CLOSED`], another
/// write error with [`exit::FAILURE`] and a message.
pub(crate) fn out(args: std::fmt::Arguments<'_>) {
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_fmt(args).and_then(|()| o.flush()) {
        stdout_failed(&e);
    }
}

/// Ends the process after a failed write to stdout: quietly with [`exit::PIPE_CLOSED`] when
/// the reader closed the pipe, else with a message and [`exit::FAILURE`].
pub(crate) fn stdout_failed(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        pipe_closed();
    }
    err(format_args!("error: cannot write to stdout: {e}\n"));
    std::process::exit(i32::from(exit::FAILURE));
}

/// Ends the process quietly with [`exit::PIPE_CLOSED`] because the reader of the output went
/// away, at once: requests still in flight are not waited for, and their shutdown prints
/// nothing (dropping the runtime under them would log transport errors).
pub(crate) fn pipe_closed() -> ! {
    std::process::exit(i32::from(exit::PIPE_CLOSED));
}

/// Writes to stderr, ignoring errors.
pub(crate) fn err(args: std::fmt::Arguments<'_>) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_fmt(args);
}
