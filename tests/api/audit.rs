//! The hash-chained event log: append-only in the database, verified by `cbm2 audit
//! verify` and GET /v1/audit/verify, and any change made behind the engine's back is
//! found and named.

use serde_json::{Value, json};
use tokio::process::Command;

use crate::helpers::{TestApp, TestDb, on_both_databases, spawn_app};
use crate::workflow::{Parties, act, create, events, inquiry_at, valid_body};

/// Runs `cbm2 --database-url URL audit verify`: (exit code, stdout, stderr).
async fn verify_offline(app: &TestApp) -> (i32, String, String) {
    audit_command(app, &["verify"]).await
}

/// Runs `cbm2 --database-url URL audit ARGS…`: (exit code, stdout, stderr).
async fn audit_command(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_cbm2"))
        .args(["--database-url", &app.db.url, "audit"])
        .args(args)
        .env_remove("CBM2_DATABASE_URL")
        .output()
        .await
        .expect("cbm2 audit runs");
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

async fn verify_online_expecting(app: &TestApp, head: &str) -> Value {
    let path = format!("/v1/audit/verify?expect_head={head}");
    app.get(&path, &app.secretariat)
        .await
        .assert_status(200)
        .clone()
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
    assert!(stdout.contains(&format!("{total} events")), "{stdout}");
    assert!(stdout.contains("2 inquiries"), "{stdout}");
    let report = verify_online(&app).await;
    let hash = report["head"]["hash"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        report,
        json!({"valid": true, "events": total, "inquiries": 2,
               "head": {"chain_seq": total, "hash": hash}})
    );
    let last_event = events(&app, &first, &p.chl).await.pop().unwrap();
    assert_eq!(
        hash, last_event["hash"],
        "the head is the newest event's hash"
    );
    assert!(
        stdout.contains(&format!("head {total}:{hash}")),
        "the command line gives the same head: {stdout}"
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

async fn the_head_command_prints_the_last_events_position_and_hash(db: TestDb) {
    let app = spawn_app(db).await;
    let (code, stdout, stderr) = audit_command(&app, &["head"]).await;
    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(stdout, format!("0:{}\n", "0".repeat(64)), "the empty chain");

    let p = Parties::enrol(&app).await;
    let id = inquiry_at(&app, &p, "awaiting_response").await;
    let (code, stdout, stderr) = audit_command(&app, &["head"]).await;
    assert_eq!(code, 0, "stderr: {stderr}");
    let newest = events(&app, &id, &p.chl).await.pop().unwrap();
    assert_eq!(
        stdout,
        format!("5:{}\n", newest["hash"].as_str().unwrap()),
        "SEQ:HASH alone on stdout"
    );
    let report = verify_online(&app).await;
    assert_eq!(
        stdout.trim(),
        format!(
            "{}:{}",
            report["head"]["chain_seq"],
            report["head"]["hash"].as_str().unwrap()
        ),
        "the API answers the same head"
    );
}

async fn a_responding_state_changed_in_the_row_is_found_and_named(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let (first, _second) = two_inquiries(&app, &p).await;
    app.get(&format!("/v1/inquiries/{first}"), &p.mex)
        .await
        .assert_problem(404, None);

    // The row says Mexico; the events and the projection still say Brazil.
    let changed = app
        .db
        .execute(&format!(
            "UPDATE inquiries SET responding_state = 'MEX' WHERE id = {}",
            app.db.uuid_literal(&first)
        ))
        .await;
    assert_eq!(changed, 1);
    // What is at stake: the column selects the inquiries a state's list starts from. The
    // projection still decides who sees one, so Mexico is shown nothing.
    let listed = app.get("/v1/inquiries", &p.mex).await;
    assert_eq!(listed.assert_status(200)["items"], json!([]));

    let (code, stdout, stderr) = verify_offline(&app).await;
    assert_eq!(code, 1, "stdout {stdout:?}, stderr {stderr:?}");
    for named in [first.as_str(), "responding_state", "\"MEX\"", "\"BRA\""] {
        assert!(stderr.contains(named), "stderr names {named}: {stderr}");
    }
    let report = verify_online(&app).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["inquiry_id"], first.as_str(), "{report}");
    assert_eq!(report["column"], "responding_state", "{report}");
}

async fn a_share_written_behind_the_engines_back_is_found_and_named(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let (first, _second) = two_inquiries(&app, &p).await;
    let (csirt_id, csirt_token) = app.technical_poc_with_token("CHL", "Tomas Lagos").await;
    let csirt_id = csirt_id.as_str();

    // The index of who may read an inquiry gains a row no share event gave.
    app.db
        .execute(&format!(
            "INSERT INTO inquiry_shares (inquiry_id, poc_id, side, shared_at)
             VALUES ({}, {}, 'requester', {})",
            app.db.uuid_literal(&first),
            app.db.uuid_literal(csirt_id),
            if app.db.is_postgres() {
                "now()"
            } else {
                "'2026-11-30T00:00:00+00:00'"
            },
        ))
        .await;
    // The projection still decides who reads an inquiry: the row alone lists nothing and
    // opens nothing. The audit names it all the same.
    let listed = app.get("/v1/inquiries", &csirt_token).await;
    assert_eq!(listed.assert_status(200)["items"], json!([]));
    app.get(&format!("/v1/inquiries/{first}"), &csirt_token)
        .await
        .assert_problem(404, None);

    let (code, _, stderr) = verify_offline(&app).await;
    assert_eq!(code, 1, "stderr: {stderr}");
    assert!(stderr.contains("inquiry_shares"), "{stderr}");
    let report = verify_online(&app).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["inquiry_id"], first.as_str(), "{report}");
    assert_eq!(report["column"], "inquiry_shares", "{report}");
}

async fn a_projection_changed_in_its_state_json_is_found_and_named(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let (_first, second) = two_inquiries(&app, &p).await;

    // The columns are left alone; the projection the API serves now says Mexico.
    let changed = app
        .db
        .execute(&format!(
            "UPDATE inquiries SET state = replace(state, '\"responding_state\":\"BRA\"', '\"responding_state\":\"MEX\"')
              WHERE id = {}",
            app.db.uuid_literal(&second)
        ))
        .await;
    assert_eq!(changed, 1);
    let shown = app.get(&format!("/v1/inquiries/{second}"), &p.chl).await;
    assert_eq!(shown.assert_status(200)["responding_state"], "MEX");

    let (code, _, stderr) = verify_offline(&app).await;
    assert_eq!(code, 1, "stderr {stderr:?}");
    for named in [second.as_str(), "state", "responding_state"] {
        assert!(stderr.contains(named), "stderr names {named}: {stderr}");
    }
    let report = verify_online(&app).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["inquiry_id"], second.as_str(), "{report}");
    assert_eq!(report["column"], "state", "{report}");
    assert!(
        report["reason"]
            .as_str()
            .is_some_and(|r| r.contains("responding_state")),
        "{report}"
    );
}

