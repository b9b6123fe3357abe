//! Delivery by `cbm2 serve` as real processes: pending deliveries survive a server killed
//! with SIGKILL and arrive once it runs again; two instances on one PostgreSQL database
//! deliver each of 200 notifications exactly once.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, described_inquiries, on_both_databases, poll_until};
use crate::serve_process::ServeProcess;
use crate::webhooks::{Hook, PATIENCE, Receiver, deliveries, register, settle};

/// `cbm2 serve` with quick deliveries to private addresses.
async fn start(url: &str) -> ServeProcess {
    ServeProcess::start(
        url,
        &[
            "--sweep-interval",
            "100ms",
            "--webhook-allow-private",
            "true",
            "--delivery-poll",
            "100ms",
            "--delivery-retry-base",
            "100ms",
            // A claim held by a killed server is taken again after a second.
            "--delivery-lease",
            "1s",
            "--public-url",
            "https://cbm2.test",
        ],
    )
    .await
}

/// A port on 127.0.0.1 where nobody listens (for now): connections are refused.
fn refused_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().unwrap()
}

/// The ids of every delivery of the endpoints, as their owners list them, by state.
async fn delivery_states(app: &TestApp, hooks: &[(&Hook, &str)]) -> BTreeMap<String, Value> {
    let mut all = BTreeMap::new();
    for (hook, token) in hooks {
        for delivery in deliveries(app, token, &hook.id).await {
            all.insert(delivery["id"].as_str().unwrap().to_owned(), delivery);
        }
    }
    all
}

async fn pending_deliveries_arrive_after_a_killed_server_restarts(db: TestDb) {
    let url = db.url.clone();
    let target = refused_port();
    let first = start(&url).await;
    let mut app = TestApp::attach(db, &first.address).await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    let (_, bra) = app.poc_with_token("BRA", "Ana Souza").await;
    let bra_hook = register(&app, &bra, &format!("http://{target}/bra"), None).await;
    let chl_hook = register(&app, &chl, &format!("http://{target}/chl"), None).await;
    let hooks = [(&bra_hook, bra.as_str()), (&chl_hook, chl.as_str())];

    // Six notifications: three request_info and an acknowledge, and two pings.
    let mut ids = Vec::new();
    for _ in 0..3 {
        let sent = app.send_inquiry(&chl, "BRA", "routine", None, false).await;
        ids.push(sent["id"].as_str().unwrap().to_owned());
    }
    app.post(
        &format!("/v1/inquiries/{}/acknowledge", ids[0]),
        &bra,
        json!({"estimated_timeframe": "P3D"}),
    )
    .await
    .assert_status(200);
    for (hook, token) in hooks {
        app.post(&format!("/v1/webhooks/{}/ping", hook.id), token, json!({}))
            .await
            .assert_status(202);
    }
    const NOTIFICATIONS: usize = 6;

    // Each is tried, refused, and stays pending for a retry.
    let before = poll_until(
        "every delivery to have been attempted and be pending",
        PATIENCE,
        async || {
            let all = delivery_states(&app, &hooks).await;
            let tried = all.len() == NOTIFICATIONS
                && all.values().all(|d| {
                    d["state"] == "pending" && d["attempts"].as_i64().is_some_and(|a| a >= 1)
                });
            tried.then_some(all)
        },
    )
    .await;
    for delivery in before.values() {
        assert!(delivery["last_status"].is_null(), "{delivery}");
        assert!(
            delivery["last_error"]
                .as_str()
                .is_some_and(|e| !e.is_empty()),
            "{delivery}"
        );
        assert!(delivery["next_attempt_at"].is_string(), "{delivery}");
    }
    let log = first.kill().await;
    assert!(
        log.iter().any(|l| l.contains("delivery attempt")),
        "the first server logged no attempt: {log:#?}"
    );

    // The receiver comes up where the webhooks point; the server starts again.
    let receiver = Receiver::start_on(target).await;
    let second = start(&url).await;
    app.address = format!("http://{}", second.address);
    poll_until(
        "every pending notification to arrive",
        PATIENCE,
        async || {
            let got: BTreeSet<String> =
                receiver.received().iter().map(|r| r.webhook_id()).collect();
            (got.len() == NOTIFICATIONS).then_some(())
        },
    )
    .await;
    settle(&app.db).await;
    let after = delivery_states(&app, &hooks).await;
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "the same deliveries"
    );
    let received = receiver.received();
    let got: BTreeSet<String> = received.iter().map(|r| r.webhook_id()).collect();
    assert_eq!(
        got,
        before.keys().cloned().collect::<BTreeSet<_>>(),
        "every pending delivery arrived, under its own webhook-id"
    );
    for delivery in after.values() {
        assert_eq!(delivery["state"], "delivered", "{delivery}");
        assert_eq!(delivery["last_status"], 200, "{delivery}");
    }
    for request in &received {
        let (hook, _) = hooks
            .iter()
            .find(|(hook, _)| after[&request.webhook_id()]["webhook_id"] == hook.id.as_str())
            .expect("a delivery of one of the endpoints");
        request.assert_signed_with(&hook.secret);
        assert_eq!(
            after[&request.webhook_id()]["event"],
            request.event().as_str()
        );
    }
    let mut events: Vec<(String, String)> = received
        .iter()
        .map(|r| (r.path.clone(), r.event()))
        .collect();
    events.sort();
    let expected: Vec<(String, String)> = [
        ("/bra", "ping"),
        ("/bra", "request_info"),
        ("/bra", "request_info"),
        ("/bra", "request_info"),
        ("/chl", "acknowledge"),
        ("/chl", "ping"),
    ]
    .iter()
    .map(|(p, e)| (p.to_string(), e.to_string()))
    .collect();
    assert_eq!(events, expected);

    let (status, log) = second.stop().await;
    assert_eq!(status.code(), Some(0), "{log:#?}");
}

