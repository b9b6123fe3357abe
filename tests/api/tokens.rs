use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestDb, on_both_databases, spawn_app};

async fn a_revoked_token_answers_401(db: TestDb) {
    let app = spawn_app(db).await;
    let poc = app.create_poc("ARG", "policy", "Luz Pena").await;
    let (token_id, token) = app.issue_token(poc["id"].as_str().unwrap()).await;
    app.get("/v1/pocs", &token).await.assert_status(200);
    // A read of one inquiry takes the token and the inquiry in one query: it is refused
    // all the same once the token is revoked.
    let draft = app.post("/v1/inquiries", &token, json!({})).await;
    let inquiry = format!(
        "/v1/inquiries/{}",
        draft.assert_status(201)["id"].as_str().unwrap()
    );
    app.get(&inquiry, &token).await.assert_status(200);
    app.get("/v1/inquiries/00000000-0000-0000-0000-000000000000", &token)
        .await
        .assert_problem(404, None);
    app.get("/v1/inquiries/not-a-uuid", &token)
        .await
        .assert_problem(400, Some("id"));
    app.get("/v1/inquiries/not-a-uuid", "cbm2_unknown")
        .await
        .assert_problem(401, None);

    app.delete(&format!("/v1/tokens/{token_id}"), &token)
        .await
        .assert_problem(403, None);
    let reply = app
        .delete(&format!("/v1/tokens/{token_id}"), &app.secretariat)
        .await;

    reply.assert_status(204);
    app.get("/v1/pocs", &token).await.assert_problem(401, None);
    app.get(&inquiry, &token).await.assert_problem(401, None);
    let shown = app
        .get(&format!("/v1/tokens/{token_id}"), &app.secretariat)
        .await;
    assert!(shown.assert_status(200)["revoked_at"].is_string());
    assert!(
        shown.body.get("token").is_none(),
        "the secret is never shown again"
    );
    app.delete(&format!("/v1/tokens/{token_id}"), &app.secretariat)
        .await
        .assert_status(204);
    app.delete(
        "/v1/tokens/00000000-0000-0000-0000-000000000000",
        &app.secretariat,
    )
    .await
    .assert_problem(404, None);
}

async fn issued_tokens_are_shown_once_and_stored_only_as_hashes(db: TestDb) {
    let app = spawn_app(db).await;
    let poc = app.create_poc("PAN", "policy", "Ines Mora").await;
    let poc_id = poc["id"].as_str().unwrap();

    let reply = app
        .post(
            &format!("/v1/pocs/{poc_id}/tokens"),
            &app.secretariat,
            json!({"label": "laptop"}),
        )
        .await;

    let body = reply.assert_status(201).clone();
    let token = body["token"].as_str().unwrap();
    assert!(token.starts_with("cbm2_") && token.len() >= 48, "{token}");
    assert_eq!(
        reply.headers["location"],
        format!("/v1/tokens/{}", body["id"].as_str().unwrap())
    );
    let stored = app.db.fetch_strings("SELECT token_hash FROM tokens").await;
    assert_eq!(stored.len(), 2, "the Secretariat's and this one");
    assert!(
        stored
            .iter()
            .all(|h| h.len() == 64 && !h.contains(&token[5..]))
    );
    let log = app.collect_pages("/v1/directory/events").await;
    assert_eq!(log[0]["type"], "token_created");
    assert!(
        !log[0].to_string().contains(token),
        "the log never holds a secret"
    );

    app.get("/v1/pocs", token).await.assert_status(200);
    let meta = app
        .get(
            &format!("/v1/tokens/{}", body["id"].as_str().unwrap()),
            &app.secretariat,
        )
        .await;
    assert!(
        meta.assert_status(200)["last_used_at"].is_string(),
        "use is recorded"
    );
    assert_eq!(meta.body["label"], "laptop");
}

async fn only_the_secretariat_issues_tokens_and_only_for_active_pocs(db: TestDb) {
    let app = spawn_app(db).await;
    let (poc_id, token) = app.poc_with_token("GTM", "Ana Lopez").await;

    app.post(&format!("/v1/pocs/{poc_id}/tokens"), &token, json!({}))
        .await
        .assert_problem(403, None);
    app.post(
        "/v1/pocs/00000000-0000-0000-0000-000000000000/tokens",
        &app.secretariat,
        json!({}),
    )
    .await
    .assert_problem(404, None);
    app.post("/v1/pocs/not-a-uuid/tokens", &app.secretariat, json!({}))
        .await
        .assert_problem(400, Some("id"));
    app.post(
        &format!("/v1/pocs/{poc_id}/deactivate"),
        &app.secretariat,
        json!({}),
    )
    .await
    .assert_status(200);
    app.post(
        &format!("/v1/pocs/{poc_id}/tokens"),
        &app.secretariat,
        json!({}),
    )
    .await
    .assert_problem(409, None);
    // No body at all is an empty label.
    let other = app.create_poc("GTM", "policy", "Beto Cruz").await;
    let reply = app
        .request(
            Method::POST,
            &format!("/v1/pocs/{}/tokens", other["id"].as_str().unwrap()),
            Some(&app.secretariat),
            None,
        )
        .await;
    assert_eq!(reply.assert_status(201)["label"], serde_json::Value::Null);
}

async fn malformed_authorization_headers_answer_401(db: TestDb) {
    let app = spawn_app(db).await;

    for header in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "cbm2_abc"] {
        let reply = app
            .client
            .get(format!("{}/v1/pocs", app.address))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 401, "{header:?}");
    }
}

on_both_databases!(
    a_revoked_token_answers_401,
    issued_tokens_are_shown_once_and_stored_only_as_hashes,
    only_the_secretariat_issues_tokens_and_only_for_active_pocs,
    malformed_authorization_headers_answer_401,
);
