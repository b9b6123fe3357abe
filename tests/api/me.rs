//! `GET /v1/me`: who a token stands for.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestDb, on_both_databases, spawn_app};

async fn me_names_a_poc_its_state_role_and_token(db: TestDb) {
    let app = spawn_app(db).await;
    let poc = app.create_poc("CHL", "policy", "Eva Rojas").await;
    let poc_id = poc["id"].as_str().unwrap();
    let (token_id, token) = app.issue_token(poc_id).await;

    let reply = app.get("/v1/me", &token).await;

    let me = reply.assert_status(200);
    assert_eq!(me["kind"], "poc");
    assert_eq!(
        me["poc"],
        json!({"id": poc_id, "member_state": "CHL", "name": "Eva Rojas", "role": "policy"})
    );
    assert_eq!(me["token"]["id"], token_id.as_str());
    assert_eq!(me["token"]["label"], "test");
    assert!(me["token"]["created_at"].is_string());
    assert_eq!(me["token"]["expires_at"], json!(null));
}

async fn me_names_the_secretariat_and_its_token(db: TestDb) {
    let app = spawn_app(db).await;

    let reply = app.get("/v1/me", &app.secretariat).await;

    let me = reply.assert_status(200);
    assert_eq!(me["kind"], "secretariat");
    assert_eq!(me["poc"], json!(null));
    // The harness's Secretariat token is issued without a label.
    assert_eq!(me["token"]["label"], json!(null));
    let token = app
        .get(
            &format!("/v1/tokens/{}", me["token"]["id"].as_str().unwrap()),
            &app.secretariat,
        )
        .await;
    assert_eq!(token.assert_status(200)["kind"], "secretariat");
}

async fn me_without_a_valid_token_is_401(db: TestDb) {
    let app = spawn_app(db).await;

    app.request(Method::GET, "/v1/me", None, None)
        .await
        .assert_problem(401, None);
    app.get("/v1/me", "cbm2_not-a-token")
        .await
        .assert_problem(401, None);
}

on_both_databases!(
    me_names_a_poc_its_state_role_and_token,
    me_names_the_secretariat_and_its_token,
    me_without_a_valid_token_is_401,
);
