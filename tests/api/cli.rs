//! The `cbm2` binary itself: token commands, migrate, `serve` with a graceful stop, which
//! database each command opens, and errors that say what to do.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::helpers::{TestApp, TestDb, on_both_databases, spawn_app};
use crate::serve_process::ServeProcess;

const CBM2: &str = env!("CARGO_BIN_EXE_cbm2");

/// The lines of `stderr` that say what went wrong (the others are logs).
fn error_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| line.starts_with("error"))
        .collect()
}

/// Runs `cbm2 --database-url URL ARGS…` and returns (exit code, stdout, stderr).
pub(crate) async fn cbm2(url: &str, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(CBM2)
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env_remove("CBM2_DATABASE_URL")
        .kill_on_drop(true)
        .output();
    // A command that should fail but serves instead must fail the test, not hang it.
    let output = tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .expect("cbm2 ends within a minute")
        .expect("cbm2 runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

async fn token_create_prints_only_a_working_token(db: TestDb) {
    // Only serve and migrate create a database.
    let (code, _, stderr) = cbm2(&db.url, &["migrate"]).await;
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = cbm2(
        &db.url,
        &["token", "create", "--secretariat", "--label", "ops"],
    )
    .await;
    assert_eq!(code, 0, "stderr: {stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout holds only the token: {stdout:?}");
    let secretariat = lines[0].to_owned();
    assert!(secretariat.starts_with("cbm2_"));

    let app = spawn_app(db).await;
    let poc = app
        .post(
            "/v1/pocs",
            &secretariat,
            json!({"member_state": "CAN", "name": "Jo Tremblay", "affiliation": "Global Affairs Canada",
                   "role": "policy", "email": "jo.tremblay@international.gc.ca", "languages": ["fr", "en"]}),
        )
        .await;
    let poc_id = poc.assert_status(201)["id"].as_str().unwrap().to_owned();

    let (code, stdout, stderr) = cbm2(
        &app.db.url,
        &["token", "create", "--poc", &poc_id, "--label", "jo"],
    )
    .await;
    assert_eq!(code, 0, "stderr: {stderr}");
    let poc_token = stdout.trim();
    assert_eq!(stdout.lines().count(), 1);
    app.get("/v1/member-states", poc_token)
        .await
        .assert_status(200);
    app.post("/v1/pocs", poc_token, json!({}))
        .await
        .assert_problem(403, None);
}

async fn token_revoke_makes_the_token_answer_401(db: TestDb) {
    // Only serve and migrate create a database.
    let (code, _, stderr) = cbm2(&db.url, &["migrate"]).await;
    assert_eq!(code, 0, "{stderr}");
    let (_, token, _) = cbm2(
        &db.url,
        &["token", "create", "--secretariat", "--label", "tmp"],
    )
    .await;
    let token = token.trim().to_owned();
    let app = spawn_app(db).await;
    app.get("/v1/pocs", &token).await.assert_status(200);
    let (_, listing, _) = cbm2(&app.db.url, &["token", "list"]).await;
    let token_id = listing
        .lines()
        .find(|line| line.contains(" tmp "))
        .and_then(|line| line.split_whitespace().next())
        .expect("the token is listed")
        .to_owned();
    assert!(!listing.contains(&token), "listing never shows secrets");

    let (code, _, stderr) = cbm2(&app.db.url, &["token", "revoke", &token_id]).await;

    assert_eq!(code, 0, "stderr: {stderr}");
    app.get("/v1/pocs", &token).await.assert_problem(401, None);
    let (code, _, stderr) = cbm2(
        &app.db.url,
        &["token", "revoke", "00000000-0000-0000-0000-000000000000"],
    )
    .await;
    assert_eq!(code, 1);
    assert!(stderr.contains("no token has id"), "{stderr}");
}

async fn token_create_refuses_an_unknown_poc(db: TestDb) {
    // Only serve and migrate create a database.
    let (code, _, stderr) = cbm2(&db.url, &["migrate"]).await;
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = cbm2(
        &db.url,
        &[
            "token",
            "create",
            "--poc",
            "00000000-0000-0000-0000-000000000000",
            "--label",
            "x",
        ],
    )
    .await;

    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(stderr.contains("no point of contact"), "{stderr}");
}

async fn serve_migrates_listens_and_stops_gracefully_on_sigterm(db: TestDb) {
    let mut child = Command::new(CBM2)
        .args(["--database-url", &db.url, "serve", "--bind", "127.0.0.1:0"])
        .env("CBM2_SIGNING_KEY", &db.signing_key)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("cbm2 serve starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("serve logs before it exits");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim().to_owned();
        }
    };

    let health = reqwest::get(format!("http://{address}/v1/health"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    let pid = child.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), Some(0), "serve exits 0 on SIGTERM");
}

/// The rows of the Markdown table `cbm2 bench` prints, as cells (the header and rule
/// left out).
fn bench_rows(stdout: &str) -> Vec<Vec<String>> {
    stdout
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| figure "))
        .map(|line| {
            line.trim_matches('|')
                .split(" | ")
                .map(|cell| cell.trim().to_owned())
                .collect()
        })
        .collect()
}

/// The number a cell starts with (`5512/s`, `0.41 ms`, `13.2 MiB`, `1.5 s`).
fn leading_number(cell: &str) -> Option<f64> {
    let end = cell
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(cell.len());
    cell[..end].parse().ok()
}

/// Asserts that `stdout` holds a row starting with each of `figures`, with a number for a
/// result, and latencies in milliseconds where the row is a measured load.
fn assert_bench_table(stdout: &str, figures: &[&str]) {
    let rows = bench_rows(stdout);
    for figure in figures {
        let row = rows
            .iter()
            .find(|row| row[0].starts_with(figure))
            .unwrap_or_else(|| panic!("no row {figure:?} in:\n{stdout}"));
        assert_eq!(row.len(), 6, "six cells in {row:?}");
        assert!(
            leading_number(&row[2]).is_some(),
            "{figure}: the result {:?} is a number",
            row[2]
        );
        if row[2].ends_with("/s") {
            for latency in &row[3..5] {
                assert!(
                    latency.ends_with(" ms") && leading_number(latency).is_some(),
                    "{figure}: latency {latency:?} in ms"
                );
            }
            assert!(
                leading_number(&row[5]).is_some(),
                "{figure}: ratio {:?} starts with a number",
                row[5]
            );
        }
    }
}

/// Every row of the default run (at 2 writers: each write figure has two rows).
const BENCH_FIGURES: [&str; 9] = [
    "raw commits (UPDATE+INSERT), 1 connection: the ceiling",
    "raw commits (UPDATE+INSERT), a connection each",
    "transitions in process (Store::execute, message)",
    "transitions over HTTP (POST /v1/inquiries/{id}/message)",
    "GET /v1/inquiries/{id} over HTTP",
    "bare axum handler over HTTP (reference)",
    "bare axum handler making one query (SELECT 1 on the store's pool)",
    "time to ready of the in-process server",
    "RSS of this process, server ready and idle",
];

async fn bench_prints_every_figure_of_its_table_with_numbers(db: TestDb) {
    let (code, stdout, stderr) = cbm2(
        &db.url,
        &[
            "bench",
            "--bench-database-url",
            &db.url,
            "--duration",
            "50ms",
            "--writers",
            "2",
            "--readers",
            "2",
            "--scale",
            "--inquiries",
            "60",
            "--open",
            "10",
            "--samples",
            "3",
        ],
    )
    .await;

    assert_eq!(code, 0, "stderr: {stderr}");
    assert_bench_table(&stdout, &BENCH_FIGURES);
    assert_bench_table(
        &stdout,
        &[
            "scale: fill 60 inquiries",
            "scale: overdue query, first page (2 rows of 2 overdue)",
            "scale: the Secretariat's summary, gathered (every inquiry's metadata)",
            "scale: the Secretariat's summary as served (GET /v1/monitoring/summary)",
            "scale: transitions in process at size (Store::execute, message)",
            "scale: sweeper tick with work",
            "scale: sweeper tick, nothing due",
            "scale: time to ready of the in-process server on the filled database",
        ],
    );
    let rows = bench_rows(&stdout);
    for figure in &BENCH_FIGURES[..4] {
        let at: Vec<&str> = rows
            .iter()
            .filter(|row| row[0] == *figure)
            .map(|row| row[1].as_str())
            .collect();
        let expected: &[&str] = if figure.ends_with("the ceiling") {
            &["1"]
        } else if figure.ends_with("a connection each") {
            &["2"]
        } else {
            &["1", "2"]
        };
        assert_eq!(at, expected, "{figure}: its concurrencies");
    }
    // The first line names the backend and its durability settings as read back.
    let first = stdout.lines().next().unwrap();
    if db.url.starts_with("sqlite:") {
        // FULL, and the writer's savepoint journals in memory.
        assert!(first.contains("synchronous=2 temp_store=2"), "{first}");
    } else {
        assert!(first.contains("synchronous_commit=on"), "{first}");
    }
    // The in-process server's request lines stay out of the way.
    assert!(!stderr.contains("finished processing request"), "{stderr}");
}

#[tokio::test]
async fn bench_on_its_own_temporary_sqlite_file_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let output = Command::new(CBM2)
        .args([
            "bench",
            "--duration",
            "20ms",
            "--writers",
            "1",
            "--readers",
            "1",
        ])
        .env("TMPDIR", tmp.path())
        .env_remove("CBM2_DATABASE_URL")
        .env_remove("RUST_LOG")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .expect("cbm2 bench ends within a minute")
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();

    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.contains(&tmp.path().display().to_string()),
        "{stderr}"
    );
    assert_bench_table(
        &stdout,
        &[BENCH_FIGURES[0], BENCH_FIGURES[2], BENCH_FIGURES[3]],
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(
        left.is_empty(),
        "the database, its WAL and its lock are removed: {left:?}"
    );
}

