//! Log setup: `RUST_LOG` wins, else `LOG_LEVEL`, else the command's default.
//! Logs go to stderr so `--json` output on stdout stays clean.

use tracing_subscriber::EnvFilter;

pub fn init(log_level: Option<&str>, default: &str) {
    let level = match log_level {
        Some("warning") => "warn",
        Some("critical") => "error",
        Some(l) => l,
        None => default,
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},hyper=warn,reqwest=warn,h2=warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
