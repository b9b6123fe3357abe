//! A POC is told of an inquiry as a POC of one of its two states: once it has moved to
//! another state it is told nothing more of that inquiry, by any channel.

use serde_json::json;

use crate::helpers::{TestApp, TestDb, on_both_databases, poll_until, spawn_app};
use crate::webhooks::{PATIENCE, Receiver, register, settle};
use crate::workflow::{act, create};

/// A POC of `state` with a token and a webhook at `receiver`'s `/{name}`: (id, token, hook id).
async fn poc_with_hook(
    app: &TestApp,
    receiver: &Receiver,
    state: &str,
    name: &str,
) -> (String, String, String) {
    let (id, token) = app.poc_with_token(state, name).await;
    let path = format!("/{}", name.split(' ').next().unwrap().to_lowercase());
    let hook = register(app, &token, &receiver.url(&path), None).await;
    (id, token, hook.id)
}

async fn move_to(app: &TestApp, poc: &str, state: &str) {
    app.patch(
        &format!("/v1/pocs/{poc}"),
        &app.secretariat,
        json!({"member_state": state}),
    )
    .await
    .assert_status(200);
}

/// Deliveries of any channel and state made for the POC with this e-mail address or one
/// of its webhooks.
async fn deliveries_for(app: &TestApp, email: &str, hook: &str) -> i64 {
    let hook = app.db.uuid_literal(hook);
    app.db
        .count(&format!(
            "SELECT count(*) FROM deliveries WHERE email_to = '{email}' OR webhook_id = {hook}"
        ))
        .await
}

async fn a_poc_moved_to_another_state_is_no_longer_told_of_the_inquiry(db: TestDb) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start().await;
    let (eva, chl, eva_hook) = poc_with_hook(&app, &receiver, "CHL", "Eva Rojas").await;
    let (_, ana, _) = poc_with_hook(&app, &receiver, "BRA", "Ana Souza").await;
    let (bruno, bruno_token, bruno_hook) =
        poc_with_hook(&app, &receiver, "BRA", "Bruno Lima").await;
    let id = create(&app, &chl).await;
    let looked_up = act(
        &app,
        &id,
        "lookup-poc",
        &chl,
        json!({"member_state": "BRA"}),
    )
    .await
    .assert_status(200)
    .clone();
    let snapshot = looked_up["responding_pocs"].to_string();
    assert!(snapshot.contains(&bruno), "{looked_up}");

    // Bruno leaves Brazil's service for Argentina's after the lookup.
    move_to(&app, &bruno, "ARG").await;
    app.send_looked_up(&id, &chl).await;
    settle(&app.db).await;

    assert_eq!(receiver.count("/ana"), 1, "{:#?}", receiver.received());
    assert_eq!(receiver.count("/bruno"), 0, "{:#?}", receiver.received());
    assert_eq!(
        deliveries_for(&app, "bruno.lima@mfa.example.org", &bruno_hook).await,
        0,
        "no delivery at all, not even a skipped e-mail"
    );

    // The requesting side alike: Eva moves, then Brazil acknowledges.
    move_to(&app, &eva, "ARG").await;
    act(
        &app,
        &id,
        "acknowledge",
        &ana,
        json!({"estimated_timeframe": "P3D", "contact_requested": false}),
    )
    .await
    .assert_status(200);
    settle(&app.db).await;
    assert_eq!(receiver.count("/eva"), 0, "{:#?}", receiver.received());
    assert_eq!(
        deliveries_for(&app, "eva.rojas@mfa.example.org", &eva_hook).await,
        0
    );

    // Their endpoints work: only the state they left keeps them from being told.
    app.post(
        &format!("/v1/webhooks/{bruno_hook}/ping"),
        &bruno_token,
        json!({}),
    )
    .await
    .assert_status(202);
    poll_until("Bruno's ping", PATIENCE, async || {
        (receiver.count("/bruno") == 1).then_some(())
    })
    .await;
}

on_both_databases!(a_poc_moved_to_another_state_is_no_longer_told_of_the_inquiry);