on_both_databases!(
    token_create_prints_only_a_working_token,
    token_revoke_makes_the_token_answer_401,
    token_create_refuses_an_unknown_poc,
    serve_migrates_listens_and_stops_gracefully_on_sigterm,
    every_command_says_which_database_it_opened_without_the_password,
    token_create_takes_the_e_mail_of_one_active_poc,
    monitor_summary_prints_the_figures_the_api_gives,
    bench_prints_every_figure_of_its_table_with_numbers,
);

#[tokio::test]
async fn a_missing_sqlite_file_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested-new.db");
    assert!(!path.exists());

    let (code, _, stderr) = cbm2(&format!("sqlite://{}", path.display()), &["migrate"]).await;

    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(path.exists());
}

#[tokio::test]
async fn help_explains_the_commands_and_their_environment() {
    let output = Command::new(CBM2).arg("--help").output().await.unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in ["serve", "migrate", "token", "CBM2_DATABASE_URL"] {
        assert!(help.contains(needle), "--help lacks {needle}: {help}");
    }
    let output = Command::new(CBM2)
        .args(["token", "create", "--label", "x"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "an owner is required");
}

#[tokio::test]
async fn an_unsupported_database_url_is_explained() {
    let (code, _, stderr) = cbm2("mysql://localhost/cbm2", &["migrate"]).await;

    assert_eq!(code, 1);
    assert!(stderr.contains("unsupported database URL"), "{stderr}");
}

async fn every_command_says_which_database_it_opened_without_the_password(db: TestDb) {
    let (code, _, stderr) = cbm2(&db.url, &["migrate"]).await;
    assert_eq!(code, 0, "{stderr}");
    let with_password = if db.is_postgres() {
        // The test server trusts local connections: any password is accepted.
        db.url.replacen('@', ":hunter2@", 1)
    } else {
        db.url.clone()
    };

    for args in [
        &["token", "list"][..],
        &["audit", "head"],
        &["monitor", "overdue"],
    ] {
        let (code, _, stderr) = cbm2(&with_password, args).await;

        assert_eq!(code, 0, "{args:?}: {stderr}");
        let opened = stderr
            .lines()
            .find(|line| line.contains("database opened"))
            .unwrap_or_else(|| panic!("{args:?} says which database it opened: {stderr}"));
        assert!(opened.contains(&db.url), "{opened}");
        assert!(
            !stderr.contains("hunter2"),
            "the password is never shown: {stderr}"
        );
    }
}

async fn token_create_takes_the_e_mail_of_one_active_poc(db: TestDb) {
    let app = spawn_app(db).await;
    let first = app.create_poc("CAN", "policy", "Jo Tremblay").await;
    let first_id = first["id"].as_str().unwrap().to_owned();
    let email = first["email"].as_str().unwrap().to_owned();
    let token_of = async |given: &str| {
        cbm2(
            &app.db.url,
            &["token", "create", "--poc", given, "--label", "jo"],
        )
        .await
    };

    let (code, token, stderr) = token_of(&email.to_uppercase()).await;

    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(&first_id), "names the POC: {stderr}");
    let token = token.trim().to_owned();
    let (_, listing, _) = cbm2(&app.db.url, &["token", "list"]).await;
    assert!(
        listing
            .lines()
            .any(|line| line.contains(&first_id) && line.contains(" jo ")),
        "the token is the POC's: {listing}"
    );
    app.get(&format!("/v1/pocs/{first_id}"), &token)
        .await
        .assert_status(200);

    // A second active POC with the same address makes it ambiguous.
    let second = app
        .post(
            "/v1/pocs",
            &app.secretariat,
            json!({"member_state": "USA", "name": "Jo Tremblay", "affiliation": "State",
                   "role": "technical", "email": email, "languages": ["en"]}),
        )
        .await;
    let second_id = second.assert_status(201)["id"].as_str().unwrap().to_owned();
    let (code, stdout, stderr) = token_of(&email).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    let said = error_lines(&stderr);
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(said[0].contains("2 active points of contact"), "{stderr}");
    assert!(
        said[0].contains(&first_id) && said[0].contains(&second_id),
        "lists the ids to choose from: {stderr}"
    );

    // Once one is deactivated, the address names the other again.
    app.post(
        &format!("/v1/pocs/{first_id}/deactivate"),
        &app.secretariat,
        json!({}),
    )
    .await
    .assert_status(200);
    let (code, _, stderr) = token_of(&email).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(&second_id), "{stderr}");

    for (given, says) in [
        (
            "nobody@example.org",
            "no point of contact has the e-mail address",
        ),
        ("jo", "is neither"),
    ] {
        let (code, stdout, stderr) = token_of(given).await;
        assert_eq!(code, 1, "{given}: {stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.contains(says), "{given}: {stderr}");
    }
}