async fn a_projection_that_does_not_decode_is_reported_with_its_inquiry(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let id = inquiry_at(&app, &p, "acknowledged").await;
    let changed = app
        .db
        .execute(&format!(
            "UPDATE inquiries SET state = replace(state, '\"estimated_timeframe\":\"P3D\"', '\"estimated_timeframe\":\"soon\"')
              WHERE id = {}",
            app.db.uuid_literal(&id)
        ))
        .await;
    assert_eq!(changed, 1);

    let (code, stdout, stderr) = verify_offline(&app).await;
    assert_eq!(code, 1, "stdout {stdout:?}, stderr {stderr:?}");
    for named in [id.as_str(), "does not decode", "estimated_timeframe"] {
        assert!(stderr.contains(named), "stderr names {named}: {stderr}");
    }
    let report = verify_online(&app).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["inquiry_id"], id.as_str(), "{report}");
    assert_eq!(report["column"], "state", "{report}");
}

async fn an_inquiry_row_without_events_is_found(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let id = inquiry_at(&app, &p, "awaiting_response").await;

    // A copy of the row under a new id, as if the inquiry had been sent: no event says so.
    let forged = uuid::Uuid::now_v7().to_string();
    let columns = "status, version, requesting_state, requester_poc_id, responding_state, \
                   exercise, related_inquiry_id, time_sensitivity, due_at, sent_at, created_at, \
                   updated_at, protocol_version, state, next_sweep_at, acknowledged_at, responded_at";
    app.db
        .execute(&format!(
            "INSERT INTO inquiries (id, {columns}) SELECT {}, {columns} FROM inquiries WHERE id = {}",
            app.db.uuid_literal(&forged),
            app.db.uuid_literal(&id)
        ))
        .await;

    let (code, _, stderr) = verify_offline(&app).await;
    assert_eq!(code, 1, "stderr {stderr:?}");
    assert!(stderr.contains(&forged), "{stderr}");
    assert!(stderr.contains("no events"), "{stderr}");
    let report = verify_online(&app).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["inquiry_id"], forged.as_str(), "{report}");
}