/// A server killed in the middle of an attempt leaves its claim behind; once the lease
/// (one second here) expires, the next server takes the delivery again.
async fn a_claim_left_by_a_killed_server_is_taken_again(db: TestDb) {
    let url = db.url.clone();
    let receiver = Receiver::start().await;
    // The first attempt hangs (well past the kill; less than the 10 s attempt timeout).
    receiver.delay(Duration::from_secs(8));
    let first = start(&url).await;
    let mut app = TestApp::attach(db, &first.address).await;
    let (_, bra) = app.poc_with_token("BRA", "Ana Souza").await;
    let hook = register(&app, &bra, &receiver.url("/bra"), None).await;
    let reply = app
        .post(&format!("/v1/webhooks/{}/ping", hook.id), &bra, json!({}))
        .await;
    let delivery_id = reply.assert_status(202)["id"].as_str().unwrap().to_owned();
    poll_until(
        "the first attempt to reach the receiver",
        PATIENCE,
        async || (receiver.arrivals() == 1).then_some(()),
    )
    .await;
    first.kill().await;
    receiver.delay(Duration::ZERO);
    // No server runs: look at the stored delivery. Pending, never recorded, still claimed.
    assert_eq!(
        app.db
            .count(
                "SELECT count(*) FROM deliveries WHERE channel = 'webhook' AND state = 'pending' \
                 AND attempts = 0 AND lease_owner IS NOT NULL"
            )
            .await,
        1,
        "the killed server's claim is left behind"
    );

    let second = start(&url).await;
    app.address = format!("http://{}", second.address);
    let delivered = poll_until("the delivery to be taken again", PATIENCE, async || {
        deliveries(&app, &bra, &hook.id)
            .await
            .into_iter()
            .find(|d| d["state"] == "delivered")
    })
    .await;
    assert_eq!(delivered["id"], delivery_id.as_str());
    assert_eq!(delivered["attempts"], 1, "{delivered}");
    let answered: Vec<_> = receiver
        .received()
        .into_iter()
        .filter(|r| r.answered == 200)
        .collect();
    assert!(!answered.is_empty());
    for request in &answered {
        assert_eq!(request.webhook_id(), delivery_id, "the same webhook-id");
        request.assert_signed_with(&hook.secret);
        assert_eq!(request.event(), "ping");
    }
    let (status, log) = second.stop().await;
    assert_eq!(status.code(), Some(0), "{log:#?}");
}

on_both_databases!(
    pending_deliveries_arrive_after_a_killed_server_restarts,
    a_claim_left_by_a_killed_server_is_taken_again,
);

const NOTIFIED: usize = 200;