async fn monitor_summary_prints_the_figures_the_api_gives(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    app.poc_with_token("BRA", "Ana Souza").await;
    app.send_inquiry(&chl, "BRA", "urgent", None, false).await;
    app.send_inquiry(&chl, "BRA", "critical", None, false).await;
    app.described_inquiry(&chl, "BRA", false).await;
    let api = app
        .get("/v1/monitoring/summary", &app.secretariat)
        .await
        .assert_status(200)
        .clone();

    let (code, printed, stderr) = cbm2(&app.db.url, &["monitor", "summary"]).await;

    assert_eq!(code, 0, "{stderr}");
    let count_in_row = |label: &str| -> u64 {
        let row = printed
            .lines()
            .find(|line| line.split_whitespace().next() == Some(label))
            .unwrap_or_else(|| panic!("no row {label}: {printed}"));
        row.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    for status in ["awaiting_response", "incident_described", "closed"] {
        assert_eq!(
            count_in_row(status),
            api["inquiries"]["by_status"][status].as_u64().unwrap(),
            "{status}: {printed}"
        );
    }
    assert_eq!(count_in_row("awaiting_response"), 2);
    for sensitivity in ["urgent", "critical", "routine"] {
        assert_eq!(
            count_in_row(sensitivity),
            api["inquiries"]["by_time_sensitivity"][sensitivity]
                .as_u64()
                .unwrap(),
            "{sensitivity}: {printed}"
        );
    }
    let without = api["states_without_active_policy_poc"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(without, 33);
    assert!(
        printed.contains(&format!("States without an active policy POC ({without}):")),
        "{printed}"
    );
    assert!(printed.contains(&format!(
        "{} inquiries",
        api["inquiries"]["total"].as_u64().unwrap()
    )));
}

#[tokio::test]
async fn commands_other_than_serve_and_migrate_refuse_a_missing_sqlite_file_and_create_none() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cbm2.db");
    let url = format!("sqlite://{}", path.display());

    for args in [
        &["audit", "verify"][..],
        &["audit", "head"],
        &["token", "list"],
        &["token", "create", "--secretariat", "--label", "ops"],
        &["monitor", "overdue"],
        &["monitor", "summary"],
    ] {
        let (code, stdout, stderr) = cbm2(&url, args).await;

        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert_eq!(
            stderr.lines().collect::<Vec<_>>(),
            error_lines(&stderr),
            "{args:?}: one error line, no log of a database opened: {stderr}"
        );
        assert_eq!(error_lines(&stderr).len(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("{} does not exist", path.display())),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("cbm2 migrate --database-url {url}")),
            "{args:?} says what to run: {stderr}"
        );
        assert!(!path.exists(), "{args:?} created the file");
    }
}

