//! The hash-chained event log: append-only in the database, verified by `cbm2 audit
//! verify` and GET /v1/audit/verify, and any change made behind the engine's back is
//! found and named.

use serde_json::{Value, json};
use tokio::process::Command;

use crate::helpers::{TestApp, TestDb, on_both_databases, spawn_app};
use crate::workflow::{Parties, act, events, inquiry_at, valid_body};

/// Runs `cbm2 --database-url URL audit verify`: (exit code, stdout, stderr).
async fn verify_offline(app: &TestApp) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_cbm2"))
        .args(["--database-url", &app.db.url, "audit", "verify"])
        .env_remove("CBM2_DATABASE_URL")
        .output()
        .await
        .expect("cbm2 audit verify runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn verify_online(app: &TestApp) -> Value {
    let reply = app.get("/v1/audit/verify", &app.secretariat).await;
    reply.assert_status(200).clone()
}

/// Lifts the append-only guard of `inquiry_events`, as someone with direct access to the
/// database could.
async fn bypass_append_only(app: &TestApp) {
    if app.db.is_postgres() {
        app.db
            .execute("ALTER TABLE inquiry_events DISABLE TRIGGER USER")
            .await;
    } else {
        app.db
            .execute("DROP TRIGGER inquiry_events_are_never_updated")
            .await;
        app.db
            .execute("DROP TRIGGER inquiry_events_are_never_deleted")
            .await;
    }
}

/// Total events over all inquiries, through the API.
async fn total_events(app: &TestApp, ids: &[&str]) -> usize {
    let mut total = 0;
    for id in ids {
        total += events(app, id, &app.secretariat).await.len();
    }
    total
}

/// Asserts that both verifiers report a broken chain at (`inquiry`, one of `seqs`), and
/// returns the seq they named.
async fn assert_broken_at(app: &TestApp, inquiry: &str, seqs: &[i64]) -> i64 {
    let (code, stdout, stderr) = verify_offline(app).await;
    assert_eq!(
        code, 1,
        "cbm2 audit verify exits 1; stdout {stdout:?}, stderr {stderr:?}"
    );
    assert!(
        stderr.contains(inquiry),
        "stderr names inquiry {inquiry}: {stderr}"
    );
    assert!(
        seqs.iter()
            .any(|seq| stderr.contains(&format!("seq {seq}"))),
        "stderr names seq {seqs:?}: {stderr}"
    );

    let report = verify_online(app).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["inquiry_id"], inquiry, "{report}");
    let seq = report["seq"]
        .as_i64()
        .unwrap_or_else(|| panic!("no seq: {report}"));
    assert!(
        seqs.contains(&seq),
        "seq {seq} is not one of {seqs:?}: {report}"
    );
    assert!(
        stderr.contains(&format!("seq {seq}")),
        "both verifiers name the same event: {stderr} / {report}"
    );
    assert!(
        report["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{report}"
    );
    seq
}

/// Two inquiries, the first finished before the second starts: CHL → BRA, responded
/// (6 events), then one sent (5 events).
async fn two_inquiries(app: &TestApp, p: &Parties) -> (String, String) {
    let first = inquiry_at(app, p, "responded").await;
    let second = inquiry_at(app, p, "awaiting_response").await;
    (first, second)
}

/// `chain_seq` of an inquiry's event, read behind the engine's back.
async fn chain_seq(app: &TestApp, inquiry: &str, seq: i64) -> i64 {
    let sql = format!(
        "SELECT CAST(chain_seq AS TEXT) FROM inquiry_events WHERE inquiry_id = {} AND seq = {seq}",
        app.db.uuid_literal(inquiry)
    );
    app.db.fetch_strings(&sql).await[0].parse().unwrap()
}

async fn a_workflow_verifies_through_the_command_line_and_the_api(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let (first, second) = two_inquiries(&app, &p).await;
    act(&app, &first, "close", &p.chl, valid_body("close"))
        .await
        .assert_status(200);
    let total = total_events(&app, &[&first, &second]).await;
    assert_eq!(total, 7 + 5);

    let (code, stdout, stderr) = verify_offline(&app).await;
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(stdout.contains("valid"), "{stdout}");
    assert!(stdout.contains(&total.to_string()), "{stdout}");
    assert_eq!(
        verify_online(&app).await,
        json!({"valid": true, "events": total})
    );

    app.get("/v1/audit/verify", &p.chl)
        .await
        .assert_problem(403, None);
    app.request(reqwest::Method::GET, "/v1/audit/verify", None, None)
        .await
        .assert_problem(401, None);
    app.assert_audit_intact().await;
}

async fn the_database_refuses_to_change_or_remove_recorded_events(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let (first, second) = two_inquiries(&app, &p).await;
    let before = total_events(&app, &[&first, &second]).await;
    let target = app.db.uuid_literal(&first);

    let mut statements = vec![
        format!(
            "UPDATE inquiry_events SET payload = '{{}}' WHERE inquiry_id = {target} AND seq = 4"
        ),
        "UPDATE inquiry_events SET type = 'close'".to_owned(),
        format!("DELETE FROM inquiry_events WHERE inquiry_id = {target} AND seq = 3"),
        "DELETE FROM inquiry_events".to_owned(),
    ];
    if app.db.is_postgres() {
        statements.push("TRUNCATE inquiry_events CASCADE".to_owned());
    }
    for sql in &statements {
        let refused = app.db.try_execute(sql).await;
        let error = refused.expect_err(&format!("the database accepted {sql}"));
        assert!(
            error.to_string().contains("append-only"),
            "{sql}: refused for another reason: {error}"
        );
    }

    assert_eq!(total_events(&app, &[&first, &second]).await, before);
    assert_eq!(verify_online(&app).await["valid"], true);
    app.assert_audit_intact().await;
}