#[tokio::test]
async fn two_instances_deliver_each_of_200_notifications_exactly_once() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let url = db.url.clone();
    let receiver = Receiver::start().await;
    // A slow receiver keeps attempts in flight while the other instance looks for work.
    receiver.delay(Duration::from_millis(20));
    let one = start(&url).await;
    let two = start(&url).await;
    let app = Arc::new(TestApp::attach(db, &one.address).await);
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    let (_, bra) = app.poc_with_token("BRA", "Ana Souza").await;
    let hook = register(&app, &bra, &receiver.url("/bra"), None).await;

    let ids = described_inquiries(&app, &chl, "BRA", NOTIFIED).await;
    let chl = Arc::new(chl);
    let gate = Arc::new(tokio::sync::Semaphore::new(20));
    assert!(receiver.received().is_empty());

    // Sent through both instances at once: 200 notifications to BRA's endpoint.
    let mut tasks = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        let address = if n % 2 == 0 {
            &one.address
        } else {
            &two.address
        };
        let path = format!("http://{address}/v1/inquiries/{id}/request-info");
        let (app, chl, gate) = (app.clone(), chl.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let response = app
                .client
                .post(path)
                .bearer_auth(chl.as_str())
                .json(&json!({
                    "questions": "Is this host yours?",
                    "contact": {"name": "Duty Officer", "email": "x@example.org"},
                    "time_sensitivity": "routine",
                }))
                .send()
                .await
                .expect("the server answers");
            assert_eq!(response.status().as_u16(), 200);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    poll_until(
        "200 distinct webhook-ids",
        Duration::from_secs(60),
        async || {
            let got: BTreeSet<String> =
                receiver.received().iter().map(|r| r.webhook_id()).collect();
            (got.len() == NOTIFIED).then_some(())
        },
    )
    .await;
    settle(&app.db).await;
    // Both workers keep polling: watch for a while longer for a second delivery.
    let watch_until = tokio::time::Instant::now() + Duration::from_millis(1500);
    while tokio::time::Instant::now() < watch_until {
        assert_eq!(
            receiver.received().len(),
            NOTIFIED,
            "a delivery was repeated"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let received = receiver.received();
    let mut per_id: BTreeMap<String, usize> = BTreeMap::new();
    for request in &received {
        assert_eq!(request.answered, 200);
        *per_id.entry(request.webhook_id()).or_default() += 1;
    }
    let repeated: Vec<_> = per_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "delivered more than once: {repeated:?}"
    );
    assert_eq!(per_id.len(), NOTIFIED);
    let inquiries: BTreeSet<String> = received
        .iter()
        .map(|r| {
            r.assert_signed_with(&hook.secret);
            assert_eq!(r.event(), "request_info");
            r.json()["data"]["inquiry_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        inquiries,
        ids.iter().cloned().collect::<BTreeSet<_>>(),
        "one notification per inquiry"
    );
    let listed = deliveries(&app, &bra, &hook.id).await;
    assert_eq!(listed.len(), NOTIFIED, "each notification fanned out once");
    for delivery in &listed {
        assert_eq!(delivery["state"], "delivered", "{delivery}");
        assert_eq!(delivery["attempts"], 1, "{delivery}");
    }
    assert_eq!(
        listed
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect::<BTreeSet<_>>(),
        per_id.keys().cloned().collect::<BTreeSet<_>>(),
        "the webhook-ids are the deliveries' ids"
    );
    assert_eq!(
        app.db
            .count(
                "SELECT count(*) FROM (SELECT outbox_id FROM deliveries WHERE channel = 'webhook' \
                 GROUP BY outbox_id HAVING count(*) > 1) AS twice"
            )
            .await,
        0,
        "a notification was fanned out twice"
    );

    let (status_one, log_one) = one.stop().await;
    let (status_two, log_two) = two.stop().await;
    assert_eq!(status_one.code(), Some(0), "{log_one:#?}");
    assert_eq!(status_two.code(), Some(0), "{log_two:#?}");
    let attempts = |log: &[String]| {
        log.iter()
            .filter(|l| l.contains("delivery attempt") && l.contains("webhook"))
            .count()
    };
    eprintln!(
        "webhook attempts by instance one: {}, by instance two: {}",
        attempts(&log_one),
        attempts(&log_two)
    );
}
