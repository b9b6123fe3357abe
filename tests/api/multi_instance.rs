//! `cbm2 serve` as real processes: two instances sweeping one database record each missed
//! deadline once; a server down when a deadline passes records it when it starts; the
//! sweep interval has a floor.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use tokio::process::Command;

use crate::deadlines::time;
use crate::helpers::{TestApp, TestDb, described_inquiries, on_both_databases, poll_until};
use crate::serve_process::ServeProcess;

const CBM2: &str = env!("CARGO_BIN_EXE_cbm2");

async fn count(db: &TestDb, event_type: &str) -> i64 {
    db.count(&format!(
        "SELECT count(*) FROM inquiry_events WHERE type = '{event_type}'"
    ))
    .await
}

/// Inquiries with more than `most` events of `event_type`.
async fn with_more_than(db: &TestDb, event_type: &str, most: i64) -> i64 {
    db.count(&format!(
        "SELECT count(*) FROM (SELECT inquiry_id FROM inquiry_events WHERE type = '{event_type}' \
         GROUP BY inquiry_id HAVING count(*) > {most}) AS over"
    ))
    .await
}

async fn audit_verify_passes(url: &str) {
    let output = Command::new(CBM2)
        .args(["--database-url", url, "audit", "verify"])
        .env_remove("CBM2_DATABASE_URL")
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "cbm2 audit verify: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

const INQUIRIES: usize = 200;

#[tokio::test]
async fn two_instances_record_each_of_200_simultaneous_misses_exactly_once() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let url = db.url.clone();
    let one = ServeProcess::start(&url, &["--sweep-interval", "100ms"]).await;
    let two = ServeProcess::start(&url, &["--sweep-interval", "100ms"]).await;
    let app = Arc::new(TestApp::attach(db, &one.address).await);
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    app.poc_with_token("BRA", "Ana Souza").await;

    let ids = described_inquiries(&app, &chl, "BRA", INQUIRIES).await;
    let chl = Arc::new(chl);
    let gate = Arc::new(tokio::sync::Semaphore::new(20));

    // Send them all, due at the same instant.
    // Long enough for 200 sends on a loaded 2-core machine, short enough to wait for.
    let respond_by = Utc::now() + chrono::TimeDelta::seconds(15);
    let respond_by_text = respond_by.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut tasks = Vec::new();
    for id in &ids {
        let (app, chl, gate, id) = (app.clone(), chl.clone(), gate.clone(), id.clone());
        let body = json!({
            "questions": "Is this host yours?",
            "contact": {"name": "Duty Officer", "email": "x@example.org"},
            "time_sensitivity": "urgent",
            "respond_by": respond_by_text,
        });
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let sent = app
                .post(&format!("/v1/inquiries/{id}/request-info"), &chl, body)
                .await;
            time(&sent.assert_status(200)["due_at"])
        }));
    }
    for task in tasks {
        let due = task.await.unwrap();
        assert_eq!(due, time(&json!(respond_by_text)), "all due at once");
    }
    assert!(
        Utc::now() < respond_by,
        "sending took too long: the deadline passed before all were sent"
    );

    poll_until(
        "200 deadline_missed events",
        Duration::from_secs(120),
        async || {
            let missed = count(&app.db, "deadline_missed").await;
            assert!(missed <= INQUIRIES as i64, "{missed} misses recorded");
            (missed == INQUIRIES as i64).then_some(())
        },
    )
    .await;
    // Both instances keep sweeping: watch for another second and a half.
    let watch_until = tokio::time::Instant::now() + Duration::from_millis(1500);
    while tokio::time::Instant::now() < watch_until {
        assert_eq!(count(&app.db, "deadline_missed").await, INQUIRIES as i64);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(count(&app.db, "deadline_missed").await, INQUIRIES as i64);
    assert_eq!(
        app.db
            .count(
                "SELECT count(DISTINCT inquiry_id) FROM inquiry_events WHERE type = 'deadline_missed'"
            )
            .await,
        INQUIRIES as i64,
        "every inquiry has its miss"
    );
    assert_eq!(
        with_more_than(&app.db, "deadline_missed", 1).await,
        0,
        "an inquiry has more than one deadline_missed"
    );
    assert_eq!(
        with_more_than(&app.db, "deadline_reminder", 1).await,
        0,
        "an inquiry has more than one deadline_reminder"
    );
    assert_eq!(
        app.db
            .count(
                "SELECT count(*) FROM outbox WHERE event_type = 'deadline_missed' \
                 AND recipient_kind = 'secretariat'"
            )
            .await,
        INQUIRIES as i64,
        "one notification to the Secretariat per miss"
    );
    // And through the API of the other instance.
    let sample = &ids[INQUIRIES / 2];
    let events: serde_json::Value = app
        .client
        .get(format!(
            "http://{}/v1/inquiries/{sample}/events",
            two.address
        ))
        .bearer_auth(&app.secretariat)
        .send()
        .await
        .expect("instance two answers")
        .json()
        .await
        .expect("JSON");
    let misses = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["type"] == "deadline_missed")
        .count();
    assert_eq!(misses, 1, "{events:#}");

    let (status_one, log_one) = one.stop().await;
    let (status_two, log_two) = two.stop().await;
    assert_eq!(status_one.code(), Some(0), "{log_one:#?}");
    assert_eq!(status_two.code(), Some(0), "{log_two:#?}");
    let recorded = |log: &[String]| {
        log.iter()
            .filter(|l| l.contains("deadline sweep recorded") && l.contains("deadline_missed"))
            .count()
    };
    eprintln!(
        "misses recorded by instance one: {}, by instance two: {}",
        recorded(&log_one),
        recorded(&log_two)
    );
    audit_verify_passes(&url).await;
    app.assert_audit_intact().await;
}