#[tokio::test]
async fn a_second_serve_on_one_sqlite_file_exits_with_the_reason_while_the_first_serves() {
    let db = TestDb::sqlite();
    let first = ServeProcess::start(&db.url, &[]).await;
    let path = std::fs::canonicalize(db.url.trim_start_matches("sqlite://")).unwrap();

    let (code, _, stderr) = cbm2(&db.url, &["serve", "--bind", "127.0.0.1:0"]).await;

    assert_eq!(code, 1, "{stderr}");
    let said = error_lines(&stderr);
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(
        said[0].contains(&format!("another cbm2 serve is using {}", path.display())),
        "{stderr}"
    );
    assert!(
        said[0].contains("PostgreSQL"),
        "says what shares the load: {stderr}"
    );
    let health = reqwest::get(format!("http://{}/v1/health", first.address))
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the first one serves on");
    let (status, log) = first.stop().await;
    assert_eq!(status.code(), Some(0), "{log:#?}");

    // The lock goes with the server that held it.
    let next = ServeProcess::start(&db.url, &[]).await;
    let (status, log) = next.stop().await;
    assert_eq!(status.code(), Some(0), "{log:#?}");
}

#[tokio::test]
async fn a_closed_postgres_port_is_said_at_once_in_one_line() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("postgres://postgres@127.0.0.1:{port}/cbm2");

    for args in [
        &["audit", "verify"][..],
        &["migrate"],
        &["serve", "--bind", "127.0.0.1:0"],
    ] {
        let (code, stdout, stderr) = cbm2(&url, args).await;

        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(stdout.is_empty());
        assert_eq!(
            stderr.trim_end(),
            format!(
                "error: cannot reach PostgreSQL at 127.0.0.1:{port}: connection refused; is it \
                 running, on this port?"
            ),
            "{args:?}"
        );
    }
}

