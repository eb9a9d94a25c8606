//! Test support for wsc.
//!
//! - [`synthetic`]: a synthetic identity API (users and groups generated on the fly, every
//!   paging style, OAuth2 client credentials, injected faults) served over loopback HTTP, for
//!   integration tests, `wsc demo` and benchmarks.
//! - [`replay`]: a replay server for recorded (or hand-written) HTTP exchanges (cassettes),
//!   for snapshot tests of connectors.
//! - [`tls`]: HTTPS in front of either server (mutual TLS when asked), with a throwaway PKI
//!   made by the `openssl` command line.
//! - [`postgres`]: a throwaway PostgreSQL cluster (Debian's binaries) for the tests of the
//!   PostgreSQL store and the workers.

pub mod postgres;
pub mod replay;
pub mod rng;
pub mod synthetic;
pub mod tls;
pub mod tools;