async fn a_deadline_passed_while_the_server_was_down_is_recorded_at_start(db: TestDb) {
    let url = db.url.clone();
    // An hour between sweeps: only the sweep at start can record anything.
    let first = ServeProcess::start(&url, &["--sweep-interval", "1h"]).await;
    let mut app = TestApp::attach(db, &first.address).await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    app.poc_with_token("BRA", "Ana Souza").await;
    let sent = app
        .send_inquiry(&chl, "BRA", "urgent", Some(Duration::from_secs(2)), false)
        .await;
    let id = sent["id"].as_str().unwrap().to_owned();
    let due = time(&sent["due_at"]);
    let (status, log) = first.stop().await;
    assert_eq!(status.code(), Some(0), "{log:#?}");
    assert_eq!(count(&app.db, "deadline_missed").await, 0);

    poll_until(
        "the deadline to pass while no server runs",
        Duration::from_secs(15),
        async || (Utc::now() > due + chrono::TimeDelta::milliseconds(100)).then_some(()),
    )
    .await;
    assert_eq!(count(&app.db, "deadline_missed").await, 0);

    let second = ServeProcess::start(&url, &["--sweep-interval", "1h"]).await;
    app.address = format!("http://{}", second.address);
    poll_until(
        "the miss to be recorded by the sweep at start",
        Duration::from_secs(15),
        async || (count(&app.db, "deadline_missed").await == 1).then_some(()),
    )
    .await;
    let events = app.inquiry_events(&id, &chl).await;
    let misses: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "deadline_missed")
        .collect();
    assert_eq!(misses.len(), 1, "{events:#?}");
    assert_eq!(time(&misses[0]["payload"]["due_at"]), due);
    assert_eq!(misses[0]["payload"]["deadline"], "acknowledgement");
    assert!(
        !events.iter().any(|e| e["type"] == "deadline_reminder"),
        "no reminder once the deadline has passed: {events:#?}"
    );
    let view = app.get(&format!("/v1/inquiries/{id}"), &chl).await;
    assert_eq!(view.assert_status(200)["overdue"], true);

    // With no sweep for an hour, a deadline passing now is still overdue at once, on GET
    // and in the Secretariat's list: overdue is computed when read, not by the sweeper.
    let later = app
        .send_inquiry(&chl, "BRA", "urgent", Some(Duration::from_secs(2)), false)
        .await;
    let later_id = later["id"].as_str().unwrap().to_owned();
    poll_until(
        "the second inquiry to be overdue",
        Duration::from_secs(15),
        async || {
            let view = app.get(&format!("/v1/inquiries/{later_id}"), &chl).await;
            (view.assert_status(200)["overdue"] == true).then_some(())
        },
    )
    .await;
    let listed = app
        .collect_pages("/v1/monitoring/overdue?limit=200")
        .await
        .into_iter()
        .filter(|item| item["id"] == later_id.as_str())
        .count();
    assert_eq!(listed, 1, "the overdue list shows it before any sweep");

    let (status, log) = second.stop().await;
    assert_eq!(status.code(), Some(0), "{log:#?}");
    assert_eq!(
        count(&app.db, "deadline_missed").await,
        1,
        "no sweep ran after the one at start"
    );
    app.assert_audit_intact().await;
}

on_both_databases!(a_deadline_passed_while_the_server_was_down_is_recorded_at_start);

#[tokio::test]
async fn serve_refuses_a_sweep_interval_under_100ms() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cbm2.db").display());
    for (flag, value, says) in [
        ("--sweep-interval", "10ms", "at least 100ms"),
        ("--reminder-share", "1.5", "from 0 to 1"),
    ] {
        let output = Command::new(CBM2)
            .args(["--database-url", &url, "serve", "--bind", "127.0.0.1:0"])
            .args([flag, value])
            .env_remove("CBM2_DATABASE_URL")
            .kill_on_drop(true)
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(stderr.contains(says), "{flag} {value}: {stderr}");
        assert!(stderr.contains(flag), "names the flag: {stderr}");
    }
}
