//! The `cbm2` binary: parse the command line and hand over to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cbm2::cli::Cli::parse();
    cbm2::cli::run(cli)
}
