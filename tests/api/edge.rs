//! The HTTP edge holds against slow and greedy clients: connections that never finish their
//! headers or sit idle are closed, a request not answered in time is answered 503, work
//! past the bound is shed with 503, answers stay out of caches, and forged cursors are 400.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::helpers::{
    Reply, TestApp, TestDb, WriteLock, on_both_databases, poll_until, spawn_app_with,
};

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .expect("connect to the server")
}

/// Reads until the server closes the connection (end of stream or reset); fails the test
/// if it is still open after `limit`. Returns what was read.
async fn read_until_closed(reader: &mut (impl AsyncRead + Unpin), limit: Duration) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 1024];
    let closed = tokio::time::timeout(limit, async {
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the connection is still open after {limit:?}"
    );
    received
}

async fn a_client_that_never_finishes_its_headers_is_disconnected_while_others_are_served(
    db: TestDb,
) {
    let app = spawn_app_with(db, |settings| {
        settings.http.header_read_timeout = Duration::from_millis(500);
        // Far longer: only the header-read timeout can close this connection in time.
        settings.http.keep_alive_timeout = Duration::from_secs(60);
    })
    .await;
    let opened = Instant::now();
    let (mut reader, mut writer) = connect(&app).await.into_split();
    writer
        .write_all(b"GET /v1/health HTTP/1.1\r\nHost: cbm2.test\r\nX-Slow: ")
        .await
        .unwrap();
    // Bytes keep arriving, but the headers never end.
    let trickle = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if writer.write_all(b"a").await.is_err() {
                return;
            }
        }
    });

    app.request(Method::GET, "/v1/health", None, None)
        .await
        .assert_status(200);
    let received = read_until_closed(&mut reader, Duration::from_secs(10)).await;
    let closed_after = opened.elapsed();
    trickle.abort();

    assert!(
        closed_after >= Duration::from_millis(450) && closed_after < Duration::from_secs(5),
        "closed after {closed_after:?}, the header-read timeout being 500ms"
    );
    assert!(
        !String::from_utf8_lossy(&received).contains(" 200 "),
        "the unfinished request was not answered: {}",
        String::from_utf8_lossy(&received)
    );
    // On a new connection: the one pooled by the first request has been idle past the
    // header-read timeout too (hyper counts the wait for the next request's headers from
    // the end of the previous answer).
    let again = reqwest::get(format!("{}/v1/health", app.address)).await;
    assert_eq!(again.unwrap().status(), 200);
}

