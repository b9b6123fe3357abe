//! Registering webhooks: at most ten active endpoints per owner, even for requests that
//! race, and a refused address that never tells the caller what a name resolves to.

use serde_json::json;

use crate::helpers::{ConcurrentPost, TestDb, on_both_databases, spawn_app, spawn_app_with};
use crate::webhooks::{register, webhooks_of};

/// The default of `--max-webhooks-per-owner`.
const MOST: usize = 10;

async fn an_owner_may_have_ten_active_webhooks_and_the_eleventh_says_how_to_remove_one(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    let mut hooks = Vec::new();
    for i in 0..MOST {
        hooks.push(register(&app, &chl, &format!("https://203.0.113.7/{i}"), None).await);
    }

    let refused = app
        .post(
            "/v1/webhooks",
            &chl,
            json!({"url": "https://203.0.113.7/eleventh"}),
        )
        .await;

    let problem = refused.assert_problem(409, None);
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("10"), "{detail}");
    assert!(detail.contains("DELETE /v1/webhooks/"), "{detail}");
    assert_eq!(webhooks_of(&app, &chl).await.len(), MOST);
    // Another owner is not counted with this one.
    let (_, bra) = app.poc_with_token("BRA", "Ana Souza").await;
    register(&app, &bra, "https://203.0.113.7/bra", None).await;
    // A removed endpoint frees its place.
    app.delete(&format!("/v1/webhooks/{}", hooks[0].id), &chl)
        .await
        .assert_status(204);
    register(&app, &chl, "https://203.0.113.7/eleventh", None).await;
    let listed = webhooks_of(&app, &chl).await;
    let active = listed.iter().filter(|w| w["active"] == true).count();
    assert_eq!(active, MOST, "{listed:#?}");
}

async fn racing_registrations_never_pass_the_limit(db: TestDb) {
    let app = spawn_app_with(db, |settings| settings.max_webhooks_per_owner = 3).await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    let posts = (0..8)
        .map(|i| ConcurrentPost {
            path: "/v1/webhooks".into(),
            token: chl.clone(),
            body: json!({"url": format!("https://203.0.113.7/race/{i}")}),
            headers: Vec::new(),
        })
        .collect();

    let replies = app.post_all_at_once(posts).await;

    let created = replies.iter().filter(|r| r.status == 201).count();
    let refused: Vec<_> = replies.iter().filter(|r| r.status != 201).collect();
    assert_eq!(created, 3, "{replies:#?}");
    for reply in refused {
        reply.assert_problem(409, None);
    }
    assert_eq!(webhooks_of(&app, &chl).await.len(), 3);
}

async fn a_refused_host_is_named_but_not_the_address_it_resolves_to(db: TestDb) {
    let app = spawn_app_with(db, |settings| settings.delivery.allow_private = false).await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;

    let reply = app
        .post(
            "/v1/webhooks",
            &chl,
            json!({"url": "https://localhost:8443/hook"}),
        )
        .await;

    let problem = reply.assert_problem(422, Some("url"));
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("localhost"), "{detail}");
    assert!(detail.contains("private or reserved address"), "{detail}");
    for resolved in ["127.0.0.1", "::1", "loopback"] {
        assert!(!detail.contains(resolved), "{detail} names {resolved}");
    }
    assert!(webhooks_of(&app, &chl).await.is_empty());
}

on_both_databases!(
    an_owner_may_have_ten_active_webhooks_and_the_eleventh_says_how_to_remove_one,
    racing_registrations_never_pass_the_limit,
    a_refused_host_is_named_but_not_the_address_it_resolves_to,
);