async fn an_altered_event_is_found_and_named(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let (first, _second) = two_inquiries(&app, &p).await;
    assert_eq!(verify_online(&app).await["valid"], true);
    bypass_append_only(&app).await;

    // The description (seq 4) now tells another story.
    let altered = app
        .db
        .execute(&format!(
            "UPDATE inquiry_events SET payload = replace(payload, 'DDoS', 'scan')
              WHERE inquiry_id = {} AND seq = 4",
            app.db.uuid_literal(&first)
        ))
        .await;
    assert_eq!(altered, 1);
    let trail = events(&app, &first, &p.chl).await;
    assert!(
        trail[3]["payload"]["incident"]["nature"]
            .as_str()
            .unwrap()
            .contains("scan"),
        "the event was altered: {}",
        trail[3]
    );

    assert_broken_at(&app, &first, &[4]).await;
}

async fn a_removed_event_is_found_and_named(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let (first, _second) = two_inquiries(&app, &p).await;
    bypass_append_only(&app).await;

    // The request for information (seq 5) disappears, with its notifications.
    let removed = chain_seq(&app, &first, 5).await;
    forget_notifications(&app, &format!("event_chain_seq = {removed}")).await;
    let deleted = app
        .db
        .execute(&format!(
            "DELETE FROM inquiry_events WHERE chain_seq = {removed}"
        ))
        .await;
    assert_eq!(deleted, 1);
    assert_eq!(events(&app, &first, &p.chl).await.len(), 5);

    // The missing event, or the first one whose link it broke (seq 6 of the same inquiry).
    assert_broken_at(&app, &first, &[5, 6]).await;
}

async fn a_removed_inquiry_is_found_by_the_events_around_it(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    // first: 5 events, then second: 3 events, then first again: 2 more.
    let first = inquiry_at(&app, &p, "awaiting_response").await;
    let second = inquiry_at(&app, &p, "cbm2_invoked").await;
    act(
        &app,
        &first,
        "acknowledge",
        &p.bra,
        valid_body("acknowledge"),
    )
    .await
    .assert_status(200);
    act(&app, &first, "respond", &p.bra, valid_body("respond"))
        .await
        .assert_status(200);
    assert_eq!(
        chain_seq(&app, &first, 6).await,
        chain_seq(&app, &second, 3).await + 1
    );
    bypass_append_only(&app).await;

    let second_id = app.db.uuid_literal(&second);
    forget_notifications(&app, &format!("inquiry_id = {second_id}")).await;
    let deleted = app
        .db
        .execute(&format!(
            "DELETE FROM inquiry_events WHERE inquiry_id = {second_id}"
        ))
        .await;
    assert_eq!(deleted, 3);
    app.db
        .execute(&format!("DELETE FROM inquiries WHERE id = {second_id}"))
        .await;
    let listed = app.get("/v1/inquiries", &app.secretariat).await;
    assert_eq!(
        listed.assert_status(200)["items"].as_array().unwrap().len(),
        1,
        "the inquiry is gone without a trace in the projection"
    );

    // The chain still knows: the next event, seq 6 of the first inquiry, links to it.
    assert_broken_at(&app, &first, &[6]).await;
}

async fn removing_the_newest_events_is_found_by_the_chain_head(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let (first, second) = two_inquiries(&app, &p).await;
    bypass_append_only(&app).await;

    // The newest inquiry vanishes entirely: no event after it is left to break a link.
    let second_id = app.db.uuid_literal(&second);
    forget_notifications(&app, &format!("inquiry_id = {second_id}")).await;
    app.db
        .execute(&format!(
            "DELETE FROM inquiry_events WHERE inquiry_id = {second_id}"
        ))
        .await;
    app.db
        .execute(&format!("DELETE FROM inquiries WHERE id = {second_id}"))
        .await;

    let (code, _, stderr) = verify_offline(&app).await;
    assert_eq!(code, 1, "stderr: {stderr}");
    assert!(stderr.contains("seq"), "{stderr}");
    let report = verify_online(&app).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(
        report["inquiry_id"],
        first.as_str(),
        "the last event left: {report}"
    );
    assert_eq!(report["seq"], 6, "{report}");
}

on_both_databases!(
    a_workflow_verifies_through_the_command_line_and_the_api,
    the_database_refuses_to_change_or_remove_recorded_events,
    an_altered_event_is_found_and_named,
    a_removed_event_is_found_and_named,
    a_removed_inquiry_is_found_by_the_events_around_it,
    removing_the_newest_events_is_found_by_the_chain_head,
);

/// Deletes, behind the engine's back, the notifications of the outbox rows matching
/// `condition` with their deliveries and attempts (they reference the events to tamper with).
async fn forget_notifications(app: &TestApp, condition: &str) {
    let outbox = format!("SELECT id FROM outbox WHERE {condition}");
    let deliveries = format!("SELECT id FROM deliveries WHERE outbox_id IN ({outbox})");
    app.db
        .execute(&format!(
            "DELETE FROM delivery_attempts WHERE delivery_id IN ({deliveries})"
        ))
        .await;
    app.db
        .execute(&format!(
            "DELETE FROM deliveries WHERE outbox_id IN ({outbox})"
        ))
        .await;
    app.db
        .execute(&format!("DELETE FROM outbox WHERE {condition}"))
        .await;
}