async fn a_kept_alive_connection_is_closed_once_idle_for_the_keep_alive_timeout(db: TestDb) {
    let app = spawn_app_with(db, |settings| {
        settings.http.keep_alive_timeout = Duration::from_millis(300);
        settings.http.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let mut stream = connect(&app).await;
    let mut buffer = [0u8; 4096];
    // Requests closer together than the timeout keep the connection.
    for _ in 0..3 {
        stream
            .write_all(b"GET /v1/health HTTP/1.1\r\nHost: cbm2.test\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        while !String::from_utf8_lossy(&answer).contains(r#""ok"}"#) {
            let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
                .await
                .expect("an answer in time")
                .unwrap();
            assert!(n > 0, "closed while in use, after {answer:?}");
            answer.extend_from_slice(&buffer[..n]);
        }
        assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let idle_since = Instant::now() - Duration::from_millis(150);

    let rest = read_until_closed(&mut stream, Duration::from_secs(10)).await;

    let idle = idle_since.elapsed();
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    assert!(
        idle >= Duration::from_millis(250) && idle < Duration::from_secs(5),
        "closed after {idle:?} idle, the keep-alive timeout being 300ms"
    );
}

#[track_caller]
fn assert_retry_after(reply: &Reply, problem_type: &str) {
    reply.assert_problem(503, None);
    assert_eq!(
        reply.body["type"],
        format!("urn:cbm2:problem:{problem_type}")
    );
    let retry_after: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!(retry_after >= 1, "{retry_after}");
}

async fn a_request_not_answered_in_time_is_abandoned_with_503_and_writes_nothing(db: TestDb) {
    let app = spawn_app_with(db, |settings| {
        settings.http.request_timeout = Duration::from_millis(500);
    })
    .await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    app.get("/v1/member-states", &chl).await.assert_status(200);
    let lock = WriteLock::hold(&app.db).await;

    let started = Instant::now();
    let slow = app.post("/v1/inquiries", &chl, json!({})).await;
    let took = started.elapsed();

    assert_retry_after(&slow, "timed-out");
    assert!(
        took < Duration::from_secs(5),
        "answered after {took:?}, the request timeout being 500ms"
    );
    lock.release().await;
    app.post("/v1/inquiries", &chl, json!({}))
        .await
        .assert_status(201);
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM inquiries").await,
        1,
        "the abandoned request wrote nothing"
    );
}

/// An action abandoned at the request timeout writes nothing, also once the database lets
/// it through. On PostgreSQL a command that finds the writer idle runs alone, its write
/// committing by itself, so it is not dropped while it waits: it sends that write only if
/// its caller is still there (here its read waits on a lock until after the 503).
async fn an_action_abandoned_at_the_timeout_writes_nothing_once_the_database_lets_it_through(
    db: TestDb,
) {
    let app = spawn_app_with(db, |settings| {
        settings.http.request_timeout = Duration::from_millis(500);
    })
    .await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    app.poc_with_token("BRA", "João Silva").await;
    let created = app.post("/v1/inquiries", &chl, json!({})).await;
    created.assert_status(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/inquiries/{id}/lookup-poc");
    // On PostgreSQL the command's read waits, on the idempotency keys' table (which the
    // request's authentication does not read); on SQLite the writer's `BEGIN` does.
    let (mut held, lock) = if app.db.is_postgres() {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
        sqlx::raw_sql("BEGIN; LOCK TABLE idempotency_keys IN ACCESS EXCLUSIVE MODE")
            .execute(&mut connection)
            .await
            .unwrap();
        (Some(connection), None)
    } else {
        (None, Some(WriteLock::hold(&app.db).await))
    };

    let slow = app.post(&path, &chl, json!({"member_state": "BRA"})).await;
    assert_retry_after(&slow, "timed-out");
    if let Some(connection) = &mut held {
        sqlx::raw_sql("ROLLBACK").execute(connection).await.unwrap();
    }
    if let Some(lock) = lock {
        lock.release().await;
    }
    // The writer runs one command after the other: once this one is answered, the
    // abandoned one has run.
    let next = app.post(&path, &chl, json!({"member_state": "BRA"})).await;
    next.assert_status(200);
    assert_eq!(
        next.body["version"], 2,
        "the abandoned lookup recorded nothing"
    );
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) FROM inquiry_events WHERE inquiry_id = {}",
                app.db.uuid_literal(&id)
            ))
            .await,
        2
    );
}

async fn past_the_bound_on_requests_in_flight_a_request_is_shed_with_503(db: TestDb) {
    let app =
        std::sync::Arc::new(spawn_app_with(db, |settings| settings.http.max_in_flight = 1).await);
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    app.get("/v1/member-states", &chl).await.assert_status(200);
    let lock = WriteLock::hold(&app.db).await;
    let send_slow = || {
        let (app, chl) = (app.clone(), chl.clone());
        tokio::spawn(async move { app.post("/v1/inquiries", &chl, json!({})).await })
    };
    let mut slow = send_slow();

    // Once the slow request holds the only place, everything else is refused at once.
    let shed = poll_until("a request shed", Duration::from_secs(5), async || {
        if slow.is_finished() {
            // It arrived while a probe held the place and was shed itself: again.
            (&mut slow).await.unwrap().assert_problem(503, None);
            slow = send_slow();
            return None;
        }
        let reply = app.request(Method::GET, "/v1/health", None, None).await;
        (reply.status == 503).then_some(reply)
    })
    .await;
    assert_retry_after(&shed, "overloaded");
    let started = Instant::now();
    app.get("/v1/member-states", &chl)
        .await
        .assert_problem(503, None);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "shed, not queued"
    );

    lock.release().await;
    slow.await.unwrap().assert_status(201);
    poll_until("the place freed", Duration::from_secs(5), async || {
        let reply = app.request(Method::GET, "/v1/health", None, None).await;
        (reply.status == 200).then_some(())
    })
    .await;
}

