//! `cbm2 backup`: a consistent copy of a SQLite database taken while `cbm2 serve` writes,
//! verified, with a head the live database must pass through; on PostgreSQL, a refusal
//! that prints the pg_dump and pg_restore commands, which work.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::cli::cbm2;
use crate::helpers::{TestApp, TestDb, poll_until};
use crate::serve_process::ServeProcess;

/// The `SEQ` of a `SEQ:HASH` head.
fn position(head: &str) -> u64 {
    head.split_once(':')
        .and_then(|(seq, _)| seq.parse().ok())
        .unwrap_or_else(|| panic!("not a SEQ:HASH head: {head:?}"))
}

#[tokio::test]
async fn a_backup_taken_while_serve_writes_verifies_and_the_live_chain_passes_through_its_head() {
    let db = TestDb::sqlite();
    let url = db.url.clone();
    let serve = ServeProcess::start(&url, &[]).await;
    let app = Arc::new(TestApp::attach(db, &serve.address).await);
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    app.poc_with_token("BRA", "Ana Souza").await;
    for _ in 0..3 {
        app.described_inquiry(&chl, "BRA", false).await;
    }
    let (code, before, stderr) = cbm2(&url, &["audit", "head"]).await;
    assert_eq!(code, 0, "{stderr}");
    let events_before = position(before.trim());
    assert!(events_before >= 12, "three described inquiries: {before}");

    // A writer that keeps creating inquiries through the server until told to stop.
    let (stop, created) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    let writer = {
        let (app, chl, stop, created) = (app.clone(), chl.clone(), stop.clone(), created.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                app.post("/v1/inquiries", &chl, json!({}))
                    .await
                    .assert_status(201);
                created.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    poll_until(
        "the writer's first inquiry",
        Duration::from_secs(30),
        async || (created.load(Ordering::SeqCst) > 0).then_some(()),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("backup.db");

    let (code, stdout, stderr) = cbm2(&url, &["backup", "--to", target.to_str().unwrap()]).await;

    assert_eq!(code, 0, "stderr: {stderr}");
    let head = stdout.trim().to_owned();
    assert_eq!(
        stdout.lines().count(),
        1,
        "stdout is the head alone: {stdout:?}"
    );
    assert!(
        position(&head) > events_before,
        "the copy holds what was committed before it began, and the writer's inquiries: {head} after {before}"
    );
    assert!(stderr.contains("hash chain intact"), "{stderr}");
    // The live database goes on past the backup's head...
    let after_backup = created.load(Ordering::SeqCst);
    poll_until(
        "a write after the backup",
        Duration::from_secs(30),
        async || (created.load(Ordering::SeqCst) > after_backup).then_some(()),
    )
    .await;
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    let (_, live, _) = cbm2(&url, &["audit", "head"]).await;
    assert!(position(live.trim()) > position(&head), "{live} vs {head}");
    // ...and passes through it: the copy is a prefix of the live chain.
    let (code, stdout, stderr) = cbm2(&url, &["audit", "verify", "--expect-head", &head]).await;
    assert_eq!(code, 0, "stdout: {stdout} stderr: {stderr}");
    assert!(
        stdout.contains(&format!("passing through the kept head {head}")),
        "{stdout}"
    );
    // The copy alone, as restored, verifies against its own head and is that head.
    let restored = format!("sqlite://{}", target.display());
    let (code, stdout, stderr) =
        cbm2(&restored, &["audit", "verify", "--expect-head", &head]).await;
    assert_eq!(code, 0, "stdout: {stdout} stderr: {stderr}");
    assert!(
        stdout.trim_end().ends_with(&format!("head {head}")),
        "{stdout}"
    );
    let (status, _) = serve.stop().await;
    assert!(status.success());
}

#[tokio::test]
async fn a_backup_never_overwrites_a_file_and_names_it() {
    let db = TestDb::sqlite();
    let (code, _, stderr) = cbm2(&db.url, &["migrate"]).await;
    assert_eq!(code, 0, "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("yesterday.db");
    std::fs::write(&target, "yesterday's backup").unwrap();

    let (code, stdout, stderr) = cbm2(&db.url, &["backup", "--to", target.to_str().unwrap()]).await;

    assert_eq!(code, 1);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains(&format!("{} already exists", target.display())),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "yesterday's backup"
    );
}

#[tokio::test]
async fn a_backup_of_a_missing_database_creates_nothing_and_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo.db");
    let target = dir.path().join("backup.db");

    let (code, stdout, stderr) = cbm2(
        &format!("sqlite://{}", missing.display()),
        &["backup", "--to", target.to_str().unwrap()],
    )
    .await;

    assert_eq!(code, 1);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains(&format!(
            "the SQLite database {} does not exist",
            missing.display()
        )),
        "{stderr}"
    );
    assert!(!missing.exists() && !target.exists());
}

#[tokio::test]
async fn on_postgres_backup_refuses_and_prints_pg_dump_and_pg_restore_commands_that_work() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let url = db.url.clone();
    let serve = ServeProcess::start(&url, &[]).await;
    let app = TestApp::attach(db, &serve.address).await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    app.poc_with_token("BRA", "Ana Souza").await;
    app.described_inquiry(&chl, "BRA", false).await;
    let (_, head, _) = cbm2(&app.db.url, &["audit", "head"]).await;
    let head = head.trim().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("cbm2.dump");

    let (code, stdout, stderr) =
        cbm2(&app.db.url, &["backup", "--to", dump.to_str().unwrap()]).await;

    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(!dump.exists(), "nothing is written");
    let database = app.db.url.rsplit('/').next().unwrap();
    assert!(stderr.contains(&format!("database {database}")), "{stderr}");
    let commands: Vec<&str> = stderr.split('`').skip(1).step_by(2).collect();
    let (pg_dump, pg_restore) = (commands[0], commands[1]);
    assert!(
        pg_dump.starts_with(&format!(
            "pg_dump --format=custom --file={}",
            dump.display()
        )),
        "{stderr}"
    );
    assert!(pg_restore.starts_with("pg_restore "), "{stderr}");

    // The commands as printed: dump while serving, write more, stop the server, restore,
    // and the database is the dump again.
    run_shell(pg_dump).await;
    app.described_inquiry(&chl, "BRA", false).await;
    let (status, _) = serve.stop().await;
    assert!(status.success());
    run_shell(pg_restore).await;
    let (_, restored, _) = cbm2(&app.db.url, &["audit", "head"]).await;
    assert_eq!(restored.trim(), head);
    let (code, stdout, stderr) =
        cbm2(&app.db.url, &["audit", "verify", "--expect-head", &head]).await;
    assert_eq!(code, 0, "stdout: {stdout} stderr: {stderr}");
}

/// Runs `command` with `sh -c` and fails the test unless it succeeds.
async fn run_shell(command: &str) {
    let output = tokio::process::Command::new("sh")
        .args(["-c", command])
        .output()
        .await
        .expect("sh runs");
    assert!(
        output.status.success(),
        "{command}: {} (pg_dump and pg_restore come with PostgreSQL's client package)",
        String::from_utf8_lossy(&output.stderr)
    );
}