#[tokio::test]
async fn a_missing_postgres_database_is_said_with_the_createdb_command() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let (server, _) = db.url.rsplit_once('/').unwrap();
    let name = format!("cbm2_missing_{}", uuid::Uuid::new_v4().simple());
    let url = format!("{server}/{name}");

    for args in [&["token", "list"][..], &["migrate"]] {
        let (code, _, stderr) = cbm2(&url, args).await;

        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains(&format!("has no database \"{name}\"")),
            "{stderr}"
        );
        assert!(stderr.contains("createdb -h 127.0.0.1 -p "), "{stderr}");
        assert_eq!(
            stderr.matches(&name).count(),
            2,
            "said once, then in the fix: {stderr}"
        );
    }
}

#[tokio::test]
async fn a_sqlite_path_that_cannot_be_created_is_named_with_the_reason() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let under_a_file = file.path().join("cbm2.db");
    let dir = tempfile::tempdir().unwrap();
    let under_nothing = dir.path().join("missing").join("cbm2.db");

    for (path, says) in [
        (&under_a_file, "is not a directory"),
        (&under_nothing, "does not exist: create it (mkdir -p"),
    ] {
        let (code, _, stderr) = cbm2(&format!("sqlite://{}", path.display()), &["migrate"]).await;

        assert_eq!(code, 1, "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains(&format!(
                "cannot open the SQLite database {}",
                path.display()
            )),
            "{stderr}"
        );
        assert!(stderr.contains(says), "{stderr}");
    }
}