async fn events_whose_inquiry_row_was_removed_are_found_and_named(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let oldest = inquiry_at(&app, &p, "poc_identified").await;
    let middle = inquiry_at(&app, &p, "poc_identified").await;
    let newest = inquiry_at(&app, &p, "poc_identified").await;

    // Rows go, events stay: ids past the last row, then ids between rows.
    for (removed, seen_first) in [(&newest, &newest), (&oldest, &oldest)] {
        remove_inquiry_row(&app, removed).await;
        let (code, _, stderr) = verify_offline(&app).await;
        assert_eq!(code, 1, "stderr {stderr:?}");
        assert!(stderr.contains(seen_first.as_str()), "{stderr}");
        assert!(stderr.contains("has no row"), "{stderr}");
        let report = verify_online(&app).await;
        assert_eq!(report["valid"], false, "{report}");
        assert_eq!(report["inquiry_id"], seen_first.as_str(), "{report}");
        assert_eq!(report["seq"], 1, "{report}");
    }
    let listed = app.get("/v1/inquiries", &p.chl).await;
    assert_eq!(listed.assert_status(200)["items"][0]["id"], middle.as_str());
}

async fn rewriting_the_chain_is_found_against_a_head_kept_before(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let (first, second) = two_inquiries(&app, &p).await;
    // Two verifiers keep the head: one from the command line, one from the API.
    let (code, kept_offline, _) = audit_command(&app, &["head"]).await;
    assert_eq!(code, 0);
    let kept_offline = kept_offline.trim().to_owned();
    let head = verify_online(&app).await["head"].clone();
    let kept_online = format!("{}:{}", head["chain_seq"], head["hash"].as_str().unwrap());
    assert_eq!(kept_offline, kept_online);
    // The record grows: a kept head is a prefix, not the end.
    act(
        &app,
        &second,
        "acknowledge",
        &p.bra,
        valid_body("acknowledge"),
    )
    .await
    .assert_status(200);
    let (code, stdout, stderr) =
        audit_command(&app, &["verify", "--expect-head", &kept_offline]).await;
    assert_eq!(code, 0, "stderr {stderr}");
    assert!(stdout.contains(&kept_offline), "{stdout}");
    let report = verify_online_expecting(&app, &kept_online).await;
    assert_eq!(report["valid"], true, "{report}");

    // Someone with write access rewrites the description (seq 4), in the event and in the
    // projection, and recomputes every later hash and the chain's head.
    bypass_append_only(&app).await;
    let altered = chain_seq(&app, &first, 4).await;
    let target = app.db.uuid_literal(&first);
    app.db
        .execute(&format!(
            "UPDATE inquiry_events SET payload = replace(payload, 'DDoS', 'scan')
              WHERE inquiry_id = {target} AND seq = 4"
        ))
        .await;
    app.db
        .execute(&format!(
            "UPDATE inquiries SET state = replace(state, 'DDoS', 'scan') WHERE id = {target}"
        ))
        .await;
    rechain_from(&app.db, altered, Salts::Kept).await;
    let trail = events(&app, &first, &p.chl).await;
    assert!(
        trail[3]["payload"]["incident"]["nature"]
            .as_str()
            .unwrap()
            .contains("scan"),
        "{}",
        trail[3]
    );

    // Without a kept head the rewrite is consistent, and passes.
    let (code, _, stderr) = verify_offline(&app).await;
    assert_eq!(code, 0, "a consistent rewrite passes unanchored: {stderr}");
    assert_eq!(verify_online(&app).await["valid"], true);

    // Against the kept heads it fails, naming the head.
    let (code, stdout, stderr) =
        audit_command(&app, &["verify", "--expect-head", &kept_offline]).await;
    assert_eq!(code, 1, "stdout {stdout:?}, stderr {stderr:?}");
    assert!(stderr.contains(&kept_offline), "{stderr}");
    let report = verify_online_expecting(&app, &kept_online).await;
    assert_eq!(report["valid"], false, "{report}");
    assert!(
        report["reason"]
            .as_str()
            .is_some_and(|r| r.contains(&kept_online)),
        "{report}"
    );
}

async fn a_kept_head_past_the_end_of_the_chain_fails_and_a_malformed_one_is_refused(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    inquiry_at(&app, &p, "poc_identified").await;
    let hash = verify_online(&app).await["head"]["hash"]
        .as_str()
        .unwrap()
        .to_owned();

    // The events after position 2 were removed, head row included: only the kept head knows.
    let ahead = format!("3:{hash}");
    let (code, _, stderr) = audit_command(&app, &["verify", "--expect-head", &ahead]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains(&ahead), "{stderr}");
    let report = verify_online_expecting(&app, &ahead).await;
    assert_eq!(report["valid"], false, "{report}");

    let (code, _, stderr) = audit_command(&app, &["verify", "--expect-head", "2"]).await;
    assert_eq!(code, 2, "clap refuses it: {stderr}");
    assert!(stderr.contains("SEQ:HASH"), "{stderr}");
    app.get("/v1/audit/verify?expect_head=2:xyz", &app.secretariat)
        .await
        .assert_problem(400, Some("expect_head"));
}

