//! Logging: `tracing` to stderr, as text for people or JSON for log collectors.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per event, with the request span's fields.
    Json,
}

/// Installs the global subscriber. The level comes from `RUST_LOG` when set (e.g.
/// `RUST_LOG=cbm2=debug,sqlx=info`), otherwise `info` for cbm2 and tower-http and `warn`
/// for the rest. Logs go to stderr, so stdout carries only a command's result.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,cbm2=info,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
    // A subscriber may already be installed (tests build several applications).
    drop(result);
}
