//! Serves the synthetic identity API until Ctrl-C.
//!
//! ```text
//! cargo run -p wsc-testkit --example serve -- [--users N] [--groups N] [--seed N] [--port N]
//!     [--latency-ms N] [--oauth CLIENT_ID:SECRET] [--bearer TOKEN]
//! ```

use std::time::Duration;

use wsc_testkit::synthetic::{AuthMode, SyntheticApi, SyntheticConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = SyntheticConfig::new(10_000);
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--users" => config.users = value()?.parse()?,
            "--groups" => config.groups = value()?.parse()?,
            "--seed" => config.seed = value()?.parse()?,
            "--port" => port = value()?.parse()?,
            "--latency-ms" => config.latency = Duration::from_millis(value()?.parse()?),
            "--bearer" => config.auth = AuthMode::Bearer(value()?),
            "--oauth" => {
                let v = value()?;
                let (id, secret) = v.split_once(':').ok_or("--oauth wants CLIENT_ID:SECRET")?;
                config.auth = AuthMode::oauth2(id, secret);
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    eprintln!(
        "synthetic identity API: {} users, {} groups; Ctrl-C to stop",
        config.users, config.groups
    );
    SyntheticApi::serve_until_ctrl_c(config, port).await?;
    Ok(())
}