async fn verifying_while_the_server_writes_never_finds_a_sound_record_broken(db: TestDb) {
    let app = std::sync::Arc::new(spawn_app(db).await);
    let p = Parties::enrol(&app).await;
    let ids = [
        inquiry_at(&app, &p, "awaiting_response").await,
        inquiry_at(&app, &p, "awaiting_response").await,
    ];
    let writer = {
        let app = app.clone();
        let chl = p.chl.clone();
        tokio::spawn(async move {
            for _ in 0..15 {
                let id = create(&app, &chl).await;
                act(&app, &id, "lookup-poc", &chl, valid_body("lookup-poc"))
                    .await
                    .assert_status(200);
            }
        })
    };
    let mut verified = 0;
    while !writer.is_finished() || verified == 0 {
        let report = verify_online(&app).await;
        assert_eq!(report["valid"], true, "{report}");
        verified += 1;
    }
    writer.await.unwrap();
    for id in &ids {
        act(&app, id, "acknowledge", &p.bra, valid_body("acknowledge"))
            .await
            .assert_status(200);
    }
    let report = verify_online(&app).await;
    assert_eq!(report["events"], 2 * 5 + 15 * 2 + 2, "{report}");
    assert_eq!(report["inquiries"], 2 + 15, "{report}");
}

async fn a_hash_shown_cannot_test_a_guess_of_the_payload(db: TestDb) {
    use cbm2::store::chain::{EventActor, event_hash};

    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let id = inquiry_at(&app, &p, "cbm2_invoked").await;
    let trail = events(&app, &id, &p.chl).await;
    assert!(trail.iter().all(|e| e.get("salt").is_none()), "{trail:?}");
    let lookup = &trail[1];
    let invoke = &trail[2];
    assert_eq!(invoke["type"], "invoke");

    // Whoever sees the invoke event without its payload (and the hash before it, e.g. as a
    // chain head) knows every other input of its hash, and the right guess of the payload:
    // the one stored, as stored.
    let payload = app
        .db
        .fetch_strings(&format!(
            "SELECT payload FROM inquiry_events WHERE inquiry_id = {} AND seq = 3",
            app.db.uuid_literal(&id)
        ))
        .await
        .remove(0);
    let actor = EventActor {
        kind: invoke["actor"]["role"].as_str().unwrap().to_owned(),
        poc_id: Some(p.chl_id.parse().unwrap()),
        state: Some("CHL".to_owned()),
    };
    let at = invoke["at"].as_str().unwrap().parse().unwrap();
    let guess = |prev_hash: &Value| {
        let prev_hash = prev_hash.as_str().unwrap();
        event_hash(
            prev_hash,
            None,
            3,
            id.parse().unwrap(),
            3,
            "invoke",
            &actor,
            at,
            &payload,
        )
    };
    assert_ne!(
        guess(&lookup["hash"]),
        invoke["hash"],
        "the salt, never shown, keeps the right guess from matching"
    );

    // Events recorded before salts (cbm2-event-v1) still verify; the same guess against
    // them matches, which shows the guess above had every other input right.
    bypass_append_only(&app).await;
    rechain_from(&app.db, 1, Salts::Dropped).await;
    let legacy = events(&app, &id, &p.chl).await;
    assert_eq!(guess(&legacy[1]["hash"]), legacy[2]["hash"]);
    let (code, _, stderr) = verify_offline(&app).await;
    assert_eq!(code, 0, "{stderr}");
}

on_both_databases!(
    a_workflow_verifies_through_the_command_line_and_the_api,
    a_hash_shown_cannot_test_a_guess_of_the_payload,
    the_head_command_prints_the_last_events_position_and_hash,
    a_responding_state_changed_in_the_row_is_found_and_named,
    a_projection_changed_in_its_state_json_is_found_and_named,
    a_projection_that_does_not_decode_is_reported_with_its_inquiry,
    an_inquiry_row_without_events_is_found,
    events_whose_inquiry_row_was_removed_are_found_and_named,
    rewriting_the_chain_is_found_against_a_head_kept_before,
    a_kept_head_past_the_end_of_the_chain_fails_and_a_malformed_one_is_refused,
    verifying_while_the_server_writes_never_finds_a_sound_record_broken,
    the_database_refuses_to_change_or_remove_recorded_events,
    an_altered_event_is_found_and_named,
    a_removed_event_is_found_and_named,
    a_removed_inquiry_is_found_by_the_events_around_it,
    removing_the_newest_events_is_found_by_the_chain_head,
    a_share_written_behind_the_engines_back_is_found_and_named,
);

