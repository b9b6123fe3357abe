//! Metrics: Prometheus' text format on a listener of its own, off unless asked for. The
//! server runs as a child process, so its process-wide recorder sees only its own work.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{TestApp, TestDb, on_both_databases, poll_until};
use crate::serve_process::ServeProcess;

/// The series of `name` in a scrape whose labels include every one of `labels`.
fn series<'a>(scrape: &'a str, name: &str, labels: &[&str]) -> Vec<&'a str> {
    scrape
        .lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .collect()
}

/// The value of the one series of `name` with `labels`.
#[track_caller]
fn value(scrape: &str, name: &str, labels: &[&str]) -> f64 {
    let found = series(scrape, name, labels);
    assert_eq!(found.len(), 1, "one {name} {labels:?} in:\n{scrape}");
    found[0].rsplit(' ').next().unwrap().parse().unwrap()
}

async fn scrape(client: &reqwest::Client, metrics: &str) -> String {
    let response = client
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .expect("the metrics listener answers");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        response.headers()
    );
    response.text().await.unwrap()
}

async fn requests_transitions_deliveries_and_the_pool_are_measured(db: TestDb) {
    let db_is_postgres = db.is_postgres();
    let server = ServeProcess::start(
        &db.url,
        &[
            "--metrics-bind",
            "127.0.0.1:0",
            "--delivery-poll",
            "100ms",
            "--sweep-interval",
            "100ms",
            "--webhook-allow-private",
            "true",
        ],
    )
    .await;
    let metrics = server
        .startup_log
        .iter()
        .find_map(|line| line.split("metrics served at http://").nth(1))
        .and_then(|rest| rest.split("/metrics").next())
        .unwrap_or_else(|| panic!("the metrics address is logged: {:#?}", server.startup_log))
        .to_owned();
    let app = TestApp::attach(db, &server.address).await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    app.poc_with_token("BRA", "Ana Souza").await;
    let inquiry = app.post("/v1/inquiries", &chl, json!({})).await;
    let id = inquiry.assert_status(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/v1/inquiries/{id}/lookup-poc"),
        &chl,
        json!({"member_state": "BRA"}),
    )
    .await
    .assert_status(200);
    app.get(&format!("/v1/inquiries/{}", uuid::Uuid::nil()), &chl)
        .await
        .assert_status(404);
    app.get("/v1/no-such-thing/12345", &chl)
        .await
        .assert_status(404);
    // A webhook on a port where nothing listens, pinged: its one attempt fails.
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let hook = app
        .post(
            "/v1/webhooks",
            &chl,
            json!({"url": format!("http://127.0.0.1:{closed_port}/hook")}),
        )
        .await;
    let hook_id = hook.assert_status(201)["id"].as_str().unwrap().to_owned();
    app.post(&format!("/v1/webhooks/{hook_id}/ping"), &chl, json!({}))
        .await;

    let client = reqwest::Client::new();
    let text = poll_until(
        "a failed delivery attempt",
        Duration::from_secs(30),
        async || {
            let text = scrape(&client, &metrics).await;
            let attempted = !series(
                &text,
                "cbm2_delivery_attempts_total",
                &[r#"channel="webhook""#, r#"outcome="retrying""#],
            )
            .is_empty();
            attempted.then_some(text)
        },
    )
    .await;

    // Requests, by route template and status, never by raw path.
    let lookup = [
        r#"route="/v1/inquiries/{id}/lookup-poc""#,
        r#"method="POST""#,
    ];
    assert_eq!(
        value(
            &text,
            "cbm2_http_requests_total",
            &[lookup[0], lookup[1], r#"status="200""#]
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            "cbm2_http_request_duration_seconds_count",
            &[lookup[0], lookup[1], r#"status="200""#]
        ),
        1.0
    );
    assert!(!series(&text, "cbm2_http_request_duration_seconds_bucket", &lookup).is_empty());
    assert_eq!(
        value(
            &text,
            "cbm2_http_requests_total",
            &[r#"route="/v1/inquiries/{id}""#, r#"status="404""#]
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            "cbm2_http_requests_total",
            &[r#"route="unmatched""#, r#"status="404""#]
        ),
        1.0
    );
    assert!(!text.contains("no-such-thing"), "{text}");
    assert!(!text.contains(&id), "an inquiry id is no label: {text}");
    // Transitions by action, the draft's creation included.
    assert_eq!(
        value(
            &text,
            "cbm2_inquiry_transitions_total",
            &[r#"action="lookup_poc""#]
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            "cbm2_inquiry_transitions_total",
            &[r#"action="created""#]
        ),
        1.0
    );
    // The sweeper, the outbox and the pool.
    assert!(value(&text, "cbm2_sweeper_ticks_total", &[r#"result="ok""#]) >= 1.0);
    assert_eq!(
        value(&text, "cbm2_write_batch_reruns_total", &[]),
        0.0,
        "exported from the start, and no batch needed a rerun"
    );
    // Every request's token read, grouped on PostgreSQL; SQLite reads each on its thread.
    // And, on PostgreSQL, where each was answered from: the first from the database.
    if db_is_postgres {
        assert!(
            value(&text, "cbm2_read_batch_reads_count", &[]) >= 1.0,
            "{text}"
        );
        assert!(
            value(&text, "cbm2_token_reads_total", &[r#"from="database""#]) >= 1.0,
            "{text}"
        );
    } else {
        assert!(
            series(&text, "cbm2_read_batch_reads_count", &[]).is_empty(),
            "{text}"
        );
        assert!(
            series(&text, "cbm2_token_reads_total", &[]).is_empty(),
            "{text}"
        );
    }
    // And a server on PostgreSQL answers them from memory once its first ping is back.
    if db_is_postgres {
        let memory = [r#"from="memory""#];
        poll_until(
            "a read answered from memory",
            Duration::from_secs(10),
            async || {
                app.get(&format!("/v1/inquiries/{id}"), &chl)
                    .await
                    .assert_status(200);
                let text = scrape(&client, &metrics).await;
                (!series(&text, "cbm2_token_reads_total", &memory).is_empty()).then_some(())
            },
        )
        .await;
    }
    assert!(value(&text, "cbm2_sweeper_lag_seconds", &[]) >= 0.0);
    assert!(value(&text, "cbm2_outbox_depth", &[r#"stage="fan_out""#]) >= 0.0);
    assert!(value(&text, "cbm2_outbox_depth", &[r#"stage="delivery""#]) >= 1.0);
    let open = value(&text, "cbm2_db_pool_connections", &[r#"state="idle""#])
        + value(&text, "cbm2_db_pool_connections", &[r#"state="in_use""#]);
    assert!(open >= 1.0, "{text}");
    assert!(
        text.contains("# HELP cbm2_inquiry_transitions_total"),
        "{text}"
    );

    // The API's listener does not serve them.
    let on_api = client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(on_api.status(), 404);
    let (status, _) = server.stop().await;
    assert!(status.success(), "{status:?}");
}

on_both_databases!(requests_transitions_deliveries_and_the_pool_are_measured);

#[tokio::test]
async fn metrics_are_off_unless_a_metrics_address_is_given() {
    let settings = cbm2::startup::Settings::new("sqlite://unused.db", "127.0.0.1:0");
    assert_eq!(settings.metrics_bind, None);

    let db = TestDb::sqlite();
    let server = ServeProcess::start(&db.url, &[]).await;
    assert!(
        !server
            .startup_log
            .iter()
            .any(|line| line.contains("metrics")),
        "{:#?}",
        server.startup_log
    );
    server.stop().await;
}
