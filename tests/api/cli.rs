//! The `cbm2` binary itself: token commands, migrate, and `serve` with a graceful stop.

use std::process::Stdio;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::helpers::{TestDb, on_both_databases, spawn_app};

const CBM2: &str = env!("CARGO_BIN_EXE_cbm2");

/// Runs `cbm2 --database-url URL ARGS…` and returns (exit code, stdout, stderr).
async fn cbm2(url: &str, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(CBM2)
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env_remove("CBM2_DATABASE_URL")
        .output()
        .await
        .expect("cbm2 runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

async fn token_create_prints_only_a_working_token(db: TestDb) {
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

on_both_databases!(
    token_create_prints_only_a_working_token,
    token_revoke_makes_the_token_answer_401,
    token_create_refuses_an_unknown_poc,
    serve_migrates_listens_and_stops_gracefully_on_sigterm,
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