/// Runs `cbm2 ARGS…` as a user that is not root (root ignores file permissions): as
/// `nobody` through setpriv when the tests run as root, as is otherwise.
async fn cbm2_unprivileged(url: &str, args: &[&str]) -> (i32, String) {
    let probe = tempfile::NamedTempFile::new().unwrap();
    let as_root = probe.as_file().metadata().unwrap().uid() == 0;
    let mut command = if as_root {
        let mut command = Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups", CBM2]);
        command
    } else {
        Command::new(CBM2)
    };
    let output = command
        .args(["--database-url", url])
        .args(args)
        .env_remove("CBM2_DATABASE_URL")
        .output()
        .await
        .expect("cbm2 runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[tokio::test]
async fn a_sqlite_directory_or_file_this_user_may_not_write_is_named_with_the_permission_problem() {
    let top = tempfile::tempdir().unwrap();
    std::fs::set_permissions(top.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let read_only = top.path().join("read-only");
    std::fs::create_dir(&read_only).unwrap();
    let existing = read_only.join("existing.db");
    let (code, _, stderr) = cbm2(&format!("sqlite://{}", existing.display()), &["migrate"]).await;
    assert_eq!(code, 0, "{stderr}");
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o444)).unwrap();
    let new = read_only.join("new.db");

    for (path, args, says) in [
        (&new, &["migrate"][..], "cannot create files in"),
        (
            &existing,
            &["token", "list"],
            "cannot read and write the file",
        ),
    ] {
        let (code, stderr) = cbm2_unprivileged(&format!("sqlite://{}", path.display()), args).await;

        assert_eq!(code, 1, "{args:?}: {stderr}");
        let said = error_lines(&stderr);
        assert_eq!(said.len(), 1, "{stderr}");
        assert!(
            said[0].contains(&format!(
                "cannot open the SQLite database {}",
                path.display()
            )),
            "{stderr}"
        );
        assert!(said[0].contains(says), "{stderr}");
        assert!(said[0].contains("ermission denied"), "{stderr}");
    }
    assert!(!new.exists());
}

#[tokio::test]
async fn a_port_in_use_is_said_with_what_to_do() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let db = TestDb::sqlite();

    let (code, _, stderr) = cbm2(&db.url, &["serve", "--bind", &address]).await;

    assert_eq!(code, 1, "{stderr}");
    let said = error_lines(&stderr);
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(
        said[0].contains(&format!("cannot listen on {address}")),
        "{stderr}"
    );
    assert!(
        said[0].contains("another cbm2, or another program"),
        "{stderr}"
    );
    assert!(said[0].contains("--bind"), "{stderr}");
}

#[tokio::test]
async fn a_bare_port_for_bind_is_said_to_need_host_and_port() {
    let db = TestDb::sqlite();

    let (code, _, stderr) = cbm2(&db.url, &["serve", "--bind", "18203"]).await;

    assert_eq!(code, 2, "a usage error: {stderr}");
    assert!(
        stderr.contains("needs HOST:PORT, e.g. 127.0.0.1:18203"),
        "{stderr}"
    );
    assert!(!std::path::Path::new(db.url.trim_start_matches("sqlite://")).exists());
}

