//! The database goes away under load: PostgreSQL drops every connection of the server,
//! again and again, while eight clients write. Requests answer 503 problem+json (never a
//! panic, never a hang past the request timeout), the server recovers by itself, and no
//! acknowledged write is lost. PostgreSQL only: an embedded SQLite file cannot go away.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tokio::time::Instant;

use crate::helpers::{TestDb, poll_until, spawn_app_with};

/// Has PostgreSQL close every connection to the test database but `admin`'s; how many.
async fn terminate_every_other_connection(admin: &mut PgConnection) -> usize {
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(admin)
    .await
    .unwrap();
    killed.into_iter().filter(|k| *k).count()
}

/// One write as its client saw it.
#[derive(Debug)]
struct Outcome {
    status: u16,
    content_type: String,
    retry_after: Option<String>,
    body: Value,
    took: Duration,
}

#[tokio::test]
async fn when_postgres_drops_every_connection_under_load_writes_answer_503_and_none_acknowledged_is_lost()
 {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let request_timeout = Duration::from_secs(3);
    let app = Arc::new(
        spawn_app_with(db, |settings| {
            settings.http.request_timeout = request_timeout
        })
        .await,
    );
    let states = ["CHL", "BRA", "MEX", "ARG", "COL", "PER", "URY", "CAN"];
    let mut tokens = Vec::new();
    for (i, state) in states.iter().enumerate() {
        tokens.push(app.poc_with_token(state, &format!("Writer {i}")).await.1);
    }
    // A client gives up a little after the request timeout: a hang fails the test.
    let client = reqwest::Client::builder()
        .timeout(request_timeout + Duration::from_secs(2))
        .build()
        .unwrap();
    let (stop, outage_over) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    // How many writers have been served since the outage ended.
    let recovered = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = tokens
        .iter()
        .map(|token| {
            let (client, url, token) = (
                client.clone(),
                format!("{}/v1/inquiries", app.address),
                token.clone(),
            );
            let (stop, outage_over, recovered) =
                (stop.clone(), outage_over.clone(), recovered.clone());
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                let mut served_since_outage = false;
                while !stop.load(Ordering::Relaxed) {
                    let outage_was_over = outage_over.load(Ordering::Relaxed);
                    let started = Instant::now();
                    let response = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({}))
                        .send()
                        .await;
                    let response = response.unwrap_or_else(|error| panic!("no answer: {error}"));
                    let header = |name: &str| {
                        response
                            .headers()
                            .get(name)
                            .map(|v| v.to_str().unwrap().to_owned())
                    };
                    let (content_type, retry_after) = (
                        header("content-type").unwrap_or_default(),
                        header("retry-after"),
                    );
                    let status = response.status().as_u16();
                    let body = response.json().await.expect("a JSON body");
                    if status == 201 && outage_was_over && !served_since_outage {
                        served_since_outage = true;
                        recovered.fetch_add(1, Ordering::Relaxed);
                    }
                    outcomes.push(Outcome {
                        status,
                        content_type,
                        retry_after,
                        body,
                        took: started.elapsed(),
                    });
                }
                (token, outcomes)
            })
        })
        .collect();

    // The database drops every connection of the server, every 20 ms for 1.5 s.
    let mut admin = PgConnection::connect(&app.db.url).await.unwrap();
    let outage_ends = Instant::now() + Duration::from_millis(1500);
    let mut terminated = 0;
    while Instant::now() < outage_ends {
        terminated += terminate_every_other_connection(&mut admin).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    admin.close().await.unwrap();
    outage_over.store(true, Ordering::Relaxed);
    // The server recovers by itself: every writer is served again, nobody restarting it.
    poll_until(
        "every writer served again",
        Duration::from_secs(15),
        async || (recovered.load(Ordering::Relaxed) == states.len()).then_some(()),
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for writer in writers {
        outcomes.push(writer.await.expect("a writer ended without panicking"));
    }

    assert!(terminated > 0, "no connection was terminated");
    let mut acknowledged = Vec::new();
    let mut unavailable = 0;
    for (_, outcomes) in &outcomes {
        for outcome in outcomes {
            assert!(
                outcome.took <= request_timeout + Duration::from_secs(1),
                "answered after {:?}: {outcome:?}",
                outcome.took
            );
            match outcome.status {
                201 => acknowledged.push(outcome.body["id"].as_str().unwrap().to_owned()),
                503 => {
                    unavailable += 1;
                    assert_eq!(
                        outcome.content_type, "application/problem+json",
                        "{outcome:?}"
                    );
                    assert!(outcome.retry_after.is_some(), "{outcome:?}");
                    assert!(
                        ["urn:cbm2:problem:unavailable", "urn:cbm2:problem:timed-out"]
                            .contains(&outcome.body["type"].as_str().unwrap_or_default()),
                        "{outcome:?}"
                    );
                }
                _ => panic!("neither acknowledged nor unavailable: {outcome:?}"),
            }
        }
    }
    assert!(
        unavailable > 0,
        "no write met the outage ({} acknowledged)",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() > states.len(),
        "{} acknowledged",
        acknowledged.len()
    );
    // Every acknowledged write is there, with its event.
    let ids = acknowledged
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT COUNT(*) FROM inquiry_events WHERE type = 'created' AND inquiry_id IN ({ids})"
            ))
            .await,
        acknowledged.len() as i64,
        "an acknowledged write was lost"
    );
    app.assert_audit_intact().await;
    eprintln!(
        "{terminated} connections terminated; {} writes acknowledged, {unavailable} answered 503",
        acknowledged.len()
    );
}

/// The database closes every connection of a server that is idle (a restart, a proxy's
/// idle timeout): the server's next requests are answered as if nothing had happened. A
/// pooled connection is lent untested while it is in use, and tested (then replaced) once
/// it has been idle for `TEST_IF_IDLE_FOR`: the read (the token) and the command (the
/// writer's batch) both find a live one.
#[tokio::test]
async fn after_postgres_closed_an_idle_servers_connections_its_next_requests_succeed() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let app = spawn_app_with(db, |_| {}).await;
    let (_, token) = app.poc_with_token("CHL", "Idle writer").await;
    let client = reqwest::Client::new();
    let create = || {
        client
            .post(format!("{}/v1/inquiries", app.address))
            .bearer_auth(&token)
            .json(&json!({}))
    };
    assert_eq!(create().send().await.unwrap().status(), 201);

    let mut admin = PgConnection::connect(&app.db.url).await.unwrap();
    let terminated = terminate_every_other_connection(&mut admin).await;
    admin.close().await.unwrap();
    assert!(terminated > 0, "no connection was terminated");
    // The server stays idle for longer than a connection is used untested.
    tokio::time::sleep(cbm2::store::TEST_IF_IDLE_FOR + Duration::from_millis(300)).await;

    let response = create().send().await.unwrap();
    let status = response.status();
    assert_eq!(status, 201, "{}", response.text().await.unwrap());
    assert_eq!(app.db.count("SELECT COUNT(*) FROM inquiries").await, 2);
    app.assert_audit_intact().await;
}