async fn every_answer_says_no_store_and_nosniff(db: TestDb) {
    let app = spawn_app_with(db, |_| {}).await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    let replies = [
        app.request(Method::GET, "/v1/health", None, None).await,
        app.get("/v1/member-states", &chl).await,
        app.post("/v1/inquiries", &chl, json!({})).await,
        app.get("/v1/member-states", "not-a-token").await,
        app.get("/v1/no-such-thing", &chl).await,
        app.request(Method::GET, "/elsewhere", None, None).await,
    ];
    for reply in replies {
        assert_eq!(reply.headers["cache-control"], "no-store", "{reply:?}");
        assert_eq!(
            reply.headers["x-content-type-options"], "nosniff",
            "{reply:?}"
        );
    }
}

fn forged(json: serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

async fn forged_cursors_are_refused_with_400_naming_cursor_on_every_list(db: TestDb) {
    let app = spawn_app_with(db, |_| {}).await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    let webhook = app
        .post(
            "/v1/webhooks",
            &chl,
            json!({"url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    let webhook = webhook.assert_status(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = "0190a000-0000-7000-8000-000000000000";
    // Times the server never hands out: past year 9999, before year 1, and before
    // PostgreSQL's range (4713 BC), which made the query fail.
    let mut cases = Vec::new();
    for time in [
        "+99999-01-01T00:00:00Z",
        "-0001-01-01T00:00:00Z",
        "-10000-01-01T00:00:00Z",
    ] {
        let pair = forged(json!([time, id]));
        cases.extend([
            (
                "/v1/communication-checks".to_owned(),
                pair.clone(),
                app.secretariat.clone(),
            ),
            (
                "/v1/monitoring/overdue".to_owned(),
                pair.clone(),
                app.secretariat.clone(),
            ),
            (
                format!("/v1/webhooks/{webhook}/deliveries"),
                pair,
                chl.clone(),
            ),
            (
                "/v1/inquiries".to_owned(),
                forged(json!({"created_at": time, "id": id})),
                chl.clone(),
            ),
        ]);
    }
    // A name PostgreSQL's text cannot hold, and a member state that is none.
    for (state, name) in [("BRA", "Ana\u{0}Souza"), ("brazil", "Ana")] {
        let cursor = forged(json!({"member_state": state, "name": name, "id": id}));
        cases.push(("/v1/pocs".to_owned(), cursor, app.secretariat.clone()));
    }
    cases.push((
        "/v1/directory/events".to_owned(),
        forged(json!("not a number")),
        app.secretariat.clone(),
    ));
    let inquiry = app.post("/v1/inquiries", &chl, json!({})).await;
    let inquiry = inquiry.assert_status(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    cases.push((
        format!("/v1/inquiries/{inquiry}/events"),
        forged(json!({"seq": "not a number"})),
        chl.clone(),
    ));

    for (path, cursor, token) in cases {
        let reply = app.get(&format!("{path}?cursor={cursor}"), &token).await;
        assert_eq!(reply.status, 400, "{path} with {cursor}: {reply:?}");
        reply.assert_problem(400, Some("cursor"));
    }
}

on_both_databases!(
    a_client_that_never_finishes_its_headers_is_disconnected_while_others_are_served,
    a_kept_alive_connection_is_closed_once_idle_for_the_keep_alive_timeout,
    a_request_not_answered_in_time_is_abandoned_with_503_and_writes_nothing,
    an_action_abandoned_at_the_timeout_writes_nothing_once_the_database_lets_it_through,
    past_the_bound_on_requests_in_flight_a_request_is_shed_with_503,
    every_answer_says_no_store_and_nosniff,
    forged_cursors_are_refused_with_400_naming_cursor_on_every_list,
);