/// Deletes, behind the engine's back, the notifications of the outbox rows matching
/// `condition` with their deliveries and attempts (they reference the events to tamper with),
/// in one transaction: the server's delivery worker must not fan a row out in between.
async fn forget_notifications(app: &TestApp, condition: &str) {
    let outbox = format!("SELECT id FROM outbox WHERE {condition}");
    let deliveries = format!("SELECT id FROM deliveries WHERE outbox_id IN ({outbox})");
    app.db
        .execute_atomically(&[
            format!("DELETE FROM delivery_attempts WHERE delivery_id IN ({deliveries})"),
            format!("DELETE FROM deliveries WHERE outbox_id IN ({outbox})"),
            format!("DELETE FROM outbox WHERE {condition}"),
        ])
        .await;
}

#[derive(Clone, Copy)]
enum Salts {
    Kept,
    Dropped,
}

/// Removes an inquiry's row and its notifications but not its events, as someone who can
/// set the database's foreign keys aside could.
async fn remove_inquiry_row(app: &TestApp, id: &str) {
    let literal = app.db.uuid_literal(id);
    forget_notifications(app, &format!("inquiry_id = {literal}")).await;
    let sql = format!("DELETE FROM inquiries WHERE id = {literal}");
    if app.db.is_postgres() {
        app.db
            .execute("ALTER TABLE inquiries DISABLE TRIGGER ALL")
            .await;
        app.db.execute(&sql).await;
        app.db
            .execute("ALTER TABLE inquiries ENABLE TRIGGER ALL")
            .await;
    } else {
        app.db
            .execute(&format!("PRAGMA foreign_keys = OFF; {sql}"))
            .await;
    }
}

/// Recomputes `prev_hash` and `hash` of every event from chain position `from` on, with
/// the engine's own formula, and the chain's head: what an attacker who altered an event
/// would do so that the chain holds together again. Salts are kept, or dropped (the events
/// then hash as those recorded before salts did).
async fn rechain_from(db: &TestDb, from: i64, salts: Salts) {
    use cbm2::store::chain::{EventActor, event_hash};
    use chrono::{DateTime, Utc};
    use sqlx::Connection;
    use uuid::Uuid;

    type Row = (
        i64,
        Uuid,
        i64,
        String,
        String,
        Option<Uuid>,
        Option<String>,
        DateTime<Utc>,
        String,
        String,
        Option<String>,
    );
    macro_rules! rechain {
        ($conn:expr) => {{
            let mut conn = $conn;
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT chain_seq, inquiry_id, seq, type, actor_kind, actor_poc_id, actor_state,
                        at, payload, prev_hash, salt
                   FROM inquiry_events WHERE chain_seq >= $1 ORDER BY chain_seq",
            )
            .bind(from)
            .fetch_all(&mut conn)
            .await
            .unwrap();
            let mut prev_hash = rows[0].9.clone();
            for (chain_seq, inquiry, seq, event_type, kind, poc_id, state, at, payload, _, salt) in
                rows
            {
                let salt = match salts {
                    Salts::Kept => salt,
                    Salts::Dropped => None,
                };
                let actor = EventActor {
                    kind,
                    poc_id,
                    state,
                };
                let hash = event_hash(
                    &prev_hash,
                    salt.as_deref(),
                    chain_seq,
                    inquiry,
                    seq,
                    &event_type,
                    &actor,
                    at,
                    &payload,
                );
                sqlx::query(
                    "UPDATE inquiry_events SET prev_hash = $1, hash = $2, salt = $3 WHERE chain_seq = $4",
                )
                .bind(&prev_hash)
                .bind(&hash)
                .bind(&salt)
                .bind(chain_seq)
                .execute(&mut conn)
                .await
                .unwrap();
                prev_hash = hash;
            }
            sqlx::query("UPDATE event_chain_head SET last_hash = $1 WHERE id = 1")
                .bind(&prev_hash)
                .execute(&mut conn)
                .await
                .unwrap();
        }};
    }
    if db.is_postgres() {
        rechain!(sqlx::PgConnection::connect(&db.url).await.unwrap());
    } else {
        rechain!(sqlx::SqliteConnection::connect(&db.url).await.unwrap());
    }
}