#[tokio::test]
async fn token_list_into_a_pipe_closed_early_exits_0_without_a_panic() {
    let db = TestDb::sqlite();
    let (code, _, stderr) = cbm2(&db.url, &["migrate"]).await;
    assert_eq!(code, 0, "{stderr}");
    for label in ["one", "two", "three"] {
        let (code, _, stderr) = cbm2(
            &db.url,
            &["token", "create", "--secretariat", "--label", label],
        )
        .await;
        assert_eq!(code, 0, "{stderr}");
    }
    let mut child = Command::new(CBM2)
        .args(["--database-url", &db.url, "token", "list"])
        .env_remove("CBM2_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The reader goes away before the first line is written, as `| head -1` does after it.
    drop(child.stdout.take());

    let output = child.wait_with_output().await.unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(error_lines(&stderr).is_empty(), "quietly: {stderr}");
}

#[tokio::test]
async fn requests_are_logged_with_the_principal_in_words() {
    let db = TestDb::sqlite();
    let server = ServeProcess::start(&db.url, &[]).await;
    let app = TestApp::attach(db, &server.address).await;
    let (poc_id, poc_token) = app.poc_with_token("CHL", "Eva Rojas").await;
    app.get("/v1/member-states", &poc_token)
        .await
        .assert_status(200);

    let (_, log) = server.stop().await;

    let log = log.join("\n");
    assert!(
        log.contains(&format!("principal=poc:{poc_id} state=CHL")),
        "{log}"
    );
    assert!(log.contains("principal=secretariat"), "{log}");
    assert!(!log.contains("PocId("), "no Rust debug text: {log}");
}

#[tokio::test]
async fn serve_warns_once_of_plain_http_on_a_public_address_and_of_private_webhooks() {
    let db = TestDb::sqlite();
    let server = ServeProcess::start_bound(
        &db.url,
        "0.0.0.0:0",
        &[],
        &[("CBM2_WEBHOOK_ALLOW_PRIVATE", "true")],
        &[],
    )
    .await;
    let (_, log) = server.stop().await;
    let warnings = |about: &str| {
        log.iter()
            .filter(|line| line.contains("WARN") && line.contains(about))
            .count()
    };
    assert_eq!(warnings("put TLS in front: see README"), 1, "{log:#?}");
    assert_eq!(warnings("CBM2_WEBHOOK_ALLOW_PRIVATE"), 1, "{log:#?}");

    let server = ServeProcess::start(&db.url, &[]).await;
    let (_, log) = server.stop().await;
    assert!(
        !log.iter()
            .any(|line| line.contains("TLS") || line.contains("ALLOW_PRIVATE")),
        "nothing to warn of on loopback without private webhooks: {log:#?}"
    );
}

/// `cbm2 poc add|list|import|export`, on the database directly.
mod poc {
    use super::cbm2;
    use crate::helpers::{TestDb, on_both_databases};

    /// `cbm2 migrate`: only `serve` and `migrate` create a database.
    async fn migrate(url: &str) {
        let (code, _, stderr) = cbm2(url, &["migrate"]).await;
        assert_eq!(code, 0, "cbm2 migrate failed: {stderr}");
    }

    /// Runs `cbm2 poc ARGS…` and asserts it succeeds; returns stdout.
    async fn poc_ok(url: &str, args: &[&str]) -> String {
        let args: Vec<&str> = ["poc"].iter().chain(args).copied().collect();
        let (code, stdout, stderr) = cbm2(url, &args).await;
        assert_eq!(code, 0, "cbm2 {args:?} failed: {stderr}");
        stdout
    }

    async fn poc_add_list_export_and_import_round_trip(db: TestDb) {
        migrate(&db.url).await;
        let eva = poc_ok(
            &db.url,
            &[
                "add",
                "--member-state",
                "CHL",
                "--role",
                "policy",
                "--name",
                "Eva Rojas",
                "--affiliation",
                "Ministerio de Relaciones Exteriores, Chile",
                "--email",
                "eva.rojas@minrel.example.org",
                "--phone",
                "+56 2 2827 4200",
                "--languages",
                "es,en",
            ],
        )
        .await;
        let eva = eva.trim();
        assert!(
            uuid::Uuid::parse_str(eva).is_ok(),
            "add prints the id alone: {eva:?}"
        );
        poc_ok(
            &db.url,
            &[
                "add",
                "--member-state",
                "BRA",
                "--role",
                "technical",
                "--name",
                "=Ana \"Souza\"",
                "--affiliation",
                "CTIR Gov",
                "--email",
                "ana.souza@ctir.example.org",
            ],
        )
        .await;

        let listing = poc_ok(&db.url, &["list"]).await;
        let lines: Vec<Vec<&str>> = listing
            .lines()
            .map(|l| {
                l.split("  ")
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .collect()
            })
            .collect();
        assert_eq!(
            lines[0],
            ["STATE", "ROLE", "NAME", "E-MAIL", "ACTIVE", "ID"]
        );
        assert_eq!(
            lines[2],
            [
                "CHL",
                "policy",
                "Eva Rojas",
                "eva.rojas@minrel.example.org",
                "yes",
                eva
            ]
        );
        assert_eq!(lines.len(), 3, "{listing}");

        let exported = poc_ok(&db.url, &["export"]).await;
        assert!(
            exported.starts_with("member_state,role,name,affiliation,email,phone,languages\n"),
            "{exported}"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("directory.csv");
        std::fs::write(&file, &exported).unwrap();
        let file = file.to_str().unwrap();

        let report = poc_ok(&db.url, &["import", file, "--dry-run"]).await;
        assert!(
            report.ends_with(
                "BRA, CHL: 0 to add, 0 to change, 0 to deactivate, 2 unchanged (dry run: nothing written)\n"
            ),
            "{report}"
        );
        let json = poc_ok(&db.url, &["import", file, "--dry-run", "--json"]).await;
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            (
                &json["add"],
                &json["change"],
                &json["deactivate"],
                &json["unchanged"]
            ),
            (
                &serde_json::json!([]),
                &serde_json::json!([]),
                &serde_json::json!([]),
                &serde_json::json!(2)
            )
        );

        // Without --dry-run the import applies: Brazil's row gone, its POC is deactivated.
        let chile_only: String = exported
            .lines()
            .filter(|l| !l.starts_with("BRA,"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(file, chile_only).unwrap();
        let report = poc_ok(&db.url, &["import", file]).await;
        assert!(
            report.ends_with("CHL: 0 added, 0 changed, 0 deactivated, 1 unchanged\n"),
            "a file of Chile's POCs leaves Brazil's alone: {report}"
        );
        poc_ok(&db.url, &["list", "--member-state", "CHL"]).await;
    }

    async fn poc_import_applies_and_a_bad_file_exits_1_naming_line_and_field(db: TestDb) {
        migrate(&db.url).await;
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.csv");
        std::fs::write(
            &good,
            "member_state,role,name,affiliation,email\n\
             CHL,policy,Eva Rojas,Cancillería,eva.rojas@minrel.example.org\n",
        )
        .unwrap();
        let bad = dir.path().join("bad.csv");
        std::fs::write(
            &bad,
            "member_state,role,name,affiliation,email\n\
             CHL,policy,Eva Rojas,Cancillería,eva.rojas@minrel.example.org\n\
             BRA,policy,Ana Souza,Itamaraty,ana.souza\n",
        )
        .unwrap();

        let (code, stdout, stderr) = cbm2(&db.url, &["poc", "import", bad.to_str().unwrap()]).await;

        assert_eq!(code, 1, "stdout: {stdout}");
        assert!(
            stderr.contains("line 3: email: must be an e-mail address"),
            "{stderr}"
        );
        assert!(stderr.contains("nothing was imported"), "{stderr}");
        let listing = poc_ok(&db.url, &["list"]).await;
        assert_eq!(listing.lines().count(), 1, "nothing was added: {listing}");

        let report = poc_ok(&db.url, &["import", good.to_str().unwrap()]).await;
        assert!(report.starts_with("add "), "{report}");
        assert!(
            report.ends_with("CHL: 1 added, 0 changed, 0 deactivated, 0 unchanged\n"),
            "{report}"
        );
        let listing = poc_ok(&db.url, &["list"]).await;
        assert!(
            listing
                .lines()
                .nth(1)
                .unwrap()
                .starts_with("CHL    policy     Eva Rojas"),
            "{listing}"
        );
    }

    on_both_databases!(
        poc_add_list_export_and_import_round_trip,
        poc_import_applies_and_a_bad_file_exits_1_naming_line_and_field,
    );
}
