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

/// The levels without `RUST_LOG`: `info` for cbm2 and tower-http, `warn` for the rest.
pub const DEFAULT_FILTER: &str = "warn,cbm2=info,tower_http=info";

/// The levels of `cbm2 bench` without `RUST_LOG`: its progress and every warning, not the
/// in-process server's line per request (`RUST_LOG=info` measures with them).
pub const BENCH_FILTER: &str = "warn,cbm2::bench=info,cbm2::cli=info";

/// Installs the global subscriber. The level comes from `RUST_LOG` when set (e.g.
/// `RUST_LOG=cbm2=debug,sqlx=info`), otherwise from `default` ([`DEFAULT_FILTER`] for
/// every command but `bench`). Logs go to stderr, so stdout carries only a command's result.
pub fn init(format: LogFormat, default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
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
