//! The Debian package's settings file, `debian/cbm2.env`, against the command line: every
//! setting `cbm2 serve` reads from the environment is there, commented out with its
//! default, and nothing else is. (`.ci/package.sh` builds the package and checks it.)

use std::collections::BTreeSet;

use cbm2::cli::Cli;
use clap::CommandFactory;

const ENV_FILE: &str = include_str!("../../debian/cbm2.env");
const UNIT: &str = include_str!("../../debian/cbm2.service");
/// The database the packaged service uses unless the env file says otherwise.
const PACKAGED_DATABASE_URL: &str = "sqlite:///var/lib/cbm2/cbm2.db";

/// `NAME=VALUE` of each setting `cbm2 serve` reads from the environment, as the env file
/// must show it: the default as clap prints it (quoted when it holds a space), or nothing.
fn serve_settings() -> Vec<(String, String)> {
    let mut command = Cli::command();
    command.build(); // propagates the global arguments (--database-url, --log-format)
    let serve = command.find_subcommand("serve").expect("a serve command");
    serve
        .get_arguments()
        .filter_map(|arg| {
            let name = arg.get_env()?.to_str().unwrap().to_owned();
            let default = arg
                .get_default_values()
                .iter()
                .map(|value| value.to_str().unwrap())
                .collect::<Vec<_>>()
                .join(",");
            let shown = match name.as_str() {
                "CBM2_DATABASE_URL" => PACKAGED_DATABASE_URL.to_owned(),
                _ if default.contains(' ') => format!("\"{default}\""),
                _ => default,
            };
            Some((name, shown))
        })
        .collect()
}

#[test]
fn the_env_file_shows_every_setting_of_serve_commented_out_with_its_default() {
    let settings = serve_settings();
    assert!(settings.len() > 20, "{settings:?}");

    for (name, default) in &settings {
        let line = format!("# {name}={default}");
        assert!(
            ENV_FILE.lines().any(|l| l == line),
            "debian/cbm2.env lacks the line `{line}`"
        );
    }
    for line in ENV_FILE.lines() {
        assert!(
            line.is_empty() || line.starts_with('#'),
            "debian/cbm2.env sets something: {line}"
        );
    }
}

#[test]
fn the_env_file_names_no_setting_the_server_does_not_read() {
    let known: BTreeSet<String> = serve_settings().into_iter().map(|(name, _)| name).collect();

    let named: Vec<&str> = ENV_FILE
        .lines()
        .filter_map(|line| line.strip_prefix("# "))
        .filter_map(|line| line.split_once('=').map(|(name, _)| name))
        .filter(|name| name.starts_with("CBM2_"))
        .collect();

    assert!(!named.is_empty());
    for name in named {
        assert!(
            known.contains(name),
            "debian/cbm2.env names {name}, which cbm2 serve does not read"
        );
    }
}

#[test]
fn the_unit_runs_serve_on_the_packaged_database_with_the_env_file() {
    for line in [
        "ExecStart=/usr/bin/cbm2 serve".to_owned(),
        format!("Environment=CBM2_DATABASE_URL={PACKAGED_DATABASE_URL}"),
        "EnvironmentFile=/etc/cbm2/cbm2.env".to_owned(),
        "StateDirectory=cbm2".to_owned(),
        "WorkingDirectory=/var/lib/cbm2".to_owned(),
        "DynamicUser=yes".to_owned(),
    ] {
        assert!(
            UNIT.lines().any(|l| l == line),
            "debian/cbm2.service lacks `{line}`"
        );
    }
}
