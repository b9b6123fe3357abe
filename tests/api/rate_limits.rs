//! Rate limits, with the defaults of `cbm2 serve`: a script looping on the API is stopped
//! within a second with 429 and `Retry-After`, other callers are not touched, and
//! `/v1/health` is never limited.

use std::sync::Arc;
use std::time::Duration;

use cbm2::http::limits::RateLimits;
use reqwest::Method;
use serde_json::json;
use tokio::time::Instant;

use crate::helpers::{Reply, TestApp, TestDb, on_both_databases, poll_until, spawn_app_with};
use crate::workflow::valid_body;

/// The server with the rate limits `cbm2 serve` has by default.
async fn spawn_app_with_default_limits(db: TestDb) -> Arc<TestApp> {
    Arc::new(
        spawn_app_with(db, |settings| {
            settings.http.rate_limits = Some(RateLimits::default());
        })
        .await,
    )
}

/// Sends `count` requests at once from separate tasks and returns the replies.
async fn all_at_once(
    app: &Arc<TestApp>,
    count: usize,
    method: Method,
    path: &str,
    token: Option<&str>,
) -> Vec<Reply> {
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let (app, method, path) = (app.clone(), method.clone(), path.to_owned());
            let token = token.map(str::to_owned);
            let body = (method == Method::POST).then(|| json!({}));
            tokio::spawn(async move {
                app.request(method, &path, token.as_deref(), body.as_ref())
                    .await
            })
        })
        .collect();
    let mut replies = Vec::with_capacity(count);
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    replies
}

#[track_caller]
fn assert_too_many_requests(reply: &Reply) {
    reply.assert_problem(429, None);
    assert_eq!(reply.body["type"], "urn:cbm2:problem:too-many-requests");
    let retry_after: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
}

async fn a_script_writing_150_times_in_a_second_is_stopped_and_others_are_served(db: TestDb) {
    let app = spawn_app_with_default_limits(db).await;
    let limits = RateLimits::default();
    let (_, script) = app.poc_with_token("CHL", "Eva Rojas").await;
    let (_, person) = app.poc_with_token("BRA", "Ana Souza").await;

    let started = Instant::now();
    let replies = all_at_once(&app, 150, Method::POST, "/v1/inquiries", Some(&script)).await;
    let took = started.elapsed();

    let served = replies.iter().filter(|r| r.status == 201).count();
    let limited: Vec<_> = replies.iter().filter(|r| r.status == 429).collect();
    assert_eq!(served + limited.len(), 150, "only 201 and 429");
    // The burst, and what refills while the script runs.
    let most = limits.writes.burst.get() as f64
        + limits.writes.per_second.get() as f64 * took.as_secs_f64().ceil();
    assert!(
        served >= limits.writes.burst.get() as usize && served as f64 <= most,
        "{served} served in {took:?}"
    );
    assert!(!limited.is_empty());
    limited
        .iter()
        .for_each(|reply| assert_too_many_requests(reply));
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM inquiries WHERE requesting_state = 'CHL'")
            .await,
        served as i64,
        "a limited request writes nothing"
    );

    // Another principal, and the script's own reads, are not touched.
    app.post("/v1/inquiries", &person, json!({}))
        .await
        .assert_status(201);
    app.get("/v1/inquiries", &script).await.assert_status(200);
    app.get("/v1/pocs", &app.secretariat)
        .await
        .assert_status(200);
}

async fn a_person_working_through_an_inquiry_is_never_limited(db: TestDb) {
    let app = spawn_app_with_default_limits(db).await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    let (_, bra) = app.poc_with_token("BRA", "Ana Souza").await;

    // Each step as the two POCs take it, with the reads a page would make, without pause.
    let id = app.post("/v1/inquiries", &chl, json!({})).await;
    let id = id.assert_status(201)["id"].as_str().unwrap().to_owned();
    let steps = [
        ("lookup-poc", &chl),
        ("invoke", &chl),
        ("describe", &chl),
        ("request-info", &chl),
        ("acknowledge", &bra),
        ("update", &bra),
        ("respond", &bra),
        ("close", &chl),
    ];
    for (action, token) in steps {
        for path in ["", "/events"] {
            app.get(&format!("/v1/inquiries/{id}{path}"), token)
                .await
                .assert_status(200);
        }
        app.get("/v1/inquiries", token).await.assert_status(200);
        app.post(
            &format!("/v1/inquiries/{id}/{action}"),
            token,
            valid_body(action),
        )
        .await
        .assert_status(200);
    }
}

async fn health_is_never_limited(db: TestDb) {
    let app = spawn_app_with_default_limits(db).await;
    let burst = RateLimits::default().unauthenticated.burst.get() as usize;

    let replies = all_at_once(&app, 10 * burst, Method::GET, "/v1/health", None).await;

    for reply in replies {
        reply.assert_status(200);
    }
}

async fn requests_without_a_valid_token_are_limited_by_client_address(db: TestDb) {
    let app = spawn_app_with_default_limits(db).await;
    let limits = RateLimits::default();
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;

    let started = Instant::now();
    let replies = all_at_once(&app, 100, Method::GET, "/v1/pocs", Some("cbm2_guess")).await;
    let took = started.elapsed();

    let refused = replies.iter().filter(|r| r.status == 401).count();
    let limited: Vec<_> = replies.iter().filter(|r| r.status == 429).collect();
    assert_eq!(refused + limited.len(), 100);
    let most = limits.unauthenticated.burst.get() as f64
        + limits.unauthenticated.per_second.get() as f64 * took.as_secs_f64().ceil();
    assert!(
        refused >= limits.unauthenticated.burst.get() as usize && refused as f64 <= most,
        "{refused} refused in {took:?}"
    );
    assert!(!limited.is_empty());
    limited
        .iter()
        .for_each(|reply| assert_too_many_requests(reply));
    // A valid token from the same address is counted apart.
    app.get("/v1/pocs", &chl).await.assert_status(200);
    // And the address is served again once its bucket refills.
    poll_until("the bucket refilled", Duration::from_secs(5), async || {
        let reply = app.request(Method::GET, "/v1/pocs", None, None).await;
        if reply.status == 429 {
            assert_too_many_requests(&reply);
        }
        (reply.status == 401).then_some(())
    })
    .await;
}

on_both_databases!(
    a_script_writing_150_times_in_a_second_is_stopped_and_others_are_served,
    a_person_working_through_an_inquiry_is_never_limited,
    health_is_never_limited,
    requests_without_a_valid_token_are_limited_by_client_address,
);
