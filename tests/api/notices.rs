//! Directory notices: a communication check tells each POC it asks, and a POC is told 30
//! days before its details turn stale, once per confirmation (protocol/notifications.toml).

use serde_json::json;

use crate::helpers::{TestDb, on_both_databases, spawn_app};
use crate::webhooks::{Receiver, register, settle};

async fn a_communication_check_tells_each_poc_it_asks_and_nobody_else(db: TestDb) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start().await;
    let (_, bra) = app.poc_with_token("BRA", "Ana Souza").await;
    let (_, mex) = app.poc_with_token("MEX", "Rosa Diaz").await;
    let bra_hook = register(&app, &bra, &receiver.url("/bra"), None).await;
    register(&app, &mex, &receiver.url("/mex"), None).await;
    register(&app, &app.secretariat, &receiver.url("/secretariat"), None).await;

    let check = app
        .post(
            "/v1/communication-checks",
            &app.secretariat,
            json!({"member_states": ["BRA"], "reply_window": "P2D"}),
        )
        .await;
    let check_id = check.assert_status(201)["id"].as_str().unwrap().to_owned();
    settle(&app.db).await;

    let to_bra = receiver.at("/bra");
    assert_eq!(to_bra.len(), 1, "{to_bra:?}");
    assert_eq!(to_bra[0].event(), "communication_check_started");
    to_bra[0].assert_signed_with(&bra_hook.secret);
    let body = to_bra[0].json();
    assert_eq!(body["data"]["check_id"], check_id.as_str());
    assert_eq!(
        body["data"]["link"],
        format!("https://cbm2.test/v1/communication-checks/{check_id}")
    );
    assert_eq!(
        receiver.count("/mex"),
        0,
        "a state not asked is told nothing"
    );
    assert_eq!(
        receiver.count("/secretariat"),
        0,
        "the Secretariat hears only of missed deadlines"
    );
}

async fn a_poc_is_told_once_thirty_days_before_it_turns_stale(db: TestDb) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start().await;
    let (poc_id, token) = app.poc_with_token("JAM", "Kay Brown").await;
    let (_, fresh) = app.poc_with_token("BRB", "Lee Hall").await;
    let hook = register(&app, &token, &receiver.url("/jam"), None).await;
    register(&app, &fresh, &receiver.url("/brb"), None).await;
    // Confirmed 340 days ago: 25 days before it turns stale, inside the 30-day warning.
    let confirmed = chrono::Utc::now() - chrono::TimeDelta::days(340);
    let literal = if app.db.is_postgres() {
        format!(
            "'{}'",
            confirmed.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        )
    } else {
        format!(
            "'{}'",
            confirmed.to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
        )
    };
    app.db
        .execute(&format!(
            "UPDATE pocs SET last_confirmed_at = {literal} WHERE member_state = 'JAM'"
        ))
        .await;

    crate::helpers::poll_until(
        "the stale-soon notice",
        std::time::Duration::from_secs(15),
        async || (receiver.count("/jam") >= 1).then_some(()),
    )
    .await;
    settle(&app.db).await;
    // Several sweeps later, still one notice for this confirmation.
    let watched_until = tokio::time::Instant::now() + std::time::Duration::from_millis(800);
    while tokio::time::Instant::now() < watched_until {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let to_jam = receiver.at("/jam");
    assert_eq!(to_jam.len(), 1, "one notice per confirmation: {to_jam:?}");
    assert_eq!(to_jam[0].event(), "poc_stale_soon");
    to_jam[0].assert_signed_with(&hook.secret);
    let data = to_jam[0].json()["data"].clone();
    assert_eq!(data["poc_id"], poc_id.as_str());
    assert_eq!(data["link"], format!("https://cbm2.test/v1/pocs/{poc_id}"));
    assert_eq!(
        receiver.count("/brb"),
        0,
        "a POC confirmed today is told nothing"
    );

    // Confirming renews the details: no further notice this year.
    app.post(&format!("/v1/pocs/{poc_id}/confirm"), &token, json!({}))
        .await
        .assert_status(200);
    settle(&app.db).await;
    assert_eq!(receiver.count("/jam"), 1);
}

on_both_databases!(
    a_communication_check_tells_each_poc_it_asks_and_nobody_else,
    a_poc_is_told_once_thirty_days_before_it_turns_stale,
);
